"""Test-time bone-length refinement: a lift's depths nudged towards its category's bone proportions.

A body or a hand is articulated, but its bones are rigid: whatever the pose, the ratio of a forearm to a thigh or
of a fingertip's phalanx to the palm stays close to the category's proportions. Under a 2D view a bone's length
fixes how far its ends are apart in depth (up to the sign), so known proportions pin depth where a 2D prior alone
leaves it loose (Taylor, 2000). The lifter's network learns them only approximately. For the articulated
categories (:data:`DEFAULT_WEIGHTS`), the *bone proportions* (each skeleton edge's length over the sum of the
edges' lengths) are the medians over the lifter's own lifts of training 2D views (:func:`fit_proportions`; no 3D
data), and at test time :func:`refine_bone_lengths` moves each visible landmark along its ray by a damped
Gauss-Newton step on

    sum over bones with both ends visible of (|X_i - X_j| - s d_ij)^2  +  weight * sum_i (z_i - z0_i)^2

in the depths ``z`` and the lift's own scale ``s`` (started at the least-squares fit of the lift's lengths):
``d`` the proportions, ``z0`` the network's depths. One step (:data:`DEFAULT_ITERATIONS`) was measured to be
better than iterating to convergence: the proportions are a category's, not this subject's (a hand's bones vary
by a few per cent from one hand to the next), and the step moves the depths most where the linearised residual
is largest. Landmarks that are not visible keep the network's prediction.

For hands the same steps also pull each finger into its hinge plane (:mod:`lifter.hinges`: the knuckle, the two finger
joints and the tip in one plane through the palm's normal; the thumb's four landmarks in one plane), the squared hinge
residuals weighted by :data:`DEFAULT_HINGE_WEIGHTS` joining the bone-length ones; with them two steps
(:data:`CATEGORY_ITERATIONS`) were measured to be better than one on training views. :func:`category_settings` gathers a
category's shipped settings.

``lift()`` does not know the camera, so it reads its lift through the pinhole that
:func:`lifter.geometry.guessed_pinhole` guesses from the whole lifted subject's 2D extent (hidden landmarks where
the lift puts them; as the symmetry refinement does), moves the depths along those rays and keeps the input x, y;
``lift_with_camera`` refines again along the true pixels' rays, after its pinhole reading. The step is written in
torch (:func:`refine_bone_lengths_torch`, :func:`refine_lift_torch`) and runs on the lifter's device, every frame at
once, so that on a GPU a body's or a hand's lift never leaves it; the numpy functions of the same names without
``_torch`` are its face for numpy callers. The proportions are a file of their own
(``assets/weights/bone_proportions.safetensors`` with its JSON record), written by ``python -m lifter.bone_lengths
--data data/``. The weights and the number of steps were chosen on training views
(docs/lifter-experiments.md, *Bone-length refinement at test time*).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lifter.fitted_priors import fit_command, load_fitted, save_fitted
from lifter.geometry import guessed_pinhole_torch, host_tensor, masked_mean
from lifter.hinges import Hinges, category_hinges, hinge_active, hinge_residuals
from lifter.mirroring import mirror_permutation
from lifter.skeletons import get_category
from lifter.symmetry import DEFAULT_SPAN_OVER_FOCAL

DEFAULT_PROPORTIONS = Path(__file__).resolve().parents[1] / "assets" / "weights" / "bone_proportions.safetensors"
#: Weight of the network's depths against the bone-length residual, per refined category (chosen on training
#: views; chairs and faces have the symmetry and shape-basis refinements instead, their shapes vary as a whole).
DEFAULT_WEIGHTS = {"hand21": 0.05, "human17": 0.1}
#: Gauss-Newton steps of :func:`refine_bone_lengths` (the functions' default; :data:`CATEGORY_ITERATIONS` overrides).
DEFAULT_ITERATIONS = 1
#: Weight of the finger-hinge residuals (:mod:`lifter.hinges`) against the bone-length ones, per category with
#: hinges, and the Gauss-Newton steps of the categories that take other than one (chosen on training views:
#: docs/lifter-experiments.md, *Finger hinges in the bone-length refinement*).
DEFAULT_HINGE_WEIGHTS = {"hand21": 0.3}
CATEGORY_ITERATIONS = {"hand21": 2}
#: The hinge residuals' differences run over blocks of frames of about this many numbers each (32 MiB in float64):
#: their (frames, N, N, 3) batches stay small on a CPU, and a GPU still gets thousands of frames a call.
HINGE_BLOCK_ELEMENTS = 2 ** 22
#: Training views whose lifts give the proportions, and the seed of their draw.
DEFAULT_VIEWS = 2000
DEFAULT_SEED = 0


@dataclass(frozen=True)
class BoneProportions:
    """A category's bone proportions: ``edges (P, 2)`` landmark index pairs, ``ratios (P,)`` each edge's length
    over the sum of the ``P`` lengths (the median over the fitted lifts), ``spread (P,)`` the lifts' interquartile
    range of that ratio over 1.349 (a robust standard deviation; reported, not used)."""
    edges: np.ndarray
    ratios: np.ndarray
    spread: np.ndarray


def category_edges(category: str) -> np.ndarray:
    """The skeleton edges of ``category`` (:mod:`lifter.skeletons`) as ``(P, 2)`` sorted index pairs, each once."""
    return np.array(sorted({tuple(sorted(e)) for e in get_category(category).edges}), dtype=np.int64)


def edge_lengths(points: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Lengths ``(F, P)`` of the ``edges (P, 2)`` of ``points (F, N, 3)``."""
    return np.linalg.norm(points[:, edges[:, 0]] - points[:, edges[:, 1]], axis=-1)


