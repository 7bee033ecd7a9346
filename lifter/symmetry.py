"""Test-time symmetry refinement: the depths of a lift of a mirror-symmetric object, made symmetric.

A chair or a face is left/right symmetric in 3D (:attr:`lifter.skeletons.Category.symmetric_shape`): every
landmark ``i`` has a mirror partner ``p[i]`` (itself for landmarks on the symmetry plane) and the reflection through
one plane maps the one onto the other. A single view of a symmetric object is, in effect, two views (the object
and its mirror image), which is why symmetry pins depth where a 2D prior alone leaves it loose (Vetter & Poggio,
1994). The lifter's network learns the symmetry only approximately; this module adjusts the depths of its lift,
landmark by landmark along each landmark's ray, so that the shape becomes symmetric, while staying close to the
network's depths.

The model (all in the lift's pixel units): landmark ``i`` at pixel offset ``a_i`` from the principal point, with
depth ``z_i`` relative to the visible landmarks' mean depth, sits at ``X_i = (a_i (1 + kappa z_i), z_i)`` where
``kappa = 1 / focal`` (``kappa = 0``: orthographic). :func:`lifter.geometry.perspective_reading` reads a lift this
way (up to its translation along z). The refinement alternates

1. the symmetry plane ``n . x = d`` of the current points: ``n`` the dominant direction of the differences
   ``X_i - X_p[i]`` over the mirror pairs, ``d`` the mean of ``n . x`` over the pairs' midpoints and the landmarks
   that are their own partners;
2. the depths that minimise ``sum_i |X_p[i] - H X_i - 2 d n|^2 + weight * sum_i (z_i - z0_i)^2`` with
   ``H = I - 2 n n^T`` (the residual of the reflection; the second term keeps the network's depths ``z0``). The
   residual of a pair involves only its two depths, so this is a 2 x 2 (pairs) or 1 x 1 (landmarks on the plane)
   linear solve per pair, in closed form for every frame at once.

Only landmarks that are visible, and whose partner is visible too, take part; the others keep their depths, or,
with the camera known (:func:`refine_lift` for ``lift_with_camera``), a hidden landmark whose partner takes part
becomes the partner's reflection.
Measured by ``python -m lifter.evaluate`` (row "without the symmetry refinement") and in
docs/lifter-experiments.md (*Symmetry refinement at test time*).
"""

from __future__ import annotations

import numpy as np
import torch

from lifter.geometry import guessed_pinhole_torch, host_tensor, masked_mean
from lifter.skeletons import categories

#: Default ``kappa x (2D bounding-box size of the lifted subject)`` when the focal length is not known
#: (:meth:`lift`; :func:`lifter.geometry.guessed_pinhole`): a subject spanning about 45 % of a focal length, the
#: middle of the benchmark's cameras (focal 1.0-1.5 x the image width, subject 40-80 % of it) and of a phone
#: camera's (focal about 0.8 x the long side) at arm's length.
DEFAULT_SPAN_OVER_FOCAL = 0.45
#: Weight of the network's depths against the symmetry residual, per category: chosen on training views
#: (``scripts/symmetry_check.py``; docs/lifter-experiments.md, *Symmetry refinement at test time*).
DEFAULT_WEIGHTS = {"chair": 0.1, "face468": 1.0}
#: Plane / depth alternations of :func:`refine_lift` (measured on training views: docs/lifter-experiments.md).
DEFAULT_ITERATIONS = 16
#: Fewest mirror pairs (two distinct visible partners) for the plane to be fitted.
MIN_PAIRS = 2


