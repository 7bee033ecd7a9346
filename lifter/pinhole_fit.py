"""A shape basis fitted to 2D landmarks through a pinhole camera: per view, and over many views to make the basis.

A category whose instances are one shape up to a few proportions (faces: :mod:`lifter.data.face`) is described
by a :class:`lifter.shape_basis.ShapeBasis`: ``mean (N, 3) + sum_k c_k modes_k``. Seen through a pinhole with
principal point ``p``, a view's landmarks are

    ``pixels = f (X_x, X_y) / X_z + p``,  ``X = R (mean + sum_k c_k modes_k) + t``

with a rotation ``R`` (an axis-angle vector), a translation ``t`` (the shape's units: the mean has unit RMS
radius), a focal length ``f`` and the coefficients ``c``: ``7 + K`` numbers a view, packed as

    ``params (F, 7 + K)``: axis-angle (3), translation (3), log focal length (1), coefficients (K).

:func:`fit_views` finds them for each view by damped Gauss-Newton (Levenberg-Marquardt) on the visible landmarks'
pixel error (its derivatives in closed form: :func:`view_residuals`), with the focal length held at a given value
or estimated with the rest: a shape this constrained shows its distance through its perspective, so the focal
length of a view need not be known.
:func:`bundle_adjust` fits the basis itself to many training views, 2D only (no 3D data): every view's parameters
and every landmark's mean point and mode vectors at once, by damped Gauss-Newton steps whose normal equations are
solved through the Schur complement on the landmarks, from a start that the lifter's own lifts give (its
derivatives in closed form too: :func:`_residuals`). Both run batched on the tensors' device.

Measured in docs/lifter-experiments.md (*Faces fitted through the pinhole*).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from lifter.geometry import masked_mean

#: Damped Gauss-Newton iterations of :func:`fit_views` at most (per view; it stops once a view has converged).
DEFAULT_ITERATIONS = 30
#: Joint damped Gauss-Newton steps of :func:`bundle_adjust`.
DEFAULT_BA_ITERATIONS = 20
POSE = 7                                  # params before the coefficients: axis-angle, translation, log focal
LOG_FOCAL = 6                            # index of the log focal length in params
#: :func:`levenberg_marquardt` stops a row once a step lowers its cost, or changes its parameters, by less than
#: this fraction.
DEFAULT_TOLERANCE = 1e-10
_MIN_DEPTH = 1e-3                         # a step that puts a visible landmark nearer than this is refused


@dataclass(frozen=True)
class PinholeFit:
    """:func:`fit_views`'s result for ``F`` views of ``N`` landmarks.

    Attributes:
        params: ``(F, 7 + K)`` (module docstring).
        points: ``(F, N, 3)`` the fitted basis shape in the camera frame (x right, y down, z forward), in the
            basis's units: every landmark, visible or not.
        focal: ``(F,)`` focal length in pixels (the given one, or the estimate).
        rms: ``(F,)`` root mean square pixel error of the visible landmarks' coordinates.
    """
    params: torch.Tensor
    points: torch.Tensor
    focal: torch.Tensor
    rms: torch.Tensor

    def select(self, rows: torch.Tensor) -> PinholeFit:
        """The fit of the views ``rows`` ((F,) bool) alone."""
        return PinholeFit(self.params[rows], self.points[rows], self.focal[rows], self.rms[rows])

    def replaced(self, rows: torch.Tensor, other: PinholeFit) -> PinholeFit:
        """This fit with the views ``rows`` ((F,) bool) replaced by ``other``'s, one view of ``other`` per row
        replaced, in order."""
        fields = []
        for mine, theirs in zip((self.params, self.points, self.focal, self.rms),
                                (other.params, other.points, other.focal, other.rms)):
            merged = mine.clone()
            merged[rows] = theirs.to(merged.dtype)
            fields.append(merged)
        return PinholeFit(*fields)


def _skew(v: torch.Tensor) -> torch.Tensor:
    """Cross-product matrices ``[v]x (..., 3, 3)`` of ``v (..., 3)``."""
    zero = torch.zeros_like(v[..., 0])
    return torch.stack([torch.stack([zero, -v[..., 2], v[..., 1]], -1),
                        torch.stack([v[..., 2], zero, -v[..., 0]], -1),
                        torch.stack([-v[..., 1], v[..., 0], zero], -1)], -2)


def rotation_from_axis_angle(w: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula: axis-angle vectors ``w (..., 3)`` (radians) -> rotation matrices ``(..., 3, 3)``."""
    theta = w.norm(dim=-1, keepdim=True)[..., None]                           # (..., 1, 1)
    cross = _skew(w)                                                          # [w]x, (..., 3, 3)
    small = theta < 1e-6                                                      # series: sin t / t, (1 - cos t) / t^2
    safe = torch.where(small, torch.ones_like(theta), theta)
    a = torch.where(small, 1 - theta ** 2 / 6, torch.sin(safe) / safe)
    b = torch.where(small, 0.5 - theta ** 2 / 24, (1 - torch.cos(safe)) / safe ** 2)
    return torch.eye(3, dtype=w.dtype, device=w.device) + a * cross + b * cross @ cross


