"""Training-step speed of ``python -m lifter.train`` at float32 against ``--precision bf16``, in one process.

``PYTHONPATH=. python scripts/train_step_speed.py --data data --stage 2d`` times optimiser steps of the shipped
recipe's 2D-only stage (four-times batches: ``--batch-tokens 8192 --batch-on-subset --max-batch 1024``, the
Laplacian + Fourier identity code, learned elevation), ``--stage round`` those of one of its refined-teacher
rounds (the 3D-aware stage as the README's loop runs it, started from ``--init``, default the bundled weights,
with ``--teacher-bones``, default the first round's recorded hand proportions). For each precision a fresh
trainer takes one warm-up cycle of the category schedule, then ``--steps`` timed steps; the precisions alternate
``--repeats`` times, so that a machine's drift hits both. Prints each step time's median (and mean: the mean is
what a run's wall time follows, the schedule mixing cheap and dear categories) and the ratio float32 / bf16.

The ratio depends on the CPU: bfloat16 pays off on CPUs with AMX units (``lscpu``: ``amx_bf16``) and can be
slower on those without. Wall time, not CPU time: run it on a machine left alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lifter.finetune import FinetuneConfig  # noqa: E402
from lifter.model import LifterConfig  # noqa: E402
from lifter.train import ALL_CATEGORIES, PRECISIONS, TrainConfig, Trainer, load_init  # noqa: E402

DEFAULT_INIT = ROOT / "assets" / "weights" / "lifter.safetensors"
DEFAULT_TEACHER_BONES = ROOT / "assets" / "weights" / "reference" / "teacher_hand_proportions.safetensors"


def stage_config(stage: str, categories: tuple[str, ...], init: Path, teacher_bones: Path) -> TrainConfig:
    """The recipe's training settings for ``stage`` ("2d" or "round"), as the README's commands give them."""
    if stage == "2d":
        return TrainConfig(categories=categories, steps=6000, batch_tokens=8192, batch_on_subset=True,
                           max_batch=1024, learned_elevation=True,
                           model=LifterConfig(identity_code="laplacian+fourier", elevation_head=True))
    cfg = TrainConfig(categories=categories, steps=1800, lr=3e-4, warmup=50, batch_on_subset=True,
                      symmetry_weight=5.0, learned_elevation=True, init_from=str(init), finetune_3d_aware=True,
                      template_weights=(("face468", 100.0),) if "face468" in categories else (),
                      category_weights=(("face468", 2),) if "face468" in categories else (),
                      finetune=FinetuneConfig(learned_elevation=True, block_prob=0.5, teacher_bones=str(teacher_bones),
                                              teacher_reading="perspective", distill_weight=5.0),
                      critic_warmup=0)
    return replace(cfg, model=load_init(init)[2])


def step_times(cfg: TrainConfig, data: Path, steps: int) -> list[float]:
    """Wall seconds of ``steps`` optimiser steps of a fresh trainer on ``cfg``, after one warm-up cycle."""
    trainer = Trainer(cfg, data, torch.device("cpu"))
    for _ in range(len(trainer.schedule)):
        trainer.step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        trainer.step()
        times.append(time.perf_counter() - start)
    return times


def cpu_description() -> str:
    """The CPU's model name and whether it has AMX bfloat16 units (Linux ``/proc/cpuinfo``; else "unknown CPU")."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                "unknown CPU")
    return f"{name}, {'with' if ' amx_bf16' in info else 'without'} AMX bf16"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/train_step_speed.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data", help="folder of *_train.npz")
    parser.add_argument("--stage", choices=("2d", "round"), default="2d")
    parser.add_argument("--categories", nargs="+", default=list(ALL_CATEGORIES), choices=ALL_CATEGORIES)
    parser.add_argument("--init", type=Path, default=DEFAULT_INIT, help="--stage round: the start (and teacher)")
    parser.add_argument("--teacher-bones", type=Path, default=DEFAULT_TEACHER_BONES,
                        help="--stage round: the teacher's hand proportions")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per precision and repeat")
    parser.add_argument("--repeats", type=int, default=2, help="times each precision is timed, alternating")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (the recipe's --threads 2)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        parser.error("--steps and --repeats take a count >= 1")
    torch.set_num_threads(args.threads)
    cfg = stage_config(args.stage, tuple(args.categories), args.init, args.teacher_bones)
    times: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    for _ in range(args.repeats):
        for precision in PRECISIONS:
            times[precision] += step_times(replace(cfg, precision=precision), args.data, args.steps)
    print(f"{cpu_description()}; torch {torch.__version__}\n")
    print(f"| stage {args.stage} ({', '.join(args.categories)}), {args.threads} threads | median s/step | "
          f"mean s/step | steps |")
    print("|---|---|---|---|")
    for precision in PRECISIONS:
        t = times[precision]
        print(f"| {precision} | {statistics.median(t):.3f} | {statistics.mean(t):.3f} | {len(t)} |")
    ratio = statistics.mean(times["fp32"]) / statistics.mean(times["bf16"])
    print(f"fp32 / bf16 (means): {ratio:.2f}x; medians: "
          f"{statistics.median(times['fp32']) / statistics.median(times['bf16']):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
