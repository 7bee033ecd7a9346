"""Render timing: ``python -m lifter.baselines.timing [--data data/] [--size 512] [--views 50]``.

Renders the oracle depth of test views of each category with a surface at ``size`` x ``size`` px (the protocol
camera scaled by the half-pixel rule) and prints the median and 90th percentile per sample, wall-clock and CPU
time of the process (the CPU figure is the one to read on a loaded machine), plus the time of the error model
(:func:`add_depth_noise` at 5 %) on the same maps.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from lifter.baselines.noise import add_depth_noise
from lifter.baselines.render import SURFACE_CATEGORIES, render_depth
from lifter.views import DataFileError, read_data_file


def time_category(data: Path, category: str, size: int, views: int) -> dict | None:
    path = Path(data) / f"{category}_test.npz"
    if not path.exists():
        return None
    f = read_data_file(path, category, ("points2d", "points3d", "present", "camera_focal", "camera_principal",
                                        "image_size"))
    pts, present, focal, principal, image = (f["points3d"], f["present"], f["camera_focal"], f["camera_principal"],
                                             f["image_size"])
    s = size / float(image[0])
    idx = np.unique(np.linspace(0, len(pts) - 1, views).round().astype(int))
    render_depth(category, pts[0], present[0], focal[0] * s, (principal[0] + 0.5) * s - 0.5, (size, size))
    t_render, t_cpu, t_noise = [], [], []
    rng = np.random.default_rng(0)
    for i in idx:
        t, c = time.perf_counter(), time.process_time()
        d = render_depth(category, pts[i], present[i], focal[i] * s, (principal[i] + 0.5) * s - 0.5, (size, size))
        t_render.append(time.perf_counter() - t)
        t_cpu.append(time.process_time() - c)
        t = time.perf_counter()
        add_depth_noise(d, 0.05, rng)
        t_noise.append(time.perf_counter() - t)
    ms = lambda v, q: round(1000 * float(np.percentile(v, q)), 1)  # noqa: E731
    return {"category": category, "size": size, "views": len(idx), "render_ms_p50": ms(t_render, 50),
            "render_ms_p90": ms(t_render, 90), "render_cpu_ms_p50": ms(t_cpu, 50), "render_cpu_ms_p90": ms(t_cpu, 90),
            "render_cpu_ms_max": ms(t_cpu, 100), "noise_ms_p50": ms(t_noise, 50)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifter.baselines.timing", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built test files")
    parser.add_argument("--size", type=int, default=512, help="depth-map side, px (default 512)")
    parser.add_argument("--views", type=int, default=50, help="test views timed per category (default 50)")
    args = parser.parse_args(argv)
    for flag, value in (("--size", args.size), ("--views", args.views)):
        if value < 1:
            parser.error(f"{flag} must be at least 1, got {value}")
    if not any((args.data / f"{c}_test.npz").exists() for c in SURFACE_CATEGORIES):
        parser.error(f"--data {args.data} holds no test file of {', '.join(SURFACE_CATEGORIES)}: build them with "
                     f"python -m lifter.data build --source ../shared/data --out {args.data}")
    for category in SURFACE_CATEGORIES:
        try:
            r = time_category(args.data, category, args.size, args.views)
        except DataFileError as e:
            parser.exit(1, f"{parser.prog}: error: {e}\n")
        if r is None:
            print(f"{category}: no {args.data}/{category}_test.npz (build the data first)")
        else:
            print(f"{category:8} {r['size']}x{r['size']}: render wall p50 {r['render_ms_p50']} ms, p90 "
                  f"{r['render_ms_p90']} ms; CPU p50 {r['render_cpu_ms_p50']} ms, p90 {r['render_cpu_ms_p90']} ms, "
                  f"max {r['render_cpu_ms_max']} ms; noise (5 %) p50 {r['noise_ms_p50']} ms ({r['views']} views)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
