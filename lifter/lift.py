"""Lift a file of 2D landmarks from the command line: ``python -m lifter.lift INPUT --category C --out OUT.npz``.

``INPUT`` is a ``.npz`` (the data files' layout: ``points2d (F, N, 2)`` or ``(N, 2)`` pixels, optionally
``visible (F, N)`` bool and ``camera_focal (F,)`` / ``camera_principal (F, 2)``) or a ``.json`` object with the same
keys as lists. Without ``visible``, the landmarks with finite coordinates are the visible ones (NaN: missing).
``OUT`` is a ``.npz`` with ``points3d (F, N, 3)`` float32, the ``visible`` mask used, the
``category``, the ``reading`` and a JSON ``record`` (input, weights and their SHA-256, the camera used); the
``camera`` and ``guessed`` readings add ``camera_focal (F,)`` and ``camera_principal (F, 2)``, the pinhole each
frame was read through (:func:`lifter.geometry.pinhole_of_reading`: the intrinsics given, or the guess, or for
faces the focal length that their shape basis's fit estimated).

Readings (``--reading``):

- ``lift`` (default): :meth:`lifter.api.LoadedLifter.lift`, DESIGN.md's orthographic form (x, y = the input
  pixels, centred);
- ``camera``: ``lift_with_camera`` with known intrinsics: ``--focal`` and ``--principal``, else the input file's
  ``camera_focal`` and ``camera_principal``;
- ``guessed``: ``lift_with_camera`` without intrinsics: the camera guessed from the landmarks (close cameras only;
  docs/using-the-lifter.md, *Without intrinsics*).

With ``--fitted-shape`` (faces, with ``camera`` or ``guessed``) the camera readings return the face's shape basis
fitted to the pixels as it is (``lift_with_camera(..., fitted_shape=True)``), not moved onto the pixels' rays: the
2D's noise stays out of the 3D, and only what the basis describes is kept (no expression). Its ``camera_focal`` is
then the fit's focal length exactly and its ``camera_principal`` the point that best re-projects the fit onto the
input.

A ``.json`` may also be a detector's own output: a list of COCO results or a COCO file (``keypoints``:
``[x1, y1, v1, ...]`` per person) or an OpenPose file (``people``, ``pose_keypoints_2d``): each person entry is
one row (frame) of ``points2d``, ``(P, K, 3)`` with the score as its third column, in file order (an entry
without keypoints is a row of NaN, not lifted; use ``--from``).

Body keypoints of another detector's format (``--from coco17``, ``body25`` or ``mediapipe33``: COCO's 17
keypoints, OpenPose BODY_25, MediaPipe Pose's 33) are mapped to ``human17`` first
(:func:`lifter.keypoint_formats.to_human17`: the derived pelvis, spine, thorax, neck and head), so ``points2d`` is
then ``(F, K, 2)`` in that order, or ``(F, K, 3)`` with a score or COCO visibility flag as the third column (a
landmark counts as visible when its coordinates are finite and its score is above ``--min-score``, by default 0.5
for MediaPipe's visibilities and 0 for the others, unless ``visible`` is given); the output then also holds the
mapped ``points2d_human17`` and its ``visible``.

Frames are lifted in chunks of ``--chunk`` with a progress bar; the result is the same as one call. A frame with
fewer than 3 visible landmarks (a person the detector missed, a COCO annotation with no keypoints), or whose visible
landmarks all lie at one pixel (a tracker's collapsed frame), cannot be lifted: its ``points3d`` (and camera) are
NaN, the output's ``lifted (F,)`` says which frames were, and the command names them, so the rows stay aligned
with the input's (``--strict``: refuse such a file instead). One ``visible`` mask ``(N,)`` is every frame's. An
existing ``OUT`` is kept unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path

import numpy as np

from lifter.checked_files import file_in_the_way
from lifter.input_checks import real_numbers
from lifter.keypoint_formats import FORMATS, MEDIAPIPE_MIN_VISIBILITY, to_human17

READINGS = ("lift", "camera", "guessed")


def read_landmarks(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a landmark file (``.npz`` or ``.json``, module docstring): ``points2d`` and, when present,
    ``visible``, ``camera_focal``, ``camera_principal``. Raises ValueError for a missing file, another suffix, an
    unreadable file or no ``points2d``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such input file: {path}")
    keys = ("points2d", "visible", "camera_focal", "camera_principal")
    try:
        if path.suffix == ".npz":
            if not zipfile.is_zipfile(path):
                raise ValueError("not a .npz archive (what numpy.savez writes)")
            try:
                with np.load(path, allow_pickle=False) as f:
                    found = list(f.files)
                    raw = {k: numbers(f[k], k) for k in keys if k in found}
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise ValueError(f"a damaged .npz archive ({e})") from None
        elif path.suffix == ".json":
            data = json.loads(path.read_text())
            rows = detector_rows(data)
            if rows is not None:
                raw = {"points2d": rows}
            elif not isinstance(data, dict):
                raise ValueError("the JSON must be an object with a 'points2d' key, a list of COCO results "
                                 "('keypoints'), a COCO file ('annotations') or an OpenPose file ('people')")
            else:
                found = list(data)
                raw = {k: numbers(data[k], k) for k in keys if k in data}
        else:
            raise ValueError(f"the input must be a .npz or .json file, got {path.suffix or 'no suffix'}")
    except ValueError as e:
        raise ValueError(f"cannot read {path}: {e}") from None
    if "points2d" not in raw:
        raise ValueError(f"{path} has no 'points2d' array (its keys: {', '.join(map(str, found)) or 'none'})")
    return raw


def numbers(value, key: str) -> np.ndarray:
    """``value`` of the input's ``key`` as an array: float64, or as it is for ``visible`` (a mask, checked later).
    Raises ValueError naming the key when it holds anything but numbers (objects, text, booleans, ragged lists)."""
    if key == "visible":
        return np.asarray(value)
    try:
        out = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        hint = ""
        if key == "points2d" and isinstance(value, list) and value and isinstance(value[0], dict):
            hint = " ([x, y] pairs, not objects such as {'x': ..., 'y': ...})"
        elif key == "points2d":
            hint = " ([x, y] pairs per landmark, null or NaN for a missing one)"
        raise ValueError(f"'{key}' must hold numbers{hint}: {e}") from None
    real_numbers(value, f"'{key}'")                    # text such as "1200" and booleans are not taken as numbers
    return out


def detector_rows(data) -> np.ndarray | None:
    """Keypoints of a detector's JSON as ``(P, K, 3)`` rows (x, y, score or COCO visibility flag), one per person
    entry in file order, or None when ``data`` is not one of these layouts: a list of COCO results or annotations
    (objects with ``keypoints``: ``[x1, y1, v1, ...]``), a COCO file (an object with such ``annotations``), an
    OpenPose file (an object with ``people``, each with ``pose_keypoints_2d``). An entry without keypoints (an
    empty or missing list) is a row of NaN with score 0, so rows stay the entries. Raises ValueError: entries of
    different lengths or a length that is not a multiple of 3, or no entry with keypoints."""
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        entries, key = data["annotations"], "keypoints"
    elif isinstance(data, dict) and isinstance(data.get("people"), list):
        entries, key = data["people"], "pose_keypoints_2d"
    elif isinstance(data, list) and data and all(isinstance(e, dict) and "keypoints" in e for e in data):
        entries, key = data, "keypoints"
    else:
        return None
    flat = [e.get(key) if isinstance(e, dict) else None for e in entries]
    lengths = {len(f) for f in flat if f}
    if not lengths:
        raise ValueError(f"no person has '{key}'")
    if len(lengths) != 1 or min(lengths) % 3:
        raise ValueError(f"every '{key}' must be the same length, a multiple of 3 (x, y, score per keypoint); "
                         f"got lengths {sorted(lengths)}")
    none = [np.nan, np.nan, 0.0] * (min(lengths) // 3)                    # an entry without keypoints: not seen
    return np.asarray([f or none for f in flat], dtype=np.float64).reshape(len(flat), -1, 3)


def default_min_score(source: str) -> float:
    """The score above which ``--from source``'s keypoints count as detected: for MediaPipe Pose's visibilities
    :data:`lifter.keypoint_formats.MEDIAPIPE_MIN_VISIBILITY`, the app's threshold too; else 0 (COCO's flags 1 and
    2, OpenPose's 0 for a keypoint not found)."""
    return MEDIAPIPE_MIN_VISIBILITY if source == "mediapipe33" else 0.0


