"""Small benchmark data files the tests write themselves (the layout of ``lifter.data build``'s test files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def unit_shape(shape: np.ndarray) -> np.ndarray:
    """``shape (..., N, 3)`` centred, of unit RMS radius (each shape of a batch alone)."""
    centred = shape - shape.mean(-2, keepdims=True)
    return centred / np.sqrt((centred ** 2).sum(-1).mean(-1))[..., None, None]


def proportions_of(shape: np.ndarray):
    """The exact bone proportions (:class:`lifter.bone_lengths.BoneProportions`) of one hand ``(21, 3)``."""
    from lifter.bone_lengths import BoneProportions, category_edges, edge_lengths

    edges = category_edges("hand21")
    lengths = edge_lengths(shape[None], edges)[0]
    return BoneProportions(edges, lengths / lengths.sum(), np.zeros(len(edges)))


def face_input(frames: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Perspective views of the bundled face basis's mean shape (a face, 468 landmarks): ``(points2d (F, N, 2),
    camera-frame points (F, N, 3), focal, principal (2,))``."""
    from lifter.geometry import rotation_x, rotation_y
    from lifter.shape_basis import DEFAULT_BASES, load_bases

    rng = np.random.default_rng(seed)
    face = load_bases(DEFAULT_BASES)["face468"].mean * np.array([1.0, -1.0, -1.0])      # y down, facing the camera
    R = rotation_y(rng.uniform(-0.6, 0.6, frames)) @ rotation_x(rng.uniform(-0.3, 0.3, frames))
    cam = np.einsum("fij,nj->fni", R, face) + np.array([0.0, 0.0, 6.0])
    focal, principal = 1200.0, np.array([500.0, 500.0])
    return focal * cam[..., :2] / cam[..., 2:] + principal, cam, focal, principal


def save_split(out: Path, category: str, split: str, views, visible: np.ndarray) -> None:
    """``out/<category>_<split>.npz`` of rendered ``views`` (:class:`lifter.data.cameras.Views`) with ``visible
    (B, N)``, in the category's registry units."""
    from lifter.data.build import views_to_arrays
    from lifter.data.cameras import CameraProtocol
    from lifter.skeletons import get_category

    arrays = views_to_arrays(views, visible, category, split, get_category(category).units,
                             CameraProtocol().image_size)
    np.savez(out / f"{category}_{split}.npz", **arrays)


def write_test_files(out: Path, category: str, shapes: np.ndarray, present: np.ndarray, seed: int) -> None:
    from lifter.data.cameras import hide_landmarks, render_views

    rng = np.random.default_rng(seed)
    views = render_views(shapes, present, rng)
    for name, visible in (("test", views.present), ("test_occluded", hide_landmarks(views.present, 0.2, rng))):
        save_split(out, category, name, views, visible)


def chair_shapes(n: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` symmetric chairs (seat, backrest, legs or a five-foot swivel base numbered counter-clockwise):
    ``(shapes (n, 21, 3) NaN where absent, present (n, 21))``."""
    rng = np.random.default_rng(seed)
    shapes = np.full((n, 21, 3), np.nan, dtype=np.float32)
    present = np.zeros((n, 21), bool)
    for c in range(n):
        w, d, h = rng.uniform(0.18, 0.25), rng.uniform(0.18, 0.25), rng.uniform(0.2, 0.3)
        pts = {0: (w, h + 0.3, d), 1: (-w, h + 0.3, d), 2: (w, h, d), 3: (-w, h, d), 4: (w, h, -d), 5: (-w, h, -d)}
        if c % 2:
            pts.update({15: (0, h - 0.05, 0), 16: (0, 0.05, 0)})
            phase = rng.uniform(0, 2 * np.pi)
            for k in range(5):
                a = phase + 2 * np.pi * k / 5
                pts[10 + k] = (0.25 * np.cos(a), 0.0, 0.25 * np.sin(a))
        else:
            pts.update({17: (w, 0, -d), 18: (w, 0, d), 19: (-w, 0, d), 20: (-w, 0, -d)})
        for i, p in pts.items():
            shapes[c, i], present[c, i] = p, True
    return shapes, present


def write_chair_data(out: Path) -> Path:
    """Test files of twelve symmetric chairs (:func:`chair_shapes`) in ``out``; returns ``out``."""
    write_test_files(out, "chair", *chair_shapes(), seed=1)
    return out


def write_train_file(out: Path, category: str, shapes: np.ndarray, present: np.ndarray,
                     rng: np.random.Generator) -> None:
    """``out/<category>_train.npz``: one benchmark-camera view of each shape ``(S, N, 3)`` (``present (S, N)``),
    the cameras drawn from ``rng``."""
    from lifter.data.cameras import render_views

    views = render_views(shapes, present, rng)
    save_split(out, category, "train", views, views.present)


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


def write_face_data(out: Path, train: int, test: int) -> Path:
    """Faces of varied proportions (the bundled face basis's mean shape, in millimetres, stretched per face along
    each axis by up to 8 %) rendered with the benchmark cameras into ``out``: ``face468_train.npz`` with ``train``
    views and the test files with ``test``; no external data. Returns ``out``."""
    from lifter.shape_basis import DEFAULT_BASES, load_bases

    rng = np.random.default_rng(2)
    face = load_bases(DEFAULT_BASES)["face468"].mean * 60.0                  # unit RMS radius -> about 60 mm
    shapes = (face * rng.uniform(0.92, 1.08, size=(train + test, 1, 3))).astype(np.float32)
    present = np.ones(shapes.shape[:2], bool)
    write_test_files(out, "face468", shapes[train:], present[train:], seed=3)
    write_train_file(out, "face468", shapes[:train], present[:train], rng)
    return out


def write_check_data(out: Path, faces: int) -> Path:
    """The check scripts' small test set in ``out``: chairs (:func:`write_chair_data`), 24 test hands and
    ``faces`` test faces (no training faces)."""
    write_chair_data(out)
    write_hand_data(out, train=8, test=24)
    write_face_data(out, train=0, test=faces)
    return out


def body_shapes(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` stick figures ``(n, 17, 3)`` in millimetres in the Human3.6M joint order, limbs jittered."""
    base = np.array([[0, 0, 0], [-130, 0, 0], [-130, -450, 40], [-130, -900, 0], [130, 0, 0], [130, -450, 40],
                     [130, -900, 0], [0, 250, 0], [0, 500, 0], [0, 600, 20], [0, 700, 0], [150, 500, 0],
                     [400, 400, 0], [600, 300, 80], [-150, 500, 0], [-400, 400, 0], [-600, 300, 80]], float)
    return (base + rng.normal(0, 40, (n, 17, 3))).astype(np.float32)


def write_all_categories(out: Path) -> Path:
    """Small training files of all four categories in ``out`` (64 hands, 16 faces, 24 chairs, 64 bodies; hand and
    face test files too): what a recorded recipe's command, which trains every category, needs to run."""
    write_hand_data(out, train=64, test=4)
    write_face_data(out, train=16, test=2)
    rng = np.random.default_rng(5)
    write_train_file(out, "chair", *chair_shapes(24, seed=4), rng)
    write_train_file(out, "human17", body_shapes(64, rng), np.ones((64, 17), bool), rng)
    return out


def interrupted_on_call(function, n: int):
    """``function`` wrapped to raise KeyboardInterrupt (a Ctrl-C) on its ``n``-th call instead of running; the
    calls before run it as they are."""
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return function(*args, **kwargs)

    return wrapped
