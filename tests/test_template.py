"""The rigid-template prior: structure from motion recovers a rigid shape from 2D alone, and the template loss is
zero exactly on that shape up to similarity and reflection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lifter.geometry import random_rotations, rigid_factorisation, similarity_procrustes
from lifter.losses import template_loss


def _views(shape: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` scaled orthographic views ``(n, N, 2)`` of ``shape (N, 3)`` under random rotations and offsets."""
    rng = np.random.default_rng(seed)
    R = random_rotations(n, torch.Generator().manual_seed(seed), max_tilt_deg=60.0).numpy().astype(np.float64)
    rotated = np.einsum("bij,nj->bni", R, shape)
    return rotated[..., :2] * rng.uniform(50, 200, (n, 1, 1)) + rng.uniform(0, 500, (n, 1, 2))


def _aligned_error(a: np.ndarray, b: np.ndarray) -> float:
    """RMS distance of ``a (N, 3)`` from ``b (N, 3)`` after a similarity transform, reflection allowed, over b's
    RMS radius."""
    err = []
    for sign in (1.0, -1.0):
        x = similarity_procrustes(a[None] * [1, 1, sign], b[None])[0]
        err.append(np.sqrt(((x - b) ** 2).sum(1).mean() / ((b - b.mean(0)) ** 2).sum(1).mean()))
    return min(err)


def test_rigid_factorisation_recovers_a_rigid_shape_from_orthographic_views() -> None:
    shape = np.random.default_rng(1).normal(size=(30, 3)) * [1.0, 0.6, 0.3]      # anisotropic, no symmetry
    points = _views(shape, 200)
    visible = np.ones(points.shape[:2], bool)
    visible[:50, 3] = False                                   # views with a landmark missing are left out
    points[:50, 3] = np.nan
    found, singular = rigid_factorisation(points, visible)
    assert found.shape == (30, 3)
    assert _aligned_error(found, shape) < 1e-6
    assert singular[3] < 1e-9 < singular[2]                   # rank 3: rigid
    np.testing.assert_allclose(np.sqrt((found ** 2).sum(1).mean()), 1.0)


def test_rigid_factorisation_of_a_deforming_shape_reports_it_and_rejects_too_few_views() -> None:
    rng = np.random.default_rng(2)
    shape = rng.normal(size=(30, 3))
    points = np.concatenate([_views(shape + 0.3 * rng.normal(size=shape.shape), 20, seed=s) for s in range(10)])
    _, singular = rigid_factorisation(points, np.ones(points.shape[:2], bool))
    assert singular[3] > 0.05                                 # far from rank 3
    with pytest.raises(ValueError, match="fully visible views"):
        rigid_factorisation(points[:2], np.ones((2, 30), bool))


def test_template_loss_is_zero_on_the_template_up_to_similarity_and_reflection() -> None:
    gen = torch.Generator().manual_seed(0)
    template = torch.randn(12, 3, generator=gen)
    R = random_rotations(4, gen, max_tilt_deg=90.0)
    lift = 2.5 * template @ R.transpose(1, 2) + torch.randn(4, 1, 3, generator=gen)
    lift[1, :, 2] *= -1                                       # a depth-mirrored lift matches the template too
    mask = torch.ones(4, 12, dtype=torch.bool)
    mask[2, :4] = False                                       # unmasked landmarks elsewhere do not count
    lift[2, :4] = 100.0
    assert float(template_loss(lift, template, mask)) < 1e-9
    other = torch.randn(4, 12, 3, generator=gen)
    assert float(template_loss(other, template, mask)) > 0.1


def test_template_loss_moves_the_lift_towards_the_template() -> None:
    gen = torch.Generator().manual_seed(3)
    template = torch.randn(10, 3, generator=gen)
    lift = (template + 0.5 * torch.randn(10, 3, generator=gen))[None].clone().requires_grad_(True)
    mask = torch.ones(1, 10, dtype=torch.bool)
    before = float(template_loss(lift.detach(), template, mask))
    opt = torch.optim.SGD([lift], lr=2.0)
    for _ in range(100):
        opt.zero_grad()
        template_loss(lift, template, mask).backward()
        opt.step()
    assert float(template_loss(lift.detach(), template, mask)) < before / 100


def test_evaluate_reference_row_uses_the_2d_only_template_with_the_mean_shapes_sign(tmp_path) -> None:
    from lifter.references import mean_shape, rigid_template

    shape = np.random.default_rng(4).normal(size=(21, 3)) * [1.0, 0.7, 0.4]
    points = _views(shape, 100)
    visible = np.ones(points.shape[:2], bool)
    np.savez(tmp_path / "hand21_train.npz", points2d=points, visible=visible,
             points3d=np.broadcast_to(shape, (100, 21, 3)), category="hand21")
    mean = mean_shape(tmp_path, "hand21")
    template = rigid_template(tmp_path, "hand21", mean)
    aligned = similarity_procrustes(template[None], shape[None])[0]      # rotations only: the sign must be right
    assert np.sqrt(((aligned - shape) ** 2).sum(1).mean() / ((shape - shape.mean(0)) ** 2).sum(1).mean()) < 1e-6
    visible[:, 0] = False                                     # no fully visible training view: no row
    np.savez(tmp_path / "hand21_train.npz", points2d=points, visible=visible,
             points3d=np.broadcast_to(shape, (100, 21, 3)), category="hand21")
    assert rigid_template(tmp_path, "hand21", mean) is None


def test_template_floor_script_reads_true_depth_as_the_trainer_normalises() -> None:
    """scripts/template_floor.py (the README's template-loss floor): the ground-truth shape scores 0 against
    itself; the input x, y with the true depth score 0 for far cameras (orthographic limit) and clearly more for
    close ones (perspective), whose x, y are the normalised input 2D."""
    from data_files import load_script

    module = load_script("template_floor")
    shape = np.random.default_rng(2).normal(size=(30, 3)) * [1.0, 0.6, 0.3]
    R = random_rotations(8, torch.Generator().manual_seed(2), max_tilt_deg=30.0).numpy().astype(np.float64)
    template, mask = torch.as_tensor(shape), torch.ones(8, 30, dtype=torch.bool)
    losses = {}
    for distance in (3.0, 3000.0):
        cam = np.einsum("bij,nj->bni", R, shape) + [0.0, 0.0, distance]
        focal = np.full(8, 1000.0)
        points2d = focal[:, None, None] * cam[..., :2] / cam[..., 2:] + 500.0
        with_depth, true_shape, scale = module.true_depth_lifts(points2d, cam, focal)
        centred = points2d - points2d.mean(1, keepdims=True)
        np.testing.assert_allclose(scale, np.sqrt((centred ** 2).sum(-1).mean(1)))
        np.testing.assert_allclose(with_depth[..., :2], centred / scale[:, None, None])
        assert float(template_loss(torch.as_tensor(true_shape), template, mask)) < 1e-12
        losses[distance] = float(template_loss(torch.as_tensor(with_depth), template, mask))
    assert losses[3000.0] < 1e-5 and losses[3.0] > 1e-3
