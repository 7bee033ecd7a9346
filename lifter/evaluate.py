"""The benchmark: ``python -m lifter.evaluate --data data/ --out results/``.

For every category with test files, clean and with 20 % occlusion, it lifts every test view with each method
and reports the per-landmark error after similarity Procrustes alignment (rotation with det = +1, scale,
translation) to the ground truth, over the landmarks the shape has (occluded ones included):

- ``strict``: the prediction as it is (the headline figure);
- ``flip-best``: per view the better of the prediction and its depth mirror (z -> -z), reported beside it;
- ``mirrored``: share of views whose depth mirror is better;
- ``cross-view`` (lifters only): the same test shape seen by two new random cameras is lifted twice; the error
  between the two lifts after similarity alignment (lower: more 3D-consistent).

Units: mm for ``human17`` and ``hand21``; % of the ground truth's RMS radius for ``chair`` and ``face468``.

Also the depth-based baseline (``lifter.baselines.benchmark``: oracle rendered depth and noisy depth at AbsRel
1, 3, 5, 10 %, back-projected with the camera intrinsics) and the plot ``depth_vs_noise.png/.html`` of its error
against the depth noise with the first model's error as a reference line.

Methods: the lifter weights given with ``--model LABEL=PATH`` (default: the bundled 2D-only lifter and the
reference models in ``assets/weights/reference/`` when present), run as ``lift()`` runs by default (mirror
averaging, hidden-landmark completion and, for chairs and faces, the symmetry refinement on, for faces the
shape-basis refinement too, for hands and bodies the bone-length refinement), the first of them also without each
of the five, read through the test cameras' intrinsics (``lift_with_camera``) and read through a camera guessed
from the landmarks alone (``lift_with_camera`` without intrinsics; ``--no-ablation-rows`` skips those rows), and
five references that need no training: ``mean shape`` (the training set's mean 3D shape, aligned to each test view
with the ground truth: an oracle pose), ``rigid template`` (one shape recovered from the training 2D alone by
structure from motion, as the template prior of ``--template-weight`` uses it, aligned the same way, its depth sign
taken from the mean shape; categories with fully visible training views), ``flat`` (the input 2D with zero depth),
``true depth on the input x, y`` (the floor of the lifter's output form: the API keeps the input 2D as the
visible landmarks' x, y, an orthographic reading of a perspective image, so even the true depth leaves this error;
hidden landmarks get their true 3D) and ``best depths on the input x, y`` (the same form with the depths, and the
hidden landmarks, that bring it closest to the truth: :func:`best_depth_floor`; no lift that keeps the input x, y
was found to do better).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from lifter.devices import resolve_device
from lifter.geometry import aligned_errors, rigid_factorisation, rms_radius, similarity_procrustes, visible_centroid
from lifter.skeletons import get_category
from lifter.symmetry import refines as symmetry_refines

if TYPE_CHECKING:
    from lifter.api import LoadedLifter

CATEGORY_ORDER = ("human17", "hand21", "face468", "chair")
SETTINGS = {"clean": "test", "occluded": "test_occluded"}
BEST_DEPTH_LABEL = "best depths on the input x, y (lowest found for the output form)"
METRIC_UNITS = {"human17": "mm", "hand21": "mm", "face468": "%", "chair": "%"}
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "assets" / "weights"
SHIPPED = ("lifter (shipped: the one-hour bf16 CPU recipe, sh scripts/cpu_recipe.sh: learned elevation in both "
           "stages and their rendered views, Laplacian + Fourier identity code; 2D-only 6,000 steps at four-times "
           "batches for bodies and hands, half-size for faces and chairs + five rounds of 3D-aware 1,200 steps with "
           "the symmetry prior, the face template at weight 100, faces drawn twice and hands three times as often, a "
           "block of landmarks hidden in half the rendered views and a refined teacher for hands, each round's "
           "teacher the round before)")
SHIPPED_BEFORE = ("lifter shipped before (2D-only 6,000 steps at four-times batches on an H200 + nine rounds of "
                  "3D-aware 1,800 steps on the CPU, float32)")
SHIPPED_2D_STAGE = "lifter before fine-tuning (the shipped recipe's 2D-only stage)"
TEMPLATE_LABEL = "rigid template from the training 2D (structure from motion; oracle-aligned, oracle sign)"
# The shipped lineage and its references. Earlier references (assets/weights/reference/) were measured by the same
# command at commit ce23670 (its results/evaluate.md), the recipe shipped before the refined hand teacher
# (h200_recipe) last at commit 6768545, its first refined-teacher round (teacher_rounds1) last at commit 1e83b8f,
# the recipe shipped before the block hiding (b2k_recipe) last at commit 905d02f, the one-hour CPU recipe
# (block_hide_recipe) last at commit f8ca407, the recipe without learned elevation (face_template100_1800_recipe)
# last at commit 09f8bd6, the recipe without its rendered views' elevation (elevation_recipe) last at commit ba6acac,
# the 2D-only stage at full-size batches (face_steps_recipe) last at commit 5b09b39, six rounds of the refined-teacher
# stage (teacher_rounds6) last at commit 9e0cf50; --model LABEL=PATH evaluates any of them again.
DEFAULT_MODELS = {
    SHIPPED: WEIGHTS_DIR / "lifter.safetensors",
    SHIPPED_BEFORE: WEIGHTS_DIR / "reference" / "teacher_rounds9.safetensors",
    SHIPPED_2D_STAGE: WEIGHTS_DIR / "reference" / "cpu_recipe_2d.safetensors",
    "lifter before fine-tuning (2D-only 6,000 steps at four-times batches, the stage of the lifter shipped before)":
        WEIGHTS_DIR / "reference" / "before_finetune_four_times_batches.safetensors",
    "lifter before fine-tuning (2D-only 6,000 steps at half-size batches)":
        WEIGHTS_DIR / "reference" / "before_finetune_half_batches.safetensors",
    "ablation: identity at input only (2D-only 6,000 steps at half-size batches)":
        WEIGHTS_DIR / "reference" / "input_only_half_batches.safetensors",
    "lifter with learned elevation before fine-tuning (2D-only 3,000 steps)":
        WEIGHTS_DIR / "reference" / "before_finetune_elevation.safetensors",
    "ablation: identity at input only, learned elevation (2D-only 3,000 steps)":
        WEIGHTS_DIR / "reference" / "input_only_elevation.safetensors",
    "lifter before fine-tuning, without learned elevation (2D-only 3,000 steps)":
        WEIGHTS_DIR / "reference" / "before_finetune_laplacian.safetensors",
    "ablation: identity at input only, without learned elevation (2D-only 3,000 steps)":
        WEIGHTS_DIR / "reference" / "input_only_laplacian.safetensors",
    "3D-supervised (upper bound, 3,000 steps, Laplacian + Fourier code)":
        WEIGHTS_DIR / "reference" / "supervised_3d_laplacian.safetensors",
    "3D-supervised (upper bound, 6,000 steps at half-size batches, Laplacian + Fourier code)":
        WEIGHTS_DIR / "reference" / "supervised_3d_half_batches.safetensors",
    "3D-supervised (upper bound, 6,000 steps at four-times batches, Laplacian + Fourier code)":
        WEIGHTS_DIR / "reference" / "supervised_3d_four_times_batches.safetensors",
}


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


def read_views(path: Path, category: str, setting: str, index: np.ndarray | None = None) -> TestSet:
    """The views of one built data file (``lifter.data build``'s layout) as a :class:`TestSet`; with ``index``
    ``(K,)``, those rows only."""
    with np.load(path) as f:
        views = TestSet(category, setting, f["points2d"], f["visible"], f["present"], f["points3d"],
                        f["camera_focal"] if "camera_focal" in f.files else None,
                        f["camera_principal"] if "camera_principal" in f.files else None)
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
    with np.load(path) as f:
        n = len(f["points2d"])
    return read_views(path, category, "clean", training_indices(n, views, seed))


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
            print(f"| {category} | (no {category} files in {args.data}) |" + " |" * blanks)
            continue
        yield category, test


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


def mean_shape(data: Path, category: str, max_shapes: int = 5000, iterations: int = 3) -> np.ndarray | None:
    """The training set's mean 3D shape ``(N, 3)`` (ground truth: evaluation only).

    Generalised Procrustes analysis: the training shapes (world frame, at most ``max_shapes`` of them) are
    aligned by similarity transforms to the running mean, ``iterations`` times, so that poses facing different
    ways do not average into a blob.
    """
    path = Path(data) / f"{category}_train.npz"
    if not path.exists():
        return None
    with np.load(path) as f:
        step = max(1, len(f["points3d"]) // max_shapes)
        shapes = f["points3d"][::step].astype(np.float64)
    present = np.isfinite(shapes).all(-1)
    mean = np.nanmean(shapes - np.nanmean(shapes, 1, keepdims=True), 0)
    for _ in range(iterations):
        ref = np.broadcast_to(mean, shapes.shape)
        aligned = similarity_procrustes(np.nan_to_num(shapes), ref, present & np.isfinite(mean).all(-1))
        mean = np.nanmean(np.where(present[..., None], aligned, np.nan), 0)
        mean -= np.nanmean(mean, 0)
        mean /= np.sqrt(np.nanmean((mean ** 2).sum(-1)))
    return mean


def rigid_template(data: Path, category: str, mean: np.ndarray | None) -> np.ndarray | None:
    """The rigid shape ``(N, 3)`` that structure from motion recovers from the training 2D alone
    (:func:`lifter.geometry.rigid_factorisation`, the template of ``--template-weight``), its depth sign set to
    agree with the training set's ``mean`` 3D shape (the sign and, when scored, the pose are oracles); None
    without training data or fully visible training views (chairs: every chair lacks some keypoints)."""
    path = Path(data) / f"{category}_train.npz"
    if not path.exists() or mean is None:
        return None
    with np.load(path) as f:
        try:
            shape, _ = rigid_factorisation(f["points2d"], f["visible"])
        except ValueError:
            return None
    ok = np.isfinite(mean).all(-1)
    mirrored = shape * [1.0, 1.0, -1.0]
    err = [np.linalg.norm(similarity_procrustes(s[None], mean[None], ok[None])[0] - mean, axis=-1)[ok].mean()
           for s in (shape, mirrored)]
    return shape if err[0] <= err[1] else mirrored


def _landmark_means(err: np.ndarray) -> list[float | None]:
    """Mean of ``err (B, N)`` per landmark over the views where it is scored (not NaN), rounded; None for a
    landmark that no view scores (e.g. absent from every test shape)."""
    counts = np.isfinite(err).sum(0)
    sums = np.nansum(err, 0)
    return [round(float(s / c), 3) if c else None for s, c in zip(sums, counts)]


def score(pred: np.ndarray, test: TestSet) -> dict:
    """Strict and flip-best errors of ``pred (B, N, 3)`` against ``test``'s ground truth."""
    mask = test.present & np.isfinite(pred).all(-1)
    err = aligned_errors(pred, test.points3d, mask)                          # (B, N)
    mirrored = pred * np.array([1.0, 1.0, -1.0])
    err_m = aligned_errors(mirrored, test.points3d, mask)
    radius = rms_radius(np.nan_to_num(test.points3d), test.present)[:, None]
    strict_pct = float(np.mean(np.nanmean(100 * err / radius, 1)))           # % of RMS radius, every category
    if METRIC_UNITS[test.category] == "%":
        err, err_m = 100 * err / radius, 100 * err_m / radius
    per_view, per_view_m = np.nanmean(err, 1), np.nanmean(err_m, 1)
    better_m = per_view_m < per_view
    best = np.where(better_m[:, None], err_m, err)
    return {
        "strict": float(np.mean(per_view)),
        "flip_best": float(np.mean(np.minimum(per_view, per_view_m))),
        "mirrored_share": float(np.mean(better_m)),
        "median_strict": float(np.median(per_view)),
        "strict_pct_radius": strict_pct,
        "per_landmark": _landmark_means(err),
        "per_landmark_flip_best": _landmark_means(best),
        "views": int(len(pred)),
    }


def cross_view_consistency(predict: Callable[[TestSet], np.ndarray], data: Path, test: TestSet,
                           max_shapes: int = 500, seed: int = 0) -> float | None:
    """Disagreement between the lifts of two random protocol views of the same test shape.

    Each test shape (the first view of each, at most ``max_shapes``) is rendered by two new random cameras
    (with the test file's occlusion rate); both views are lifted, each lift is scaled to the ground truth's RMS
    radius, the first is similarity-aligned to the second, and the mean per-landmark distance is reported in
    the category's units (mm, or % of the RMS radius). Lower is more 3D-consistent; 0 for a method that ignores
    its input.
    """
    from lifter.data.cameras import render_views

    path = Path(data) / f"{test.category}_{SETTINGS[test.setting]}.npz"
    with np.load(path) as f:
        _, first = np.unique(f["shape_index"], return_index=True)
        first = first[:max_shapes]
        R, t = f["camera_R"][first].astype(np.float64), f["camera_t"][first].astype(np.float64)
        world = np.einsum("bji,bnj->bni", R, f["points3d"][first] - t[:, None])
        present = f["present"][first]
    occlusion = float((present.sum() - test.visible[first].sum()) / max(present.sum(), 1))
    views = render_views(np.where(present[..., None], world, np.nan), present, np.random.default_rng(seed),
                         views_per_shape=2, occlusion=occlusion)
    lifts = []
    for k in (0, 1):
        sub = TestSet(test.category, test.setting, views.points2d[k::2], views.visible[k::2],
                      views.present[k::2], views.points3d[k::2], views.focal[k::2], views.principal[k::2])
        pred = np.asarray(predict(sub), dtype=np.float64)
        radius_gt = rms_radius(np.nan_to_num(sub.points3d), sub.present)
        radius = np.maximum(rms_radius(np.nan_to_num(pred), sub.present), 1e-9)
        lifts.append(pred * (radius_gt / radius)[:, None, None])
    mask = views.present[0::2]
    aligned = similarity_procrustes(lifts[0], lifts[1], mask)
    dist = np.where(mask, np.linalg.norm(aligned - lifts[1], axis=-1), np.nan)
    if METRIC_UNITS[test.category] == "%":
        dist = 100 * dist / rms_radius(np.nan_to_num(views.points3d[1::2]), mask)[:, None]
    return float(np.nanmean(dist))


def _input_key(test: TestSet) -> tuple[str, str]:
    """What a lift depends on: the category and the input 2D and visibility (a digest of their bytes)."""
    digest = hashlib.sha1(np.ascontiguousarray(test.points2d).tobytes())
    digest.update(np.ascontiguousarray(test.visible).tobytes())
    return test.category, digest.hexdigest()


def lifter_method(lifter: LoadedLifter, memo: dict | None = None, **options: bool
                  ) -> Callable[[TestSet], np.ndarray]:
    """``lifter.lift`` with the keyword ``options`` (``mirror_average=False``, ...) as a method; with ``memo``, each
    lift is also kept there by input (for :func:`lifter_camera_method`)."""

    def predict(test: TestSet) -> np.ndarray:
        out = lifter.lift(test.points2d, test.category, test.visible, **options)
        if memo is not None:
            memo[_input_key(test)] = out
        return out
    return predict


def lifter_camera_method(lifter: LoadedLifter, memo: dict | None = None, guessed: bool = False,
                         fitted_shape: bool = False) -> Callable[[TestSet], np.ndarray]:
    """``lifter.lift_with_camera`` as a method: with the test views' own intrinsics, or with ``guessed`` without
    them (the camera guessed from the landmarks); ``fitted_shape`` is passed on (categories with a shape basis).

    With ``memo`` (filled by :func:`lifter_method` with the default ``lift()`` settings), an input already
    lifted is not lifted again: its lift is read through the pinhole by ``lifter.read_with_camera``, the reading
    ``lift_with_camera`` does after the same ``lift()`` passes.
    """

    def predict(test: TestSet) -> np.ndarray:
        focal, principal = (None, None) if guessed else (test.focal, test.principal)
        lift = memo.get(_input_key(test)) if memo is not None else None
        if lift is None:
            return lifter.lift_with_camera(test.points2d, test.category, focal, principal, test.visible,
                                           fitted_shape=fitted_shape)
        return lifter.read_with_camera(lift, test.points2d, test.category, focal, principal, test.visible,
                                       fitted_shape=fitted_shape)
    return predict


def with_intrinsics_label(label: str) -> str:
    """The row label of a lifter read through the test cameras' intrinsics (``lift_with_camera``)."""
    return f"{label}, with the camera intrinsics (lift_with_camera)"


def with_guessed_camera_label(label: str) -> str:
    """The row label of a lifter read through a camera guessed from the landmarks (``lift_with_camera`` without
    intrinsics)."""
    return f"{label}, through a camera guessed from the landmarks (lift_with_camera without intrinsics)"


def fitted_shape_label(label: str, guessed: bool) -> str:
    """The row label of a lifter's fitted shape itself (``lift_with_camera(..., fitted_shape=True)``; categories with
    a shape basis), with the test cameras' intrinsics or, ``guessed``, without them."""
    camera = "without intrinsics" if guessed else "with the camera intrinsics"
    return f"{label}, the fitted shape itself {camera} (lift_with_camera(..., fitted_shape=True))"


def without_mirror_label(label: str) -> str:
    """The row label of a lifter evaluated with ``mirror_average=False``."""
    return f"{label}, without mirror averaging"


def without_completion_label(label: str) -> str:
    """The row label of a lifter evaluated with ``complete_hidden=False``."""
    return f"{label}, without hidden-landmark completion"


def without_symmetry_label(label: str) -> str:
    """The row label of a lifter evaluated with ``symmetrize=False``."""
    return f"{label}, without the symmetry refinement"


def without_basis_label(label: str) -> str:
    """The row label of a lifter evaluated with ``shape_basis=False``."""
    return f"{label}, without the shape-basis refinement"


def without_bones_label(label: str) -> str:
    """The row label of a lifter evaluated with ``bone_lengths=False``."""
    return f"{label}, without the bone-length refinement"


def flat_method(test: TestSet) -> np.ndarray:
    """Zero depth: the centred input 2D (missing landmarks at the centroid)."""
    w = test.visible[..., None]
    xy = np.where(w, test.points2d - visible_centroid(test.points2d, test.visible)[:, None], 0.0)
    return np.concatenate([xy, np.zeros(xy.shape[:2] + (1,))], -1)


def depth_only_floor(test: TestSet) -> np.ndarray:
    """The best any lift of the API's form can do: ``(B, N, 3)`` pixel units.

    Visible landmarks keep the input 2D as x, y (relative to the principal point) and get the true depth,
    ``(Z - mean Z) * f / mean Z``; hidden ones get their true 3D at the same scale. Under perspective the true x, y
    are ``Z / mean Z`` times the 2D, so what remains is the error of reading the image orthographically.
    """
    Z = test.points3d[..., 2].astype(np.float64)                             # (B, N)
    z_mean = np.nanmean(np.where(test.present, Z, np.nan), 1)[:, None]       # (B, 1)
    k = (test.focal[:, None] / z_mean)[..., None]                            # pixels per unit at mean depth
    xy = np.where(test.visible[..., None], test.points2d - test.principal[:, None], test.points3d[..., :2] * k)
    return np.concatenate([xy, (Z[..., None] - z_mean[..., None]) * k], -1)


def best_depth_floor(test: TestSet, max_rounds: int = 300, refine_steps: int = 200,
                     start_depth: np.ndarray | None = None) -> np.ndarray:
    """The lowest error found for any lift of the API's form: ``(B, N, 3)`` pixel units.

    Visible landmarks keep the input 2D as x, y (as in :func:`depth_only_floor`) and get whatever depths bring the
    lift closest to the truth; hidden landmarks are free 3D points. :func:`depth_only_floor` gives them the true
    depths, which are not the best ones: a perspective image read orthographically is explained better by a
    slightly different shape.

    1. Least squares (:func:`lifter.geometry.closest_orthographic_form` with the truth as the shape), by block
       coordinate descent from the true depths (or ``start_depth (B, N)``, pixel units): (a) the similarity of the
       lift's visible landmarks onto the truth's (Procrustes); (b) given it, each visible landmark's depth is the
       point of its line ``(x, y, *)`` nearest the mapped truth. Each half-step is exact, so the squared error
       never rises; it stops after ``max_rounds`` or when no view's error falls by more than a part in 10^9.
       Hidden landmarks are then the mapped truth itself. (Starts from random orientations found no lower
       minimum: ``scripts/best_depth_check.py``.)
    2. The benchmark's own figure (the mean, not the squared, distance after the same alignment) descended by
       Adam over those depths and hidden points for ``refine_steps`` steps; each view keeps its best iterate.
    """
    import torch

    from lifter.geometry import closest_orthographic_form, similarity_procrustes_torch

    start = np.nan_to_num(depth_only_floor(test))                                   # (B, N, 3)
    if start_depth is not None:
        start[..., 2] = start_depth
    present = torch.as_tensor(test.present)
    visible = torch.as_tensor(test.visible) & present                              # (B, N)
    truth = torch.as_tensor(np.nan_to_num(test.points3d), dtype=torch.float64)      # (B, N, 3)
    lift = closest_orthographic_form(truth, torch.as_tensor(start[..., :2]), visible, torch.as_tensor(start[..., 2]),
                                     max_rounds, tolerance=1e-9)
    # then in units of each view's 2D size, so that one step size suits every category and image
    unit = torch.as_tensor(rms_radius(start[..., :2], test.visible))[:, None, None].clamp_min(1e-9)
    lift = lift / unit
    xy = lift[..., :2]

    def mean_distance(points: torch.Tensor) -> torch.Tensor:                      # (B,)
        d = (((similarity_procrustes_torch(points, truth, present) - truth) ** 2).sum(-1) + 1e-18).sqrt()
        return (d * present).sum(-1) / present.sum(-1).clamp_min(1)

    free = lift.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([free], lr=2e-3)
    best, best_error = lift.clone(), mean_distance(lift)
    for _ in range(refine_steps):
        points = torch.where(visible[..., None], torch.cat([xy, free[..., 2:]], -1), free)
        err = mean_distance(points)
        better = err.detach() < best_error
        best = torch.where(better[:, None, None], points.detach(), best)
        best_error = torch.where(better, err.detach(), best_error)
        optimiser.zero_grad()
        err.sum().backward()
        optimiser.step()
    return (best * unit).numpy()


def evaluate(data: Path, models: dict[str, Path], categories: tuple[str, ...] = CATEGORY_ORDER,
             device: str | None = None, progress: bool = True, ablations: bool = True) -> dict:
    """Run every method on every test file; returns ``{"results": [row, ...], ...}``.

    Lifters run as ``lift()`` does by default (mirror averaging, hidden-landmark completion, the symmetry, the
    shape-basis and the bone-length refinements on); with ``ablations`` the first model is also run without each of
    the five (rows :func:`without_mirror_label`, :func:`without_completion_label`, :func:`without_symmetry_label`,
    :func:`without_basis_label` and :func:`without_bones_label`; where the option changes nothing, the row is the
    first model's row, copied: completion on a test file with every landmark visible, the symmetry refinement on a
    category without a symmetric shape, the shape-basis refinement on a category without a basis, the bone-length
    refinement on a category without bone proportions) and read through the test cameras' intrinsics with
    ``lift_with_camera`` (row :func:`with_intrinsics_label`, on test files that record the cameras) and through a
    camera guessed from the landmarks (``lift_with_camera`` without intrinsics, row
    :func:`with_guessed_camera_label`), and on categories with a shape basis the fitted shape itself, with and
    without the intrinsics (``fitted_shape=True``, rows :func:`fitted_shape_label`).
    """
    from lifter.api import load_lifter

    rows = []
    methods: dict[str, Callable[[TestSet], np.ndarray]] = {}
    copied_when: dict[str, tuple[str, Callable[[TestSet], bool]]] = {}      # ablation label -> first model's, when
    needs_camera: set[str] = set()                                           # rows that need test intrinsics
    needs_basis: set[str] = set()                                            # rows of categories with a basis
    bases: set[str] = set()                                                  # the first model's basis categories
    for label, path in models.items():
        if not Path(path).exists():
            print(f"skipping {label}: {path} not found")
            continue
        lifter = load_lifter(path, device)                                   # once, for all rows of the first
        if ablations and not methods:
            memo: dict = {}                          # the first model's lifts, read again with the intrinsics
            methods[label] = lifter_method(lifter, memo=memo)
            methods[without_mirror_label(label)] = lifter_method(lifter, mirror_average=False)
            methods[without_completion_label(label)] = lifter_method(lifter, complete_hidden=False)
            copied_when[without_completion_label(label)] = label, lambda t: bool(t.visible.all())
            methods[without_symmetry_label(label)] = lifter_method(lifter, symmetrize=False)
            copied_when[without_symmetry_label(label)] = label, lambda t: not symmetry_refines(t.category)
            methods[without_basis_label(label)] = lifter_method(lifter, shape_basis=False)
            copied_when[without_basis_label(label)] = label, lambda t, b=set(lifter.bases): t.category not in b
            methods[without_bones_label(label)] = lifter_method(lifter, bone_lengths=False)
            copied_when[without_bones_label(label)] = label, lambda t, p=set(lifter.proportions): t.category not in p
            methods[with_intrinsics_label(label)] = lifter_camera_method(lifter, memo)
            needs_camera.add(with_intrinsics_label(label))
            methods[with_guessed_camera_label(label)] = lifter_camera_method(lifter, memo, guessed=True)
            for guessed in (False, True):
                fitted = fitted_shape_label(label, guessed)
                methods[fitted] = lifter_camera_method(lifter, memo, guessed, fitted_shape=True)
                needs_basis.add(fitted)
                if not guessed:
                    needs_camera.add(fitted)
            bases = set(lifter.bases)
        else:
            methods[label] = lifter_method(lifter)
    for category in categories:
        mean = mean_shape(data, category)
        template = rigid_template(data, category, mean)
        for setting in SETTINGS:
            test = load_test_set(data, category, setting)
            if test is None:
                continue
            cat_methods = dict(methods)
            if mean is not None:
                cat_methods["mean shape (oracle-aligned)"] = lambda t, m=mean: np.broadcast_to(m, t.points3d.shape)
            if template is not None:
                cat_methods[TEMPLATE_LABEL] = lambda t, m=template: np.broadcast_to(m, t.points3d.shape)
            cat_methods["flat (zero depth)"] = flat_method
            if test.focal is not None and test.principal is not None:
                cat_methods["true depth on the input x, y (floor of the output form)"] = depth_only_floor
                cat_methods[BEST_DEPTH_LABEL] = best_depth_floor
            for label, predict in cat_methods.items():
                if label in needs_camera and (test.focal is None or test.principal is None):
                    continue
                if label in needs_basis and category not in bases:
                    continue
                if label in copied_when and copied_when[label][1](test):
                    twin = next(r for r in rows if r["method"] == copied_when[label][0]
                                and r["category"] == category and r["setting"] == setting)
                    rows.append({**twin, "method": label})
                    continue
                started = time.perf_counter()
                pred = predict(test)
                row = {"method": label, "category": category, "setting": setting, "units": METRIC_UNITS[category],
                       **score(pred, test), "seconds": round(time.perf_counter() - started, 2)}
                if label in methods:
                    row["cross_view"] = cross_view_consistency(predict, data, test)
                rows.append(row)
                if progress:
                    print(f"{category:8} {setting:8} {label:42} strict {row['strict']:7.2f} "
                          f"flip-best {row['flip_best']:7.2f} {row['units']}")
    return {"data": str(data), "models": {k: str(v) for k, v in models.items()}, "results": rows}


def to_markdown(report: dict) -> str:
    """The benchmark table (strict first, flip-best beside it) and per-landmark errors of the first model."""
    rows = report["results"]
    lines = ["| category | method | clean: strict | clean: flip-best | occluded 20 %: strict | "
             "occluded: flip-best | mirrored (clean) | cross-view clean / occluded |",
             "|---|---|---|---|---|---|---|---|"]
    keyed = {(r["category"], r["method"], r["setting"]): r for r in rows}
    seen = []
    for r in rows:
        if (r["category"], r["method"]) not in seen:
            seen.append((r["category"], r["method"]))
    for category, method in seen:
        c, o = keyed.get((category, method, "clean")), keyed.get((category, method, "occluded"))
        u = (c or o)["units"]
        fmt = lambda r, k: "n/a" if r and r[k] is None else f"{r[k]:.1f} {u}" if r else "—"  # noqa: E731
        mirrored = "" if not c or c["mirrored_share"] is None else format(100 * c["mirrored_share"], ".1f") + " %"
        lines.append(f"| {category} | {method} | {fmt(c, 'strict')} | {fmt(c, 'flip_best')} | "
                     f"{fmt(o, 'strict')} | {fmt(o, 'flip_best')} | {mirrored} | "
                     f"{_cross(c, u)} / {_cross(o, u)} |")
    first = next(iter(report["models"]), None)
    for category in dict.fromkeys(r["category"] for r in rows):
        r = keyed.get((category, first, "clean"))
        if r is None or category == "face468":
            continue
        names = get_category(category).landmarks
        lines += ["", f"Per-landmark strict error, {category}, clean, {first} ({r['units']}):", "",
                  "| " + " | ".join(names) + " |", "|" + "---|" * len(names),
                  "| " + " | ".join("—" if v is None else f"{v:.1f}" for v in r["per_landmark"]) + " |"]
    return "\n".join(lines) + "\n"


def _cross(row: dict | None, units: str) -> str:
    value = (row or {}).get("cross_view")
    return "—" if value is None else f"{value:.1f} {units}"


def parse_models(specs: list[str] | None) -> dict[str, Path]:
    """``--model LABEL=PATH`` words as ``{label: path}`` (default: the bundled and reference weights); a word
    without ``=``, an empty label, a label given twice or a weights file that does not exist is a ``ValueError``."""
    if not specs:
        return dict(DEFAULT_MODELS)
    models = {}
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep or not label or not path:
            raise ValueError(f"--model takes LABEL=PATH, got {spec!r}")
        if label in models:
            raise ValueError(f"--model label {label!r} given twice (labels name the table's rows)")
        if not Path(path).is_file():
            raise ValueError(f"--model {spec}: no weights file {path} (export a run with python -m lifter.export "
                             f"--run RUN --out {path})")
        models[label] = Path(path)
    return models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifter.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built test files")
    parser.add_argument("--out", type=Path, default=Path("results"), help="where evaluate.json/.md go")
    parser.add_argument("--model", action="append", metavar="LABEL=PATH",
                        help="a lifter to evaluate (repeatable); default: bundled + reference weights")
    parser.add_argument("--categories", nargs="+", default=list(CATEGORY_ORDER), choices=CATEGORY_ORDER)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when available)")
    parser.add_argument("--no-depth-baseline", dest="depth_baseline", action="store_false",
                        help="skip the depth-based rows and the error-vs-depth-noise plot")
    parser.add_argument("--no-ablation-rows", "--no-mirror-ablation", dest="ablations", action="store_false",
                        help="skip the first model's variant rows: without mirror averaging, hidden-landmark "
                             "completion, the symmetry, shape-basis or bone-length refinement, and read with "
                             "the camera intrinsics or through the guessed camera")
    args = parser.parse_args(argv)
    if not any((args.data / f"{c}_test.npz").exists() for c in args.categories):
        parser.error(f"no test files in {args.data}: run `python -m lifter.data build --source ../shared/data "
                     f"--out {args.data}` first")
    try:
        models = parse_models(args.model)
        resolve_device(args.device)
    except ValueError as e:
        parser.error(str(e))
    report = evaluate(args.data, models, tuple(args.categories), args.device,
                      ablations=args.ablations)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.depth_baseline:
        from lifter.baselines.benchmark import depth_rows, plot_error_vs_noise

        report["results"] += depth_rows(args.data, tuple(args.categories))
        reference = next(iter(report["models"]), None)
        if reference is not None and any(r["method"] == reference for r in report["results"]):
            plot = plot_error_vs_noise(report["results"], reference, args.out)
            report["depth_crossover"] = plot["crossover"]
            for category, settings in plot["crossover"].items():
                for setting, info in settings.items():
                    print(f"depth-based vs lifter, {category} {setting}: {info['text']}")
    (args.out / "evaluate.json").write_text(json.dumps(report, indent=1) + "\n")
    md = to_markdown(report)
    (args.out / "evaluate.md").write_text(md)
    print()
    print(md)
    print(f"wrote {args.out / 'evaluate.json'} and {args.out / 'evaluate.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
