"""Landmarks hidden on purpose: blocks hide one side, and the 3D-aware stage's rendered views can hide them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lifter.finetune import FinetuneConfig, finetune_losses, lift_part
from lifter.geometry import normalise_2d
from lifter.masking import block_keys, hide_blocks, hide_first
from lifter.model import Lifter, LifterConfig

TINY = LifterConfig(categories={"hand21": 21}, dim=32, depth=2, heads=2, code_dim=16)


def _separable(points: torch.Tensor, hidden: torch.Tensor, kept: torch.Tensor) -> bool:
    """Whether some 2D direction puts every hidden point at least as far along it as every kept one."""
    angles = torch.linspace(0, 2 * np.pi, 3601, dtype=torch.float64)[:-1]
    proj = points.double() @ torch.stack([angles.cos(), angles.sin()])          # (N, 3600)
    return bool((proj[hidden].min(0).values - proj[kept].max(0).values).max() > -1e-3)


def test_hide_blocks_hides_one_side_and_keeps_three() -> None:
    rng = np.random.default_rng(0)
    points = torch.as_tensor(rng.normal(size=(64, 21, 2)), dtype=torch.float32)
    visible = torch.as_tensor(rng.random((64, 21)) > 0.1)
    visible[0] = False
    visible[0, :4] = True                                                   # a pose with 4 visible: 1 may go
    shown = hide_blocks(points, visible, 1.0, 0.5, torch.Generator().manual_seed(1))
    assert not (shown & ~visible).any() and (shown.sum(1) >= 3).all()
    hidden = visible & ~shown
    assert hidden.any(1).float().mean() > 0.7                      # most poses lose a block (fraction may round to 0)
    assert (hidden.sum(1) <= (0.5 * visible.sum(1)).floor()).all()
    for b in np.flatnonzero(hidden.any(1).numpy()):
        assert _separable(points[b], hidden[b], shown[b])
    assert torch.equal(hide_blocks(points, visible, 0.0, 0.5, torch.Generator().manual_seed(1)), visible)


def test_hide_first_hides_exactly_the_drawn_share_of_the_visible_landmarks() -> None:
    """``floor(frac x visible count)`` visible landmarks hidden, at most all but 3, whatever the landmarks that are
    not visible rank: a block's count is not spent on landmarks hidden already."""
    rng = np.random.default_rng(2)
    points = torch.as_tensor(rng.normal(size=(200, 21, 2)), dtype=torch.float32)
    visible = torch.as_tensor(rng.random((200, 21)) > 0.4)
    visible[:, :4] = True                                                   # at least 4 visible in every row
    frac = torch.as_tensor(rng.uniform(0, 1, 200), dtype=torch.float32)
    frac[:20] = 0.99                                                        # the bound of 3 kept is reached
    keys = block_keys(points, visible, torch.Generator().manual_seed(3))
    shown = hide_first(keys, visible, frac, torch.ones(200, dtype=torch.bool))
    n_vis = visible.sum(1)
    want = torch.minimum((frac * n_vis).floor().long(), n_vis - 3)
    assert torch.equal((visible & ~shown).sum(1), want) and not (shown & ~visible).any()
    assert (shown[:20].sum(1) == 3).all()
    none = hide_first(keys, visible, frac, torch.zeros(200, dtype=torch.bool))   # rows not drawn: untouched
    assert torch.equal(none, visible)


