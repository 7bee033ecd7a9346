"""A tiny 2D-only training run really learns, checkpoints resume exactly, and export feeds load_lifter."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from data_files import load_script, write_hand_data
from lifter.finetune import FinetuneConfig
from lifter.geometry import unproject_lift
from lifter.losses import cycle_loss, masked_mse
from lifter.model import LifterConfig
from lifter.devices import cpu_description
from lifter.train import Trainer, batch_size, ema_factor, novel_view, train
from lifter.train_config import TrainConfig, check_ema_decays, config_from_dict, step_schedule
from lifter.train import main as train_main

TINY = LifterConfig(dim=32, depth=2, heads=2, code_dim=16)


@pytest.fixture(scope="module")
def hand_data(tmp_path_factory) -> Path:
    """Synthetic hands (the project's own model) rendered with the benchmark cameras: no external data."""
    return write_hand_data(tmp_path_factory.mktemp("data"), 3000, 200)


def tiny_cli(data: Path) -> list[str]:
    """The options of ``python -m lifter.train`` for a tiny hands-only network on ``data``, quiet."""
    return ["--data", str(data), "--categories", "hand21", "--dim", "32", "--depth", "2", "--heads", "2",
            "--batch-tokens", str(16 * 21), "--quiet"]


def _cfg(**kw) -> TrainConfig:
    base = TrainConfig(categories=("hand21",), steps=160, batch_tokens=64 * 21, warmup=10, lr=5e-3,
                       hide_prob=1.0, checkpoint_every=1000, model=TINY)
    return replace(base, **kw)


@pytest.fixture(scope="module")
def tiny_run(hand_data: Path, tmp_path_factory) -> tuple[Path, list[dict]]:
    """160 steps of 2D-only training of a tiny lifter; returns its run folder and loss history."""
    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("tiny_run")
    trainer = Trainer(_cfg(), hand_data, torch.device("cpu"))
    history = [trainer.step() for _ in range(160)]
    trainer.save(out)
    return out, history


def test_tiny_training_lowers_the_2d_losses(tiny_run) -> None:
    _, history = tiny_run
    first = {k: np.mean([h[k] for h in history[:20]]) for k in ("hidden", "cycle", "total")}
    last = {k: np.mean([h[k] for h in history[-20:]]) for k in ("hidden", "cycle", "total")}
    # The 2D error of the landmarks hidden from the input (a pure 2D loss) more than halves in 160 steps.
    assert last["hidden"] < first["hidden"] / 2, (first, last)
    assert last["total"] < first["total"], (first, last)
    assert all(np.isfinite(h["total"]) for h in history)


def test_resume_continues_bit_for_bit(hand_data: Path, tmp_path: Path) -> None:
    cfg = _cfg(steps=12, checkpoint_every=6)
    straight = train(cfg, hand_data, tmp_path / "a", torch.device("cpu"), progress=False)
    # Stop after 6 steps (a checkpoint is written there), then resume to 12 in a new trainer.
    train(replace(cfg, steps=6), hand_data, tmp_path / "b", torch.device("cpu"), progress=False)
    resumed = train(cfg, hand_data, tmp_path / "b", torch.device("cpu"), resume=True, progress=False)
    assert resumed.step_count == 12
    for (k, a), (_, b) in zip(straight.model.state_dict().items(), resumed.model.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)


def test_export_then_load_lifter(hand_data: Path, tmp_path: Path) -> None:
    from lifter.api import WeightsError, load_lifter
    from lifter.export import export

    train(_cfg(steps=4), hand_data, tmp_path / "run", torch.device("cpu"), progress=False)
    weights = tmp_path / "w" / "tiny.safetensors"
    record = export(tmp_path / "run", weights, command="test")
    assert record["steps"] == 4 and record["model"]["dim"] == 32
    assert record["processor"] == cpu_description() and "bf16 instructions" in record["processor"]
    lifter = load_lifter(weights, device="cpu")
    assert lifter.categories["hand21"] == 21
    with np.load(hand_data / "hand21_test.npz") as f:
        pts = f["points2d"][:5]
    out = lifter.lift(pts, "hand21")
    assert out.shape == (5, 21, 3) and out.dtype == np.float32
    # Corrupt the weights: a clear error naming the file.
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="tiny.safetensors is corrupted"):
        load_lifter(weights)
    with pytest.raises(WeightsError, match="missing"):
        load_lifter(tmp_path / "nothing.safetensors")


def test_attach_evaluation_to_exported_weights(hand_data: Path, tmp_path: Path) -> None:
    from lifter.export import attach_evaluation, export

    train(_cfg(steps=2), hand_data, tmp_path / "run", torch.device("cpu"), progress=False)
    weights = tmp_path / "tiny.safetensors"
    export(tmp_path / "run", weights, command="test")
    report = tmp_path / "evaluate.json"
    rows = [{"method": "tiny", "category": "hand21", "setting": "clean", "strict": 12.5},
            {"method": "other", "category": "hand21", "setting": "clean", "strict": 99.0}]
    report.write_text(json.dumps({"results": rows}))
    record = attach_evaluation(weights, report, "tiny")
    assert record["evaluation"] == rows[:1]
    assert json.loads(weights.with_suffix(".json").read_text())["evaluation"] == rows[:1]
    with pytest.raises(ValueError, match="no rows for method 'absent'"):
        attach_evaluation(weights, report, "absent")
    other = tmp_path / "other.safetensors"                              # rows that measured another file: refused
    other.write_bytes(b"other weights")
    report.write_text(json.dumps({"models": {"tiny": str(other)}, "results": rows}))
    with pytest.raises(ValueError, match="its rows of 'tiny' measured .*other.safetensors, which holds other"):
        attach_evaluation(weights, report, "tiny")
    report.write_text(json.dumps({"models": {"tiny": str(weights)}, "results": rows}))
    assert attach_evaluation(weights, report, "tiny")["evaluation"] == rows[:1]          # the file it measured
    weights.write_bytes(weights.read_bytes() + b"x")                   # other weights now: refuse
    with pytest.raises(ValueError, match="SHA-256 differs"):
        attach_evaluation(weights, report, "tiny")


def test_finetune_3d_aware_lowers_cross_view_inconsistency(hand_data: Path, tiny_run) -> None:
    """A short 3D-aware fine-tuning run makes the lifts of two rendered views of one shape agree better."""
    from lifter.finetune import FinetuneConfig, finetune_losses
    from lifter.geometry import normalise_2d

    ft = replace(_cfg(), steps=80, init_from=str(tiny_run[0]), finetune_3d_aware=True, lr=3e-3, warmup=5,
                 finetune=FinetuneConfig(anchor_weight=0.0))           # the 3D-aware losses alone
    trainer = Trainer(ft, hand_data, torch.device("cpu"))
    with np.load(hand_data / "hand21_test.npz") as f:                   # held-out poses
        pts = torch.from_numpy(f["points2d"][:200])
    mask = torch.ones(pts.shape[:2], dtype=torch.bool)
    p, _, _ = normalise_2d(pts, mask)

    def inconsistency() -> float:
        with torch.no_grad():
            out = finetune_losses(trainer.model, trainer.teacher, p, mask, "hand21", None, FinetuneConfig(),
                                  ft.distance_range, torch.Generator().manual_seed(7))
        return float(out["cross_view"])

    before = inconsistency()
    history = [trainer.step() for _ in range(80)]
    after = inconsistency()
    assert "cross_view" in history[0] and "render" in history[0]
    assert after < 0.85 * before, (before, after)
    # The teacher stays frozen: the student moved away from it.
    moved = sum(float((a - b).detach().abs().sum())
                for a, b in zip(trainer.model.parameters(), trainer.teacher.parameters()))
    assert moved > 0


