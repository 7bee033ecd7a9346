"""A minimal Wavefront OBJ reader: vertices and triangles (used for the MediaPipe canonical face model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_obj(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """Read vertices and faces of an OBJ file.

    Returns:
        vertices ``(V, 3)`` float64 in the file's order, and faces ``(T, 3)`` int 0-based vertex indices
        (polygons with more than 3 corners are fan-triangulated; ``v/vt/vn`` references use the ``v`` part).
    Raises:
        ValueError: naming the file and line for a malformed ``v`` or ``f`` line or an out-of-range index.
    """
    path = Path(path)
    vertices: list[list[float]] = []
    faces: list[list[int]] = []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            if parts[0] == "v":
                xyz = [float(x) for x in parts[1:4]]
                if len(xyz) != 3:
                    raise ValueError("a vertex needs 3 coordinates")
                vertices.append(xyz)
            elif parts[0] == "f":
                idx = [int(p.split("/")[0]) for p in parts[1:]]
                if len(idx) < 3:
                    raise ValueError("a face needs at least 3 vertices")
                idx = [i - 1 if i > 0 else len(vertices) + i for i in idx]   # 1-based, or negative = relative
                faces.extend([idx[0], idx[k], idx[k + 1]] for k in range(1, len(idx) - 1))
        except ValueError as e:
            raise ValueError(f"{path}:{lineno}: malformed {parts[0]!r} line ({e}): {line.strip()!r}") from None
    v = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if not np.isfinite(v).all():
        raise ValueError(f"{path}: non-finite vertex coordinates")
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise ValueError(f"{path}: a face refers to a vertex outside 1..{len(v)}")
    return v, f
