"""Training run folders: reading a run's checkpoint (``checkpoint.safetensors`` + ``checkpoint.json``, written by
:meth:`lifter.train.Trainer.save`), its weight averages, and the trained model a new run starts from (``--init``).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from lifter.model import LifterConfig
from lifter.train_config import config_from_dict


def prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The checkpoint tensors under ``prefix`` (``model.``, ``critics.``, ``ema.0.999.``), with it removed."""
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def ema_prefix(decay: float) -> str:
    """The checkpoint key prefix of the weight average at ``decay`` (``ema.0.999.``)."""
    return f"ema.{decay!r}."


def read_run(run: str | Path, ema: float | None = None) -> tuple[dict, dict, dict]:
    """A run folder's checkpoint: ``(model weights, every checkpoint tensor, checkpoint.json)``; the model weights
    are its last ones, or with ``ema`` its weight average at that decay. Raises FileNotFoundError for a folder
    without a checkpoint and ValueError for an ``ema`` the run did not keep."""
    run = Path(run)
    if not (run / "checkpoint.json").is_file():
        raise FileNotFoundError(f"{run} holds no checkpoint.json: not a training run folder")
    meta = json.loads((run / "checkpoint.json").read_text())
    kept = meta["config"].get("ema_decays", [])
    if ema is not None and ema not in kept:
        raise ValueError(f"{run} kept no weight average at decay {ema} (it kept {kept or 'none'}; train with "
                         f"--ema {ema})")
    tensors = load_file(str(run / "checkpoint.safetensors"))
    return prefixed(tensors, "model." if ema is None else ema_prefix(ema)), tensors, meta


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
