"""Which torch device to run on: the one asked for, checked, or CUDA when present and the CPU otherwise."""

from __future__ import annotations

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
