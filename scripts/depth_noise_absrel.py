"""The AbsRel the depth baseline's noisy maps really have on the subject, against the level that names them.

``lifter.baselines.noise.add_depth_noise(depth, absrel, rng)`` scales its multiplicative noise so that the noise
alone has the AbsRel ``absrel``; its blur across depth edges (step 2 of the error model) comes on top, and pulls
thin parts (limbs, fingers, a nose) towards the backdrop. This script renders the benchmark's depth oracle of test
views as ``python -m lifter.evaluate`` does (``DepthBenchmarkConfig``: maps at half the image size), degrades each
at every level with and without the blur, and prints the mean AbsRel over the subject's pixels (the oracle's
surface), the noisy map's scale aligned to the oracle by the median ratio, as AbsRel is measured.

``PYTHONPATH=. python scripts/depth_noise_absrel.py --data data [--views 8] [--categories human17 hand21 face468]``
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifter.baselines.benchmark import NOISE_LEVELS, DepthBenchmarkConfig, load_intrinsics, view_subset  # noqa: E402
from lifter.baselines.lift import scaled_camera  # noqa: E402
from lifter.baselines.noise import add_depth_noise, surface_absrel  # noqa: E402
from lifter.baselines.render import SURFACE_CATEGORIES, render_depth  # noqa: E402
from lifter.views import load_test_set  # noqa: E402


def category_rows(data: Path, category: str, views: int, levels: list[float], seed: int,
                  config: DepthBenchmarkConfig = DepthBenchmarkConfig()) -> list[dict]:
    """One row per level: ``{"level", "with_blur", "without_blur"}`` mean surface AbsRel over ``views`` evenly
    spaced clean test views of ``category``. Raises ValueError when its test file is missing."""
    tests, cams = load_test_set(data, category, "clean"), load_intrinsics(data, category, "clean")
    if tests is None or cams is None:
        raise ValueError(f"no clean test file of {category} in {data} (python -m lifter.data build)")
    no_blur = replace(config.noise, blur_per_absrel=0.0)
    rows = []
    for level in levels:
        blurred, sharp = [], []
        for v in view_subset(len(tests.points3d), views):
            f, pp, _, size = scaled_camera(cams["focal"][v], cams["principal"][v], tests.points2d[v],
                                           cams["image_size"], config.render_scale)
            oracle = render_depth(category, tests.points3d[v], tests.present[v], f, pp, size)
            for noise, out in ((config.noise, blurred), (no_blur, sharp)):
                out.append(surface_absrel(oracle, add_depth_noise(oracle, level, np.random.default_rng((seed, v)),
                                                                  noise)))
        rows.append({"level": level, "with_blur": float(np.mean(blurred)), "without_blur": float(np.mean(sharp))})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/depth_noise_absrel.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="the built test files (default: data)")
    parser.add_argument("--views", type=int, default=8, help="clean test views per category, evenly spaced")
    parser.add_argument("--categories", nargs="+", default=list(SURFACE_CATEGORIES), choices=SURFACE_CATEGORIES)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.views < 1:
        parser.error(f"--views takes a positive count, got {args.views}")
    levels = [a for a in NOISE_LEVELS if a > 0]
    print("| category | " + " | ".join(f"level {100 * a:g} %" for a in levels) + " |")
    print("|---|" + "---|" * len(levels))
    for category in args.categories:
        try:
            rows = category_rows(args.data, category, args.views, levels, args.seed)
        except ValueError as e:
            parser.error(str(e))
        cells = [f"{100 * r['with_blur']:.1f} % ({100 * r['without_blur']:.1f} %)" for r in rows]
        print(f"| {category} | " + " | ".join(cells) + " |")
    print("\nEach cell: the mean AbsRel over the subject's pixels, with the error model's edge blur (without it).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