def mapped_keypoints(arrays: dict[str, np.ndarray], source: str, min_score: float | None = None
                     ) -> dict[str, np.ndarray]:
    """``arrays`` (:func:`read_landmarks`) whose ``points2d`` holds body keypoints in ``source``'s order
    (:data:`lifter.keypoint_formats.FORMATS`), ``(F, K, 2)``, ``(K, 2)`` or with a score column ``(..., K, 3)``,
    with ``points2d`` and ``visible`` mapped to ``human17`` (the other arrays kept). Visible: the file's
    ``visible`` if given (one ``(K,)`` mask: every frame's), else finite coordinates with a score above
    ``min_score`` (when there is a score column; default :func:`default_min_score`). Raises ValueError: an unknown
    format, a wrong count or shape."""
    pts = np.asarray(arrays["points2d"], dtype=np.float64)
    if pts.ndim not in (2, 3) or pts.shape[-1] not in (2, 3):
        raise ValueError(f"--from {source}: points2d must be (F, K, 2) or (F, K, 3) with a score column (or one "
                         f"pose, (K, 2) / (K, 3)), got shape {pts.shape}")
    xy = pts[..., :2]
    vis = np.isfinite(xy).all(-1)
    if pts.shape[-1] == 3:
        threshold = default_min_score(source) if min_score is None else min_score
        vis &= np.nan_to_num(pts[..., 2], nan=0.0) > threshold
    if arrays.get("visible") is not None:
        from lifter.api import checked_visible

        vis = checked_visible(arrays["visible"], len(pts) if pts.ndim == 3 else None)   # one mask, every frame
    out, out_vis = to_human17(np.where(np.isfinite(xy), xy, np.nan), vis, source)
    return {**arrays, "points2d": out, "visible": out_vis}