def axis_angle_from_rotation(R: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(F, 3, 3)`` -> axis-angle vectors ``(F, 3)`` (angle in 0..pi), through the unit
    quaternion (stable at every angle, 180 degrees included)."""
    R = np.asarray(R, dtype=np.float64)
    tr = np.trace(R, axis1=-2, axis2=-1)
    # the largest of 4 w^2, 4 x^2, 4 y^2, 4 z^2 picks a well-conditioned formula per matrix
    cands = np.stack([1 + tr, 1 + 2 * R[:, 0, 0] - tr, 1 + 2 * R[:, 1, 1] - tr, 1 + 2 * R[:, 2, 2] - tr], -1)
    pick = cands.argmax(-1)
    q = np.empty((len(R), 4))
    s = np.sqrt(np.maximum(cands[np.arange(len(R)), pick], 1e-300))          # 2 |q_pick|
    for i, row in enumerate(R):
        m, k = pick[i], s[i]
        if m == 0:
            q[i] = [k / 2, (row[2, 1] - row[1, 2]) / (2 * k), (row[0, 2] - row[2, 0]) / (2 * k),
                    (row[1, 0] - row[0, 1]) / (2 * k)]
        elif m == 1:
            q[i] = [(row[2, 1] - row[1, 2]) / (2 * k), k / 2, (row[0, 1] + row[1, 0]) / (2 * k),
                    (row[0, 2] + row[2, 0]) / (2 * k)]
        elif m == 2:
            q[i] = [(row[0, 2] - row[2, 0]) / (2 * k), (row[0, 1] + row[1, 0]) / (2 * k), k / 2,
                    (row[1, 2] + row[2, 1]) / (2 * k)]
        else:
            q[i] = [(row[1, 0] - row[0, 1]) / (2 * k), (row[0, 2] + row[2, 0]) / (2 * k),
                    (row[1, 2] + row[2, 1]) / (2 * k), k / 2]
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)                                   # w >= 0: angle in 0..pi
    v = q[:, 1:]
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    angle = 2 * np.arctan2(norm, q[:, :1])
    return np.where(norm > 1e-12, v / np.where(norm > 1e-12, norm, 1.0) * angle, 2 * v)


def basis_points(params: torch.Tensor, mean: torch.Tensor, modes: torch.Tensor) -> torch.Tensor:
    """Camera-frame points ``(F, N, 3)`` of ``params (F, 7 + K)`` with the basis ``mean (N, 3)``, ``modes (K, N,
    3)``."""
    shape = mean + torch.einsum("fk,kni->fni", params[:, POSE:], modes)
    return torch.einsum("fij,fnj->fni", rotation_from_axis_angle(params[:, :3]), shape) + params[:, None, 3:6]


def rotation_derivatives(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rodrigues' rotations ``R (F, 3, 3)`` of axis-angle vectors ``w (F, 3)`` and their derivatives ``dR (F, 3,
    3, 3)``, ``dR[:, i] = dR / dw_i``, in closed form (Gallego and Yezzi 2015: ``(w_i [w]x + [w x (I - R) e_i]x)
    R / |w|^2``, and ``[e_i]x`` at ``w = 0``)."""
    R = rotation_from_axis_angle(w)
    eye = torch.eye(3, dtype=w.dtype, device=w.device)
    theta2 = (w ** 2).sum(-1)[:, None, None, None]                             # (F, 1, 1, 1)
    cols = (eye - R).transpose(1, 2)                                           # row i: (I - R) e_i
    crossed = torch.cross(w[:, None].expand(-1, 3, -1), cols, dim=-1)          # (F, 3, 3)
    general = (w[:, :, None, None] * _skew(w)[:, None] + _skew(crossed)) @ R[:, None]
    general = general / torch.where(theta2 > 0, theta2, torch.ones_like(theta2))
    return R, torch.where(theta2 < 1e-14, _skew(eye).expand(len(w), 3, 3, 3), general)


def _view_residual(params: torch.Tensor, pixels: torch.Tensor, weight: torch.Tensor, principal: torch.Tensor,
                   mean: torch.Tensor, modes: torch.Tensor) -> torch.Tensor:
    """One view's weighted pixel errors ``(2N,)``: ``params (7 + K,)``, ``pixels (N, 2)``, ``weight (N,)`` (1
    visible, 0 not), ``principal (2,)``: the definition that :func:`view_residuals` differentiates in closed
    form."""
    X = basis_points(params[None], mean, modes)[0]                           # (N, 3)
    proj = params[LOG_FOCAL].exp() * X[:, :2] / X[:, 2:] + principal
    return ((proj - pixels) * weight[:, None]).reshape(-1)


def view_residuals(params: torch.Tensor, pixels: torch.Tensor, weight: torch.Tensor, principal: torch.Tensor,
                   mean: torch.Tensor, modes: torch.Tensor, jacobian: bool = True
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Every view's weighted pixel errors and, with ``jacobian``, their derivatives in closed form.

    Args:
        params: ``(F, 7 + K)``; pixels: ``(F, N, 2)``; weight: ``(F, N)`` (1 visible, 0 not); principal:
            ``(F, 2)``; mean: ``(N, 3)``; modes: ``(K, N, 3)``.
    Returns:
        ``(residuals (F, 2N), jacobian (F, 2N, 7 + K) or None)``, residuals ordered as ``(N, 2)`` flattened.
    """
    res, view_jacobian, _ = _residuals(params, pixels, weight, principal, mean, modes, jacobian, False)
    F = len(params)
    return res.reshape(F, -1), None if view_jacobian is None else view_jacobian.reshape(F, res.shape[1] * 2, -1)


def _residuals(params: torch.Tensor, pixels: torch.Tensor, weight: torch.Tensor, principal: torch.Tensor,
               mean: torch.Tensor, modes: torch.Tensor, view_jacobian: bool, point_jacobian: bool
               ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """:func:`view_residuals`' errors ``(F, N, 2)``, their derivatives in each view's parameters ``(F, N, 2, 7 +
    K)`` if ``view_jacobian``, and in each landmark's basis point ``(F, N, 2, 3 + 3K)`` (its mean point, then its
    K mode vectors: :func:`bundle_adjust`'s unknowns) if ``point_jacobian``, all in closed form."""
    F, N = weight.shape
    if view_jacobian:
        R, dR = rotation_derivatives(params[:, :3])
    else:                                                                    # no rotation derivatives needed
        R = rotation_from_axis_angle(params[:, :3])
    S = mean + torch.einsum("fk,kni->fni", params[:, POSE:], modes)           # (F, N, 3) shape
    X = torch.einsum("fij,fnj->fni", R, S) + params[:, None, 3:6]            # camera frame
    z = X[..., 2:]
    uv = params[:, LOG_FOCAL].exp()[:, None, None] * X[..., :2] / z          # (F, N, 2) projection - principal
    res = (uv + principal[:, None] - pixels) * weight[..., None]
    if not (view_jacobian or point_jacobian):
        return res, None, None
    a = (params[:, LOG_FOCAL].exp()[:, None, None] / z * weight[..., None])[..., None]   # (F, N, 1, 1)
    xy = (X[..., :2] / z)[..., None]                                         # (F, N, 2, 1)

    def through(dX: torch.Tensor) -> torch.Tensor:                           # (F, N, 3, P) -> (F, N, 2, P)
        return a * (dX[..., :2, :] - xy * dX[..., 2:, :])

    J_view = J_point = None
    if view_jacobian:
        eye = torch.eye(3, dtype=X.dtype, device=X.device).expand(F, N, 3, 3)
        J_view = torch.cat([through(torch.einsum("fiab,fnb->fnai", dR, S)),        # axis-angle
                            through(eye),                                          # translation
                            (uv * weight[..., None])[..., None],                   # log focal length
                            through(torch.einsum("fij,knj->fnik", R, modes))], -1)  # coefficients
    if point_jacobian:                                                       # dX / d(mean, modes) = [R, c_1 R, ...]
        coef = torch.cat([torch.ones_like(params[:, :1]), params[:, POSE:]], 1)   # (F, 1 + K)
        dX = torch.einsum("fj,fab->fajb", coef, R).reshape(F, 1, 3, -1)
        J_point = through(dX)
    return res, J_view, J_point


def levenberg_marquardt(residuals: Callable[[torch.Tensor, bool], tuple[torch.Tensor, torch.Tensor | None]],
                        params: torch.Tensor, iterations: int, frozen: tuple[int, ...] = (),
                        feasible: Callable[[torch.Tensor], torch.Tensor] | None = None,
                        tolerance: float = DEFAULT_TOLERANCE,
                        project: Callable[[torch.Tensor], torch.Tensor] | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Batched Levenberg-Marquardt: each row of ``params (B, P)`` minimises its own ``|r|^2``, where
    ``residuals(params, jacobian) -> (r (B, R), J (B, R, P) or None)``; columns in ``frozen`` stay as given.
    ``feasible (B, P) -> (B,)`` bool, if given, refuses steps it rejects; ``project (B, P) -> (B, P)``, if given,
    maps each step's parameters into the allowed set before they are tried. It stops early once every row has
    converged: its last step taken lowered its cost by less than ``tolerance`` of it, its last step changed no
    parameter by more than ``tolerance`` of the largest, or its damping has grown past any useful step; a
    converged row takes no more steps, so each row's result is the one it would get alone. Returns ``(params,
    cost (B,), iterations run)``."""
    B, P = params.shape
    damping = torch.full((B,), 1e-3, dtype=params.dtype, device=params.device)
    r, _ = residuals(params, False)
    cost = (r ** 2).sum(1)
    done = torch.zeros(B, dtype=torch.bool, device=params.device)
    free = torch.ones(P, dtype=params.dtype, device=params.device)
    free[list(frozen)] = 0
    for it in range(iterations):
        r, J = residuals(params, True)
        J = J * free                                                         # (B, R, P)
        JtJ = J.transpose(1, 2) @ J
        g = J.transpose(1, 2) @ r[..., None]
        diag = JtJ.diagonal(dim1=1, dim2=2) + (1 - free) + 1e-12              # frozen columns: a unit pivot
        step = torch.linalg.solve(JtJ + torch.diag_embed(damping[:, None] * diag + (1 - free)), g)[..., 0]
        new = params - step if project is None else project(params - step)
        cost_new = (residuals(new, False)[0] ** 2).sum(1)
        ok = (cost_new < cost) & ~done                                       # a converged row stays as it is
        if feasible is not None:
            ok &= feasible(new)
        tiny = step.abs().amax(1) <= tolerance * params.abs().amax(1)           # no digit left to change
        done |= (ok & (cost - cost_new <= tolerance * cost)) | tiny | (damping >= 1e9)
        params = torch.where(ok[:, None], new, params)
        cost = torch.where(ok, cost_new, cost)
        damping = torch.where(ok, damping * 0.3, damping * 10).clamp(1e-9, 1e9)
        if bool(done.all()):
            return params, cost, it + 1
    return params, cost, iterations


def initial_params(points: torch.Tensor, visible: torch.Tensor, mean: torch.Tensor, focal: torch.Tensor,
                   modes: int) -> torch.Tensor:
    """Start ``params (F, 7 + modes)`` for :func:`fit_views`: the basis mean placed on camera-frame ``points (F,
    N, 3)`` (a lift read through the camera, any scale) by a similarity alignment on the ``visible (F, N)``
    landmarks, the focal length ``focal (F,)`` and zero coefficients."""
    w = visible.to(points.dtype)[..., None]
    full = mean.expand(points.shape)
    cm, cb = masked_mean(full, visible), masked_mean(points, visible)          # (F, 3) visible centroids
    a, b = (full - cm[:, None]) * w, (points - cb[:, None]) * w
    U, s, Vt = torch.linalg.svd(b.transpose(1, 2) @ a)                       # b ~ scale R a
    d = torch.ones_like(s)
    d[:, 2] = torch.sign(torch.det(U @ Vt))
    R = U @ torch.diag_embed(d) @ Vt
    scale = (s * d).sum(1) / (a ** 2).sum((1, 2))                            # (F,)
    # points = scale (R mean + t)  =>  t = (cb - scale R cm) / scale
    t = (cb - scale[:, None] * torch.einsum("fij,fj->fi", R, cm)) / scale[:, None]
    axis = torch.as_tensor(axis_angle_from_rotation(R.detach().cpu().numpy()), dtype=points.dtype,
                           device=points.device)
    zeros = torch.zeros(len(points), modes, dtype=points.dtype, device=points.device)
    return torch.cat([axis, t, focal.log()[:, None], zeros], 1)


def _ray_params(params: torch.Tensor) -> torch.Tensor:
    """``params (F, 7 + K)`` with the translation ``t`` (``t_z > 0``) as ``(f t_x / t_z, f t_y / t_z, log t_z)``:
    the pixel offset of the shape's origin from the principal point, and the log depth. A distant view's pixels
    hardly change along the line where focal length and depth grow together; in these coordinates (with the log
    focal length) that line is straight, and Gauss-Newton steps follow it, where with ``t`` itself it is curved
    and the steps crawl (a front-facing face seen from far took hundreds of iterations to reach its focal length).
    The origin's pixel, not its ray ``t_x / t_z``, is what stays put along that line: with the ray, the line bent
    for a face off the image centre, and such faces stopped short of their focal length."""
    q = params.clone()
    q[:, 3:5] = params[:, LOG_FOCAL:LOG_FOCAL + 1].exp() * params[:, 3:5] / params[:, 5:6]
    q[:, 5] = params[:, 5].log()
    return q


def _from_ray_params(q: torch.Tensor) -> torch.Tensor:
    """:func:`_ray_params` undone: ``(F, 7 + K)`` params with the translation itself."""
    params = q.clone()
    tz = q[:, 5].exp()
    params[:, 3:5] = q[:, 3:5] * (tz / q[:, LOG_FOCAL].exp())[:, None]
    params[:, 5] = tz
    return params


def _ray_jacobian(q: torch.Tensor, J: torch.Tensor) -> torch.Tensor:
    """The derivatives ``J (F, R, 7 + K)`` in params made derivatives in :func:`_ray_params`'s coordinates ``q``:
    ``t = (u e^(l - g), v e^(l - g), e^l)`` with ``g`` the log focal length, so ``dt/du = e^(l - g) (1, 0, 0)``,
    ``dt/dv = e^(l - g) (0, 1, 0)``, ``dt/dl = t`` and, beside the focal length's own effect, ``dt/dg = -(t_x, t_y,
    0)``."""
    tz = q[:, 5].exp()[:, None]                                               # (F, 1)
    per_pixel = tz / q[:, LOG_FOCAL:LOG_FOCAL + 1].exp()                      # (F, 1): t_z / f
    tx, ty = q[:, 3:4] * per_pixel, q[:, 4:5] * per_pixel
    out = J.clone()
    out[..., 3] = J[..., 3] * per_pixel
    out[..., 4] = J[..., 4] * per_pixel
    out[..., 5] = J[..., 3] * tx + J[..., 4] * ty + J[..., 5] * tz
    out[..., LOG_FOCAL] = J[..., LOG_FOCAL] - J[..., 3] * tx - J[..., 4] * ty
    return out


def fit_views(pixels: torch.Tensor, visible: torch.Tensor, mean: torch.Tensor, modes: torch.Tensor,
              principal: torch.Tensor, params: torch.Tensor, estimate_focal: bool,
              iterations: int = DEFAULT_ITERATIONS, bound: torch.Tensor | None = None) -> PinholeFit:
    """Fit the basis ``mean (N, 3)``, ``modes (K, N, 3)`` to each view's visible pixels.

    Args:
        pixels: ``(F, N, 2)`` (any value where not visible).
        visible: ``(F, N)`` bool; a view needs ``7 + K`` visible coordinates or more to be determined (at least 4
            landmarks, and more with modes; a face has hundreds).
        principal: ``(F, 2)`` principal point in pixels.
        params: ``(F, 7 + K)`` start (:func:`initial_params`); its focal length is kept unless ``estimate_focal``.
        estimate_focal: estimate each view's focal length with its pose and coefficients.
        iterations: damped Gauss-Newton iterations at most (a view stops once converged:
            :func:`levenberg_marquardt`).
        bound: ``(K,)`` or None: each step's coefficients are projected into ``[-bound, bound]`` (the start's
            must lie there; :func:`lifter.shape_basis.fit_to_pixels` holds a view's fit near the training faces).
    Returns:
        :class:`PinholeFit` (float64).
    """
    dtype = torch.float64
    mean, modes = mean.to(dtype), modes.to(dtype)
    weight = visible.to(dtype)
    px, pp = torch.nan_to_num(pixels.to(dtype)) * weight[..., None], principal.to(dtype)

    params = params.to(dtype)
    along_ray = bool((params[:, 5] > 0).all())           # the translation as its ray and log depth (below)
    unpack = _from_ray_params if along_ray else (lambda q: q)

    def residuals(q: torch.Tensor, jacobian: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        r, J = view_residuals(unpack(q), px, weight, pp, mean, modes, jacobian)
        return r, (_ray_jacobian(q, J) if along_ray and J is not None else J)

    def feasible(q: torch.Tensor) -> torch.Tensor:
        z = basis_points(unpack(q), mean, modes)[..., 2]
        return torch.where(visible, z, torch.inf).amin(1) > _MIN_DEPTH

    def project(q: torch.Tensor) -> torch.Tensor:
        limit = bound.to(dtype)
        return torch.cat([q[:, :POSE], torch.maximum(torch.minimum(q[:, POSE:], limit), -limit)], 1)

    frozen = () if estimate_focal else (LOG_FOCAL,)
    q, cost, _ = levenberg_marquardt(residuals, _ray_params(params) if along_ray else params, iterations, frozen,
                                     feasible, project=None if bound is None else project)
    params = unpack(q)
    rms = (cost / (2 * weight.sum(1)).clamp_min(1)).sqrt()
    return PinholeFit(params, basis_points(params, mean, modes), params[:, LOG_FOCAL].exp(), rms)


def on_rays(fit: PinholeFit, pixels: torch.Tensor, visible: torch.Tensor, principal: torch.Tensor) -> torch.Tensor:
    """The fit's points with each visible landmark moved onto its pixel's ray at the fitted depth: ``(F, N, 3)``
    whose projection through the fitted camera reproduces ``pixels (F, N, 2)`` where ``visible (F, N)``; the
    other landmarks are the fit's points."""
    z = fit.points[..., 2:]
    xy = (torch.nan_to_num(pixels.to(z.dtype)) - principal[:, None].to(z.dtype)) / fit.focal[:, None, None] * z
    return torch.where(visible[..., None], torch.cat([xy, z], -1), fit.points)


def _normalised_basis(views: torch.Tensor, points: torch.Tensor, modes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The gauge of :func:`bundle_adjust`: ``points (N, 3 + 3K)`` with the mean centred and of unit RMS radius
    (the views' translations follow, so no projection changes) and the modes orthonormal as ``3N`` vectors (the
    coefficients follow). Returns ``(views, points)``."""
    N = len(points)
    P = points.view(N, 1 + modes, 3)
    centre = P[:, 0].mean(0)
    scale = (P[:, 0] - centre).pow(2).sum(1).mean().sqrt()
    mean, M = (P[:, 0] - centre) / scale, P[:, 1:].transpose(0, 1) / scale          # (N, 3), (K, N, 3)
    views = views.clone()
    R = rotation_from_axis_angle(views[:, :3])
    views[:, 3:6] = (views[:, 3:6] + R @ centre) / scale                            # X / scale: same pixels
    if modes:
        Q, U = torch.linalg.qr(M.reshape(modes, -1).T)                               # M^T = Q U
        M = Q.T.reshape(modes, N, 3)
        views[:, POSE:] = views[:, POSE:] @ U.T
    return views, torch.cat([mean[:, None], M.transpose(0, 1)], 1).reshape(N, -1)


def bundle_memory(views: int, landmarks: int, modes: int) -> int:
    """Bytes :func:`bundle_adjust` of ``views`` views of ``landmarks`` landmarks with ``modes`` modes holds at its
    peak, about: its float64 view-landmark blocks (``W``, ``Y``, their products and the residual derivatives,
    ``V Pv N Pl`` each) and its Schur complement on the landmarks (``(N Pl)^2``, three copies while it is formed and
    factored), with ``Pv = 7 + K`` and ``Pl = 3 (1 + K)``. It runs a little under the measured growth of the peak
    resident memory (``scripts/bundle_memory_check.py``, synthetic views, a 2-core AMD EPYC):
    30 modes from 1,000 hands 2.30 GiB estimated, 2.47 GiB grown; the face basis's recipe (3 modes from 1,000 faces)
    2.55 GiB estimated, 2.60 GiB grown."""
    pv, pl = 7 + modes, 3 * (1 + modes)
    return 8 * (4 * views * pv * landmarks * pl + 3 * (landmarks * pl) ** 2 + 2 * views * landmarks * 2 * pl)


def bundle_adjust(pixels: torch.Tensor, visible: torch.Tensor, principal: torch.Tensor, params: torch.Tensor,
                  mean: torch.Tensor, modes: int, iterations: int = DEFAULT_BA_ITERATIONS,
                  progress: Callable[[int, float], None] | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A basis of ``modes`` modes fitted to the 2D of many views of one category (perspective bundle adjustment;
    no 3D data), with each view's pose, focal length and coefficients.

    Every view's parameters are first fitted to the start (:func:`fit_views`, focal length estimated); then
    ``iterations`` damped Gauss-Newton steps on all the views and landmarks at once (Levenberg-Marquardt with one
    damping; each step's normal equations solved by eliminating the views, the Schur complement on the landmarks'
    ``N (3 + 3K)`` unknowns), a step taken only if it lowers the error and keeps every visible landmark in front
    of its camera. After each step the gauge is fixed (:func:`_normalised_basis`).

    Args:
        pixels: ``(V, N, 2)``; visible: ``(V, N)`` bool; principal: ``(V, 2)``.
        params: ``(V, 7 + modes)`` start (:func:`initial_params` of the views' lifts on ``mean``).
        mean: ``(N, 3)`` start of the mean shape (unit RMS radius); the modes start at zero.
        progress: called after each step with its index and the pixel RMS error.
    Returns:
        ``(mean (N, 3), modes (K, N, 3), params (V, 7 + K))`` float64.
    """
    dtype = torch.float64
    mean = mean.to(dtype)
    N = len(mean)
    M = torch.zeros(modes, N, 3, dtype=dtype, device=mean.device)
    weight = visible.to(dtype)
    px = torch.nan_to_num(pixels.to(dtype)) * weight[..., None]
    principal = principal.to(dtype)
    views = fit_views(px, visible, mean, M, principal, params.to(dtype), estimate_focal=True).params
    points = torch.cat([mean[:, None], M.transpose(0, 1)], 1).reshape(N, -1)        # (N, Pl)
    V, Pv, Pl = len(views), views.shape[1], points.shape[1]

    def basis(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:               # (N, 3), (K, N, 3)
        shape = p.view(N, 1 + modes, 3)
        return shape[:, 0], shape[:, 1:].transpose(0, 1)

    def terms(v: torch.Tensor, p: torch.Tensor, jacobians: bool):
        return _residuals(v, px, weight, principal, *basis(p), jacobians, jacobians)

    def cost_of(v: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return terms(v, p, False)[0].pow(2).sum()

    def in_front(v: torch.Tensor, p: torch.Tensor) -> bool:
        z = basis_points(v, *basis(p))[..., 2]                                       # (V, N)
        return bool((z[visible] > _MIN_DEPTH).all())

    cost = cost_of(views, points)
    damping = 1e-3
    eye_v, eye_l = torch.eye(Pv, dtype=dtype, device=mean.device), torch.eye(Pl, dtype=dtype, device=mean.device)
    for it in range(iterations):
        r, A, B = terms(views, points, True)                               # (V, N, 2), (V, N, 2, Pv), (V, N, 2, Pl)
        U = torch.einsum("vnri,vnrj->vij", A, A)                                     # (V, Pv, Pv)
        L = torch.einsum("vnri,vnrj->nij", B, B)                                     # (N, Pl, Pl)
        W = torch.einsum("vnri,vnrj->vinj", A, B).reshape(V, Pv, N * Pl)             # (V, Pv, N Pl)
        g = torch.einsum("vnri,vnr->vi", A, r)                                       # (V, Pv)
        h = torch.einsum("vnri,vnr->ni", B, r).reshape(-1)                          # (N Pl,)
        for _ in range(10):                                                          # until a step is taken
            Ud = U + damping * torch.diag_embed(U.diagonal(dim1=1, dim2=2)) + 1e-12 * eye_v
            Ld = L + damping * torch.diag_embed(L.diagonal(dim1=1, dim2=2)) + 1e-12 * eye_l
            Y = torch.linalg.solve(Ud, W)                                            # U^-1 W, (V, Pv, N Pl)
            u_g = torch.linalg.solve(Ud, g[..., None])[..., 0]                       # U^-1 g, (V, Pv)
            S = torch.block_diag(*Ld) - W.reshape(V * Pv, -1).T @ Y.reshape(V * Pv, -1)
            rhs = -h + torch.einsum("vik,vi->k", W, u_g)
            chol, info = torch.linalg.cholesky_ex(S)                                  # S is symmetric positive
            d_points = (torch.cholesky_solve(rhs[:, None], chol)[:, 0] if int(info) == 0  # definite: half LU's work
                        else torch.linalg.solve(S, rhs))
            d_views = -u_g - torch.einsum("vik,k->vi", Y, d_points)
            new_views, new_points = views + d_views, points + d_points.view(N, Pl)
            new_cost = cost_of(new_views, new_points) if in_front(new_views, new_points) else torch.inf
            if new_cost < cost:
                views, points = _normalised_basis(new_views, new_points, modes)
                cost, damping = cost_of(views, points), max(damping * 0.3, 1e-9)
                break
            damping *= 10
        if progress is not None:
            progress(it, float((cost / (2 * weight.sum())).sqrt()))
    mean, modes_out = basis(points)
    return mean, modes_out.contiguous(), views
