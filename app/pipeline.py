"""Pure pipeline functions the UI (and the API endpoints) call: load, detect, lift, depth, export records.

Models are loaded lazily, once per process, behind a lock (:func:`get_lifter`; MediaPipe in
:mod:`app.detect`), and shared read-only by every user. Nothing here touches Gradio except for message text.

Hands: the bundled lifter was trained on RIGHT hands (a left hand is a mirrored right hand, see
``lifter/data/hand.py``). A left hand is lifted by mirroring its 2D x (x -> -x), lifting, and mirroring the
3D x back. Which hand it is comes from MediaPipe's handedness, corrected for non-mirrored photos (see
:mod:`app.detect`).
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.config import CONFIG, MODES, AppConfig
from app.detect import REFERENCE_UNITS, get_detectors
from app.io import ImageError, display_copy, display_view, load_image, view_crop
from app.state import Session
from lifter.geometry import pinhole_of_reading, project_perspective
from lifter.shape_basis import MIN_FIT_VISIBLE
from lifter.skeletons import get_category

_LIFTER = None
_LIFTER_LOCK = threading.Lock()


class NotFound(ValueError):
    """Detection found nothing; the message says so and offers the Manual mode."""


def get_lifter():
    """The bundled lifter, loaded on first use and reused (thread-safe)."""
    global _LIFTER
    with _LIFTER_LOCK:
        if _LIFTER is None:
            from lifter import load_lifter

            _LIFTER = load_lifter()
        return _LIFTER


def warm_up() -> None:
    """Load the lifter and MediaPipe and run each once, so the first user does not wait."""
    get_detectors().warm_up()
    lifter = get_lifter()
    lifter.lift(np.random.default_rng(0).normal(size=(17, 2)) * 100, "human17")


# ------------------------------------------------------------------------------------------------ depth


@dataclass
class DepthStatus:
    """What the depth baseline can do here: ``module`` (``lifter.baselines``) or None, and a message."""

    module: object | None
    message: str


DEPTH_API = ("backproject_landmarks", "depth_lift", "estimate_depth", "DepthUnavailable")


def depth_baseline() -> DepthStatus:
    """Import ``lifter.baselines`` if it exists (it is optional: the app works without it)."""
    try:
        module = importlib.import_module("lifter.baselines")
    except ImportError as e:
        if "lifter.baselines" in str(e) or getattr(e, "name", "") == "lifter.baselines":
            return DepthStatus(None, "Depth baseline not available yet (the `lifter.baselines` module is not "
                                     "installed in this checkout).")
        return DepthStatus(None, f"Depth baseline not available: importing `lifter.baselines` failed ({e}).")
    missing = [n for n in DEPTH_API if not hasattr(module, n)]
    if missing:
        return DepthStatus(None, "Depth baseline not available yet (`lifter.baselines` is still being written: "
                                 f"it lacks {', '.join(missing)}).")
    return DepthStatus(module, "")


def assumed_intrinsics(size: tuple[int, int], config: AppConfig = CONFIG) -> tuple[float, float, float, float]:
    """``(fx, fy, cx, cy)`` for a photo of ``size (W, H)`` with unknown intrinsics: f = 1.2 max(W, H), centre."""
    w, h = size
    f = config.focal_factor * max(w, h)
    return f, f, w / 2.0, h / 2.0


def photo_depth_lift(session: Session) -> dict:
    """The depth-based baseline on a photo: estimate a depth map, back-project the visible landmarks.

    Returns ``{"points3d": (N, 3) or None, "name": str, "message": str}``, with ``"units"`` (``"m"``, or
    ``"relative"`` for a network whose depth is known up to scale) when there are points; the message explains
    plainly when no depth source is available and how to enable one (never fake numbers).
    """
    status = depth_baseline()
    if status.module is None:
        return {"points3d": None, "name": "", "message": status.message}
    b = status.module
    try:
        est = b.estimate_depth(session.image)
    except b.DepthUnavailable as e:
        return {"points3d": None, "name": "", "message": f"No depth source available for photos: {e}"}
    except Exception as e:  # noqa: BLE001  (a third-party network may fail in many ways)
        return {"points3d": None, "name": "", "message": f"Depth estimation failed: {e}"}
    W, H = session.original_size
    s = session.image.shape[1] / W                      # working / original
    fx, fy, cx, cy = assumed_intrinsics((W, H))
    pts = np.where(session.visible[:, None], session.points * s, np.nan)
    bp = b.backproject_landmarks(pts, est.depth, (fx * s, fy * s, cx * s, cy * s), session.visible)
    rel = " (relative depth: scale and shift unknown)" if getattr(est, "relative", False) else ""
    shown, missing = int(session.visible.sum()), int((session.visible & ~np.asarray(bp.valid)).sum())
    lacking = (f" {missing} of the {shown} visible landmarks got no depth (outside the network's view of the image, "
               f"or no valid depth there) and are not shown." if missing else "")
    return {"points3d": np.asarray(bp.points3d, dtype=np.float64), "name": est.name,
            "units": "relative" if getattr(est, "relative", False) else "m",
            "message": f"Depth from {est.name}{rel}; intrinsics assumed: fx = fy = {fx:.0f} px "
                       f"({CONFIG.focal_factor:g} x max(W, H)), principal point at the image centre.{lacking}"}


# ------------------------------------------------------------------------------------------------ lifting


def lift_points(points2d: np.ndarray, category: str, visible: np.ndarray | None = None,
                hand_side: str | None = None,
                intrinsics: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """Lift one set of 2D landmarks with the bundled lifter.

    Args:
        points2d: ``(N, 2)`` pixels (x right, y down); values where not visible are ignored (may be NaN).
        category: a lifter category.
        visible: ``(N,)`` bool or None (all finite points visible).
        hand_side: ``"left"`` for a left hand (mirrored before and after lifting), else None / ``"right"``.
        intrinsics: ``(fx, fy, cx, cy)`` pixels (square pixels: fx == fy), or None. Given, the lift is read
            through that pinhole (:func:`pinhole_reading`, as ``Lifter.lift_with_camera`` reads it); None:
            ``Lifter.lift()``'s orthographic reading.
    Returns:
        ``(N, 3)`` float64 camera frame (x right, y down, z away). Without intrinsics: pixel units, centred on
        the visible 2D centroid, x, y = the centred input. With them: on the pixels' rays, the visible
        landmarks' mean depth = fx (pixel units at that depth); its perspective projection is the input.
    Raises:
        ValueError: from the lifter (unknown category, wrong count, fewer than 3 visible landmarks, a focal
            length shorter than the lifted depth range, ...) or intrinsics that are not square pixels.
    """
    pts = np.asarray(points2d, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[-1] != 2:
        raise ValueError(f"points must be a list of N [x, y] pairs; got shape {pts.shape}")
    vis = np.isfinite(pts).all(-1) if visible is None else np.asarray(visible, dtype=bool)
    if vis.shape != pts.shape[:1]:
        raise ValueError(f"visible must have one entry per landmark ({len(pts)}), got {vis.shape}")
    mirror = category == "hand21" and hand_side == "left"
    shown = np.where(vis[:, None], pts * np.array([-1.0, 1.0]) if mirror else pts, np.nan)
    out = get_lifter().lift(shown, category, vis).astype(np.float64)
    if mirror:
        out = out * np.array([-1.0, 1.0, 1.0])
    return out if intrinsics is None else pinhole_reading(out, pts, category, vis, intrinsics)


def pinhole_reading(points3d: np.ndarray, points2d: np.ndarray, category: str, visible: np.ndarray,
                    intrinsics: tuple[float, float, float, float]) -> np.ndarray:
    """Read a lift of :func:`lift_points` ``(N, 3)`` (orthographic, centred on the visible 2D centroid of
    ``points2d (N, 2)`` of ``category``) through the pinhole ``intrinsics`` ``(fx, fy, cx, cy)`` with
    ``Lifter.read_with_camera``, the reading of ``Lifter.lift_with_camera`` -> ``(N, 3)`` float64 on the
    pixels' rays.

    A left hand's lift (mirrored before and after lifting) reads the same way: the network's depths do not depend
    on where the mirror line lies, and mirroring about the principal column is the same camera.

    Raises:
        ValueError: intrinsics that are not square pixels; a focal length shorter than the lifted depth range.
    """
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    if not np.isclose(fx, fy):
        raise ValueError(f"the lifter's pinhole reading needs square pixels (fx == fy), got {fx:g}, {fy:g}")
    return get_lifter().read_with_camera(points3d, points2d, category, fx, (cx, cy), visible).astype(np.float64)


def estimated_focal_reading(points3d: np.ndarray, points2d: np.ndarray, category: str, visible: np.ndarray,
                            principal: tuple[float, float], fitted_shape: bool = False) -> tuple[np.ndarray, float]:
    """``Lifter.read_with_camera`` of a lift ``(N, 3)`` (as :func:`pinhole_reading` takes it) with the principal
    point given and no focal length, for a category with a shape basis (faces: the basis's fit to the pixels
    estimates the focal length): ``(points (N, 3) float64 on the pixels' rays, the focal length in px)``, the focal
    length recovered from the visible landmarks' rays (:func:`lifter.geometry.pinhole_of_reading`; exact: they lie
    on them). With ``fitted_shape``, the fitted shape itself, not moved onto the rays (``Lifter.lift_with_camera``'s
    option: the 2D's noise stays out, and so does what the basis cannot describe, e.g. an expression); its focal
    length is then its visible landmarks' mean depth (the readings' units; exact too).

    A wrong assumed focal length held fixed bends a face fitted to its pixels (``scripts/focal_sensitivity.py``),
    which an estimate avoids. Raises ValueError from the lifter."""
    pts = get_lifter().read_with_camera(points3d, points2d, category, None, principal, visible,
                                        fitted_shape=fitted_shape).astype(np.float64)
    if fitted_shape:
        return pts, float(pts[np.asarray(visible, dtype=bool), 2].mean())
    focal, _ = pinhole_of_reading(pts[None], np.asarray(points2d, dtype=np.float64)[None], np.asarray(visible)[None])
    return pts, float(focal[0])


def reproject(points3d: np.ndarray, points2d: np.ndarray, visible: np.ndarray,
              intrinsics: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """The lifted 3D re-projected into the image ``(N, 2)`` px: through the pinhole ``intrinsics`` when the lift
    was read with them (:func:`lift_points`), else orthographically (``(x, y)`` plus the visible 2D centroid)."""
    if intrinsics is not None:
        fx, _, cx, cy = intrinsics
        return project_perspective(points3d, np.float64(fx), np.array([cx, cy], dtype=np.float64))
    centre = np.asarray(points2d, dtype=np.float64)[visible].mean(0)
    return points3d[:, :2] + centre


def detect_session(session: Session, mode: str, hand: str = "largest") -> str:
    """Run MediaPipe for ``mode`` (Body, Hand or Face) on the session's image; fills the landmarks.

    ``hand``: which hand to take when several are found: ``"largest"``, ``"right"`` or ``"left"`` (the
    person's own side, after the mirror correction of :mod:`app.detect`).

    Raises:
        NotFound: nothing detected (the message offers Manual mode).
    """
    if session.image is None:
        raise ImageError("Upload an image, take one with the webcam, or pick an example first.")
    if mode not in MODES:
        raise ValueError(f"Detect works in the Body, Hand or Face modes, not {mode!r}.")
    category = MODES[mode]
    where = "this image"
    if session.view is None:
        found = get_detectors().detect(session.image, category, session.original_size, session.mirrored)
    else:                                       # zoomed: the part shown, so that a small subject is found
        crop, s, origin = view_crop(session.image, session.original_size, session.view)
        found = get_detectors().detect(crop, category, (crop.shape[1] / s, crop.shape[0] / s), session.mirrored)
        for d in found:
            d.points2d = d.points2d + np.asarray(origin)                # the crop's original px -> the image's
        where = "the zoomed part of the image"
    if not found:
        what = {"human17": "person", "hand21": "hand", "face468": "face"}[category]
        raise NotFound(f"No {what} found in {where}. Try another image or mode, "
                       + ("zoom to the subject (**Zoom in**, then click it) and detect again, " if session.view is None
                          else "**Whole image**, ")
                       + "or choose **Manual** and click the landmarks in yourself.")
    det = found[0]
    if category == "hand21" and hand in ("left", "right"):
        det = next((d for d in found if d.hand_side == hand), det)
    session.set_landmarks(category, det.points2d, det.visible, detected=True)
    session.reference3d, session.reference_name = det.reference3d, det.reference_name
    session.hand_side = det.hand_side
    n_vis, n = int(det.visible.sum()), len(det.visible)
    msg = (f"Found a {what_name(category)}{' in the zoomed part' if session.view is not None else ''}: {n_vis} of "
           f"{n} landmarks visible.")
    if det.hand_side:
        msg += (f" It is a **{det.hand_side}** hand"
                f"{' (mirrored before lifting: the lifter expects right hands)' if det.hand_side == 'left' else ''}.")
    if len(found) > 1:
        sides = ", ".join(d.hand_side or "?" for d in found)
        msg += (f" {len(found)} found ({sides}); using the {hand if det.hand_side == hand else 'largest'}"
                f"{' (choose with Hand: which)' if category == 'hand21' else ''}.")
    elif category == "hand21" and hand in ("left", "right") and det.hand_side != hand:
        msg += f" (No {hand} hand found; using the {det.hand_side} one.)"
    if n_vis < 3:
        msg += " Fewer than 3 landmarks are visible: click more in before lifting."
    return msg


def zoom_box(points: np.ndarray, visible: np.ndarray, original_size: tuple[int, int],
             margin: float = CONFIG.zoom_margin, min_side: float | None = None
             ) -> tuple[float, float, float, float] | None:
    """The part of the image to zoom to: the box ``(x0, y0, x1, y1)`` (original px) of the visible landmarks of
    ``points (N, 2)`` / ``visible (N,)``, grown on every side by ``margin`` of its longer side, at least
    ``min_side`` px a side (default a tenth of the image's longer side, at least 64 px: one landmark or a row of
    them still shows their surroundings), inside the ``(W, H)`` image. None when no landmark is visible or the box
    would be the whole image."""
    pts = np.asarray(points, dtype=np.float64)[np.asarray(visible, dtype=bool)]
    pts = pts[np.isfinite(pts).all(-1)]
    if not len(pts):
        return None
    W, H = original_size
    min_side = max(64.0, 0.1 * max(W, H)) if min_side is None else min_side
    lo, hi = pts.min(0), pts.max(0)
    pad = margin * float((hi - lo).max())
    lo, hi = lo - pad, hi + pad
    grow = np.maximum(min(min_side, W, H) - (hi - lo), 0) / 2       # too thin: widened about its centre
    lo, hi = lo - grow, hi + grow
    shift = np.maximum(0 - lo, 0) - np.maximum(hi - np.array([W, H], dtype=np.float64), 0)   # kept inside
    lo, hi = np.maximum(lo + shift, 0), np.minimum(hi + shift, [W, H])
    if lo[0] <= 0 and lo[1] <= 0 and hi[0] >= W and hi[1] >= H:
        return None
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def zoom_at(session: Session, xy: tuple[float, float], factor: float = 2.0) -> tuple[float, float, float, float]:
    """The part of the image to show when zooming in around ``xy`` (original px): a square ``factor`` times smaller
    than the longer side of the part shown (the whole image when not zoomed), cut to the image where it is narrower
    (so that a panorama's full height stays until the zoom is closer than it), centred on ``xy`` and moved inside
    the image: ``(x0, y0, x1, y1)`` original px.

    Raises ValueError: the part would be under 16 px a side (as close as zooming goes)."""
    W, H = session.original_size
    x0, y0, x1, y1 = session.view or (0, 0, W, H)
    side = max(x1 - x0, y1 - y0) / factor
    w, h = min(side, W), min(side, H)
    if min(w, h) < 16:
        raise ValueError("Zoomed in as far as it goes: Whole image or Zoom to landmarks to see more.")
    cx = min(max(float(xy[0]), w / 2), W - w / 2)
    cy = min(max(float(xy[1]), h / 2), H - h / 2)
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def show_view(session: Session, box: tuple[float, float, float, float] | None) -> None:
    """Show the part ``box`` (original px, :func:`zoom_box`) of the session's image in the page, or the whole image
    for None: sets ``display``, ``display_factor``, ``display_origin`` and ``view``."""
    if session.image is None:
        raise ImageError("Upload an image, take one with the webcam, or pick an example first.")
    if box is None:
        session.display, f = display_copy(session.image, CONFIG.display_side)
        session.display_factor = f * session.image.shape[1] / session.original_size[0]
        session.display_origin, session.view = (0.0, 0.0), None
    else:
        session.display, session.display_factor, session.display_origin = display_view(
            session.image, session.original_size, box, CONFIG.display_side)
        session.view = tuple(float(v) for v in box)


def what_name(category: str) -> str:
    return {"human17": "person", "hand21": "hand", "face468": "face", "chair": "chair"}[category]


def start_manual(session: Session, category: str, hand_side: str | None = None) -> str:
    """Manual mode: all landmarks missing; the user clicks them in order. ``hand_side`` (``hand21``): ``"left"`` for
    a left hand (mirrored before and after lifting, as a detected one), else a right hand."""
    if session.image is None:
        raise ImageError("Upload an image, take one with the webcam, or pick an example first.")
    n = get_category(category).num_landmarks
    session.set_landmarks(category, np.full((n, 2), np.nan), np.zeros(n, bool), detected=False)
    session.reference3d, session.reference_name = None, ""
    session.hand_side = chosen_hand_side(category, hand_side)
    side = f" ({session.hand_side} hand)" if session.hand_side else ""
    msg = f"Manual {category}{side}: click each landmark in order; **Skip** marks one missing."
    if n > 100:
        msg += f" ({n} landmarks: this takes a while.)"
    return msg + session.manual_prompt()


def chosen_hand_side(category: str, hand_side: str | None) -> str | None:
    """The side a hand whose landmarks are given (Manual mode, the API) is lifted as: ``"left"`` or ``"right"`` for
    ``hand21`` (right unless ``"left"`` is given), None for other categories."""
    if hand_side not in (None, "", "left", "right"):
        raise ValueError("hand_side must be 'left', 'right' or empty")
    return ("left" if hand_side == "left" else "right") if category == "hand21" else None


def lift_session(session: Session, fitted_shape: bool = False) -> dict:
    """Lift the session's landmarks; stores and returns the result.

    A photo's intrinsics are unknown: the lift is read through the assumed pinhole of :func:`assumed_intrinsics`
    (the one the depth baseline uses), which ``scripts/focal_sensitivity.py`` measured to beat the orthographic
    reading for a wide range of wrong focal lengths; faces keep its principal point and have their focal length
    estimated instead (:func:`estimated_focal_reading`), which their shape basis's fit does far better than a wrong
    guess held fixed; with ``fitted_shape`` a face is that fit itself, not moved onto its landmarks' rays (other
    categories ignore it: they have no shape basis). Should the assumed focal length be shorter than the lifted
    depth range (a landmark behind the camera), or a face's fit estimate none, the orthographic reading is used and
    the result says so and why.

    Result keys: ``points3d`` ``(N, 3)`` lifter, ``reprojected`` ``(N, 2)`` px, ``intrinsics``
    ``(fx, fy, cx, cy)`` of the reading or None (orthographic), ``reading`` (a sentence saying which),
    ``fitted_shape`` (whether ``points3d`` is a face's fitted shape),
    ``depth`` (see :func:`photo_depth_lift`), ``reference3d`` ``(N, 3)`` or None, ``reference_name``.
    """
    if session.points is None:
        raise ValueError("Detect landmarks (or enter them in Manual mode) before lifting.")
    if session.visible.sum() < 3:
        raise ValueError(f"At least 3 visible landmarks are needed to lift; {int(session.visible.sum())} are.")
    intrinsics = assumed_intrinsics(session.original_size)
    fitted = False
    ortho = lift_points(session.points, session.category, session.visible, session.hand_side)
    try:
        if session.category in get_lifter().bases:   # faces: the shape basis's fit estimates the focal length
            pts3d, f = estimated_focal_reading(ortho, session.points, session.category, session.visible,
                                               intrinsics[2:], fitted_shape)
            intrinsics, fitted = (f, f, intrinsics[2], intrinsics[3]), fitted_shape
            shown = int(session.visible.sum())
            how = ("estimated by fitting the face's shape basis to the landmarks" if shown >= MIN_FIT_VISIBLE else
                   f"guessed from the landmarks' extent, a rough guess: {shown} visible landmarks are too few to fit "
                   f"the face's shape basis (it takes {MIN_FIT_VISIBLE})")
            reading = (f"read through a pinhole with the principal point at the image centre and the focal length "
                       f"{how}: fx = fy = {f:.0f} px" +
                       ("; the fitted shape itself, not moved onto the landmarks' rays (its re-projection shows "
                        "the fit)" if fitted_shape else ""))
        else:
            pts3d = pinhole_reading(ortho, session.points, session.category, session.visible, intrinsics)
            reading = (f"read through an assumed pinhole: fx = fy = {intrinsics[0]:.0f} px "
                       f"({CONFIG.focal_factor:g} x max(W, H)), principal point at the image centre")
    except ValueError as e:         # a focal length shorter than the depth range, or none estimated for the face
        if session.category in get_lifter().bases:
            why = "no focal length could be estimated for this face"
            why += ", so this is not the fitted shape" if fitted_shape else ""
        else:
            why = "the assumed focal length is too short for this lift"
        intrinsics, pts3d = None, ortho
        reading = f"read orthographically ({why}: {e})"
    result = {"points3d": pts3d, "reprojected": reproject(pts3d, session.points, session.visible, intrinsics),
              "intrinsics": intrinsics, "reading": reading, "fitted_shape": fitted,
              "depth": photo_depth_lift(session), "reference3d": session.reference3d,
              "reference_name": session.reference_name}
    session.result = result
    return result


def result_record(session: Session) -> dict:
    """Everything about the session's landmarks, JSON-ready after :func:`app.io.export_record`."""
    if session.points is None:
        raise ValueError("Nothing to export yet: detect or enter landmarks first.")
    r = session.result or {}
    depth = r.get("depth") or {}
    rec = {"image": session.image_name, "image_size": list(session.original_size), "category": session.category,
           "landmarks": list(session.names), "hand_side": session.hand_side,
           "units": "pixels of the original image (x right, y down); 3D: camera frame x right, y down, z away",
           "lifter_reading": r.get("reading"), "lifter_fitted_shape": r.get("fitted_shape"),
           "intrinsics_assumed": None if r.get("intrinsics") is None else dict(zip(("fx", "fy", "cx", "cy"),
                                                                                   r["intrinsics"])),
           "points2d": session.points, "visible": session.visible,
           "points3d_lifter": r.get("points3d"), "reprojected_lifter": r.get("reprojected"),
           "points3d_depth": depth.get("points3d"), "depth_source": depth.get("message"),
           "points3d_mediapipe": session.reference3d, "mediapipe_reference": session.reference_name or None}
    rec["column_units"] = {"points2d": "px", "lifter": "px", "depth": depth.get("units"),
                           "mediapipe": None if session.reference3d is None else REFERENCE_UNITS[session.category]}
    return rec


# ------------------------------------------------------------------------------------------------ API


def api_lift_image(image: str | Path | np.ndarray, category: str) -> dict:
    """``lift_image`` endpoint: an image and a category (``human17``/``hand21``/``face468``, or Body/Hand/Face).

    Returns a JSON-ready dict: landmarks (names), points2d (original px, null where missing), visible, the
    lifter's 3D (camera frame, pixel units), MediaPipe's reference 3D and the image size.
    """
    from app.io import export_record

    mode = {v: k for k, v in MODES.items()}.get(category, category)
    if mode not in MODES:
        raise ValueError(f"category must be one of {', '.join(MODES.values())} (or {', '.join(MODES)}); "
                         f"got {category!r}")
    loaded = load_image(image)
    session = Session(image=loaded.rgb, original_size=loaded.original_size, image_notes=loaded.notes,
                      image_name=Path(image).name if isinstance(image, (str, Path)) else "image")
    detect_session(session, mode)
    lift_session(session)
    rec = result_record(session)
    rec["notes"] = loaded.notes
    rec.pop("depth_source", None)
    rec["depth"] = session.result["depth"]["message"] or "depth baseline used"
    return export_record(rec)


def api_lift_points(points: list, category: str, visible: list | None = None, hand_side: str | None = None
                    ) -> dict:
    """``lift_points`` endpoint: ``points`` N ``[x, y]`` pairs (null or NaN for missing) -> 3D.

    Returns ``{"category", "landmarks", "points3d" (N x 3, camera frame, input pixel units), "visible",
    "hand_side"}`` (``hand_side``: ``"left"`` or ``"right"`` for ``hand21``, a left hand mirrored before and after
    lifting; None for other categories).
    """
    from app.io import export_record

    if isinstance(points, dict):                       # accept {"points": [...], "visible": [...]} too
        visible = points.get("visible", visible)
        points = points.get("points")
    if not isinstance(points, (list, tuple)) or not points:
        raise ValueError("points must be a non-empty list of [x, y] pairs")
    try:
        pts = np.array([[np.nan, np.nan] if p is None else [np.nan if v is None else float(v) for v in p]
                        for p in points], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("points must be a list of [x, y] number pairs (null for a missing landmark)") from None
    if visible is not None and (not isinstance(visible, (list, tuple))
                                or not all(isinstance(v, bool) or v in (0, 1) for v in visible)):
        raise ValueError(f"visible must be a list of {len(pts)} booleans (true / false, or 1 / 0), one per landmark, "
                         f"or null; got {str(visible)[:60]}")
    vis = None if visible is None else np.array([bool(v) for v in visible])
    if vis is not None and len(vis) == len(pts):
        vis &= np.isfinite(pts).all(-1)
    side = chosen_hand_side(category, hand_side)           # checked: "left", "right" or empty
    out = lift_points(pts, category, vis, side)
    return export_record({"category": category, "landmarks": list(get_category(category).landmarks),
                          "points3d": out, "visible": (np.isfinite(pts).all(-1) if vis is None else vis),
                          "hand_side": side})
