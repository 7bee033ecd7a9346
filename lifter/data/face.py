"""Face shapes from the MediaPipe canonical face model (468 vertices, centimetres, +Y up, +Z out of the face).

The benchmark's faces are the template itself with a per-sample variation of proportions: an independent
scale per axis (face width, height and depth), each ``1 + N(0, 0.06)`` clipped to +-15 %, and an overall size
``N(1, 0.06)`` clipped to +-15 % (adult faces vary about that much). Train and test draws come from the same
process with different seeds. Output in millimetres, centred on the template's centroid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lifter.data.obj import read_obj

FACE_TEMPLATE_FILE = Path("mediapipe-face") / "canonical_face_model.obj"
NUM_FACE_LANDMARKS = 468
CM_TO_MM = 10.0


def read_face_template(source: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """The template ``(468, 3)`` in mm (centred) and its triangles ``(898, 3)`` from ``source``'s mediapipe-face/.

    ``source`` may be the data folder or the OBJ file itself.
    """
    path = Path(source)
    if path.is_dir():
        path = path / FACE_TEMPLATE_FILE
    vertices, faces = read_obj(path)
    if len(vertices) != NUM_FACE_LANDMARKS:
        raise ValueError(f"{path}: expected {NUM_FACE_LANDMARKS} vertices (MediaPipe Face Mesh), got {len(vertices)}")
    vertices = vertices * CM_TO_MM
    return vertices - vertices.mean(0), faces


def sample_faces(template: np.ndarray, n: int, rng: np.random.Generator, axis_sigma: float = 0.06,
                 size_sigma: float = 0.06, clip: float = 0.15) -> np.ndarray:
    """``n`` faces ``(n, 468, 3)`` float32: ``template (468, 3)`` with random per-axis and overall scaling."""
    axis = 1.0 + np.clip(rng.normal(0.0, axis_sigma, (n, 1, 3)), -clip, clip)
    size = 1.0 + np.clip(rng.normal(0.0, size_sigma, (n, 1, 1)), -clip, clip)
    return (template[None] * axis * size).astype(np.float32)
