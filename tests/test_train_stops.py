"""A training run stops cleanly and says why: Ctrl-C / SIGTERM write a checkpoint that resumes bit for bit, a loss
that is no longer finite ends the run (its last checkpoint kept, its weights never exported), unreadable training
files and a ``--resume`` that does not match its run are one-line errors, and an unfinished run is named as such."""

from __future__ import annotations

import json
import math
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from data_files import write_hand_data
from lifter.export import main as export_main
from lifter.model import LifterConfig
from lifter.runs import tensors_sha256
from lifter.stopping import TrainingInterrupted
from lifter.train import Trainer, TrainData, train
from lifter.train import main as train_main
from lifter.train_config import TrainConfig
from lifter.views import DataFileError

TINY = LifterConfig(dim=32, depth=2, heads=2, code_dim=16)


@pytest.fixture(scope="module")
def hand_data(tmp_path_factory) -> Path:
    return write_hand_data(tmp_path_factory.mktemp("data"), 600, 50)


def tiny_cli(data: Path, out: Path, steps: int) -> list[str]:
    return ["--data", str(data), "--categories", "hand21", "--dim", "32", "--depth", "2", "--heads", "2",
            "--batch-tokens", str(16 * 21), "--quiet", "--out", str(out), "--steps", str(steps)]


def _cfg(steps: int = 6) -> TrainConfig:
    return TrainConfig(categories=("hand21",), steps=steps, batch_tokens=16 * 21, warmup=2, lr=5e-3,
                       checkpoint_every=1000, model=TINY)


def _same_tensors(a: Path, b: Path) -> None:
    ta, tb = load_file(str(a / "checkpoint.safetensors")), load_file(str(b / "checkpoint.safetensors"))
    assert ta.keys() == tb.keys()
    for k in ta:
        torch.testing.assert_close(ta[k], tb[k], rtol=0, atol=0, msg=k)


def test_a_signal_stops_after_the_step_writes_its_checkpoint_and_resumes_bit_for_bit(
        hand_data: Path, tmp_path: Path, monkeypatch) -> None:
    """SIGINT during step 3 of 6 (checkpoints every 1000 steps): the run ends after that step with a checkpoint of
    step 3, and --resume then ends where an uninterrupted run does, every tensor equal. SIGTERM likewise."""
    cpu = torch.device("cpu")
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}   # SIG_IGN in a background job
    train(_cfg(), hand_data, tmp_path / "straight", cpu, progress=False)
    step = Trainer.step

    for name, sig in (("SIGINT", signal.SIGINT), ("SIGTERM", signal.SIGTERM)):
        def step_and_signal(self, category=None, sig=sig):
            losses = step(self, category)
            if self.step_count == 3:
                os.kill(os.getpid(), sig)            # delivered while the step's Python runs
            return losses

        monkeypatch.setattr(Trainer, "step", step_and_signal)
        out = tmp_path / name
        with pytest.raises(TrainingInterrupted) as stopped:
            train(_cfg(), hand_data, out, cpu, progress=False)
        assert (stopped.value.step, stopped.value.steps, stopped.value.signal_name, stopped.value.saved) == \
            (3, 6, name, True)
        assert json.loads((out / "checkpoint.json").read_text())["step"] == 3
        monkeypatch.setattr(Trainer, "step", step)
        resumed = train(_cfg(), hand_data, out, cpu, resume=True, progress=False)
        assert resumed.started_at == 3 and resumed.step_count == 6
        _same_tensors(tmp_path / "straight", out)
    assert {sig: signal.getsignal(sig) for sig in before} == before              # the handlers are put back


