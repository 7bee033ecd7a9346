"""Camera geometry: rotations, pinhole projection and its inverse, closed-form cameras and alignment.

Functions taking ``np.ndarray`` are numpy (data making, evaluation); those taking ``torch.Tensor`` run on the
tensors' device and are differentiable (training, and ``lift()``'s steps after the network). Conventions (OpenCV
camera frame): x right, y down, z forward (away from the camera). Pixels: x right, y down, origin at the top-left
corner of the image. A world point ``X`` maps to the camera frame as ``R @ X + t``.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def rotation_x(angle: np.ndarray | float) -> np.ndarray:
    """Rotation about the x axis by ``angle`` radians: ``(..., 3, 3)`` for ``angle`` of shape ``(...)``."""
    a = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def rotation_y(angle: np.ndarray | float) -> np.ndarray:
    """Rotation about the y axis by ``angle`` radians: ``(..., 3, 3)``."""
    a = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def rotation_z(angle: np.ndarray | float) -> np.ndarray:
    """Rotation about the z axis by ``angle`` radians: ``(..., 3, 3)``."""
    a = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def intrinsics_matrix(focal: np.ndarray, principal: np.ndarray) -> np.ndarray:
    """Pinhole intrinsics ``K`` ``(..., 3, 3)`` from ``focal (...)`` (px, square pixels) and ``principal (..., 2)``."""
    focal = np.asarray(focal, dtype=np.float64)
    principal = np.asarray(principal, dtype=np.float64)
    K = np.zeros(focal.shape + (3, 3))
    K[..., 0, 0] = focal
    K[..., 1, 1] = focal
    K[..., :2, 2] = principal
    K[..., 2, 2] = 1.0
    return K


def world_to_camera(points: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Camera-frame points ``R X + t``: ``points (..., N, 3)``, ``R (..., 3, 3)``, ``t (..., 3)`` -> ``(..., N, 3)``."""
    return np.einsum("...ij,...nj->...ni", R, points) + t[..., None, :]