def mirror_edges(edges: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """For each of the ``edges (P, 2)``, the index of its mirror image under the landmark permutation ``perm (N,)``
    (a left/right reflection): ``(P,)``. Raises ValueError when an edge's image is not an edge."""
    index = {tuple(e): k for k, e in enumerate(np.sort(edges, 1).tolist())}
    try:
        return np.array([index[tuple(sorted((int(perm[i]), int(perm[j]))))] for i, j in edges])
    except KeyError as e:
        raise ValueError(f"the mirror image of edge {e} is not an edge") from None


def fit_proportions(lifts: np.ndarray, visible: np.ndarray, edges: np.ndarray, mirror: np.ndarray | None = None
                    ) -> BoneProportions:
    """The bone proportions of the lifts ``(F, N, 3)`` whose ``visible (F, N)`` landmarks include every edge's ends.

    With ``mirror`` (the landmark permutation of a left/right reflection, :func:`lifter.mirroring.mirror_permutation`),
    an edge and its mirror image get the mean of their two medians: a left forearm is as long as a right one, and
    the refinement stays exactly mirror-equivariant, as ``lift()`` is.
    Raises:
        ValueError: no such lift, no edges, a lift with non-finite points on the edges, a ``mirror`` that does
            not map the edges onto themselves.
    """
    lifts = np.asarray(lifts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.int64)
    if not len(edges):
        raise ValueError("a category without edges has no bone proportions")
    vis = np.asarray(visible, dtype=bool)
    whole = (vis[:, edges[:, 0]] & vis[:, edges[:, 1]]).all(1)                   # (F,)
    if not whole.any():
        raise ValueError(f"none of the {len(lifts)} lifts has every edge's ends visible")
    lengths = edge_lengths(lifts[whole], edges)
    if not np.isfinite(lengths).all():
        raise ValueError("the lifts must be finite on the edges' landmarks")
    ratios = lengths / np.maximum(lengths.sum(1, keepdims=True), 1e-12)
    q25, median, q75 = np.percentile(ratios, [25, 50, 75], axis=0)
    spread = (q75 - q25) / 1.349
    if mirror is not None:
        other = mirror_edges(edges, np.asarray(mirror))
        median, spread = (median + median[other]) / 2, (spread + spread[other]) / 2
    return BoneProportions(edges, median, spread)


def refine_bone_lengths(points: np.ndarray, visible: np.ndarray, proportions: BoneProportions,
                        rays: np.ndarray | None = None, weight: float = 0.1, iterations: int = DEFAULT_ITERATIONS,
                        hinges: Hinges | None = None, hinge_weight: float = 0.0) -> np.ndarray:
    """Visible landmarks moved along their rays towards the bone proportions (module docstring): the numpy face
    of :func:`refine_bone_lengths_torch` (same arguments as numpy arrays), computed in float64.

    Returns:
        ``(F, N, 3)`` float32; frames without a bone whose two ends are visible are returned unchanged.
    """
    moved = refine_bone_lengths_torch(host_tensor(points), host_tensor(visible, bool), proportions,
                                      host_tensor(rays), weight, iterations, hinges, hinge_weight)
    return moved.numpy().astype(np.float32)


def refine_bone_lengths_torch(points: torch.Tensor, visible: torch.Tensor, proportions: BoneProportions,
                              rays: torch.Tensor | None = None, weight: float = 0.1,
                              iterations: int = DEFAULT_ITERATIONS, hinges: Hinges | None = None,
                              hinge_weight: float = 0.0) -> torch.Tensor:
    """Visible landmarks moved along their rays towards the bone proportions (module docstring), on the tensors'
    device (every frame at once, no host round trip: the form ``lift()`` runs on a GPU).

    Args:
        points: ``(F, N, 3)`` x, y, z in one frame (any offset and scale), floating point (float64 advised).
        visible: ``(F, N)`` bool: landmarks that move; a bone takes part when both its ends are visible.
        proportions: the category's :class:`BoneProportions` (edges into ``N`` landmarks).
        rays: how a landmark's x, y change per unit of its depth, ``(F, N, 2)``: ``(x / z, y / z)`` for points
            seen through a pinhole at the origin; None: orthographic (only z moves).
        weight: weight of ``(z - z0)^2`` against the squared length residuals (> 0).
        iterations: Gauss-Newton steps (>= 1).
        hinges, hinge_weight: with ``hinges`` (:mod:`lifter.hinges`) and a ``hinge_weight`` > 0, the squared
            hinge residuals of the residuals' landmarks that are all visible join the bone-length residuals,
            times ``hinge_weight`` and the squared scale (their sines in length units); their derivatives by
            central differences along the rays.
    Returns:
        ``(F, N, 3)`` in ``points``' dtype; frames without a bone whose two ends are visible, and landmarks that
        are not visible (or not finite), are returned unchanged.
    Raises:
        ValueError: a weight that is not positive, fewer than one iteration, a negative hinge weight, edges
            outside ``N``.
    """
    if weight <= 0 or iterations < 1 or hinge_weight < 0:
        raise ValueError(f"weight must be > 0, iterations >= 1 and hinge_weight >= 0, got {weight}, {iterations} "
                         f"and {hinge_weight}")
    F, N, _ = points.shape
    if proportions.edges.max() >= N:
        raise ValueError(f"the proportions' edges reach landmark {int(proportions.edges.max())}, the points have {N}")
    dtype, device = points.dtype, points.device
    edges = torch.as_tensor(proportions.edges, device=device)                         # (P, 2)
    ratios = torch.as_tensor(proportions.ratios, dtype=dtype, device=device)          # (P,)
    free = visible & torch.isfinite(points).all(-1)                                   # (F, N)
    freef = free.to(dtype)
    ends_free = freef[:, edges]                                                       # (F, P, 2)
    active = ends_free.prod(-1)                                                       # (F, P): both ends free
    use = active.sum(1) > 0                                                           # (F,)
    hidden = ~free[..., None]
    ray = torch.zeros(F, N, 2, dtype=dtype, device=device) if rays is None else rays.to(dtype).masked_fill(hidden, 0)
    dirs = torch.cat([ray, torch.ones(F, N, 1, dtype=dtype, device=device)], -1)     # dX / dz
    ends_dirs = dirs[:, edges]                                                        # (F, P, 2, 3)
    X0 = points.masked_fill(hidden, 0)
    d = ratios * active                                                               # (F, P)
    ends = X0[:, edges]
    lengths0 = (ends[:, :, 0] - ends[:, :, 1]).norm(dim=-1)
    scale = (lengths0 * d).sum(1) / ((d * d).sum(1) + ~use)             # (F,)
    # d residual / d u as (F, P, 2) derivatives at the edges' two ends, spread over the N landmarks by the edges'
    # incidence (P, 2, N): +1 at the first end, -1 at the second
    incidence = torch.nn.functional.one_hot(edges, N).to(dtype) * ratios.new_tensor([1.0, -1.0])[:, None]
    # fixed landmarks' u stays 0; a frame without bones keeps its scale too (its system would be singular)
    damping = torch.diag_embed(torch.cat([weight * freef + (1 - freef), (~use).to(dtype)[:, None]], -1))
    hinge_rows = _hinge_rows(points, free, dirs, hinges, hinge_weight ** 0.5 * scale) if hinge_weight else None
    u = torch.zeros(F, N, dtype=dtype, device=device)                                 # depth moves
    for _ in range(iterations):
        ends = X0[:, edges] + u[:, edges, None] * ends_dirs                           # (F, P, 2, 3)
        diff = ends[:, :, 0] - ends[:, :, 1]                                          # (F, P, 3)
        length = diff.norm(dim=-1).clamp_min(1e-12)
        residual = (length - scale[:, None] * ratios) * active                        # (F, P)
        j = (diff[:, :, None] * ends_dirs).sum(-1) * (active / length)[..., None] * ends_free   # (F, P, 2)
        J = torch.cat([(j[..., None] * incidence).sum(2), -d[..., None]], -1)         # (F, P, N + 1)
        if hinge_rows is not None:
            residual_h, J_h = hinge_rows(u)                                           # (F, R), (F, R, N + 1)
            residual, J = torch.cat([residual, residual_h], 1), torch.cat([J, J_h], 1)
        H = J.transpose(1, 2) @ J + damping
        g = J.transpose(1, 2) @ residual[..., None]                                   # (F, N + 1, 1)
        g[:, :N, 0] += weight * freef * u
        # torch's solver, not numpy's: numpy's OpenBLAS wakes its own threads for this small solve, and right
        # after a network pass they wait for torch's spinning OpenMP threads to yield the cores, a slow tail of
        # single-pose latencies (docs/benchmark.md, *Speed*: the p90s of python -m lifter.bench before and after).
        step = torch.linalg.solve(H, -g)[..., 0]                                      # (F, N + 1)
        u = u + step[:, :N] * freef
        scale = scale + step[:, N]
    return torch.where((free & use[:, None])[..., None], X0 + u[..., None] * dirs, points)


def _hinge_rows(points: torch.Tensor, free: torch.Tensor, dirs: torch.Tensor, hinges: Hinges | None,
                scale: torch.Tensor) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None:
    """For :func:`refine_bone_lengths_torch`: a function of the depth moves ``u (F, N)`` giving the hinge
    residuals ``(F, R)`` times ``scale (F,)`` where active (else 0) and their Jacobian ``(F, R, N + 1)`` (moves of
    free landmarks only; the last column, the bones' scale, 0), in ``points``' dtype; None without hinges. The
    differences are taken in float64 whatever that dtype (a float32 step of 1e-6 would be rounding noise)."""
    if hinges is None:
        return None
    dtype = points.dtype
    points, dirs, scale = points.double(), dirs.double(), scale.double()
    # landmarks that do not move enter at their given place (0 where not finite: their residuals are inactive)
    base = torch.where(free[..., None], points, points.nan_to_num(0.0, 0.0, 0.0))
    weight = torch.where(hinge_active(free, hinges), scale[:, None], 0)            # (F, R)

    F, N, _ = points.shape
    # central differences along each free landmark's ray: a step of 1e-6 of the scale (float64: truncation and
    # rounding errors near 1e-10 of the residuals); the landmark-by-landmark moves of a block of frames as one
    # (frames, N moved, N, 3) batch, the blocks bounded to about HINGE_BLOCK_ELEMENTS numbers each
    h = 1e-6 * scale.clamp_min(1e-12)                                              # (F,)
    ray = dirs * free[..., None] * h[:, None, None]                                # (F, N, 3): a step along each
    eye = torch.eye(N, dtype=points.dtype, device=points.device)[None, :, :, None]
    block = max(1, HINGE_BLOCK_ELEMENTS // (N * N * 3))

    def value_and_jacobian(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = base + u.double()[..., None] * dirs
        r = hinge_residuals(x, hinges) * weight
        parts = [x.new_zeros(0, N, hinges.count)]                                  # (F = 0: no blocks)
        for s in range(0, F, block):
            xs, moves = x[s:s + block, None], eye * ray[s:s + block, None]        # (b, 1, N, 3), (b, N, N, 3)
            diff = hinge_residuals(xs + moves, hinges) - hinge_residuals(xs - moves, hinges)   # (b, N, R)
            parts.append(diff / (2 * h[s:s + block, None, None]))
        J = torch.cat(parts).transpose(1, 2) * weight[..., None]                  # (F, R, N)
        return r.to(dtype), torch.cat([J, J.new_zeros(J.shape[:2] + (1,))], -1).to(dtype)
    return value_and_jacobian


def category_settings(category: str) -> dict:
    """The shipped refinement settings of ``category`` as keyword arguments of :func:`refine_bone_lengths_torch`
    and the functions built on it: ``weight``, ``iterations``, ``hinges`` (:func:`lifter.hinges.category_hinges`,
    None without a hinge weight) and ``hinge_weight``."""
    hinge_weight = DEFAULT_HINGE_WEIGHTS.get(category, 0.0)
    return {"weight": DEFAULT_WEIGHTS.get(category, 0.1),
            "iterations": CATEGORY_ITERATIONS.get(category, DEFAULT_ITERATIONS),
            "hinges": category_hinges(category) if hinge_weight else None, "hinge_weight": hinge_weight}


def refine_lift(lift: np.ndarray, centre: np.ndarray, visible: np.ndarray, proportions: BoneProportions,
                weight: float, span_over_focal: float = DEFAULT_SPAN_OVER_FOCAL,
                iterations: int = DEFAULT_ITERATIONS, focal: np.ndarray | None = None,
                principal: np.ndarray | None = None, hinges: Hinges | None = None, hinge_weight: float = 0.0
                ) -> np.ndarray:
    """:func:`refine_bone_lengths` on a lift in ``lift()``'s form, read through :func:`guessed_pinhole`: the numpy
    face of :func:`refine_lift_torch` (same arguments as numpy arrays), computed in float64.

    Returns:
        ``(F, N, 3)`` float32 in ``lift``'s frame: every landmark keeps its x, y; visible ones get new depths.
    """
    out = refine_lift_torch(host_tensor(lift), host_tensor(centre), host_tensor(visible, bool), proportions,
                            weight, span_over_focal, iterations, host_tensor(focal), host_tensor(principal), hinges,
                            hinge_weight)
    return out.numpy().astype(np.float32)


def pinhole_view_torch(lift: torch.Tensor, centre: torch.Tensor, visible: torch.Tensor,
                       span_over_focal: float = DEFAULT_SPAN_OVER_FOCAL, focal: torch.Tensor | None = None,
                       principal: torch.Tensor | None = None, extent: torch.Tensor | None = None,
                       min_factor: float | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A lift in ``lift()``'s form read through a pinhole camera, the form :func:`refine_bone_lengths_torch` moves
    along rays: by default the camera :func:`lifter.geometry.guessed_pinhole_torch` guesses from the 2D extent of
    the landmarks in ``extent (F, N)`` (None: every landmark, hidden ones where the lift puts them).

    Args:
        lift: ``(F, N, 3)`` x, y in pixels relative to ``centre``, z depth in the same units (any offset).
        centre: ``(F, 2)`` pixel position of the lift's origin; visible: ``(F, N)`` bool, the landmarks whose mean
            depth is the reference.
        span_over_focal, focal, principal: as for :func:`refine_lift_torch`.
        min_factor: a floor on each landmark's un-projection factor ``1 + depth / focal`` (None: none).
    Returns:
        ``seen (F, N, 3)`` float64: each landmark's depth from the ``visible`` mean, and its x, y from the principal
        point un-projected at that depth; ``rays (F, N, 2)``, how x, y change per unit of depth; ``z_ref (F, 1)``,
        the ``visible`` landmarks' mean depth in ``lift``.
    """
    lift = lift.to(torch.float64)
    pixels = lift[..., :2] + centre.to(torch.float64)[:, None]
    if focal is None or principal is None:
        point, kappa = guessed_pinhole_torch(pixels, extent, span_over_focal)
    else:
        point, kappa = principal.to(torch.float64), 1.0 / focal.to(torch.float64)
    offsets = pixels - point[:, None]
    z_ref = masked_mean(lift[..., 2:3], visible)                                 # (F, 1)
    z = lift[..., 2] - z_ref                                                     # depth from the visible mean
    factor = 1 + kappa[:, None, None] * z[..., None]
    if min_factor is not None:
        factor = factor.clamp_min(min_factor)
    return torch.cat([offsets * factor, z[..., None]], -1), kappa[:, None, None] * offsets, z_ref


def refine_lift_torch(lift: torch.Tensor, centre: torch.Tensor, visible: torch.Tensor, proportions: BoneProportions,
                      weight: float, span_over_focal: float = DEFAULT_SPAN_OVER_FOCAL,
                      iterations: int = DEFAULT_ITERATIONS, focal: torch.Tensor | None = None,
                      principal: torch.Tensor | None = None, hinges: Hinges | None = None,
                      hinge_weight: float = 0.0) -> torch.Tensor:
    """:func:`refine_bone_lengths_torch` on a lift in ``lift()``'s form, read through a pinhole camera: by default
    the one :func:`lifter.geometry.guessed_pinhole_torch` guesses from every landmark where the lift puts it in
    the image (hidden ones at their predicted pixels), on the tensors' device.

    Args:
        lift: ``(F, N, 3)`` x, y in pixels relative to ``centre``, z depth in the same units (any offset).
        centre: ``(F, 2)`` pixel position of the lift's origin (the visible landmarks' 2D centroid).
        visible: ``(F, N)`` bool.
        proportions, weight, iterations, hinges, hinge_weight: as for :func:`refine_bone_lengths_torch`.
        span_over_focal: the guessed ratio of the 2D extent to the focal length.
        focal: ``(F,)`` focal lengths in pixels, principal: ``(F, 2)`` pixels: a camera to read through instead
            of the guess (both or neither).
    Returns:
        ``(F, N, 3)`` float64 in ``lift``'s frame: every landmark keeps its x, y; visible ones get new depths.
    """
    lift = lift.to(torch.float64)
    seen, rays, z_ref = pinhole_view_torch(lift, centre, visible, span_over_focal, focal, principal)
    moved = refine_bone_lengths_torch(seen, visible, proportions, rays, weight, iterations, hinges, hinge_weight)
    depth = torch.where(visible, moved[..., 2] + z_ref, lift[..., 2])            # hidden: exactly as given
    return torch.cat([lift[..., :2], depth[..., None]], -1)


def save_proportions(path: Path, proportions: dict[str, BoneProportions], record: dict) -> None:
    """Write ``proportions`` to ``path`` (safetensors: ``<category>.edges``, ``.ratios``, ``.spread``) and
    ``record`` plus the file's SHA-256 to the JSON beside it (same stem)."""
    save_fitted(path, proportions, record)


def load_proportions(path: Path) -> dict[str, BoneProportions]:
    """The proportions in ``path`` (:func:`save_proportions`), checked against the SHA-256 in their record.
    Raises:
        lifter.api.WeightsError: a missing file or record, a corrupted file (naming it).
    """
    return load_fitted(path, BoneProportions, "bone proportions", "make them with `python -m lifter.bone_lengths "
                       "--data data/`, or restore the file from git", "bone-proportions")


def _fit_category(lifter, category: str, views, args, error) -> tuple[BoneProportions, dict]:
    """One category's proportions for :func:`main` (:func:`lifter.fitted_priors.fit_command`'s ``fit``)."""
    edges = category_edges(category)
    if not len(edges):
        error("no skeleton edges")
    lifts = lifter.lift(views.points2d, category, views.visible, bone_lengths=False)
    try:
        fitted = fit_proportions(lifts, views.visible, edges, mirror_permutation(category))
    except ValueError as e:
        error(str(e))
    return fitted, {"views": len(lifts), "edges": len(edges)}


def main(argv: list[str] | None = None) -> int:
    """``python -m lifter.bone_lengths --data data/``: fit the shipped proportions from the bundled lifter's lifts."""
    return fit_command(argv, "bone_lengths", "bone proportions", DEFAULT_PROPORTIONS, sorted(DEFAULT_WEIGHTS),
                       "bone_lengths", "bone_proportions", DEFAULT_VIEWS, DEFAULT_SEED, _fit_category,
                       lambda s: f"{s['edges']} bones from {s['views']} views")


if __name__ == "__main__":
    raise SystemExit(main())
