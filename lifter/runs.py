"""Training run folders: reading a run's checkpoint (``checkpoint.safetensors`` + ``checkpoint.json``, written by
:meth:`lifter.train.Trainer.save`), its weight averages, and the trained model a new run starts from (``--init``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from lifter.checked_files import sha256_file
from lifter.model import LifterConfig
from lifter.train_config import config_from_dict


def prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The checkpoint tensors under ``prefix`` (``model.``, ``critics.``, ``ema.0.999.``), with it removed."""
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def ema_prefix(decay: float) -> str:
    """The checkpoint key prefix of the weight average at ``decay`` (``ema.0.999.``)."""
    return f"ema.{decay!r}."


#: The key of the safetensors metadata under which :meth:`lifter.train.Trainer.save` keeps a copy of
#: ``checkpoint.json`` inside ``checkpoint.safetensors`` (the two files are renamed one after the other).
CHECKPOINT_META_KEY = "checkpoint.json"


def read_meta(run: str | Path) -> dict:
    """A run folder's checkpoint record: the copy inside ``checkpoint.safetensors`` where it has one (checkpoints
    written since it was added), else ``checkpoint.json``. Raises FileNotFoundError for a folder without a record
    (not a run folder) and ValueError for one that cannot be read."""
    path = Path(run) / "checkpoint.json"
    tensors = Path(run) / "checkpoint.safetensors"
    text = None
    if tensors.is_file():
        try:
            with safe_open(str(tensors), "pt") as f:
                text = (f.metadata() or {}).get(CHECKPOINT_META_KEY)
        except Exception:  # noqa: BLE001  (a damaged tensors file: the json, then read_checkpoint_tensors, say so)
            text = None
    if text is None and not path.is_file():
        raise FileNotFoundError(f"{run} holds no checkpoint.json: not a training run folder")
    try:
        meta = json.loads(text if text is not None else path.read_text())
    except ValueError as e:
        raise ValueError(f"{path} cannot be read ({e}): the run folder is damaged") from None
    if not isinstance(meta, dict) or "step" not in meta or not isinstance(meta.get("config"), dict):
        raise ValueError(f"{path} is not a checkpoint record (no step or config): the run folder is damaged")
    return meta


def read_run(run: str | Path, ema: float | None = None) -> tuple[dict, dict, dict]:
    """A run folder's checkpoint: ``(model weights, every checkpoint tensor, checkpoint.json)``; the model weights
    are its last ones, or with ``ema`` its weight average at that decay. Raises FileNotFoundError for a folder
    without a checkpoint, ValueError for an ``ema`` the run did not keep, a checkpoint that cannot be read, or
    model weights that are not finite (a run that diverged)."""
    run = Path(run)
    meta = read_meta(run)
    kept = meta["config"].get("ema_decays", [])
    if ema is not None and ema not in kept:
        raise ValueError(f"{run} kept no weight average at decay {ema} (it kept {kept or 'none'}; train with "
                         f"--ema {ema})")
    tensors = read_checkpoint_tensors(run)
    model = prefixed(tensors, "model." if ema is None else ema_prefix(ema))
    bad = non_finite(model)
    if bad:
        raise ValueError(f"{run}: {len(bad)} of {len(model)} model tensors hold NaN or infinite values (first: "
                         f"{bad[0]}): the run diverged; train again, e.g. with a lower --lr")
    return model, tensors, meta


def read_checkpoint_tensors(run: str | Path) -> dict[str, torch.Tensor]:
    """``run/checkpoint.safetensors``'s tensors. Raises FileNotFoundError when it is missing and ValueError when it
    cannot be read."""
    path = Path(run) / "checkpoint.safetensors"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the run folder holds a checkpoint.json without its tensors")
    try:
        return load_file(str(path))
    except Exception as e:  # noqa: BLE001  (safetensors raises its own error types for a damaged file)
        raise ValueError(f"{path} cannot be read ({type(e).__name__}: {e}): the run folder is damaged") from None


def tensors_sha256(run: str | Path) -> str:
    """The SHA-256 of ``run/checkpoint.safetensors``'s tensors (names, dtypes, shapes and values, in name order),
    not of the file: two runs that trained the same weights agree, whatever their records (command line, times)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(read_checkpoint_tensors(run).items()):
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def non_finite(state: dict[str, torch.Tensor]) -> list[str]:
    """The names of the floating-point tensors of ``state`` holding a NaN or an infinity."""
    return [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def unfinished(run: str | Path, meta: dict) -> str | None:
    """A note when the run ``meta`` (its checkpoint.json) describes stopped before its ``--steps``, e.g. an
    interrupted run: ``"runs/x stopped at step 50 of 300 ..."``; None for a finished run."""
    step, steps = meta["step"], meta["config"].get("steps", meta["step"])
    if step >= steps:
        return None
    return (f"{run} stopped at step {step} of {steps} (an interrupted run: continue it with python -m lifter.train "
            f"... --out {run} --resume)")


def init_sha256(path: str | Path) -> str | None:
    """The SHA-256 of what ``--init path`` reads: a run folder's ``checkpoint.safetensors`` or a weights file (None
    when there is no such file)."""
    path = Path(path)
    file = path / "checkpoint.safetensors" if path.is_dir() else path
    return sha256_file(file) if file.is_file() else None


def load_init(path: str | Path, ema: float | None = None) -> tuple[dict, dict, LifterConfig]:
    """The trained model to start from: ``(model state, critic state, model config)``.

    ``path``: a run folder (``checkpoint.safetensors`` + ``checkpoint.json``: model and critics; with ``ema``, the
    model is the run's weight average at that decay, :func:`read_run`) or exported weights (``.safetensors`` +
    its ``.json`` record, SHA-256 checked: the model only, critic state empty). Raises ValueError for an ``ema``
    the run did not keep, or with exported weights.
    """
    path = Path(path)
    if path.is_dir():
        model, tensors, meta = read_run(path, ema)
        return model, prefixed(tensors, "critics."), config_from_dict(meta["config"]).model
    if ema is not None:
        raise ValueError(f"a weight average (decay {ema}) is read from a run folder, not from {path}")
    if path.suffix == ".safetensors":
        from lifter.api import load_lifter

        loaded = load_lifter(path, device="cpu")                # checks the file against its record
        return dict(loaded.model.state_dict()), {}, loaded.model.cfg
    raise FileNotFoundError(f"--init {path}: neither a run folder nor a .safetensors weights file")
