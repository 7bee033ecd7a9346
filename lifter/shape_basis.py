"""Test-time shape-basis refinement: a lift pulled onto a low-rank shape model of its category.

Some categories vary little from one instance to the next: every face is the same face up to a few proportions,
so the lifter's per-view depth noise is larger than the variation it is meant to capture. For those
(:data:`DEFAULT_MODES`), a *shape basis* (a mean shape and ``K`` modes, C3DPO's low-rank model) is fitted to the
2D of training views, no 3D data (:func:`fit_basis_to_views`): started from the lifter's own lifts of them, read
through a camera guessed from the landmarks, then refined by perspective bundle adjustment
(:func:`lifter.pinhole_fit.bundle_adjust`: the basis, and every view's pose, focal length and coefficients, fitted
to the views' pixels at once). At test time:

- :meth:`LoadedLifter.lift` (orthographic: visible landmarks keep their x, y) runs :func:`refine_with_basis`,
  which alternates (1) the basis shape closest to the current lift: the lift aligned to the mean by a similarity
  transform on its visible landmarks, the mode coefficients by least squares on those landmarks, the shape
  aligned back; (2) the depths: each visible landmark moves along its ray to ``(weight z_lift + z_basis) / (1 +
  weight)``. Landmarks that are not visible become the basis shape's points. Then
  :func:`lifter.camera_reading.orthographic_basis_reading` fits the basis to the pixels through a camera guessed
  from the landmarks (:func:`fit_to_pixels`, the focal length estimated) and returns the lift of the orthographic
  form closest to that fitted shape (:func:`lifter.geometry.closest_orthographic_form`).
- ``lift_with_camera`` (a pinhole: known intrinsics or a guess) runs :func:`fit_to_pixels`: the basis fitted to
  the visible pixels through the camera (pose and coefficients, and the focal length when it was not given:
  a face's perspective shows its distance), each visible landmark put on its pixel's ray at the fitted depth and
  the hidden ones at the fitted shape's points. Its projection still reproduces the input. With
  ``fitted_shape=True`` the fitted shape is returned as it is (``on_rays=False``): its projection is the fit's,
  and the 2D's noise does not enter the 3D.

The bases are a file of their own (``assets/weights/shape_bases.safetensors`` with its JSON record: the command,
the lifter and the training views that made it), written by ``python -m lifter.shape_basis --data data/``. The
number of modes, the settings of both refinements and of the bundle adjustment were chosen on training views
(docs/lifter-experiments.md, *Shape-basis refinement at test time* and *Faces fitted through the pinhole*).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lifter import pinhole_fit
from lifter.fitted_priors import fit_command, load_fitted, save_fitted
from lifter.geometry import guessed_pinhole_of_lift, host_tensor, similarity_procrustes, similarity_procrustes_torch
from lifter.mirroring import mirror_permutation
from lifter.symmetry import DEFAULT_SPAN_OVER_FOCAL

DEFAULT_BASES = Path(__file__).resolve().parents[1] / "assets" / "weights" / "shape_bases.safetensors"
#: Modes of the basis per category, for the categories that are refined (chosen on training views: a face's width,
#: height and depth proportions; chairs, bodies and hands vary too much for a low-rank model to help: measured,
#: not shipped).
DEFAULT_MODES = {"face468": 3}
#: Weight of the lifter's depth against the basis shape's (0: the basis shape's depth alone).
DEFAULT_WEIGHT = 0.1
#: Alignment / depth alternations of :func:`refine_with_basis`.
DEFAULT_ITERATIONS = 5
#: Training views whose 2D makes a basis, and the seed of their draw.
DEFAULT_VIEWS = 1000
DEFAULT_SEED = 0
#: Joint damped Gauss-Newton steps of a basis's bundle adjustment (:func:`lifter.pinhole_fit.bundle_adjust`).
DEFAULT_BA_ITERATIONS = 20
#: Damped Gauss-Newton iterations of :func:`fit_to_pixels` at most (a view stops once converged).
DEFAULT_FIT_ITERATIONS = 30
#: Views with fewer visible landmarks are not fitted to their pixels (:func:`fit_to_pixels`): a view's pose, focal
#: length and coefficients need several landmarks each; they are refined by :func:`refine_with_basis` instead.
MIN_FIT_VISIBLE = 20
#: A pinhole fit's mode coefficients stay within this many of the basis's ``spread`` (its training views' standard
#: deviation along each mode; 2D only) of the mean: a real face unlike the training faces (its own proportions, an
#: expression, a detector's mesh) was otherwise met by coefficients of 8 to 13 spreads, a bent shape that fitted its
#: pixels 0.1 px better (the app's astronaut's fitted shape: 26.2 % from the basis's mean face, 9.6 % within the bound).
COEFFICIENT_BOUND = 5.0
#: Where :func:`fit_to_pixels` estimates the focal length, each view is also fitted from a start with the focal length
#: and the distance cut to these fractions of the guess, and the start that fits its pixels best is kept. A close
#: face looks wider than the guess (:data:`lifter.symmetry.DEFAULT_SPAN_OVER_FOCAL`) allows: front-facing at 2.5 and
#: 3 RMS radii, the guess was 5 and 3.6 times too long, and the fits from it stopped at bent shapes too far away,
#: 11.8 and 7.9 % from the truth with the principal point given (``scripts/face_distance_check.py``). One start at
#: 0.3 read every view of yaw 0-1.2 rad from 2.5 to 10 radii as well as starts at 0.5 and 0.25 together did.
SHORTER_FOCAL_STARTS = (0.3,)


@dataclass(frozen=True)
class ShapeBasis:
    """A low-rank shape model: ``mean (N, 3)`` centred with unit RMS radius; ``modes (K, N, 3)`` orthonormal
    (as ``3N`` vectors); ``spread (K,)`` the training lifts' standard deviation along each mode."""
    mean: np.ndarray
    modes: np.ndarray
    spread: np.ndarray


