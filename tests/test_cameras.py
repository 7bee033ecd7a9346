"""The benchmark's camera protocol (:func:`lifter.data.cameras.render_views`) by its outcome: views framed on the
image centre at the drawn span, absent landmarks absent in 2D and 3D, occlusion hiding its share of the present
landmarks only, and the 3D ground truth projecting onto the 2D."""

from __future__ import annotations

import numpy as np

from lifter.data.cameras import CameraProtocol, render_views
from lifter.geometry import project_perspective

EXACT = CameraProtocol(noise_px=(0.0, 0.0))


def _hands(n: int, seed: int = 0) -> np.ndarray:
    from lifter.data.hand import sample_hands

    return sample_hands(n, np.random.default_rng(seed))[0]


def test_views_are_framed_on_the_image_centre_at_the_protocols_span() -> None:
    v = render_views(_hands(300), None, np.random.default_rng(1), protocol=EXACT)
    lo, hi = v.points2d.min(1), v.points2d.max(1)
    offset = np.abs((lo + hi) / 2 - v.principal).max(-1)
    assert np.median(offset) < 0.01 and np.percentile(offset, 90) < 0.1               # px
    span = (hi - lo).max(-1) / 1000
    inside = (span > EXACT.span[0] - 1e-3) & (span < EXACT.span[1] + 1e-3)
    assert inside.mean() > 0.98


def test_absent_landmarks_are_absent_and_occlusion_hides_present_ones_only() -> None:
    rng = np.random.default_rng(2)
    shapes = _hands(200, 3)
    present = rng.random(shapes.shape[:2]) > 0.2
    present[:, :5] = True
    shapes = np.where(present[..., None], shapes, np.nan)
    clean = render_views(shapes, present, np.random.default_rng(4), protocol=EXACT)
    assert np.array_equal(clean.visible, present) and np.array_equal(clean.present, present)
    assert np.isnan(clean.points3d[~present]).all() and np.isfinite(clean.points3d[present]).all()
    assert np.isnan(clean.points2d[~present]).all()
    placed = np.where(present[..., None], clean.points3d, [0.0, 0.0, 1.0]).astype(np.float64)   # absent: anywhere
    projected = project_perspective(placed, clean.focal.astype(np.float64), clean.principal.astype(np.float64))
    np.testing.assert_allclose(projected[present], clean.points2d[present], atol=0.05)
    occluded = render_views(shapes, present, np.random.default_rng(4), occlusion=0.2, protocol=EXACT)
    assert not (occluded.visible & ~present).any()
    hidden = (present & ~occluded.visible).sum() / present.sum()
    assert 0.17 < hidden < 0.23
