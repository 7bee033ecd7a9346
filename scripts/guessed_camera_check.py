"""How ``lift_with_camera`` does without intrinsics: the camera guessed from the landmarks, against the true one.

``PYTHONPATH=. python scripts/guessed_camera_check.py --data data --views train --spans 0.3 0.45 0.6 --lens 1 2 4``
lifts each checked view once (``lift()``, the API's defaults) and prints, per category and lens factor, the strict
error (``lifter.evaluate.score``) of

- ``lift()``: the orthographic reading (x, y are the input pixels);
- ``lift_with_camera`` with the views' true intrinsics;
- ``lift_with_camera`` through a guessed camera for each ``--spans`` value: principal point at the 2D
  bounding-box centre of every landmark where ``lift()`` puts it (hidden ones at their predicted pixels), focal
  length the box's larger side over the span
  (:func:`lifter.geometry.guessed_pinhole_of_lift`); the API guesses with ``lifter.symmetry.DEFAULT_SPAN_OVER_FOCAL``
  (0.45), so that column is ``lift_with_camera(points2d, category, visible=visible)``, and each other span's is the
  same reading with the guess made at that span (:func:`guess_span`): for faces (a category with a shape basis) the
  guess only starts an estimate of the focal length, at every span.

``--lens k`` shows the same views from ``k`` times farther with a ``k`` times longer lens: each view's true
camera-frame points move away along the optical axis by ``k - 1`` times their mean depth and are projected with ``k``
times the focal length (the same principal point and 2D noise), so the subject keeps its size in the image and
loses perspective; ``k = 1`` is the views as built (focal 1.0-1.5 x the 1,000 px width, the subject 40-80 % of
it). The guess assumes a subject spanning 0.45 of a focal length, which a long lens breaks: this measures how much.

``--views train`` (default) draws ``--count`` training views with ``--seed`` (default 1; ``--hide 0.2`` hides a
fifth of their landmarks as the occluded test files do); ``--views clean`` or ``occluded`` reads the test files.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lifter.camera_reading as camera_reading  # noqa: E402
from lifter.api import load_lifter  # noqa: E402
from lifter.evaluate import METRIC_UNITS, score  # noqa: E402
from lifter.geometry import project_perspective  # noqa: E402
from lifter.symmetry import DEFAULT_SPAN_OVER_FOCAL  # noqa: E402
from lifter.views import TestSet, check_parser, check_view_options, checked_views  # noqa: E402


def farther(test: TestSet, k: float) -> TestSet:
    """``test``'s views seen from ``k`` times farther with a ``k`` times longer lens (module docstring): the same
    principal points and 2D noise, the subject the same size in the image; ``points3d`` moved with the camera."""
    if k == 1:
        return test
    pts3 = np.asarray(test.points3d, dtype=np.float64)
    present = test.present & np.isfinite(pts3).all(-1)
    mean = np.where(present[..., None], pts3, 0.0).sum(1) / present.sum(1)[:, None]        # (B, 3)
    filled = np.where(present[..., None], pts3, mean[:, None])                               # absent: the mean
    noise = test.points2d - project_perspective(filled, test.focal, test.principal)          # NaN where hidden
    moved = filled + np.array([0.0, 0.0, 1.0]) * ((k - 1) * mean[:, 2])[:, None, None]      # along the axis
    focal = k * np.asarray(test.focal, dtype=np.float64)
    points2d = project_perspective(moved, focal, test.principal) + noise
    return replace(test, points2d=np.where(test.visible[..., None], points2d, np.nan),
                   points3d=np.where(present[..., None], moved, np.nan), focal=focal)


@contextmanager
def guess_span(span: float) -> Iterator[None]:
    """Within it, ``lift_with_camera`` / ``read_with_camera`` without intrinsics guess the camera at ``span``
    (:data:`lifter.camera_reading.DEFAULT_SPAN_OVER_FOCAL`) instead of 0.45; ``lift()``'s own refinements keep
    theirs."""
    shipped = camera_reading.DEFAULT_SPAN_OVER_FOCAL
    camera_reading.DEFAULT_SPAN_OVER_FOCAL = span
    try:
        yield
    finally:
        camera_reading.DEFAULT_SPAN_OVER_FOCAL = shipped


def guess_rows(lifter, test: TestSet, spans: list[float]) -> list[tuple[str, float]]:
    """``[(reading, strict error)]`` of ``test``: lift(), lift_with_camera with the true intrinsics and with the
    camera guessed at each span (one lift, read by ``read_with_camera`` as ``lift_with_camera`` reads it)."""
    lift = lifter.lift(test.points2d, test.category, test.visible)
    rows = [("lift()", score(lift, test)["strict"])]
    if test.focal is not None and test.principal is not None:
        true = lifter.read_with_camera(lift, test.points2d, test.category, test.focal, test.principal, test.visible)
        rows.append(("true intrinsics", score(true, test)["strict"]))
    for span in spans:
        with guess_span(span):                   # the API's own reading, its guess made at this span
            guessed = lifter.read_with_camera(lift, test.points2d, test.category, visible=test.visible)
        rows.append((f"guessed, span {span:g}", score(guessed, test)["strict"]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = check_parser(__doc__.splitlines()[0], count=1000, seed=1)
    parser.add_argument("--spans", nargs="+", type=float, default=[DEFAULT_SPAN_OVER_FOCAL],
                        help="guessed ratios of the landmarks' 2D extent to the focal length (> 0)")
    parser.add_argument("--lens", nargs="+", type=float, default=[1.0],
                        help="lens factors k >= 1: the views seen from k times farther with a k times longer lens")
    args = parser.parse_args(argv)
    if any(s <= 0 for s in args.spans) or any(k < 1 for k in args.lens):
        parser.error("--spans must be > 0 and --lens >= 1")
    check_view_options(parser, args)
    if args.count < 1:
        parser.error("--count must be at least 1")
    lifter = load_lifter(args.weights, device="cpu")                        # None: the bundled weights
    header = ["lift()", "true intrinsics"] + [f"guessed, span {s:g}" for s in args.spans]
    print(f"| category ({args.views} views) | lens | " + " | ".join(header) + " |")
    print("|---|---|" + "---|" * len(header))
    for category in args.categories:
        test = checked_views(args.data, category, args.views, args.count, args.seed, args.hide)
        if test is None or test.focal is None or test.principal is None:
            print(f"| {category} | (no {category} files with cameras in {args.data}) |")
            continue
        for k in args.lens:
            rows = dict(guess_rows(lifter, farther(test, k), args.spans))
            unit = METRIC_UNITS[category]
            print(f"| {category} ({len(test.points2d)}) | {k:g} | "
                  + " | ".join(f"{rows[h]:.2f} {unit}" for h in header) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
