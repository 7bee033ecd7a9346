"""How ``lift_with_camera`` depends on the focal length it is given, measured on the built test files.

*Known intrinsics* in docs/using-the-lifter.md quotes these figures. For each category (clean test views), strict
error (``lifter.evaluate.score``) of:

- ``lift()`` (the orthographic reading: x, y are the input pixels);
- ``lift_with_camera`` with each view's true focal length and principal point (the evaluate row);
- ``lift_with_camera`` with one assumed focal length for every view (the protocol's are 1,000-1,500 px on a
  1,000 px image) and the image centre as principal point: what a user with an uncalibrated camera gets.

Usage:

    PYTHONPATH=. python scripts/focal_sensitivity.py --data data [--weights W] [--focals 800 1000 1200 ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lifter.api import load_lifter
from lifter.evaluate import METRIC_UNITS, score
from lifter.views import CATEGORY_ORDER, load_test_set


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built test files")
    parser.add_argument("--weights", default=None, help="lifter weights (default: the bundled ones)")
    parser.add_argument("--categories", nargs="+", default=list(CATEGORY_ORDER), choices=CATEGORY_ORDER)
    parser.add_argument("--focals", nargs="+", type=float, default=[800, 1000, 1200, 1500, 2000, 4000],
                        help="assumed focal lengths, pixels")
    args = parser.parse_args(argv)
    lifter = load_lifter(args.weights)
    print("| category | lift() | true intrinsics | " + " | ".join(f"f = {f:g} px" for f in args.focals) + " |")
    print("|---|---|---|" + "---|" * len(args.focals))
    for category in args.categories:
        test = load_test_set(args.data, category, "clean")
        if test is None or test.focal is None:
            print(f"| {category} | no test file with cameras in {args.data} |")
            continue
        # Lift once; read_with_camera gives lift_with_camera's result from it (tests/test_api.py checks it).
        flat = lifter.lift(test.points2d, category, test.visible)
        centre = np.broadcast_to(np.asarray(test.principal).mean(0), test.principal.shape)   # the image centre

        def read(focal: np.ndarray, principal: np.ndarray) -> float:
            reading = lifter.read_with_camera(flat, test.points2d, category, focal, principal, test.visible)
            return score(reading, test)["strict"]

        errors = [score(flat, test)["strict"], read(test.focal, test.principal)]
        errors += [read(np.full(len(flat), f), centre) for f in args.focals]
        unit = METRIC_UNITS[category]
        print(f"| {category} | " + " | ".join(f"{e:.1f} {unit}" for e in errors) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
