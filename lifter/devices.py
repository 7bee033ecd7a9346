"""Which torch device to run on: the one asked for, checked, or CUDA when present and the CPU otherwise."""

from __future__ import annotations

import os
import platform
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


#: Environment variables that cap the instructions oneDNN, MKL and PyTorch's own kernels use (their documented
#: switches): a process with one set runs without some of what the CPU has, so :func:`cpu_description` names them.
INSTRUCTION_LIMITS = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS", "ATEN_CPU_CAPABILITY")


def _cpuinfo_lines(cpuinfo: Path) -> list[str] | None:
    """The lines of Linux's ``cpuinfo`` file, or None where it cannot be read (not Linux)."""
    try:
        return cpuinfo.read_text().splitlines()
    except OSError:
        return None


def _bf16_units(lines: list[str], environ: dict[str, str]) -> list[str]:
    """:func:`cpu_bf16_units` of ``cpuinfo``'s ``lines``."""
    flags = set(next((line.split(":", 1)[1].split() for line in lines if line.startswith(("flags", "Features"))),
                     []))
    units = [unit for flag, unit in (("amx_bf16", "AMX"), ("avx512_bf16", "AVX-512")) if flag in flags]
    if "bf16" in flags:                              # Arm's Features line (Armv8.6 BF16, e.g. Graviton3)
        return units + ["Arm BF16"]
    cap = (environ.get("ONEDNN_MAX_CPU_ISA") or environ.get("DNNL_MAX_CPU_ISA") or "").upper()
    if cap and cap != "ALL":
        if "AMX" not in cap:
            units = [u for u in units if u != "AMX"]
        if not any(word in cap for word in ("AMX", "BF16", "AVX10")):
            units = []
    return units


def cpu_bf16_units(cpuinfo: Path = Path("/proc/cpuinfo"), environ: dict[str, str] | None = None) -> list[str] | None:
    """The CPU's bfloat16 instructions a training step can use: ``"AMX"`` (``amx_bf16`` in Linux's ``cpuinfo``
    flags) and ``"AVX-512"`` (``avx512_bf16``), or on Arm ``"Arm BF16"`` (``bf16`` in its Features), less those that
    ``ONEDNN_MAX_CPU_ISA`` (or ``DNNL_MAX_CPU_ISA``) in ``environ`` (default: this process's environment) caps away: a
    cap without ``AMX`` in its name drops AMX, one without ``BF16``, ``AMX`` or ``AVX10`` drops both. None where
    ``cpuinfo`` cannot be read (not Linux)."""
    lines = _cpuinfo_lines(cpuinfo)
    return None if lines is None else _bf16_units(lines, os.environ if environ is None else environ)


def cpu_description(cpuinfo: Path = Path("/proc/cpuinfo"), environ: dict[str, str] | None = None) -> str:
    """The CPU's model name and its bfloat16 instructions: AMX (``amx_bf16``), AVX-512 (``avx512_bf16``), both or
    none, read from Linux's ``cpuinfo``; where that cannot be read (not Linux), what :mod:`platform` names
    (``platform.processor()``, else ``platform.machine()``, else "unknown CPU"). A training step's speed depends on
    both. Any of :data:`INSTRUCTION_LIMITS` set in ``environ`` (default: this process's environment) is named after
    them: ``"..., bf16 instructions: AMX and AVX-512, limited by ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16"``."""
    environ = os.environ if environ is None else environ
    limits = [f"{name}={environ[name]}" for name in INSTRUCTION_LIMITS if environ.get(name)]
    limited = f", limited by {' and '.join(limits)}" if limits else ""
    lines = _cpuinfo_lines(cpuinfo)
    if lines is None:
        return (platform.processor() or platform.machine() or "unknown CPU") + limited
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown CPU")
    units = _bf16_units(lines, {})                   # the CPU's own; the caps are named after them
    return f"{name}, bf16 instructions: {' and '.join(units) or 'none'}{limited}"


def processor_description(device: torch.device) -> str:
    """What ran the training on ``device``: the GPU's name for CUDA, else :func:`cpu_description`."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_description()
