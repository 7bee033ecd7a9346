"""Checks of the arrays the public API takes (:mod:`lifter.api`), shared with ``python -m lifter.lift``.

Arrays come from numpy, lists, JSON or torch; these helpers turn them into float64 arrays or refuse them with a
``ValueError`` naming the argument, so that strings, booleans or a tensor that requires grad are not lifted as
something else, and say which frames cannot be lifted at all (landmarks all at one pixel).
"""

from __future__ import annotations

import numbers

import numpy as np

#: A frame whose visible landmarks spread (largest distance from their centroid, in any unit) outside this range
#: is lifted at a scale inside it (:func:`unit_scales`) and scaled back: the closed-form refinements hold absolute
#: tolerances that a pose of 1e-10 pixels, or of 1e300, would fall below or overflow. Within it, a frame is lifted
#: as given, so pixel inputs are unaffected.
SPREAD_RANGE = (1.0, 1e6)
#: The spread a frame outside :data:`SPREAD_RANGE` is lifted at.
LIFT_SPREAD = 100.0


def plain_array(value, name: str) -> np.ndarray:
    """``value`` as a numpy array: a torch tensor detached and moved to the host (any device, with or without
    grad); anything else through ``np.asarray``. Raises ``ValueError`` naming ``name`` where numpy cannot make an
    array of it (ragged lists)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):   # a torch tensor (no torch import here: the commands
        return value.detach().cpu().numpy()                   # that read files start without it)
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be an array of real numbers; {e}") from None


def real_numbers(value, name: str) -> np.ndarray:
    """``value`` as a float64 array of real numbers (an object array's None becomes NaN, a missing landmark).
    Raises ``ValueError`` naming ``name`` for strings, booleans, complex numbers, dates or other objects, which
    numpy would otherwise turn into numbers quietly ("1200" into 1200.0, True into 1.0)."""
    arr = plain_array(value, name)
    kind = arr.dtype.kind
    if kind == "O":
        odd = next((x for x in arr.flat if x is not None and (isinstance(x, bool) or not isinstance(x, numbers.Real))),
                   None)
        if odd is not None:
            raise ValueError(f"{name} must hold real numbers, got {type(odd).__name__} {odd!r}")
    elif kind not in "iuf":
        what = {"b": "booleans", "U": "strings", "S": "bytes", "c": "complex numbers"}.get(kind, f"dtype {arr.dtype}")
        raise ValueError(f"{name} must hold real numbers, got {what}")
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must hold real numbers; {e}") from None


def spreads(pts: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """``(F,)``: the largest distance of a visible landmark of ``pts (F, N, 2)`` (``vis (F, N)``, at least one
    per frame) from their centroid, per coordinate (no squares: no overflow at large values)."""
    w = vis[..., None]
    x = np.where(w, pts, 0.0)
    size = np.abs(x).max((1, 2), initial=0.0)
    size = np.where(size > 0, size, 1.0)[:, None]                                   # (F, 1)
    centre = (x / size[:, None]).sum(1) / np.maximum(vis.sum(1), 1)[:, None] * size  # the sum cannot overflow
    return np.abs(np.where(w, x - centre[:, None], 0.0)).max((1, 2), initial=0.0)


def coincident_frames(pts: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """``(F,)`` bool: the frames of ``pts (F, N, 2)`` whose visible landmarks (``vis (F, N)``) all lie at one point
    to float64's precision (:func:`spreads` at most 1e-12 of their largest coordinate): nothing to lift there."""
    size = np.abs(np.where(vis[..., None], pts, 0.0)).max((1, 2), initial=0.0)
    return spreads(pts, vis) <= 1e-12 * size


def unit_scales(pts: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """``(F,)`` factors that bring each frame's :func:`spreads` into :data:`SPREAD_RANGE`: 1 where it is inside,
    else ``LIFT_SPREAD / spread`` (a power of two, so that scaling back is exact). Frames of coincident landmarks
    (zero spread) get 1."""
    spread = spreads(pts, vis)
    low, high = SPREAD_RANGE
    out = (spread > 0) & ((spread < low) | (spread > high))
    scale = np.ones(len(spread))
    scale[out] = np.exp2(np.round(np.log2(LIFT_SPREAD / spread[out])))
    return scale
