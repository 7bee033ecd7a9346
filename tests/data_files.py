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


def write_hand_data(out: Path, train: int, test: int) -> Path:
    """Synthetic hands (the project's own hand model) rendered with the benchmark cameras into ``out``:
    ``hand21_train.npz`` with ``train`` views and the test files with ``test``; no external data. Returns ``out``."""
    from lifter.data.build import BuildConfig, build

    build(Path("unused"), out, ("hand21",), BuildConfig(hand_train=train, hand_test=test), progress=False,
          check_source=False)
    return out


def load_script(name: str):
    """The module of ``scripts/<name>.py`` (scripts are not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
