"""Whether the benchmark's *best depths* row finds the lowest least-squares error of lift()'s output form.

``lifter.references.best_depth_floor`` keeps each visible landmark's input 2D as its x, y (DESIGN.md's orthographic
output form) and searches the depths that bring the lift closest to the truth, by block coordinate descent started
from the true depths. The descent can stop in a local minimum. Here it is also started from ``--starts`` random
orientations of the true shape (its depths under a random rotation, scaled to the 2D's size) on the first
``--count`` views of each test file, and each view's lowest squared error over all starts is compared with the
true-depth start's (least squares only: ``refine_steps=0``).

Printed per test file: the views, the strict error (the benchmark's figure) of the true-depth start and of each
view's best start, the share of views where some random start reached a squared error lower by more than
``--tolerance`` (relative), and the largest such drop. Ground truth is read to measure only.

Usage:

    PYTHONPATH=. python scripts/best_depth_check.py --data data [--categories face468] [--starts 20] [--count 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lifter.evaluate import score  # noqa: E402
from lifter.geometry import rms_radius, similarity_procrustes  # noqa: E402
from lifter.references import best_depth_floor  # noqa: E402
from lifter.views import CATEGORY_ORDER, SETTINGS, TestSet, load_test_set  # noqa: E402

COLUMNS = ("category", "setting", "views", "true-depth start", "best start", "views lower elsewhere", "largest drop")


def squared_error(lift: np.ndarray, test: TestSet) -> np.ndarray:
    """Per view ``(B,)``: the sum of squared distances to the truth after the benchmark's alignment."""
    truth = np.nan_to_num(test.points3d)
    aligned = similarity_procrustes(lift, truth, test.present)
    return np.where(test.present, ((aligned - truth) ** 2).sum(-1), 0.0).sum(-1)


def random_start_depth(test: TestSet, rng: np.random.Generator) -> np.ndarray:
    """``(B, N)`` depths of the true shape turned by one random rotation per view, in the input 2D's units."""
    q = rng.normal(size=(len(test.points3d), 4))
    w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
    third_row = np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)   # (B, 3)
    truth = np.nan_to_num(test.points3d)
    centred = truth - (truth * test.present[..., None]).sum(1, keepdims=True) / test.present.sum(1)[:, None, None]
    size = rms_radius(np.nan_to_num(test.points2d), test.visible) / rms_radius(truth, test.present)
    return np.einsum("bnj,bj->bn", centred, third_row) * size[:, None]


def check(test: TestSet, starts: int, rng: np.random.Generator, tolerance: float) -> dict:
    """One test file's row of the table (see the module's docstring)."""
    first = best_depth_floor(test, refine_steps=0)
    error = best = squared_error(first, test)
    lift = first
    for _ in range(starts):
        other = best_depth_floor(test, refine_steps=0, start_depth=random_start_depth(test, rng))
        e = squared_error(other, test)
        lower = e < best
        lift = np.where(lower[:, None, None], other, lift)
        best = np.minimum(e, best)
    drop = (error - best) / np.maximum(error, 1e-30)
    return {"category": test.category, "setting": test.setting, "views": len(error),
            "true-depth start": score(first, test)["strict"], "best start": score(lift, test)["strict"],
            "views lower elsewhere": float(np.mean(drop > tolerance)), "largest drop": float(drop.max())}


def to_markdown(rows: list[dict]) -> str:
    """The table of :func:`check`'s rows."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append(f"| {r['category']} | {r['setting']} | {r['views']} | {r['true-depth start']:.3f} | "
                     f"{r['best start']:.3f} | {100 * r['views lower elsewhere']:.1f} % | {r['largest drop']:.2e} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built data files")
    parser.add_argument("--categories", nargs="+", default=list(CATEGORY_ORDER), choices=CATEGORY_ORDER)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--starts", type=int, default=20, help="random starting orientations per view")
    parser.add_argument("--count", type=int, default=300, help="the first views of each test file (0: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random orientations")
    parser.add_argument("--tolerance", type=float, default=1e-6,
                        help="a relative drop of the squared error above this counts as a lower minimum")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    if args.starts < 1 or args.count < 0:
        parser.error("--starts must be at least 1 and --count at least 0")
    rng = np.random.default_rng(args.seed)
    rows = []
    for category in args.categories:
        for setting in args.settings:
            test = load_test_set(args.data, category, setting)
            if test is None:
                print(f"no {setting} test file of {category} in {args.data}: skipped", file=sys.stderr)
                continue
            if args.count:
                test = test.select(np.arange(min(args.count, len(test.points3d))))
            started = time.perf_counter()
            rows.append(check(test, args.starts, rng, args.tolerance))
            print(f"{category} {setting}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if not rows:
        parser.error(f"no test files in {args.data}")
    table = to_markdown(rows)
    print(table, end="")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        command = " ".join(sys.argv[1:] if argv is None else argv)
        args.out.write_text(f"`PYTHONPATH=. python scripts/best_depth_check.py {command}`: the first "
                            f"{args.count or 'all'} views of each test file, {args.starts} random starts a view (seed "
                            f"{args.seed}); strict error in the benchmark's units (mm, %).\n\n{table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
