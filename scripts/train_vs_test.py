"""A lifter's error on its own training views against the test views: does a category overfit?

For each lifter and category, the strict error (``lifter.evaluate.score``, mirror averaging and completion as
``lift()`` does by default) on ``--views`` training views drawn at random (with ``--seed``) from
``<category>_train.npz``, and on the clean test views ``<category>_test.npz``. A model that memorises its
training shapes reads much better on the first than on the second; one whose error rises on both as training
goes on is being moved away from the true 3D by its training objective, not overfitting. The figures are read
from the files' ``points3d``, which only evaluation touches.

Usage:

    PYTHONPATH=. python scripts/train_vs_test.py --data data [--model LABEL=PATH ...] [--categories chair ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lifter.api import load_lifter
from lifter.evaluate import METRIC_UNITS, parse_models, score
from lifter.views import CATEGORY_ORDER, load_test_set, training_views


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built data files")
    parser.add_argument("--model", action="append", metavar="LABEL=PATH",
                        help="lifter weights to measure (repeatable; default: the bundled ones)")
    parser.add_argument("--categories", nargs="+", default=list(CATEGORY_ORDER), choices=CATEGORY_ORDER)
    parser.add_argument("--views", type=int, default=1000, help="training views drawn per category (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training views' draw")
    args = parser.parse_args(argv)
    if args.views < 1:
        parser.error("--views must be at least 1")
    try:
        models = parse_models(args.model) if args.model else {"bundled": None}
    except ValueError as e:
        parser.error(str(e))

    views = {c: (training_views(args.data, c, args.views, args.seed), load_test_set(args.data, c, "clean"))
             for c in args.categories}                               # read once, measured for every lifter
    print("| lifter | category | training views | test views (clean) | training / test |")
    print("|---|---|---|---|---|")
    for label, path in models.items():
        lifter = load_lifter(path, device="cpu")
        for category in args.categories:
            train, test = views[category]
            if train is None or test is None:
                print(f"| {label} | {category} | (no {category} training or test file in {args.data}) | | |")
                continue
            unit = METRIC_UNITS[category]
            e_train = score(lifter.lift(train.points2d, category, train.visible), train)["strict"]
            e_test = score(lifter.lift(test.points2d, category, test.visible), test)["strict"]
            print(f"| {label} | {category} | {e_train:.2f} {unit} ({len(train.points2d)}) | "
                  f"{e_test:.2f} {unit} ({len(test.points2d)}) | {e_train / e_test:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
