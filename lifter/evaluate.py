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

The test views and the check scripts' shared options are in :mod:`lifter.views`; the reference rows that need no
training, in :mod:`lifter.references`. Each finished block (a category in a setting) is kept in
``OUT/evaluate.partial.json`` while the run goes; ``--resume`` takes them from there after an interruption
(:mod:`lifter.partial_results`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from lifter.checked_files import file_in_the_way
from lifter.devices import resolve_device
from lifter.geometry import aligned_errors, rms_radius, similarity_procrustes
from lifter.partial_results import PARTIAL_NAME, PartialMismatch, load_blocks, run_key, save_blocks
from lifter.references import best_depth_floor, depth_only_floor, flat_method, mean_shape, rigid_template
from lifter.skeletons import get_category
from lifter.symmetry import refines as symmetry_refines
from lifter.views import CATEGORY_ORDER, SETTINGS, DataFileError, TestSet, load_test_set, read_data_file

if TYPE_CHECKING:
    from lifter.api import LoadedLifter

BEST_DEPTH_LABEL = "best depths on the input x, y (lowest found for the output form)"
METRIC_UNITS = {"human17": "mm", "hand21": "mm", "face468": "%", "chair": "%"}
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "assets" / "weights"
SHIPPED = ("lifter (shipped: the one-hour bf16 CPU recipe, sh scripts/cpu_recipe.sh: learned elevation in both "
           "stages and their rendered views, Laplacian + Fourier identity code; 2D-only 6,000 steps at four-times "
           "batches for bodies and hands, half-size for faces and chairs + five rounds of 3D-aware 1,200 steps with "
           "the symmetry prior, the face template at weight 100, faces drawn twice and hands three times as often, a "
           "block of landmarks hidden in half the rendered views and a refined teacher for hands, each round's "
           "teacher the round before)")
#: Short names that the Markdown table (and the app's summary) give the labels a sentence long; each is given in full
#: above the table. The JSON keeps the full labels.
SHORT_LABELS = {SHIPPED: "lifter (shipped)"}
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
    its input. None for a test file without its cameras (``shape_index``, ``camera_R``, ``camera_t``: optional in
    DESIGN.md's data contract).
    """
    from lifter.data.cameras import render_views

    path = Path(data) / f"{test.category}_{SETTINGS[test.setting]}.npz"
    cameras = ("shape_index", "camera_R", "camera_t")
    f = read_data_file(path, test.category, ("points2d", "points3d", "present"), cameras)
    if not all(k in f for k in cameras):         # a test file without its cameras (optional): no second views
        return None
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


def evaluate(data: Path, models: dict[str, Path], categories: tuple[str, ...] = CATEGORY_ORDER,
             device: str | None = None, progress: bool = True, ablations: bool = True,
             partial: Path | None = None, resume: bool = False, references: bool = True) -> dict:
    """Run every method on every test file; returns ``{"results": [row, ...], ...}``.

    With ``partial``, each finished block (a category in a setting, every method's rows) is written to that file as
    it ends (:mod:`lifter.partial_results`); with ``resume`` too, the blocks already in it are taken from it instead
    of being measured again, if it was written for the same weights, data, code and options (else
    :class:`lifter.partial_results.PartialMismatch`).

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

    Without ``references``, the rows that need no lifter are left out (mean shape, rigid template, flat, the output
    form's floors): the models' rows alone, sooner (for the bundled weights without the variant rows, on a 2-core
    AMD EPYC: 16 s against 4.5 s on hands alone, 3.7 against 2.8 min on all four categories).
    """
    from lifter.api import load_lifter

    key = run_key(data, models, categories, ablations, references) if partial is not None else None
    blocks = load_blocks(partial, key) if partial is not None and resume else {}
    if blocks and progress:
        print(f"resuming: {len(blocks)} finished blocks (category, setting) taken from {partial}")
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
        if all((category, setting) in blocks for setting in SETTINGS):       # resumed: nothing left to measure
            rows += [r for setting in SETTINGS for r in blocks[category, setting]]
            continue
        mean = mean_shape(data, category) if references else None
        template = rigid_template(data, category, mean) if references else None
        for setting in SETTINGS:
            if (category, setting) in blocks:
                rows += blocks[category, setting]
                continue
            first = len(rows)
            test = load_test_set(data, category, setting)
            if test is None:
                blocks[category, setting] = []
                continue
            cat_methods = dict(methods)
            if mean is not None:
                cat_methods["mean shape (oracle-aligned)"] = lambda t, m=mean: np.broadcast_to(m, t.points3d.shape)
            if template is not None:
                cat_methods[TEMPLATE_LABEL] = lambda t, m=template: np.broadcast_to(m, t.points3d.shape)
            if references:
                cat_methods["flat (zero depth)"] = flat_method
            if references and test.focal is not None and test.principal is not None:
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
                    print(f"{category:8} {setting:8} {short_method(label):42} strict {row['strict']:7.2f} "
                          f"flip-best {row['flip_best']:7.2f} {row['units']}")
            blocks[category, setting] = rows[first:]
            if partial is not None:
                save_blocks(partial, key, blocks)
    return {"data": str(data), "models": {k: str(v) for k, v in models.items()}, "results": rows}


def short_method(method: str) -> str:
    """``method`` with each of :data:`SHORT_LABELS`' long labels in it written as its short name: the shipped
    lifter's variant rows keep their suffixes (``lifter (shipped), without mirror averaging``)."""
    for long, short in SHORT_LABELS.items():
        method = method.replace(long, short)
    return method


def to_markdown(report: dict) -> str:
    """The benchmark table (strict first, flip-best beside it) and per-landmark errors of the first model; the
    labels of :data:`SHORT_LABELS` are written short (:func:`short_method`) and given in full above the table."""
    rows = report["results"]
    used = [(short, long) for long, short in SHORT_LABELS.items() if any(long in r["method"] for r in rows)]
    lines = [f"*{short}* stands for \"{long}\" (the label in the JSON)." for short, long in used]
    lines += [""] if used else []
    lines += ["| category | method | clean: strict | clean: flip-best | occluded 20 %: strict | "
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
        lines.append(f"| {category} | {short_method(method)} | {fmt(c, 'strict')} | {fmt(c, 'flip_best')} | "
                     f"{fmt(o, 'strict')} | {fmt(o, 'flip_best')} | {mirrored} | "
                     f"{_cross(c, u)} / {_cross(o, u)} |")
    first = next(iter(report["models"]), None)
    for category in dict.fromkeys(r["category"] for r in rows):
        r = keyed.get((category, first, "clean"))
        if r is None or category == "face468":
            continue
        names = get_category(category).landmarks
        lines += ["", f"Per-landmark strict error, {category}, clean, {short_method(first)} ({r['units']}):", "",
                  "| " + " | ".join(names) + " |", "|" + "---|" * len(names),
                  "| " + " | ".join("—" if v is None else f"{v:.1f}" for v in r["per_landmark"]) + " |"]
    return "\n".join(lines) + "\n"


def _cross(row: dict | None, units: str) -> str:
    value = (row or {}).get("cross_view")
    return "—" if value is None else f"{value:.1f} {units}"


def parse_models(specs: list[str] | None) -> dict[str, Path]:
    """``--model LABEL=PATH`` words as ``{label: path}`` (default: the bundled and reference weights); a word
    without ``=``, an empty label, a label given twice or a weights file that does not exist is a ``ValueError``.
    A label may hold ``=`` itself (``"recipe, SEED=1=runs/seed1/r5.safetensors"``): the word splits at the last
    ``=`` whose right side names a file, else at the first."""
    if not specs:
        return dict(DEFAULT_MODELS)
    models = {}
    for spec in specs:
        cuts = [k for k, c in enumerate(spec) if c == "="]
        cut = next((k for k in reversed(cuts) if Path(spec[k + 1:]).is_file()), cuts[0] if cuts else len(spec))
        label, sep, path = spec[:cut], spec[cut:cut + 1], spec[cut + 1:]
        if not sep or not label or not path:
            raise ValueError(f"--model takes LABEL=PATH, got {spec!r}")
        if label in models:
            raise ValueError(f"--model label {label!r} given twice (labels name the table's rows)")
        if Path(path).is_dir():                   # a training run's folder (how to export it), or another folder
            from lifter.api import weights_record

            weights_record(Path(path))
        if not Path(path).is_file():
            target = path if path.endswith(".safetensors") else "WEIGHTS.safetensors"
            raise ValueError(f"--model {spec}: no weights file {path} (export a run with python -m lifter.export "
                             f"--run RUN --out {target}, and give that file)")
        models[label] = Path(path)
    return models


def skipped_notes(data: Path, categories: tuple[str, ...], references: bool) -> list[str]:
    """What the table will lack for want of files in ``data``: a category or setting without its test file, and
    (with ``references``) the mean-shape and rigid-template rows of a category without its training file."""
    notes = []
    for category in categories:
        missing = [s for s in SETTINGS if not (Path(data) / f"{category}_{SETTINGS[s]}.npz").exists()]
        if len(missing) == len(SETTINGS):
            notes.append(f"no test files of {category} in {data}: {category} is left out")
            continue
        notes += [f"no {category}_{SETTINGS[s]}.npz in {data}: no {s} {category} rows" for s in missing]
        if references and not (Path(data) / f"{category}_train.npz").exists():
            notes.append(f"no {category}_train.npz in {data}: no mean-shape or rigid-template rows for {category}")
    return notes


def rows_replaced(path: Path, categories: list[str], models: dict[str, Path], depth_baseline: bool,
                  ablations: bool, references: bool) -> list[str]:
    """What the table ``path`` (an earlier ``evaluate.json``; none: nothing) holds that a run of these arguments
    would not measure again, and so would lose by replacing it: its categories and model labels beyond the run's,
    and its depth-based, variant and reference rows where the run leaves those out. Each as a phrase; ``[]``
    when the run measures all of it (an unreadable file: ``["{path} is not a table of this command"]``)."""
    if not Path(path).is_file():
        return []
    try:
        old = json.loads(Path(path).read_text())
        rows, labels = old["results"], list(old["models"])
        methods = {r["method"] for r in rows}
        cats = {r["category"] for r in rows}
    except (ValueError, KeyError, TypeError):
        return [f"{path} is not a table of this command"]
    lost = []
    if cats - set(categories):
        lost.append(f"categories {', '.join(sorted(cats - set(categories)))}")
    if set(labels) - set(models):
        lost.append(f"{len(set(labels) - set(models))} lifters' rows")
    if not depth_baseline and any(m.startswith("depth") for m in methods):
        lost.append("the depth-based rows")
    if not ablations and labels and any(m.startswith(labels[0] + ",") for m in methods):
        lost.append("the first lifter's variant rows")
    if not references and any(m.startswith(("mean shape", "flat")) for m in methods):
        lost.append("the reference rows")
    return lost


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
    parser.add_argument("--no-reference-rows", dest="references", action="store_false",
                        help="skip the rows that need no lifter (mean shape, rigid template, flat, the output form's "
                             "floors): the models' rows alone, sooner")
    parser.add_argument("--resume", action="store_true",
                        help=f"take the blocks an interrupted run of the same command finished from "
                             f"OUT/{PARTIAL_NAME} (same weights, data and code) instead of measuring them again")
    parser.add_argument("--force", action="store_true",
                        help="replace OUT/evaluate.json even where it holds rows this command would not measure")
    args = parser.parse_args(argv)
    args.categories = list(dict.fromkeys(args.categories))           # each once, in the order given
    if not args.data.is_dir():
        parser.error(f"--data {args.data} is not a folder (it does not exist): build the test files with `python -m "
                     f"lifter.data build --source ../shared/data --out {args.data}` first")
    blocked = file_in_the_way(args.out)
    if blocked:
        parser.error(f"--out {args.out}: {blocked} is a file, not a folder")
    if not any((args.data / f"{c}_test.npz").exists() for c in args.categories):
        there = sorted(c for c in CATEGORY_ORDER if (args.data / f"{c}_test.npz").exists())
        parser.error(f"no test files of {', '.join(args.categories)} in {args.data} (test files there: "
                     f"{', '.join(there) or 'none'}): run `python -m lifter.data build --source ../shared/data "
                     f"--out {args.data}` first, or choose --categories among those")
    from lifter.api import WeightsError, weights_record

    try:
        models = parse_models(args.model)
        resolve_device(args.device)
        for path in models.values():            # every file and record checked before the first lift, not after
            weights_record(path)
    except (ValueError, WeightsError) as e:
        parser.error(str(e))
    partial = args.out / PARTIAL_NAME
    if partial.exists() and not args.resume:
        parser.error(f"{partial} holds the finished blocks of an interrupted run: rerun that command with --resume "
                     f"to go on, or give another --out (or delete the file) to start over")
    lost = [] if args.force else rows_replaced(args.out / "evaluate.json", args.categories, models,
                                               args.depth_baseline, args.ablations, args.references)
    if lost:
        parser.error(f"--out {args.out} holds a table with rows this command would not measure ({'; '.join(lost)}): "
                     f"give another --out, or --force to replace it")
    for category in args.categories if args.references else ():      # the references' training files, up front
        train = args.data / f"{category}_train.npz"
        if train.exists():
            try:
                read_data_file(train, category, ("points2d", "visible", "points3d"))
            except DataFileError as e:
                parser.error(str(e))
    for note in skipped_notes(args.data, tuple(args.categories), args.references):
        print(f"note: {note}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.resume and not partial.exists():
        print(f"--resume: no {partial}, so nothing to resume: measuring every block")

    def interrupted(during: str) -> int:
        try:                                     # this command's key, hashed only now: an interrupt is rare
            key = run_key(args.data, models, tuple(args.categories), args.ablations, args.references)
            done = len(load_blocks(partial, key)) if partial.exists() else 0
        except PartialMismatch:                  # the file is another command's: nothing of this one is in it
            done = 0
        kept = f"the {done} finished blocks are kept in {partial}" if done else "no block had finished"
        print(f"\ninterrupted {during}: {kept}; rerun the same command with --resume to go on", file=sys.stderr)
        return 130

    try:
        report = evaluate(args.data, models, tuple(args.categories), args.device,
                          ablations=args.ablations, partial=partial, resume=args.resume,
                          references=args.references)
    except PartialMismatch as e:
        parser.error(str(e))
    except DataFileError as e:
        parser.exit(1, f"{parser.prog}: error: {e}\n")
    except KeyboardInterrupt:
        return interrupted("during the lifters' rows")
    if args.depth_baseline:
        from lifter.baselines.benchmark import depth_rows, plot_error_vs_noise

        try:
            report["results"] += depth_rows(args.data, tuple(args.categories))
        except KeyboardInterrupt:
            return interrupted("during the depth-based rows (measured again on a rerun)")
        except DataFileError as e:
            parser.exit(1, f"{parser.prog}: error: {e}\n")
        reference = next(iter(report["models"]), None)
        if reference is not None and any(r["method"] == reference for r in report["results"]):
            plot = plot_error_vs_noise(report["results"], reference, args.out)
            if plot["png"] is None:
                print("note: no depth-based figures among these categories (chairs have no depth maps): no "
                      "depth_vs_noise plot", file=sys.stderr)
            report["depth_crossover"] = plot["crossover"]
            for category, settings in plot["crossover"].items():
                for setting, info in settings.items():
                    print(f"depth-based vs lifter, {category} {setting}: {info['text']}")
    (args.out / "evaluate.json").write_text(json.dumps(report, indent=1) + "\n")
    md = to_markdown(report)
    (args.out / "evaluate.md").write_text(md)
    print()
    print(md)
    partial.unlink(missing_ok=True)                 # the whole table is written: nothing left to resume
    print(f"wrote {args.out / 'evaluate.json'} and {args.out / 'evaluate.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
