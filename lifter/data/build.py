"""Build the benchmark's landmark data files from the public sources.

``python -m lifter.data build --source ../shared/data --out data/`` writes, for every category C:

- ``C_train.npz``          training views (the trainer reads only ``points2d`` and ``visible``)
- ``C_test.npz``           test views, clean (every present landmark visible)
- ``C_test_occluded.npz``  the same test views with 20 % of the present landmarks hidden at random
- ``build.json``           the build's configuration and summary

Fields of every ``.npz`` (B views, N landmarks of the category):

| field              | shape       | dtype   | meaning                                                                      |
|--------------------|-------------|---------|------------------------------------------------------------------------------|
| ``points2d``       | (B, N, 2)   | float32 | pixels, x right, y down, 2D noise included; NaN where not visible             |
| ``visible``        | (B, N)      | bool    | present and not occluded                                                     |
| ``present``        | (B, N)      | bool    | the landmark exists on this shape (chairs lack some ids)                     |
| ``points3d``       | (B, N, 3)   | float32 | ground truth, camera frame (x right, y down, z forward), ``units``; NaN where |
|                    |             |         | not present. EVALUATION ONLY (and the 3D-supervised reference model)         |
| ``camera_R``       | (B, 3, 3)   | float32 | world-to-camera rotation (camera = R world + t)                              |
| ``camera_t``       | (B, 3)      | float32 | world-to-camera translation, ``units``                                       |
| ``camera_focal``   | (B,)        | float32 | focal length, px (square pixels)                                             |
| ``camera_principal``| (B, 2)     | float32 | principal point, px                                                          |
| ``camera_angles``  | (B, 3)      | float32 | azimuth, elevation, roll of the camera, degrees                              |
| ``noise_sigma``    | (B,)        | float32 | std of the 2D noise added, px                                                |
| ``shape_index``    | (B,)        | int64   | which 3D shape the view shows (views of one shape share it)                  |
| ``image_size``     | (2,)        | int64   | width, height in px                                                          |
| ``category``       | ()          | str     | registry name                                                                |
| ``split``          | ()          | str     | ``train``, ``test`` or ``test_occluded``                                     |
| ``units``          | ()          | str     | ``mm`` (human17, hand21, face468) or ``shapenet`` (chair: bbox diagonal 1)   |

Sources and splits (DESIGN.md): CMU subjects 01 02 03 05 06 07 train, 08 09 test (120 fps subsampled to 30 fps,
T-pose frames dropped); KeypointNet chairs, ``train`` ids train, ``val`` ids test; ``face468`` from the
MediaPipe canonical face model with per-sample proportions (``lifter.data.face``); ``hand21`` from the
project's synthetic hand model (``lifter.data.hand``) with separate train and test draws.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from lifter.data.cameras import CameraProtocol, Views, hide_landmarks, render_views
from lifter.data.cmu import load_cmu_takes
from lifter.data.face import FACE_TEMPLATE_FILE, read_face_template, sample_faces
from lifter.data.keypointnet import read_chairs, read_splits
from lifter.skeletons import get_category

CATEGORY_NAMES = ("human17", "hand21", "face468", "chair")
SPLIT_FILES = ("train", "test", "test_occluded")


@dataclass
class BuildConfig:
    """What the build makes; defaults are the benchmark's."""

    seed: int = 0                                  # every file's randomness derives from it
    cmu_train_subjects: tuple[str, ...] = ("01", "02", "03", "05", "06", "07")
    cmu_test_subjects: tuple[str, ...] = ("08", "09")
    cmu_stride: int = 4                            # 120 fps -> 30 fps
    human_train_views: int = 4                     # random views per training frame
    human_test_views: int = 1
    chair_train_views: int = 48                    # views per training chair (699 chairs)
    chair_test_views: int = 10                     # views per test chair (100 chairs)
    face_train: int = 10_000                       # face draws (one view each)
    face_test: int = 1_000
    hand_train: int = 40_000                       # synthetic hand draws (one view each)
    hand_test: int = 2_000
    occlusion: float = 0.2                         # fraction hidden in the *_test_occluded files
    protocol: CameraProtocol = field(default_factory=CameraProtocol)


@dataclass
class Shapes:
    """3D shapes of one category and split: ``points (S, N, 3)`` world, +Y up; ``present (S, N)``."""

    points: np.ndarray
    present: np.ndarray
    units: str
    views: int


def _rng(seed: int, category: str, split: str) -> np.random.Generator:
    """An independent generator per (category, split), stable under adding categories."""
    key = [CATEGORY_NAMES.index(category), ("train", "test").index(split)]
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def human_shapes(source: Path, cfg: BuildConfig, split: str, progress: bool) -> Shapes:
    subjects = cfg.cmu_train_subjects if split == "train" else cfg.cmu_test_subjects
    poses, _, _ = load_cmu_takes(source / "cmu-mocap", subjects, stride=cfg.cmu_stride, progress=progress)
    views = cfg.human_train_views if split == "train" else cfg.human_test_views
    return Shapes(poses, np.ones(poses.shape[:2], dtype=bool), "mm", views)


