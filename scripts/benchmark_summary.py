"""The README's compact benchmark table, read from the full table's JSON (``python -m lifter.evaluate``'s output).

``PYTHONPATH=. python scripts/benchmark_summary.py --results results/evaluate.json`` prints one Markdown column
per category and one row per reading: strict error, clean / 20 % occluded, of the shipped lifter through
``lift()``, with the test cameras' intrinsics and through a camera guessed from the landmarks
(``lift_with_camera``); the 3D-supervised twin at four-times batches; the identity code at every layer against at
the input only, like for like (2D-only, 6,000 steps at half-size batches); and the references that need no
training (the mean shape aligned with the true pose, flat depth, the depth oracle, the output form's true and best
depths). Nothing is measured here: every cell is a row of the JSON, and a row the JSON lacks prints as "—".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifter.evaluate import BEST_DEPTH_LABEL, SHIPPED, with_guessed_camera_label, with_intrinsics_label  # noqa: E402
from lifter.views import CATEGORY_ORDER  # noqa: E402

#: (row title, row label in the full table) in the order printed, after the lifter's three (:func:`columns`).
REFERENCE_COLUMNS = (
    ("3D-supervised twin", "3D-supervised (upper bound, 6,000 steps at four-times batches, Laplacian + Fourier code)"),
    ("identity at every layer (2D-only, 6,000 steps)",
     "lifter before fine-tuning (2D-only 6,000 steps at half-size batches)"),
    ("identity at input only (same)", "ablation: identity at input only (2D-only 6,000 steps at half-size batches)"),
    ("mean shape, true pose", "mean shape (oracle-aligned)"),
    ("flat", "flat (zero depth)"),
    ("depth oracle", "depth oracle (rendered)"),
    ("true depths on the input x, y", "true depth on the input x, y (floor of the output form)"),
    ("best depths on the input x, y", BEST_DEPTH_LABEL),
)


def columns(lifter: str = SHIPPED) -> tuple[tuple[str, str], ...]:
    """The rows printed: the lifter labelled ``lifter`` in the full table (``lift()``, with the intrinsics, through
    the guessed camera), then :data:`REFERENCE_COLUMNS`."""
    return (("`lift()`", lifter), ("with intrinsics", with_intrinsics_label(lifter)),
            ("camera guessed", with_guessed_camera_label(lifter))) + REFERENCE_COLUMNS


#: The rows printed for the shipped lifter.
COLUMNS = columns()


def strict_table(results: list[dict]) -> dict[tuple[str, str, str], tuple[float, str]]:
    """``{(category, method, setting): (strict error, units)}`` of the full table's rows that have a figure (a
    method that does not apply, such as depth for chairs, has none)."""
    return {(r["category"], r["method"], r["setting"]): (float(r["strict"]), r["units"]) for r in results
            if r["strict"] is not None}


def summary_rows(results: list[dict], lifter: str = SHIPPED) -> list[str]:
    """The compact table's Markdown lines: header, rule, one row per column of :func:`columns` (of ``lifter``'s
    label) with a cell ``clean / occluded units`` per category present in ``results``."""
    table = strict_table(results)
    categories = [c for c in CATEGORY_ORDER if any(key[0] == c for key in table)]
    lines = ["| strict error, clean / 20 % occluded | " + " | ".join(f"`{c}`" for c in categories) + " |",
             "|---|" + "---|" * len(categories)]
    for title, method in columns(lifter):
        cells = []
        for category in categories:
            clean, occluded = table.get((category, method, "clean")), table.get((category, method, "occluded"))
            if clean is None and occluded is None:
                cells.append("—")
                continue
            units = (clean or occluded)[1]
            values = [f"{v[0]:.2f}" if v is not None else "—" for v in (clean, occluded)]
            cells.append(f"{values[0]} / {values[1]} {units}")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results/evaluate.json"),
                        help="the JSON that python -m lifter.evaluate wrote")
    parser.add_argument("--lifter", default=SHIPPED, metavar="LABEL",
                        help="the --model label of the lifter whose rows come first (default: the shipped one)")
    args = parser.parse_args(argv)
    if not args.results.exists():
        parser.error(f"{args.results} not found: run python -m lifter.evaluate --data data --out results first")
    report = json.loads(args.results.read_text())
    results = report["results"]
    if not any(r["method"] == args.lifter for r in results):
        labels = ", ".join(repr(m) for m in report.get("models", {})) or "none"
        print(f"note: {args.results} has no rows of the lifter {args.lifter[:60]!r}{'...' * (len(args.lifter) > 60)}"
              f" (its models: {labels}): give --lifter LABEL", file=sys.stderr)
    print("\n".join(summary_rows(results, args.lifter)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