def auto_chunk(frames: int) -> int:
    """The command's frames per call when ``--chunk`` is not given: a twentieth of ``frames``, so that the progress
    bar moves, kept within 64..4096 (the lifts are the same at any chunk size)."""
    return int(min(4096, max(64, -(-frames // 20))))


def lift_file(lifter, arrays: dict[str, np.ndarray], category: str, reading: str = "lift",
              focal: float | None = None, principal: tuple[float, float] | None = None, chunk: int = 4096,
              progress: bool = True, fitted_shape: bool = False, strict: bool = False
              ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Lift the landmarks ``arrays`` (:func:`read_landmarks`) with ``lifter`` -> ``(points3d (F, N, 3) float32,
    visible (F, N) bool, camera record)``; one pose ``(N, 2)`` in gives ``(N, 3)`` / ``(N,)`` out. With
    ``fitted_shape`` (a camera reading of a category with a shape basis) the fitted shape itself
    (``lift_with_camera(..., fitted_shape=True)``). One ``visible`` mask ``(N,)`` is every frame's.

    A frame of several with fewer than 3 visible landmarks, or with all of them at one pixel, is not lifted: its
    ``points3d`` rows are NaN and the record's ``not_lifted`` lists it (the frames' indices), unless ``strict``.
    The ``camera`` reading's record also holds ``pinhole``, ``(focal (F,), principal (F, 2))``, the intrinsics each
    frame was read through (NaN for the frames not lifted, whose intrinsics are not checked): not JSON, for the
    output's arrays.

    Raises ValueError: an unknown reading; ``camera`` without intrinsics given or in the file; ``fitted_shape``
    with the ``lift`` reading; frames that cannot be lifted (fewer than 3 visible landmarks, or all at one pixel)
    when ``strict``, or when a non-empty file has none that can (or the one pose cannot be); and the API's errors
    (unknown category, wrong landmark count, bad intrinsics, ``fitted_shape`` for a category without a shape basis,
    ...)."""
    from tqdm import tqdm

    from lifter.api import checked_visible
    from lifter.input_checks import coincident_frames

    if reading not in READINGS:
        raise ValueError(f"reading must be one of {', '.join(READINGS)}, got {reading!r}")
    if fitted_shape and reading == "lift":
        raise ValueError("--fitted-shape goes with --reading camera or --reading guessed (the fitted shape is a "
                         "camera reading)")
    pts = np.asarray(arrays["points2d"], dtype=np.float64)
    single = pts.ndim == 2
    pts = pts[None] if single else pts
    if pts.ndim != 3 or pts.shape[-1] != 2:
        hint = " (keypoints with a score column: give --from FORMAT)" if pts.ndim and pts.shape[-1] == 3 else ""
        raise ValueError(f"points2d must be (F, N, 2) or (N, 2), got shape {np.shape(arrays['points2d'])}{hint}")
    F = len(pts)
    vis = arrays.get("visible")
    if vis is None:
        vis = np.isfinite(pts).all(-1)                                   # no mask: the finite landmarks
    else:
        vis = checked_visible(vis, F)                  # a mask, not detector scores; one (N,) is every frame's
    if vis.shape != pts.shape[:2]:
        shapes = f"{pts.shape[1:2]}" if single else f"{pts.shape[:2]} or {pts.shape[1:2]}"
        raise ValueError(f"visible must have shape {shapes}, got {np.shape(arrays['visible'])}")
    lifter.landmark_count(category, pts.shape[1])      # the whole file's errors first, not one chunk's
    lifter.check_fitted_shape(category, True, fitted_shape)
    few = vis.sum(1) < 3
    flat = ~few & coincident_frames(pts, vis)                           # (hidden landmarks' NaN left out)
    skipped = few | flat                                                 # not lifted, either of them
    if skipped.any() and (strict or single or skipped.all()):
        raise ValueError(unliftable(few, flat, vis, single))
    camera: dict = {"reading": reading, "fitted_shape": fitted_shape, "not_lifted": np.flatnonzero(skipped).tolist()}
    f_all = p_all = None
    if reading == "camera":
        f_all, p_all = given_camera(arrays, focal, principal, F, ~skipped)   # (F,), (F, 2): NaN if not lifted
        f_in, p_in = f_all[~skipped], p_all[~skipped]
        same = len(f_in) > 0 and np.all(f_in == f_in[0]) and np.all(p_in == p_in[0])
        camera.update(focal=f_in[0].item() if same else "per frame" if len(f_in) else None,
                      principal=p_in[0].tolist() if same else "per frame" if len(f_in) else None,
                      pinhole=(f_all[0], p_all[0]) if single else (f_all, p_all))
    elif reading == "guessed":
        camera["camera"] = "guessed from the landmarks (lifter.geometry.guessed_pinhole)"
    out = np.full(pts.shape[:2] + (3,), np.nan, dtype=np.float32)
    rows = np.flatnonzero(~skipped)                                      # the frames lifted, in file order
    starts = range(0, len(rows), max(1, chunk))
    desc = f"lifting {len(rows)} frame{'s' * (len(rows) != 1)}"
    for s in tqdm(starts, desc=desc, unit="chunk", disable=not progress):
        at = rows[s:s + chunk]
        p, v = (pts[0], vis[0]) if single else (pts[at], vis[at])       # one pose as one: the API's words for it
        try:
            if reading == "lift":
                out[at] = lifter.lift(p, category, v)
            elif reading == "guessed":
                out[at] = lifter.lift_with_camera(p, category, visible=v, fitted_shape=fitted_shape)
            else:
                out[at] = lifter.lift_with_camera(p, category, f_all[at], p_all[at], v, fitted_shape=fitted_shape)
        except ValueError as e:
            if single:
                raise
            message = renumbered(str(e), at)
            if re.search(r"\bframe \d+", message):      # it names the file's frame already
                raise ValueError(message) from None
            where = f"frame {at[0]}" if len(at) == 1 else f"frames {at[0]}-{at[-1]}"
            raise ValueError(f"{where}: {message}") from None
    return (out[0], vis[0], camera) if single else (out, vis, camera)


def unliftable(few: np.ndarray, flat: np.ndarray, vis: np.ndarray, single: bool) -> str:
    """The message for the frames that cannot be lifted: ``few (F,)`` with fewer than 3 visible landmarks
    (``vis (F, N)``), ``flat (F,)`` whose visible landmarks all lie at one pixel; ``single``: one pose given."""
    parts, F = [], len(few)
    if few.any():
        first = int(np.argmax(few))
        what = "the pose has" if single else f"{int(few.sum())} of {F} frames have fewer, the first frame {first} has"
        parts.append(f"at least 3 visible landmarks are needed to lift a frame; {what} {int(vis[first].sum())}")
    if flat.any():
        what = ("the pose's" if single else
                f"{int(flat.sum())} of {F} frames' (the first, frame {int(np.argmax(flat))})")
        parts.append(f"{what} visible landmarks all lie at one pixel: nothing to lift")
    return "; ".join(parts)


def renumbered(message: str, frames: np.ndarray) -> str:
    """An error ``message`` raised on the rows ``frames`` (their indices in the file, in order) of a file, each
    "frame k" in it (k counting those rows) made the file's frame ``frames[k]``."""
    def file_frame(m: re.Match) -> str:
        k = int(m.group(1))
        return f"frame {frames[k]}" if k < len(frames) else m.group(0)

    return re.sub(r"\bframe (\d+)", file_frame, message)


def given_camera(arrays: dict, focal: float | None, principal: tuple[float, float] | None, frames: int,
                 lifted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The intrinsics of ``--reading camera``: ``--focal`` / ``--principal``, else the input file's
    ``camera_focal`` / ``camera_principal`` -> ``(focal (F,), principal (F, 2))``, checked
    (:func:`lifter.camera_reading.checked_camera`) on the frames ``lifted`` (bool ``(F,)``); the others' are NaN
    (a tracker's file may hold no camera for the frames it missed). Raises ValueError when they are missing or not
    valid."""
    from lifter.camera_reading import checked_camera

    f_all = focal if focal is not None else arrays.get("camera_focal")
    p_all = principal if principal is not None else arrays.get("camera_principal")
    if f_all is None or p_all is None:
        raise ValueError("--reading camera needs the intrinsics: --focal and --principal, or camera_focal and "
                         "camera_principal in the input file (or use --reading guessed)")
    f_all = np.asarray(f_all, dtype=np.float64).item() if np.size(f_all) == 1 else f_all     # one for all,
    p_all = np.asarray(p_all, dtype=np.float64).reshape(2) if np.size(p_all) == 2 else p_all    # (1, 2) too
    f, p = np.asarray(f_all, dtype=np.float64), np.asarray(p_all, dtype=np.float64)
    if (f.ndim and f.shape != (frames,)) or p.shape not in ((2,), (frames, 2)):
        return checked_camera(f_all, p_all, frames)                      # raises, naming the shapes
    keep = np.asarray(lifted, dtype=bool)
    f_in, p_in = checked_camera(f_all if f.ndim == 0 else f[keep], p_all if p.shape == (2,) else p[keep],
                                int(keep.sum()))
    focal_out, principal_out = np.full(frames, np.nan), np.full((frames, 2), np.nan)
    focal_out[keep], principal_out[keep] = f_in, p_in
    return focal_out, principal_out


def reading_camera(points3d: np.ndarray, points2d: np.ndarray, visible: np.ndarray,
                   fitted_shape: bool = False) -> dict[str, np.ndarray]:
    """``{"camera_focal": (F,), "camera_principal": (F, 2)}`` (``()`` and ``(2,)`` for one pose): the pinhole that
    the camera reading ``points3d (F, N, 3)`` of ``points2d (F, N, 2)`` went through
    (:func:`lifter.geometry.pinhole_of_reading`). A ``fitted_shape`` reading is not on the pixels' rays: its focal
    length is the visible landmarks' mean depth (the readings' units), and the principal point is fitted to it.
    Frames not lifted (NaN ``points3d``, :func:`lift_file`) get a NaN camera."""
    from lifter.geometry import pinhole_of_reading, visible_centroid

    single = np.ndim(points3d) == 2
    add = (lambda a: a[None]) if single else (lambda a: a)
    pts, vis = add(np.asarray(points3d, dtype=np.float64)), add(np.asarray(visible, dtype=bool))
    lifted = ~np.isnan(pts).any((1, 2))
    focal, principal = np.full(len(pts), np.nan), np.full((len(pts), 2), np.nan)
    if lifted.any():
        pts, vis = pts[lifted], vis[lifted]
        known = visible_centroid(pts[..., 2:], vis)[:, 0] if fitted_shape else None
        try:
            focal[lifted], principal[lifted] = pinhole_of_reading(
                pts, add(np.asarray(points2d, dtype=np.float64))[lifted], vis, known)
        except ValueError as e:
            raise ValueError(renumbered(str(e), np.flatnonzero(lifted))) from None
    return {"camera_focal": focal[0] if single else focal, "camera_principal": principal[0] if single else principal}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifter.lift", description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path, help="landmark file: .npz or .json with points2d (and visible)")
    parser.add_argument("--category", required=True, help="landmark category (human17, hand21, face468, chair)")
    parser.add_argument("--out", type=Path, required=True, help="output .npz")
    parser.add_argument("--reading", choices=READINGS, default="lift",
                        help="lift: orthographic (default); camera: known intrinsics; guessed: camera guessed")
    parser.add_argument("--focal", type=float, default=None, help="focal length, pixels (--reading camera)")
    parser.add_argument("--principal", type=float, nargs=2, default=None, metavar=("CX", "CY"),
                        help="principal point, pixels (--reading camera)")
    parser.add_argument("--fitted-shape", action="store_true",
                        help="faces, with --reading camera or guessed: the shape basis fitted to the pixels as it "
                             "is, not moved onto their rays (keeps the 2D's noise out; no expressions)")
    parser.add_argument("--from", dest="source", choices=sorted(FORMATS), default=None,
                        help="the input holds body keypoints in this detector's order (COCO 17, OpenPose BODY_25, "
                             "MediaPipe Pose 33): mapped to human17 first (needs --category human17)")
    parser.add_argument("--min-score", type=float, default=None, metavar="S",
                        help="with --from and a score column: keypoints scored above S count as detected (default: "
                             "0.5 for mediapipe33's visibilities, as the app; 0 for coco17 and body25)")
    parser.add_argument("--weights", type=Path, default=None, help="lifter weights (default: the bundled ones)")
    parser.add_argument("--device", default=None, help="torch device (default: CUDA when present, else CPU)")
    parser.add_argument("--chunk", type=int, default=None,
                        help="frames per call, the progress bar's step (default: a twentieth of the frames, 64 to "
                             "4096)")
    parser.add_argument("--strict", action="store_true",
                        help="refuse a file with frames of fewer than 3 visible landmarks or all of them at one "
                             "pixel (default: they are written as NaN and named)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.out.suffix != ".npz":
        parser.error(f"--out must end in .npz, got {args.out}")
    if args.out.exists() and not args.force:
        parser.error(f"{args.out} exists; give --force to overwrite it")
    if args.chunk is not None and args.chunk < 1:
        parser.error("--chunk must be at least 1")
    if (args.focal is not None or args.principal is not None) and args.reading != "camera":
        parser.error("--focal and --principal go with --reading camera")
    if args.min_score is not None and not args.source:
        parser.error("--min-score goes with --from (the score column of a detector's keypoints)")
    if args.min_score is not None and not np.isfinite(args.min_score):
        parser.error(f"--min-score must be a finite number, got {args.min_score}")
    if args.out.is_dir():
        parser.error(f"--out {args.out} is a folder: give the .npz file's path")
    blocked = file_in_the_way(args.out.parent)
    if blocked:
        parser.error(f"--out {args.out}: {blocked} is a file, not a folder")
    if args.source and args.category != "human17":
        parser.error(f"--from {args.source} maps body keypoints to human17: give --category human17, "
                     f"not {args.category}")
    from lifter.api import DEFAULT_WEIGHTS, WeightsError, load_lifter

    try:
        arrays = read_landmarks(args.input)
        if args.source:
            arrays = mapped_keypoints(arrays, args.source, args.min_score)
        lifter = load_lifter(args.weights, args.device)
        shape = np.shape(arrays["points2d"])
        chunk = args.chunk or auto_chunk(shape[0] if len(shape) == 3 else 1)
        points3d, visible, camera = lift_file(lifter, arrays, args.category, args.reading, args.focal,
                                              tuple(args.principal) if args.principal else None, chunk,
                                              progress=not args.quiet, fitted_shape=args.fitted_shape,
                                              strict=args.strict)
        extra = {"points2d_human17": arrays["points2d"].astype(np.float32)} if args.source else {}
        if points3d.ndim == 3:
            extra["lifted"] = ~np.isin(np.arange(len(points3d)), camera["not_lifted"])
        pinhole = camera.pop("pinhole", None)
        if args.reading == "camera" and not args.fitted_shape:   # on the given pinhole's rays: stored as given
            extra.update(camera_focal=pinhole[0], camera_principal=pinhole[1])
        elif args.reading != "lift":                   # the pinhole the reading went through, recovered from it
            extra.update(reading_camera(points3d, arrays["points2d"], visible, args.fitted_shape))
    except (ValueError, WeightsError) as e:
        parser.error(str(e))
    except KeyboardInterrupt:
        parser.exit(130, f"{parser.prog}: interrupted; nothing was written\n")
    record = {"command": "python -m lifter.lift " + " ".join(sys.argv[1:] if argv is None else argv),
              "input": str(args.input), "category": args.category, "keypoints_from": args.source, **camera,
              "weights": str(args.weights or DEFAULT_WEIGHTS), "weights_sha256": lifter.record.get("sha256")}
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.out, points3d=points3d, visible=visible, category=np.str_(args.category),
                 reading=np.str_(args.reading), record=np.str_(json.dumps(record)), **extra)
    except OSError as e:
        parser.error(f"cannot write --out {args.out}: {e}")
    what = f"{args.reading} reading{' (the fitted shape)' if args.fitted_shape else ''}"
    print(f"wrote {args.out}: points3d {points3d.shape}, {what} of {args.category}")
    skipped = camera["not_lifted"]
    if skipped:
        shown = ", ".join(map(str, skipped[:10])) + (f", ... ({len(skipped) - 10} more)" if len(skipped) > 10 else "")
        print(f"warning: {len(skipped)} of {len(points3d)} frames have fewer than 3 visible landmarks, or all of "
              f"them at one pixel, and were not lifted (NaN rows; 'lifted' is False): frame"
              f"{'s' * (len(skipped) > 1)} {shown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