@pytest.mark.parametrize("elevation", [False, True])
def test_critic_step_updates_the_critics_as_a_step_does(hand_data: Path, elevation: bool) -> None:
    """``critic_step`` is ``step()`` up to its critic update, without the model's gradient or losses: from the same
    state both leave the critics and the random stream bit for bit the same; the model and step count stay put."""
    cfg = _cfg(learned_elevation=elevation, model=replace(TINY, elevation_head=elevation))
    alone, full = Trainer(cfg, hand_data, torch.device("cpu")), Trainer(cfg, hand_data, torch.device("cpu"))
    model_before = {k: v.clone() for k, v in alone.model.state_dict().items()}
    critics_before = [p.detach().clone() for p in alone.critics.parameters()]
    result = alone.critic_step("hand21")
    full.step("hand21")                 # (after it the model has moved: later critic updates see other lifts)
    assert set(result) == {"category", "critic"} and np.isfinite(result["critic"])
    assert all(torch.equal(a, b) for a, b in zip(alone.critics.parameters(), full.critics.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(critics_before, alone.critics.parameters()))
    assert torch.equal(alone.gen.get_state(), full.gen.get_state())
    assert alone.step_count == 0 and full.step_count == 1
    assert all(torch.equal(alone.model.state_dict()[k], v) for k, v in model_before.items())
    alone.critic_step("hand21")                                  # and again: still only the critics move
    assert alone.step_count == 0 and all(torch.equal(alone.model.state_dict()[k], v)
                                         for k, v in model_before.items())


def test_init_from_exported_weights_warms_up_fresh_critics(hand_data: Path, tmp_path: Path) -> None:
    """``--init WEIGHTS.safetensors``: the model starts as exported, and its (absent) critics are trained first."""
    from lifter.export import export
    from lifter.runs import load_init

    run = tmp_path / "run0"
    train(_cfg(steps=4), hand_data, run, torch.device("cpu"), progress=False)
    weights = tmp_path / "w.safetensors"
    export(run, weights, command="test")
    model_state, critic_state, model_cfg = load_init(weights)
    assert critic_state == {} and model_cfg.dim == TINY.dim
    run_state, run_critics, _ = load_init(run)               # a run folder gives both
    assert run_critics and all(torch.equal(model_state[k], v) for k, v in run_state.items())
    with pytest.raises(FileNotFoundError, match="neither a run folder"):
        load_init(tmp_path / "nothing.bin")

    cfg = _cfg(steps=2, init_from=str(weights), critic_warmup=5)
    trainer = Trainer(cfg, hand_data, torch.device("cpu"))
    assert trainer.critics_fresh
    critic_before = [p.detach().clone() for p in trainer.critics.parameters()]
    for _ in range(5):
        trainer.critic_step("hand21")
    assert trainer.step_count == 0
    assert all(torch.equal(trainer.model.state_dict()[k], v) for k, v in model_state.items())   # model untouched
    assert any(not torch.equal(a, b) for a, b in zip(critic_before, trainer.critics.parameters()))
    # The training loop does the warm-up itself, then trains; a run folder's critics need none.
    trained = train(cfg, hand_data, tmp_path / "run", torch.device("cpu"), progress=False)
    assert trained.step_count == 2
    # Its export records what it started from: the weights, by SHA-256, and their own history.
    record = export(tmp_path / "run", tmp_path / "w2.safetensors")
    started = record["initialised_from"]
    first = json.loads(weights.with_suffix(".json").read_text())
    assert started["weights"] == str(weights) and started["sha256"] == first["sha256"]
    assert started.get("initialised_from") is None and started["steps"] == 4
    assert started["started_from_sha256"] == first["sha256"] and "note" not in started
    # the first run trained on and exported again at that path since: the record says that it describes the
    # later file, and keeps the pinned SHA-256 of the one the run started from
    train(_cfg(steps=6), hand_data, run, torch.device("cpu"), resume=True, progress=False)
    export(run, weights, command="again")
    later = export(tmp_path / "run", tmp_path / "w3.safetensors")["initialised_from"]
    assert later["sha256"] != first["sha256"] and later["started_from_sha256"] == first["sha256"]
    assert "is not the file the run started from" in later["note"]
    assert not Trainer(_cfg(init_from=str(run)), hand_data, torch.device("cpu")).critics_fresh


def test_completion_distillation_target_is_what_lift_computes(hand_data: Path) -> None:
    """--completion-weight: the training target of a partly hidden pose is exactly the second pass of
    ``lift(..., complete_hidden=True)`` (same 2D completion, same units); the loss trains without trouble."""
    from lifter.api import LoadedLifter
    from lifter.geometry import normalise_2d

    torch.set_num_threads(2)
    trainer = Trainer(_cfg(steps=20, completion_weight=1.0), hand_data, torch.device("cpu"))
    history = [trainer.step() for _ in range(20)]
    assert all("completion" in h and np.isfinite(h["completion"]) for h in history)
    with np.load(hand_data / "hand21_test.npz") as f:
        pts = torch.from_numpy(f["points2d"][:16].astype(np.float32))
    shown = torch.rand(pts.shape[:2], generator=torch.Generator().manual_seed(1)) > 0.3
    model = trainer.model.eval()
    p_in, centre, scale = normalise_2d(pts, shown)
    with torch.no_grad():
        lift = model.lift_normalised(p_in, shown, "hand21")
    target = trainer.relift_completed(lift, p_in, shown, "hand21", None)
    api = LoadedLifter(model, {}, torch.device("cpu")).lift(pts.numpy(), "hand21", shown.numpy())
    np.testing.assert_allclose(api / scale.numpy()[:, None, None], target.numpy(), atol=1e-4)


def test_step_schedule_weights_categories_and_keeps_the_balanced_default() -> None:
    cats = ("human17", "hand21", "face468", "chair")
    assert step_schedule(cats) == cats                               # default: the plain round robin
    cycle = step_schedule(cats, (("human17", 3), ("chair", 2)))
    assert sorted(cycle) == sorted(["human17"] * 3 + ["chair"] * 2 + ["hand21", "face468"])
    assert cycle[0] == "human17"
    assert all(a != b for a, b in zip(cycle, cycle[1:]))             # spread out, never two in a row
    with pytest.raises(ValueError, match="not trained"):
        step_schedule(("hand21",), (("human17", 2),))
    with pytest.raises(ValueError, match=">= 1"):
        step_schedule(cats, (("chair", 0),))


def test_category_weights_survive_the_checkpoint_record() -> None:
    cfg = TrainConfig(categories=("hand21",), category_weights=(("hand21", 2),), model=TINY)
    saved = config_from_dict(json.loads(json.dumps(asdict(cfg))))
    assert saved.category_weights == (("hand21", 2),) and saved == cfg
    # Records written before the field existed read as balanced.
    old = asdict(cfg)
    del old["category_weights"]
    assert config_from_dict(json.loads(json.dumps(old))).category_weights == ()


def test_train_cli_rejects_bad_category_weights(capsys) -> None:
    for bad in ("human17", "human17=two", "human17=0", "teapot=2"):
        with pytest.raises(SystemExit):
            train_main(["--data", "unused", "--category-weights", bad])
        assert "--category-weights" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--steps", "0"], "--steps must be a whole number >= 1"),
    (["--lr", "-1"], "--lr must be a finite number > 0"),
    (["--lr", "nan"], "--lr must be a finite number > 0"),
    (["--warmup", "-3"], "--warmup must be a whole number >= 0"),
    (["--batch-tokens", "0"], "--batch-tokens must be a whole number >= 1"),
    (["--cycle-weight", "-1"], "--cycle-weight must be a finite number >= 0"),
    (["--symmetry-weight", "-1"], "--symmetry-weight must be a finite number >= 0"),
    (["--completion-weight", "-2"], "--completion-weight must be a finite number >= 0"),
    (["--dim", "0"], "--dim must be a whole number >= 1"),
    (["--depth", "0"], "--depth must be a whole number >= 1"),
    (["--heads", "3"], "--dim (128) must be a multiple of heads (3)"),
    (["--threads", "0"], "--threads must be at least 1"),
    (["--max-batch", "2"], "--max-batch must be at least min_batch"),
])
def test_train_cli_refuses_settings_it_cannot_train_with(hand_data: Path, tmp_path: Path, capsys, flags, message
                                                         ) -> None:
    out = tmp_path / "run"
    with pytest.raises(SystemExit):
        train_main(["--data", str(hand_data), "--categories", "hand21", "--out", str(out), "--quiet", *flags])
    assert message in capsys.readouterr().err and not out.exists()


def test_configs_are_checked_where_they_are_used(hand_data: Path, tmp_path: Path) -> None:
    """train() and Lifter refuse what the command line refuses, for callers of the Python API."""
    from lifter.model import Lifter

    with pytest.raises(ValueError, match="distance_range must be 0 < near <= far"):
        train(TrainConfig(categories=("hand21",), distance_range=(5.0, 2.0)), hand_data, tmp_path / "run",
              torch.device("cpu"), progress=False)
    with pytest.raises(ValueError, match="hide_prob is a share in"):
        TrainConfig(hide_prob=1.5).check()
    with pytest.raises(ValueError, match="code_dim must be even"):
        Lifter(LifterConfig(categories={"hand21": 21}, code_dim=63))
    TrainConfig().check()                                                      # the defaults are fine
    # the 3D-aware stage's settings: a typo had run the orthographic reading, views=0 an unpacking error
    for finetune, message in ((FinetuneConfig(teacher_reading="Perspective"), "finetune.teacher_reading must be"),
                              (FinetuneConfig(views=0), "finetune.views must be a whole number >= 1"),
                              (FinetuneConfig(views=2.0), "finetune.views must be a whole number >= 1"),
                              (FinetuneConfig(block_prob=2.0), "finetune.block_prob is a share in"),
                              (FinetuneConfig(distill_weight=float("nan")), "finetune.distill_weight must be"),
                              (FinetuneConfig(tilt_deg=95.0), "finetune.tilt_deg must be below 90"),
                              (FinetuneConfig(teacher_precision="fp16"), "finetune.teacher_precision must be")):
        with pytest.raises(ValueError, match=message):
            TrainConfig(finetune=finetune).check()
    FinetuneConfig(teacher_reading="perspective", views=3, block_prob=0.5, distill_weight=1.0).check()