def _normalised(shapes: np.ndarray) -> np.ndarray:
    """``shapes (F, N, 3)`` centred and scaled to unit RMS radius."""
    centred = shapes - shapes.mean(1, keepdims=True)
    return centred / np.sqrt((centred ** 2).sum((1, 2), keepdims=True) / shapes.shape[1])


def fit_basis(lifts: np.ndarray, modes: int, alignments: int = 4) -> ShapeBasis:
    """The mean and the first ``modes`` principal modes of ``lifts (F, N, 3)`` (every landmark finite).

    Generalised Procrustes: each lift, centred and scaled to unit RMS radius, is aligned by a rotation and scale
    to the running mean ``alignments`` times; the modes are the leading right singular vectors of the aligned
    lifts minus their mean.
    Raises:
        ValueError: non-finite lifts, fewer lifts than ``modes + 1``, or a negative ``modes``.
    """
    lifts = np.asarray(lifts, dtype=np.float64)
    if lifts.ndim != 3 or lifts.shape[-1] != 3 or not np.isfinite(lifts).all():
        raise ValueError(f"lifts must be finite (F, N, 3), got shape {lifts.shape}")
    if modes < 0 or len(lifts) <= modes:
        raise ValueError(f"a basis of {modes} modes needs more than {modes} lifts, got {len(lifts)}")
    aligned = _normalised(lifts)
    mean = aligned[0]
    for _ in range(alignments):
        aligned = _normalised(similarity_procrustes(aligned, np.broadcast_to(mean, aligned.shape)))
        mean = _normalised(aligned.mean(0, keepdims=True))[0]
    _, s, vt = np.linalg.svd((aligned - mean).reshape(len(aligned), -1), full_matrices=False)
    return ShapeBasis(mean, vt[:modes].reshape(modes, *mean.shape), s[:modes] / np.sqrt(len(aligned)))


def closest_shape(points: np.ndarray, visible: np.ndarray, basis: ShapeBasis) -> np.ndarray:
    """The basis shape closest to ``points (F, N, 3)`` on its ``visible (F, N)`` landmarks, in ``points``' frame:
    the numpy face of :func:`closest_shape_torch`. Returns ``(F, N, 3)`` float64 (every landmark)."""
    return closest_shape_torch(host_tensor(points), host_tensor(visible, bool), basis).numpy()