def test_the_command_line_says_where_an_interrupted_run_stopped(hand_data: Path, tmp_path: Path, capsys,
                                                                monkeypatch) -> None:
    step = Trainer.step

    def step_and_interrupt(self, category=None):
        losses = step(self, category)
        if self.step_count == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return losses

    monkeypatch.setattr(Trainer, "step", step_and_interrupt)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as ended:
        train_main(tiny_cli(hand_data, out, 5))
    assert ended.value.code == 130
    err = capsys.readouterr().err
    assert "stopped by SIGINT at step 2 of 5; checkpoint of step 2 written" in err and "--resume" in err
    assert "Traceback" not in err
    monkeypatch.setattr(Trainer, "step", step)
    # exporting the unfinished run warns; resuming finishes it and says how many steps this call trained
    export_main(["--run", str(out), "--out", str(tmp_path / "half.safetensors")])
    assert "stopped at step 2 of 5" in capsys.readouterr().err
    train_main(tiny_cli(hand_data, out, 5) + ["--resume"])
    assert "trained 3 steps (resumed at step 2)" in capsys.readouterr().out
    train_main(tiny_cli(hand_data, out, 5) + ["--resume"])
    assert "at step 5 of 5 already: nothing to train" in capsys.readouterr().out
    export_main(["--run", str(out), "--out", str(tmp_path / "whole.safetensors")])
    assert "stopped at step" not in capsys.readouterr().err

    def interrupted_loading(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(TrainData, "__init__", interrupted_loading)         # Ctrl-C while the data loads
    with pytest.raises(SystemExit) as ended:
        train_main(tiny_cli(hand_data, tmp_path / "early", 5))
    err = capsys.readouterr().err
    assert ended.value.code == 130 and "interrupted; nothing was saved" in err and "Traceback" not in err


def test_a_loss_that_is_no_longer_finite_ends_the_run_and_keeps_its_checkpoint(
        hand_data: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """Step 5's loss is NaN: the run ends with one line naming the step, the checkpoint of step 4 stays as it was,
    and the log has no NaN line."""
    step = Trainer.step

    def diverging(self, category=None):
        losses = step(self, category)
        return {**losses, "total": math.nan} if self.step_count == 5 else losses

    monkeypatch.setattr(Trainer, "step", diverging)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as ended:
        train_main(tiny_cli(hand_data, out, 8) + ["--checkpoint-every", "2"])
    assert ended.value.code == 1
    err = capsys.readouterr().err
    assert "step 5 (hand21): the loss is no longer finite (total = nan)" in err, err
    assert "last checkpoint, of step 4, is kept" in err and "--lr" in err and "Traceback" not in err
    assert json.loads((out / "checkpoint.json").read_text())["step"] == 4
    assert all(math.isfinite(v) for line in (out / "log.jsonl").read_text().splitlines()
               for v in json.loads(line).values())


def test_weights_that_are_not_finite_are_never_exported_or_started_from(
        hand_data: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    train_main(tiny_cli(hand_data, out, 2))
    tensors = load_file(str(out / "checkpoint.safetensors"))
    key = next(k for k in tensors if k.startswith("model."))
    tensors[key] = torch.full_like(tensors[key], float("nan"))
    save_file(tensors, str(out / "checkpoint.safetensors"))          # as a diverged run leaves them
    with pytest.raises(SystemExit):
        export_main(["--run", str(out), "--out", str(tmp_path / "w.safetensors")])
    err = capsys.readouterr().err
    assert "hold NaN or infinite values" in err and "diverged" in err
    assert not (tmp_path / "w.safetensors").exists()
    with pytest.raises(SystemExit):
        train_main(tiny_cli(hand_data, tmp_path / "next", 2) + ["--init", str(out)])
    assert "hold NaN or infinite values" in capsys.readouterr().err


@pytest.mark.parametrize("damage, message", [
    ("empty", "holds no poses"),
    ("category", "holds category chair, expected hand21"),
    ("no_visible", "has no visible"),
    ("shape", "points2d has shape (600, 20, 2); hand21 needs (M, 21, 2)"),
    ("truncated", "cannot be read as a data file"),
    ("nan_visible", "3 visible landmark(s) with non-finite points2d"),
    ("inf_visible", "1 visible landmark(s) with non-finite points2d"),
    ("float_visible", "visible must be a bool mask (or 0 / 1 whole numbers), got float32"),
    ("counted_visible", "with values other than 0 and 1"),
])
def test_unreadable_training_files_are_one_line_errors(hand_data: Path, tmp_path: Path, capsys, damage: str,
                                                       message: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    good = hand_data / "hand21_train.npz"
    target = data / "hand21_train.npz"
    with np.load(good) as f:
        arrays = {k: f[k] for k in f.files}
    if damage == "truncated":
        target.write_bytes(good.read_bytes()[:10_000])
    else:
        if damage == "empty":
            arrays = {k: (v[:0] if v.ndim and len(v) == len(arrays["points2d"]) else v) for k, v in arrays.items()}
        elif damage == "category":
            arrays["category"] = np.array("chair")
        elif damage == "no_visible":
            del arrays["visible"]
        elif damage == "shape":
            arrays["points2d"] = arrays["points2d"][:, :20]
        elif damage == "nan_visible":                 # NaN had been trained on silently as pixel (0, 0)
            arrays["points2d"][:3, 5] = np.nan
            arrays["visible"][:3, 5] = True
        elif damage == "inf_visible":
            arrays["points2d"][7, 2, 1] = np.inf
            arrays["visible"][7, 2] = True
        elif damage == "float_visible":               # confidences are not a mask
            arrays["visible"] = arrays["visible"].astype(np.float32) * 0.9
        elif damage == "counted_visible":
            arrays["visible"] = arrays["visible"].astype(np.uint8) * 2
        np.savez(target, **arrays)
    with pytest.raises(DataFileError, match="hand21_train.npz"):
        TrainData(target, "hand21", need_3d=False)
    with pytest.raises(SystemExit) as ended:
        train_main(tiny_cli(data, tmp_path / "run", 2))
    err = capsys.readouterr().err
    assert ended.value.code == 1 and message in err and "Traceback" not in err, err


def test_a_mask_of_zeros_and_ones_is_read_as_bool_and_trained_on(hand_data: Path, tmp_path: Path) -> None:
    """A training file whose ``visible`` is 0 / 1 ``uint8`` (a hand-made file) reads as the bool file does: it
    had crashed the first step with a traceback (masked_fill_ takes bool masks only)."""
    data = tmp_path / "data"
    data.mkdir()
    with np.load(hand_data / "hand21_train.npz") as f:
        arrays = {k: f[k] for k in f.files}
    arrays["visible"][::3, 4] = False
    arrays["points2d"][::3, 4] = np.nan
    as_bool = dict(arrays)
    arrays["visible"] = arrays["visible"].astype(np.uint8)
    np.savez(data / "hand21_train.npz", **arrays)
    read = TrainData(data / "hand21_train.npz", "hand21", need_3d=False)
    assert read.visible.dtype == torch.bool and np.array_equal(read.visible.numpy(), as_bool["visible"])
    assert torch.isfinite(read.points).all()
    assert train_main(tiny_cli(data, tmp_path / "run", 2)) == 0


def test_resume_refuses_other_settings_and_checks_the_runs_own_data(hand_data: Path, tmp_path: Path,
                                                                    capsys) -> None:
    out = tmp_path / "run"
    train_main(tiny_cli(hand_data, out, 2))
    capsys.readouterr()
    with pytest.raises(SystemExit):
        train_main(tiny_cli(hand_data, out, 4) + ["--resume", "--lr", "5", "--dim", "64"])
    err = capsys.readouterr().err
    assert "--resume continues the run" in err
    assert "--lr gives lr = 5.0 (the run's: 0.001)" in err and "--dim gives model.dim = 64 (the run's: 32)" in err
    assert json.loads((out / "checkpoint.json").read_text())["step"] == 2               # nothing trained
    # the run's own options, or only --data / --out / --steps: resumed; abbreviations count as given
    train_main(tiny_cli(hand_data, out, 3) + ["--resume"])
    train_main(["--data", str(hand_data), "--out", str(out), "--steps", "4", "--resume", "--quiet"])
    assert json.loads((out / "checkpoint.json").read_text())["step"] == 4
    with pytest.raises(SystemExit):
        train_main(["--data", str(hand_data), "--out", str(out), "--steps", "5", "--resume", "--see", "3"])
    assert "--seed gives seed = 3 (the run's: 0)" in capsys.readouterr().err
    with pytest.raises(SystemExit):                  # an option at its default value, unlike the run's, counts too
        train_main(["--data", str(hand_data), "--out", str(out), "--steps", "5", "--resume", "--dim", "128"])
    assert "--dim gives model.dim = 128 (the run's: 32)" in capsys.readouterr().err
    # --data naming other training files: refused by their SHA-256 (it had trained on, or failed with an IndexError)
    other = tmp_path / "other_data"
    other.mkdir()
    with np.load(hand_data / "hand21_train.npz") as f:
        np.savez(other / "hand21_train.npz", **{k: (f[k][:40] if f[k].ndim else f[k]) for k in f.files})
    with pytest.raises(SystemExit):
        train_main(["--data", str(other), "--out", str(out), "--steps", "5", "--resume", "--quiet"])
    assert "hand21_train.npz is not the training file the run in" in capsys.readouterr().err
    # the data check follows the run's categories (hand21 here), not the default four
    assert not (hand_data / "human17_train.npz").exists()
    train_main(["--data", str(hand_data), "--out", str(out), "--steps", "5", "--resume", "--quiet"])
    assert json.loads((out / "checkpoint.json").read_text())["step"] == 5


def test_a_torn_checkpoint_record_is_read_from_the_tensors_file(hand_data: Path, tmp_path: Path) -> None:
    """A kill between the two renames of a save leaves checkpoint.json stale or cut short: the record inside
    checkpoint.safetensors is the one read, so the run resumes as if nothing happened."""
    cpu = torch.device("cpu")
    train(_cfg(6), hand_data, tmp_path / "straight", cpu, progress=False)
    out = tmp_path / "torn"
    train(_cfg(3), hand_data, out, cpu, progress=False)
    train(_cfg(3), hand_data, tmp_path / "half", cpu, progress=False)
    (out / "checkpoint.json").write_text('{"step": 3, "config": {"ste')
    train(_cfg(6), hand_data, out, cpu, resume=True, progress=False)
    _same_tensors(tmp_path / "straight", out)
    # the tensors' hash (scripts/allocator_speed.py's check) agrees across run folders, and tells other weights apart
    assert tensors_sha256(out) == tensors_sha256(tmp_path / "straight") != tensors_sha256(tmp_path / "half")


def test_resume_refuses_an_init_file_that_changed(hand_data: Path, tmp_path: Path, capsys) -> None:
    base, other = tmp_path / "base", tmp_path / "other"
    train_main(tiny_cli(hand_data, base, 2))
    train_main(tiny_cli(hand_data, other, 2) + ["--seed", "1"])
    for run in (base, other):
        export_main(["--run", str(run), "--out", str(run) + ".safetensors"])
    init = tmp_path / "init.safetensors"

    def copy_weights(run: Path) -> None:
        for suffix in (".safetensors", ".json"):
            init.with_suffix(suffix).write_bytes(run.with_suffix(suffix).read_bytes())

    copy_weights(base)
    ft = tiny_cli(hand_data, tmp_path / "ft", 2) + ["--init", str(init), "--finetune-3d-aware", "--warmup", "1"]
    train_main(ft)
    copy_weights(other)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        train_main(ft[:ft.index("--steps") + 1] + ["3"] + ft[ft.index("--steps") + 2:] + ["--resume"])
    assert "is not the file the run" in capsys.readouterr().err


def test_a_new_run_starts_a_fresh_log_and_bad_paths_are_usage_errors(hand_data: Path, tmp_path: Path,
                                                                     capsys) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "log.jsonl").write_text('{"step": 50, "seconds": 3.0}\n')      # a run killed before its checkpoint
    train_main(tiny_cli(hand_data, out, 2))
    assert '"step": 50' not in (out / "log.jsonl").read_text()
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for argv, message in ((tiny_cli(hand_data, a_file, 2), "is a file: give a folder for the run"),
                          (tiny_cli(hand_data, a_file / "sub", 2), f"{a_file} is a file: give a folder for the run"),
                          (tiny_cli(hand_data / "hand21_train.npz", tmp_path / "x", 2), "is a file: give the folder"),
                          (tiny_cli(hand_data, tmp_path / "y", 2) + ["--finetune-3d-aware"], "give --init")):
        with pytest.raises(SystemExit):
            train_main(argv)
        err = capsys.readouterr().err
        assert message in err and len(err.splitlines()) == 2, err     # a one-line usage, then the error
        assert err.startswith("usage: python -m lifter.train --data DATA [--out OUT] [options]")
