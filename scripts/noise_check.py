"""How the lifts degrade with 2D noise: the test views' 2D perturbed as a landmark detector's would be.

The benchmark's 2D carries the renderer's own noise (Gaussian, σ uniform in 0-2 px, DESIGN.md's protocol); a
detector's landmarks on a real image, above all on a small or blurred subject, can miss by more. This
script adds Gaussian noise of standard deviation ``σ`` (each coordinate, independently) to every visible
landmark's 2D, ``σ`` given in percent of the view's own 2D RMS radius (the visible landmarks' RMS distance from
their centroid: the scale the lifter normalises by, so a percentage means the same for every image size), and
scores, strict (``lifter.evaluate.score``; the 3D ground truth read to measure only):

- ``lift()`` (the weights given, by default the bundled ones);
- ``lift_with_camera`` with the views' true intrinsics, and through the camera guessed from the landmarks;
- for a category with a shape basis (faces), ``lift_with_camera(..., fitted_shape=True)`` with the true
  intrinsics: the basis fitted to the noisy pixels, not moved onto their rays;
- a reference lifter's ``lift()`` (by default the 3D-supervised twin bundled as a reference: the same network
  trained on the true 3D, read with the same refinements);
- the floor of ``lift()``'s output form on the noisy 2D (``lifter.references.depth_only_floor``: the noisy x, y
  with the true depths): what noise costs a lift that keeps the input x, y, before any depth error.

``PYTHONPATH=. python scripts/noise_check.py --data data --views clean [--sigmas 0 1 2 5 10] [--categories ...]``
prints a table per view set, with the median 2D RMS radius in pixels so that a percentage reads as pixels (1 %
of a 200 px radius is 2 px). The noise is drawn with ``--seed`` (the same draw for every column).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifter.api import load_lifter  # noqa: E402
from lifter.evaluate import METRIC_UNITS, score  # noqa: E402
from lifter.geometry import rms_radius  # noqa: E402
from lifter.references import depth_only_floor  # noqa: E402
from lifter.views import TestSet, check_parser, check_view_options, checked_view_sets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "assets/weights/reference/supervised_3d_four_times_batches.safetensors"
COLUMNS = ("lift()", "true intrinsics", "guessed camera", "fitted shape, true intrinsics", "reference lift()",
           "floor of the output form")


def add_noise(test: TestSet, sigma_percent: float, rng: np.random.Generator) -> TestSet:
    """``test`` with Gaussian noise of standard deviation ``sigma_percent`` % of each view's visible 2D RMS radius
    added to each visible coordinate of ``points2d (B, N, 2)`` (hidden ones stay NaN); 0 returns ``test``."""
    if sigma_percent == 0:
        return test
    radius = rms_radius(np.nan_to_num(test.points2d), test.visible)                      # (B,) pixels
    noise = rng.standard_normal(test.points2d.shape) * (sigma_percent / 100 * radius)[:, None, None]
    return replace(test, points2d=np.where(test.visible[..., None], test.points2d + noise, np.nan))


def noise_rows(lifter, test: TestSet, reference=None) -> dict[str, float]:
    """``{column of COLUMNS: strict error}`` of ``test`` (already noisy), the camera columns read from the one
    ``lift()`` by ``read_with_camera`` (what ``lift_with_camera`` does); the true-intrinsics columns and the floor only
    where ``test`` has intrinsics, the fitted shape only for a category with a shape basis, the reference column
    only with a ``reference`` lifter."""
    lift = lifter.lift(test.points2d, test.category, test.visible)         # one lift, read every way

    def read(*camera, **options) -> float:
        return score(lifter.read_with_camera(lift, test.points2d, test.category, *camera, test.visible, **options),
                     test)["strict"]

    known = test.focal is not None and test.principal is not None
    rows = {COLUMNS[0]: score(lift, test)["strict"]}
    if known:
        rows[COLUMNS[1]] = read(test.focal, test.principal)
    rows[COLUMNS[2]] = read(None, None)
    if known and test.category in lifter.bases:
        rows[COLUMNS[3]] = read(test.focal, test.principal, fitted_shape=True)
    if reference is not None:
        rows[COLUMNS[4]] = score(reference.lift(test.points2d, test.category, test.visible), test)["strict"]
    if known:
        rows[COLUMNS[5]] = score(depth_only_floor(test), test)["strict"]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = check_parser(__doc__.splitlines()[0], count=600, seed=1)
    parser.add_argument("--sigmas", nargs="+", type=float, default=[0.0, 1.0, 2.0, 5.0, 10.0],
                        help="noise standard deviations, percent of each view's 2D RMS radius")
    parser.add_argument("--reference", type=Path, default=REFERENCE,
                        help="a reference lifter's weights (default: the bundled 3D-supervised twin)")
    parser.add_argument("--no-reference", action="store_true", help="leave the reference column out")
    parser.add_argument("--noise-seed", type=int, default=0, help="seed of the noise's draw")
    args = parser.parse_args(argv)
    check_view_options(parser, args)
    if args.count < 1 or any(not 0 <= s <= 100 for s in args.sigmas):
        parser.error("--count must be at least 1 and each of --sigmas in [0, 100] percent")
    lifter = load_lifter(args.weights, device="cpu")                        # None: the bundled weights
    reference = None if args.no_reference else load_lifter(args.reference, device="cpu")
    columns = [c for c in COLUMNS if (c != COLUMNS[4] or reference is not None)
               and (c != COLUMNS[3] or set(args.categories) & set(lifter.bases))]
    print(f"| category ({args.views} views) | σ, % of the 2D radius | σ, px (median) | " + " | ".join(columns)
          + " |")
    print("|---|---|---|" + "---|" * len(columns))
    for category, test in checked_view_sets(args):
        radius = float(np.median(rms_radius(np.nan_to_num(test.points2d), test.visible)))
        unit = METRIC_UNITS[category]
        for sigma in args.sigmas:
            noisy = add_noise(test, sigma, np.random.default_rng(args.noise_seed))
            rows = noise_rows(lifter, noisy, reference)
            print(f"| {category} | {sigma:g} | {sigma / 100 * radius:.1f} | "
                  + " | ".join(f"{rows[c]:.2f} {unit}" if c in rows else "—" for c in columns) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
