"""Test-time shape-basis refinement: a lift's depths pulled onto a low-rank shape model of its category.

Some categories vary little from one instance to the next: every face is the same face up to a few proportions,
so the lifter's per-view depth noise is larger than the variation it is meant to capture. For those
(:data:`DEFAULT_MODES`), a *shape basis* (a mean shape and ``K`` modes, C3DPO's low-rank model) is fitted to the
lifter's own lifts of training 2D views (:func:`fit_basis`; no 3D data), and at test time
:func:`refine_with_basis` alternates

1. the basis shape closest to the current lift: the lift aligned to the mean by a similarity transform on its
   visible landmarks, the mode coefficients by least squares on those landmarks, the shape aligned back;
2. the depths: each visible landmark moves along its ray (orthographic for :meth:`LoadedLifter.lift`, the pixel's
   ray through the pinhole for ``lift_with_camera``) to ``(weight z_lift + z_basis) / (1 + weight)``.

Landmarks that are not visible become the basis shape's points. Visible landmarks keep their x, y (orthographic
reading) or stay on their pixel's ray (camera reading), so a lift still reproduces its input.

The bases are a file of their own (``assets/weights/shape_bases.safetensors`` with its JSON record: the command,
the lifter and the training views that made it), written by ``python -m lifter.shape_basis --data data/``. The
number of modes, the weight and the alternations were chosen on training views (docs/lifter-experiments.md,
*Shape-basis refinement at test time*).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lifter.fitted_priors import fit_command, load_fitted, save_fitted
from lifter.geometry import host_tensor, similarity_procrustes, similarity_procrustes_torch

DEFAULT_BASES = Path(__file__).resolve().parents[1] / "assets" / "weights" / "shape_bases.safetensors"
#: Modes of the basis per category, for the categories that are refined (chosen on training views; chairs, bodies
#: and hands vary too much for a low-rank model of the lifter's own lifts to help: measured, not shipped).
DEFAULT_MODES = {"face468": 2}
#: Weight of the lifter's depth against the basis shape's (0: the basis shape's depth alone).
DEFAULT_WEIGHT = 0.1
#: Alignment / depth alternations of :func:`refine_with_basis`.
DEFAULT_ITERATIONS = 5
#: Training views whose lifts make a basis, and the seed of their draw.
DEFAULT_VIEWS = 2000
DEFAULT_SEED = 0


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
    lifts = lifter.lift(views.points2d, category, views.visible, shape_basis=False)
    k = DEFAULT_MODES.get(category, 2) if args.modes is None else args.modes
    return fit_basis(lifts, k), {"views": len(lifts), "modes": k}


def main(argv: list[str] | None = None) -> int:
    """``python -m lifter.shape_basis --data data/``: fit the shipped bases from the bundled lifter's lifts."""
    def add_modes(parser) -> None:
        parser.add_argument("--modes", type=int, default=None, help="modes per basis (default: DEFAULT_MODES)")

    return fit_command(argv, "shape_basis", "shape bases", DEFAULT_BASES, sorted(DEFAULT_MODES), "shape_basis",
                       "shape_bases", DEFAULT_VIEWS, DEFAULT_SEED, _fit_category,
                       lambda s: f"{s['modes']} modes from {s['views']} views", min_views=2, add_arguments=add_modes)


if __name__ == "__main__":
    raise SystemExit(main())
