"""The test-time refinements' speed: the torch versions ``lift()`` runs against the numpy ones of earlier commits.

``PYTHONPATH=. python scripts/refinement_speed.py [--repeats 7] [--poses 1 4096]`` times, on the shipped priors,
one pose and many poses of random depths at a time, each torch refinement (on CPU tensors, and on CUDA when
present) against the numpy one of the last commit that had it, the two interleaved in one process:

- the bone-length step (``lifter.bone_lengths.refine_lift_torch``; bodies, hands) against ``--bones-against``
  (default f0a3431);
- the symmetry refinement (``lifter.symmetry.refine_lift_torch``; chairs, faces) and the shape-basis refinement
  (``lifter.shape_basis.refine_with_basis_torch``; faces) against ``--against`` (default 35db066), whose
  shape basis runs on that commit's numpy Procrustes too.

Prints the medians, the poses per second, the ratio and the largest difference between the two outputs (the same
computation; the numpy versions return float32, so: float32 rounding). It needs git and the repository's history
(not the data).
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

from lifter.bone_lengths import DEFAULT_PROPORTIONS, load_proportions  # noqa: E402
from lifter.bone_lengths import refine_lift_torch as bones_torch  # noqa: E402
from lifter.shape_basis import DEFAULT_BASES, load_bases, refine_with_basis_torch  # noqa: E402
from lifter.symmetry import refine_lift_torch as symmetry_torch  # noqa: E402


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


def cases(bones_rev: str, rev: str) -> list[tuple[str, str, int, object, object]]:
    """``[(refinement, category, landmarks, numpy_fn, torch_fn)]``; each fn takes ``(lift, centre, visible)``
    (numpy arrays, or tensors on one device)."""
    old_bones = module_at(bones_rev, "lifter/bone_lengths.py")
    old_symmetry = module_at(rev, "lifter/symmetry.py")
    old_basis = module_at(rev, "lifter/shape_basis.py")
    old_basis.similarity_procrustes = module_at(rev, "lifter/geometry.py").similarity_procrustes
    proportions, bases = load_proportions(DEFAULT_PROPORTIONS), load_bases(DEFAULT_BASES)
    rows = []
    for category, n in (("human17", 17), ("hand21", 21)):
        p = proportions[category]
        rows.append(("bone lengths", category, n, lambda x, c, v, p=p: old_bones.refine_lift(x, c, v, p, 0.1),
                     lambda x, c, v, p=p: bones_torch(x, c, v, p, 0.1)))
    for category, n in (("chair", 21), ("face468", 468)):
        rows.append(("symmetry", category, n, lambda x, c, v, k=category: old_symmetry.refine_lift(x, c, v, k),
                     lambda x, c, v, k=category: symmetry_torch(x, c, v, k)))
    b = bases["face468"]
    rows.append(("shape basis", "face468", 468, lambda x, c, v: old_basis.refine_with_basis(x, v, b),
                 lambda x, c, v: refine_with_basis_torch(x, v, b)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bones-against", default="f0a3431", help="git revision of the numpy bone-length step")
    parser.add_argument("--against", default="35db066",
                        help="git revision of the numpy symmetry and shape-basis refinements")
    parser.add_argument("--poses", nargs="+", type=int, default=[1, 4096], help="poses per call, per row")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per row (the 1-pose rows: 100x)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or min(args.poses) < 1:
        parser.error("--repeats and --poses must be at least 1")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy bone-length step from "
          f"{args.bones_against}, numpy symmetry and shape basis from {args.against}")
    print("| refinement | category | poses | numpy | torch | numpy / torch | max abs diff |")
    print("|---|---|---|---|---|---|---|")
    for name, category, n, numpy_fn, torch_fn in cases(args.bones_against, args.against):
        for poses in args.poses:
            if category == "face468":
                poses = min(poses, 512)                          # faces: 468 landmarks each
            lift = rng.normal(size=(poses, n, 3)) * 100
            centre = rng.normal(size=(poses, 2)) * 50
            vis = np.ones((poses, n), bool)
            repeats = args.repeats * (100 if poses == 1 else 1)
            ref = numpy_fn(lift, centre, vis)
            t_numpy = median_seconds(lambda: numpy_fn(lift, centre, vis), repeats)
            for device in devices:
                tensors = [torch.as_tensor(a, device=device) for a in (lift, centre, vis)]
                out = torch_fn(*tensors).cpu().numpy()
                t_torch = median_seconds(lambda: torch_fn(*tensors), repeats)
                print(f"| {name} | {category} | {poses} | {t_numpy * 1e3:.3f} ms ({poses / t_numpy:,.0f}/s) | "
                      f"{device}: {t_torch * 1e3:.3f} ms ({poses / t_torch:,.0f}/s) | {t_numpy / t_torch:.2f}x | "
                      f"{np.abs(out - ref).max():.2g} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
