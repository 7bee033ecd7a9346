"""The 3D-aware stage's losses (:func:`lifter.finetune.finetune_losses`) against a student that lifts every
rendered view perfectly: no render or cross-view error, the render loss the mean of the views' errors, the noise
setting reaching the rendered 2D, and the teacher's lift refined towards the bone proportions in both readings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from data_files import proportions_of
from lifter import finetune
from lifter.finetune import FinetuneConfig, finetune_losses
from lifter.geometry import normalise_2d, unproject_lift
from lifter.losses import masked_mse
from lifter.model import Lifter, LifterConfig

DISTANCES = (2.5, 12.0)


def _hands(n: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised 2D of ``n`` synthetic hands seen by the benchmark cameras, all landmarks shown."""
    from lifter.data.cameras import render_views
    from lifter.data.hand import sample_hands

    rng = np.random.default_rng(1)
    v = render_views(sample_hands(n, rng)[0], None, rng)
    mask = torch.ones(n, 21, dtype=torch.bool)
    return normalise_2d(torch.from_numpy(v.points2d).float(), mask)[0], mask


def _teacher() -> Lifter:
    torch.manual_seed(0)
    return Lifter(LifterConfig(categories={"hand21": 21}, dim=32, depth=2, heads=2)).eval()


class _Recorder:
    """Wraps :func:`lifter.finetune.render_views_torch`, keeping what it was given and what it rendered."""

    def __init__(self, monkeypatch) -> None:
        self.calls: list[tuple[torch.Tensor, tuple]] = []
        render = finetune.render_views_torch

        def recorded(shape, *args, **kwargs):
            out = render(shape, *args, **kwargs)
            self.calls.append((shape.clone(), out))
            return out

        monkeypatch.setattr(finetune, "render_views_torch", recorded)


class _PerfectStudent:
    """Lifts each rendered view of the last recorded call exactly, its depths times ``stretch``: x, y the view's
    normalised 2D, z the rotated shape's depth in those units (what :func:`unproject_lift` inverts)."""

    def __init__(self, recorder: _Recorder, stretch: float = 1.0) -> None:
        self.recorder, self.stretch = recorder, stretch

    def lift_normalised(self, p, mask, category, index=None):
        _, (_, rotated, _, _, scale, dist) = self.recorder.calls[-1]
        V, B, N, _ = rotated.shape
        z = rotated[..., 2] / (dist * scale)[..., None] * self.stretch
        return torch.cat([p, z.reshape(V * B, N, 1)], -1)


def test_a_perfect_student_has_no_render_or_cross_view_error(monkeypatch) -> None:
    p, mask = _hands()
    rec = _Recorder(monkeypatch)
    cfg = FinetuneConfig(views=3, noise=0.0)
    out = finetune_losses(_PerfectStudent(rec), _teacher(), p, mask, "hand21", None, cfg, DISTANCES,
                          torch.Generator().manual_seed(0))
    assert float(out["render"]) < 1e-10 and float(out["cross_view"]) < 1e-10
    noisy = finetune_losses(_PerfectStudent(rec), _teacher(), p, mask, "hand21", None,
                            FinetuneConfig(views=3, noise=0.05), DISTANCES, torch.Generator().manual_seed(0))
    assert float(noisy["render"]) > 1e-6                      # the 2D it lifts carries the rendering's noise


def test_the_render_loss_is_the_mean_of_its_views_errors(monkeypatch) -> None:
    p, mask = _hands()
    rec = _Recorder(monkeypatch)
    out = finetune_losses(_PerfectStudent(rec, stretch=1.5), _teacher(), p, mask, "hand21", None,
                          FinetuneConfig(views=3, noise=0.0), DISTANCES, torch.Generator().manual_seed(0))
    _, (_, rotated, p2d, centre, scale, dist) = rec.calls[-1]
    errors = []
    for v in range(3):
        z = rotated[v, ..., 2] / (dist[v] * scale[v])[:, None] * 1.5
        seen = unproject_lift(torch.cat([p2d[v], z[..., None]], -1), centre[v], scale[v], dist[v], mask)
        errors.append(float(masked_mse(seen, rotated[v], mask)))
    assert min(errors) > 0 and float(out["render"]) == pytest.approx(np.mean(errors), rel=1e-5)


def test_the_teacher_is_refined_towards_the_proportions_in_either_reading(monkeypatch) -> None:
    from lifter.data.hand import sample_hands

    p, mask = _hands()
    rec = _Recorder(monkeypatch)
    proportions = proportions_of(sample_hands(1, np.random.default_rng(0))[0][0])
    teacher = _teacher()
    for reading in ("orthographic", "perspective"):
        cfg = FinetuneConfig(views=1, teacher_reading=reading)
        for given in (None, proportions):
            finetune_losses(_PerfectStudent(rec), teacher, p, mask, "hand21", None, cfg, DISTANCES,
                            torch.Generator().manual_seed(0), given)
        plain, refined = rec.calls[-2][0], rec.calls[-1][0]
        assert (refined - plain).abs().max() > 1e-3, reading        # the rendered teacher shape moved
