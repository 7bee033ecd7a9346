"""The public API (DESIGN.md): ``load_lifter()`` and ``LoadedLifter.lift(points2d, category, visible)``.

Weights are a ``.safetensors`` file with a JSON record beside it (same stem): the model config, the SHA-256 of
the weights file, and how they were made (:mod:`lifter.checked_files`). Nothing is loaded at import time. The
camera readings of :meth:`LoadedLifter.lift_with_camera` are in :mod:`lifter.camera_reading`, mirror averaging's
mirror images in :mod:`lifter.mirroring`.
"""

from __future__ import annotations

import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from safetensors.torch import load_file

from lifter.bone_lengths import DEFAULT_PROPORTIONS, BoneProportions, category_settings, load_proportions
from lifter.bone_lengths import refine_lift_torch as refine_lift_bones
from lifter.camera_reading import camera_reading, checked_camera, guessed_camera, orthographic_basis_reading
from lifter.checked_files import WeightsError, checked_record, record_path
from lifter.devices import resolve_device
from lifter.geometry import masked_mean, normalise_2d
from lifter.input_checks import coincident_frames, plain_array, real_numbers, unit_scales
from lifter.mirroring import mirror_back, mirror_image, mirror_permutation
from lifter.model import Lifter, LifterConfig
from lifter.shape_basis import DEFAULT_BASES, ShapeBasis, load_bases, refine_with_basis_torch
from lifter.symmetry import refine_lift_torch as refine_lift_symmetry
from lifter.symmetry import refines as refines_symmetry

DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "assets" / "weights" / "lifter.safetensors"


#: Tokens (poses x landmarks) per forward pass on a CPU. The network's element-wise steps (GELU, residual adds,
#: copies) are bound by memory bandwidth there: a pass whose activations fit the caches runs 1.5-1.7x faster than
#: one of 2,048 bodies at once (measured on this project's 2-core machine: docs/benchmark.md, *Speed*).
CPU_TOKENS = 3072

#: The largest coordinate a visible landmark may have: the lift is float32 (whose largest number is 3.4e38), and its
#: depths and a camera reading's points reach some times the input's extent.
MAX_COORDINATE = 1e30


#: How an error message about frame 0 of a one-pose call, ``(N, 2)``, is said of that pose instead (regex, words),
#: in order: "frame 0" of one pose names nothing the caller gave.
ONE_POSE_WORDS = ((r" \(frame 0\)", ""), (r"^frame 0: ", ""), (r"\bframe 0's\b", "the pose's"),
                  (r"\bframe 0\b", "the pose"))


def said_of_one_pose(message: str) -> str:
    """An error ``message`` of a call on one pose ``(N, 2)`` (which the API lifts as frame 0 of a batch), its
    "frame 0" put as the pose (:data:`ONE_POSE_WORDS`): "the pose's landmarks all coincide", not "frame 0's"."""
    for pattern, words in ONE_POSE_WORDS:
        message = re.sub(pattern, words, message)
    return message


@contextmanager
def one_pose_errors(single: bool) -> Iterator[None]:
    """Within it, a ValueError of a one-pose call (``single``) is raised again in :func:`said_of_one_pose`'s
    words; a batch's errors pass unchanged."""
    try:
        yield
    except ValueError as e:
        if not single:
            raise
        raise ValueError(said_of_one_pose(str(e))) from None


def checked_visible(visible: np.ndarray, frames: int | None = None) -> np.ndarray:
    """``visible`` as a bool array: bools, or numbers that are all 0 or 1. Anything else (a detector's confidence
    scores, say) raises a ValueError saying how to make a mask of it, rather than counting every nonzero score
    as visible. With ``frames``, one mask ``(N,)`` is every frame's: ``(frames, N)`` (the caller checks N)."""
    vis = np.asarray(visible)
    if vis.dtype == bool:
        vis = np.ascontiguousarray(vis)            # torch takes no negative strides (a reversed mask, say)
    elif vis.dtype.kind not in "biuf" or not np.isin(vis, (0, 1)).all():
        raise ValueError("visible must be bool (or 0 / 1): True where a landmark is seen; for confidence scores "
                         "pass a thresholded mask such as scores > 0.5")
    else:
        vis = vis.astype(bool)
    return np.repeat(vis[None], frames, 0) if frames is not None and vis.ndim == 1 else vis


