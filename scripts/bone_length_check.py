"""What the test-time bone-length refinement (lifter/bone_lengths.py) does to a lifter's lifts, per setting.

``PYTHONPATH=. python scripts/bone_length_check.py --data data --views train --weights 0.03 0.1 --iterations 1 3``
fits the bone proportions from the lifter's ``lift(..., bone_lengths=False)`` of ``--fit-views`` training views
(seed 0, as ``python -m lifter.bone_lengths`` does), lifts the checked views once without the refinement and prints
the strict error of ``lift()`` and of ``lift_with_camera`` without it and with it at each weight, ``--hinge-weights``
value (the finger hinges of :mod:`lifter.hinges`, hands only; 0: none) and ``--iterations`` value
(``lift_with_camera`` as the API runs it: ``lift()``'s refinement through the guessed camera, the pinhole reading,
the refinement again along the true rays, both at the same setting). Each left out, the category's shipped value
(``lifter.bone_lengths.category_settings``).

``--views train`` draws other training views with ``--seed`` (default 1; ``--hide 0.2`` hides a fifth of their
landmarks as the occluded test files do): the settings in ``lifter.bone_lengths`` were chosen on these, not on the
test views. ``--views clean`` or ``occluded`` reads the test files.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifter.api import load_lifter  # noqa: E402
from lifter.bone_lengths import (BoneProportions, DEFAULT_SEED, DEFAULT_VIEWS, DEFAULT_WEIGHTS,  # noqa: E402
                                 category_edges, category_settings, fit_proportions, refine_bone_lengths, refine_lift)
from lifter.evaluate import METRIC_UNITS, score  # noqa: E402
from lifter.geometry import visible_centroid  # noqa: E402
from lifter.hinges import category_hinges  # noqa: E402
from lifter.mirroring import mirror_permutation  # noqa: E402
from lifter.views import TestSet, add_view_options, check_view_options, fitted_view_sets  # noqa: E402


def bone_rows(lifter, test: TestSet, proportions: BoneProportions, weights: list[float], iterations: list[int],
              hinge_weights: tuple[float, ...] = (0.0,)) -> list[tuple[str, float]]:
    """``[(reading, strict error)]`` for ``test``: lift() and lift_with_camera without the refinement and with it
    for each weight, hinge weight (0: no hinges; others: the category's :func:`lifter.hinges.category_hinges`) and
    number of Gauss-Newton steps."""
    hinges = category_hinges(test.category)
    raw = lifter.lift(test.points2d, test.category, test.visible, bone_lengths=False)
    camera = test.focal is not None and test.principal is not None
    rows = [("lift(), no refinement", score(raw, test)["strict"])]
    if camera:
        read = lifter.read_with_camera(raw, test.points2d, test.category, test.focal, test.principal, test.visible,
                                       bone_lengths=False)
        rows.append(("lift_with_camera, no refinement", score(read, test)["strict"]))
    pts = np.where(test.visible[..., None], test.points2d, 0.0)
    centre = visible_centroid(pts, test.visible)
    for w, h, it in itertools.product(weights, hinge_weights, iterations):
        name = f"weight {w:g}{f', hinge {h:g}' if h else ''}, {it} step{'s' if it > 1 else ''}"
        setting = {"weight": w, "iterations": it, "hinges": hinges if h else None, "hinge_weight": h}
        ortho = refine_lift(raw, centre, test.visible, proportions, **setting)
        rows.append((f"lift(), {name}", score(ortho, test)["strict"]))
        if camera:
            points = lifter.read_with_camera(ortho, test.points2d, test.category, test.focal, test.principal,
                                             test.visible, bone_lengths=False)
            points = refine_bone_lengths(points, test.visible, proportions, points[..., :2] / points[..., 2:3],
                                         **setting)
            rows.append((f"lift_with_camera, {name}", score(points, test)["strict"]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built data files")
    parser.add_argument("--weights-file", type=Path, default=None, help="lifter weights (default: the bundled ones)")
    parser.add_argument("--categories", nargs="+", default=sorted(DEFAULT_WEIGHTS), choices=["human17", "hand21"])
    add_view_options(parser, count=500, seed=1)
    parser.add_argument("--fit-views", type=int, default=DEFAULT_VIEWS, help="training views the proportions come from")
    parser.add_argument("--weights", nargs="+", type=float, default=None,
                        help="weights of the lifter's depths to try (> 0; default: each category's shipped one)")
    parser.add_argument("--iterations", nargs="+", type=int, default=None,
                        help="Gauss-Newton steps to try (>= 1; default: each category's shipped number)")
    parser.add_argument("--hinge-weights", nargs="+", type=float, default=None,
                        help="weights of the finger hinges to try (>= 0, 0: none; hands only; default: the "
                             "shipped one)")
    parser.add_argument("--unpaired", action="store_true",
                        help="fit each edge's proportion on its own, not averaged with its mirror edge's (the "
                             "shipped fit averages them, which keeps lift() exactly mirror-equivariant)")
    args = parser.parse_args(argv)
    if ((args.weights and any(w <= 0 for w in args.weights)) or any(i < 1 for i in args.iterations or [1])
            or any(h < 0 for h in args.hinge_weights or [0])):
        parser.error("--weights must be > 0, --hinge-weights >= 0 and --iterations >= 1")
    check_view_options(parser, args)
    if args.count < 1 or args.fit_views < 1:
        parser.error("--count and --fit-views must be at least 1")
    lifter = load_lifter(args.weights_file, device="cpu")                   # None: the bundled weights
    print(f"| category ({args.views} views) | reading | strict |")
    print("|---|---|---|")
    for category, fit, test in fitted_view_sets(args, args.fit_views, DEFAULT_SEED, blanks=1):
        lifts = lifter.lift(fit.points2d, category, fit.visible, bone_lengths=False)
        mirror = None if args.unpaired else mirror_permutation(category)
        proportions = fit_proportions(lifts, fit.visible, category_edges(category), mirror)
        shipped = category_settings(category)
        hinge_weights = (args.hinge_weights or [shipped["hinge_weight"]]) if category_hinges(category) else [0.0]
        for reading, error in bone_rows(lifter, test, proportions, args.weights or [shipped["weight"]],
                                        args.iterations or [shipped["iterations"]], hinge_weights):
            print(f"| {category} ({len(test.points2d)}) | {reading} | {error:.2f} {METRIC_UNITS[category]} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
