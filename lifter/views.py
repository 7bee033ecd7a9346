"""The views the benchmark and the check scripts measure on: the built test files as :class:`TestSet` (2D input and
3D ground truth, the ground truth read to score only), training views drawn at random, and the command-line
options (``--data``, ``--weights``, ``--categories``, ``--views``, ``--count``, ``--seed``, ``--hide``) that the
check scripts in ``scripts/`` share.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

CATEGORY_ORDER = ("human17", "hand21", "face468", "chair")
SETTINGS = {"clean": "test", "occluded": "test_occluded"}


@dataclass
class TestSet:
    """One test file: ``points2d (B, N, 2)``, ``visible (B, N)``, ``present (B, N)``, ``points3d (B, N, 3)``."""

    __test__ = False  # not a pytest test class, despite the name

    category: str
    setting: str
    points2d: np.ndarray
    visible: np.ndarray
    present: np.ndarray
    points3d: np.ndarray
    focal: np.ndarray | None = None       # (B,) camera focal length, pixels (oracle references only)
    principal: np.ndarray | None = None   # (B, 2) principal point, pixels

    def select(self, index: np.ndarray) -> TestSet:
        """The views ``index`` of this set: ``(K,)`` row indices or a ``(B,)`` boolean mask."""
        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[index]
        return TestSet(self.category, self.setting, self.points2d[index], self.visible[index], self.present[index],
                       self.points3d[index], pick(self.focal), pick(self.principal))

    def hide(self, fraction: float, rng: np.random.Generator) -> None:
        """Hide ``fraction`` of each view's present landmarks at random, drawn from ``rng``, as the occluded test
        files do (:func:`lifter.data.cameras.hide_landmarks`): ``visible`` loses them, ``points2d`` holds NaN."""
        from lifter.data.cameras import hide_landmarks

        self.visible = hide_landmarks(self.present, fraction, rng)
        self.points2d = np.where(self.visible[..., None], self.points2d, np.nan)


class DataFileError(ValueError):
    """A built data file that cannot be read as its category's (not an .npz, another category, arrays missing or of
    the wrong shape, no poses); the message names the file."""


def read_data_file(path: Path, category: str, keys: tuple[str, ...], optional: tuple[str, ...] = ()
                   ) -> dict[str, np.ndarray]:
    """The arrays ``keys`` (and those of ``optional`` it holds) of the built data file ``path`` of ``category``,
    checked: ``points2d (M, N, 2)`` with M >= 1 and the category's N, ``visible`` / ``present`` ``(M, N)`` bool
    masks (0 / 1 whole numbers are returned as bool) and ``points3d (M, N, 3)`` where read, the file's
    ``category``, and, where the mask is read too, finite ``points2d`` wherever ``visible`` and finite ``points3d``
    wherever ``present``. Raises :class:`DataFileError` naming the file."""
    from lifter.skeletons import get_category

    n = get_category(category).num_landmarks
    try:
        with np.load(path) as f:
            missing = [k for k in ("category",) + keys if k not in f.files]
            if missing:
                raise DataFileError(f"{path} has no {', '.join(missing)} (its arrays: {', '.join(f.files)}): not a "
                                    f"data file of python -m lifter.data build")
            if str(f["category"]) != category:
                raise DataFileError(f"{path}: holds category {f['category']}, expected {category}")
            arrays = {k: f[k] for k in keys + tuple(k for k in optional if k in f.files)}
    except DataFileError:
        raise
    except Exception as e:  # noqa: BLE001  (zipfile, pickle and OS errors of a damaged or foreign file)
        raise DataFileError(f"{path} cannot be read as a data file ({type(e).__name__}: {e}); rebuild it with "
                            f"python -m lifter.data build") from None
    points = arrays.get("points2d")
    if points is not None:
        if points.ndim != 3 or points.shape[1:] != (n, 2):
            raise DataFileError(f"{path}: points2d has shape {points.shape}; {category} needs (M, {n}, 2)")
        if len(points) == 0:
            raise DataFileError(f"{path} holds no poses")
        for k, tail in (("visible", ()), ("present", ()), ("points3d", (3,))):
            if k in arrays and arrays[k].shape != points.shape[:2] + tail:
                raise DataFileError(f"{path}: {k} has shape {arrays[k].shape}, points2d {points.shape}")
    for k in ("visible", "present"):
        if k in arrays:
            arrays[k] = _mask(arrays[k], path, k)
    for k, mask in (("points2d", "visible"), ("points3d", "present")):
        if k in arrays and mask in arrays:
            bad = int((~np.isfinite(arrays[k]).all(-1) & arrays[mask]).sum())
            if bad:
                raise DataFileError(f"{path}: {bad} {mask} landmark(s) with non-finite {k} (NaN or inf belongs "
                                    f"only where {mask} is False)")
    return arrays


def _mask(a: np.ndarray, path: Path, name: str) -> np.ndarray:
    """``a`` as a bool mask: bool, or whole numbers that are all 0 or 1; else :class:`DataFileError` (a float
    array of confidences, say, is not a mask)."""
    if a.dtype == bool:
        return a
    if np.issubdtype(a.dtype, np.integer) and np.isin(a, (0, 1)).all():
        return a.astype(bool)
    raise DataFileError(f"{path}: {name} must be a bool mask (or 0 / 1 whole numbers), got {a.dtype}"
                        f"{' with values other than 0 and 1' if np.issubdtype(a.dtype, np.integer) else ''}")


def read_views(path: Path, category: str, setting: str, index: np.ndarray | None = None) -> TestSet:
    """The views of one built data file (``lifter.data build``'s layout) as a :class:`TestSet`; with ``index``
    ``(K,)``, those rows only. Raises :class:`DataFileError` for a file that is not the category's."""
    f = read_data_file(path, category, ("points2d", "visible", "present", "points3d"),
                       ("camera_focal", "camera_principal"))
    views = TestSet(category, setting, f["points2d"], f["visible"], f["present"], f["points3d"],
                    f.get("camera_focal"), f.get("camera_principal"))
    return views if index is None else views.select(index)


def load_test_set(data: Path, category: str, setting: str) -> TestSet | None:
    path = Path(data) / f"{category}_{SETTINGS[setting]}.npz"
    return read_views(path, category, setting) if path.exists() else None


def training_indices(n: int, views: int, seed: int) -> np.ndarray:
    """The rows :func:`training_views` draws from a training file of ``n`` views: up to ``views`` of them without
    replacement, drawn with ``seed``, sorted ``(K,)``."""
    return np.sort(np.random.default_rng(seed).choice(n, min(views, n), replace=False))


def training_views(data: Path, category: str, views: int, seed: int) -> TestSet | None:
    """Up to ``views`` training views of ``category`` drawn without replacement (:func:`training_indices`), as a
    :class:`TestSet`."""
    path = Path(data) / f"{category}_train.npz"
    if not path.exists():
        return None
    every = read_views(path, category, "clean")                 # checked: a damaged or foreign file is named
    return every.select(training_indices(len(every.points2d), views, seed))


@dataclass
class Training2D:
    """Training views of one category as the 2D-only fits read them (:func:`training_2d`): ``points2d (B, N, 2)``
    (NaN where not visible) and ``visible (B, N)``, no 3D."""

    category: str
    points2d: np.ndarray
    visible: np.ndarray


def training_2d(data: Path, category: str, views: int, seed: int) -> Training2D | None:
    """The 2D of the training views :func:`training_views` draws (the same rows), read without the 3D ground truth:
    a training file needs only ``points2d`` and ``visible`` (DESIGN.md), so a file of 2D alone serves the priors
    fitted from the lifter's lifts (``python -m lifter.bone_lengths``, ``python -m lifter.shape_basis``). None when
    the file is not there; :class:`DataFileError` for one that is not the category's."""
    path = Path(data) / f"{category}_train.npz"
    if not path.exists():
        return None
    f = read_data_file(path, category, ("points2d", "visible"))
    rows = training_indices(len(f["points2d"]), views, seed)
    return Training2D(category, f["points2d"][rows], f["visible"][rows])


def checked_views(data: Path, category: str, views: str, count: int, seed: int, hide: float = 0.0
                  ) -> TestSet | None:
    """The views a check script measures on: ``views == "train"``: ``count`` training views drawn with ``seed``,
    with ``hide`` of each view's landmarks hidden at random (drawn with ``seed`` too, :meth:`TestSet.hide`);
    ``"clean"`` or ``"occluded"``: that test file. None when the file is not there."""
    if views != "train":
        return load_test_set(data, category, views)
    test = training_views(data, category, count, seed)
    if test is not None and hide:
        test.hide(hide, np.random.default_rng(seed))
    return test


def add_view_options(parser: argparse.ArgumentParser, count: int, seed: int) -> None:
    """The options of :func:`checked_views` that the check scripts share: ``--views``, ``--count`` (default
    ``count``), ``--seed`` (default ``seed``) and ``--hide``; :func:`check_view_options` checks them."""
    parser.add_argument("--views", choices=["train", "clean", "occluded"], default="train",
                        help="training views drawn with --seed, or a test file")
    parser.add_argument("--count", type=int, default=count, help="checked training views per category (--views train)")
    parser.add_argument("--seed", type=int, default=seed, help="seed of the checked training views' draw")
    parser.add_argument("--hide", type=float, default=0.0,
                        help="with --views train: hide this share of each view's landmarks at random (the test "
                             "files' occlusion is 0.2), drawn with --seed")


def checked_view_sets(args: argparse.Namespace, blanks: int = 0) -> Iterator[tuple[str, TestSet]]:
    """``(category, views)`` for each of ``args.categories`` (a :func:`check_parser` namespace) whose files are in
    ``args.data``: :func:`checked_views` with ``args``' view options; a category without them prints a Markdown
    row saying so (and ``blanks`` empty cells) instead."""
    for category in args.categories:
        test = checked_views(args.data, category, args.views, args.count, args.seed, args.hide)
        if test is None:
            _print_missing(category, args.data, blanks)
            continue
        yield category, test


def _print_missing(category: str, data: Path, blanks: int) -> None:
    """The Markdown row of a category whose files are not in ``data``, with ``blanks`` empty cells."""
    print(f"| {category} | (no {category} files in {data}) |" + " |" * blanks)


def fitted_view_sets(args: argparse.Namespace, fit_views: int, fit_seed: int, blanks: int = 0
                     ) -> Iterator[tuple[str, TestSet, TestSet]]:
    """``(category, fit, views)`` for each of :func:`checked_view_sets`' categories that has a training file too:
    ``fit`` holds up to ``fit_views`` training views drawn with ``fit_seed`` (:func:`training_views`, what a test-time
    prior is fitted to), ``views`` the checked ones; a category without its files prints the row saying so."""
    for category, test in checked_view_sets(args, blanks):
        fit = training_views(args.data, category, fit_views, fit_seed)
        if fit is None:
            _print_missing(category, args.data, blanks)
            continue
        yield category, fit, test


def check_parser(description: str, count: int, seed: int) -> argparse.ArgumentParser:
    """The argument parser the camera-reading check scripts start from: ``--data`` (the built data folder),
    ``--weights`` (a lifter's weights; default the bundled ones), ``--categories`` (default every one) and
    :func:`add_view_options` with ``count`` and ``seed``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built data files")
    parser.add_argument("--weights", type=Path, default=None, help="lifter weights (default: the bundled ones)")
    parser.add_argument("--categories", nargs="+", default=list(CATEGORY_ORDER), choices=CATEGORY_ORDER)
    add_view_options(parser, count, seed)
    return parser


def check_view_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse (``parser.error``) a ``--hide`` outside [0, 1) or given without ``--views train``."""
    if not 0 <= args.hide < 1 or (args.hide and args.views != "train"):
        parser.error(f"--hide takes a share in [0, 1) with --views train, got {args.hide} with {args.views}")
