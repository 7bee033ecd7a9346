"""Small benchmark data files the tests write themselves (the layout of ``lifter.data build``'s test files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_test_files(out: Path, category: str, shapes: np.ndarray, present: np.ndarray, seed: int) -> None:
    from lifter.data.build import views_to_arrays
    from lifter.data.cameras import CameraProtocol, hide_landmarks, render_views

    rng = np.random.default_rng(seed)
    views = render_views(shapes, present, rng)
    units = "shapenet" if category == "chair" else "mm"
    for name, visible in (("test", views.present), ("test_occluded", hide_landmarks(views.present, 0.2, rng))):
        arrays = views_to_arrays(views, visible, category, name, units, CameraProtocol().image_size)
        np.savez(out / f"{category}_{name}.npz", **arrays)
