"""The benchmark's reference rows that need no training (:mod:`lifter.evaluate` scores them beside the lifters):
the training set's mean 3D shape, the rigid template that structure from motion recovers from the training 2D,
zero depth, and the floors of ``lift()``'s output form (the true depths, and the best depths found, on the input
x, y). The mean shape, the template's depth sign and the floors read the 3D ground truth: they are references,
never methods.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lifter.geometry import rigid_factorisation, rms_radius, similarity_procrustes, visible_centroid
from lifter.views import TestSet, read_data_file


def mean_shape(data: Path, category: str, max_shapes: int = 5000, iterations: int = 3) -> np.ndarray | None:
    """The training set's mean 3D shape ``(N, 3)`` (ground truth: evaluation only).

    Generalised Procrustes analysis: the training shapes (world frame, at most ``max_shapes`` of them) are
    aligned by similarity transforms to the running mean, ``iterations`` times, so that poses facing different
    ways do not average into a blob.
    """
    path = Path(data) / f"{category}_train.npz"
    if not path.exists():
        return None
    points3d = read_data_file(path, category, ("points2d", "points3d"))["points3d"]   # checked: named if foreign
    step = max(1, len(points3d) // max_shapes)
    shapes = points3d[::step].astype(np.float64)
    present = np.isfinite(shapes).all(-1)
    mean = np.nanmean(shapes - np.nanmean(shapes, 1, keepdims=True), 0)
    for _ in range(iterations):
        ref = np.broadcast_to(mean, shapes.shape)
        aligned = similarity_procrustes(np.nan_to_num(shapes), ref, present & np.isfinite(mean).all(-1))
        mean = np.nanmean(np.where(present[..., None], aligned, np.nan), 0)
        mean -= np.nanmean(mean, 0)
        mean /= np.sqrt(np.nanmean((mean ** 2).sum(-1)))
    return mean


def rigid_template(data: Path, category: str, mean: np.ndarray | None) -> np.ndarray | None:
    """The rigid shape ``(N, 3)`` that structure from motion recovers from the training 2D alone
    (:func:`lifter.geometry.rigid_factorisation`, the template of ``--template-weight``), its depth sign set to
    agree with the training set's ``mean`` 3D shape (the sign and, when scored, the pose are oracles); None
    without training data or fully visible training views (chairs: every chair lacks some keypoints)."""
    path = Path(data) / f"{category}_train.npz"
    if not path.exists() or mean is None:
        return None
    f = read_data_file(path, category, ("points2d", "visible"))
    try:
        shape, _ = rigid_factorisation(f["points2d"], f["visible"])
    except ValueError:
        return None
    ok = np.isfinite(mean).all(-1)
    mirrored = shape * [1.0, 1.0, -1.0]
    err = [np.linalg.norm(similarity_procrustes(s[None], mean[None], ok[None])[0] - mean, axis=-1)[ok].mean()
           for s in (shape, mirrored)]
    return shape if err[0] <= err[1] else mirrored


def flat_method(test: TestSet) -> np.ndarray:
    """Zero depth: the centred input 2D (missing landmarks at the centroid)."""
    w = test.visible[..., None]
    xy = np.where(w, test.points2d - visible_centroid(test.points2d, test.visible)[:, None], 0.0)
    return np.concatenate([xy, np.zeros(xy.shape[:2] + (1,))], -1)


def depth_only_floor(test: TestSet) -> np.ndarray:
    """The best any lift of the API's form can do: ``(B, N, 3)`` pixel units.

    Visible landmarks keep the input 2D as x, y (relative to the principal point) and get the true depth,
    ``(Z - mean Z) * f / mean Z``; hidden ones get their true 3D at the same scale. Under perspective the true x, y
    are ``Z / mean Z`` times the 2D, so what remains is the error of reading the image orthographically.
    """
    Z = test.points3d[..., 2].astype(np.float64)                             # (B, N)
    z_mean = np.nanmean(np.where(test.present, Z, np.nan), 1)[:, None]       # (B, 1)
    k = (test.focal[:, None] / z_mean)[..., None]                            # pixels per unit at mean depth
    xy = np.where(test.visible[..., None], test.points2d - test.principal[:, None], test.points3d[..., :2] * k)
    return np.concatenate([xy, (Z[..., None] - z_mean[..., None]) * k], -1)


def best_depth_floor(test: TestSet, max_rounds: int = 300, refine_steps: int = 200,
                     start_depth: np.ndarray | None = None) -> np.ndarray:
    """The lowest error found for any lift of the API's form: ``(B, N, 3)`` pixel units.

    Visible landmarks keep the input 2D as x, y (as in :func:`depth_only_floor`) and get whatever depths bring the
    lift closest to the truth; hidden landmarks are free 3D points. :func:`depth_only_floor` gives them the true
    depths, which are not the best ones: a perspective image read orthographically is explained better by a
    slightly different shape.

    1. Least squares (:func:`lifter.geometry.closest_orthographic_form` with the truth as the shape), by block
       coordinate descent from the true depths (or ``start_depth (B, N)``, pixel units): (a) the similarity of the
       lift's visible landmarks onto the truth's (Procrustes); (b) given it, each visible landmark's depth is the
       point of its line ``(x, y, *)`` nearest the mapped truth. Each half-step is exact, so the squared error
       never rises; it stops after ``max_rounds`` or when no view's error falls by more than a part in 10^9.
       Hidden landmarks are then the mapped truth itself. (Starts from random orientations found no lower
       minimum: ``scripts/best_depth_check.py``.)
    2. The benchmark's own figure (the mean, not the squared, distance after the same alignment) descended by
       Adam over those depths and hidden points for ``refine_steps`` steps; each view keeps its best iterate.
    """
    import torch

    from lifter.geometry import closest_orthographic_form, similarity_procrustes_torch

    start = np.nan_to_num(depth_only_floor(test))                                   # (B, N, 3)
    if start_depth is not None:
        start[..., 2] = start_depth
    present = torch.as_tensor(test.present)
    visible = torch.as_tensor(test.visible) & present                              # (B, N)
    truth = torch.as_tensor(np.nan_to_num(test.points3d), dtype=torch.float64)      # (B, N, 3)
    lift = closest_orthographic_form(truth, torch.as_tensor(start[..., :2]), visible, torch.as_tensor(start[..., 2]),
                                     max_rounds, tolerance=1e-9)
    # then in units of each view's 2D size, so that one step size suits every category and image
    unit = torch.as_tensor(rms_radius(start[..., :2], test.visible))[:, None, None].clamp_min(1e-9)
    lift = lift / unit
    xy = lift[..., :2]

    def mean_distance(points: torch.Tensor) -> torch.Tensor:                      # (B,)
        d = (((similarity_procrustes_torch(points, truth, present) - truth) ** 2).sum(-1) + 1e-18).sqrt()
        return (d * present).sum(-1) / present.sum(-1).clamp_min(1)

    free = lift.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([free], lr=2e-3)
    best, best_error = lift.clone(), mean_distance(lift)
    for _ in range(refine_steps):
        points = torch.where(visible[..., None], torch.cat([xy, free[..., 2:]], -1), free)
        err = mean_distance(points)
        better = err.detach() < best_error
        best = torch.where(better[:, None, None], points.detach(), best)
        best_error = torch.where(better, err.detach(), best_error)
        optimiser.zero_grad()
        err.sum().backward()
        optimiser.step()
    return (best * unit).numpy()