def test_lift_part_sees_the_shown_landmarks_as_lift_would() -> None:
    """``lift_part`` renormalises on the shown landmarks, so it is equivariant to the 2D frame and ignores the
    hidden landmarks' values; with everything shown on a normalised pose it is the plain lift."""
    torch.manual_seed(0)
    model = Lifter(TINY).eval()
    g = torch.Generator().manual_seed(2)
    p, _, _ = normalise_2d(torch.randn(5, 21, 2, generator=g), torch.ones(5, 21, dtype=torch.bool))
    mask = torch.ones(5, 21, dtype=torch.bool)
    with torch.no_grad():
        torch.testing.assert_close(lift_part(model, p, mask, "hand21", None),
                                   model.lift_normalised(p, mask, "hand21"), atol=1e-5, rtol=1e-5)
        shown = mask.clone()
        shown[:, 10:] = False
        base = lift_part(model, p, shown, "hand21", None)
        torch.testing.assert_close(base[..., :2][shown], p[shown])          # shown landmarks keep their 2D
        moved = lift_part(model, 3.0 * p + torch.tensor([0.5, -2.0]), shown, "hand21", None)
        torch.testing.assert_close(moved, 3.0 * base + torch.tensor([0.5, -2.0, 0.0]), atol=1e-5, rtol=1e-5)
        garbage = torch.where(shown[..., None], p, torch.full_like(p, 1e3))
        torch.testing.assert_close(lift_part(model, garbage, shown, "hand21", None), base)
        # the network is given 2D normalised on what it is shown, not on the whole view
        assert not torch.allclose(base, model.lift_normalised(torch.where(shown[..., None], p, 0.0), shown,
                                                                "hand21"), atol=1e-3)


def test_rendered_views_show_the_student_a_block(monkeypatch) -> None:
    """``block_prob``: the student lifts rendered views with blocks hidden (normalised on the rest), while the
    teacher lifts the whole pose and both losses stay finite; at 0 the student sees every landmark."""
    torch.manual_seed(0)
    student, teacher = Lifter(TINY).eval(), Lifter(TINY).eval()
    p, _, _ = normalise_2d(torch.randn(8, 21, 2, generator=torch.Generator().manual_seed(3)),
                           torch.ones(8, 21, dtype=torch.bool))
    mask = torch.ones(8, 21, dtype=torch.bool)
    calls = []
    plain_lift = Lifter.lift_normalised

    def spy(self, q, visible, *args, **kw):
        if self is student:
            calls.append((q.detach(), visible.clone()))
        return plain_lift(self, q, visible, *args, **kw)

    monkeypatch.setattr(Lifter, "lift_normalised", spy)
    for prob in (0.0, 1.0):
        out = finetune_losses(student, teacher, p, mask, "hand21", None, FinetuneConfig(block_prob=prob),
                              (3.0, 6.0), torch.Generator().manual_seed(4))
        assert all(torch.isfinite(v) for v in out.values())
    (q0, v0), (q1, v1) = calls
    assert v0.all() and len(v0) == 16                                       # 2 views x 8 poses, all shown
    assert (~v1).any(1).float().mean() > 0.7 and (v1.sum(1) >= 3).all()
    w = v1.float()[..., None]
    centre = (q1 * w).sum(1) / w.sum(1)
    rms = ((q1 ** 2 * w).sum((1, 2)) / w[..., 0].sum(1)).sqrt()
    torch.testing.assert_close(centre, torch.zeros_like(centre), atol=1e-5, rtol=0)
    torch.testing.assert_close(rms, torch.ones_like(rms), atol=1e-4, rtol=0)


def test_cli_records_render_block_hiding(tmp_path: Path, capsys) -> None:
    from data_files import write_hand_data
    from lifter.train import main as train_main

    data = tmp_path / "data"
    write_hand_data(data, 300, 20)
    args = ["--data", str(data), "--categories", "hand21", "--steps", "2", "--dim", "32", "--depth", "2",
            "--heads", "2", "--quiet"]
    train_main(args + ["--out", str(tmp_path / "s0")])
    train_main(args + ["--out", str(tmp_path / "ft"), "--init", str(tmp_path / "s0"), "--finetune-3d-aware",
                       "--render-block-hide", "0.5"])
    record = json.loads((tmp_path / "ft" / "checkpoint.json").read_text())
    assert record["config"]["finetune"]["block_prob"] == 0.5 and record["step"] == 2
    for bad, message in ((["--render-block-hide", "0.5"], "--finetune-3d-aware"),
                         (["--init", str(tmp_path / "s0"), "--finetune-3d-aware", "--render-block-hide", "1.5"],
                          "probability")):
        with pytest.raises(SystemExit):
            train_main(args + ["--out", str(tmp_path / "bad")] + bad)
        assert message in capsys.readouterr().err