def test_max_batch_flag_lifts_the_cap_on_small_categories(hand_data: Path, tmp_path: Path, capsys) -> None:
    assert batch_size(TrainConfig(batch_tokens=8192), 17) == 256               # the default cap
    assert batch_size(TrainConfig(batch_tokens=8192, max_batch=1024), 17) == 8192 // 17
    with pytest.raises(SystemExit):
        train_main(["--data", str(hand_data), "--categories", "hand21", "--out", str(tmp_path / "small"),
                    "--max-batch", "8"])
    assert "--max-batch must be at least min_batch" in capsys.readouterr().err
    out = tmp_path / "run"
    train_main(["--data", str(hand_data), "--out", str(out), "--categories", "hand21", "--steps", "1", "--dim", "16",
                "--depth", "1", "--heads", "2", "--batch-tokens", "8192", "--max-batch", "300", "--quiet"])
    assert json.loads((out / "checkpoint.json").read_text())["config"]["max_batch"] == 300


def hand_and_chair_data(hand_data: Path, folder: Path) -> None:
    """Training files of two categories in ``folder``: the hands, and a second 21-landmark category from the same
    synthetic hands (only the 2D and the name are read) as ``chair``."""
    with np.load(hand_data / "hand21_train.npz") as f:
        arrays = {k: f[k] for k in f.files}
    np.savez(folder / "chair_train.npz", **{**arrays, "category": np.array("chair")})
    (folder / "hand21_train.npz").symlink_to(hand_data / "hand21_train.npz")


def test_each_category_can_have_its_own_batch_tokens(hand_data: Path, tmp_path: Path, capsys) -> None:
    """``--category-batch-tokens chair=...``: the named category's batches are sized on its own budget, the
    others' on ``--batch-tokens``; recorded in the checkpoint; bad values are usage errors."""
    hand_and_chair_data(hand_data, tmp_path)
    cfg = _cfg(categories=("hand21", "chair"), batch_tokens=16 * 21, category_batch_tokens=(("chair", 40 * 21),))
    assert (batch_size(cfg, 21, "hand21"), batch_size(cfg, 21, "chair"), batch_size(cfg, 21)) == (16, 40, 16)
    trainer = Trainer(cfg, tmp_path, torch.device("cpu"))
    assert len(trainer.batch("chair")["points"]) == 40 and len(trainer.batch("hand21")["points"]) == 16
    with pytest.raises(ValueError, match="not trained"):
        Trainer(_cfg(categories=("hand21",), category_batch_tokens=(("chair", 500),)), tmp_path, torch.device("cpu"))
    out = tmp_path / "run"
    train_main(["--data", str(tmp_path), "--out", str(out), "--categories", "hand21", "chair", "--steps", "2",
                "--dim", "16", "--depth", "1", "--heads", "2", "--batch-tokens", str(16 * 21),
                "--category-batch-tokens", f"chair={40 * 21}", "--quiet"])
    recorded = json.loads((out / "checkpoint.json").read_text())["config"]["category_batch_tokens"]
    assert [tuple(p) for p in recorded] == [("chair", 40 * 21)]
    for bad in ("chair", "chair=many", "chair=0", "face468=2048"):
        with pytest.raises(SystemExit):
            train_main(["--data", str(tmp_path), "--categories", "hand21", "chair", "--category-batch-tokens", bad])
        assert "--category-batch-tokens" in capsys.readouterr().err


def test_trainer_steps_follow_the_weighted_schedule(hand_data: Path, tmp_path: Path) -> None:
    hand_and_chair_data(hand_data, tmp_path)
    cfg = _cfg(categories=("hand21", "chair"), category_weights=(("chair", 2),), batch_tokens=16 * 21)
    trainer = Trainer(cfg, tmp_path, torch.device("cpu"))
    cycle = step_schedule(cfg.categories, cfg.category_weights)
    assert sorted(cycle) == ["chair", "chair", "hand21"]
    assert [trainer.step()["category"] for _ in range(6)] == list(cycle) * 2


def test_perspective_cycle_reading_leaves_no_residual_for_the_true_depth() -> None:
    # A lift with the true depth of a 3D shape, viewed anew by novel_view; the second lift given the true depth
    # of that view. Read through the view's own camera, the cycle loss is zero; read orthographically (x, y =
    # the perspective 2D, scale fitted) it is not: the residual the flag removes.
    gen = torch.Generator().manual_seed(0)
    shape = torch.randn(8, 17, 3, generator=gen)
    mask = torch.ones(8, 17, dtype=torch.bool)
    mask[0, :3] = False
    cfg = TrainConfig(distance_range=(2.5, 3.0))                   # close cameras: strong perspective
    rotated, p2, centre, scale, dist = novel_view(shape, mask, cfg, gen)
    true_z = rotated[..., 2] - (rotated[..., 2] * mask).sum(1, keepdim=True) / mask.sum(1, keepdim=True)
    lift2 = torch.cat([p2, (true_z / (dist * scale)[:, None])[..., None]], -1)  # the view's true depth, its units
    perspective = masked_mse(unproject_lift(lift2, centre, scale, dist, mask), rotated, mask)
    assert float(perspective) < 1e-10
    assert float(cycle_loss(lift2, rotated, mask)) > 1e-3


def test_cycle_reading_is_recorded_and_checked(hand_data: Path) -> None:
    cfg = _cfg(cycle_reading="perspective")
    assert config_from_dict(json.loads(json.dumps(asdict(cfg)))).cycle_reading == "perspective"
    old = asdict(cfg)
    del old["cycle_reading"]                                         # records from before the field existed
    assert config_from_dict(json.loads(json.dumps(old))).cycle_reading == "orthographic"
    with pytest.raises(ValueError, match="cycle_reading"):
        Trainer(_cfg(cycle_reading="weak"), hand_data, torch.device("cpu"))
    trainer = Trainer(cfg, hand_data, torch.device("cpu"))
    history = [trainer.step() for _ in range(3)]
    assert all(np.isfinite(h["cycle"]) and h["cycle"] > 0 for h in history)


def test_laplacian_identity_code_trains_exports_and_loads(hand_data: Path, tmp_path: Path) -> None:
    from lifter.api import load_lifter
    from lifter.export import export

    train_main(["--data", str(hand_data), "--out", str(tmp_path / "run"), "--categories", "hand21", "--steps", "3",
                "--dim", "32", "--depth", "2", "--heads", "2", "--identity-code", "laplacian+fourier", "--quiet"])
    record = json.loads((tmp_path / "run" / "checkpoint.json").read_text())
    assert record["config"]["model"]["identity_code"] == "laplacian+fourier"
    weights = tmp_path / "lap.safetensors"
    export(tmp_path / "run", weights, command="test")
    lifter = load_lifter(weights, device="cpu")
    assert lifter.model.cfg.identity_code == "laplacian+fourier"
    with np.load(hand_data / "hand21_test.npz") as f:
        assert np.isfinite(lifter.lift(f["points2d"][:3], "hand21")).all()
    old = record["config"]
    del old["model"]["identity_code"]                                 # records from before the option existed
    assert config_from_dict(old).model.identity_code == "fourier"


