"""Benchmark samples with ground truth, their errors, and the test split's summary.

Samples come from the built test files ``data/{category}_test[_occluded].npz`` when they exist (fields in
``lifter/data/build.py``); otherwise from samples the app makes itself with the benchmark's own code: synthetic
hands (``lifter.data.hand.sample_hands``) and, when the MediaPipe canonical face is available
(``../shared/data/mediapipe-face``), faces (``lifter.data.face.sample_faces``), both seen by the protocol's
random cameras (``lifter.data.cameras.render_views``, 20 % occlusion for the occluded setting). Sample ``i`` of
a made-up set is drawn from seed ``i``: the same index shows the same sample.

Errors use ``lifter.evaluate.score`` (similarity Procrustes; strict and flip-best; mm for human17/hand21,
% of the ground truth's RMS radius for face468/chair).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from app.config import CONFIG
from app.figures import GT_COLOUR, PRED_COLOUR, Layer, Panel, error_bar_figure, points_image, views_figure
from app.io import write_exports
from lifter.evaluate import METRIC_UNITS, SHIPPED, SHORT_LABELS, score, short_method
from lifter.geometry import similarity_procrustes
from lifter.skeletons import categories, get_category
from lifter.views import TestSet

SETTING_FILES = {"clean": "test", "occluded": "test_occluded"}
SYNTHETIC_COUNT = 1000


@dataclass
class Source:
    category: str
    setting: str
    count: int
    description: str
    path: Path | None = None


@dataclass
class SampleView:
    """One test view with ground truth: arrays for a single view (N landmarks)."""

    category: str
    setting: str
    index: int
    points2d: np.ndarray        # (N, 2) px, NaN where not visible
    visible: np.ndarray         # (N,)
    present: np.ndarray         # (N,)
    points3d: np.ndarray        # (N, 3) camera-frame ground truth, in ``units``
    focal: float
    principal: np.ndarray       # (2,)
    image_size: tuple[int, int]
    source: str
    absrel: float = 0.0
    predictions: dict | None = None   # method -> (N, 3)
    scores: dict | None = None        # method -> score dict
    messages: list | None = None
    units: str = "mm"                 # the ground truth's (the data file's ``units``: mm, or shapenet for chairs)


def _data_file(category: str, setting: str) -> Path:
    return CONFIG.data_dir / f"{category}_{SETTING_FILES[setting]}.npz"


@lru_cache(maxsize=16)
def _load_npz(path: str, mtime: float) -> dict:
    with np.load(path) as f:
        keys = ("points2d", "visible", "present", "points3d", "camera_focal", "camera_principal", "image_size")
        return {**{k: f[k] for k in keys}, "units": str(f["units"]) if "units" in f.files else "mm"}


def face_template() -> np.ndarray | None:
    """The MediaPipe canonical face (468, 3) mm, or None when it is not on this machine."""
    if not CONFIG.face_template.is_file():
        return None
    from lifter.data.face import read_face_template

    return read_face_template(CONFIG.face_template)[0]


def sample_source(category: str, setting: str) -> Source:
    """Where samples of ``category`` / ``setting`` come from (the built data, or made here)."""
    path = _data_file(category, setting)
    if path.is_file():
        data = _load_npz(str(path), path.stat().st_mtime)
        return Source(category, setting, len(data["points2d"]),
                      f"Samples: `{path.relative_to(CONFIG.data_dir.parent)}` ({len(data['points2d'])} test views).",
                      path)
    if category == "hand21":
        return Source(category, setting, SYNTHETIC_COUNT, "Samples: synthetic hands made here (the project's hand "
                      "model, benchmark cameras); build `data/` for the benchmark's own test split.")
    if category == "face468" and face_template() is not None:
        return Source(category, setting, SYNTHETIC_COUNT, "Samples: the MediaPipe canonical face with random "
                      "proportions under random benchmark views; build `data/` for the test split.")
    raise ValueError(f"No {category} test samples here: build them with `python -m lifter.data build --source "
                     f"../shared/data --out data/`.")


def available_categories() -> list[str]:
    out = []
    for c in categories():
        try:
            sample_source(c, "clean")
            out.append(c)
        except ValueError:
            pass
    return out


def load_sample(category: str, setting: str, index: int) -> SampleView:
    """Test view ``index`` of ``category`` in ``setting`` (``clean`` / ``occluded``)."""
    if setting not in SETTING_FILES:
        raise ValueError(f"setting must be clean or occluded, got {setting!r}")
    src = sample_source(category, setting)
    if not 0 <= index < src.count:
        raise ValueError(f"sample index must be 0..{src.count - 1}, got {index}")
    if src.path is not None:
        d = _load_npz(str(src.path), src.path.stat().st_mtime)
        size = tuple(int(v) for v in d["image_size"])
        return SampleView(category, setting, index, d["points2d"][index].astype(np.float64), d["visible"][index],
                          d["present"][index], d["points3d"][index].astype(np.float64),
                          float(d["camera_focal"][index]), d["camera_principal"][index].astype(np.float64), size,
                          src.description, units=d["units"])
    from lifter.data.cameras import render_views

    rng = np.random.default_rng(10_000 + index)
    if category == "hand21":
        from lifter.data.hand import sample_hands

        shapes, _ = sample_hands(1, rng)
    else:
        from lifter.data.face import sample_faces

        shapes = sample_faces(face_template(), 1, rng)
    v = render_views(shapes, None, rng, occlusion=0.2 if setting == "occluded" else 0.0)
    return SampleView(category, setting, index, v.points2d[0].astype(np.float64), v.visible[0], v.present[0],
                      v.points3d[0].astype(np.float64), float(v.focal[0]), v.principal[0].astype(np.float64),
                      (1000, 1000), src.description)


def evaluate_sample(category: str, setting: str, index: int, absrel: float = 0.0) -> SampleView:
    """Lift one sample with the lifter (as lift() reads it, read through the sample camera's intrinsics and through
    the camera guessed from the landmarks; for a category with a shape basis, faces, also the basis fitted through
    the intrinsics as it is, ``fitted_shape=True``) and (when available) the depth baseline; score each."""
    from app.pipeline import depth_baseline, get_lifter, lift_points

    s = load_sample(category, setting, index)
    s.absrel = absrel
    lift = lift_points(s.points2d, category, s.visible)
    read = get_lifter().read_with_camera        # lift_with_camera's readings of that lift, without lifting again
    preds = {"lifter": lift,
             # the same lift read through the sample camera's known intrinsics (lift_with_camera)
             "lifter+intrinsics": read(lift, s.points2d, category, s.focal, s.principal, s.visible).astype(np.float64),
             # ... and through the camera lift_with_camera guesses from the landmarks when none is given
             "lifter+guessed": read(lift, s.points2d, category, visible=s.visible).astype(np.float64)}
    if category in get_lifter().bases:          # faces: the fitted shape itself (lifter.evaluate's row of it)
        preds["lifter+fitted"] = read(lift, s.points2d, category, s.focal, s.principal, s.visible,
                                      fitted_shape=True).astype(np.float64)
    messages = []
    status = depth_baseline()
    if status.module is None:
        messages.append(status.message)
    elif category == "chair":
        messages.append("Depth baseline: not for chairs (no surface to render depth from).")
    else:
        try:
            from lifter.baselines.benchmark import DepthBenchmarkConfig

            protocol = DepthBenchmarkConfig()       # read as python -m lifter.evaluate's depth rows read it
            bp = status.module.depth_lift(category, s.points2d, s.visible, s.points3d, s.present, s.focal,
                                          s.principal, s.image_size, absrel=absrel,
                                          rng=np.random.default_rng(index), window=protocol.window,
                                          statistic=protocol.statistic, noise=protocol.noise,
                                          render_scale=protocol.render_scale)
            pts = _fill_invalid(bp, s)
            if np.isfinite(pts).all(-1).sum() >= 3:
                preds[f"depth baseline (AbsRel {absrel:.2f})"] = pts
            else:
                messages.append("Depth baseline: fewer than 3 landmarks could be back-projected.")
        except Exception as e:  # noqa: BLE001
            messages.append(f"Depth baseline failed: {e}")
    test = TestSet(category, setting, s.points2d[None], s.visible[None], s.present[None], s.points3d[None])
    s.predictions = preds
    with warnings.catch_warnings():       # absent landmarks (chairs) give empty per-landmark means: NaN is right
        warnings.simplefilter("ignore", RuntimeWarning)
        s.scores = {k: score(p[None], test) for k, p in preds.items()}
    s.messages = messages
    return s


def _fill_invalid(bp, s: SampleView) -> np.ndarray:
    """The depth baseline's full prediction ``(N, 3)`` scored like ``python -m lifter.evaluate`` does: landmarks
    without depth are filled by ``lifter.baselines.lift.fill_invalid`` (the benchmark's documented rule)."""
    try:
        from lifter.baselines.lift import fill_invalid
    except ImportError:
        return np.asarray(bp.points3d, dtype=np.float64)
    batched = type(bp)(np.asarray(bp.points3d)[None], np.asarray(bp.valid)[None], np.asarray(bp.depth)[None])
    k = np.array([[s.focal, s.focal, s.principal[0], s.principal[1]]])
    return np.asarray(fill_invalid(batched, s.points2d[None], k, s.visible[None])[0], dtype=np.float64)


def aligned(pred: np.ndarray, gt: np.ndarray, present: np.ndarray) -> np.ndarray:
    """``pred (N, 3)`` after similarity Procrustes to ``gt`` over the present, finite landmarks."""
    mask = present & np.isfinite(pred).all(-1)
    return similarity_procrustes(np.nan_to_num(pred)[None], np.nan_to_num(gt)[None], mask[None])[0]


ERROR_COLUMNS = ("method", "strict", "flip-best", "units", "mirror better")     # sample_outputs' error rows
SUMMARY_COLUMNS = ("method", "setting", "strict", "flip-best", "units", "mirrored %")    # summary_for's rows
DECIMALS = {"strict": 2, "flip-best": 2, "mirrored %": 1}      # digits the tables show of those columns' figures


def sample_outputs(s: SampleView) -> tuple:
    """``(2D image, 3D figure, error table rows, per-landmark figure, json path, csv path)`` for the UI."""
    cat = get_category(s.category)
    units = METRIC_UNITS[s.category]
    image = points_image(s.points2d, s.visible, s.category, s.image_size)
    panels = []
    for label, pred in s.predictions.items():
        a = aligned(pred, s.points3d, s.present)
        err = np.asarray([np.nan if v is None else v for v in s.scores[label]["per_landmark"]])
        panels.append(Panel(f"{label}: {s.scores[label]['strict']:.1f} {units}",
                            [Layer(np.where(s.present[:, None], s.points3d, np.nan), "ground truth", GT_COLOUR),
                             Layer(np.where(s.present[:, None], a, np.nan), f"{label} (aligned)", PRED_COLOUR,
                                   marker_values=err, values_label=units)]))      # landmarks the subject lacks: none
    if not any(k.startswith("depth") for k in s.predictions):     # why there is none (chairs, no module, ...)
        panels.append(Panel("Depth baseline", message=" ".join(s.messages or []) or "Depth baseline: not run."))
    fig = views_figure(panels, s.category, height=440)
    rows = [[k, round(v["strict"], 2), round(v["flip_best"], 2), units, "yes" if v["mirrored_share"] else "no"]
            for k, v in s.scores.items()]
    per = {k: np.asarray([np.nan if x is None else x for x in v["per_landmark"]]) for k, v in s.scores.items()}
    names = cat.landmarks if cat.num_landmarks <= 30 else tuple(map(str, range(cat.num_landmarks)))
    bars = error_bar_figure(per, names, units)
    record = {"category": s.category, "setting": s.setting, "sample": s.index, "source": s.source,
              "landmarks": list(cat.landmarks), "units": units, "points2d": s.points2d, "visible": s.visible,
              "present": s.present, "points3d_ground_truth": s.points3d,
              **{f"points3d_{k.split(' ')[0]}": v for k, v in s.predictions.items()},
              "errors": {k.split(" ")[0]: {"strict": v["strict"], "flip_best": v["flip_best"]}
                         for k, v in s.scores.items()},
              "per_landmark_error": {k.split(" ")[0]: v["per_landmark"] for k, v in s.scores.items()},
              "depth_absrel": s.absrel if any(k.startswith("depth") for k in s.predictions) else None,
              # the lifter's readings are in the input's pixel units (lift(): x, y the pixels; the camera readings:
              # camera frame, depths in focal-length pixels); the ground truth and the depth baseline (rendered from
              # it) in the data file's units
              "column_units": {"points2d": "px", "ground_truth": s.units, "depth": s.units, "error": units,
                               **{k: "px" for k in s.predictions if k.startswith("lifter")}}}
    json_path, csv_path = write_exports(record, list(cat.landmarks), stem=f"{s.category}_{s.setting}_{s.index}")
    return image, fig, rows, bars, json_path, csv_path


def _rounded(x: float | None, digits: int, factor: float = 1.0) -> float | None:
    """``factor * x`` to ``digits`` decimals, None kept (a row whose method does not apply, e.g. depth-based lifting
    of chairs, which have no surface)."""
    return None if x is None else round(factor * x, digits)


def summary_for(category: str) -> tuple[list[list], str | None, str]:
    """The evaluate command's summary for ``category``: ``(table rows, chart png path or None, note)``. The shipped
    lifter's long label is shortened to ``lifter (shipped)`` in the rows (its variants keep their suffixes, so the
    rows stay apart in a narrow table) and given in full in the note."""
    path = CONFIG.results_dir / "evaluate.json"
    if not path.is_file():
        return [], None, ("No benchmark results yet: run `python -m lifter.evaluate --data data/ --out results/` "
                          "to fill this table.")
    try:
        rows = json.loads(path.read_text())["results"]
    except (ValueError, KeyError, TypeError) as e:
        return [], None, f"`{path}` could not be read ({e}); run `python -m lifter.evaluate` again."
    table = [[short_method(str(r.get("method"))), r.get("setting"), _rounded(r["strict"], 2),
              _rounded(r.get("flip_best"), 2), r.get("units"), _rounded(r.get("mirrored_share", 0.0), 1, 100)]
             for r in rows if r.get("category") == category and "strict" in r]   # None: not applicable
    png = CONFIG.results_dir / "depth_vs_noise.png"
    html = CONFIG.results_dir / "depth_vs_noise.html"
    note = f"From `{path.relative_to(CONFIG.results_dir.parent)}`; {SHORT_LABELS[SHIPPED]}: {SHIPPED}."
    if html.is_file():
        note += f" Interactive chart: `{html.relative_to(CONFIG.results_dir.parent)}`."
    if not png.is_file():
        note += " The error-vs-depth-noise chart appears here once `results/depth_vs_noise.png` exists " \
                "(run `python -m lifter.evaluate`)."
    return table, (str(png) if png.is_file() else None), note
