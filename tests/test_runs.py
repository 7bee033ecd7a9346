"""Reading training run folders (lifter.runs) on run folders written here in the layout of
``lifter.train.Trainer.save``: which tensors a prefix takes, where the record is read from, the errors a damaged or
incomplete folder gives, the tensors' digest in its documented form, and what ``--init`` reads."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from lifter.checked_files import sha256_file
from lifter.model import LifterConfig
from lifter.runs import (CHECKPOINT_META_KEY, ema_prefix, init_sha256, load_init, non_finite, prefixed, read_meta,
                         read_run, tensors_sha256, unfinished)
from lifter.train import _jsonable
from lifter.train_config import TrainConfig

MODEL = LifterConfig(dim=32, depth=2, heads=2, code_dim=16)


def write_run(run: Path, tensors: dict[str, torch.Tensor], step: int = 5, steps: int = 10,
              ema_decays: tuple[float, ...] = (0.999,), inside: bool = True) -> dict:
    """A run folder as Trainer.save writes it (the record in checkpoint.json and, with ``inside``, in the tensors
    file's metadata too); returns the record."""
    cfg = TrainConfig(categories=("hand21",), steps=steps, ema_decays=ema_decays, model=MODEL)
    meta = {"step": step, "config": _jsonable(asdict(cfg))}
    run.mkdir(parents=True, exist_ok=True)
    text = json.dumps(meta)
    save_file(tensors, str(run / "checkpoint.safetensors"), metadata={CHECKPOINT_META_KEY: text} if inside else None)
    (run / "checkpoint.json").write_text(text)
    return meta


def some_tensors() -> dict[str, torch.Tensor]:
    return {"model.w": torch.full((2, 3), 1.0), "model.b": torch.zeros(3),
            "critics.hand21.w": torch.full((4,), 2.0), "ema.0.999.w": torch.full((2, 3), 0.5),
            "ema.0.999.b": torch.ones(3), "rng.torch_gen": torch.arange(4, dtype=torch.uint8)}


def test_prefixed_takes_only_the_keys_that_begin_with_the_prefix() -> None:
    tensors = {"model.a": torch.ones(1), "critics.model.b": torch.zeros(1), "ema.0.9.model.c": torch.zeros(1)}
    assert list(prefixed(tensors, "model.")) == ["a"]
    assert list(prefixed(tensors, "critics.")) == ["model.b"]
    assert ema_prefix(0.999) == "ema.0.999." and ema_prefix(0.9) == "ema.0.9."
    assert list(prefixed(tensors, ema_prefix(0.9))) == ["model.c"]


def test_read_run_gives_the_last_weights_or_the_average_and_every_tensor(tmp_path: Path) -> None:
    tensors = some_tensors()
    meta = write_run(tmp_path / "run", tensors)
    model, every, record = read_run(tmp_path / "run")
    assert sorted(model) == ["b", "w"] and torch.equal(model["w"], tensors["model.w"])
    assert sorted(every) == sorted(tensors) and record == meta
    average, _, _ = read_run(tmp_path / "run", ema=0.999)
    assert sorted(average) == ["b", "w"] and torch.equal(average["w"], tensors["ema.0.999.w"])
    with pytest.raises(ValueError, match="kept no weight average at decay 0.99 .*--ema 0.99"):
        read_run(tmp_path / "run", ema=0.99)


def test_the_record_inside_the_tensors_file_comes_first(tmp_path: Path) -> None:
    run = tmp_path / "run"
    meta = write_run(run, some_tensors())
    (run / "checkpoint.json").write_text(json.dumps({"step": 1, "config": {}}))     # stale: a kill between renames
    assert read_meta(run) == meta
    (run / "checkpoint.json").unlink()                                             # or none at all
    assert read_meta(run) == meta
    old = write_run(tmp_path / "old", some_tensors(), step=7, inside=False)       # written before the copy existed
    assert read_meta(tmp_path / "old") == old


def test_incomplete_and_damaged_run_folders_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a training run folder"):
        read_meta(tmp_path)
    run = tmp_path / "run"
    write_run(run, some_tensors(), inside=False)
    (run / "checkpoint.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="checkpoint.json without its tensors"):
        read_run(run)
    for record in ({"step": 3}, {"config": {}}, {"step": 3, "config": "x"}, [1, 2]):
        (run / "checkpoint.json").write_text(json.dumps(record))
        with pytest.raises(ValueError, match="not a checkpoint record"):
            read_meta(run)
    (run / "checkpoint.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read"):
        read_meta(run)
    write_run(run, some_tensors(), inside=False)
    (run / "checkpoint.safetensors").write_bytes(b"damaged")
    with pytest.raises(ValueError, match="checkpoint.safetensors cannot be read"):
        read_run(run)


def test_a_diverged_run_is_refused_by_its_model_tensors_only(tmp_path: Path) -> None:
    tensors = some_tensors()
    tensors["model.b"] = torch.tensor([0.0, float("nan"), 1.0])                   # one value of one tensor
    tensors["critics.hand21.w"] = torch.full((4,), float("inf"))                  # the critics do not count
    write_run(tmp_path / "run", tensors)
    with pytest.raises(ValueError, match="1 of 2 model tensors hold NaN or infinite values \\(first: b\\)"):
        read_run(tmp_path / "run")
    assert torch.equal(read_run(tmp_path / "run", ema=0.999)[0]["b"], torch.ones(3))
    assert non_finite({"a": torch.tensor([1.0, float("-inf")]), "b": torch.ones(2),
                       "i": torch.tensor([1, 2])}) == ["a"]


def test_tensors_sha256_is_the_documented_digest_of_names_dtypes_shapes_and_values(tmp_path: Path) -> None:
    tensors = {"b": torch.arange(6, dtype=torch.int64), "a": torch.linspace(0, 1, 6)}    # stored b first (8 bytes)
    write_run(tmp_path / "run", tensors)
    digest = hashlib.sha256()
    for name in ("a", "b"):
        t = tensors[name]
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    assert tensors_sha256(tmp_path / "run") == digest.hexdigest()
    write_run(tmp_path / "other", tensors, step=9)                       # another record, the same tensors
    assert tensors_sha256(tmp_path / "other") == tensors_sha256(tmp_path / "run")
    write_run(tmp_path / "reshaped", {"b": tensors["b"].reshape(2, 3), "a": tensors["a"]})   # same bytes
    assert tensors_sha256(tmp_path / "reshaped") != tensors_sha256(tmp_path / "run")


def test_unfinished_names_a_run_stopped_before_its_steps() -> None:
    assert unfinished("runs/x", {"step": 10, "config": {"steps": 10}}) is None
    assert unfinished("runs/x", {"step": 12, "config": {"steps": 10}}) is None
    assert unfinished("runs/x", {"step": 4, "config": {}}) is None                  # no --steps recorded
    note = unfinished("runs/x", {"step": 9, "config": {"steps": 10}})
    assert note.startswith("runs/x stopped at step 9 of 10") and "--out runs/x --resume" in note


def test_init_sha256_and_load_init_read_a_run_folder_or_a_weights_file(tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_run(run, some_tensors())
    assert init_sha256(run) == sha256_file(run / "checkpoint.safetensors")
    assert init_sha256(run / "checkpoint.json") == sha256_file(run / "checkpoint.json")
    assert init_sha256(tmp_path / "nothing") is None and init_sha256(tmp_path) is None
    model, critics, cfg = load_init(run)
    assert sorted(model) == ["b", "w"] and list(critics) == ["hand21.w"] and cfg == MODEL
    assert torch.equal(load_init(run, 0.999)[0]["b"], torch.ones(3))
    with pytest.raises(ValueError, match="read from a run folder"):
        load_init(run / "checkpoint.safetensors", 0.999)
    with pytest.raises(FileNotFoundError, match="neither a run folder nor a .safetensors weights file"):
        load_init(run / "checkpoint.json")