def test_cli_resumes_a_3d_aware_finetune_run_bit_for_bit(hand_data: Path, tmp_path: Path) -> None:
    """``--resume`` of a ``--finetune-3d-aware`` run keeps its nested configs (a resumed run once crashed here)."""
    from safetensors.torch import load_file

    tiny = tiny_cli(hand_data)
    train_main(tiny + ["--out", str(tmp_path / "base"), "--steps", "3"])
    ft = tiny + ["--init", str(tmp_path / "base"), "--finetune-3d-aware", "--warmup", "1"]
    train_main(ft + ["--out", str(tmp_path / "straight"), "--steps", "4"])
    train_main(ft + ["--out", str(tmp_path / "resumed"), "--steps", "2"])
    train_main(ft + ["--out", str(tmp_path / "resumed"), "--steps", "4", "--resume"])
    record = json.loads((tmp_path / "resumed" / "checkpoint.json").read_text())
    assert record["step"] == 4 and record["config"]["finetune_3d_aware"]
    a = load_file(tmp_path / "straight" / "checkpoint.safetensors")
    b = load_file(tmp_path / "resumed" / "checkpoint.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)


def test_cli_refuses_to_overwrite_a_run_and_names_missing_data(hand_data: Path, tmp_path: Path, capsys) -> None:
    """A finished run is never overwritten by a new command into its folder; missing data is a usage error."""
    tiny = tiny_cli(hand_data) + ["--steps", "2"]
    run = tmp_path / "run"
    train_main(tiny + ["--out", str(run), "--checkpoint-every", "1"])
    assert json.loads((run / "checkpoint.json").read_text())["config"]["checkpoint_every"] == 1
    kept = {name: (run / name).read_bytes() for name in ("checkpoint.safetensors", "checkpoint.json", "log.jsonl")}
    capsys.readouterr()
    with pytest.raises(SystemExit):
        train_main(tiny + ["--out", str(run), "--seed", "1"])
    err = capsys.readouterr().err
    assert "already holds a training run" in err and "--resume" in err
    assert {name: (run / name).read_bytes() for name in kept} == kept
    with pytest.raises(SystemExit):
        train_main(tiny + ["--out", str(tmp_path / "zero"), "--checkpoint-every", "0"])
    assert "--checkpoint-every must be a whole number >= 1" in capsys.readouterr().err
    assert not (tmp_path / "zero").exists()
    with pytest.raises(SystemExit):
        train_main(["--data", str(tmp_path / "nowhere"), "--categories", "hand21", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert "hand21_train.npz" in err and "lifter.data build" in err and not (tmp_path / "x").exists()
    # --resume on a folder without a checkpoint starts from step 0 and says so.
    train_main(tiny + ["--out", str(tmp_path / "fresh"), "--resume"])
    assert "starting at step 0" in capsys.readouterr().err
    assert json.loads((tmp_path / "fresh" / "checkpoint.json").read_text())["step"] == 2


def test_checkpoints_keep_each_stretch_of_a_resumed_run(hand_data: Path, tmp_path: Path) -> None:
    """Each training call's stretch is recorded with the checkpoint, so a run stopped before its first log line
    and resumed keeps both stretches, and its export sums them (the 50-step log had shown one stretch)."""
    from lifter.export import export

    run = tmp_path / "run"
    train(_cfg(steps=3), hand_data, run, torch.device("cpu"), progress=False)
    train(_cfg(steps=7), hand_data, run, torch.device("cpu"), resume=True, progress=False)
    kept = json.loads((run / "checkpoint.json").read_text())["segments"]
    assert [(k["first_step"], k["last_step"]) for k in kept] == [(1, 3), (4, 7)]
    assert all(k["seconds"] >= 0 for k in kept)
    record = export(run, tmp_path / "w.safetensors")
    assert record["segments"] == kept and record["wall_seconds"] == pytest.approx(sum(k["seconds"] for k in kept))


def test_export_reads_the_runs_relative_paths_where_it_trained(hand_data: Path, tmp_path: Path, monkeypatch) -> None:
    """A run given relative --data and --init paths, exported from another folder: its record still finds the
    data's build.json and the weights it started from, and names the torch and machine the run trained with."""
    import platform
    import shutil

    from lifter.export import export

    data = tmp_path / "data"
    shutil.copytree(hand_data, data)
    (data / "build.json").write_text(json.dumps({"source": "made here", "config": {"seed": 3}, "files": {}}))
    monkeypatch.chdir(tmp_path)
    train(_cfg(steps=2), Path("data"), tmp_path / "first", torch.device("cpu"), progress=False)
    export(tmp_path / "first", tmp_path / "first.safetensors")
    train(_cfg(steps=2, init_from="first.safetensors"), data, tmp_path / "second", torch.device("cpu"),
          progress=False)
    monkeypatch.chdir(tmp_path.parent)                                 # exported from elsewhere
    first = export(tmp_path / "first", tmp_path / "again.safetensors")
    assert first["data"] == {"dir": "data", "build": {"source": "made here", "seed": 3, "files": {}}}
    assert first["torch"] == torch.__version__ and first["machine"] == platform.machine()
    second = export(tmp_path / "second", tmp_path / "second.safetensors")["initialised_from"]
    assert second["weights"] == str(tmp_path / "first.safetensors") and "note" not in second


def test_export_sums_the_wall_time_of_resumed_segments() -> None:
    from lifter.export import log_segments, wall_seconds

    log = [{"step": 50, "seconds": 60.0}, {"step": 100, "seconds": 125.0}, {"step": 150, "seconds": 190.0},
           {"step": 150, "seconds": 70.0}, {"step": 200, "seconds": 130.0},      # resumed from the step-100 checkpoint
           {"step": 250, "seconds": 20.0}]                                      # resumed again, clock restarted
    segments = log_segments(log)
    assert [(s["first_step"], s["last_step"], s["seconds"]) for s in segments] == \
        [(50, 150, 190.0), (150, 200, 130.0), (250, 250, 20.0)]
    assert wall_seconds(segments) == 340.0
    assert log_segments([]) == [] and wall_seconds([]) is None


def test_compare_checkpoints_script_finds_equal_and_different_runs(hand_data: Path, tmp_path: Path) -> None:
    """scripts/compare_checkpoints.py (the README's determinism figures): 0 for the same run twice, > 0 otherwise."""
    module = load_script("compare_checkpoints")
    tiny = tiny_cli(hand_data) + ["--steps", "3"]
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        train_main(tiny + ["--out", str(tmp_path / name), "--seed", seed])
    same = module.max_differences(tmp_path / "a", tmp_path / "b")
    assert set(same) == {"model", "critics", "opt", "critic_opt"} and all(v == 0.0 for v in same.values())
    assert module.max_differences(tmp_path / "a", tmp_path / "c")["model"] > 0.0


def test_cycle_weight_zero_skips_the_second_lift_and_nothing_else(hand_data: Path, tmp_path: Path) -> None:
    """``--cycle-weight 0`` lifts once per step instead of twice, draws the same random numbers (the same batches
    and views as a run with the cycle), still trains adversarially, and is recorded with the run."""
    calls = {}

    def run(weight: float) -> tuple[Trainer, dict]:
        trainer = Trainer(_cfg(cycle_weight=weight), hand_data, torch.device("cpu"))
        calls[weight] = 0

        def count(*_):
            calls[weight] += 1
        trainer.model.head.register_forward_hook(count)
        return trainer, trainer.step()

    with_cycle, losses1 = run(1.0)
    without, losses0 = run(0.0)
    assert calls == {1.0: 2, 0.0: 1}
    assert "cycle" in losses1 and "cycle" not in losses0 and np.isfinite(losses0["adv"])
    assert torch.equal(with_cycle.gen.get_state(), without.gen.get_state())
    changed = [not torch.equal(a, b) for a, b in zip(with_cycle.model.parameters(), without.model.parameters())]
    assert any(changed)                                              # the loss differs, so the update does
    train_main(["--data", str(hand_data), "--out", str(tmp_path / "run"), "--categories", "hand21", "--steps", "2",
                "--dim", "32", "--depth", "2", "--heads", "2", "--cycle-weight", "0", "--quiet"])
    record = json.loads((tmp_path / "run" / "checkpoint.json").read_text())
    assert record["config"]["cycle_weight"] == 0.0


def test_template_weight_adds_the_rigid_template_loss_and_is_recorded(hand_data: Path, tmp_path: Path,
                                                                      capsys) -> None:
    from lifter.geometry import rigid_factorisation

    trainer = Trainer(_cfg(template_weights=(("hand21", 2.0),)), hand_data, torch.device("cpu"))
    d = trainer.data["hand21"]
    np.testing.assert_allclose(trainer.templates["hand21"].numpy(),
                               rigid_factorisation(d.points.numpy(), d.visible.numpy())[0], rtol=0, atol=1e-6)
    losses = trainer.step()
    assert losses["template"] > 0
    plain = Trainer(_cfg(), hand_data, torch.device("cpu")).step()
    assert "template" not in plain
    assert losses["total"] == pytest.approx(plain["total"] + 2.0 * losses["template"], rel=1e-5)  # same batch
    with pytest.raises(ValueError, match="not trained"):
        Trainer(_cfg(template_weights=(("face468", 1.0),)), hand_data, torch.device("cpu"))
    for bad in (["face468=1"], ["hand21=0"], ["hand21"]):
        with pytest.raises(SystemExit):
            train_main(["--data", str(hand_data), "--out", str(tmp_path / "bad"), "--categories", "hand21",
                        "--template-weight", *bad])
        assert "--template-weight" in capsys.readouterr().err
    train_main(["--data", str(hand_data), "--out", str(tmp_path / "run"), "--categories", "hand21", "--steps", "2",
                "--dim", "32", "--depth", "2", "--heads", "2", "--template-weight", "hand21=0.5", "--quiet"])
    record = json.loads((tmp_path / "run" / "checkpoint.json").read_text())
    assert record["config"]["template_weights"] == [["hand21", 0.5]]
    assert config_from_dict(record["config"]).template_weights == (("hand21", 0.5),)


def test_ema_factor_is_a_running_mean_then_the_decay() -> None:
    assert [ema_factor(0.75, t) for t in (1, 2, 3, 4, 5, 100)] == pytest.approx([0.0, 0.5, 2 / 3, 0.75, 0.75, 0.75])
    # TensorFlow's rule, kept for old records, holds every decay above (1 + t) / (10 + t) at that bound:
    assert ema_factor(0.999, 1800, "tf") == ema_factor(0.9995, 1800, "tf") == pytest.approx(1801 / 1810)
    assert ema_factor(0.999, 1800) == 0.999 and ema_factor(0.9995, 1800) == pytest.approx(1 - 1 / 1800)
    for bad in ((0.9, 0, "mean"), (0.9, 1, "linear")):
        with pytest.raises(ValueError):
            ema_factor(*bad)
    with pytest.raises(ValueError, match="warm-up"):
        check_ema_decays((0.9,), "linear")


def test_weight_average_in_warm_up_is_the_mean_of_the_weights(hand_data: Path) -> None:
    """Until 1 / (1 - decay) steps, the "mean" warm-up's average is exactly the mean of the weights after each
    step (the starting weights forgotten at step 1)."""
    trainer = Trainer(_cfg(steps=5, ema_decays=(0.9,)), hand_data, torch.device("cpu"))
    seen = []
    for _ in range(5):
        trainer.step()
        seen.append({k: v.clone() for k, v in trainer.model.state_dict().items() if v.is_floating_point()})
    for k in seen[0]:
        torch.testing.assert_close(trainer.emas[0.9][k], torch.stack([s[k] for s in seen]).mean(0),
                                   rtol=1e-5, atol=1e-6, msg=k)
    assert any(not torch.equal(seen[-1][k], trainer.emas[0.9][k]) for k in seen[0])    # not the last weights


@pytest.mark.parametrize("warmup", ["mean", "tf"])
def test_weight_averages_follow_their_formula_and_resume_bit_for_bit(hand_data: Path, tmp_path: Path,
                                                                     warmup: str) -> None:
    cfg = _cfg(steps=6, checkpoint_every=3, ema_decays=(0.2, 0.9), ema_warmup=warmup)
    trainer = Trainer(cfg, hand_data, torch.device("cpu"))
    expected = {d: {k: v.clone() for k, v in trainer.model.state_dict().items()} for d in cfg.ema_decays}
    for t in range(1, 7):
        trainer.step()
        for decay, ema in expected.items():
            d = min(decay, 1 - 1 / t) if warmup == "mean" else min(decay, (1 + t) / (10 + t))
            for k, v in trainer.model.state_dict().items():
                ema[k] = d * ema[k] + (1 - d) * v if v.is_floating_point() else v.clone()
    for decay in cfg.ema_decays:
        for k, v in expected[decay].items():
            torch.testing.assert_close(trainer.emas[decay][k], v, msg=f"{decay} {k}")
    # The averages lag the weights: after 6 steps the slower one is further from them.
    dist = {d: sum(float((trainer.emas[d][k] - v).abs().sum()) for k, v in trainer.model.state_dict().items())
            for d in cfg.ema_decays}
    assert 0 < dist[0.2] < dist[0.9]
    # Stopped at step 3 and resumed: the averages are the straight run's, bit for bit.
    straight = train(cfg, hand_data, tmp_path / "a", torch.device("cpu"), progress=False)
    train(replace(cfg, steps=3), hand_data, tmp_path / "b", torch.device("cpu"), progress=False)
    resumed = train(cfg, hand_data, tmp_path / "b", torch.device("cpu"), resume=True, progress=False)
    for decay in cfg.ema_decays:
        for k, v in straight.emas[decay].items():
            torch.testing.assert_close(resumed.emas[decay][k], v, rtol=0, atol=0, msg=f"{decay} {k}")
    record = json.loads((tmp_path / "b" / "checkpoint.json").read_text())["config"]
    assert config_from_dict(record).ema_decays == (0.2, 0.9) and config_from_dict(record).ema_warmup == warmup
    record.pop("ema_warmup")                                   # recorded before the field: TensorFlow's rule
    assert config_from_dict(record).ema_warmup == "tf"


def test_export_writes_a_kept_weight_average_and_refuses_others(hand_data: Path, tmp_path: Path, capsys) -> None:
    from lifter.api import load_lifter
    from lifter.export import export
    from lifter.export import main as export_main

    trainer = train(_cfg(steps=5, ema_decays=(0.9,)), hand_data, tmp_path / "run", torch.device("cpu"),
                    progress=False)
    record = export(tmp_path / "run", tmp_path / "ema.safetensors", ema=0.9)
    assert record["exported_weights"] == {"ema_decay": 0.9}
    assert export(tmp_path / "run", tmp_path / "last.safetensors")["exported_weights"] == "last"
    ema, last = (load_lifter(tmp_path / f"{n}.safetensors", device="cpu").model.state_dict() for n in ("ema", "last"))
    for k, v in trainer.emas[0.9].items():
        torch.testing.assert_close(ema[k], v, rtol=0, atol=0)
        torch.testing.assert_close(last[k], trainer.model.state_dict()[k], rtol=0, atol=0)
    assert any(not torch.equal(ema[k], last[k]) for k in ema)
    with pytest.raises(ValueError, match="kept no weight average at decay 0.99"):
        export(tmp_path / "run", tmp_path / "x.safetensors", ema=0.99)
    for argv, message in ((["--out", str(tmp_path / "ema.safetensors"), "--ema", "0.9"], "give --run"),
                          (["--run", str(tmp_path / "run"), "--out", str(tmp_path / "y.safetensors"), "--ema",
                            "0.5"], "train with --ema 0.5"),
                          (["--run", str(tmp_path / "nowhere"), "--out", str(tmp_path / "z.safetensors")],
                           "not a training run folder")):
        with pytest.raises(SystemExit):
            export_main(argv)
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_main(["--data", str(hand_data), "--ema", "1.5"])
    assert "--ema" in capsys.readouterr().err


def test_a_failed_export_leaves_the_weights_there_as_they_were(hand_data: Path, tmp_path: Path, capsys) -> None:
    """The export command checks what it copies before it writes, writes under temporary names, and overwrites
    only with --force: weights that load stay loadable whatever goes wrong."""
    from lifter.api import load_lifter
    from lifter.export import main as export_main

    train(_cfg(steps=3), hand_data, tmp_path / "run", torch.device("cpu"), progress=False)
    out = tmp_path / "w.safetensors"
    assert export_main(["--run", str(tmp_path / "run"), "--out", str(out)]) == 0
    before = out.read_bytes(), out.with_suffix(".json").read_text()
    (tmp_path / "other.json").write_text('{"results": [{"method": "other"}]}')
    for argv, message in (([], "exists; give --force to overwrite them"),
                          (["--force", "--evaluation", str(tmp_path / "nope.json")], "nope.json: no such file"),
                          (["--force", "--evaluation", str(tmp_path / "other.json"), "--label", "mine"],
                           "no rows for method 'mine'"),
                          (["--force", "--evaluation", str(out)], "not an evaluate.json")):
        with pytest.raises(SystemExit):
            export_main(["--run", str(tmp_path / "run"), "--out", str(out), *argv])
        assert message in capsys.readouterr().err
        assert (out.read_bytes(), out.with_suffix(".json").read_text()) == before
    load_lifter(out, device="cpu")                                    # still loads: SHA-256 and record agree
    assert sorted(q.name for q in tmp_path.iterdir() if q.is_file()) == ["other.json", "w.json", "w.safetensors"]
    own = tmp_path / "run" / "checkpoint.safetensors"
    kept = own.read_bytes()
    with pytest.raises(SystemExit):                                   # even with --force: the run would be lost
        export_main(["--run", str(tmp_path / "run"), "--out", str(own), "--force"])
    assert "is the run's own checkpoint" in capsys.readouterr().err and own.read_bytes() == kept
    for bad, message in ((tmp_path / "w.txt", "must end in .safetensors"), (tmp_path / "run", "must end in")):
        with pytest.raises(SystemExit):
            export_main(["--run", str(tmp_path / "run"), "--out", str(bad)])
        assert message in capsys.readouterr().err
    assert export_main(["--run", str(tmp_path / "run"), "--out", str(out), "--force"]) == 0
    loaded = load_lifter(out, device="cpu")
    assert loaded.trained_categories == ("hand21",) and "human17" in loaded.categories
    body = np.random.default_rng(0).normal(size=(17, 2)) * 50
    with pytest.warns(UserWarning, match=r"never trained on human17 \(trained on hand21\)"):
        loaded.lift(body, "human17")
    with warnings.catch_warnings():
        warnings.simplefilter("error")                               # once per category; none for hand21
        loaded.lift(body, "human17")
        loaded.lift(np.random.default_rng(1).normal(size=(21, 2)) * 50, "hand21")


def test_init_from_a_runs_weight_average(hand_data: Path, tmp_path: Path, capsys) -> None:
    from lifter.runs import load_init

    run = tmp_path / "run"
    first = train(_cfg(steps=5, ema_decays=(0.9,)), hand_data, run, torch.device("cpu"), progress=False)
    state, critics, _ = load_init(run, 0.9)
    assert critics and set(state) == set(first.model.state_dict())
    second = Trainer(_cfg(steps=2, init_from=str(run), init_ema=0.9), hand_data, torch.device("cpu"))
    for k, v in first.emas[0.9].items():
        torch.testing.assert_close(second.model.state_dict()[k], v, rtol=0, atol=0)
    assert not second.critics_fresh                       # the run's critics come along
    with pytest.raises(ValueError, match="kept no weight average at decay 0.5"):
        load_init(run, 0.5)
    with pytest.raises(SystemExit):
        train_main(["--data", str(hand_data), "--init-ema", "0.9"])
    assert "give --init RUN_FOLDER" in capsys.readouterr().err


def test_average_runs_script_writes_the_mean_of_the_runs_weights(hand_data: Path, tmp_path: Path) -> None:
    """scripts/average_runs.py (the README's weight-average figures): the exported weights are the mean."""
    from lifter.api import load_lifter

    module = load_script("average_runs")
    runs = [tmp_path / f"r{seed}" for seed in range(3)]
    models = [train(_cfg(steps=3, seed=seed), hand_data, run, torch.device("cpu"), progress=False).model
              for seed, run in enumerate(runs)]
    record = module.average_runs(runs, tmp_path / "soup.safetensors")
    assert record["exported_weights"] == {"average_of_runs": [str(r) for r in runs]}
    soup = load_lifter(tmp_path / "soup.safetensors", device="cpu").model.state_dict()   # SHA-256 checked
    for k, v in soup.items():
        torch.testing.assert_close(v, sum(m.state_dict()[k] for m in models) / 3)
    assert any(not torch.equal(v, models[0].state_dict()[k]) for k, v in soup.items())
    with pytest.raises(ValueError, match="at least two runs"):
        module.average_runs(runs[:1], tmp_path / "x.safetensors")
    train(_cfg(steps=1, model=replace(TINY, dim=16)), hand_data, tmp_path / "small", torch.device("cpu"),
          progress=False)
    with pytest.raises(ValueError, match="another network"):
        module.average_runs([runs[0], tmp_path / "small"], tmp_path / "x.safetensors")


def test_symmetry_prior_only_on_the_chosen_categories(hand_data: Path, tmp_path: Path, capsys) -> None:
    # A 21-landmark "chair" and a 17-landmark "body" from the synthetic hands (chairs and bodies have mirror
    # pairs, hands none; only the 2D and the name are read), as above.
    with np.load(hand_data / "hand21_train.npz") as f:
        arrays = {k: f[k] for k in f.files}
    np.savez(tmp_path / "chair_train.npz", **{**arrays, "category": np.array("chair")})
    body = {k: (v[:, :17] if v.ndim >= 2 and v.shape[1] == 21 else v) for k, v in arrays.items()}
    np.savez(tmp_path / "human17_train.npz", **{**body, "category": np.array("human17")})
    (tmp_path / "hand21_train.npz").symlink_to(hand_data / "hand21_train.npz")
    base = _cfg(categories=("chair", "human17", "hand21"), batch_tokens=16 * 21, symmetry_weight=5.0)
    chosen = replace(base, symmetry_categories=("chair",))
    on = Trainer(chosen, tmp_path, torch.device("cpu")).step("chair")
    everywhere = Trainer(base, tmp_path, torch.device("cpu")).step("chair")
    assert on["symmetry"] > 0 and on["total"] == pytest.approx(everywhere["total"], rel=1e-6)   # same batch
    off = Trainer(replace(base, symmetry_weight=0.0), tmp_path, torch.device("cpu")).step("chair")
    assert "symmetry" not in off
    assert on["total"] == pytest.approx(off["total"] + 5.0 * on["symmetry"], rel=1e-5)
    assert "symmetry" in Trainer(base, tmp_path, torch.device("cpu")).step("human17")     # every paired one
    assert "symmetry" not in Trainer(chosen, tmp_path, torch.device("cpu")).step("human17")  # chairs only
    for names, weight, message in ((("hand21",), 5.0, "no mirror pairs"), (("face468",), 5.0, "not trained"),
                                   (("chair", "chair"), 5.0, "named twice"), (("chair",), 0.0, "prior is off")):
        with pytest.raises(ValueError, match=message):
            Trainer(replace(base, symmetry_categories=names, symmetry_weight=weight), tmp_path,
                    torch.device("cpu"))
    with pytest.raises(SystemExit):
        train_main(["--data", str(tmp_path), "--categories", "hand21", "chair", "--symmetry-categories", "chair"])
    assert "--symmetry-categories: the symmetry prior is off" in capsys.readouterr().err
    train_main(["--data", str(tmp_path), "--out", str(tmp_path / "run"), "--categories", "hand21", "chair",
                "--steps", "2", "--dim", "32", "--depth", "2", "--heads", "2", "--symmetry-weight", "5",
                "--symmetry-categories", "chair", "--quiet"])
    record = json.loads((tmp_path / "run" / "checkpoint.json").read_text())["config"]
    assert record["symmetry_categories"] == ["chair"]
    assert config_from_dict(record).symmetry_categories == ("chair",)
    del record["symmetry_categories"]                                  # recorded before the field existed
    assert config_from_dict(record).symmetry_categories == ()


def test_mirroring_swaps_left_and_right_and_negates_x_only() -> None:
    """A mirrored training pose is the image mirrored left-right: x negated (y kept: not upside down), each
    landmark's 2D and visibility moved to its mirror partner's slot, so that a left wrist still reads as a left
    wrist. A body whose left elbow is hidden has its right elbow's slot hidden once mirrored."""
    from lifter.mirroring import mirror_permutation
    from lifter.train import augment

    rng = np.random.default_rng(4)
    points = torch.as_tensor(rng.normal(size=(8, 17, 2)) * 50, dtype=torch.float32)
    visible = torch.ones(8, 17, dtype=torch.bool)
    perm = mirror_permutation("human17")
    left = int(np.flatnonzero(np.asarray(perm) != np.arange(17))[0])       # a landmark with a partner
    visible[:, left] = False
    cfg = replace(TrainConfig(), mirror_prob=1.0, hide_prob=0.0)
    out, full, shown = augment(points, visible, "human17", cfg, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, points[:, perm] * torch.tensor([-1.0, 1.0]))
    assert torch.equal(full, visible[:, perm]) and torch.equal(shown, full)
    assert not full[:, perm[left]].any() and full[:, left].all()
    kept, _, _ = augment(points, visible, "human17", replace(cfg, mirror_prob=0.0), torch.Generator().manual_seed(0))
    assert torch.equal(kept, points)


def test_scattered_hiding_goes_on_in_the_poses_that_draw_no_block() -> None:
    """With blocks drawn for some poses, the others still get their scattered landmarks hidden (``hide_prob``)."""
    from lifter.train import augment

    rng = np.random.default_rng(5)
    points = torch.as_tensor(rng.normal(size=(400, 21, 2)), dtype=torch.float32)
    visible = torch.ones(400, 21, dtype=torch.bool)
    cfg = replace(TrainConfig(), block_prob=0.5, hide_prob=1.0, hide_max=0.5, mirror_prob=0.0)
    gen = torch.Generator().manual_seed(2)
    _, _, shown = augment(points, visible, "hand21", cfg, gen)
    hidden = (~shown).sum(1).float()
    assert (hidden > 0).float().mean() > 0.85          # scattered or block: nearly every pose loses some
    off = replace(cfg, hide_prob=0.0)
    _, _, blocks_only = augment(points, visible, "hand21", off, torch.Generator().manual_seed(2))
    assert (~blocks_only).sum() < 0.75 * (~shown).sum()


def test_learning_rate_warms_up_then_decays_to_five_percent() -> None:
    from lifter.train import lr_factor

    cfg = replace(TrainConfig(), steps=1000, warmup=100)
    assert lr_factor(0, cfg) == pytest.approx(0.01) and lr_factor(99, cfg) == pytest.approx(1.0)
    assert lr_factor(100, cfg) == pytest.approx(1.0)
    assert lr_factor(550, cfg) == pytest.approx(0.05 + 0.95 * 0.5)                 # half way down the cosine
    assert lr_factor(1000, cfg) == pytest.approx(0.05) and lr_factor(5000, cfg) == pytest.approx(0.05)


def test_block_hiding_hides_one_side_and_leaves_the_scattered_draws_alone() -> None:
    """``block_prob``: the hidden landmarks of a pose all lie further along one 2D direction than every landmark
    kept, at least 3 are kept and the data's missing ones stay missing; at 0 (the default) augment draws exactly
    what it drew before the option existed (the shipped recipe's random stream)."""
    from lifter.train import augment

    rng = np.random.default_rng(0)
    points = torch.as_tensor(rng.normal(size=(64, 21, 2)) * 50, dtype=torch.float32)
    visible = torch.as_tensor(rng.random((64, 21)) > 0.1)
    cfg = replace(TrainConfig(), block_prob=1.0, block_max=0.5, mirror_prob=0.0)
    _, full, shown = augment(points, visible, "hand21", cfg, torch.Generator().manual_seed(1))
    assert torch.equal(full, visible) and not (shown & ~visible).any() and (shown.sum(1) >= 3).all()
    hidden = visible & ~shown
    assert hidden.any(1).float().mean() > 0.7                  # most poses lose a block (the fraction may round to 0)
    for b in np.flatnonzero(hidden.any(1).numpy()):
        p, h, k = points[b].double(), hidden[b], shown[b]
        # a direction separating hidden from kept exists: the best of many directions, checked by a margin
        angles = torch.linspace(0, 2 * np.pi, 3601, dtype=torch.float64)[:-1]
        proj = p @ torch.stack([angles.cos(), angles.sin()])                 # (N, 3600)
        margin = proj[h].min(0).values - proj[k].max(0).values
        assert margin.max() > -1e-3
    # block_prob 0: the scattered hiding of before, draw for draw
    plain = replace(TrainConfig(), mirror_prob=0.0)
    a = augment(points, visible, "hand21", plain, torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(1)
    B, N = visible.shape
    hide = torch.rand(B, generator=gen) < plain.hide_prob
    frac = torch.rand(B, generator=gen) * plain.hide_max
    rank = torch.rand(B, N, generator=gen).masked_fill(~visible, 2.0).argsort(1).argsort(1)
    n_vis = visible.sum(1)
    n_hide = torch.minimum((frac * n_vis).floor().long(), (n_vis - 3).clamp_min(0)) * hide
    assert torch.equal(a[2], visible & (rank >= n_hide[:, None]))


def test_refined_teacher_lifts_move_towards_the_bone_proportions() -> None:
    """``--teacher-bones``: the teacher's lift of a hand (normalised 2D, depths squeezed and jittered) is refined
    as ``lift()`` refines it: x, y kept, depths moved so that the bones come closer to the proportions."""
    from data_files import proportions_of
    from lifter.bone_lengths import category_edges, edge_lengths
    from lifter.data.hand import sample_hands
    from lifter.finetune import refined_teacher_lift
    from lifter.geometry import normalise_2d, rotation_x, rotation_y

    rng = np.random.default_rng(3)
    hand = sample_hands(1, rng)[0][0].astype(np.float64)                           # (21, 3) mm
    R = rotation_y(rng.uniform(0, 2 * np.pi, 16)) @ rotation_x(rng.uniform(-0.6, 0.6, 16))
    views = torch.from_numpy(np.einsum("fij,nj->fni", R, hand))                      # (16, 21, 3)
    mask = torch.ones(views.shape[:2], dtype=torch.bool)
    mask[0, 5] = False                                                               # a hidden landmark stays put
    p, _, scale = normalise_2d(views[..., :2], mask)
    depth = (views[..., 2] - views[..., 2].mean(1, keepdim=True)) / scale[:, None]
    start = torch.cat([p, (0.8 * depth + 0.05 * torch.randn(depth.shape, generator=torch.Generator().manual_seed(0))
                           )[..., None]], -1).float()
    proportions = proportions_of(hand)
    out = refined_teacher_lift(start, mask, "hand21", proportions)
    assert out.dtype == torch.float32 and out.shape == start.shape
    torch.testing.assert_close(out[..., :2], start[..., :2], rtol=0, atol=0)         # only depths move
    assert out[0, 5, 2] == start[0, 5, 2] and (out[..., 2] != start[..., 2]).sum() > 16 * 19

    def ratio_error(x: torch.Tensor) -> float:
        lengths = edge_lengths(x[1:].double().numpy(), category_edges("hand21"))     # frames with every landmark
        return float(np.abs(lengths / lengths.sum(1, keepdims=True) - proportions.ratios).mean())

    assert ratio_error(out) < 0.5 * ratio_error(start), (ratio_error(start), ratio_error(out))


def test_teacher_bones_flag_is_checked_recorded_and_used(hand_data: Path, tmp_path: Path, capsys) -> None:
    """``--teacher-bones PATH`` belongs to the 3D-aware stage, names a missing file, is recorded in the run's
    config, and changes what the student is taught (same seed, other losses)."""
    from data_files import proportions_of
    from lifter.bone_lengths import save_proportions
    from lifter.data.hand import sample_hands

    tiny = tiny_cli(hand_data)
    train_main(tiny + ["--out", str(tmp_path / "base"), "--steps", "3"])
    bones = tmp_path / "bones.safetensors"
    save_proportions(bones, {"hand21": proportions_of(sample_hands(1, np.random.default_rng(0))[0][0])}, {})
    with pytest.raises(SystemExit):
        train_main(tiny + ["--out", str(tmp_path / "x"), "--steps", "2", "--teacher-bones", str(bones)])
    assert "--teacher-bones is a setting of the 3D-aware stage" in capsys.readouterr().err
    ft = tiny + ["--init", str(tmp_path / "base"), "--finetune-3d-aware", "--warmup", "1", "--steps", "2"]
    with pytest.raises(SystemExit):
        train_main(ft + ["--out", str(tmp_path / "y"), "--teacher-bones", str(tmp_path / "none.safetensors")])
    assert "none.safetensors" in capsys.readouterr().err and not (tmp_path / "y").exists()
    train_main(ft + ["--out", str(tmp_path / "plain")])
    train_main(ft + ["--out", str(tmp_path / "refined"), "--teacher-bones", str(bones)])
    record = json.loads((tmp_path / "refined" / "checkpoint.json").read_text())
    assert record["config"]["finetune"]["teacher_bones"] == str(bones)
    assert config_from_dict(record["config"]).finetune.teacher_bones == str(bones)

    def first_render_loss(run: str) -> float:
        return json.loads((tmp_path / run / "log.jsonl").read_text().splitlines()[0])["render"]

    assert first_render_loss("plain") != first_render_loss("refined")
    with pytest.raises(SystemExit):
        train_main(ft + ["--out", str(tmp_path / "z"), "--teacher-distill", "1"])
    assert "--teacher-distill takes a weight >= 0 with --teacher-bones" in capsys.readouterr().err
    train_main(ft + ["--out", str(tmp_path / "distilled"), "--teacher-bones", str(bones), "--teacher-distill", "1",
                     "--teacher-reading", "perspective"])
    assert "distill" in json.loads((tmp_path / "distilled" / "log.jsonl").read_text().splitlines()[0])
    assert "distill" not in json.loads((tmp_path / "refined" / "log.jsonl").read_text().splitlines()[0])


def test_distill_loss_is_the_depth_gap_to_the_refined_teacher(hand_data: Path, tiny_run) -> None:
    """``--teacher-distill``: the loss is the mean squared gap between the student's depths on the real 2D and
    the refined teacher's (both centred); a student that is the teacher still has the refinement's gap."""
    from data_files import proportions_of
    from lifter.data.hand import sample_hands
    from lifter.finetune import FinetuneConfig, finetune_losses, refined_teacher_lift
    from lifter.geometry import normalise_2d
    from lifter.losses import masked_mse

    trainer = Trainer(replace(_cfg(), init_from=str(tiny_run[0]), finetune_3d_aware=True), hand_data,
                      torch.device("cpu"))
    with np.load(hand_data / "hand21_test.npz") as f:
        pts = torch.from_numpy(f["points2d"][:50])
    mask = torch.ones(pts.shape[:2], dtype=torch.bool)
    p, _, _ = normalise_2d(pts, mask)
    proportions = proportions_of(sample_hands(1, np.random.default_rng(0))[0][0])
    cfg = FinetuneConfig(distill_weight=1.0, teacher_reading="perspective")
    with torch.no_grad():
        out = finetune_losses(trainer.teacher, trainer.teacher, p, mask, "hand21", None, cfg, (2.5, 12.0),
                              torch.Generator().manual_seed(0), proportions)
        lift = trainer.teacher.lift_normalised(p, mask, "hand21")
        gap = masked_mse(lift[..., 2:], refined_teacher_lift(lift, mask, "hand21", proportions)[..., 2:], mask)
        plain = finetune_losses(trainer.teacher, trainer.teacher, p, mask, "hand21", None, FinetuneConfig(),
                                (2.5, 12.0), torch.Generator().manual_seed(0), proportions)
    assert float(out["distill"]) == pytest.approx(float(gap), rel=1e-6) and float(gap) > 0
    assert "distill" not in plain


def test_perspective_teacher_reading_recovers_a_shape_seen_through_the_guessed_pinhole() -> None:
    """``--teacher-reading perspective``: a lift in the orthographic form (x, y the 2D, z the true depth in 2D
    units) of hands seen through exactly the pinhole guessed from their 2D extent reads back as the true 3D up to
    scale, where the orthographic form does not; the bone step then moves the points along that pinhole's rays."""
    from data_files import proportions_of
    from lifter.data.hand import sample_hands
    from lifter.bone_lengths import category_edges, edge_lengths
    from lifter.finetune import perspective_teacher_lift
    from lifter.geometry import rotation_x, rotation_y
    from lifter.symmetry import DEFAULT_SPAN_OVER_FOCAL

    rng = np.random.default_rng(5)
    hand = sample_hands(1, rng)[0][0].astype(np.float64)                            # (21, 3) mm
    R = rotation_y(rng.uniform(0, 2 * np.pi, 8)) @ rotation_x(rng.uniform(-0.6, 0.6, 8))
    shape = np.einsum("fij,nj->fni", R, hand)
    distance = np.full((8, 1, 1), 300.0)
    for _ in range(50):                        # each hand where its 2D box spans the guessed share of the focal
        cam = shape + np.array([0.0, 0.0, 1.0]) * distance
        slopes = cam[..., :2] / cam[..., 2:]
        cam[..., :2] -= ((slopes.min(1) + slopes.max(1)) / 2)[:, None] * cam[..., 2:]   # box centred on the axis
        slopes = cam[..., :2] / cam[..., 2:]
        distance = distance * ((slopes.max(1) - slopes.min(1)).max(-1) / DEFAULT_SPAN_OVER_FOCAL)[:, None, None]
    assert np.allclose((slopes.max(1) - slopes.min(1)).max(-1), DEFAULT_SPAN_OVER_FOCAL, rtol=1e-12)
    focal = 2.5                                                                      # any 2D units will do
    z_mean = cam[..., 2].mean(1, keepdims=True)
    lift = torch.from_numpy(np.concatenate([focal * slopes, focal * (cam[..., 2:] / z_mean[..., None] - 1)], -1))
    mask = torch.ones(lift.shape[:2], dtype=torch.bool)
    truth = (cam - np.array([0.0, 0.0, 1.0]) * z_mean[..., None]) * (focal / z_mean[..., None])
    read = perspective_teacher_lift(lift, mask, "hand21").numpy()
    np.testing.assert_allclose(read, truth, atol=1e-9 * np.abs(truth).max())
    assert np.abs(lift.numpy() - truth).max() > 1e-2 * np.abs(truth).max()           # the orthographic form is off
    # the bone step (with the hands' shipped settings: their finger hinges too) moves points along those rays only
    refined = perspective_teacher_lift(lift, mask, "hand21", proportions_of(hand)).numpy()
    np.testing.assert_allclose(refined[..., :2] / (refined[..., 2:] + focal), slopes, atol=1e-9)
    assert np.abs(refined - read).max() > 1e-6

    def ratio_error(x: np.ndarray) -> float:
        lengths = edge_lengths(x, category_edges("hand21"))
        return float(np.abs(lengths / lengths.sum(1, keepdims=True) - proportions_of(hand).ratios).max())

    # the hinges pull the knuckles' small arch a little, far less than the orthographic form distorts the bones
    assert ratio_error(refined) < 0.5 * ratio_error(lift.numpy())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_refined_teacher_matches_cpu_and_trains(hand_data: Path, tmp_path: Path) -> None:
    """The shipped 3D-aware stage's teacher options on a GPU: the refined teacher's lifts (bone step, perspective
    reading) equal the CPU's up to float32 rounding, and a few steps of the stage with every teacher option train
    there with finite losses, the distillation's among them."""
    from data_files import proportions_of
    from lifter.bone_lengths import save_proportions
    from lifter.data.hand import sample_hands
    from lifter.finetune import perspective_teacher_lift, refined_teacher_lift

    proportions = proportions_of(sample_hands(1, np.random.default_rng(0))[0][0])
    shape = torch.from_numpy(sample_hands(64, np.random.default_rng(1))[0]).float()
    shape = shape - shape.mean(1, keepdim=True)
    mask = torch.rand(shape.shape[:2], generator=torch.Generator().manual_seed(2)) > 0.2
    for refine in (lambda s, m: refined_teacher_lift(s, m, "hand21", proportions),
                   lambda s, m: perspective_teacher_lift(s, m, "hand21", proportions)):
        cpu = refine(shape, mask)
        gpu = refine(shape.cuda(), mask.cuda()).cpu()
        torch.testing.assert_close(gpu, cpu, atol=1e-4 * float(cpu.abs().max()), rtol=1e-4)
    bones = tmp_path / "bones.safetensors"
    save_proportions(bones, {"hand21": proportions}, {})
    tiny = tiny_cli(hand_data) + ["--device", "cuda"]
    train_main(tiny + ["--out", str(tmp_path / "base"), "--steps", "3"])
    train_main(tiny + ["--init", str(tmp_path / "base"), "--finetune-3d-aware", "--warmup", "1", "--steps", "3",
                       "--out", str(tmp_path / "ft"), "--teacher-bones", str(bones), "--teacher-reading",
                       "perspective", "--teacher-distill", "5"])
    log = [json.loads(line) for line in (tmp_path / "ft" / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(v) for row in log for k, v in row.items() if isinstance(v, float))
    assert "distill" in log[-1]


def test_bf16_training_learns_and_is_recorded(hand_data: Path, tmp_path: Path, capsys) -> None:
    """``--precision bf16``: the tiny run's 2D losses drop as in float32, the student and the 3D-aware stage's
    teacher compute in bfloat16 (the teacher in float32 with ``--teacher-precision fp32``), the choice is recorded
    (and kept on --resume), and bad values are refused."""
    torch.set_num_threads(2)
    trainer = Trainer(_cfg(precision="bf16"), hand_data, torch.device("cpu"))
    assert trainer.model.bf16
    history = [trainer.step() for _ in range(160)]
    first = {k: np.mean([h[k] for h in history[:20]]) for k in ("hidden", "total")}
    last = {k: np.mean([h[k] for h in history[-20:]]) for k in ("hidden", "total")}
    assert last["hidden"] < first["hidden"] / 2, (first, last)
    assert last["total"] < first["total"], (first, last)
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())    # float32 master weights

    tiny = tiny_cli(hand_data)
    train_main(tiny + ["--out", str(tmp_path / "base"), "--steps", "2"])
    ft = tiny + ["--init", str(tmp_path / "base"), "--finetune-3d-aware", "--warmup", "1", "--precision", "bf16",
                 "--out", str(tmp_path / "ft")]
    train_main(ft + ["--steps", "2"])
    train_main(ft[:-4] + ["--out", str(tmp_path / "ft"), "--steps", "3", "--resume"])   # no --precision given
    record = json.loads((tmp_path / "ft" / "checkpoint.json").read_text())
    assert record["step"] == 3 and record["config"]["precision"] == "bf16"
    ft_trainer = Trainer(config_from_dict(record["config"]), hand_data, torch.device("cpu"))
    assert ft_trainer.model.bf16 and ft_trainer.teacher is not None and ft_trainer.teacher.bf16
    ft_cfg = config_from_dict(record["config"])
    assert record["config"]["bf16_attention"] == ft_cfg.bf16_attention == "matmul"  # the default, recorded
    assert ft_trainer.model.bf16_attention == ft_trainer.teacher.bf16_attention == "matmul"
    older = {k: v for k, v in record["config"].items() if k != "bf16_attention"}  # a record from before the field
    assert config_from_dict(older).bf16_attention == "fp32"                     # ran the fused kernel in float32
    old_trainer = Trainer(config_from_dict(older), hand_data, torch.device("cpu"))
    assert old_trainer.model.bf16_attention == old_trainer.teacher.bf16_attention == "fp32"
    with pytest.raises(ValueError, match="bf16_attention"):
        Trainer(replace(ft_cfg, bf16_attention="bf16"), hand_data, torch.device("cpu"))
    split = Trainer(replace(ft_cfg, finetune=replace(ft_cfg.finetune, teacher_precision="fp32")), hand_data,
                    torch.device("cpu"))
    assert split.model.bf16 and not split.teacher.bf16                          # --teacher-precision fp32
    with pytest.raises(ValueError, match="teacher_precision"):
        Trainer(replace(ft_cfg, finetune=replace(ft_cfg.finetune, teacher_precision="fp16")), hand_data,
                torch.device("cpu"))
    base_record = json.loads((tmp_path / "base" / "checkpoint.json").read_text())
    assert base_record["config"]["precision"] == "fp32"                          # the default
    with pytest.raises(ValueError, match="precision"):
        Trainer(_cfg(precision="fp16"), hand_data, torch.device("cpu"))
    with pytest.raises(SystemExit):
        train_main(tiny + ["--out", str(tmp_path / "bad"), "--precision", "fp16"])
    assert "--precision" in capsys.readouterr().err
    with pytest.raises(SystemExit):                                              # a 3D-aware setting only
        train_main(tiny + ["--out", str(tmp_path / "bad2"), "--teacher-precision", "fp32"])
    assert "--teacher-precision is a setting of the 3D-aware stage" in capsys.readouterr().err
    train_main(tiny + ["--out", str(tmp_path / "fused"), "--steps", "1", "--precision", "bf16", "--bf16-attention",
                       "fp32"])
    fused = json.loads((tmp_path / "fused" / "checkpoint.json").read_text())["config"]
    assert (fused["precision"], fused["bf16_attention"]) == ("bf16", "fp32")
    with pytest.raises(SystemExit):
        train_main(tiny + ["--out", str(tmp_path / "bad3"), "--bf16-attention", "bf16"])
    assert "--bf16-attention" in capsys.readouterr().err


def test_bf16_on_a_cpu_without_bf16_instructions_is_warned_about(hand_data: Path, tmp_path: Path, capsys,
                                                                  monkeypatch) -> None:
    """Emulated bfloat16 was measured 20x slower than float32: the command says so (and still trains)."""
    import lifter.train_cli

    tiny = tiny_cli(hand_data) + ["--steps", "1"]
    monkeypatch.setattr(lifter.train_cli, "cpu_bf16_units", lambda: [])
    train_main(tiny + ["--out", str(tmp_path / "bf16"), "--precision", "bf16"])
    assert "warning: bfloat16 on a CPU without bfloat16 instructions" in capsys.readouterr().err
    assert (tmp_path / "bf16" / "checkpoint.safetensors").exists()
    train_main(tiny + ["--out", str(tmp_path / "fp32")])
    assert "warning" not in capsys.readouterr().err
    for units in (["AVX-512"], None):                   # bf16 units, or a CPU whose flags cannot be read: no warning
        monkeypatch.setattr(lifter.train_cli, "cpu_bf16_units", lambda units=units: units)
        train_main(tiny + ["--out", str(tmp_path / f"bf16_{units}"), "--precision", "bf16"])
        assert "warning" not in capsys.readouterr().err