def chair_shapes(source: Path, cfg: BuildConfig, split: str, progress: bool) -> Shapes:
    splits = read_splits(source / "keypointnet" / "splits.json")
    chairs = read_chairs(source / "keypointnet" / "chair.json", splits["train" if split == "train" else "val"])
    views = cfg.chair_train_views if split == "train" else cfg.chair_test_views
    return Shapes(chairs.points3d, chairs.present, "shapenet", views)


def face_shapes(source: Path, cfg: BuildConfig, split: str, progress: bool) -> Shapes:
    template, _ = read_face_template(source)
    n = cfg.face_train if split == "train" else cfg.face_test
    faces = sample_faces(template, n, _rng(cfg.seed + 1, "face468", split))
    return Shapes(faces, np.ones(faces.shape[:2], dtype=bool), "mm", 1)


def hand_shapes(source: Path, cfg: BuildConfig, split: str, progress: bool) -> Shapes:
    # Right hands only: a left hand is a mirrored right hand, which would make the depth sign of a lift
    # undecidable from 2D; the app mirrors detected left hands before lifting and mirrors the result back.
    from lifter.data.hand import sample_hands

    n = cfg.hand_train if split == "train" else cfg.hand_test
    hands, _ = sample_hands(n, _rng(cfg.seed + 1, "hand21", split))
    return Shapes(hands, np.ones(hands.shape[:2], dtype=bool), "mm", 1)


SHAPE_SOURCES: dict[str, Callable[[Path, BuildConfig, str, bool], Shapes]] = {
    "human17": human_shapes, "hand21": hand_shapes, "face468": face_shapes, "chair": chair_shapes,
}


def views_to_arrays(views: Views, visible: np.ndarray, category: str, split: str, units: str,
                    image_size: tuple[int, int]) -> dict[str, np.ndarray]:
    """The npz fields of the data contract for ``views`` with visibility ``visible (B, N)``."""
    points2d = np.where(visible[..., None], views.points2d, np.nan).astype(np.float32)
    return {
        "points2d": points2d, "visible": visible, "present": views.present, "points3d": views.points3d,
        "camera_R": views.R, "camera_t": views.t, "camera_focal": views.focal,
        "camera_principal": views.principal, "camera_angles": views.angles, "noise_sigma": views.noise_sigma,
        "shape_index": views.shape_index.astype(np.int64), "image_size": np.asarray(image_size, dtype=np.int64),
        "category": np.asarray(category), "split": np.asarray(split), "units": np.asarray(units),
    }


def summarise(arrays: dict[str, np.ndarray]) -> dict[str, float | int | str]:
    """Counts and missing-landmark rates of one file's arrays."""
    present, visible = arrays["present"], arrays["visible"]
    return {
        "views": int(len(present)),
        "shapes": int(len(np.unique(arrays["shape_index"]))),
        "landmarks": int(present.shape[1]),
        "absent_rate": float(1.0 - present.mean()),
        "occluded_rate": float((present & ~visible).sum() / max(present.sum(), 1)),
        "missing_rate": float(1.0 - visible.mean()),
    }


#: The download's dataset (``python -m lifter.data download --only NAME``) each category is built from.
SOURCE_DATASETS = {"human17": "cmu-mocap", "face468": "mediapipe-face", "chair": "keypointnet"}


def required_source_paths(cfg: BuildConfig, category: str) -> list[Path]:
    """The paths under the source folder that ``category``'s build reads (none for the synthetic hands)."""
    if category == "human17":
        return [Path("cmu-mocap") / s for s in cfg.cmu_train_subjects + cfg.cmu_test_subjects]
    if category == "face468":
        return [FACE_TEMPLATE_FILE]
    if category == "chair":
        return [Path("keypointnet") / "splits.json", Path("keypointnet") / "chair.json"]
    return []


def check_sources(source: Path, categories: tuple[str, ...], cfg: BuildConfig) -> None:
    """Raise FileNotFoundError naming every path under ``source`` that the ``categories``' builds need and that is
    missing, with the download that fetches each dataset, and ValueError for a chairs' ``splits.json`` that
    :func:`lifter.data.keypointnet.read_splits` refuses; nothing is written before it passes."""
    missing = [(c, p) for c in categories for p in required_source_paths(cfg, c) if not (source / p).exists()]
    if missing:
        datasets = sorted({SOURCE_DATASETS[c] for c, _ in missing})
        raise FileNotFoundError(
            f"{source} lacks what {', '.join(sorted({c for c, _ in missing}))} need(s): "
            f"{', '.join(str(p) for _, p in missing[:6])}{' ...' if len(missing) > 6 else ''} (fetch it with "
            f"`python -m lifter.data download --out {source} --only {' '.join(datasets)}`, or build other "
            f"--categories)")
    if "chair" in categories:
        read_splits(source / "keypointnet" / "splits.json")       # a broken one named before anything is written


