"""Depth-based lifting of one sample: oracle or noisy depth at the ground truth, then back-projection.

:func:`depth_lift` is what the app's benchmark tab calls; :func:`fill_invalid` completes a back-projection into
a full prediction for scoring (the benchmark scores every present landmark, so a depth-based method must place
the landmarks it could not read too).
"""

from __future__ import annotations

import warnings

import numpy as np

from lifter.baselines.backproject import BackProjection, backproject_landmarks
from lifter.baselines.noise import DepthNoiseConfig, add_depth_noise
from lifter.baselines.render import render_depth


def depth_lift(category: str, points2d: np.ndarray, visible: np.ndarray, points3d_gt: np.ndarray,
               present: np.ndarray, focal: float, principal, image_size, absrel: float = 0.0,
               rng: np.random.Generator | None = None, window: int = 1, statistic: str = "bilinear",
               noise: DepthNoiseConfig = DepthNoiseConfig(), render_scale: float = 1.0) -> BackProjection:
    """Depth-based lifting of one view with rendered (``absrel == 0``) or noisy depth.

    Args:
        category: ``human17``, ``hand21`` or ``face468`` (``chair`` has no surface: ``ValueError``).
        points2d: ``(N, 2)`` observed 2D landmarks, px (NaN allowed where not visible).
        visible: ``(N,)`` bool; points3d_gt: ``(N, 3)`` camera-frame ground truth; present: ``(N,)`` bool.
        focal: px; principal: ``(2,)`` px; image_size: ``(W, H)`` px: the view's camera.
        absrel: depth noise level (0.03 = 3 % AbsRel; see :mod:`lifter.baselines.noise`).
        rng: randomness of the noise (default: a fixed seed, so the result is reproducible).
        window, statistic: the depth read-out (see :func:`backproject_landmarks`), in pixels of the map.
        render_scale: the depth map's size as a fraction of ``image_size`` (:func:`scaled_camera`; the
            benchmark's :class:`lifter.baselines.benchmark.DepthBenchmarkConfig` renders at 0.5).
    Returns:
        :class:`BackProjection` ``(N, 3)`` camera frame in the ground truth's units; invalid landmarks
        (missing, outside the image, no surface) are NaN with ``valid`` False.
    """
    focal, p, points2d, size = scaled_camera(focal, principal, points2d, image_size, render_scale)
    depth = render_depth(category, points3d_gt, present, focal, p, size)
    if absrel > 0:
        depth = add_depth_noise(depth, absrel, rng if rng is not None else np.random.default_rng(0), noise)
    return backproject_landmarks(points2d, depth, (focal, focal, p[0], p[1]), visible, window=window,
                                 statistic=statistic)


def scaled_camera(focal: float, principal, points2d: np.ndarray, image_size, scale: float
                  ) -> tuple[float, np.ndarray, np.ndarray, tuple[int, int]]:
    """A view's camera and 2D for a depth map rendered at ``scale`` of its image ``image_size (W, H)``:
    ``(focal px, principal (2,), points2d (..., 2), map size (W', H'))`` float64 in the map's pixels, whose pixel
    centres lie at ``(p + 0.5) * scale - 0.5``; the rays, and so the back-projected points, are the image's."""
    p = (np.asarray(principal, dtype=np.float64).reshape(2) + 0.5) * scale - 0.5
    pts = (np.asarray(points2d, dtype=np.float64) + 0.5) * scale - 0.5
    w, h = (int(v) for v in image_size)
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    return float(focal) * scale, p, pts, size


def fill_invalid(bp: BackProjection, points2d: np.ndarray, intrinsics: np.ndarray,
                 visible: np.ndarray | None = None) -> np.ndarray:
    """A full prediction ``(B, N, 3)`` float64 from a batched back-projection, for scoring.

    Rule (documented in the benchmark): a visible landmark (its 2D known: finite, and ``visible``) whose depth
    could not be read is back-projected at the median depth of the view's valid landmarks; a landmark without 2D
    (missing, occluded: not visible, or NaN) is placed at the centroid of the view's valid landmarks (what the
    ``flat`` reference does), whatever 2D it holds, as :func:`backproject_landmarks` ignores it.
    A view without any valid landmark falls back to the ``flat`` prediction (its 2D back-projected at one
    common depth, the landmarks without 2D at their centroid), so the result is always finite.

    Args:
        bp: batched :class:`BackProjection` (``points3d (B, N, 3)``, ``valid (B, N)``).
        points2d: ``(B, N, 2)`` the 2D the back-projection used (NaN where missing).
        intrinsics: ``(B, 4)`` ``fx, fy, cx, cy``.
        visible: ``(B, N)`` bool, the ``visible`` the back-projection was given; None: every landmark with a
            finite 2D.
    """
    p3 = bp.points3d.astype(np.float64)
    valid = bp.valid
    count = valid.sum(1)                                                     # (B,)
    with warnings.catch_warnings():                                          # all-NaN views: NaN, no warning
        warnings.simplefilter("ignore", RuntimeWarning)
        zmed = np.nanmedian(np.where(valid, bp.depth, np.nan), 1)           # (B,)
    zmed = np.where(count > 0, zmed, 1.0)                                    # no valid landmark: flat fallback
    k = np.asarray(intrinsics, dtype=np.float64)
    has2d = np.isfinite(points2d).all(-1)
    if visible is not None:
        has2d &= np.asarray(visible, dtype=bool)
    z = zmed[:, None]
    p2 = np.where(has2d[..., None], np.asarray(points2d, dtype=np.float64), 0.0)
    xy = (p2 - k[:, None, 2:4]) / k[:, None, 0:2] * z[..., None]
    reproj = np.concatenate([xy, np.broadcast_to(z[..., None], xy.shape[:2] + (1,))], -1)
    ref = np.where(count[:, None, None] > 0, valid[..., None], has2d[..., None])     # (B, N, 1) what to average
    src = np.where(count[:, None, None] > 0, np.nan_to_num(p3), reproj)
    cent = (src * ref).sum(1) / np.maximum(ref.sum(1), 1)                    # (B, 3); 0 when nothing at all
    out = np.where(valid[..., None], p3, np.where(has2d[..., None], reproj, cent[:, None, :]))
    return out
