"""Reading a lift through a pinhole camera, for :meth:`lifter.api.LoadedLifter.lift_with_camera` and
:meth:`lifter.api.LoadedLifter.read_with_camera` (and, for faces, :meth:`lifter.api.LoadedLifter.lift`'s shape-basis
stage): the intrinsics checked or guessed from the landmarks, then the lift put on the pixels' rays and refined
there (symmetry, the shape basis fitted to the pixels, bone lengths).
"""

from __future__ import annotations

import numpy as np
import torch

from lifter.bone_lengths import BoneProportions, category_settings, refine_bone_lengths
from lifter.geometry import closest_orthographic_form, guessed_pinhole_of_lift, perspective_reading, visible_centroid
from lifter.input_checks import real_numbers
from lifter.shape_basis import MIN_FIT_VISIBLE, ShapeBasis, fit_to_pixels
from lifter.symmetry import DEFAULT_SPAN_OVER_FOCAL, refine_lift


def checked_camera(focal_length: float | np.ndarray | None, principal_point: np.ndarray | None, frames: int,
                   single: bool = False) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The checks of :meth:`lifter.api.LoadedLifter.lift_with_camera` on the intrinsics given for ``frames`` poses
    (``single``: one pose given as ``(N, 2)``, whose messages name no per-frame shapes):
    ``(focal (F,) or None, principal (F, 2) or None)`` float64, None where not given (:func:`guessed_camera`
    then guesses it from the lift). Raises the ValueErrors it documents."""
    focal = principal = None
    if focal_length is not None:
        focal = real_numbers(focal_length, "focal_length (pixels)")
        focal = np.broadcast_to(focal, (frames,)) if focal.ndim == 0 else focal
        if focal.shape != (frames,) or not (np.isfinite(focal) & (focal > 0)).all():
            per_frame = "" if single else f" (or one per frame, ({frames},))"
            raise ValueError(f"focal_length must be a positive finite number of pixels{per_frame}, got "
                             f"{focal_length!r}")
    if principal_point is not None:
        principal = real_numbers(principal_point, "principal_point (pixels)")
        principal = np.broadcast_to(principal, (frames, 2)) if principal.shape == (2,) else principal
        if principal.shape != (frames, 2):
            shapes = "(2,)" if single else f"(2,) or ({frames}, 2)"
            raise ValueError(f"principal_point must be finite pixels, {shapes}, got shape {np.shape(principal_point)}")
        if not np.isfinite(principal).all():
            bad = int(np.argmax(~np.isfinite(principal).all(-1)))
            where = "" if np.shape(principal_point) == (2,) else f" (frame {bad})"
            raise ValueError(f"principal_point must be finite pixels, got {principal[bad].tolist()}{where}")
    return focal, principal


#: A guessed focal length is at least this many times the lift's reach towards the camera from the visible
#: landmarks' mean depth (2: no landmark nearer the camera than half that mean depth); see :func:`guessed_camera`.
GUESS_DEPTH_MARGIN = 2.0


def guessed_camera(focal: np.ndarray | None, principal: np.ndarray | None, lift: np.ndarray, pts: np.ndarray,
                   vis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`checked_camera`'s intrinsics with the missing ones guessed from the lift ``(F, N, 3)`` of the
    checked input ``pts (F, N, 2)``, ``vis (F, N)``: ``(focal (F,), principal (F, 2))`` float64.

    The guess is :func:`lifter.geometry.guessed_pinhole_of_lift` at :data:`lifter.symmetry.DEFAULT_SPAN_OVER_FOCAL`:
    every landmark where the lift puts it in the image (visible ones at their pixels, hidden ones at their predicted
    pixels): the whole subject's extent, as :meth:`lifter.api.LoadedLifter.lift`'s refinements guess it. A guessed focal
    length is lengthened to :data:`GUESS_DEPTH_MARGIN` times the lift's farthest reach towards the camera (from the
    visible landmarks' mean depth) where it is shorter, so that the guess never puts a landmark on or behind the camera
    (only an implausible lift needs it, e.g. of random points; no benchmark view does). Raises a ValueError when no
    focal length can be guessed (every landmark at one pixel)."""
    if focal is not None and principal is not None:
        return focal, principal
    point, kappa = guessed_pinhole_of_lift(lift, pts, vis, DEFAULT_SPAN_OVER_FOCAL)
    if focal is None:
        if not (kappa > 0).all():
            f = int(np.argmax(~(kappa > 0)))
            raise ValueError(f"frame {f}'s landmarks all coincide: no focal length can be guessed from their "
                             f"extent; give focal_length")
        focal = np.maximum(1.0 / kappa, GUESS_DEPTH_MARGIN * reach_towards_camera(lift, vis))
    return focal, point if principal is None else principal


