"""What the test-time shape-basis refinement (lifter/shape_basis.py) does to a lifter's lifts, per setting.

``PYTHONPATH=. python scripts/shape_basis_check.py --data data --views train --modes 0 2 --weights 0 0.1`` fits a
basis per ``--modes`` value from the lifter's ``lift(..., shape_basis=False)`` of ``--fit-views`` training views
(seed 0, as ``python -m lifter.shape_basis`` does), lifts the checked views once without the refinement and
prints the strict error of ``lift()`` and of ``lift_with_camera`` without it and with it at each number of modes,
weight and ``--iterations`` value.

``--views train`` draws other training views with ``--seed`` (default 1; ``--hide 0.2`` hides a fifth of their
landmarks as the occluded test files do): the settings in ``lifter.shape_basis`` were chosen on these, not on the
test views. ``--views clean`` or ``occluded`` reads the test files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifter.api import load_lifter  # noqa: E402
from lifter.camera_reading import orthographic_basis_reading  # noqa: E402
from lifter.evaluate import METRIC_UNITS, score  # noqa: E402
from lifter.shape_basis import (DEFAULT_ITERATIONS, DEFAULT_SEED, DEFAULT_VIEWS, DEFAULT_WEIGHT,  # noqa: E402
                                ShapeBasis, fit_basis, refine_with_basis)
from lifter.views import TestSet, add_view_options, check_view_options, fitted_view_sets  # noqa: E402


def basis_rows(lifter, test: TestSet, bases: dict[int, ShapeBasis], weights: list[float], iterations: list[int]
               ) -> list[tuple[str, float]]:
    """``[(reading, strict error)]`` for ``test``: lift() and lift_with_camera without the refinement and with it
    for each basis (by its number of modes), weight and number of iterations of its first stage (the orthographic
    alternation; lift()'s second stage, the basis fitted through a guessed pinhole, follows with the same basis)."""
    raw = lifter.lift(test.points2d, test.category, test.visible, shape_basis=False)
    camera = test.focal is not None and test.principal is not None
    read = (lifter.read_with_camera(raw, test.points2d, test.category, test.focal, test.principal, test.visible,
                                    shape_basis=False) if camera else None)
    rows = [("lift(), no refinement", score(raw, test)["strict"])]
    pixels = np.where(test.visible[..., None], test.points2d, 0.0)
    if camera:
        rows.append(("lift_with_camera, no refinement", score(read, test)["strict"]))
    for k, basis in bases.items():
        for w in weights:
            for it in iterations:
                name = f"{k} modes, weight {w:g}, {it} iterations"
                ortho = refine_with_basis(raw, test.visible, basis, weight=w, iterations=it)
                # lift()'s second stage: the basis fitted through a guessed pinhole, read back orthographically
                ortho = orthographic_basis_reading(ortho, pixels, test.visible, test.category, basis)
                rows.append((f"lift(), {name}", score(ortho, test)["strict"]))
                if camera:
                    # what lift_with_camera does: lift()'s refinement, read through the camera, refined on the rays
                    points = lifter.read_with_camera(ortho, test.points2d, test.category, test.focal,
                                                     test.principal, test.visible, shape_basis=False)
                    points = refine_with_basis(points, test.visible, basis, points[..., :2] / points[..., 2:3],
                                               weight=w, iterations=it)
                    rows.append((f"lift_with_camera, {name}", score(points, test)["strict"]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built data files")
    parser.add_argument("--weights-file", type=Path, default=None, help="lifter weights (default: the bundled ones)")
    parser.add_argument("--categories", nargs="+", default=["face468"],
                        choices=["human17", "hand21", "face468", "chair"])
    add_view_options(parser, count=500, seed=1)
    parser.add_argument("--fit-views", type=int, default=DEFAULT_VIEWS, help="training views each basis is fitted to")
    parser.add_argument("--modes", nargs="+", type=int, default=[2], help="modes of the bases to try (>= 0)")
    parser.add_argument("--weights", nargs="+", type=float, default=[DEFAULT_WEIGHT],
                        help="weights of the lifter's depths to try (>= 0)")
    parser.add_argument("--iterations", nargs="+", type=int, default=[DEFAULT_ITERATIONS],
                        help="alignment / depth alternations to try (>= 1)")
    args = parser.parse_args(argv)
    if any(w < 0 for w in args.weights) or any(k < 0 for k in args.modes) or any(i < 1 for i in args.iterations):
        parser.error("--weights and --modes must be >= 0 and --iterations >= 1")
    check_view_options(parser, args)
    if args.count < 1 or args.fit_views <= max(args.modes):
        parser.error("--count must be at least 1 and --fit-views more than the largest --modes")
    lifter = load_lifter(args.weights_file, device="cpu")                   # None: the bundled weights
    print(f"| category ({args.views} views) | reading | strict |")
    print("|---|---|---|")
    for category, fit, test in fitted_view_sets(args, args.fit_views, DEFAULT_SEED, blanks=1):
        lifts = lifter.lift(fit.points2d, category, fit.visible, shape_basis=False)
        bases = {k: fit_basis(lifts, k) for k in args.modes}
        for reading, error in basis_rows(lifter, test, bases, args.weights, args.iterations):
            print(f"| {category} ({len(test.points2d)}) | {reading} | {error:.2f} {METRIC_UNITS[category]} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
