"""Learned elevation (ElePose): novel views turn about the vertical that a predicted camera elevation implies,
so that a camera above the subject stays above it; the model's elevation head and the training option."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from lifter.geometry import random_perspective_view, rotation_x_torch
from lifter.model import Lifter, LifterConfig

UP = torch.tensor([0.0, -1.0, 0.0])                   # the world's up in an upright camera frame (y down)


def test_rotation_x_torch_is_the_closed_form() -> None:
    a = torch.tensor([0.0, math.pi / 2, -0.3])
    R = rotation_x_torch(a)
    torch.testing.assert_close(R @ R.transpose(1, 2), torch.eye(3).expand(3, 3, 3))
    torch.testing.assert_close(R[1] @ torch.tensor([0.0, 1.0, 0.0]), torch.tensor([0.0, 0.0, 1.0]))


def test_views_turn_about_the_vertical_of_the_given_elevation() -> None:
    """A shape seen from elevation e is the upright shape tilted by R_x(e). Its novel views must keep the
    world's up direction in the image's y-z plane (no roll beyond the recipe's tilt, 0 here) for every yaw;
    turning about the image's vertical instead rolls it by up to e."""
    B, e = 64, math.radians(35.0)
    shape = torch.randn(B, 8, 3, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(B, 8, dtype=torch.bool)
    up_cam = rotation_x_torch(torch.full((B,), e)) @ UP                            # (B, 3)
    elevation = torch.full((B,), e, requires_grad=True)
    R = random_perspective_view(shape, mask, 0.0, (3.0, 6.0), torch.Generator().manual_seed(1), elevation)[0]
    up_new = (R @ up_cam[..., None])[..., 0]
    assert up_new[:, 0].abs().max() < 1e-5                                        # no roll, every yaw
    # All views share the batch's elevation (spread 0): the up vector is tilted by e again, towards the camera.
    torch.testing.assert_close(up_new, up_cam, atol=1e-5, rtol=0)
    R.sum().backward()
    assert elevation.grad is not None and elevation.grad.abs().sum() > 0          # the elevation is learned
    R_plain = random_perspective_view(shape, mask, 0.0, (3.0, 6.0), torch.Generator().manual_seed(1))[0]
    rolled = (R_plain @ up_cam[..., None])[..., 0]
    assert rolled[:, 0].abs().max() > math.sin(e) * 0.9                           # about the image's vertical
    # Elevation 0 everywhere: the same rotations as without it.
    R0 = random_perspective_view(shape, mask, 10.0, (3.0, 6.0), torch.Generator().manual_seed(1),
                                 torch.zeros(B))[0]
    R1 = random_perspective_view(shape, mask, 10.0, (3.0, 6.0), torch.Generator().manual_seed(1))[0]
    torch.testing.assert_close(R0, R1)


def test_elevation_head_is_bounded_zero_at_start_and_invariant_to_2d_translation_and_scale() -> None:
    cfg = LifterConfig(categories={"human17": 17}, dim=32, depth=2, heads=2, code_dim=16, elevation_head=True)
    model = Lifter(cfg).eval()
    p = torch.randn(5, 17, 2, generator=torch.Generator().manual_seed(0))
    vis = torch.ones(5, 17, dtype=torch.bool)
    lift, e = model.lift_normalised(p, vis, "human17", return_elevation=True)
    assert e.shape == (5,) and torch.equal(e, torch.zeros(5))
    torch.testing.assert_close(lift, model.lift_normalised(p, vis, "human17"))
    torch.nn.init.normal_(model.elevation.weight, std=0.05)
    from lifter.geometry import normalise_2d
    pn = normalise_2d(p, vis)[0]
    moved = normalise_2d(3.0 * p + torch.tensor([40.0, -7.0]), vis)[0]
    e1 = model.lift_normalised(pn, vis, "human17", return_elevation=True)[1]
    e2 = model.lift_normalised(moved, vis, "human17", return_elevation=True)[1]
    torch.testing.assert_close(e1, e2, atol=1e-5, rtol=0)
    assert (e1.abs() < math.pi / 2).all() and e1.abs().max() > 0
    plain = Lifter(LifterConfig(categories={"human17": 17}, dim=32, depth=2, heads=2, code_dim=16))
    with pytest.raises(ValueError, match="elevation head"):
        plain.lift_normalised(pn, vis, "human17", return_elevation=True)


def test_learned_elevation_trains_the_head_and_is_recorded(tmp_path: Path, capsys) -> None:
    from data_files import write_hand_data
    from lifter.train import Trainer
    from lifter.train_config import TrainConfig, config_from_dict
    from lifter.train import main as train_main

    data = tmp_path / "data"
    write_hand_data(data, 600, 20)
    model = LifterConfig(dim=32, depth=2, heads=2, code_dim=16, elevation_head=True)
    cfg = TrainConfig(categories=("hand21",), steps=5, batch_tokens=32 * 21, warmup=1, lr=1e-2,
                      learned_elevation=True, model=model)
    trainer = Trainer(cfg, data, torch.device("cpu"))
    before = trainer.model.elevation.weight.detach().clone()
    losses = [trainer.step() for _ in range(3)]
    assert all(np.isfinite(x["total"]) and "elevation_deg" in x for x in losses)
    assert not torch.equal(trainer.model.elevation.weight, before)                # the views' losses train it
    with pytest.raises(ValueError, match="elevation head"):
        Trainer(TrainConfig(categories=("hand21",), learned_elevation=True,
                            model=LifterConfig(dim=32, depth=2, heads=2, code_dim=16)), data, torch.device("cpu"))
    args = ["--data", str(data), "--categories", "hand21", "--steps", "2", "--dim", "32", "--depth", "2",
            "--heads", "2", "--quiet"]
    train_main(args + ["--out", str(tmp_path / "run"), "--learned-elevation"])
    record = json.loads((tmp_path / "run" / "checkpoint.json").read_text())
    assert record["config"]["learned_elevation"] and record["config"]["model"]["elevation_head"]
    assert config_from_dict(record["config"]).model.elevation_head
    train_main(args + ["--out", str(tmp_path / "plain")])
    with pytest.raises(SystemExit):
        train_main(args + ["--out", str(tmp_path / "bad"), "--init", str(tmp_path / "plain"), "--learned-elevation"])
    assert "no elevation head" in capsys.readouterr().err


def test_finetune_views_turn_about_the_teachers_elevation(tmp_path: Path, capsys, monkeypatch) -> None:
    """``--finetune-elevation``: the 3D-aware stage renders about the vertical of the teacher's predicted elevation
    (its views keep that vertical free of roll, as the 2D-only stage's do); without it the head is unused. The
    option needs the 3D-aware stage and a model with an elevation head."""
    import lifter.finetune as finetune
    from data_files import write_hand_data
    from lifter.finetune import FinetuneConfig, finetune_losses, render_views_torch
    from lifter.train import main as train_main

    cfg = LifterConfig(categories={"hand21": 21}, dim=32, depth=2, heads=2, code_dim=16, elevation_head=True)
    torch.manual_seed(0)
    student, teacher = Lifter(cfg).eval(), Lifter(cfg).eval()
    torch.nn.init.normal_(teacher.elevation.weight, std=0.5)
    p = torch.randn(6, 21, 2, generator=torch.Generator().manual_seed(2))
    mask = torch.ones(6, 21, dtype=torch.bool)
    predicted = teacher.lift_normalised(p, mask, "hand21", return_elevation=True)[1]
    assert predicted.abs().max() > 0.05
    seen = []

    def spy(*args):
        seen.append(args[5])
        return random_perspective_view(*args)

    monkeypatch.setattr(finetune, "random_perspective_view", spy)
    for elevation in (False, True):
        out = finetune_losses(student, teacher, p, mask, "hand21", None, FinetuneConfig(learned_elevation=elevation),
                              (3.0, 6.0), torch.Generator().manual_seed(3))
        assert all(torch.isfinite(v) for v in out.values())
    monkeypatch.undo()
    assert seen[0] is None and seen[1] is None                                   # two views each
    torch.testing.assert_close(seen[2], predicted)
    torch.testing.assert_close(seen[3], predicted)
    # One elevation for the whole batch (spread 0): every rendered view keeps the world's up free of roll.
    e = torch.full((6,), math.radians(30.0))
    R = render_views_torch(torch.randn(6, 21, 3), mask, 3, 0.0, (3.0, 6.0), 0.0, torch.Generator().manual_seed(4),
                           e)[0]
    up_cam = rotation_x_torch(e) @ UP
    assert (R @ up_cam[..., None])[..., 0, 0].abs().max() < 1e-5

    data = tmp_path / "data"
    write_hand_data(data, 300, 20)
    args = ["--data", str(data), "--categories", "hand21", "--steps", "2", "--dim", "32", "--depth", "2",
            "--heads", "2", "--quiet"]
    train_main(args + ["--out", str(tmp_path / "s0"), "--learned-elevation"])
    train_main(args + ["--out", str(tmp_path / "ft"), "--init", str(tmp_path / "s0"), "--finetune-3d-aware",
                       "--learned-elevation", "--finetune-elevation"])
    record = json.loads((tmp_path / "ft" / "checkpoint.json").read_text())
    assert record["config"]["finetune"]["learned_elevation"] and record["step"] == 2
    with pytest.raises(SystemExit):
        train_main(args + ["--out", str(tmp_path / "bad"), "--finetune-elevation"])
    assert "--finetune-3d-aware" in capsys.readouterr().err
    train_main(args + ["--out", str(tmp_path / "plain")])
    with pytest.raises(SystemExit):
        train_main(args + ["--out", str(tmp_path / "bad"), "--init", str(tmp_path / "plain"), "--finetune-3d-aware",
                           "--finetune-elevation"])
    assert "no elevation head" in capsys.readouterr().err


def test_the_elevation_is_read_from_the_visible_landmarks_features_only() -> None:
    """The elevation head reads the mean of the visible tokens' final features (a hidden token's feature is the
    network's guess at it, not evidence of the camera): ``0.5 pi tanh(w . mean + b)`` over the visible ones."""
    torch.manual_seed(0)
    model = Lifter(LifterConfig(categories={"hand21": 21}, dim=32, depth=2, heads=2, code_dim=16,
                                elevation_head=True)).eval()
    torch.nn.init.normal_(model.elevation.weight)                      # zero at the start: given weights here
    p, visible = torch.randn(4, 21, 2), torch.ones(4, 21, dtype=torch.bool)
    visible[:, 15:] = False
    p = p * visible[..., None]
    feats = []
    hook = model.norm.register_forward_hook(lambda module, args, out: feats.append(out))
    with torch.no_grad():
        _, elevation = model.lift_normalised(p, visible, "hand21", return_elevation=True)
    hook.remove()
    pooled = feats[0][:, :15].mean(1)
    want = 0.5 * math.pi * torch.tanh(model.elevation(pooled)[:, 0])
    torch.testing.assert_close(elevation, want)
    everything = 0.5 * math.pi * torch.tanh(model.elevation(feats[0].mean(1))[:, 0])
    assert (elevation - everything).abs().max() > 1e-4                    # the hidden tokens would have moved it
