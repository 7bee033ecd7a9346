"""The depth baseline's lift of one view (:mod:`lifter.baselines.lift`): a depth map rendered at a fraction of the
image keeps the image's rays, the noise and read-out settings reach the map, and the fill of unread landmarks
follows its documented rule (the median depth, each axis's own focal length, the flat fallback's centroid)."""

from __future__ import annotations

import numpy as np
import pytest

from lifter.baselines import backproject_landmarks
from lifter.baselines.lift import depth_lift, fill_invalid, scaled_camera
from lifter.geometry import project_perspective


def test_a_scaled_camera_sees_the_same_rays_in_the_maps_pixels() -> None:
    """Pixel centres of the map lie at (p + 0.5) s - 0.5: projecting with the scaled camera is the image's
    projection moved to those pixels, for any point."""
    rng = np.random.default_rng(0)
    x3 = rng.normal(size=(20, 3)) * [300, 300, 100] + [0, 0, 3000]
    focal, principal = 1200.0, np.array([510.0, 490.0])
    px = project_perspective(x3, focal, principal)
    for s in (0.25, 0.5, 1.0):
        f, p, pts, size = scaled_camera(focal, principal, px, (1000, 980), s)
        np.testing.assert_allclose(project_perspective(x3, f, p), pts, atol=1e-9)
        np.testing.assert_allclose(pts, (px + 0.5) * s - 0.5)
        assert size == (round(1000 * s), round(980 * s))
    assert scaled_camera(focal, principal, px, (203, 103), 0.5)[3] == (102, 52)     # rounded, not cut


def _hand_view(seed: int = 0):
    from lifter.data.cameras import render_views
    from lifter.data.hand import sample_hands

    rng = np.random.default_rng(seed)
    hands, _ = sample_hands(1, rng)
    v = render_views(hands, None, rng)
    return v.points2d[0], v.visible[0], v.points3d[0], v.present[0], float(v.focal[0]), v.principal[0]


def test_a_half_size_depth_map_lifts_like_the_full_size_one() -> None:
    p2, vis, x3, present, focal, principal = _hand_view()
    full = depth_lift("hand21", p2, vis, x3, present, focal, principal, (1000, 1000))
    half = depth_lift("hand21", p2, vis, x3, present, focal, principal, (1000, 1000), render_scale=0.5)
    both = full.valid & half.valid
    assert both.sum() >= 15
    depth_error = np.abs(half.points3d[both, 2] - full.points3d[both, 2])
    assert np.median(depth_error) < 1.0                         # mm: the same surface, half the pixels
    np.testing.assert_allclose(project_perspective(half.points3d[both].astype(np.float64), focal, principal),
                               p2[both], atol=0.05)               # on the image's rays


def test_noise_and_read_out_settings_reach_the_depth_map() -> None:
    p2, vis, x3, present, focal, principal = _hand_view(1)
    args = ("hand21", p2, vis, x3, present, focal, principal, (1000, 1000))

    def lift(**kw):
        return depth_lift(*args, absrel=0.1, **kw).points3d

    np.testing.assert_array_equal(lift(rng=np.random.default_rng(4)), lift(rng=np.random.default_rng(4)))
    assert not np.allclose(lift(rng=np.random.default_rng(4)), lift(rng=np.random.default_rng(5)), equal_nan=True)
    assert not np.allclose(lift(), lift(statistic="median"), equal_nan=True)          # nearest pixel, not 4
    assert not np.allclose(lift(statistic="median"), lift(statistic="median", window=7), equal_nan=True)


def test_the_fill_takes_the_median_depth_and_each_axis_focal_length() -> None:
    depth = np.full((1, 60, 80), np.inf, dtype=np.float32)
    depth[0, :, :20] = 100.0
    depth[0, :, 20:40] = 200.0
    depth[0, :, 40:60] = 1000.0                 # three read depths 100, 200, 1000: median 200, mean 433
    p2 = np.array([[[10.0, 30.0], [30.0, 30.0], [50.0, 30.0], [70.0, 50.0]]])   # the last: no surface
    k = np.array([[100.0, 50.0, 40.0, 30.0]])                                  # fx != fy
    bp = backproject_landmarks(p2, depth, k)
    assert bp.valid.tolist() == [[True, True, True, False]]
    full = fill_invalid(bp, p2, k)
    np.testing.assert_allclose(full[0, 3], [(70 - 40) / 100 * 200, (50 - 30) / 50 * 200, 200.0], rtol=1e-6)


def test_a_view_without_depth_places_its_hidden_landmarks_at_the_flat_centroid() -> None:
    depth = np.full((1, 60, 80), np.inf, dtype=np.float32)                     # no surface anywhere
    p2 = np.array([[[10.0, 30.0], [30.0, 10.0], [70.0, 50.0], [np.nan, np.nan]]])
    k = np.array([[100.0, 100.0, 40.0, 30.0]])
    bp = backproject_landmarks(p2, depth, k)
    full = fill_invalid(bp, p2, k)
    flat = np.column_stack([(p2[0, :3] - [40.0, 30.0]) / 100.0, np.ones(3)])   # the 2D at one common depth
    np.testing.assert_allclose(full[0, :3] / full[0, 0, 2], flat, atol=1e-12)
    np.testing.assert_allclose(full[0, 3], full[0, :3].mean(0), atol=1e-12)
    assert full[0, 3, 2] == pytest.approx(full[0, 0, 2])
