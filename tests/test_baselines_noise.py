"""The depth error model: identity at 0, AbsRel at the requested level, edge blur toward the background."""

from __future__ import annotations

import numpy as np
import pytest

from lifter.baselines import DepthNoiseConfig, add_depth_noise, depth_lift
from lifter.baselines.noise import add_backdrop, surface_absrel
from lifter.baselines.render import render_capsules

F, C, SIZE = 400.0, (128.0, 128.0), (257, 257)


def scene() -> np.ndarray:
    """A fat capsule (torso) and a thin one (finger) in front of nothing."""
    return render_capsules(np.array([[-60.0, -40, 1000], [40.0, 60, 600]]), np.array([[-60.0, 60, 1000],
                           [120.0, 60, 600]]), np.array([120.0, 6.0]), F, C, SIZE)


def test_zero_noise_is_the_oracle() -> None:
    d = scene()
    out = add_depth_noise(d, 0.0, np.random.default_rng(0))
    np.testing.assert_array_equal(out, d)
    assert out is not d


@pytest.mark.parametrize("level", [0.01, 0.03, 0.05, 0.10])
def test_absrel_matches_the_level_on_surface_pixels(level: float) -> None:
    d = np.full((200, 200), 1000.0, dtype=np.float32)
    d[:, 100:] = 1500.0
    errs = []
    for seed in range(4):
        out = add_depth_noise(d, level, np.random.default_rng(seed))
        assert out.shape == d.shape and out.dtype == np.float32 and np.isfinite(out).all() and (out > 0).all()
        core = np.zeros(d.shape, bool)
        core[:, np.r_[10:80, 120:190]] = True           # away from the depth edge and the borders
        errs.append(surface_absrel(d, out, core))       # the unknown global scale aligned, as AbsRel does
    assert np.mean(errs) == pytest.approx(level, rel=0.2)


def test_blur_pulls_thin_limbs_toward_the_background() -> None:
    d = scene()
    finger = (np.abs(np.arange(257) - 128 - 60 * F / 600) < 2)         # rows near the thin capsule's axis
    col = int(128 + 80 * F / 600)
    row = int(round(128 + 60 * F / 600))
    assert np.isfinite(d[row, col])
    cfg = DepthNoiseConfig(smooth_share=0.0, scale_range=(1.0, 1.0))
    rel = []
    for level in (0.01, 0.05, 0.10):
        out = np.median([add_depth_noise(d, level, np.random.default_rng(s), cfg)[row, col] for s in range(9)])
        rel.append(out / d[row, col])
    # The thin limb's depth moves toward the backdrop (farther) as the level, hence the blur, grows.
    assert rel[0] < rel[1] < rel[2] and rel[2] > 1.1
    # The fat capsule's centre barely moves.
    fat = np.median([add_depth_noise(d, 0.05, np.random.default_rng(s), cfg)[128, int(128 - 60 * F / 1000)]
                     for s in range(9)]) / d[128, int(128 - 60 * F / 1000)]
    assert fat == pytest.approx(1.0, abs=0.03)
    assert finger.any()


def test_backdrop_and_global_scale() -> None:
    d = scene()
    b = add_backdrop(d, 1.5)
    far = np.nanmax(np.where(np.isfinite(d), d, np.nan))
    assert np.isfinite(b).all() and b[0, 0] == pytest.approx(1.5 * far)
    scales = []
    for s in range(20):
        out = add_depth_noise(d, 0.01, np.random.default_rng(s))
        scales.append(np.median(out[np.isfinite(d)] / d[np.isfinite(d)]))
    assert 0.5 <= min(scales) and max(scales) <= 2.0 and max(scales) / min(scales) > 1.5


def test_reproducible_with_the_same_rng() -> None:
    d = scene()
    a = add_depth_noise(d, 0.05, np.random.default_rng(7))
    b = add_depth_noise(d, 0.05, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        add_depth_noise(np.ones((2, 3, 4)), 0.01, np.random.default_rng(0))
    with pytest.raises(ValueError, match="absrel"):
        add_depth_noise(np.ones((4, 4)), 1.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="absrel"):
        add_depth_noise(np.ones((4, 4)), -0.1, np.random.default_rng(0))
    # No surface at all: a finite backdrop, never NaN.
    out = add_depth_noise(np.full((8, 8), np.inf), 0.05, np.random.default_rng(0))
    assert np.isfinite(out).all() and (out > 0).all()


def test_depth_lift_oracle_and_noisy() -> None:
    from lifter.data.cameras import render_views
    from lifter.data.hand import sample_hands

    rng = np.random.default_rng(5)
    shapes, _ = sample_hands(1, rng)
    v = render_views(shapes, None, rng)
    pts, present, f, c = v.points3d[0], v.present[0], float(v.focal[0]), v.principal[0]
    visible = np.ones(21, bool)
    visible[3] = False
    p2 = v.points2d[0].copy()
    p2[3] = np.nan
    oracle = depth_lift("hand21", p2, visible, pts, present, f, c, (1000, 1000))
    assert oracle.points3d.shape == (21, 3) and oracle.valid.sum() == 20 and not oracle.valid[3]
    assert np.isnan(oracle.points3d[3]).all() and np.isfinite(oracle.points3d[oracle.valid]).all()
    # The surface is in front of the joints: by about a capsule radius (7-15 mm) where the joint is seen, more
    # where a finger hides it (the hidden joint takes the front finger's depth).
    gap = pts[oracle.valid, 2] - oracle.depth[oracle.valid]
    assert (gap > -3).all() and 3 < np.median(gap) < 25
    noisy = depth_lift("hand21", p2, visible, pts, present, f, c, (1000, 1000), absrel=0.05,
                       rng=np.random.default_rng(0))
    assert noisy.valid.sum() == 20 and not np.allclose(noisy.depth[noisy.valid], oracle.depth[oracle.valid])
    with pytest.raises(ValueError, match="chair"):
        depth_lift("chair", np.zeros((21, 2)), np.ones(21, bool), np.ones((21, 3)), np.ones(21, bool), f, c,
                   (1000, 1000))
