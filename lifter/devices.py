"""Which torch device to run on: the one asked for, checked, or CUDA when present and the CPU otherwise."""

from __future__ import annotations

from pathlib import Path

import torch


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The torch device for ``device``: None or ``"auto"`` pick CUDA when torch sees a GPU, else the CPU; any other
    name (``"cpu"``, ``"cuda"``, ``"cuda:1"``, a :class:`torch.device`) is checked and returned.

    Raises:
        ValueError: a name torch does not know, or a CUDA device that torch cannot use here (a CPU build of torch,
            no GPU, or a GPU index past the last one), with what to do instead.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}: give cpu, cuda, cuda:N or auto") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r}: torch sees no CUDA device here (a CPU build of torch, or no GPU); "
                             f"use cpu, or leave the device out to pick CUDA only where it is present")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: torch sees {torch.cuda.device_count()} CUDA device(s), "
                             f"numbered from 0")
    return dev


def cpu_description(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name and its bfloat16 instructions: AMX (``amx_bf16``), AVX-512 (``avx512_bf16``), both or
    none, read from Linux's ``cpuinfo`` (else "unknown CPU"). A training step's speed depends on both."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown CPU")
    flags = set(next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), []))
    units = [unit for flag, unit in (("amx_bf16", "AMX"), ("avx512_bf16", "AVX-512")) if flag in flags]
    return f"{name}, bf16 instructions: {' and '.join(units) or 'none'}"


def processor_description(device: torch.device) -> str:
    """What ran the training on ``device``: the GPU's name for CUDA, else :func:`cpu_description`."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_description()
