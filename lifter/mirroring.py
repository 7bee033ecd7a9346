"""Left/right mirror images of landmark sets: :meth:`lifter.api.LoadedLifter.lift`'s mirror averaging lifts a view
and its mirror image and averages the two lifts, the second mirrored back.
"""

from __future__ import annotations

import numpy as np
import torch

from lifter.skeletons import categories


def mirror_permutation(category: str) -> np.ndarray | None:
    """The landmark permutation ``(N,)`` of a left/right reflection of ``category`` (mirror pairs swapped), or
    None when the category has no mirror pairs (``hand21``: a mirrored right hand is a left hand, which the
    lifter is not trained on) or is not in the registry."""
    cat = categories().get(category)
    if cat is None or not cat.mirror_pairs:
        return None
    return np.asarray(cat.mirror_permutation())


def mirror_image(points2d: np.ndarray | torch.Tensor, perm: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """The left/right mirror image of ``points2d (F, N, 2)`` (numpy or torch): x negated, landmarks relabelled by
    ``perm`` (:func:`mirror_permutation`); any reflection will do, the model is translation invariant."""
    return _flip_x(points2d[:, perm])


def mirror_back(lift3d: np.ndarray | torch.Tensor, perm: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """A lift ``(F, N, 3)`` (numpy or torch) of :func:`mirror_image`'s 2D, mirrored back into the original's frame
    and landmark order (``perm`` is an involution: its own inverse)."""
    return _flip_x(lift3d[:, perm])


def _flip_x(points: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """``points (..., D)`` with x (the first coordinate) negated, in their own type and dtype."""
    sign = [-1.0] + [1.0] * (points.shape[-1] - 1)
    if isinstance(points, torch.Tensor):
        return points * points.new_tensor(sign)
    return points * np.array(sign, dtype=points.dtype)