def project_perspective(points_cam: np.ndarray, focal: np.ndarray, principal: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-frame points.

    Args:
        points_cam: ``(..., N, 3)`` camera-frame points with ``z > 0``.
        focal: ``(...)`` focal length in pixels.
        principal: ``(..., 2)`` principal point in pixels.
    Returns:
        ``(..., N, 2)`` pixel coordinates ``f * (x, y) / z + c``.
    Raises:
        ValueError: a point lies on or behind the camera plane (z <= 0).
    """
    z = points_cam[..., 2:3]
    if np.any(~(z > 0)):
        raise ValueError("cannot project points on or behind the camera (z <= 0 or not finite)")
    focal = np.asarray(focal, dtype=np.float64)[..., None, None]
    return focal * points_cam[..., :2] / z + np.asarray(principal, dtype=np.float64)[..., None, :]


def pinhole_of_reading(points_cam: np.ndarray, pixels: np.ndarray, visible: np.ndarray | None = None,
                       focal: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The pinhole a camera reading went through, recovered from its points: per frame, the focal length ``f`` and
    principal point ``c`` minimising ``|f (x, y) / z + c - pixel|^2`` over the visible landmarks (linear least
    squares). Exact, up to rounding, for ``lift_with_camera``'s output, whose visible landmarks lie on their pixels'
    rays: with intrinsics given it gives them back, without them the guess, or for faces the focal length that the
    shape basis's fit estimated (with ``fitted_shape=True`` only nearly: the fitted shape projects within the fit's
    pixel error of the input, not onto it; its focal length is known exactly, as the visible landmarks' mean depth,
    and given as ``focal`` only the principal point is solved for).

    Args:
        points_cam: ``(F, N, 3)`` camera-frame points, ``z > 0`` where visible.
        pixels: ``(F, N, 2)`` (any value where not visible); visible: ``(F, N)`` bool, at least 2 per frame whose
            rays differ (at least 1 with ``focal``); None: the landmarks whose point and pixel are finite.
        focal: ``(F,)`` known focal lengths, pixels, or None (solved for).
    Returns:
        ``(focal (F,), principal (F, 2))`` float64, pixels.
    Raises:
        ValueError: arrays of other shapes (one pose: add the frame axis, ``points[None]``); a visible point that
            is not finite or not in front of the camera (``z <= 0``: e.g. ``lift()``'s output, centred on depth 0), or
            whose pixel is not finite; a frame whose visible rays do not determine the three unknowns (fewer than
            two distinct rays) or give a focal length that is not positive (points not on their pixels' rays).
    """
    points_cam, pixels = np.asarray(points_cam, dtype=np.float64), np.asarray(pixels, dtype=np.float64)
    if points_cam.ndim != 3 or points_cam.shape[-1] != 3 or pixels.shape != points_cam.shape[:2] + (2,):
        raise ValueError(f"pinhole_of_reading takes points (F, N, 3) and pixels (F, N, 2) (one pose: add the frame "
                         f"axis, [None]), got {points_cam.shape} and {pixels.shape}")
    if visible is None:
        visible = np.isfinite(points_cam).all(-1) & np.isfinite(pixels).all(-1)
    elif np.shape(visible) != points_cam.shape[:2]:
        raise ValueError(f"visible must be (F, N) = {points_cam.shape[:2]}, got {np.shape(visible)}")
    w = np.asarray(visible, dtype=bool)[..., None]
    bad = w[..., 0] & ~(np.isfinite(points_cam).all(-1) & np.isfinite(pixels).all(-1) & (points_cam[..., 2] > 0))
    if bad.any():
        f, i = np.argwhere(bad)[0]
        raise ValueError(f"frame {f}, landmark {i}: a visible point must be finite, in front of the camera (z > 0) "
                         f"and have a finite pixel, got {points_cam[f, i].tolist()} at {pixels[f, i].tolist()}: "
                         f"pinhole_of_reading takes a camera reading (lift_with_camera's output), not lift()'s")
    ray = np.where(w, points_cam[..., :2] / np.where(w, points_cam[..., 2:3], 1.0), 0.0)   # (F, N, 2)
    px = np.where(w, pixels, 0.0)
    count = w.sum((1, 2)).astype(np.float64)                                    # (F,)
    mean_ray, mean_px = ray.sum(1) / count[:, None], px.sum(1) / count[:, None]  # (F, 2)
    if focal is not None:                       # c = mean u - f mean r: the least squares for a known f
        focal = np.broadcast_to(np.asarray(focal, dtype=np.float64), count.shape).copy()
        return focal, mean_px - focal[:, None] * mean_ray
    # centred normal equations: f = sum (r - mean r).(u - mean u) / sum |r - mean r|^2, c = mean u - f mean r
    dr, du = (ray - mean_ray[:, None]) * w, (px - mean_px[:, None]) * w
    spread = (dr ** 2).sum((1, 2))
    flat = spread <= 1e-24 * np.maximum((ray ** 2).sum((1, 2)), 1e-300)
    if flat.any():
        raise ValueError(f"frame {int(np.argmax(flat))}: its visible landmarks' rays do not determine a pinhole "
                         f"(fewer than two distinct rays)")
    focal = (dr * du).sum((1, 2)) / spread
    if not (focal > 0).all():
        raise ValueError(f"frame {int(np.argmax(~(focal > 0)))}: its points give a focal length of "
                         f"{focal[~(focal > 0)][0]:g}: they do not lie on their pixels' rays through a pinhole")
    principal = mean_px - focal[:, None] * mean_ray
    return focal, principal


def unproject_perspective(pixels: np.ndarray, depth: np.ndarray, focal: np.ndarray,
                          principal: np.ndarray) -> np.ndarray:
    """Inverse of :func:`project_perspective` given each point's depth ``z``.

    Args:
        pixels: ``(..., N, 2)`` pixel coordinates.
        depth: ``(..., N)`` camera-frame z (> 0).
        focal: ``(...)`` focal length in pixels; principal: ``(..., 2)``.
    Returns:
        ``(..., N, 3)`` camera-frame points.
    """
    focal = np.asarray(focal, dtype=np.float64)[..., None, None]
    xy = (pixels - np.asarray(principal, dtype=np.float64)[..., None, :]) / focal * depth[..., None]
    return np.concatenate([xy, depth[..., None]], axis=-1)


def host_tensor(x: np.ndarray | None, dtype: type = np.float64) -> torch.Tensor | None:
    """``x`` as a CPU tensor of ``dtype`` (a copy of its own: the numpy faces of the torch functions take arrays
    that may be read-only views); None stays None."""
    return None if x is None else torch.from_numpy(np.array(x, dtype=dtype))


def visible_centroid(points: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Centroid ``(F, D)`` of the visible landmarks of ``points (F, N, D)`` (e.g. 2D pixels, or depths ``(F, N, 1)``;
    ``visible (F, N)`` bool, at least one per frame); values where not visible are ignored (may be NaN)."""
    w = np.asarray(visible, dtype=bool)[..., None]
    return np.where(w, points, 0.0).sum(1) / w.sum(1)


def guessed_pinhole(pixels: np.ndarray, visible: np.ndarray | None, span_over_focal: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """A stand-in for unknown intrinsics, from the landmarks alone: ``(point (F, 2), kappa (F,))`` float64.

    The principal point's stand-in is the 2D bounding-box centre of ``pixels (F, N, 2)`` where ``visible (F, N)``
    (None: every landmark; the lifter passes every landmark where its lift puts it, the subject's whole extent)
    and ``kappa`` (one over the focal length) is ``span_over_focal`` over the box's larger side: a subject
    spanning that share of a focal length. A frame whose boxed landmarks coincide gets ``kappa = 0``
    (orthographic). The numpy face of :func:`guessed_pinhole_torch`.
    """
    point, kappa = guessed_pinhole_torch(host_tensor(pixels), host_tensor(visible, bool), span_over_focal)
    return point.numpy(), kappa.numpy()


def guessed_pinhole_of_lift(lift: np.ndarray, points2d: np.ndarray, visible: np.ndarray, span_over_focal: float
                            ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`guessed_pinhole` of the whole lifted subject: ``(point (F, 2), kappa (F,))`` float64 from the box of
    every landmark where the lift ``(F, N, 3)`` (``lift()``'s form: x, y relative to the visible landmarks' 2D
    centroid) puts it in the image of ``points2d (F, N, 2)`` pixels (``visible (F, N)``; values where not visible
    are ignored and may be NaN): visible landmarks at their pixels, hidden ones at their predicted pixels. The
    guess ``lift_with_camera`` reads through when no intrinsics are given."""
    centre = visible_centroid(np.where(visible[..., None], points2d, 0.0), visible)
    return guessed_pinhole(np.asarray(lift[..., :2], dtype=np.float64) + centre[:, None], None, span_over_focal)


def perspective_reading(lift: np.ndarray, centre: np.ndarray, visible: np.ndarray, focal: np.ndarray,
                        principal: np.ndarray) -> np.ndarray:
    """Read an orthographic lift through a pinhole camera of known intrinsics.

    A lift in ``lift()``'s form keeps each visible landmark's pixel position as its x, y and adds a depth at the
    scale of the image (pixels per unit at the subject's depth): an orthographic reading of a perspective image.
    With the intrinsics, each landmark is put back on its own ray instead: the visible landmarks' mean depth is
    set to ``focal`` (the units where one pixel at that depth is one unit, which are the lift's units), each
    landmark's depth is ``focal + z - mean visible z``, and its x, y are unprojected at that depth. Closed form:
    a lift holding the true depth (at that scale) gives back the true camera-frame points times
    ``focal / mean visible depth``.

    Args:
        lift: ``(F, N, 3)`` x, y in pixels relative to ``centre``, z depth in the same units (any offset).
        centre: ``(F, 2)`` pixel position of the lift's origin (``lift()``: the visible landmarks' centroid).
        visible: ``(F, N)`` bool, the landmarks whose depths set the reference depth (at least one per frame).
        focal: ``(F,)`` focal length in pixels (> 0); principal: ``(F, 2)`` principal point in pixels.
    Returns:
        ``(F, N, 3)`` float64 camera-frame points (x right, y down, z forward) whose perspective projection is
        ``lift[..., :2] + centre``, in units where the visible landmarks' mean depth equals ``focal``; multiply
        by ``distance / focal`` for the units of a known mean distance.
    Raises:
        ValueError: a landmark would land on or behind the camera (depth <= 0): the focal length is shorter
            than the lift's reach towards the camera from the visible landmarks' mean depth, e.g. not in pixels.
    """
    lift = np.asarray(lift, dtype=np.float64)
    focal = np.asarray(focal, dtype=np.float64)
    w = np.asarray(visible, dtype=bool)
    z = lift[..., 2]
    z_ref = visible_centroid(z[..., None], w)                                      # (F, 1)
    depth = focal[:, None] + z - z_ref                                             # (F, N)
    if np.any(~(depth > 0)):
        f = int(np.argmax((~(depth > 0)).any(1)))
        raise ValueError(f"focal length {focal[f]:g} px is shorter than the lifted depth range of frame {f} "
                         f"(its landmarks reach {float((z_ref[f] - z[f]).max()):.0f} px towards the camera from the "
                         f"visible ones' mean depth): give the focal length in pixels")
    return unproject_perspective(lift[..., :2] + np.asarray(centre, dtype=np.float64)[:, None], depth, focal,
                                 principal)


def project_orthographic(points_cam: np.ndarray, scale: np.ndarray | float = 1.0) -> np.ndarray:
    """Scaled orthographic projection ``s * (x, y)``: ``(..., N, 3)`` -> ``(..., N, 2)``."""
    return np.asarray(scale, dtype=np.float64)[..., None, None] * points_cam[..., :2]


def similarity_procrustes(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Align ``pred`` to ``gt`` by the best similarity transform (rotation with det = +1, scale, translation): the
    numpy face of :func:`similarity_procrustes_torch`, computed in float64.

    Args:
        pred: ``(B, N, 3)`` predictions; gt: ``(B, N, 3)`` ground truth; mask: ``(B, N)`` bool, the landmarks
            that take part (default: all finite in both). Each row needs at least 3 of them.
    Returns:
        ``(B, N, 3)`` float64: ``s R pred + t`` (every landmark transformed, masked or not).
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if mask is None:
        mask = np.isfinite(pred).all(-1) & np.isfinite(gt).all(-1)
    return similarity_procrustes_torch(host_tensor(pred), host_tensor(gt), host_tensor(mask, bool)).numpy()


def aligned_errors(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-landmark Euclidean error ``(B, N)`` after :func:`similarity_procrustes`; NaN where ``mask`` is False."""
    aligned = similarity_procrustes(pred, gt, mask)
    err = np.linalg.norm(aligned - np.asarray(gt, dtype=np.float64), axis=-1)
    return np.where(mask, err, np.nan)


def rms_radius(points: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """RMS distance ``(B,)`` of the masked landmarks of ``points (B, N, D)`` from their centroid."""
    w = mask.astype(np.float64)[..., None]
    p = np.where(mask[..., None], points, 0.0)
    mu = (p * w).sum(1, keepdims=True) / np.maximum(w.sum(1, keepdims=True), 1.0)
    return np.sqrt((((p - mu) * w) ** 2).sum((1, 2)) / np.maximum(w.sum((1, 2)), 1.0))


def rigid_factorisation(points2d: np.ndarray, visible: np.ndarray, max_views: int = 3000
                        ) -> tuple[np.ndarray, np.ndarray]:
    """One rigid 3D shape from 2D views alone: orthographic structure from motion (Tomasi and Kanade 1992).

    The views with every landmark visible, each centred and scaled to unit RMS radius, are stacked as a
    ``(2F, N)`` measurement matrix, whose best rank-3 factorisation is ``M S``; the metric upgrade ``Q`` (least
    squares on ``M Q Q^T M^T``: each view's two rows orthogonal and of equal length) turns ``S`` into the shape.
    Each view is a scaled orthographic camera (its scale is free), so the views' distances may differ.
    For a rigid object seen by orthographic cameras the result is the object up to a similarity and a reflection
    (the depth sign, which orthographic views cannot tell); for a deforming one it is a rigid average.

    Args:
        points2d: ``(M, N, 2)`` views (NaN allowed where not visible); visible: ``(M, N)`` bool.
        max_views: at most this many fully visible views are used (the first ones).
    Returns:
        ``shape (N, 3)`` centred, unit RMS radius, in the frame of its principal axes (sign of the third axis
        arbitrary), and ``singular (min(2F, N),)``: the measurement matrix's singular values over the largest, whose
        fourth and further entries say how far the views are from one rigid shape (0 for exact rigidity).
    Raises:
        ValueError: fewer than 3 views with every landmark visible, or fewer than 4 landmarks.
    """
    full = np.asarray(visible, dtype=bool).all(1)
    p = np.asarray(points2d, dtype=np.float64)[full][:max_views]
    if len(p) < 3 or p.shape[1] < 4:
        raise ValueError(f"rigid_factorisation needs >= 3 fully visible views of >= 4 landmarks, got {len(p)} "
                         f"views of {p.shape[1]}")
    p = p - p.mean(1, keepdims=True)
    p /= np.sqrt((p ** 2).sum((1, 2)) / p.shape[1])[:, None, None]
    W = p.transpose(0, 2, 1).reshape(-1, p.shape[1])                       # (2F, N): x rows then y rows per view
    U, sv, Vt = np.linalg.svd(W, full_matrices=False)
    M, S = U[:, :3] * np.sqrt(sv[:3]), np.sqrt(sv[:3])[:, None] * Vt[:3]    # W ~ M S
    a, b = M[0::2], M[1::2]                                                 # (F, 3) each view's x and y rows

    def quad(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Rows of the linear map from the symmetric L's 6 entries to x^T L y."""
        return np.stack([x[:, 0] * y[:, 0], x[:, 0] * y[:, 1] + x[:, 1] * y[:, 0],
                         x[:, 0] * y[:, 2] + x[:, 2] * y[:, 0], x[:, 1] * y[:, 1],
                         x[:, 1] * y[:, 2] + x[:, 2] * y[:, 1], x[:, 2] * y[:, 2]], 1)

    # Each view's rows orthogonal and of equal length (its own scale is free: scaled orthographic views); the
    # first view's x row of unit length fixes the overall scale.
    A = np.concatenate([quad(a, a) - quad(b, b), quad(a, b), quad(a[:1], a[:1])])
    rhs = np.concatenate([np.zeros(2 * len(a)), np.ones(1)])
    q = np.linalg.lstsq(A, rhs, rcond=None)[0]
    L = np.array([[q[0], q[1], q[2]], [q[1], q[3], q[4]], [q[2], q[4], q[5]]])   # L = Q Q^T
    w, V = np.linalg.eigh(L)
    Q = V * np.sqrt(np.clip(w, 1e-12, None))
    shape = (np.linalg.solve(Q, S)).T                                       # (N, 3)
    shape -= shape.mean(0)
    _, _, axes = np.linalg.svd(shape, full_matrices=False)
    shape = shape @ axes.T                                                  # principal axes: a canonical frame
    shape /= np.sqrt((shape ** 2).sum(1).mean())
    return shape, sv / sv[0]


# ----------------------------------------------------------------------------------------------- torch (training)

def normalise_2d(points: torch.Tensor, visible: torch.Tensor, eps: float = 1e-6
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Centre 2D landmarks on the visible ones' centroid and divide by their RMS radius.

    Args:
        points: ``(B, N, 2)``; values where not visible are ignored (may be NaN).
        visible: ``(B, N)`` bool.
    Returns:
        ``p (B, N, 2)`` normalised (0 where not visible), ``centre (B, 2)``, ``scale (B,)`` with
        ``points = p * scale + centre`` on visible landmarks.
    """
    w = visible.to(points.dtype)[..., None]                                  # (B, N, 1)
    x = torch.where(visible[..., None], points, torch.zeros_like(points))
    count = w.sum(1).clamp_min(1.0)                                          # (B, 1)
    centre = (x * w).sum(1) / count                                          # (B, 2)
    xc = (x - centre[:, None]) * w
    scale = ((xc ** 2).sum((1, 2)) / count[:, 0]).sqrt().clamp_min(eps)      # (B,)
    return xc / scale[:, None, None], centre, scale


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean ``(B, D)`` of the masked rows ``mask (B, N)`` of ``x (B, N, D)`` (0 for a row-less batch entry);
    values outside the mask are ignored (may be NaN)."""
    w = mask[..., None]
    return x.masked_fill(~w, 0).sum(1) / w.sum(1).clamp_min(1).to(x.dtype)


def masked_centre(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``x (B, N, D)`` minus the mean of its masked rows ``mask (B, N)`` (:func:`masked_mean`)."""
    return x - masked_mean(x, mask)[:, None]


def similarity_procrustes_torch(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """:func:`similarity_procrustes` on tensors (any device): ``pred (B, N, 3)`` aligned to ``gt (B, N, 3)`` on the
    landmarks of ``mask (B, N)`` (at least 3 per row; values outside it are ignored for the fit) by a rotation
    with det = +1, a scale and a translation -> ``s R pred + t (B, N, 3)`` in float64, every landmark
    transformed."""
    pred = pred.to(torch.float64)
    scale, R, mu_p, mu_g = similarity_fit_torch(pred, gt, mask)
    return scale[:, None, None] * ((pred - mu_p) @ R.transpose(1, 2)) + mu_g


def similarity_fit_torch(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The transform of :func:`similarity_procrustes_torch` itself (differentiable, float64).

    Returns:
        ``scale (B,)``, rotation ``R (B, 3, 3)`` (det = +1) and the masked centroids ``mu_pred (B, 1, 3)`` and
        ``mu_gt (B, 1, 3)``: the aligned points are ``scale * (pred - mu_pred) @ R.T + mu_gt``.
    """
    pred, gt = pred.to(torch.float64), gt.to(torch.float64)
    w = mask.to(torch.float64)[..., None]                                    # (B, N, 1)
    count = w.sum(1, keepdim=True).clamp_min(1.0)
    p = pred.masked_fill(~mask[..., None], 0.0)
    g = gt.masked_fill(~mask[..., None], 0.0)
    mu_p, mu_g = (p * w).sum(1, keepdim=True) / count, (g * w).sum(1, keepdim=True) / count
    pc, gc = (p - mu_p) * w, (g - mu_g) * w
    cov = gc.transpose(1, 2) @ pc                                            # (B, 3, 3) sum g p^T
    U, S, Vt = torch.linalg.svd(cov)
    M = U @ Vt                                                               # orthogonal: det = m0 . (m1 x m2) = +-1
    d = torch.sign((M[:, 0] * torch.linalg.cross(M[:, 1], M[:, 2])).sum(-1))  # -1 where a reflection is best
    D = torch.cat([torch.ones_like(S[:, :2]), d[:, None]], -1)
    R = U @ (D[..., None] * Vt)                                              # (B, 3, 3) rotation, det +1
    var_p = (pc ** 2).sum((1, 2))
    scale = (S * D).sum(-1) / var_p.clamp_min(1e-12)                         # (B,)
    return scale, R, mu_p, mu_g


def similarity_back_torch(points: torch.Tensor, scale: torch.Tensor, R: torch.Tensor, mu_pred: torch.Tensor,
                          mu_gt: torch.Tensor) -> torch.Tensor:
    """``points (B, N, 3)`` in ``gt``'s frame mapped back into ``pred``'s by the inverse of the transform
    :func:`similarity_fit_torch` returned (``scale (B,)``, ``R (B, 3, 3)``, ``mu_pred``, ``mu_gt (B, 1, 3)``):
    ``(points - mu_gt) @ R / scale + mu_pred``."""
    return (points - mu_gt) @ R / scale[:, None, None] + mu_pred


def closest_orthographic_form(shape: torch.Tensor, xy: torch.Tensor, visible: torch.Tensor,
                              depth: torch.Tensor | None = None, max_rounds: int = 100, tolerance: float = 1e-9
                              ) -> torch.Tensor:
    """The lift of DESIGN.md's orthographic form closest to ``shape`` up to a similarity transform.

    The form: each visible landmark keeps its 2D ``xy`` as x, y and only its depth is free. Least squares over
    those depths and a similarity (rotation with det = +1, scale, translation) mapping the lift onto ``shape``'s
    visible landmarks, by block coordinate descent: given the depths, the similarity is :func:`similarity_fit_torch`;
    given the similarity, each depth is the point of its line ``(x, y, *)`` nearest the mapped shape. Each half-step
    is exact, so the error never rises; it stops after ``max_rounds`` rounds or once no view's error falls by more
    than ``tolerance`` (relative). Hidden landmarks are then ``shape``'s points mapped into the lift's frame.

    Args:
        shape: ``(B, N, 3)`` the shape to match (any frame, units, translation); its depth sign is kept.
        xy: ``(B, N, 2)`` the 2D (any translation and units; rows of hidden landmarks are ignored).
        visible: ``(B, N)`` bool, at least 3 per view (the depths of views with fewer are not determined).
        depth: ``(B, N)`` starting depths in ``xy``'s units; default ``shape``'s own depths scaled by the ratio of
            the 2D's size to ``shape``'s x, y size on the visible landmarks.
    Returns:
        ``(B, N, 3)`` float64: x, y = ``xy`` on visible landmarks; z relative to the visible landmarks' mean depth.
    """
    shape, xy = shape.to(torch.float64), xy.to(torch.float64)
    w = visible.to(torch.float64)
    count = w.sum(1).clamp_min(1.0)                                          # (B,)
    if depth is None:                                                        # scaled by the RMS 2D radii's ratio
        depth = shape[..., 2] * (normalise_2d(xy, visible)[2] / normalise_2d(shape[..., :2], visible)[2])[:, None]
    xy = xy.masked_fill(~visible[..., None], 0.0)
    lift = torch.cat([xy, depth.to(torch.float64)[..., None]], -1)           # (B, N, 3)
    error = None
    for _ in range(max_rounds):
        scale, R, mu_p, mu_g = similarity_fit_torch(lift, shape, visible)
        back = similarity_back_torch(shape, scale, R, mu_p, mu_g)            # the shape in the lift's frame
        lift = torch.cat([xy, back[..., 2:]], -1)
        new_error = scale ** 2 * (((lift - back) ** 2).sum(-1) * w).sum(1)     # (B,) in shape's units
        if error is not None and bool(((error - new_error) <= tolerance * error.clamp_min(1e-30)).all()):
            break
        error = new_error
    scale, R, mu_p, mu_g = similarity_fit_torch(lift, shape, visible)
    back = similarity_back_torch(shape, scale, R, mu_p, mu_g)
    lift = torch.where(visible[..., None], lift, back)
    mean_depth = (lift[..., 2] * w).sum(1, keepdim=True) / count[:, None]
    return torch.cat([lift[..., :2], lift[..., 2:] - mean_depth[..., None]], -1)


def guessed_pinhole_torch(pixels: torch.Tensor, visible: torch.Tensor | None, span_over_focal: float
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`guessed_pinhole` on tensors (any device): ``pixels (F, N, 2)``, ``visible (F, N)`` bool or None
    (every landmark) -> ``(point (F, 2), kappa (F,))`` in ``pixels``' dtype."""
    if visible is None:
        lo, hi = pixels.amin(1), pixels.amax(1)
    else:
        hidden = ~visible[..., None]
        lo = pixels.masked_fill(hidden, math.inf).amin(1)
        hi = pixels.masked_fill(hidden, -math.inf).amax(1)
    size = (hi - lo).amax(-1)
    return (lo + hi) / 2, (span_over_focal / size).masked_fill(~(size > 0), 0)


def random_rotations(n: int, generator: torch.Generator | None = None, max_tilt_deg: float = 10.0,
                     device: torch.device | str = "cpu") -> torch.Tensor:
    """Random camera-frame rotations ``(n, 3, 3)``: yaw uniform over 360 deg about the image's vertical (y)
    axis, then a tilt up to ``max_tilt_deg`` about the x axis (the cycle's novel views)."""
    yaw = torch.rand(n, generator=generator) * 2 * math.pi
    tilt = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(max_tilt_deg)
    cy, sy, ct, st = yaw.cos(), yaw.sin(), tilt.cos(), tilt.sin()
    o, z = torch.ones(n), torch.zeros(n)
    Ry = torch.stack([torch.stack([cy, z, sy], -1), torch.stack([z, o, z], -1), torch.stack([-sy, z, cy], -1)], -2)
    Rx = torch.stack([torch.stack([o, z, z], -1), torch.stack([z, ct, -st], -1), torch.stack([z, st, ct], -1)], -2)
    return (Rx @ Ry).to(device)


def perspective_divide(points: torch.Tensor) -> torch.Tensor:
    """Pinhole projection with unit focal length: ``(B, N, 3)`` with z > 0 -> ``(B, N, 2)`` = ``(x, y) / z``."""
    return points[..., :2] / points[..., 2:3]


def rotation_x_torch(angle: torch.Tensor) -> torch.Tensor:
    """Rotations ``(B, 3, 3)`` by ``angle (B,)`` radians about the x axis (differentiable in ``angle``)."""
    c, s = angle.cos(), angle.sin()
    o, z = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack([torch.stack([o, z, z], -1), torch.stack([z, c, -s], -1), torch.stack([z, s, c], -1)], -2)


def random_perspective_view(shape: torch.Tensor, mask: torch.Tensor, max_tilt_deg: float,
                            distance_range: tuple[float, float], generator: torch.Generator,
                            elevation: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """View a shape from a random camera: rotate it (:func:`random_rotations`) and project it with a unit-focal
    pinhole at a random distance, log-uniform in ``distance_range`` x its RMS radius (kept beyond its nearest
    point), then normalise the 2D (:func:`normalise_2d`).

    ``elevation (B,)`` (radians, the camera's elevation as a lifter predicts it): the yaw then turns the shape
    about the *world's* vertical instead of the image's: the shape is first tilted upright by ``-elevation``
    about the x axis, turned by :func:`random_rotations`, then tilted to a new elevation drawn from a normal
    distribution with the batch's (detached) mean and spread of ``elevation`` (ElePose, Wandt et al. 2022). A
    camera above the subject then stays above it whichever way the shape turns, as the data's cameras do;
    turned about the image's vertical, a view from 40 deg above becomes one from 40 deg below at half a turn.

    Args:
        shape: ``(B, N, 3)``; mask: ``(B, N)`` the landmarks that take part (at least one per row).
    Returns:
        ``R (B, 3, 3)``, the rotated centred shape ``(B, N, 3)`` (differentiable in ``shape``), its normalised
        2D ``(B, N, 2)``, and the view's ``centre (B, 2)``, ``scale (B,)`` and ``distance (B,)`` (for
        :func:`unproject_lift`; the distance does not carry gradients).
    """
    B = shape.shape[0]
    centred = masked_centre(shape, mask)
    R = random_rotations(B, generator, max_tilt_deg, device=shape.device)
    if elevation is not None:
        e = elevation.detach()
        new = e.mean() + e.std(unbiased=False) * torch.randn(B, generator=generator).to(shape.device)
        R = rotation_x_torch(new) @ R @ rotation_x_torch(-elevation)
    rotated = centred @ R.transpose(1, 2)                                    # (B, N, 3)
    w = mask.to(shape.dtype)
    radius = ((centred.detach() ** 2).sum(-1) * w).sum(1).div(w.sum(1).clamp_min(1.0)).sqrt()  # (B,)
    lo, hi = (math.log(r) for r in distance_range)
    dist = radius * torch.exp(lo + (hi - lo) * torch.rand(B, generator=generator)).to(shape.device)
    nearest = (-rotated.detach()[..., 2]).masked_fill(~mask, -1e9).amax(1)
    dist = torch.maximum(dist, nearest + 0.5 * radius)                       # keep every point in front
    cam = rotated + torch.stack([torch.zeros_like(dist), torch.zeros_like(dist), dist], -1)[:, None]
    p, centre, scale = normalise_2d(perspective_divide(cam), mask)
    return R, rotated, p, centre, scale, dist


def orthographic_camera(points3d: torch.Tensor, points2d: torch.Tensor, mask: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed-form scaled orthographic camera: ``s, R`` minimising ``|s R X - x|^2`` over the masked landmarks.

    ``R (B, 2, 3)`` has orthonormal rows (the nearest such matrix to the least-squares linear map, by SVD) and
    ``s (B,)`` is the least-squares scale for that ``R``. Inputs: ``points3d (B, N, 3)``, ``points2d (B, N, 2)``,
    ``mask (B, N)``; both are centred on the masked landmarks first. This is the 2D-LFM textbook camera; the
    training recipe here uses a perspective re-projection instead (see the README for why).
    """
    X = masked_centre(points3d, mask) * mask[..., None]
    x = masked_centre(points2d, mask) * mask[..., None]
    eye = torch.eye(3, dtype=X.dtype, device=X.device)
    A = x.transpose(1, 2) @ X @ torch.linalg.inv(X.transpose(1, 2) @ X + 1e-9 * eye)  # (B, 2, 3) least squares
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)                      # U (B,2,2), Vh (B,2,3)
    R = U @ Vh                                                               # nearest orthonormal rows
    RX = X @ R.transpose(1, 2)                                               # (B, N, 2)
    s = (RX * x).sum((1, 2)) / (RX ** 2).sum((1, 2)).clamp_min(1e-12)
    return s, R


def unproject_lift(lift: torch.Tensor, centre: torch.Tensor, scale: torch.Tensor, distance: torch.Tensor,
                   mask: torch.Tensor) -> torch.Tensor:
    """Undo a unit-focal perspective view: the 3D, in the viewed shape's units, of a lift of that view.

    A shape centred at the origin was viewed from ``distance (B,)`` (camera frame: shape + (0, 0, d)),
    projected as ``q = (x, y) / z`` and normalised as ``p = (q - centre) / scale``. Given a lift of ``p``
    (``lift (B, N, 3)``: x, y = p, z = depth in the same normalised units, known up to an offset), each point's
    depth is ``Z = d + (z - mean z) * d * scale`` and its 3D ``(q Z, Z - d)``: exact when the lifted depth is
    right, so that comparing with the shape leaves no perspective residual.
    """
    q = lift[..., :2] * scale[:, None, None] + centre[:, None]               # (B, N, 2) unit-focal image
    w = mask.to(lift.dtype)
    z = lift[..., 2] - (lift[..., 2] * w).sum(1, keepdim=True) / w.sum(1, keepdim=True).clamp_min(1.0)
    d = distance[:, None]
    Z = d + z * d * scale[:, None]                                           # (B, N)
    return torch.cat([q * Z[..., None], (Z - d)[..., None]], -1)