def closest_shape_torch(points: torch.Tensor, visible: torch.Tensor, basis: ShapeBasis) -> torch.Tensor:
    """The basis shape closest to ``points (F, N, 3)`` on its ``visible (F, N)`` landmarks, in ``points``' frame,
    on the tensors' device.

    ``points`` aligned to the mean (rotation, scale, translation on the visible landmarks), the mode coefficients
    by least squares on those landmarks, the shape ``mean + sum c_k mode_k`` aligned back. Returns ``(F, N, 3)``
    float64 (every landmark).
    """
    return _closest_shape(points.to(torch.float64), visible, *_basis_tensors(basis, points.device))


def _basis_tensors(basis: ShapeBasis, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean (N, 3), modes (K, 3N))`` of ``basis`` as float64 tensors on ``device``."""
    mean = torch.as_tensor(basis.mean, dtype=torch.float64, device=device)
    modes = torch.as_tensor(basis.modes, dtype=torch.float64, device=device)
    return mean, modes.reshape(len(modes), mean.numel())                       # K may be 0


def _closest_shape(points: torch.Tensor, visible: torch.Tensor, mean: torch.Tensor, modes: torch.Tensor
                   ) -> torch.Tensor:
    """:func:`closest_shape_torch` of float64 ``points (F, N, 3)``, the basis as tensors (:func:`_basis_tensors`)."""
    F, N, _ = points.shape
    mean = mean.expand(points.shape)
    aligned = similarity_procrustes_torch(points, mean, visible)                 # (F, N, 3) in the mean's frame
    shape = mean
    K = len(modes)
    if K:
        m = (modes.view(K, N, 3) * visible.to(points.dtype)[:, None, :, None]).reshape(F, K, 3 * N)   # (F, K, 3N)
        gram = m @ m.transpose(1, 2) + 1e-9 * torch.eye(K, dtype=points.dtype, device=points.device)  # (F, K, K)
        rhs = m @ (aligned - mean).reshape(F, 3 * N, 1)                          # (F, K, 1)
        coef = torch.linalg.solve(gram, rhs)[..., 0]                              # (F, K)
        shape = shape + (coef @ modes).view(F, N, 3)
    return similarity_procrustes_torch(shape, points, visible)


def refine_with_basis(lift: np.ndarray, visible: np.ndarray, basis: ShapeBasis, slopes: np.ndarray | None = None,
                      weight: float = DEFAULT_WEIGHT, iterations: int = DEFAULT_ITERATIONS) -> np.ndarray:
    """A lift's depths pulled towards the closest basis shape (module docstring): the numpy face of
    :func:`refine_with_basis_torch` (same arguments as numpy arrays), computed in float64.

    Returns:
        ``(F, N, 3)`` float32: visible landmarks moved along their rays, the others the basis shape's points.
    """
    out = refine_with_basis_torch(host_tensor(lift), host_tensor(visible, bool), basis, host_tensor(slopes), weight,
                                  iterations)
    return out.numpy().astype(np.float32)


def refine_with_basis_torch(lift: torch.Tensor, visible: torch.Tensor, basis: ShapeBasis,
                            slopes: torch.Tensor | None = None, weight: float = DEFAULT_WEIGHT,
                            iterations: int = DEFAULT_ITERATIONS) -> torch.Tensor:
    """A lift's depths pulled towards the closest basis shape (module docstring), on the tensors' device (every
    frame at once, no host round trip: the form ``lift()`` runs on a GPU).

    Args:
        lift: ``(F, N, 3)`` x, y, z in one frame (any offset and scale).
        visible: ``(F, N)`` bool; frames with fewer than 3 visible landmarks are returned unchanged.
        basis: the category's :class:`ShapeBasis` (``N`` landmarks).
        slopes: None: an orthographic lift (visible landmarks keep x, y, only their depth moves); else ``(F, N,
            2)`` each landmark's ray ``(x / z, y / z)`` through the camera centre at the origin (visible landmarks
            stay on their rays).
        weight: weight of the lift's own depth against the basis shape's (>= 0).
        iterations: alignment / depth alternations (>= 1).
    Returns:
        ``(F, N, 3)`` float64: visible landmarks moved along their rays, the others the basis shape's points.
    Raises:
        ValueError: a negative weight, fewer than one iteration, a basis of another landmark count.
    """
    if weight < 0 or iterations < 1:
        raise ValueError(f"weight must be >= 0 and iterations >= 1, got {weight} and {iterations}")
    lift = lift.to(torch.float64)
    if lift.shape[1] != len(basis.mean):
        raise ValueError(f"the basis has {len(basis.mean)} landmarks, the lift {lift.shape[1]}")
    use = visible.sum(1) >= 3                                                    # (F,)
    every = bool(use.all())                     # lift() checks its input, so it never needs the indexing below
    L, v = (lift, visible) if every else (lift[use], visible[use])
    if not len(L):
        return lift
    z0 = L[..., 2]
    current = L
    tensors = _basis_tensors(basis, lift.device)
    for _ in range(iterations):
        shape = _closest_shape(current, v, *tensors)
        z = (weight * z0 + shape[..., 2]) / (1 + weight)                         # (F', N)
        xy = L[..., :2] if slopes is None else (slopes if every else slopes[use]).to(torch.float64) * z[..., None]
        current = torch.where(v[..., None], torch.cat([xy, z[..., None]], -1), shape)
    if every:
        return current
    out = lift.clone()
    out[use] = current
    return out


def fit_to_pixels(points: np.ndarray, pixels: np.ndarray, visible: np.ndarray, basis: ShapeBasis,
                  focal: np.ndarray, principal: np.ndarray, estimate_focal: bool,
                  iterations: int = DEFAULT_FIT_ITERATIONS, on_rays: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A camera reading of a lift refined by fitting the basis to its pixels through the pinhole (module docstring).

    Args:
        points: ``(F, N, 3)`` camera-frame points on the visible pixels' rays (``perspective_reading`` of a lift),
            the start of each view's pose (any scale).
        pixels: ``(F, N, 2)``; visible: ``(F, N)`` bool.
        basis: the category's :class:`ShapeBasis` (``N`` landmarks).
        focal: ``(F,)`` focal length in pixels: kept, or the start of its estimate with ``estimate_focal``.
        principal: ``(F, 2)`` principal point in pixels.
        iterations: damped Gauss-Newton iterations at most (:func:`lifter.pinhole_fit.fit_views`).
        on_rays: put the visible landmarks on their pixels' rays at the fitted depths (the projection reproduces
            the pixels); False: keep the fitted shape's points (its projection is the fit's, within its pixel
            error: the 2D's noise does not enter the points).
    Returns:
        ``(points (F, N, 3) float64, focal (F,) float64)``: visible landmarks on their pixels' rays (through the
        returned focal length) at the fitted shape's depths (``on_rays``) or at the fitted shape's points, the
        others the fitted shape's points, in the basis's units; views with fewer than :data:`MIN_FIT_VISIBLE`
        visible landmarks are instead :func:`refine_with_basis` of ``points`` along its rays, with ``focal``
        unchanged.
    Raises:
        ValueError: a basis of another landmark count.
    """
    if points.shape[1] != len(basis.mean):
        raise ValueError(f"the basis has {len(basis.mean)} landmarks, the lift {points.shape[1]}")
    points = np.asarray(points, dtype=np.float64)
    focal = np.array(focal, dtype=np.float64)
    out = np.empty_like(points)
    fit = visible.sum(1) >= MIN_FIT_VISIBLE
    if not fit.all():
        few = ~fit
        p = points[few]
        out[few] = refine_with_basis_torch(host_tensor(p), host_tensor(visible[few], bool), basis,
                                           host_tensor(p[..., :2] / p[..., 2:3])).numpy()
    if fit.any():
        mean, modes = host_tensor(basis.mean), host_tensor(basis.modes)
        vis, px = host_tensor(visible[fit], bool), host_tensor(pixels[fit])
        pp = host_tensor(principal[fit])
        params = pinhole_fit.initial_params(host_tensor(points[fit]), vis, mean, host_tensor(focal[fit]),
                                            len(modes))
        starts = len(SHORTER_FOCAL_STARTS) + 1 if estimate_focal else 1
        if starts > 1:            # every start as rows of one fit: [all views from params, from the first fraction...]
            params = torch.cat([params] + [_nearer(params, fraction) for fraction in SHORTER_FOCAL_STARTS])
            vis, px, pp = vis.repeat(starts, 1), px.repeat(starts, 1, 1), pp.repeat(starts, 1)
        result = pinhole_fit.fit_views(px, vis, mean, modes, pp, params, estimate_focal, iterations)
        if len(basis.spread) == len(modes) and len(modes):
            result = _within_bound(result, px, vis, mean, modes, pp, params, estimate_focal, iterations,
                                   host_tensor(COEFFICIENT_BOUND * basis.spread))
        if starts > 1:
            views = int(fit.sum())
            best = result.rms.view(starts, views).argmin(0) * views + torch.arange(views)    # (views,) rows kept
            result, vis, px, pp = result.select(best), vis[:views], px[:views], pp[:views]
        out[fit] = (pinhole_fit.on_rays(result, px, vis, pp) if on_rays else result.points).numpy()
        if estimate_focal:
            focal[fit] = result.focal.numpy()
    return out, focal


