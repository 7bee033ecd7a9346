"""The benchmark: ``python -m lifter.evaluate --data data/ --out results/``.

For every category with test files, clean and with 20 % occlusion, it lifts every test view with each method
and reports the per-landmark error after similarity Procrustes alignment (rotation with det = +1, scale,
translation) to the ground truth, over the landmarks the shape has (occluded ones included):

- ``strict``: the prediction as it is (the headline figure);
- ``flip-best``: per view the better of the prediction and its depth mirror (z -> -z), reported beside it;
- ``mirrored``: share of views whose depth mirror is better.

Units: mm for ``human17`` and ``hand21``; % of the ground truth's RMS radius for ``chair`` and ``face468``.

Methods: the lifter weights given with ``--model LABEL=PATH`` (default: the bundled 2D-only lifter and the
reference models in ``assets/weights/reference/`` when present), and two references that need no training:
``mean shape`` (the training set's mean 3D shape, aligned to each test view with the ground truth: an oracle
pose) and ``flat`` (the input 2D with zero depth).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from lifter.geometry import aligned_errors, rms_radius, similarity_procrustes
from lifter.skeletons import get_category

CATEGORY_ORDER = ("human17", "hand21", "face468", "chair")
SETTINGS = {"clean": "test", "occluded": "test_occluded"}
METRIC_UNITS = {"human17": "mm", "hand21": "mm", "face468": "%", "chair": "%"}
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "assets" / "weights"
DEFAULT_MODELS = {
    "lifter (2D-only, identity every layer)": WEIGHTS_DIR / "lifter.safetensors",
    "ablation: identity at input only": WEIGHTS_DIR / "reference" / "input_only.safetensors",
    "3D-supervised (upper bound)": WEIGHTS_DIR / "reference" / "supervised_3d.safetensors",
}


@dataclass
class TestSet:
    """One test file: ``points2d (B, N, 2)``, ``visible (B, N)``, ``present (B, N)``, ``points3d (B, N, 3)``."""

    category: str
    setting: str
    points2d: np.ndarray
    visible: np.ndarray
    present: np.ndarray
    points3d: np.ndarray


def load_test_set(data: Path, category: str, setting: str) -> TestSet | None:
    path = Path(data) / f"{category}_{SETTINGS[setting]}.npz"
    if not path.exists():
        return None
    with np.load(path) as f:
        return TestSet(category, setting, f["points2d"], f["visible"], f["present"], f["points3d"])


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


def score(pred: np.ndarray, test: TestSet) -> dict:
    """Strict and flip-best errors of ``pred (B, N, 3)`` against ``test``'s ground truth."""
    mask = test.present & np.isfinite(pred).all(-1)
    err = aligned_errors(pred, test.points3d, mask)                          # (B, N)
    mirrored = pred * np.array([1.0, 1.0, -1.0])
    err_m = aligned_errors(mirrored, test.points3d, mask)
    if METRIC_UNITS[test.category] == "%":
        radius = rms_radius(np.nan_to_num(test.points3d), test.present)[:, None]
        err, err_m = 100 * err / radius, 100 * err_m / radius
    per_view, per_view_m = np.nanmean(err, 1), np.nanmean(err_m, 1)
    better_m = per_view_m < per_view
    best = np.where(better_m[:, None], err_m, err)
    return {
        "strict": float(np.mean(per_view)),
        "flip_best": float(np.mean(np.minimum(per_view, per_view_m))),
        "mirrored_share": float(np.mean(better_m)),
        "median_strict": float(np.median(per_view)),
        "per_landmark": [None if np.isnan(v) else round(float(v), 3) for v in np.nanmean(err, 0)],
        "per_landmark_flip_best": [None if np.isnan(v) else round(float(v), 3) for v in np.nanmean(best, 0)],
        "views": int(len(pred)),
    }


def lifter_method(path: Path, device: str | None) -> Callable[[TestSet], np.ndarray] | None:
    from lifter.api import load_lifter

    if not Path(path).exists():
        return None
    lifter = load_lifter(path, device)

    def predict(test: TestSet) -> np.ndarray:
        return lifter.lift(test.points2d, test.category, test.visible)
    return predict


