"""The faces' camera readings with and without fitting the shape basis through the pinhole, per reading.

``PYTHONPATH=. python scripts/pinhole_fit_check.py --data data --views train`` reads ``--count`` views (training
views drawn with ``--seed``, default 1; ``--views clean`` or ``occluded`` reads the test files) with the bundled
lifter and the shape bases of ``--bases`` (default the bundled ones) and prints the strict error of:

- ``lift()`` (orthographic; its refinement with the basis is the 3D alternation of ``refine_with_basis``);
- with the true intrinsics: no basis; the basis's 3D alternation along the pixels' rays (the camera reading before
  the pinhole fit); the basis fitted to the pixels through the camera (``lift_with_camera``);
- without intrinsics, from the camera guessed from the landmarks: no basis; the pinhole fit with the guessed focal
  length held; the pinhole fit with the focal length estimated (``lift_with_camera`` without intrinsics), and the
  median relative error of that estimate against the true focal length.

The settings in ``lifter.shape_basis`` were chosen on training views, not on the test views.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifter.api import load_lifter  # noqa: E402
from lifter.evaluate import METRIC_UNITS, score  # noqa: E402
from lifter.geometry import guessed_pinhole_of_lift, visible_centroid  # noqa: E402
from lifter.shape_basis import DEFAULT_BASES, ShapeBasis, fit_to_pixels, load_bases, refine_with_basis  # noqa: E402
from lifter.symmetry import DEFAULT_SPAN_OVER_FOCAL  # noqa: E402
from lifter.views import TestSet, add_view_options, check_view_options, checked_views  # noqa: E402


def reading_rows(lifter, test: TestSet, basis: ShapeBasis) -> list[tuple[str, float]]:
    """``[(reading, strict error)]`` of ``test`` (module docstring), the last row the focal length estimate's
    median relative error in %."""
    pts = np.where(test.visible[..., None], test.points2d, 0.0)
    vis = test.visible
    lifter.bases[test.category] = basis
    lift = lifter.lift(pts, test.category, vis)
    rows = [("lift()", score(lift, test)["strict"])]

    def read(focal: np.ndarray, principal: np.ndarray) -> np.ndarray:
        return lifter.read_with_camera(lift, pts, test.category, focal, principal, vis, shape_basis=False)

    plain = read(test.focal, test.principal)
    rays = refine_with_basis(plain, vis, basis, plain[..., :2] / plain[..., 2:3])
    known = lifter.read_with_camera(lift, pts, test.category, test.focal, test.principal, vis)
    rows += [("true intrinsics, no basis", score(plain, test)["strict"]),
             ("true intrinsics, 3D alternation along the rays", score(rays, test)["strict"]),
             ("true intrinsics, fitted through the pinhole (lift_with_camera)", score(known, test)["strict"])]
    principal, kappa = guessed_pinhole_of_lift(lift, pts, vis, DEFAULT_SPAN_OVER_FOCAL)
    guessed = read(1.0 / kappa, principal)
    held, _ = fit_to_pixels(guessed, pts, vis, basis, 1.0 / kappa, principal, estimate_focal=False)
    fitted, focal = fit_to_pixels(guessed, pts, vis, basis, 1.0 / kappa, principal, estimate_focal=True)
    api = lifter.read_with_camera(lift, pts, test.category, None, None, vis)
    scale = (focal / visible_centroid(fitted[..., 2:3], vis)[:, 0])[:, None, None]
    assert np.allclose(api, fitted * scale, rtol=1e-4, atol=1e-3 * np.abs(api).max())   # the API's reading
    rows += [("guessed camera, no basis", score(guessed, test)["strict"]),
             ("guessed camera, fitted through the pinhole, focal length held", score(held, test)["strict"]),
             ("guessed camera, fitted through the pinhole, focal length estimated (lift_with_camera)",
              score(fitted, test)["strict"]),
             ("focal length estimate: median relative error (%)",
              float(np.median(np.abs(focal / test.focal - 1)) * 100))]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built data files")
    parser.add_argument("--bases", type=Path, default=DEFAULT_BASES, help="shape bases file")
    add_view_options(parser, count=500, seed=1)
    args = parser.parse_args(argv)
    check_view_options(parser, args)
    if args.count < 1:
        parser.error("--count must be at least 1")
    lifter = load_lifter(device="cpu")
    bases = load_bases(args.bases)
    print(f"| category ({args.views} views) | reading | strict |")
    print("|---|---|---|")
    for category, basis in bases.items():
        test = checked_views(args.data, category, args.views, args.count, args.seed, args.hide)
        if test is None:
            print(f"| {category} | (no {category} files in {args.data}) | |")
            continue
        for reading, error in reading_rows(lifter, test, basis):
            unit = "%" if reading.startswith("focal") else METRIC_UNITS[category]
            print(f"| {category} ({len(test.points2d)}) | {reading} | {error:.2f} {unit} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