def _within_bound(result: "pinhole_fit.PinholeFit", px: torch.Tensor, vis: torch.Tensor, mean: torch.Tensor,
                  modes: torch.Tensor, pp: torch.Tensor, params: torch.Tensor, estimate_focal: bool, iterations: int,
                  bound: torch.Tensor) -> "pinhole_fit.PinholeFit":
    """:func:`fit_to_pixels`'s fit ``result`` with the views whose coefficients end beyond ``bound (K,)`` fitted
    again from their start ``params`` with the coefficients held within it (:data:`COEFFICIENT_BOUND`). The first
    fit runs free because a distant view's path to its camera passes through bent shapes that its end leaves
    behind; held within the bound from the start it stopped short of a distant camera."""
    beyond = (result.params[:, pinhole_fit.POSE:].abs() > bound).any(1)
    if not bool(beyond.any()):
        return result
    again = pinhole_fit.fit_views(px[beyond], vis[beyond], mean, modes, pp[beyond], params[beyond], estimate_focal,
                                  iterations, bound)
    return result.replaced(beyond, again)


def _nearer(params: torch.Tensor, fraction: float) -> torch.Tensor:
    """Pinhole-fit ``params (F, 7 + K)`` with the focal length and the distance cut to ``fraction`` of theirs: the
    same shape nearer the camera through a shorter lens, its origin at the same pixel and of the same size there
    (the translation's x, y kept: ``f t_x / t_z`` unchanged; scaling them too had drawn an off-centre face that
    much nearer the principal point)."""
    out = params.clone()
    out[:, 5] = params[:, 5] * fraction
    out[:, pinhole_fit.LOG_FOCAL] = params[:, pinhole_fit.LOG_FOCAL] + float(np.log(fraction))
    return out


