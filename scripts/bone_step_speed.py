"""The bone-length step's speed: the torch version ``lift()`` runs against the numpy one of an earlier commit.

``PYTHONPATH=. python scripts/bone_step_speed.py [--against f0a3431] [--repeats 7]`` times
:func:`lifter.bone_lengths.refine_lift_torch` (on CPU tensors, and on CUDA when present) and the numpy
``refine_lift`` of ``lifter/bone_lengths.py`` at the git revision ``--against`` (the last numpy one: f0a3431), on
the shipped ``human17`` and ``hand21`` proportions, one pose and 4,096 poses of random depths at a time, the two
interleaved in one process; prints the medians, the poses per second and the ratio, and the largest difference
between the two outputs (the same step; the numpy one returns float32, so: float32 rounding). It needs git and the
repository's history (not the data).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lifter.bone_lengths import DEFAULT_PROPORTIONS, load_proportions, refine_lift_torch  # noqa: E402


def module_at(revision: str, path: str) -> types.ModuleType:
    """The Python module ``path`` of the repository as it was at git ``revision`` (imports resolve to today's)."""
    source = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout
    module = types.ModuleType(f"{Path(path).stem}_at_{revision}")
    module.__file__ = str(ROOT / path)
    exec(compile(source, f"{revision}:{path}", "exec"), module.__dict__)  # noqa: S102  (our own history)
    return module


def median_seconds(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, after one warm-up call (CUDA synchronised)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="f0a3431", help="git revision of the numpy bone-length step")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per row (the 1-pose rows: 100x)")
    args = parser.parse_args(argv)
    old = module_at(args.against, "lifter/bone_lengths.py")
    proportions = load_proportions(DEFAULT_PROPORTIONS)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy step from {args.against}")
    for category, n in (("human17", 17), ("hand21", 21)):
        for poses in (1, 4096):
            lift = rng.normal(size=(poses, n, 3)) * 100
            centre = rng.normal(size=(poses, 2)) * 50
            vis = np.ones((poses, n), bool)
            repeats = args.repeats * (100 if poses == 1 else 1)
            ref = old.refine_lift(lift, centre, vis, proportions[category], 0.1)
            t_numpy = median_seconds(lambda: old.refine_lift(lift, centre, vis, proportions[category], 0.1),
                                     repeats)
            for device in devices:
                tensors = [torch.as_tensor(a, device=device) for a in (lift, centre, vis)]
                out = refine_lift_torch(*tensors, proportions[category], 0.1).cpu().numpy()
                t_torch = median_seconds(lambda: refine_lift_torch(*tensors, proportions[category], 0.1), repeats)
                print(f"{category:8} {poses:5} poses  numpy {t_numpy * 1e3:8.3f} ms ({poses / t_numpy:9,.0f}/s)  "
                      f"torch {device:4} {t_torch * 1e3:8.3f} ms ({poses / t_torch:11,.0f}/s)  "
                      f"numpy/torch {t_numpy / t_torch:5.2f}x  max |diff| {np.abs(out - ref).max():.2g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
