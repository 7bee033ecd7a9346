"""Training-step speed of ``python -m lifter.train`` at float32 against ``--precision bf16``, in one process.

``PYTHONPATH=. python scripts/train_step_speed.py --data data --stage 2d`` times optimiser steps of a recorded
recipe's 2D-only stage, ``--stage round`` those of one of its refined-teacher rounds. Each stage's settings are the
training configuration recorded beside its weights (``--record``; default for ``2d`` the 2D-only stage of the
lineage shipped before, ``assets/weights/reference/before_finetune_four_times_batches.json``: four-times batches for
every category, the Laplacian + Fourier identity code, learned elevation; for ``round`` the bundled weights' own
record, the shipped recipe's last round: 1,200 steps since the one-hour recipe was shipped, 1,800 before), so they
are the recipe's as it ran, not a copy of the README's commands. A round starts from ``--init`` (default the bundled
weights) with the teacher's hand proportions of ``--teacher-bones`` (default the first round's recorded file) in
place of the recorded run's files. bf16 runs with each of ``--bf16-attention``'s ways of computing attention
(default ``matmul``, the trainer's; ``--bf16-attention matmul fp32`` times the fused float32 kernel of earlier bf16
runs beside it). For each setting a fresh trainer takes one warm-up cycle of the category schedule, then ``--steps``
timed steps; the settings alternate ``--repeats`` times, so that a machine's drift hits all. Prints each step time's
median (and mean: the mean is what a run's wall time follows, the schedule mixing cheap and dear categories) and the
ratio float32 / bf16 for each bf16 setting.

The ratio depends on the CPU: bfloat16 paid off on the CPUs measured, with AMX units or AVX-512 bfloat16
instructions (``lscpu``: ``amx_bf16``, ``avx512_bf16``), and can be slower on those with neither; the table's
first line names the CPU and its bfloat16 instructions. Wall time, not CPU
time: run it on a machine left alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lifter.model import BF16_ATTENTIONS  # noqa: E402
from lifter.devices import cpu_description  # noqa: E402
from lifter.runs import load_init  # noqa: E402
from lifter.train import Trainer  # noqa: E402
from lifter.train_config import ALL_CATEGORIES, TrainConfig, config_from_dict  # noqa: E402

DEFAULT_INIT = ROOT / "assets" / "weights" / "lifter.safetensors"
DEFAULT_TEACHER_BONES = ROOT / "assets" / "weights" / "reference" / "teacher_hand_proportions.safetensors"
DEFAULT_RECORDS = {"2d": ROOT / "assets" / "weights" / "reference" / "before_finetune_four_times_batches.json",
                   "round": ROOT / "assets" / "weights" / "lifter.json"}


def narrowed(cfg: TrainConfig, categories: tuple[str, ...]) -> TrainConfig:
    """``cfg`` trained on ``categories`` only (a subset of its own, in its order): the per-category settings of
    the others (step weights, batch tokens, template and flow priors, symmetry choice) dropped. Raises
    ``ValueError`` for a category ``cfg`` does not train."""
    unknown = sorted(set(categories) - set(cfg.categories))
    if unknown:
        raise ValueError(f"{unknown} not trained by the recorded recipe (categories: {list(cfg.categories)})")
    kept = tuple(c for c in cfg.categories if c in categories)
    return replace(cfg, categories=kept,
                   category_weights=tuple(p for p in cfg.category_weights if p[0] in kept),
                   category_batch_tokens=tuple(p for p in cfg.category_batch_tokens if p[0] in kept),
                   template_weights=tuple(p for p in cfg.template_weights if p[0] in kept),
                   flow_weights=tuple(p for p in cfg.flow_weights if p[0] in kept),
                   symmetry_categories=tuple(c for c in cfg.symmetry_categories if c in kept))


def stage_config(stage: str, record: Path, categories: tuple[str, ...], init: Path, teacher_bones: Path
                 ) -> TrainConfig:
    """The training configuration recorded in ``record`` (a weights file's JSON record, ``train_config``) on
    ``categories``; for ``stage`` "round" started from ``init`` with the teacher's hand proportions
    ``teacher_bones``. Raises ``ValueError`` for a record without a training configuration or of another stage
    (and what :func:`lifter.runs.load_init` raises for a bad ``init``)."""
    recorded = json.loads(record.read_text())
    if not isinstance(recorded, dict) or "train_config" not in recorded:
        raise ValueError(f"{record} records no train_config: not the JSON record of trained weights")
    cfg = config_from_dict(recorded["train_config"])
    if cfg.finetune_3d_aware != (stage == "round"):
        raise ValueError(f"{record} records a {'3D-aware round' if cfg.finetune_3d_aware else '2D-only stage'}, "
                         f"not the {stage} stage")
    cfg = narrowed(cfg, categories)
    if stage == "2d":
        return cfg
    return replace(cfg, init_from=str(init), model=load_init(init)[2],
                   finetune=replace(cfg.finetune, teacher_bones=str(teacher_bones)))


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/train_step_speed.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data", help="folder of *_train.npz")
    parser.add_argument("--stage", choices=("2d", "round"), default="2d")
    parser.add_argument("--categories", nargs="+", default=list(ALL_CATEGORIES), choices=ALL_CATEGORIES)
    parser.add_argument("--record", type=Path, default=None,
                        help="the weights record whose train_config the stage runs (default: the shipped lineage's "
                             "2D-only stage for 2d, the bundled weights' last round for round)")
    parser.add_argument("--init", type=Path, default=DEFAULT_INIT, help="--stage round: the start (and teacher)")
    parser.add_argument("--teacher-bones", type=Path, default=DEFAULT_TEACHER_BONES,
                        help="--stage round: the teacher's hand proportions")
    parser.add_argument("--bf16-attention", nargs="+", choices=BF16_ATTENTIONS, default=["matmul"],
                        help="bf16's attention settings to time beside float32 (lifter.train --bf16-attention)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per setting and repeat")
    parser.add_argument("--repeats", type=int, default=2, help="times each setting is timed, alternating")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (the recipe's --threads 2)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        parser.error("--steps and --repeats take a count >= 1")
    torch.set_num_threads(args.threads)
    record = args.record or DEFAULT_RECORDS[args.stage]
    try:
        cfg = stage_config(args.stage, record, tuple(args.categories), args.init, args.teacher_bones)
    except (OSError, ValueError, RuntimeError) as e:     # RuntimeError: lifter.api.WeightsError of --init
        parser.error(str(e))
    settings = {"fp32": replace(cfg, precision="fp32")}
    settings |= {f"bf16, attention {a}": replace(cfg, precision="bf16", bf16_attention=a)
                 for a in dict.fromkeys(args.bf16_attention)}
    times: dict[str, list[float]] = {name: [] for name in settings}
    for _ in range(args.repeats):
        for name, setting in settings.items():
            times[name] += step_times(setting, args.data, args.steps)
    print(f"{cpu_description()}; torch {torch.__version__}\n")
    print(f"| stage {args.stage} ({', '.join(args.categories)}), {args.threads} threads | median s/step | "
          f"mean s/step | steps |")
    print("|---|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {statistics.median(t):.3f} | {statistics.mean(t):.3f} | {len(t)} |")
    for name, t in times.items():
        if name != "fp32":
            print(f"fp32 / {name} (means): {statistics.mean(times['fp32']) / statistics.mean(t):.2f}x; medians: "
                  f"{statistics.median(times['fp32']) / statistics.median(t):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