def mirror_reflection(mean: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """The reflection ``D (3, 3)`` (symmetric, orthogonal, det -1) that best maps ``mean (N, 3)`` (centred) onto
    itself with its landmarks relabelled by the mirror permutation ``perm (N,)``: ``mean[perm] @ D ~ mean``. The
    orthogonal Procrustes solution among matrices of det -1, made an exact reflection (its eigenvalues rounded to
    +-1), so that mirroring twice is the identity."""
    u, _, vt = np.linalg.svd(mean[perm].T @ mean)
    d = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt)) * -1.0]) @ vt          # det -1: a reflection
    w, v = np.linalg.eigh(0.5 * (d + d.T))
    return v @ np.diag(np.where(w < 0, -1.0, 1.0)) @ v.T


def mirror_symmetric(basis: ShapeBasis, perm: np.ndarray, coefficients: np.ndarray | None = None
                     ) -> tuple[ShapeBasis, float]:
    """``basis`` made exactly mirror-symmetric, and the RMS distance (unit radius) of its mean from its mirror image
    before: the mean and each mode averaged with their reflections (:func:`mirror_reflection`, landmarks relabelled by
    ``perm``), the modes orthonormalised again (in their order). A face's left/right mirror image is a face: with a
    symmetric basis, ``lift()`` of a mirrored face is the mirrored lift (mirror averaging's exact equivariance holds
    through the basis's refinement too), where a basis fitted to lifts of training views keeps some of their chance
    asymmetry. ``spread``: the standard deviation of ``coefficients (V, K)`` (the fitted views' coefficients on
    ``basis``'s modes) on the new modes, else the old spread."""
    reflect = mirror_reflection(basis.mean, perm)

    def mirrored(x: np.ndarray) -> np.ndarray:                                # (..., N, 3)
        return x[..., perm, :] @ reflect

    asymmetry = float(np.sqrt(((mirrored(basis.mean) - basis.mean) ** 2).sum(-1).mean()))
    mean = _normalised(0.5 * (basis.mean + mirrored(basis.mean))[None])[0]
    K = len(basis.modes)
    if K == 0:
        return ShapeBasis(mean, basis.modes, basis.spread), asymmetry
    half = 0.5 * (basis.modes + mirrored(basis.modes))
    q, r = np.linalg.qr(half.reshape(K, -1).T)                                # (3N, K): Gram-Schmidt in order
    modes = (q * np.where(np.diag(r) < 0, -1.0, 1.0)).T.reshape(basis.modes.shape)
    spread = basis.spread
    if coefficients is not None:
        overlap = basis.modes.reshape(K, -1) @ modes.reshape(K, -1).T            # (K old, K new)
        spread = (np.asarray(coefficients, dtype=np.float64) @ overlap).std(0)
    return ShapeBasis(mean, modes, spread), asymmetry


