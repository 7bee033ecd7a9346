"""The app's settings in one place (one field, one comment)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lifter.keypoint_formats import MEDIAPIPE_MIN_VISIBILITY

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class AppConfig:
    """Limits, paths and drawing constants of the app."""

    max_side: int = 4096                  # larger images are downscaled to this before detection (px)
    min_side: int = 32                    # smaller images are refused: nothing can be detected in them (px)
    max_pixels: int = 80_000_000          # refuse images with more pixels than this (decompression bombs)
    display_side: int = 1024              # the annotated image shown in the page is at most this big (px)
    select_radius: float = 0.04           # a click selects a landmark within this fraction of the shown diagonal
    zoom_margin: float = 0.15             # Zoom: the landmarks' box grown by this fraction of its longer side
    focal_factor: float = 1.2             # assumed focal length of a photo: focal_factor * max(W, H) px
    undo_depth: int = 100                 # edits kept for undo
    min_visibility: float = MEDIAPIPE_MIN_VISIBILITY   # MediaPipe Pose landmarks below it count as missing
    examples_dir: Path = REPO / "assets" / "examples"
    data_dir: Path = REPO / "data"        # built benchmark files (python -m lifter.data build)
    results_dir: Path = REPO / "results"  # python -m lifter.evaluate output
    face_template: Path = REPO.parent / "shared" / "data" / "mediapipe-face" / "canonical_face_model.obj"


CONFIG = AppConfig()

# The UI's detection modes and the category each one gives.
MODES: dict[str, str] = {"Body": "human17", "Hand": "hand21", "Face": "face468"}
MANUAL = "Manual"
