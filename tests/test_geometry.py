"""Projection and camera sampling against closed forms and the benchmark protocol's ranges."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lifter.data.cameras import CameraProtocol, hide_landmarks, look_at_rotation, render_views
from lifter.geometry import (closest_orthographic_form, intrinsics_matrix, perspective_reading, pinhole_of_reading,
                             project_perspective, rotation_x, rotation_y, rotation_z, similarity_procrustes,
                             unproject_perspective, world_to_camera)


def test_elemental_rotations_closed_form() -> None:
    e = np.eye(3)
    np.testing.assert_allclose(rotation_z(np.pi / 2) @ e[0], e[1], atol=1e-12)   # x -> y
    np.testing.assert_allclose(rotation_x(np.pi / 2) @ e[1], e[2], atol=1e-12)   # y -> z
    np.testing.assert_allclose(rotation_y(np.pi / 2) @ e[2], e[0], atol=1e-12)   # z -> x
    R = rotation_x(0.3) @ rotation_y(-1.1) @ rotation_z(2.0)
    np.testing.assert_allclose(R @ R.T, e, atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)


def test_projection_round_trip_and_intrinsics() -> None:
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(5, 30, 3)) + np.array([0.0, 0.0, 8.0])
    focal = rng.uniform(500, 1500, 5)
    principal = rng.uniform(400, 600, (5, 2))
    uv = project_perspective(pts, focal, principal)
    # Against the matrix form K X / z.
    K = intrinsics_matrix(focal, principal)
    h = np.einsum("bij,bnj->bni", K, pts)
    np.testing.assert_allclose(uv, h[..., :2] / h[..., 2:], rtol=1e-12)
    np.testing.assert_allclose(unproject_perspective(uv, pts[..., 2], focal, principal), pts, rtol=1e-12)
    for z in (-1.0, 0.0, np.nan):                             # behind, on the camera plane, not a depth
        with pytest.raises(ValueError, match="behind the camera"):
            project_perspective(np.array([[[0.0, 0.0, z]]]), np.array([100.0]), np.zeros((1, 2)))


def test_perspective_reading_of_the_true_depth_is_exact() -> None:
    """A lift in lift()'s form (pixels as x, y; the true depth at the image's scale) read through the camera
    gives back the true camera-frame points times focal / mean visible depth; its projection is the input."""
    rng = np.random.default_rng(1)
    pts = rng.normal(scale=0.4, size=(6, 25, 3)) + np.array([0.3, -0.2, 2.5])         # close camera: 2.5 units
    focal = rng.uniform(1000, 1500, 6)
    principal = rng.uniform(450, 550, (6, 2))
    uv = project_perspective(pts, focal, principal)                                     # (6, 25, 2)
    visible = rng.random((6, 25)) > 0.2
    centre = np.stack([uv[f][visible[f]].mean(0) for f in range(6)])                    # (6, 2)
    z_mean = np.stack([pts[f, visible[f], 2].mean() for f in range(6)])                 # (6,)
    k = focal / z_mean                                                                  # pixels per unit
    lift = np.concatenate([uv - centre[:, None], (pts[..., 2:] - z_mean[:, None, None]) * k[:, None, None]
                           + 7.0], -1)                                                  # any depth offset
    out = perspective_reading(lift, centre, visible, focal, principal)
    np.testing.assert_allclose(out, pts * k[:, None, None], rtol=1e-9)
    np.testing.assert_allclose(project_perspective(out, focal, principal), uv, rtol=1e-9)
    # The orthographic reading (x, y = the pixels) is not exact at this distance: what the reading removes.
    assert np.abs(lift[..., :2] - (out[..., :2] - out[..., :2].mean(1, keepdims=True))).max() > 10.0
    with pytest.raises(ValueError, match="shorter than the lifted depth range"):
        perspective_reading(lift, centre, visible, np.full(6, 1.0), principal)


def test_look_at_orientation() -> None:
    # Camera at azimuth 0, elevation 0: on +Z looking at the origin; world +X appears right, +Y up (pixel y down).
    R = look_at_rotation(np.array([0.0]), np.array([0.0]), np.array([0.0]))[0]
    np.testing.assert_allclose(R @ np.array([1.0, 0, 0]), [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(R @ np.array([0, 1.0, 0]), [0, -1, 0], atol=1e-12)
    np.testing.assert_allclose(R @ np.array([0, 0, 1.0]), [0, 0, -1], atol=1e-12)
    # Elevation 30 deg: the optical axis points down at 30 deg.
    R = look_at_rotation(np.array([1.0]), np.deg2rad(np.array([30.0])), np.array([0.0]))[0]
    assert np.rad2deg(np.arcsin(-R[2, 1])) == pytest.approx(30.0)
    # Roll rotates the image about the optical axis by the roll angle.
    R0 = look_at_rotation(np.array([0.5]), np.array([0.2]), np.array([0.0]))[0]
    R1 = look_at_rotation(np.array([0.5]), np.array([0.2]), np.array([0.1]))[0]
    np.testing.assert_allclose(R1 @ R0.T, rotation_z(0.1), atol=1e-12)


def _shapes(rng: np.random.Generator, s: int = 40, n: int = 17) -> np.ndarray:
    return rng.normal(size=(s, n, 3)) * np.array([250.0, 800.0, 200.0])


def test_render_views_follow_the_protocol() -> None:
    rng = np.random.default_rng(1)
    shapes = _shapes(rng)
    proto = CameraProtocol()
    v = render_views(shapes, None, np.random.default_rng(2), views_per_shape=25, protocol=proto)
    B = len(shapes) * 25
    assert v.points2d.shape == (B, 17, 2) and v.points3d.shape == (B, 17, 3)
    az, el, roll = v.angles.T
    assert 0 <= az.min() and az.max() <= 360 and az.max() - az.min() > 300
    assert -15 <= el.min() and el.max() <= 40 and el.min() < -10 and el.max() > 35
    assert -10 <= roll.min() and roll.max() <= 10
    assert (1000 <= v.focal).all() and (v.focal <= 1500).all()
    assert (0 <= v.noise_sigma).all() and (v.noise_sigma <= 2).all()
    # Without noise the 2D is the exact projection of the camera-frame ground truth.
    clean = project_perspective(v.points3d.astype(np.float64), v.focal, v.principal)
    residual = v.points2d - clean
    assert np.abs(residual).max() < 12                                    # 6 sigma of 2 px
    assert np.std(residual / np.maximum(v.noise_sigma, 1e-3)[:, None, None]) == pytest.approx(1.0, abs=0.05)
    span = (clean.max(1) - clean.min(1)).max(-1) / 1000
    assert span.min() >= 0.4 - 2e-3 and span.max() <= 0.8 + 2e-3
    assert clean.min() > 0 and clean.max() < 1000                          # subject in the image
    assert (v.points3d[..., 2] > 0).all()
    # Camera frame = R world + t.
    np.testing.assert_allclose(world_to_camera(shapes[v.shape_index], v.R, v.t), v.points3d, rtol=1e-4, atol=1e-2)
    # Same seed, same views.
    w = render_views(shapes, None, np.random.default_rng(2), views_per_shape=25, protocol=proto)
    np.testing.assert_array_equal(v.points2d, w.points2d)


def test_missing_landmarks_stay_missing() -> None:
    rng = np.random.default_rng(3)
    shapes = _shapes(rng, 10, 21)
    present = rng.random((10, 21)) > 0.3
    present[:, :3] = True
    shapes[~present] = np.nan
    v = render_views(shapes, present, rng, views_per_shape=3)
    assert (v.visible == v.present).all() and (v.present == present[v.shape_index]).all()
    assert np.isnan(v.points2d[~v.visible]).all() and np.isfinite(v.points2d[v.visible]).all()
    with pytest.raises(ValueError, match="at least 3"):
        render_views(shapes[:1], np.zeros((1, 21), bool), rng)


def test_occlusion_hides_the_given_fraction() -> None:
    rng = np.random.default_rng(4)
    present = np.ones((500, 17), dtype=bool)
    present[:250, 10:] = False                                             # 10 present in half the rows
    vis = hide_landmarks(present, 0.2, rng)
    assert not (vis & ~present).any()
    hidden = (present & ~vis).sum(1)
    assert set(hidden[:250]) == {2}                                        # 20 % of 10
    assert set(hidden[250:]) == {3, 4}                                     # 20 % of 17 = 3.4: 3 or 4
    assert (hidden[250:] / 17).mean() == pytest.approx(0.2, abs=0.01)
    # Which ones are hidden varies.
    assert len({tuple(r) for r in vis[250:]}) > 100
    assert (hide_landmarks(present[:, :4] | True, 0.9, rng).sum(1) >= 3).all()


def test_the_pinhole_of_a_reading_is_recovered_from_its_rays() -> None:
    rng = np.random.default_rng(11)
    F, N = 6, 15
    points = np.c_[rng.uniform(-300, 300, (F * N, 2)), rng.uniform(900, 1500, F * N)].reshape(F, N, 3)
    focal, principal = rng.uniform(500, 2000, F), rng.uniform(200, 800, (F, 2))
    pixels = project_perspective(points, focal, principal)
    visible = rng.random((F, N)) > 0.3
    visible[:, :2] = True
    hidden_garbage = np.where(visible[..., None], points, np.nan)           # hidden: any value, NaN included
    f, c = pinhole_of_reading(hidden_garbage, np.where(visible[..., None], pixels, np.nan), visible)
    np.testing.assert_allclose(f, focal, rtol=1e-10)
    np.testing.assert_allclose(c, principal, rtol=1e-10)
    # a known focal length: the principal point alone, the least-squares one for points off their rays
    off = np.where(visible[..., None], pixels + rng.normal(scale=3.0, size=pixels.shape), np.nan)
    f, c = pinhole_of_reading(hidden_garbage, off, visible, focal)
    np.testing.assert_array_equal(f, focal)
    shift = np.array([(off[i] - pixels[i])[visible[i]].mean(0) for i in range(F)])
    np.testing.assert_allclose(c, principal + shift, rtol=1e-10)
    one_ray = points.copy()
    one_ray[0] = points[0, :1] * rng.uniform(1, 2, (N, 1))                   # every landmark on one ray
    with pytest.raises(ValueError, match="frame 0"):
        pinhole_of_reading(one_ray, project_perspective(one_ray, focal, principal), np.ones((F, N), bool))
    f, c = pinhole_of_reading(hidden_garbage, np.where(visible[..., None], pixels, np.nan))   # None: the finite
    np.testing.assert_allclose(f, focal, rtol=1e-10)
    for args, message in (((points[0], pixels[0], visible[0]), r"one pose: add the frame axis"),
                          ((points, pixels[..., :1]), r"pixels \(F, N, 2\)"),
                          ((points, pixels, visible[:, :3]), r"visible must be \(F, N\)")):
        with pytest.raises(ValueError, match=message):
            pinhole_of_reading(*args)


def test_the_closest_orthographic_form_recovers_an_orthographic_shape_and_fits_a_perspective_one() -> None:
    rng = np.random.default_rng(12)
    F, N = 5, 20
    lift = rng.normal(size=(F, N, 3)) * 80                                     # x, y = the 2D; z its depths
    visible = rng.random((F, N)) > 0.25
    visible[:, :4] = True
    # the shape: the lift moved by a random similarity (any frame, units and translation)
    R = rotation_z(rng.uniform(-3, 3, F)) @ rotation_y(rng.uniform(-3, 3, F)) @ rotation_x(rng.uniform(-3, 3, F))
    shape = rng.uniform(0.01, 3, (F, 1, 1)) * np.einsum("fij,fnj->fni", R, lift) + rng.normal(size=(F, 1, 3))
    xy = np.where(visible[..., None], lift[..., :2] + 17.0, np.nan)            # hidden 2D: ignored
    start = lift[..., 2] + rng.normal(scale=30.0, size=(F, N))                  # a start off the truth
    out = closest_orthographic_form(torch.as_tensor(shape), torch.as_tensor(np.nan_to_num(xy)),
                                    torch.as_tensor(visible), torch.as_tensor(start), max_rounds=500).numpy()
    np.testing.assert_allclose(out[..., :2][visible], (lift[..., :2] + 17.0)[visible], atol=1e-9)   # 2D kept
    depth = lift[..., 2] - np.array([lift[f, visible[f], 2].mean() for f in range(F)])[:, None]
    np.testing.assert_allclose(out[..., 2], depth, atol=1e-4)                  # the depths, sign included
    np.testing.assert_allclose(out[~visible][:, :2], (lift[..., :2] + 17.0)[~visible], atol=1e-4)  # hidden: 3D
    # a perspective view of a deep shape: no depths fit exactly, but the fit beats the true depths
    cam = lift + np.array([0.0, 0.0, 400.0])
    pixels = 1000.0 * cam[..., :2] / cam[..., 2:]
    true = np.concatenate([pixels, (cam[..., 2:] - cam[..., 2:].mean(1, keepdims=True)) * 1000.0 / 400.0], -1)
    fit = closest_orthographic_form(torch.as_tensor(cam), torch.as_tensor(pixels), torch.ones(F, N, dtype=torch.bool),
                                    torch.as_tensor(true[..., 2])).numpy()
    everything = np.ones((F, N), bool)

    def misfit(points: np.ndarray) -> np.ndarray:                              # squared error, in cam's units
        return ((similarity_procrustes(points, cam, everything) - cam) ** 2).sum((1, 2))

    assert (misfit(fit) < 0.9 * misfit(true)).all() and (misfit(fit) > 0).all()


def test_similarity_back_undoes_the_fitted_similarity() -> None:
    """similarity_back_torch maps gt's frame back into pred's: the fitted transform of a similar copy, undone,
    gives the original points (visible and not)."""
    import torch

    from lifter.geometry import similarity_back_torch, similarity_fit_torch

    rng = np.random.default_rng(4)
    pred = torch.as_tensor(rng.normal(size=(2, 9, 3)))
    gt = 2.5 * pred @ torch.as_tensor(rotation_z(0.7) @ rotation_x(-0.4)).T + torch.tensor([1.0, -2.0, 30.0])
    mask = torch.as_tensor(rng.random((2, 9)) > 0.3)
    mask[:, :3] = True
    fit = similarity_fit_torch(pred, gt, mask)
    assert fit[0].numpy() == pytest.approx([2.5, 2.5])
    np.testing.assert_allclose(similarity_back_torch(gt, *fit).numpy(), pred.numpy(), atol=1e-9)