class LoadedLifter:
    """A trained lifter ready to lift (see :meth:`lift`)."""

    def __init__(self, model: Lifter, record: dict, device: torch.device, batch: int = 8192,
                 attention_budget: int = 2 ** 24, bases: dict[str, ShapeBasis] | None = None,
                 proportions: dict[str, BoneProportions] | None = None, token_budget: int | None = None) -> None:
        self.model = model.eval()
        self.record = record
        self.device = device
        # shape bases of the test-time refinement (lifter.shape_basis), for the categories with one
        self.bases = {c: b for c, b in (bases or {}).items()
                      if model.cfg.categories.get(c) == len(b.mean)}
        # bone proportions of the test-time bone-length refinement (lifter.bone_lengths), for the categories with
        # them (and edges inside the category's landmarks)
        self.proportions = {c: p for c, p in (proportions or {}).items()
                            if c in model.cfg.categories and p.edges.max() < model.cfg.categories[c]}
        self.batch = batch                        # at most this many poses per forward pass
        self.attention_budget = attention_budget  # ... and at most this many poses x N^2 attention entries
        # ... in network passes of at most this many tokens (poses x N): None, CPU_TOKENS on a CPU and no bound
        # elsewhere; 0, no bound
        self.token_budget = token_budget if token_budget is not None else (
            CPU_TOKENS if torch.device(device).type == "cpu" else None)
        self._warned: set[str] = set()            # categories warned of as never trained (_warn_untrained)

    def chunk_size(self, n: int) -> int:
        """Poses per forward pass for ``n`` landmarks: bounded so that the attention maps stay small
        (``attention_budget`` x heads x 4 bytes: 256 MiB with 4 heads, e.g. 76 faces of 468 landmarks)."""
        return max(1, min(self.batch, self.attention_budget // (n * n)))

    def pass_size(self, n: int) -> int:
        """Poses per network pass for ``n`` landmarks within a chunk (:meth:`chunk_size`): at most
        :attr:`token_budget` tokens (poses x ``n``) where it is set (on a CPU by default), else the whole chunk."""
        return max(1, self.token_budget // n) if self.token_budget else self.batch

    @property
    def categories(self) -> dict[str, int]:
        """``{category name: landmark count}`` this lifter knows."""
        return dict(self.model.cfg.categories)

    @property
    def trained_categories(self) -> tuple[str, ...] | None:
        """The categories some stage of these weights was trained on (the record's ``train_config`` and the stages
        it started from), or None when the record does not say. A network knows every category of its config, but
        one it was never trained on lifts to noise."""
        names, stage = [], self.record
        while isinstance(stage, dict):
            trained = (stage.get("train_config") or {}).get("categories")
            names += [c for c in trained or () if c not in names]
            stage = stage.get("initialised_from")
        return tuple(names) or None

    def _warn_untrained(self, category: str) -> None:
        """Warn (once per category) when ``category`` is not among :attr:`trained_categories`."""
        trained = self.trained_categories
        if trained is None or category in trained or category in self._warned:
            return
        self._warned.add(category)
        import warnings

        warnings.warn(f"these weights were never trained on {category} (trained on {', '.join(trained)}): its "
                      f"lifts are the untrained network's", UserWarning, stacklevel=4)

    def lift(self, points2d: np.ndarray, category: str = "human17", visible: np.ndarray | None = None,
             mirror_average: bool = True, complete_hidden: bool = True, symmetrize: bool = True,
             shape_basis: bool = True, bone_lengths: bool = True) -> np.ndarray:
        """Lift 2D landmarks to 3D.

        Args:
            points2d: ``(F, N, 2)`` or ``(N, 2)`` image pixels (x right, y down), any translation and scale.
            category: a key of :attr:`categories`.
            visible: bool ``(F, N)`` / ``(N,)`` or None (all visible); ``(N,)`` with ``(F, N, 2)`` points is one
                mask for every frame; 0 / 1 numbers are accepted as bools. False: missing or occluded; the 2D value
                is then ignored (may be NaN) and the landmark is still predicted in 3D.
            mirror_average: for categories with left/right mirror pairs (``human17``, ``face468``, ``chair``),
                also lift the left/right mirrored input (x negated, mirror pairs swapped), mirror that lift back
                and average the two: the result is exactly mirror-equivariant and, measured by
                ``lifter.evaluate``, more accurate, at twice the compute. Visible landmarks' x, y are unchanged.
            complete_hidden: for frames with landmarks not visible, lift twice: the first pass predicts the hidden
                landmarks' 2D, the second lifts the completed 2D with every landmark given and supplies the
                depths (the hidden landmarks keep the first pass's x, y). The network is more accurate with all
                its landmarks in view; measured by ``lifter.evaluate`` (row "without hidden-landmark
                completion"). Frames with every landmark visible take one pass either way.
            symmetrize: for categories whose 3D shape is left/right symmetric (``face468``, ``chair``), move the
                visible landmarks' depths along their rays until the shape is mirror-symmetric, staying close to
                the network's depths (:mod:`lifter.symmetry`; the camera is guessed from the landmarks' 2D extent).
                Measured by ``lifter.evaluate`` (row "without the symmetry refinement"). Visible landmarks' x, y
                are unchanged.
            shape_basis: for categories with a shape basis (:attr:`bases`: ``face468``), pull the visible
                landmarks' depths towards the closest shape of the basis and replace the hidden landmarks by its
                points (:mod:`lifter.shape_basis`), then fit the basis to the pixels through a camera guessed from
                the landmarks and take the depths that match that fitted shape best
                (:func:`orthographic_basis_reading`). Measured by ``lifter.evaluate`` (row "without the
                shape-basis refinement"). Visible landmarks' x, y are unchanged.
            bone_lengths: for categories with bone proportions (:attr:`proportions`: ``hand21``, ``human17``),
                move the visible landmarks' depths by damped Gauss-Newton steps (one for bodies, two for hands)
                towards bone lengths in the category's proportions and, for hands, digits in their hinge planes
                (:mod:`lifter.hinges`), staying close to the network's depths (:mod:`lifter.bone_lengths`; the
                camera is guessed from the landmarks' 2D extent). Measured by ``lifter.evaluate`` (row "without
                the bone-length refinement"). Visible landmarks' x, y are unchanged.
        Returns:
            ``(F, N, 3)`` / ``(N, 3)`` float32 in the camera frame (x, y along the image axes, z away from the
            camera), in input pixel units, centred on the visible landmarks' 2D centroid; its ``(x, y)``
            reproduce the centred input for visible landmarks.
        Raises:
            ValueError: unknown category (or one that is not a name), wrong landmark count or array shape, points
                that are not real numbers (strings and booleans included), non-finite visible coordinates or ones
                beyond :data:`MAX_COORDINATE`, a ``visible`` that is not a mask (e.g. confidence scores), fewer
                than 3 visible landmarks in a frame.
        Warns:
            UserWarning: a frame whose visible landmarks all lie at one pixel (its lift is flat: nothing to lift).

        A pose of any size lifts alike: a frame whose landmarks spread less than 1 or more than 1e6 units is lifted
        at a spread of 100 and scaled back (:func:`lifter.input_checks.unit_scales`), where the refinements'
        tolerances hold.
        """
        pts, vis, single = self._checked_input(points2d, category, visible)
        with one_pose_errors(single):
            out = self._lift_checked(pts, vis, category, mirror_average, complete_hidden, symmetrize, shape_basis,
                                     bone_lengths)
        return out[0] if single else out

    def lift_with_camera(self, points2d: np.ndarray, category: str, focal_length: float | np.ndarray | None = None,
                         principal_point: np.ndarray | None = None, visible: np.ndarray | None = None,
                         mirror_average: bool = True, complete_hidden: bool = True, symmetrize: bool = True,
                         shape_basis: bool = True, bone_lengths: bool = True, fitted_shape: bool = False
                         ) -> np.ndarray:
        """Lift 2D landmarks seen by a pinhole camera to camera-frame 3D on their pixels' rays: with the camera's
        intrinsics when they are known, else with a camera guessed from the landmarks.

        :meth:`lift` reads the image orthographically (it keeps the pixels as x, y), which a close camera's
        perspective distorts; this reads the same lift through the pinhole
        (:func:`lifter.geometry.perspective_reading`): each landmark's depth is the focal length plus its lifted
        depth relative to the visible landmarks' mean, and its x, y are unprojected at that depth. Measured by
        ``lifter.evaluate`` (row "with the camera intrinsics"). It is :meth:`read_with_camera` of :meth:`lift`'s
        output: with ``symmetrize``, the symmetry refinement runs again with the known camera, and landmarks that
        are not visible but whose mirror partner is are replaced by the partner's reflection; with ``shape_basis``
        (faces) the category's shape basis is then fitted to the pixels through the camera (pose, proportions and,
        when no focal length is given, the focal length: :func:`lifter.shape_basis.fit_to_pixels`) and the
        visible landmarks put on their pixels' rays at its depths; with ``bone_lengths`` (hands, bodies) they are
        then moved towards the category's bone proportions along them.

        Without intrinsics (``focal_length`` or ``principal_point`` None) the missing one is guessed from the
        landmarks alone, as :meth:`lift`'s refinements guess it (:func:`lifter.geometry.guessed_pinhole`) from the
        whole subject's extent in the image (visible landmarks at their pixels, hidden ones where the lift puts
        them, so a partly hidden subject is not read as a smaller one seen closer; measured by
        ``scripts/partial_view_check.py``): the principal point at that 2D bounding-box centre, the focal length the
        box's larger side over :data:`lifter.symmetry.DEFAULT_SPAN_OVER_FOCAL` (0.45: a subject spanning 45 % of a
        focal length, the middle of the benchmark's cameras and about a phone camera's at arm's length), lengthened
        where the lift reaches nearer the camera than half its visible landmarks' mean depth (an implausible lift,
        e.g. of random points, which would otherwise put a landmark behind the guessed camera); for a category
        with a shape basis (faces) that focal length is only the start of an estimate, fitted with the basis to
        the pixels (the output's units follow the estimate). Measured by
        ``lifter.evaluate`` (row "through a camera guessed from the landmarks"): on every category of the benchmark
        it is more accurate than :meth:`lift` (whose orthographic form is the contract of DESIGN.md) and less than
        with the true intrinsics. Give the intrinsics when they are known: a subject far from the camera (a long
        lens) is read with more perspective than it has (seen from twice the distance through twice the focal length,
        bodies and chairs already read worse than with :meth:`lift`: ``scripts/guessed_camera_check.py --lens``).

        Args:
            points2d, category, visible, mirror_average, complete_hidden, symmetrize, shape_basis, bone_lengths:
                as for :meth:`lift`.
            focal_length: focal length in pixels (square pixels), a number or ``(F,)`` per frame; None: guessed
                (faces: estimated). For faces give it only when it is known: the basis is fitted through it, and
                a wrong one held fixed bends the fit (``scripts/focal_sensitivity.py``).
            principal_point: ``(2,)`` or ``(F, 2)`` principal point in pixels (e.g. the image centre); None:
                guessed (the subject's 2D box centre: give the image centre when the subject may be off centre,
                a face near the camera especially: ``scripts/face_distance_check.py``).
            fitted_shape: for a category with a shape basis (faces), return the basis fitted to the pixels as it
                is (its pose, proportions and focal length), instead of moving each visible landmark onto its
                pixel's ray at the fitted depth: the 2D's noise then does not enter the 3D, and the projection
                matches the input only to within the fit's pixel error. Better wherever the basis describes the
                face and the 2D is noisy (``lifter.evaluate``'s row "the fitted shape itself";
                ``scripts/noise_check.py``); a face the basis cannot describe (an expression) keeps only what
                the basis can say of it. A category without a basis raises ValueError.
        Returns:
            ``(F, N, 3)`` / ``(N, 3)`` float32 camera-frame points (x right, y down, z forward) whose perspective
            projection reproduces the input pixels of the visible landmarks (with ``fitted_shape``, the fit's
            projection), in units where the visible
            landmarks' mean depth equals the focal length (pixel units at that depth, like :meth:`lift`):
            multiply by ``distance / focal_length`` for metric units when that mean distance is known. The
            pinhole it was read through (the intrinsics given, the guess, or a face's estimated focal length) is
            :func:`lifter.geometry.pinhole_of_reading` of the output, ``points2d`` and ``visible``.
        Raises:
            ValueError: as :meth:`lift`; a focal length that is not a positive finite number per frame; a
                principal point that is not finite ``(2,)`` or ``(F, 2)``; a focal length shorter than the lifted
                depth range (a landmark behind the camera; not for a face fitted with its shape basis, whose lift
                only starts the fit and is compressed in depth instead); no focal length given and a frame whose
                landmarks all coincide (nothing to guess it from); ``fitted_shape`` without a shape basis to fit.
        """
        pts, vis, single = self._checked_input(points2d, category, visible)
        self.check_fitted_shape(category, shape_basis, fitted_shape)
        with one_pose_errors(single):
            focal, principal = checked_camera(focal_length, principal_point, len(pts), single)
            out = self._lift_checked(pts, vis, category, mirror_average, complete_hidden, symmetrize, shape_basis,
                                     bone_lengths)
            points = self._camera_reading(out, pts, vis, category, focal, principal, symmetrize, shape_basis,
                                          bone_lengths, fitted_shape)
        return points[0] if single else points

    def read_with_camera(self, lift3d: np.ndarray, points2d: np.ndarray, category: str,
                         focal_length: float | np.ndarray | None = None, principal_point: np.ndarray | None = None,
                         visible: np.ndarray | None = None, symmetrize: bool = True, shape_basis: bool = True,
                         bone_lengths: bool = True, fitted_shape: bool = False) -> np.ndarray:
        """:meth:`lift_with_camera`'s reading of a :meth:`lift` already computed for the same input, without running
        the network again (e.g. to report both readings of one lift).

        Args:
            lift3d: ``(F, N, 3)`` / ``(N, 3)``: ``lift(points2d, category, visible, ...)``.
            points2d, category, focal_length, principal_point, visible, symmetrize, shape_basis, bone_lengths,
                fitted_shape: as for :meth:`lift_with_camera` (they should match the ``lift()`` call that made
                ``lift3d``).
        Returns:
            what :meth:`lift_with_camera` returns for that input with the same ``lift()`` options.
        Raises:
            ValueError: as :meth:`lift_with_camera`; a ``lift3d`` whose shape is not ``points2d``'s with 3 columns.
        """
        pts, vis, single = self._checked_input(points2d, category, visible)
        self.check_fitted_shape(category, shape_basis, fitted_shape)
        lift = real_numbers(lift3d, "lift3d")
        lift = lift[None] if single else lift
        if lift.shape != pts.shape[:2] + (3,):
            want = pts.shape[1:2] + (3,) if single else pts.shape[:2] + (3,)       # as points2d is given
            raise ValueError(f"lift3d must be lift()'s output for points2d, shape {want}, got {np.shape(lift3d)}")
        with one_pose_errors(single):
            if not np.isfinite(lift).all():
                f = int(np.argmax(~np.isfinite(lift).all((1, 2))))
                raise ValueError(f"lift3d must be finite (lift()'s output for points2d); frame {f} is not")
            focal, principal = checked_camera(focal_length, principal_point, len(pts), single)
            points = self._camera_reading(lift, pts, vis, category, focal, principal, symmetrize, shape_basis,
                                          bone_lengths, fitted_shape)
        return points[0] if single else points

    def _camera_reading(self, lift: np.ndarray, pts: np.ndarray, vis: np.ndarray, category: str,
                        focal: np.ndarray | None, principal: np.ndarray | None, symmetrize: bool,
                        shape_basis: bool, bone_lengths: bool, fitted_shape: bool) -> np.ndarray:
        """:func:`lifter.camera_reading.camera_reading` of the checked input's ``lift`` (:meth:`lift`'s) through the
        checked intrinsics (None where guessed), the camera guessed where not given -> ``(F, N, 3)`` float32. A pose
        of extreme size is read at a spread of 100 units and scaled back, as :meth:`_lift_checked` lifts it."""
        k = unit_scales(pts, vis)                          # 1 but for poses of extreme size: read at 100 units
        lift, pts = lift * k[:, None, None], pts * k[:, None, None]
        estimate = focal is None
        focal = None if focal is None else focal * k
        principal = None if principal is None else principal * k[:, None]
        focal, principal = guessed_camera(focal, principal, lift, pts, vis)
        points = camera_reading(lift, pts, vis, category, focal, principal, symmetrize,
                                *self._priors(category, shape_basis, bone_lengths), estimate_focal=estimate,
                                fitted_shape=fitted_shape, focal_guessed=estimate)
        return (points / k[:, None, None]).astype(np.float32)

    def check_fitted_shape(self, category: str, shape_basis: bool, fitted_shape: bool) -> None:
        """Refuse ``fitted_shape`` where no shape basis is fitted: a category without one, or ``shape_basis``
        off."""
        if fitted_shape and (not shape_basis or category not in self.bases):
            with_basis = ", ".join(sorted(self.bases)) or "none with these weights"
            raise ValueError(f"fitted_shape=True returns the shape basis fitted to the pixels: it needs "
                             f"shape_basis=True and a category with a basis ({with_basis}), got {category!r}"
                             f"{'' if shape_basis else ' with shape_basis=False'}")

    def _priors(self, category: str, shape_basis: bool, bone_lengths: bool
                ) -> tuple[ShapeBasis | None, BoneProportions | None]:
        """The category's shape basis and bone proportions where asked for and present, else None."""
        return (self.bases.get(category) if shape_basis else None,
                self.proportions.get(category) if bone_lengths else None)

    def landmark_count(self, category: str, given: int | None = None) -> int:
        """``category``'s number of landmarks N. Raises ValueError (:meth:`lift`'s) for a category this lifter does
        not know, or a ``given`` count that is not N."""
        cats = self.categories
        if not isinstance(category, str):
            raise ValueError(f"category must be a category's name, one of {', '.join(cats)}; got "
                             f"{type(category).__name__} {category!r}")
        if category not in cats:
            raise ValueError(f"unknown category {category!r}; this lifter knows {', '.join(cats)}")
        if given is not None and given != cats[category]:
            raise ValueError(f"{category} has {cats[category]} landmarks, got {given}")
        return cats[category]

    def _checked_input(self, points2d: np.ndarray, category: str, visible: np.ndarray | None
                       ) -> tuple[np.ndarray, np.ndarray, bool]:
        """The checks of :meth:`lift`: ``(pts (F, N, 2) float64, zero where not visible; vis (F, N) bool; whether
        one pose ``(N, 2)`` was given)``. Raises the ValueErrors :meth:`lift` documents."""
        n = self.landmark_count(category)
        self._warn_untrained(category)
        pts = real_numbers(points2d, "points2d (pixels, (F, N, 2) or (N, 2))")   # an object array's None: NaN
        single = pts.ndim == 2
        if single:
            pts = pts[None]
        if pts.ndim != 3 or pts.shape[-1] != 2:
            raise ValueError(f"points2d must be (F, N, 2) or (N, 2), got shape {np.shape(points2d)}")
        self.landmark_count(category, pts.shape[1])
        if visible is None:
            vis = np.ones(pts.shape[:2], dtype=bool)
        else:
            vis = checked_visible(plain_array(visible, "visible"), len(pts))         # one mask, every frame
            if vis.shape != pts.shape[:2]:
                raise ValueError(f"visible must have shape {pts.shape[:2] if not single else (n,)}"
                                 f"{'' if single else f' or ({n},)'}, got {np.shape(visible)}")
        with one_pose_errors(single):
            bad = vis & ~np.isfinite(pts).all(-1)
            if bad.any():
                f, i = np.argwhere(bad)[0]
                raise ValueError(f"non-finite 2D coordinates at visible landmark {i} (frame {f}); mark it not "
                                 f"visible or give finite pixels")
            huge = vis & (np.abs(pts) > MAX_COORDINATE).any(-1)
            if huge.any():
                f, i = np.argwhere(huge)[0]
                raise ValueError(f"visible landmark {i} (frame {f}) is at {pts[f, i].tolist()}: beyond "
                                 f"{MAX_COORDINATE:g}, which the float32 lift cannot hold; give pixels")
            few = vis.sum(1) < 3
            if few.any():
                raise ValueError(f"at least 3 visible landmarks are needed; frame {int(np.argmax(few))} has "
                                 f"{int(vis.sum(1)[few][0])}")
            flat = coincident_frames(pts, vis)
            if flat.any():
                first = int(np.argmax(flat))
                which = (f"frame {first}'s" if flat.sum() == 1 else
                         f"{int(flat.sum())} frames' (the first, frame {first})")
                message = f"{which} visible landmarks all lie at one pixel: nothing to lift, the lift is flat"
                warnings.warn(said_of_one_pose(message) if single else message, UserWarning, stacklevel=3)
        return np.where(vis[..., None], pts, 0.0), vis, single

    def _lift_checked(self, pts: np.ndarray, vis: np.ndarray, category: str, mirror_average: bool,
                      complete_hidden: bool, symmetrize: bool, shape_basis: bool, bone_lengths: bool) -> np.ndarray:
        """:meth:`lift` on checked input (:meth:`_checked_input`) -> ``(F, N, 3)`` float32: :meth:`_lift_input`,
        then, for a category with a shape basis (faces), the basis fitted through a guessed pinhole and read back
        in the orthographic form (:func:`orthographic_basis_reading`). A pose of extreme size is lifted at a spread
        of 100 units and scaled back (:func:`lifter.input_checks.unit_scales`: a power of two, exactly)."""
        k = unit_scales(pts, vis)[:, None, None]          # 1 but for poses of extreme size: lifted at 100 units
        pts = pts * k
        out = self._lift_input(pts, vis, category, mirror_average, complete_hidden, symmetrize, shape_basis,
                               bone_lengths)
        if shape_basis and category in self.bases:
            out = orthographic_basis_reading(out, pts, vis, category, self.bases[category], symmetrize)
        return (out / k).astype(np.float32)

    def _lift_input(self, pts: np.ndarray, vis: np.ndarray, category: str, mirror_average: bool,
                    complete_hidden: bool, symmetrize: bool, shape_basis: bool, bone_lengths: bool) -> np.ndarray:
        """:meth:`lift` on checked input (:meth:`_checked_input`) -> ``(F, N, 3)`` float32.

        Runs in chunks of :meth:`chunk_size` poses (half that with mirror averaging, which lifts each pose twice),
        each on :attr:`device` from the network to the last refinement: on a GPU a lift never leaves it (the
        faces' second shape-basis stage, :func:`orthographic_basis_reading`, follows on the host)."""
        perm = mirror_permutation(category) if mirror_average else None
        perm_t = None if perm is None else torch.as_tensor(perm, device=self.device)
        basis, proportions = self._priors(category, shape_basis, bone_lengths)
        symmetrize = symmetrize and refines_symmetry(category)
        F, N = vis.shape
        out = np.empty((F, N, 3), dtype=np.float32)
        step = max(1, self.chunk_size(N) // (1 if perm is None else 2))
        with torch.inference_mode():
            for s in range(0, F, step):
                p = torch.as_tensor(pts[s:s + step], dtype=torch.float64, device=self.device)
                v = torch.as_tensor(vis[s:s + step], device=self.device)
                lift = self._one_pass(p, v, category, perm_t)
                if complete_hidden:
                    partial = (~v.all(1)).nonzero()[:, 0]
                    if len(partial):
                        lift[partial] = self._relift_completed(p[partial], v[partial], lift[partial], category,
                                                               perm_t)
                if symmetrize or proportions is not None:
                    centre = masked_mean(p, v)                                      # (f, 2)
                # each refinement's float64 result rounded to float32, the network's precision
                if symmetrize:
                    lift = refine_lift_symmetry(lift, centre, v, category).float()
                if basis is not None:
                    lift = refine_with_basis_torch(lift, v, basis).float()
                if proportions is not None:
                    lift = refine_lift_bones(lift, centre, v, proportions, **category_settings(category))
                out[s:s + step] = lift.cpu().numpy()
        return out

    def _one_pass(self, pts: torch.Tensor, vis: torch.Tensor, category: str, perm: torch.Tensor | None
                  ) -> torch.Tensor:
        """One lift of checked input ``pts (F, N, 2)`` (zero where not visible), ``vis (F, N)`` ->
        ``(F, N, 3)`` float32, averaged with the mirrored input's lift when ``perm`` (the mirror permutation)
        is given."""
        if perm is None:
            return self._lift_valid(pts, vis, category)
        # Mirror x (any reflection will do: the model is translation invariant), swap left and right, lift
        # both in one pass, then undo the swap and the reflection. perm is an involution: its own inverse.
        F = len(pts)
        both = self._lift_valid(torch.cat([pts, mirror_image(pts, perm)]), torch.cat([vis, vis[:, perm]]), category)
        return 0.5 * (both[:F] + mirror_back(both[F:], perm))

    def _relift_completed(self, pts: torch.Tensor, vis: torch.Tensor, first: torch.Tensor, category: str,
                          perm: torch.Tensor | None) -> torch.Tensor:
        """The second pass of ``complete_hidden``: ``pts (F, N, 2)`` pixels, ``vis (F, N)`` with some False,
        ``first (F, N, 3)`` the first lift (centred on the visible centroid) -> ``(F, N, 3)``, same frame."""
        centre = masked_mean(pts, vis)[:, None]                                      # (F, 1, 2)
        completed = torch.where(vis[..., None], pts, first[..., :2] + centre)       # hidden: predicted 2D
        second = self._one_pass(completed, torch.ones_like(vis), category, perm)    # centred on all landmarks
        shift = (completed.mean(1, keepdim=True) - centre).to(torch.float32)        # (F, 1, 2)
        return torch.cat([second[..., :2] + shift, second[..., 2:]], -1)

    def _lift_valid(self, pts: torch.Tensor, vis: torch.Tensor, category: str) -> torch.Tensor:
        """The network's lift of checked input ``pts (F, N, 2)`` (zero where not visible), ``vis (F, N)`` on
        :attr:`device` -> ``(F, N, 3)`` float32, in pixels, in passes of :meth:`pass_size` poses. The pixels are
        centred and scaled in float64 before the network's float32, so that any translation and scale of the input
        lifts alike (far from the origin, float32 pixels lose the pose's detail)."""
        step = self.pass_size(pts.shape[1])
        out = []
        for s in range(0, len(pts), step):
            v = vis[s:s + step]
            p, _, size = normalise_2d(pts[s:s + step].to(torch.float64), v)         # float64: (f, N, 2), (f,)
            shape, _, scale = self.model(p.to(torch.float32), v, category)
            out.append((shape.double() * (scale.double() * size)[:, None, None]).float())
        return out[0] if len(out) == 1 else torch.cat(out)


def weights_record(path: Path) -> dict:
    """The JSON record beside the lifter weights ``path``, once the file and the record exist and the file's SHA-256
    matches the recorded one (:func:`lifter.checked_files.checked_record`); raises :class:`WeightsError` naming the
    file otherwise. :func:`load_lifter` checks its weights with it; a command can check several files with it before
    loading any."""
    return checked_record(Path(path), "lifter weights", "train them with `python -m lifter.train` and export with "
                          "`python -m lifter.export`, or restore the file from git", "weights")


def load_lifter(path: str | Path | None = None, device: str | torch.device | None = None,
                shape_bases: str | Path | None = DEFAULT_BASES,
                bone_proportions: str | Path | None = DEFAULT_PROPORTIONS) -> LoadedLifter:
    """Load a lifter: the bundled weights by default, else ``path`` (a ``.safetensors`` with its ``.json``).

    Runs on CUDA when available unless ``device`` says otherwise. ``shape_bases``: the file of the shape bases
    that :meth:`LoadedLifter.lift` refines with (:mod:`lifter.shape_basis`; default: the bundled ones, which every
    lifter uses: they describe the category), None for none; ``bone_proportions`` likewise, the file of the bone
    proportions of the bone-length refinement (:mod:`lifter.bone_lengths`). Raises :class:`WeightsError` naming the
    file when the weights, the bases, the proportions or their records are missing or corrupted (SHA-256 checked
    against the record), and ValueError for a ``device`` that cannot be used here
    (:func:`lifter.devices.resolve_device`).
    """
    weights = Path(path) if path is not None else DEFAULT_WEIGHTS
    record = weights_record(weights)
    try:
        cfg = LifterConfig(**record["model"])
    except (KeyError, TypeError) as e:
        raise WeightsError(f"{record_path(weights)} is not a valid weights record ({e})") from None
    dev = resolve_device(device)
    model = Lifter(cfg)
    try:
        model.load_state_dict(load_file(str(weights)))
    except Exception as e:  # noqa: BLE001  (safetensors raises several kinds)
        raise WeightsError(f"{weights} does not hold weights for the recorded model config ({e})") from None
    bases = load_bases(Path(shape_bases)) if shape_bases is not None else None
    proportions = load_proportions(Path(bone_proportions)) if bone_proportions is not None else None
    return LoadedLifter(model.to(dev), record, dev, bases=bases, proportions=proportions)
