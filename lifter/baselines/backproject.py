"""Back-projection: 2D landmarks + a depth map + pinhole intrinsics -> camera-frame 3D landmarks.

Conventions (those of ``lifter.geometry`` and the data files): pixels x right, y down; ``depth[j, i]`` is the
camera ``z`` (not the distance along the ray) at the pixel centre ``(x, y) = (i, j)``; a landmark at ``(x, y)``
with depth ``z`` is ``((x - cx) z / fx, (y - cy) z / fy, z)``. A pixel has no surface where its depth is not
finite or not > 0 (``inf``, ``NaN``, ``0`` and negatives all mean "no surface").

Depth read-out per landmark (``statistic``):

- ``bilinear`` (``window`` must be 1): bilinear interpolation of the 4 pixel centres around the landmark, with
  the weights renormalised over those that have a surface (a landmark at a silhouette's edge reads the surface
  side only, never a blend with "no surface"); no valid neighbour: invalid.
- ``median`` / ``min``: the median / minimum over the valid pixels of the ``window`` x ``window`` neighbourhood
  (odd ``window``) centred on the nearest pixel, clipped to the image: a robust read-out that ignores a few bad
  pixels (``median``) or prefers the front surface (``min``).

A landmark is *valid* when it is visible (``visible`` True), its 2D is finite, it lies in the image
(``-0.5 <= x < W - 0.5`` and the same for y: the pixel squares' extent) and a surface depth could be read. Invalid
landmarks get NaN ``points3d`` and ``depth``; valid ones are always finite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STATISTICS = ("bilinear", "median", "min")


@dataclass
class BackProjection:
    """Result of :func:`backproject_landmarks` (``...`` is ``()`` or ``(B,)``).

    Attributes:
        points3d: ``(..., N, 3)`` float32 camera frame (x right, y down, z forward), the depth map's units;
            NaN where not ``valid``.
        valid: ``(..., N)`` bool: the landmark was visible, inside the image and on a surface.
        depth: ``(..., N)`` float32 depth read at the landmark (camera z); NaN where not ``valid``.
    """

    points3d: np.ndarray
    valid: np.ndarray
    depth: np.ndarray


def _intrinsics(intrinsics, batch: int | None) -> np.ndarray:
    """``(B, 4)`` or ``(4,)`` float64 ``fx, fy, cx, cy`` from a tuple or array, validated."""
    k = np.asarray(intrinsics, dtype=np.float64)
    if batch is None:
        if k.shape != (4,):
            raise ValueError(f"intrinsics must be (fx, fy, cx, cy) for an unbatched call, got shape {k.shape}")
    elif k.shape == (4,):
        k = np.broadcast_to(k, (batch, 4))
    elif k.shape != (batch, 4):
        raise ValueError(f"intrinsics must be (fx, fy, cx, cy) or a (B, 4) array with B = {batch}, got {k.shape}")
    if not np.isfinite(k).all() or (k[..., :2] <= 0).any():
        raise ValueError("intrinsics must be finite with focal lengths fx, fy > 0")
    return k


def backproject_landmarks(points2d: np.ndarray, depth: np.ndarray, intrinsics, visible: np.ndarray | None = None,
                          window: int = 1, statistic: str = "bilinear") -> BackProjection:
    """Lift 2D landmarks to camera-frame 3D with the depth read at each landmark pixel.

    Args:
        points2d: ``(N, 2)`` or ``(B, N, 2)`` pixels (x right, y down); NaN allowed where not visible.
        depth: ``(H, W)`` or ``(B, H, W)`` camera z (> 0; ``inf``, NaN or <= 0 = no surface).
        intrinsics: ``(fx, fy, cx, cy)`` floats, or a ``(B, 4)`` array for a batch.
        visible: ``(N,)`` / ``(B, N)`` bool, or None (all visible); False = missing landmark (its 2D is ignored).
        window: odd neighbourhood size for ``median`` and ``min`` (1 for ``bilinear``).
        statistic: ``bilinear`` | ``median`` | ``min`` (see the module docstring).
    Returns:
        :class:`BackProjection` with ``points3d (..., N, 3)``, ``valid (..., N)``, ``depth (..., N)``.
    Raises:
        ValueError: wrong shapes (the message gives the expected and received ones), an unknown statistic, an
            even or non-positive window, or bad intrinsics.
    """
    pts = np.asarray(points2d, dtype=np.float64)
    dep = np.asarray(depth)
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}; choose one of {', '.join(STATISTICS)}")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1 or window % 2 == 0:
        raise ValueError(f"window must be an odd integer >= 1, got {window!r}")
    if statistic == "bilinear" and window != 1:
        raise ValueError("window applies to the median and min statistics; bilinear reads the 4 pixels around "
                         "the landmark (use window=1)")
    if pts.ndim == 2 and pts.shape[-1] == 2:
        if dep.ndim != 2:
            raise ValueError(f"points2d (N, 2) needs a depth map (H, W), got depth of shape {dep.shape}")
        batched = False
        pts, dep = pts[None], dep[None]
    elif pts.ndim == 3 and pts.shape[-1] == 2:
        if dep.ndim != 3 or dep.shape[0] != pts.shape[0]:
            raise ValueError(f"points2d (B, N, 2) with B = {pts.shape[0]} needs depth maps (B, H, W), got depth "
                             f"of shape {dep.shape}")
        batched = True
    else:
        raise ValueError(f"points2d must be (N, 2) or (B, N, 2) pixels, got shape {pts.shape}")
    if dep.shape[-2] < 1 or dep.shape[-1] < 1:
        raise ValueError(f"depth map is empty: shape {dep.shape}")
    B, N = pts.shape[:2]
    H, W = dep.shape[-2:]
    k = _intrinsics(intrinsics, B if batched else None).reshape(-1, 4)
    k = np.broadcast_to(k, (B, 4))
    if visible is None:
        vis = np.ones((B, N), dtype=bool)
    else:
        vis = np.asarray(visible, dtype=bool)
        if vis.shape != ((B, N) if batched else (N,)):
            raise ValueError(f"visible must have shape {(B, N) if batched else (N,)} like points2d's landmarks, "
                             f"got {vis.shape}")
        vis = vis.reshape(B, N)

    dep = dep.astype(np.float32, copy=False)
    surface = np.isfinite(dep) & (dep > 0)                                   # (B, H, W)
    x, y = pts[..., 0], pts[..., 1]                                          # (B, N)
    with np.errstate(invalid="ignore"):
        inside = vis & np.isfinite(x) & np.isfinite(y) & (x >= -0.5) & (x < W - 0.5) & (y >= -0.5) & (y < H - 0.5)
    xs, ys = np.where(inside, x, 0.0), np.where(inside, y, 0.0)
    b_idx = np.broadcast_to(np.arange(B)[:, None], (B, N))
    if statistic == "bilinear":
        xc, yc = np.clip(xs, 0.0, W - 1.0), np.clip(ys, 0.0, H - 1.0)
        x0 = np.minimum(np.floor(xc).astype(np.int64), max(W - 2, 0))
        y0 = np.minimum(np.floor(yc).astype(np.int64), max(H - 2, 0))
        fx_, fy_ = xc - x0, yc - y0
        x1, y1 = np.minimum(x0 + 1, W - 1), np.minimum(y0 + 1, H - 1)
        num = np.zeros((B, N))
        den = np.zeros((B, N))
        for xi, yi, wgt in ((x0, y0, (1 - fx_) * (1 - fy_)), (x1, y0, fx_ * (1 - fy_)),
                            (x0, y1, (1 - fx_) * fy_), (x1, y1, fx_ * fy_)):
            ok = surface[b_idx, yi, xi]
            num += np.where(ok, wgt * np.where(ok, dep[b_idx, yi, xi], 0.0), 0.0)
            den += np.where(ok, wgt, 0.0)
        # A neighbour with zero weight but a surface counts for validity only when the landmark sits exactly
        # on a valid pixel's centre line; require a positive total weight.
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(den > 1e-9, num / den, np.nan)
    else:
        r = window // 2
        off = np.arange(-r, r + 1)
        xr = np.rint(xs).astype(np.int64)[..., None, None] + off[None, :]                    # (B, N, 1, w)
        yr = np.rint(ys).astype(np.int64)[..., None, None] + off[:, None]                    # (B, N, w, 1)
        in_image = (xr >= 0) & (xr < W) & (yr >= 0) & (yr < H)    # (B, N, w, w): the neighbourhood clipped
        xi, yi = np.clip(xr, 0, W - 1), np.clip(yr, 0, H - 1)     # (pixels outside it are not read twice)
        vals = dep[b_idx[..., None, None], yi, xi].reshape(B, N, -1).astype(np.float64)        # (B, N, w*w)
        ok = (surface[b_idx[..., None, None], yi, xi] & in_image).reshape(B, N, -1)
        vals = np.where(ok, vals, np.nan)
        any_ok = ok.any(-1)
        filled = np.where(any_ok[..., None], vals, 1.0)                      # all-NaN rows: no warning
        z = np.nanmedian(filled, -1) if statistic == "median" else np.nanmin(filled, -1)
        z = np.where(any_ok, z, np.nan)
    valid = inside & np.isfinite(z) & (z > 0)
    z = np.where(valid, z, np.nan)
    fx, fy, cx, cy = (k[:, i:i + 1] for i in range(4))
    p3 = np.stack([(xs - cx) * z / fx, (ys - cy) * z / fy, z], -1)
    p3 = np.where(valid[..., None], p3, np.nan).astype(np.float32)
    out = BackProjection(p3, valid, z.astype(np.float32))
    if not batched:
        out = BackProjection(out.points3d[0], out.valid[0], out.depth[0])
    return out
