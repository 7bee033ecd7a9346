"""Are two training runs the same? The largest absolute difference between their checkpoints, per tensor group.

docs/lifter-experiments.md's notes on determinism quote these figures (two runs of the same ``lifter.train``
command in two processes, or a run stopped and continued with ``--resume`` against one that was not). Groups: ``model``,
``critics``, ``opt`` and ``critic_opt`` (optimiser states); 0 everywhere means bit for bit the same.

Usage:

    PYTHONPATH=. python scripts/compare_checkpoints.py RUN_A RUN_B
"""

from __future__ import annotations

import argparse
from pathlib import Path

from safetensors.torch import load_file


def max_differences(a: Path, b: Path) -> dict[str, float]:
    """``{group: max |a - b|}`` over the floating-point tensors of two run folders' ``checkpoint.safetensors``."""
    ta, tb = (load_file(str(run / "checkpoint.safetensors")) for run in (a, b))
    if ta.keys() != tb.keys():
        raise SystemExit(f"{a} and {b} hold different tensors: not runs of the same model and recipe")
    out: dict[str, float] = {}
    for key, x in ta.items():
        if x.is_floating_point():
            group = key.split(".", 1)[0]
            diff = (x.double() - tb[key].double()).abs().max().item() if x.numel() else 0.0
            out[group] = max(out.get(group, 0.0), diff)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    args = parser.parse_args()
    for group, diff in max_differences(args.run_a, args.run_b).items():
        print(f"{group:12s} max |difference| {diff:.3g}")


if __name__ == "__main__":
    main()
