"""What the test-time symmetry refinement (lifter/symmetry.py) does to a lifter's lifts, per weight.

``PYTHONPATH=. python scripts/symmetry_check.py --data data --views train --weights 0.1 0.3 1 ...`` lifts the
views of each symmetric category (``chair``, ``face468``) once with ``lift(..., symmetrize=False)`` and prints the
strict error of:

- ``lift()`` without the refinement, and with it at each ``--weights`` value (the camera guessed from the 2D
  extent, ``--span`` its ratio to the focal length);
- ``lift_with_camera`` without the refinement, and with it at each weight (``lift()``'s refinement, then the
  refinement again with the view's own camera, hidden landmarks filled from their partners' reflections: what
  ``lift_with_camera`` does);
- on views with hidden landmarks, each also the other way of treating them: ``lift()`` with the hidden landmarks
  replaced by their partners' reflections (through the guessed camera), ``lift_with_camera`` without.

Faces are read without the shape-basis steps (``shape_basis=False``), which in ``lift()`` and ``lift_with_camera``
follow the symmetry refinement: the rows measure the refinement alone, and face rows equal the API's lifts with
``shape_basis=False`` (with the steps, ``lift()``'s faces read through the basis fitted at a pinhole instead).

``--views train`` draws views of the training shapes with seed 0 (``scripts/train_vs_test.py``'s draw; ``--hide
0.2`` hides a fifth of their landmarks as the occluded test files do): the weights in
``lifter.symmetry.DEFAULT_WEIGHTS`` and the treatment of hidden landmarks were chosen on these, not on the test
views. ``--views clean`` or ``occluded`` reads the test files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifter.api import load_lifter  # noqa: E402
from lifter.evaluate import METRIC_UNITS, parse_models, score  # noqa: E402
from lifter.geometry import visible_centroid  # noqa: E402
from lifter.symmetry import DEFAULT_ITERATIONS, DEFAULT_SPAN_OVER_FOCAL, refine_lift  # noqa: E402
from lifter.views import TestSet, add_view_options, check_view_options, load_test_set, training_views  # noqa: E402


def symmetry_rows(lifter, test: TestSet, weights: list[float], span: float, iterations: int = DEFAULT_ITERATIONS
                  ) -> list[tuple[str, float]]:
    """``[(reading, strict error)]`` for ``test``: lift() and lift_with_camera (without the shape-basis steps),
    without the refinement and with it at each weight."""
    raw = lifter.lift(test.points2d, test.category, test.visible, symmetrize=False, shape_basis=False)
    centre = visible_centroid(np.where(test.visible[..., None], test.points2d, 0.0), test.visible)

    def camera(lift: np.ndarray, weight: float | None, fill: bool = True) -> np.ndarray:
        if weight is not None:
            lift = refine_lift(lift, centre, test.visible, test.category, test.focal, test.principal, weight,
                               fill_hidden=fill, iterations=iterations)
        return lifter.read_with_camera(lift, test.points2d, test.category, test.focal, test.principal,
                                       test.visible, symmetrize=False, shape_basis=False)

    def refined(w: float, fill: bool = False) -> np.ndarray:
        return refine_lift(raw, centre, test.visible, test.category, weight=w, span_over_focal=span,
                           fill_hidden=fill, iterations=iterations)

    hidden = bool((test.present & ~test.visible).any())               # landmarks there but not seen
    rows = [("lift(), no refinement", score(raw, test)["strict"])]
    for w in weights:
        rows.append((f"lift(), weight {w:g}", score(refined(w), test)["strict"]))
        if hidden:
            rows.append((f"lift(), weight {w:g}, hidden landmarks filled", score(refined(w, True), test)["strict"]))
    if test.focal is None or test.principal is None:
        return rows
    rows.append(("lift_with_camera, no refinement", score(camera(raw, None), test)["strict"]))
    for w in weights:
        rows.append((f"lift_with_camera, weight {w:g}", score(camera(refined(w), w), test)["strict"]))
        if hidden:
            rows.append((f"lift_with_camera, weight {w:g}, hidden landmarks not filled",
                         score(camera(refined(w), w, fill=False), test)["strict"]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built data files")
    parser.add_argument("--model", action="append", metavar="LABEL=PATH",
                        help="lifter weights to check (repeatable; default: the bundled ones)")
    parser.add_argument("--categories", nargs="+", default=["chair", "face468"], choices=["chair", "face468"])
    add_view_options(parser, count=2000, seed=0)
    parser.add_argument("--weights", nargs="+", type=float, default=[0.1, 0.3, 1.0],
                        help="weights of the network's depths to try (> 0)")
    parser.add_argument("--span", type=float, default=DEFAULT_SPAN_OVER_FOCAL,
                        help="lift()'s guessed 2D extent over focal length")
    parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS,
                        help="plane / depth alternations of the refinement")
    args = parser.parse_args(argv)
    if any(w <= 0 for w in args.weights):
        parser.error(f"--weights must be positive, got {args.weights}")
    check_view_options(parser, args)
    if args.iterations < 1:
        parser.error(f"--iterations must be at least 1, got {args.iterations}")
    if args.count < 1:
        parser.error(f"--count must be at least 1, got {args.count}")
    try:
        models = parse_models(args.model) if args.model else {"bundled": None}
    except ValueError as e:
        parser.error(str(e))
    tests = {}
    for category in args.categories:
        tests[category] = (training_views(args.data, category, args.count, args.seed) if args.views == "train"
                           else load_test_set(args.data, category, args.views))
    if args.hide:
        rng = np.random.default_rng(args.seed)
        for t in tests.values():
            if t is not None:
                t.hide(args.hide, rng)
    if all(t is None for t in tests.values()):
        parser.error(f"no {args.views} files for {', '.join(args.categories)} in {args.data}: run `python -m "
                     f"lifter.data build --source ../shared/data --out {args.data}` first")
    print(f"| lifter | category ({args.views} views) | reading | strict |")
    print("|---|---|---|---|")
    for label, path in models.items():
        lifter = load_lifter(path, device="cpu")
        for category, test in tests.items():
            if test is None:
                print(f"| {label} | {category} | (no {args.views} file in {args.data}) | |")
                continue
            for reading, error in symmetry_rows(lifter, test, args.weights, args.span, args.iterations):
                print(f"| {label} | {category} ({len(test.points2d)}) | {reading} | {error:.2f} "
                      f"{METRIC_UNITS[category]} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