def _unordered_pairs(perm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i (P,), j (P,), on_plane (S,))``: each mirror pair ``i < j = perm[i]`` once, and the fixed points."""
    idx = np.arange(len(perm))
    first = idx < perm
    return idx[first], perm[first], idx[perm == idx]


def _plane(Xi: torch.Tensor, Xj: torch.Tensor, Xs: torch.Tensor, wp: torch.Tensor, w_all: torch.Tensor,
           w_sum: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The symmetry plane of the pairs' points ``Xi, Xj (F, P, 3)`` (one side, the other) weighted ``wp (F, P)``
    and of the on-plane landmarks' ``Xs (F, S, 3)``, the pairs' midpoints and those landmarks weighted ``w_all
    (F, P + S)`` (wp, then ws) with ``w_sum (F,)`` the larger of their sum and 1: ``(n (F, 3) unit normal, d (F,)
    offset, H (F, 3, 3) reflection matrix I - 2 n n^T)``. (The sign of ``n`` is arbitrary; ``H`` and ``d n`` do
    not depend on it.)"""
    eye = torch.eye(3, dtype=Xi.dtype, device=Xi.device)
    diff = (Xi - Xj) * wp[..., None]                                           # (F, P, 3)
    _, vecs = torch.linalg.eigh(diff.transpose(1, 2) @ diff + 1e-12 * eye)
    n = vecs[..., -1]                                                          # (F, 3) dominant direction
    mids = torch.cat([0.5 * (Xi + Xj), Xs], 1) @ n[..., None]                  # (F, P+S, 1)
    d = (mids[..., 0] * w_all).sum(1) / w_sum                                  # (F,)
    return n, d, eye - 2 * n[:, :, None] * n[:, None, :]