def flat_method(test: TestSet) -> np.ndarray:
    """Zero depth: the centred input 2D (missing landmarks at the centroid)."""
    w = test.visible[..., None]
    p = np.where(w, test.points2d, 0.0)
    centre = p.sum(1, keepdims=True) / w.sum(1, keepdims=True)
    xy = np.where(w, p - centre, 0.0)
    return np.concatenate([xy, np.zeros(xy.shape[:2] + (1,))], -1)


def evaluate(data: Path, models: dict[str, Path], categories: tuple[str, ...] = CATEGORY_ORDER,
             device: str | None = None, progress: bool = True) -> dict:
    """Run every method on every test file; returns ``{"results": [row, ...], ...}``."""
    rows = []
    methods: dict[str, Callable[[TestSet], np.ndarray]] = {}
    for label, path in models.items():
        m = lifter_method(path, device)
        if m is None:
            print(f"skipping {label}: {path} not found")
        else:
            methods[label] = m
    for category in categories:
        mean = mean_shape(data, category)
        for setting in SETTINGS:
            test = load_test_set(data, category, setting)
            if test is None:
                continue
            cat_methods = dict(methods)
            if mean is not None:
                cat_methods["mean shape (oracle-aligned)"] = lambda t, m=mean: np.broadcast_to(m, t.points3d.shape)
            cat_methods["flat (zero depth)"] = flat_method
            for label, predict in cat_methods.items():
                started = time.perf_counter()
                pred = predict(test)
                row = {"method": label, "category": category, "setting": setting, "units": METRIC_UNITS[category],
                       **score(pred, test), "seconds": round(time.perf_counter() - started, 2)}
                rows.append(row)
                if progress:
                    print(f"{category:8} {setting:8} {label:42} strict {row['strict']:7.2f} "
                          f"flip-best {row['flip_best']:7.2f} {row['units']}")
    return {"data": str(data), "models": {k: str(v) for k, v in models.items()}, "results": rows}


def to_markdown(report: dict) -> str:
    """The benchmark table (strict first, flip-best beside it) and per-landmark errors of the first model."""
    rows = report["results"]
    lines = ["| category | method | clean: strict | clean: flip-best | occluded 20 %: strict | "
             "occluded: flip-best | mirrored (clean) |", "|---|---|---|---|---|---|---|"]
    keyed = {(r["category"], r["method"], r["setting"]): r for r in rows}
    seen = []
    for r in rows:
        if (r["category"], r["method"]) not in seen:
            seen.append((r["category"], r["method"]))
    for category, method in seen:
        c, o = keyed.get((category, method, "clean")), keyed.get((category, method, "occluded"))
        u = (c or o)["units"]
        fmt = lambda r, k: f"{r[k]:.1f} {u}" if r else "—"  # noqa: E731
        lines.append(f"| {category} | {method} | {fmt(c, 'strict')} | {fmt(c, 'flip_best')} | "
                     f"{fmt(o, 'strict')} | {fmt(o, 'flip_best')} | "
                     f"{'' if not c else format(100 * c['mirrored_share'], '.1f') + ' %'} |")
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


def parse_models(specs: list[str] | None) -> dict[str, Path]:
    if not specs:
        return dict(DEFAULT_MODELS)
    models = {}
    for spec in specs:
        if "=" not in spec:
            raise SystemExit(f"--model takes LABEL=PATH, got {spec!r}")
        label, path = spec.split("=", 1)
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
    args = parser.parse_args(argv)
    if not any((args.data / f"{c}_test.npz").exists() for c in args.categories):
        parser.error(f"no test files in {args.data}: run `python -m lifter.data build --source ../shared/data "
                     f"--out {args.data}` first")
    report = evaluate(args.data, parse_models(args.model), tuple(args.categories), args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "evaluate.json").write_text(json.dumps(report, indent=1) + "\n")
    md = to_markdown(report)
    (args.out / "evaluate.md").write_text(md)
    print()
    print(md)
    print(f"wrote {args.out / 'evaluate.json'} and {args.out / 'evaluate.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
