"""Back-projection: rendered plane and sphere recover known 3D; missing landmarks and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from lifter.baselines import BackProjection, backproject_landmarks
from lifter.baselines.render import render_capsules, render_mesh

F, CX, CY, W, H = 300.0, 80.0, 60.0, 160, 120
K = (F, F, CX, CY)


def plane_depth(normal: np.ndarray, offset: float) -> np.ndarray:
    """Closed-form depth of the plane ``n . X = offset`` at every pixel centre: ``z = offset / (n . ray)``."""
    xs, ys = np.meshgrid(np.arange(W, dtype=np.float64), np.arange(H, dtype=np.float64))
    ray = np.stack([(xs - CX) / F, (ys - CY) / F, np.ones_like(xs)], -1)
    return (offset / (ray @ normal)).astype(np.float32)


def test_plane_recovers_known_points() -> None:
    n = np.array([0.2, -0.3, 1.0])
    n /= np.linalg.norm(n)
    depth = plane_depth(n, 500.0)
    rng = np.random.default_rng(0)
    pts = np.stack([rng.uniform(5, W - 6, 50), rng.uniform(5, H - 6, 50)], -1)
    bp = backproject_landmarks(pts, depth, K)
    assert bp.valid.all() and bp.points3d.dtype == np.float32 and bp.points3d.shape == (50, 3)
    # On the plane, and on the landmark's ray (it projects back to the landmark).
    np.testing.assert_allclose(bp.points3d.astype(np.float64) @ n, 500.0, rtol=2e-4)
    proj = F * bp.points3d[:, :2] / bp.points3d[:, 2:] + np.array([CX, CY])
    np.testing.assert_allclose(proj, pts, atol=1e-3)


def test_non_square_pixels_use_each_axis_focal_length() -> None:
    """A camera with fy = 1.3 fx (non-square pixels): known 3D points on a fronto-parallel plane at depth 400,
    projected through it, come back exactly (x through fx, y through fy)."""
    fx, fy = F, 1.3 * F
    depth = np.full((H, W), 400.0, np.float32)
    rng = np.random.default_rng(1)
    truth = np.stack([rng.uniform(-80, 80, 20), rng.uniform(-50, 50, 20), np.full(20, 400.0)], -1)
    pts = np.stack([fx * truth[:, 0] / 400 + CX, fy * truth[:, 1] / 400 + CY], -1)
    inside = (pts[:, 0] > 2) & (pts[:, 0] < W - 3) & (pts[:, 1] > 2) & (pts[:, 1] < H - 3)
    bp = backproject_landmarks(pts[inside], depth, (fx, fy, CX, CY))
    assert inside.sum() >= 5 and bp.valid.all()
    np.testing.assert_allclose(bp.points3d, truth[inside], rtol=1e-5, atol=1e-3)


def test_rendered_mesh_plane_recovers_known_points() -> None:
    # Two triangles spanning a tilted plane (perspective-correct depth interpolation is exact on a plane).
    quad = np.array([[-150, -100, 900], [150, -100, 1300], [150, 100, 1300], [-150, 100, 900]], dtype=np.float64)
    depth = render_mesh(quad, np.array([[0, 1, 2], [0, 2, 3]]), F, (CX, CY), (W, H))
    rng = np.random.default_rng(1)
    # Ground-truth points on the plane, projected into the image.
    a, b = rng.uniform(0.1, 0.9, (2, 40))
    X = quad[0] + a[:, None] * (quad[1] - quad[0]) + b[:, None] * (quad[3] - quad[0])
    pts = F * X[:, :2] / X[:, 2:] + np.array([CX, CY])
    bp = backproject_landmarks(pts, depth, K)
    assert bp.valid.all()
    np.testing.assert_allclose(bp.points3d, X, rtol=2e-4, atol=0.05)


def test_rendered_sphere_recovers_front_surface() -> None:
    centre, r = np.array([30.0, -20.0, 800.0]), 150.0
    depth = render_capsules(centre[None], centre[None], np.array([r]), F, (CX, CY), (W, H))
    c2 = F * centre[:2] / centre[2] + np.array([CX, CY])
    pts = c2 + np.array([[0, 0], [20, 5], [-15, 25], [30, -30]], dtype=np.float64)
    for statistic, window in (("bilinear", 1), ("median", 3), ("min", 3)):
        bp = backproject_landmarks(pts, depth, K, window=window, statistic=statistic)
        assert bp.valid.all()
        dist = np.linalg.norm(bp.points3d - centre, axis=1)
        np.testing.assert_allclose(dist, r, rtol=3e-3 if statistic == "bilinear" else 2e-2)
        assert (bp.points3d[:, 2] < centre[2]).all()                      # the front half
    # Far outside the sphere's silhouette there is no surface: invalid, NaN, never a number.
    bp = backproject_landmarks(np.array([[2.0, 2.0]]), depth, K)
    assert not bp.valid[0] and np.isnan(bp.points3d).all() and np.isnan(bp.depth).all()


def test_missing_outside_and_no_surface_are_masked() -> None:
    depth = np.full((H, W), 1000.0, dtype=np.float32)
    depth[:, :20] = np.inf
    depth[:10, 100:] = 0.0          # non-positive depth = no surface
    depth[50:55, 50:55] = np.nan
    depth[80:85, 120:125] = -3.0
    pts = np.array([[40, 40], [-3, 40], [40, H + 2], [5, 50], [110, 4], [52, 52], [122, 82], [np.nan, 3],
                    [W - 0.6, H - 0.6], [W - 0.4, 50], [60, 70]], dtype=np.float64)
    visible = np.ones(len(pts), bool)
    visible[-1] = False
    bp = backproject_landmarks(pts, depth, K, visible=visible)
    assert bp.valid.tolist() == [True, False, False, False, False, False, False, False, True, False, False]
    assert np.isfinite(bp.points3d[bp.valid]).all() and np.isnan(bp.points3d[~bp.valid]).all()
    np.testing.assert_allclose(bp.depth[bp.valid], 1000.0)


def test_silhouette_edge_reads_surface_side_only() -> None:
    depth = np.full((H, W), np.inf, dtype=np.float32)
    depth[:, 50:] = 700.0
    bp = backproject_landmarks(np.array([[49.5, 30.0], [49.2, 30.0]]), depth, K)
    assert bp.valid.tolist() == [True, True]
    np.testing.assert_allclose(bp.depth, 700.0)     # renormalised over the valid neighbours, no blend with inf


def test_min_and_median_window_statistics() -> None:
    depth = np.full((H, W), 1000.0, dtype=np.float32)
    depth[40, 40] = 10.0                            # one outlier pixel
    pts = np.array([[41.0, 40.0]])
    assert backproject_landmarks(pts, depth, K, window=3, statistic="median").depth[0] == pytest.approx(1000.0)
    assert backproject_landmarks(pts, depth, K, window=3, statistic="min").depth[0] == pytest.approx(10.0)
    assert backproject_landmarks(pts, depth, K, window=1, statistic="min").depth[0] == pytest.approx(1000.0)


def test_window_statistics_at_the_border_read_each_pixel_once() -> None:
    """At the image's edge the window is clipped to the image: its pixels are read once each (clamping the
    indices had read the edge column three times, so the median of {1, 1, 1, 10, 10, 10} came out 1)."""
    depth = np.full((10, 10), 10.0, dtype=np.float32)
    depth[:, 0] = 1.0
    for at in ([0.0, 5.0], [0.0, 0.0]):
        read = backproject_landmarks(np.array([at]), depth, (100.0, 100.0, 5.0, 5.0), window=3, statistic="median")
        assert read.depth[0] == pytest.approx(5.5)


def test_batched_matches_unbatched() -> None:
    rng = np.random.default_rng(2)
    depth = rng.uniform(500, 900, (3, H, W)).astype(np.float32)
    pts = rng.uniform(0, 100, (3, 7, 2))
    k = np.array([[F, F, CX, CY], [2 * F, F, CX + 3, CY], [F, 1.5 * F, CX, CY - 4]])
    bp = backproject_landmarks(pts, depth, k)
    assert isinstance(bp, BackProjection) and bp.points3d.shape == (3, 7, 3) and bp.valid.shape == (3, 7)
    for i in range(3):
        one = backproject_landmarks(pts[i], depth[i], tuple(k[i]))
        np.testing.assert_allclose(bp.points3d[i], one.points3d, rtol=1e-6)
    # One intrinsics tuple for the whole batch is broadcast.
    assert backproject_landmarks(pts, depth, K).points3d.shape == (3, 7, 3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(points2d=np.zeros((5, 3)), depth=np.ones((H, W))), "points2d must be"),
    (dict(points2d=np.zeros((5, 2)), depth=np.ones((2, H, W))), r"needs a depth map \(H, W\)"),
    (dict(points2d=np.zeros((2, 5, 2)), depth=np.ones((3, H, W))), r"needs depth maps \(B, H, W\)"),
    (dict(points2d=np.zeros((2, 5, 2)), depth=np.ones((H, W))), r"needs depth maps \(B, H, W\)"),
    (dict(points2d=np.zeros((5, 2)), depth=np.ones((H, W)), intrinsics=(F, F, CX)), "intrinsics"),
    (dict(points2d=np.zeros((5, 2)), depth=np.ones((H, W)), intrinsics=(0.0, F, CX, CY)), "fx, fy > 0"),
    (dict(points2d=np.zeros((2, 5, 2)), depth=np.ones((2, H, W)), intrinsics=np.ones((3, 4))), r"\(B, 4\)"),
    (dict(points2d=np.zeros((5, 2)), depth=np.ones((H, W)), visible=np.ones(4, bool)), "visible must"),
    (dict(points2d=np.zeros((5, 2)), depth=np.ones((H, W)), statistic="mean"), "unknown statistic"),
    (dict(points2d=np.zeros((5, 2)), depth=np.ones((H, W)), statistic="median", window=4), "odd integer"),
    (dict(points2d=np.zeros((5, 2)), depth=np.ones((H, W)), statistic="min", window=3.0), "odd integer"),
    (dict(points2d=np.zeros((5, 2)), depth=np.ones((H, W)), window=3), "window applies"),
    (dict(points2d=np.zeros((5, 2)), depth=np.ones((0, W))), "empty"),
])
def test_bad_inputs_raise_clear_errors(kwargs: dict, match: str) -> None:
    kwargs.setdefault("intrinsics", K)
    with pytest.raises(ValueError, match=match):
        backproject_landmarks(**kwargs)