def symmetrize(offsets: np.ndarray, depths: np.ndarray, use: np.ndarray, perm: np.ndarray, kappa: np.ndarray,
               weight: float = 1.0, iterations: int = DEFAULT_ITERATIONS, fill: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """A lift made mirror-symmetric (module docstring): the numpy face of :func:`symmetrize_torch` (same
    arguments as numpy arrays; ``kappa`` ``(F,)`` or a number), computed in float64.

    Returns:
        ``(offsets (F, N, 2), depths (F, N))`` float64 numpy arrays.
    """
    F = np.shape(depths)[0]
    kappa = np.broadcast_to(np.asarray(kappa, dtype=np.float64), (F,))
    a, z = symmetrize_torch(host_tensor(offsets), host_tensor(depths), host_tensor(use, bool), np.asarray(perm),
                            host_tensor(kappa), weight, iterations, host_tensor(fill, bool))
    return a.numpy(), z.numpy()


def symmetrize_torch(offsets: torch.Tensor, depths: torch.Tensor, use: torch.Tensor, perm: np.ndarray,
                     kappa: torch.Tensor, weight: float = 1.0, iterations: int = DEFAULT_ITERATIONS,
                     fill: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A lift made mirror-symmetric: its depths moved along the rays, close to the given ones (module docstring),
    on the tensors' device (every frame at once, no host round trip: the form ``lift()`` runs on a GPU).

    Args:
        offsets: ``(F, N, 2)`` pixel offsets ``a`` of the landmarks from the principal point (or its stand-in).
        depths: ``(F, N)`` the lift's depths ``z0``, in pixel units, relative to the visible landmarks' mean.
        use: ``(F, N)`` bool, landmarks that may take part (visible, and not left out of the symmetry); a pair
            takes part only when both its landmarks do.
        perm: ``(N,)`` numpy, the mirror permutation (an involution: ``perm[perm] == arange(N)``).
        kappa: ``(F,)`` one over the focal length in pixels (0: orthographic reading).
        weight: weight of ``(z - z0)^2`` against the squared symmetry residual (> 0).
        iterations: plane / depth alternations.
        fill: ``(F, N)`` bool or None: landmarks (not taking part, e.g. hidden) to be replaced by the reflection
            of their partner through the final plane when the partner takes part; their offsets change too.
    Returns:
        ``(offsets (F, N, 2), depths (F, N))`` float64. Landmarks that do not take part (and are not filled), and
        every landmark of a frame with fewer than :data:`MIN_PAIRS` pairs taking part, keep their values.
    Raises:
        ValueError: a weight that is not positive.
    """
    if weight <= 0:
        raise ValueError(f"weight must be positive, got {weight}")
    f64, device = torch.float64, offsets.device
    a0, z0 = offsets.to(f64), depths.to(f64)
    F, N = z0.shape
    kappa = kappa.to(f64)
    pi, pj, on_plane = (torch.as_tensor(i, device=device) for i in _unordered_pairs(np.asarray(perm)))
    ok = use & torch.isfinite(a0).all(-1) & torch.isfinite(z0)
    pair_ok = ok[:, pi] & ok[:, pj]                                            # (F, P)
    self_ok = ok[:, on_plane]                                                  # (F, S)
    frame_ok = pair_ok.sum(1) >= MIN_PAIRS                                     # (F,)
    pair_ok &= frame_ok[:, None]
    self_ok &= frame_ok[:, None]
    a = a0.masked_fill(~ok[..., None], 0.0)
    z0 = z0.masked_fill(~ok, 0.0)
    base = torch.cat([a, a.new_zeros(F, N, 1)], -1)                            # (F, N, 3): X at z = 0
    ray = torch.cat([kappa[:, None, None] * a, a.new_ones(F, N, 1)], -1)      # (F, N, 3): dX / dz
    wp = pair_ok.to(f64)
    w_all = torch.cat([wp, self_ok.to(f64)], 1)
    w_sum = w_all.sum(1).clamp_min(1)
    # the iterations work on the pairs' first landmarks (i), their second ones (j) and the on-plane ones (s):
    # points at z = 0, rays and the network's depths do not change, only the depths z
    base_i, base_j, base_s = base[:, pi], base[:, pj], base[:, on_plane]
    ray_i, g, ray_s = ray[:, pi], ray[:, pj], ray[:, on_plane]
    gg = (g * g).sum(-1)
    z0i, z0j, z0s = weight * z0[:, pi], weight * z0[:, pj], weight * z0[:, on_plane]
    zi, zj, zs = z0[:, pi], z0[:, pj], z0[:, on_plane]
    for _ in range(iterations):
        n, d, H = _plane(base_i + zi[..., None] * ray_i, base_j + zj[..., None] * g, base_s + zs[..., None] * ray_s,
                         wp, w_all, w_sum)
        # A pair (i, j): r = c + z_j g_j - z_i h_i, c = a_j - H a_i - 2 d n (points at z = 0), h_i = H g_i;
        # its residual counts twice in the sum (from i and from j: |r_j| = |r_i|).
        c = base_j - base_i @ H - 2 * d[:, None, None] * n[:, None]          # (F, P, 3); H is symmetric
        h = ray_i @ H
        hh, hg = (h * h).sum(-1), (h * g).sum(-1)
        hc, gc = (h * c).sum(-1), (g * c).sum(-1)
        # Normal equations of 2|r|^2 + weight((z_i - z0_i)^2 + (z_j - z0_j)^2) in (z_i, z_j).
        m11, m12, m22 = 2 * hh + weight, -2 * hg, 2 * gg + weight
        b1, b2 = 2 * hc + z0i, -2 * gc + z0j
        det = m11 * m22 - m12 * m12
        zi = torch.where(pair_ok, (m22 * b1 - m12 * b2) / det, zi)
        zj = torch.where(pair_ok, (m11 * b2 - m12 * b1) / det, zj)
        # A landmark on the plane: r = 2 (n . X_i - d) n, |r|^2 = 4 (e + z m)^2, once in the sum.
        e = (base_s @ n[..., None])[..., 0] - d[:, None]
        m = (ray_s @ n[..., None])[..., 0]
        zs = torch.where(self_ok, (-4 * e * m + z0s) / (4 * m * m + weight), zs)
    z = torch.cat([zi, zj, zs], 1)[:, torch.argsort(torch.cat([pi, pj, on_plane]))]   # back in landmark order
    out_a = a0.clone()
    out_z = torch.where(ok, z, depths.to(f64))
    if fill is not None:
        X = base + z[..., None] * ray
        n, d, H = _plane(X[:, pi], X[:, pj], X[:, on_plane], wp, w_all, w_sum)
        perm_t = torch.as_tensor(np.asarray(perm), device=device)
        mirrored = torch.einsum("fkl,fnl->fnk", H, X[:, perm_t]) + 2 * d[:, None, None] * n[:, None]   # (F, N, 3)
        take = fill & ~ok & ok[:, perm_t] & frame_ok[:, None]
        zt = mirrored[..., 2]
        at = mirrored[..., :2] / (1 + kappa[:, None, None] * zt[..., None])   # back onto the image plane
        out_a = torch.where(take[..., None], at, out_a)
        out_z = torch.where(take, zt, out_z)
    return out_a, out_z


def refines(category: str) -> bool:
    """Whether :func:`refine_lift` changes lifts of ``category``: a registered category whose 3D shape is
    left/right symmetric (:attr:`lifter.skeletons.Category.symmetric_shape`)."""
    cat = categories().get(category)
    return cat is not None and cat.symmetric_shape and bool(cat.mirror_pairs)


def refine_lift(lift: np.ndarray, centre: np.ndarray, visible: np.ndarray, category: str,
                focal: np.ndarray | None = None, principal: np.ndarray | None = None, weight: float | None = None,
                span_over_focal: float = DEFAULT_SPAN_OVER_FOCAL, fill_hidden: bool | None = None,
                iterations: int = DEFAULT_ITERATIONS) -> np.ndarray:
    """:func:`symmetrize` applied to a lift in ``lift()``'s form: the numpy face of :func:`refine_lift_torch`
    (same arguments as numpy arrays), computed in float64.

    Returns:
        ``(F, N, 3)`` float32 in ``lift``'s frame: visible landmarks keep their x, y exactly.
    """
    lift = np.asarray(lift, dtype=np.float32)
    if not refines(category):
        return lift
    out = refine_lift_torch(host_tensor(lift), host_tensor(centre), host_tensor(visible, bool), category,
                            host_tensor(focal), host_tensor(principal), weight, span_over_focal, fill_hidden,
                            iterations)
    return out.numpy().astype(np.float32)


def refine_lift_torch(lift: torch.Tensor, centre: torch.Tensor, visible: torch.Tensor, category: str,
                      focal: torch.Tensor | None = None, principal: torch.Tensor | None = None,
                      weight: float | None = None, span_over_focal: float = DEFAULT_SPAN_OVER_FOCAL,
                      fill_hidden: bool | None = None, iterations: int = DEFAULT_ITERATIONS) -> torch.Tensor:
    """:func:`symmetrize_torch` applied to a lift in ``lift()``'s form, for a category with a symmetric shape, on
    the tensors' device.

    Without the camera (``lift()``) the principal point's stand-in is the 2D bounding-box centre of every landmark
    where the lift puts it (hidden ones at their predicted pixels: the whole subject, not just what is in view;
    ``scripts/partial_view_check.py``) and the focal length is the box's larger side over ``span_over_focal``; the
    landmarks that are not visible keep the network's prediction (reflecting their partner through that guessed
    camera was measured to be worse). With the camera (``focal``, ``principal``: ``lift_with_camera``), the
    landmarks that are not visible and whose partner is are replaced by the partner's reflection.

    Args:
        lift: ``(F, N, 3)`` x, y in pixels relative to ``centre``, z depth in the same units (any offset).
        centre: ``(F, 2)`` pixel position of the lift's origin (the visible landmarks' 2D centroid).
        visible: ``(F, N)`` bool.
        category: the landmarks' category; others than :func:`refines` names are returned unchanged.
        focal: ``(F,)`` focal lengths in pixels, or None; principal: ``(F, 2)`` pixels, or None.
        weight: :func:`symmetrize_torch`'s weight; None: the category's in :data:`DEFAULT_WEIGHTS` (else 1).
        span_over_focal: without the camera, the guessed ratio of the 2D extent to the focal length.
        fill_hidden: replace hidden landmarks by their partners' reflections; None: only with the camera.
        iterations: :func:`symmetrize_torch`'s plane / depth alternations.
    Returns:
        ``(F, N, 3)`` float64 in ``lift``'s frame: visible landmarks keep their x, y exactly.
    """
    lift = lift.to(torch.float64)
    if not refines(category):
        return lift
    cat = categories()[category]
    perm = np.asarray(cat.mirror_permutation())
    centre = centre.to(torch.float64)[:, None]                                   # (F, 1, 2)
    pixels = lift[..., :2] + centre
    if focal is None or principal is None:
        point, kappa = guessed_pinhole_torch(pixels, None, span_over_focal)         # every landmark
    else:
        point, kappa = principal.to(torch.float64), 1.0 / focal.to(torch.float64)
    if fill_hidden is None:
        fill_hidden = focal is not None and principal is not None
    z = lift[..., 2] - masked_mean(lift[..., 2:3], visible)                       # relative to the visible mean
    symmetric = torch.as_tensor(~np.isin(np.arange(len(perm)), cat.off_symmetry), device=lift.device)   # (N,)
    offsets, depths = symmetrize_torch(pixels - point[:, None], z, visible & symmetric, perm, kappa,
                                       weight=DEFAULT_WEIGHTS.get(category, 1.0) if weight is None else weight,
                                       iterations=iterations, fill=~visible & symmetric if fill_hidden else None)
    xy = torch.where(visible[..., None], lift[..., :2], offsets + point[:, None] - centre)
    return torch.cat([xy, depths[..., None]], -1)