def reach_towards_camera(lift: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """``(F,)``: how far the lift ``(F, N, 3)`` reaches towards the camera from its visible landmarks' mean depth
    (``vis (F, N)``), hidden landmarks included."""
    z = np.asarray(lift[..., 2], dtype=np.float64)
    return visible_centroid(z[..., None], vis)[:, 0] - z.min(1)


def usable_reading(points: np.ndarray) -> np.ndarray:
    """``(F,)`` bool: the frames of camera-frame ``points (F, N, 3)`` that are finite, with every depth > 0, and not
    collapsed to a point (their RMS radius above 1e-6 of their largest depth: a basis fit to pixels no face makes,
    random points say, can shrink the face to nothing far away)."""
    finite = np.isfinite(points).all((1, 2))
    safe = np.where(finite[:, None, None], points, 1.0)
    depth = np.abs(safe[..., 2]).max(1)                                          # (F,) > 0 where in front
    rel = safe / np.where(depth > 0, depth, 1.0)[:, None, None]                # no overflow in the squares
    radius = np.sqrt(((rel - rel.mean(1, keepdims=True)) ** 2).sum(-1).mean(1))
    return finite & (safe[..., 2] > 0).all(1) & (radius > 1e-6)


def camera_reading(lift: np.ndarray, pts: np.ndarray, vis: np.ndarray, category: str, focal: np.ndarray,
                   principal: np.ndarray, symmetrize: bool, basis: ShapeBasis | None,
                   proportions: BoneProportions | None, estimate_focal: bool = False,
                   fitted_shape: bool = False, focal_guessed: bool = False) -> np.ndarray:
    """A lift ``(F, N, 3)`` of the checked input ``pts (F, N, 2)``, ``vis (F, N)`` (origin: the visible landmarks'
    centroid) read through the checked intrinsics (:func:`lifter.geometry.perspective_reading`) -> float32; with
    ``symmetrize``, after the symmetry refinement with that camera (:func:`lifter.symmetry.refine_lift`); with a
    ``basis``, its depths compressed where they reach too near the camera (:func:`_within_reach`), then the basis
    fitted to the pixels through the camera (:func:`lifter.shape_basis.fit_to_pixels`; the focal length estimated
    with it when ``estimate_focal``, and the points returned in units of that estimate; the fitted shape itself,
    not moved onto the pixels' rays, with ``fitted_shape``); with
    ``proportions``, then moved towards them along the pixels' rays
    (:func:`lifter.bone_lengths.refine_bone_lengths`). A ``focal_guessed`` focal length (:func:`guessed_camera`) is
    lengthened again, as there, where the symmetry refinement (which puts hidden landmarks at their partners'
    reflections) took the lift further towards the camera. A frame that the basis fit or the bone-length steps
    would leave with a landmark on or behind the camera, or not finite (a focal length far shorter than the
    subject's depth, landmarks all at one pixel), keeps the stage before (:func:`usable_reading`)."""
    centre = visible_centroid(pts, vis)
    if symmetrize:
        lift = refine_lift(lift, centre, vis, category, focal, principal)
        if focal_guessed:
            focal = np.maximum(focal, GUESS_DEPTH_MARGIN * reach_towards_camera(lift, vis))
    if basis is not None:
        lift = _within_reach(lift, vis, focal, vis.sum(1) >= MIN_FIT_VISIBLE)
    points = perspective_reading(lift, centre, vis, focal, principal)
    if basis is not None:
        fitted, fitted_focal = fit_to_pixels(points, pts, vis, basis, focal, principal, estimate_focal,
                                             on_rays=not fitted_shape)
        kept = usable_reading(fitted)
        points = np.where(kept[:, None, None], fitted, points)
        focal = np.where(kept, fitted_focal, focal)
    if proportions is not None:
        refined = refine_bone_lengths(points, vis, proportions, points[..., :2] / points[..., 2:3],
                                      **category_settings(category))
        points = np.where(usable_reading(refined)[:, None, None], refined, points)
    if basis is not None or proportions is not None:
        # the refinements move points along their rays: scaled back (along the rays too) so that the visible
        # landmarks' mean depth is the focal length again, the units perspective_reading returns
        points = points * (focal / visible_centroid(points[..., 2:3], vis)[:, 0])[:, None, None]
    return points.astype(np.float32)


def _within_reach(lift: np.ndarray, vis: np.ndarray, focal: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """``lift (F, N, 3)`` with the depths of ``frames`` ((F,) bool: the views the shape basis is fitted to, whose
    lift only starts the fit) scaled about the visible landmarks' mean depth (``vis (F, N)``) so that they reach
    towards the camera no further than ``focal (F,)`` over :data:`GUESS_DEPTH_MARGIN`. A network's lift of a face
    very near the camera (2.5 RMS radii, turned: its pixels stretched by the perspective) reached further than the
    true focal length, which then refused to read it (:func:`lifter.geometry.perspective_reading`)."""
    reach = reach_towards_camera(lift, vis)
    far = frames & (reach * GUESS_DEPTH_MARGIN > focal)
    shrink = np.where(far, focal / (GUESS_DEPTH_MARGIN * np.where(far, reach, 1.0)), 1.0)
    if (shrink == 1.0).all():
        return lift
    z = np.asarray(lift[..., 2], dtype=np.float64)
    z_ref = visible_centroid(z[..., None], vis)                                  # (F, 1)
    out = np.array(lift, dtype=np.float64)
    out[..., 2] = z_ref + (z - z_ref) * shrink[:, None]
    return out


def orthographic_basis_reading(lift: np.ndarray, pts: np.ndarray, vis: np.ndarray, category: str,
                               basis: ShapeBasis, symmetrize: bool = True) -> np.ndarray:
    """The second stage of :meth:`lifter.api.LoadedLifter.lift`'s shape-basis refinement (faces) -> ``(F, N, 3)``
    float32.

    The ``basis`` is fitted to the pixels through a pinhole guessed from ``lift (F, N, 3)`` (the lift of the checked
    input ``pts (F, N, 2)``, zero where not visible, ``vis (F, N)``), its focal length estimated with the fit:
    ``lift_with_camera(..., fitted_shape=True)`` without intrinsics. The lift of :meth:`lifter.api.LoadedLifter.lift`'s
    orthographic form closest to that fitted shape is returned (:func:`lifter.geometry.closest_orthographic_form`): the
    visible landmarks keep their pixels, centred on their centroid, as x, y and take the depths that match the fitted
    shape best up to a similarity; hidden landmarks are the fitted shape's points. A close camera's perspective bends
    the pixels, which no depth undoes, but these depths come from a shape read through the pinhole. Views with fewer
    than :data:`lifter.shape_basis.MIN_FIT_VISIBLE` visible landmarks, and views whose landmarks all lie at one pixel
    (no pinhole can be guessed from their extent), keep ``lift``.
    """
    fit = (vis.sum(1) >= MIN_FIT_VISIBLE) & (guessed_pinhole_of_lift(lift, pts, vis, DEFAULT_SPAN_OVER_FOCAL)[1] > 0)
    if not fit.all():                   # only the views that can be fitted (each view is fitted as if alone)
        out = np.asarray(lift, dtype=np.float32).copy()
        if fit.any():
            out[fit] = orthographic_basis_reading(lift[fit], pts[fit], vis[fit], category, basis, symmetrize)
        return out
    focal, principal = guessed_camera(None, None, lift, pts, vis)
    fitted = camera_reading(lift, pts, vis, category, focal, principal, symmetrize, basis, None,
                            estimate_focal=True, fitted_shape=True, focal_guessed=True)
    centre = visible_centroid(pts, vis)
    read = closest_orthographic_form(torch.as_tensor(fitted), torch.as_tensor(pts - centre[:, None]),
                                     torch.as_tensor(vis)).numpy()
    return read.astype(np.float32)
