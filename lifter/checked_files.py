"""Files checked against their records: a ``.safetensors`` file with a JSON record beside it (same stem) that holds
its SHA-256 and how it was made. The lifter's weights, the faces' shape bases and the bone proportions are all
stored this way; a missing, corrupted or mismatched file raises :class:`WeightsError` naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np


class WeightsError(RuntimeError):
    """The weights file or its record is missing, corrupted or inconsistent (the message names the file)."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_in_the_way(folder: Path) -> Path | None:
    """The file that stops ``folder`` from being made (``folder`` itself or its nearest existing parent, when that is
    not a folder), or None: for the commands' ``--out`` checks before any work."""
    nearest = next((p for p in (Path(folder), *Path(folder).parents) if p.exists()), None)
    return nearest if nearest is not None and not nearest.is_dir() else None


def made_writable(folder: Path, name: str = "the folder") -> str | None:
    """Make ``folder`` (and its parents) where missing, for a command's output before any work: None when it is
    there and writable, else why not (``"cannot make {name} (...)"`` or ``"not writable here"``)."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f"cannot make {name} ({e.strerror or e})"
    return None if os.access(folder, os.W_OK) else "not writable here"


def record_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def checked_record(path: Path, what: str, remedy: str, kind: str) -> dict:
    """The JSON record beside the safetensors file ``path`` (:func:`record_path`), once both exist and ``path``'s
    SHA-256 matches the recorded one.

    Raises :class:`WeightsError` naming the file: ``"{what} not found: {path} is missing ({remedy})"``, ``"{what}
    incomplete: {record} ... is missing"``, ``"{record} is not a valid {kind} record (...)"``, ``"{path} is
    corrupted: SHA-256 ..."``, or for a path that is not a ``.safetensors`` file (a training run's folder: how to
    export it) what it is instead.
    """
    record_file = record_path(path)
    if path.is_dir():
        if (path / "checkpoint.json").is_file():
            raise WeightsError(f"{path} is a training run folder, not {what}: export its weights with `python -m "
                               f"lifter.export --run {path} --out WEIGHTS.safetensors` and give WEIGHTS.safetensors")
        raise WeightsError(f"{path} is a folder, not {what}: give the .safetensors file")
    if path.name == "checkpoint.safetensors" and (path.parent / "checkpoint.json").is_file():
        raise WeightsError(f"{path} is a training run's checkpoint, not {what}: export its weights with `python -m "
                           f"lifter.export --run {path.parent} --out WEIGHTS.safetensors` and give WEIGHTS.safetensors")
    if path.suffix != ".safetensors":
        raise WeightsError(f"{path} is not {what}: they are a .safetensors file with a .json record of the same name "
                           f"beside it")
    if not path.is_file():
        raise WeightsError(f"{what} not found: {path} is missing ({remedy})")
    if not record_file.is_file():
        raise WeightsError(f"{what} incomplete: {record_file} is missing, the record that goes with {path.name} "
                           f"(its SHA-256 and how it was made): copy it along with the file ({remedy})")
    try:
        record = json.loads(record_file.read_text())
        expected = record["sha256"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise WeightsError(f"{record_file} is not a valid {kind} record ({e})") from None
    actual = sha256_file(path)
    if actual != expected:
        raise WeightsError(f"{path} is corrupted: SHA-256 {actual} differs from {expected} recorded in "
                           f"{record_file.name}")
    return record


def write_checked_tensors(path: Path, tensors: dict[str, np.ndarray], record: dict) -> None:
    """Write numpy ``tensors`` to the safetensors file ``path`` and ``record`` plus the file's SHA-256 to the JSON
    beside it (:func:`record_path`), as :func:`read_checked_tensors` reads them back. A ``sha256`` in ``record``
    (one copied from another file's record) is replaced by this file's."""
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path))
    kept = {k: v for k, v in record.items() if k != "sha256"}          # a copied record's stale hash: replaced
    record_path(path).write_text(json.dumps({"sha256": sha256_file(path), **kept}, indent=1) + "\n")


def read_checked_tensors(path: Path, what: str, remedy: str, kind: str) -> dict[str, np.ndarray]:
    """The numpy tensors of the safetensors file ``path`` once :func:`checked_record` passes (same arguments).

    Raises :class:`WeightsError` naming the file: :func:`checked_record`'s errors, or ``"{path} does not hold
    {what} (...)"`` when the file cannot be read as safetensors.
    """
    from safetensors.numpy import load_file as load_numpy

    path = Path(path)
    checked_record(path, what, remedy, kind)
    try:
        return load_numpy(str(path))
    except Exception as e:  # noqa: BLE001  (safetensors raises several kinds)
        raise WeightsError(f"{path} does not hold {what} ({e})") from None
