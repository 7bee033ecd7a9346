"""Reader of KeypointNet chair annotations (``chair.json`` + ``splits.json``, see ../shared/data/README.md).

Each chair has a subset of the 21 chair ``semantic_id`` values (0..20); the reader places every keypoint at the
index of its ``semantic_id`` (never its list position) and pads the rest with NaN and a False mask.
Coordinates are ShapeNetCore.v2 normalised model space (bounding-box diagonal 1), Y up, chairs facing -Z.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHAIR_CLASS_ID = "03001627"
NUM_CHAIR_IDS = 21


@dataclass
class ChairSet:
    """Chairs with keypoints indexed by semantic id.

    Attributes:
        model_ids: length-C list of ShapeNet model ids.
        points3d: ``(C, 21, 3)`` float32, NaN where the chair lacks the id.
        present: ``(C, 21)`` bool.
    """

    model_ids: list[str]
    points3d: np.ndarray
    present: np.ndarray


def _fail(path: Path, what: str) -> ValueError:
    return ValueError(f"{path}: {what}")


def read_chairs(path: Path | str, model_ids: list[str] | None = None) -> ChairSet:
    """Read ``chair.json``; keep only ``model_ids`` (in that order) when given.

    Raises:
        ValueError: malformed records (naming the file and the record), duplicate semantic ids on one chair,
            ids outside 0..20, or requested model ids that the file lacks.
    """
    path = Path(path)
    try:
        records = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise _fail(path, f"not valid JSON ({e})") from None
    if not isinstance(records, list):
        raise _fail(path, "expected a list of chair records")
    by_id: dict[str, dict] = {}
    for k, rec in enumerate(records):
        if not isinstance(rec, dict) or "model_id" not in rec or "keypoints" not in rec:
            raise _fail(path, f"record {k} lacks 'model_id' or 'keypoints'")
        by_id[rec["model_id"]] = rec
    wanted = list(by_id) if model_ids is None else list(model_ids)
    lacking = [m for m in wanted if m not in by_id]
    if lacking:
        raise _fail(path, f"{len(lacking)} requested chairs are not in the file, e.g. {lacking[:3]}")

    points = np.full((len(wanted), NUM_CHAIR_IDS, 3), np.nan, dtype=np.float32)
    present = np.zeros((len(wanted), NUM_CHAIR_IDS), dtype=bool)
    for c, mid in enumerate(wanted):
        for kp in by_id[mid]["keypoints"]:
            try:
                sid = int(kp["semantic_id"])
                xyz = np.asarray(kp["xyz"], dtype=np.float32)
            except (KeyError, TypeError, ValueError):
                raise _fail(path, f"chair {mid}: keypoint without a valid 'semantic_id' and 'xyz'") from None
            if not 0 <= sid < NUM_CHAIR_IDS or xyz.shape != (3,) or not np.isfinite(xyz).all():
                raise _fail(path, f"chair {mid}: bad keypoint (semantic_id {sid}, xyz {kp['xyz']})")
            if present[c, sid]:
                raise _fail(path, f"chair {mid}: semantic_id {sid} appears twice")
            points[c, sid] = xyz
            present[c, sid] = True
    return ChairSet(model_ids=wanted, points3d=points, present=present)


def read_splits(path: Path | str) -> dict[str, list[str]]:
    """Read ``splits.json``: ``{"train": [model ids], "val": [model ids]}``.

    Raises:
        ValueError: naming the file: not JSON, not that layout, a split missing, a model id in both splits.
    """
    path = Path(path)
    try:
        splits = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise _fail(path, f"not valid JSON ({e})") from None
    if not isinstance(splits, dict) or not all(isinstance(v, list) for v in splits.values()):
        raise _fail(path, "expected {split name: [model ids]}")
    missing = [k for k in ("train", "val") if k not in splits]
    if missing:
        raise _fail(path, f"no {' or '.join(missing)} split (it has: {', '.join(map(repr, splits)) or 'none'})")
    shared = sorted(set(map(str, splits["train"])) & set(map(str, splits["val"])))
    if shared:
        raise _fail(path, f"{len(shared)} model id(s) in both train and val, e.g. {shared[:3]}: the test chairs "
                          f"would be trained on")
    return splits