def check_source_folder(source: Path, categories: tuple[str, ...], cfg: BuildConfig) -> None:
    """:func:`build`'s checks of ``source`` before anything is written: a folder, holding what the ``categories``
    need (:func:`check_sources`). Raises FileNotFoundError or ValueError naming what is wrong."""
    source = Path(source)
    if not source.is_dir():
        what = "is a file, not a folder" if source.exists() else "does not exist"
        raise FileNotFoundError(f"source folder {source} {what} (expected the layout of ../shared/data, or run "
                                f"`python -m lifter.data download --out {source}`)")
    check_sources(source, categories, cfg)


def build(source: Path, out: Path, categories: tuple[str, ...] = CATEGORY_NAMES,
          cfg: BuildConfig = BuildConfig(), progress: bool = True, check_source: bool = True) -> dict[str, dict]:
    """Write the data files of ``categories`` from ``source`` into ``out``; returns the summary per file.

    ``check_source=False`` skips the checks of ``source`` (``hand21`` needs no source files).

    Raises:
        FileNotFoundError: ``source`` lacks a folder a category needs (the message names it).
        ValueError: an unknown category, or a chairs' ``splits.json`` that cannot be read (named).
    """
    source, out = Path(source), Path(out)
    for c in categories:
        get_category(c)                                             # clear error for an unknown name
    if check_source:
        check_source_folder(source, categories, cfg)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, dict] = {}
    steps = [(c, s) for c in categories for s in ("train", "test")]
    bar = tqdm(steps, desc="build", unit="split", disable=not progress)
    started = time.perf_counter()
    for category, split in bar:
        bar.set_postfix_str(f"{category} {split}")
        shapes = SHAPE_SOURCES[category](source, cfg, split, progress)
        rng = _rng(cfg.seed, category, split)
        views = render_views(shapes.points, shapes.present, rng, shapes.views, protocol=cfg.protocol)
        files = {split: views.present}
        if split == "test":
            files["test_occluded"] = hide_landmarks(views.present, cfg.occlusion, rng)
        for name, visible in files.items():
            arrays = views_to_arrays(views, visible, category, name, shapes.units, cfg.protocol.image_size)
            path = out / f"{category}_{name}.npz"
            partial = out / f".{path.name}.partial.npz"     # whole files only: an interruption leaves the old one
            try:
                np.savez(partial, **arrays)
                os.replace(partial, path)
            finally:
                partial.unlink(missing_ok=True)
            summary[path.name] = {"category": category, "split": name, **summarise(arrays)}
        # recorded as each split is written: an interrupted build leaves build.json true to the files there
        record = {"source": str(source), "config": asdict(cfg),
                  "seconds": round(time.perf_counter() - started, 1), "files": summary}
        (out / "build.json").write_text(json.dumps(merged_record(out / "build.json", record), indent=2) + "\n")
    return summary


def merged_record(path: Path, record: dict) -> dict:
    """``record`` (a build's ``build.json``) with the files of an earlier build in the same folder that this one did
    not rewrite kept: a build of some categories into a folder of others leaves every file there recorded. A kept
    file made from another source or config carries them (``built_with``: ``{"source", "config"}``)."""
    files = dict(record["files"])
    if path.is_file():
        try:
            before = json.loads(path.read_text())
        except ValueError:
            before = {}
        earlier = {"source": before.get("source"), "config": before.get("config")}
        same = earlier == {"source": record["source"], "config": record["config"]}
        for name, info in (before.get("files") or {}).items():
            if name not in files and (path.parent / name).exists():
                files[name] = info if same or "built_with" in info else {**info, "built_with": earlier}
    return {**record, "files": files}


def format_summary(summary: dict[str, dict]) -> str:
    """A text table of :func:`build`'s summary."""
    head = f"{'file':<28} {'views':>8} {'shapes':>7} {'N':>4} {'absent':>7} {'occluded':>9} {'missing':>8}"
    lines = [head, "-" * len(head)]
    for name, s in summary.items():
        lines.append(f"{name:<28} {s['views']:>8} {s['shapes']:>7} {s['landmarks']:>4} "
                     f"{s['absent_rate']:>7.1%} {s['occluded_rate']:>9.1%} {s['missing_rate']:>8.1%}")
    return "\n".join(lines)