def canonical_frame(mean: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """A rotation ``C (3, 3)`` that turns a basis fitted by bundle adjustment (whose orientation is arbitrary) into
    a readable frame, from 2D-only information: ``mean (N, 3) @ C.T`` has +y up (against the image-down direction
    of the views' cameras, ``rotations (V, 3, 3)`` basis-to-camera, averaged: photographs are taken upright), +x
    along the mean's widest extent across that vertical, +z towards the side where the mean reaches farthest from
    its centre (a face's nose), x = y cross z."""
    down = rotations[:, 1, :].mean(0)                                          # camera y (image down), basis frame
    y = -down / np.linalg.norm(down)
    P = mean - mean.mean(0)
    Q = P - np.outer(P @ y, y)                                                 # across the vertical
    x = np.linalg.eigh(Q.T @ Q)[1][:, -1]
    z = np.cross(x, y)
    if (P @ z).max() < -(P @ z).min():
        z = -z
    return np.stack([np.cross(y, z), y, z])


def fit_basis_to_views(lifter, category: str, points2d: np.ndarray, visible: np.ndarray, modes: int,
                       iterations: int = DEFAULT_BA_ITERATIONS, progress: bool = True) -> tuple[ShapeBasis, dict]:
    """A basis of ``modes`` modes for ``category`` from the 2D of training views ``points2d (V, N, 2)``, ``visible
    (V, N)`` (no 3D data), and a summary for the record.

    The start: ``lifter``'s lifts without this refinement (``lift(..., shape_basis=False)``) read through the
    camera guessed from each view's landmarks (:func:`lifter.geometry.guessed_pinhole_of_lift`), their generalised
    Procrustes mean (:func:`fit_basis`) and each view's pose on it. Then the perspective bundle adjustment
    :func:`lifter.pinhole_fit.bundle_adjust` (principal points kept at the guess, focal lengths estimated), with a
    progress bar when ``progress``. The basis is returned in :func:`canonical_frame`; its ``spread`` is the fitted
    coefficients' standard deviation. A category with mirror pairs gets the basis made exactly mirror-symmetric
    (:func:`mirror_symmetric`), its mean's asymmetry before that recorded in the summary.
    """
    from tqdm import tqdm

    lift = lifter.lift(points2d, category, visible, shape_basis=False)
    pixels = np.where(visible[..., None], points2d, 0.0)
    principal, kappa = guessed_pinhole_of_lift(lift, pixels, visible, DEFAULT_SPAN_OVER_FOCAL)
    focal = 1.0 / kappa
    reading = lifter.read_with_camera(lift, pixels, category, focal, principal, visible, shape_basis=False)
    start = fit_basis(reading, 0).mean
    vis, mean = host_tensor(visible, bool), host_tensor(start)
    params = pinhole_fit.initial_params(host_tensor(reading), vis, mean, host_tensor(focal), modes)
    bar = tqdm(total=iterations, desc=f"{category} bundle adjustment", unit="step", disable=not progress)
    rms = []

    def report(_: int, error: float) -> None:
        rms.append(error)
        bar.set_postfix(rms_px=f"{error:.3f}")
        bar.update()

    mean, basis_modes, params = pinhole_fit.bundle_adjust(host_tensor(pixels), vis, host_tensor(principal), params,
                                                          mean, modes, iterations, report)
    bar.close()
    C = canonical_frame(mean.numpy(), pinhole_fit.rotation_from_axis_angle(params[:, :3]).numpy())
    coefficients = params[:, pinhole_fit.POSE:].numpy()
    spread = coefficients.std(0) if modes else np.zeros(0)
    summary = {"views": len(points2d), "modes": modes, "method": "perspective bundle adjustment",
               "iterations": iterations,
               "rms_px_start": round(rms[0], 4), "rms_px": round(rms[-1], 4)}
    basis = ShapeBasis(mean.numpy() @ C.T, basis_modes.numpy() @ C.T, spread)
    perm = mirror_permutation(category)
    if perm is not None:
        basis, asymmetry = mirror_symmetric(basis, perm, coefficients if modes else None)
        summary["mirror_symmetric"] = {"mean_asymmetry_before": round(asymmetry, 6)}
    return basis, summary


def save_bases(path: Path, bases: dict[str, ShapeBasis], record: dict) -> None:
    """Write ``bases`` to ``path`` (safetensors: ``<category>.mean``, ``.modes``, ``.spread``) and ``record`` plus
    the file's SHA-256 to the JSON beside it (same stem)."""
    save_fitted(path, bases, record)


def load_bases(path: Path) -> dict[str, ShapeBasis]:
    """The bases in ``path`` (:func:`save_bases`), checked against the SHA-256 in their record.
    Raises:
        lifter.api.WeightsError: a missing file or record, a corrupted file (naming it).
    """
    return load_fitted(path, ShapeBasis, "shape bases", "make them with `python -m lifter.shape_basis --data "
                       "data/`, or restore the file from git", "shape-basis")


def _fit_category(lifter, category: str, views, args, error) -> tuple[ShapeBasis, dict]:
    """One category's basis for :func:`main` (:func:`lifter.fitted_priors.fit_command`'s ``fit``)."""
    return fit_basis_to_views(lifter, category, views.points2d, views.visible, _modes(category, args),
                              args.iterations)


def _modes(category: str, args) -> int:
    """The modes :func:`main` fits for ``category``: ``--modes``, else :data:`DEFAULT_MODES`' (3 where unlisted)."""
    return DEFAULT_MODES.get(category, 3) if args.modes is None else args.modes


def _check_arguments(args, error, available: int | None = None) -> None:
    """:func:`main`'s checks before anything is loaded: ``--iterations`` >= 1, and each category's modes between 0
    and ``3 N - 7`` (a shape's coordinates less its similarity) with a bundle adjustment that fits in the memory
    ``available`` (bytes; None: the system's ``MemAvailable``): 500 modes for 20 hands had taken 23 GB."""
    from lifter.batch_check import available_memory
    from lifter.skeletons import get_category

    if args.iterations < 1:
        error(f"--iterations must be >= 1, got {args.iterations}")
    available = available_memory() if available is None else available
    for category in args.categories:
        k = _modes(category, args)
        try:
            n = get_category(category).num_landmarks
        except ValueError:
            continue                                 # an unknown category: named once the lifter is loaded
        if not 0 <= k <= 3 * n - 7:
            error(f"--modes must be 0..{3 * n - 7} for {category} ({n} landmarks), got {k}")
        need = pinhole_fit.bundle_memory(args.views, n, k)
        if available is not None and need > available:
            error(f"{category}: a basis of {k} modes from {args.views} views needs about {need / 2 ** 30:.1f} GiB "
                  f"for its bundle adjustment, {available / 2 ** 30:.1f} GiB are available: lower --modes or --views")


def main(argv: list[str] | None = None) -> int:
    """``python -m lifter.shape_basis --data data/``: fit the shipped bases to training 2D, from the bundled
    lifter's lifts."""
    def add_modes(parser) -> None:
        parser.add_argument("--modes", type=int, default=None, help="modes per basis (default: DEFAULT_MODES)")
        parser.add_argument("--iterations", type=int, default=DEFAULT_BA_ITERATIONS,
                            help="bundle adjustment's damped Gauss-Newton steps")

    return fit_command(argv, "shape_basis", "shape bases", DEFAULT_BASES, sorted(DEFAULT_MODES), "shape_basis",
                       "shape_bases", DEFAULT_VIEWS, DEFAULT_SEED, _fit_category,
                       lambda s: f"{s['modes']} modes from {s['views']} views", min_views=2, add_arguments=add_modes,
                       check_arguments=_check_arguments)


if __name__ == "__main__":
    raise SystemExit(main())
