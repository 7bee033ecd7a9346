"""How long would ``sh scripts/cpu_recipe.sh`` take on this machine? An estimate from short runs of its commands.

``PYTHONPATH=. python scripts/recipe_time.py --data data`` runs the bundled weights' recorded commands, as
``scripts/allocator_speed.py`` does, each cut short: the 2D-only stage for ``--steps`` steps and one refined-teacher
round for as many (started from ``--init`` with the teacher's hand proportions of ``--teacher-bones`` in place of the
recorded run's files). They run in the recipe's precision (``--precision``, its ``PRECISION``) and in fresh
processes under the allocator the recipe would use (``--allocator``: ``auto`` preloads tcmalloc where it is
installed, as the recipe's ``MALLOC=auto`` does; ``system``; or a library's path). From each command's own log (its
seconds at every 50th step) it takes the time of a step over the run's second half (the rate once running) and, for
the round, the time before its first step (its fresh critics' warm-up). It prints the recipe's training time as its
``times.txt`` counts it: the 2D-only stage's recorded steps at that rate, then the recipe's rounds (``--rounds``,
default 5) of the round's recorded steps at that rate, each after a warm-up, and each command's start-up, data
loading and last save (the short run's wall time less its log's last seconds). The exports and proportion fits
between the rounds, which ``times.txt`` does not count, are left out (a few seconds each here).

An estimate, not a run: this machine's speed drifts between days and within one. On the Intel CPU where the
bundled weights were trained it is checked against the recipe's measured time (``--recorded``, a ``times.txt`` of
the recipe, prints its figures beside the estimate). Wall time, not CPU time: run it on a machine left alone.

The first line names the CPU's bfloat16 instructions and any instruction caps set in the environment
(``lifter.devices.INSTRUCTION_LIMITS``: ``ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16`` runs this CPU without AMX, for
instance); ``results/train_speed/intel_instruction_limits.md`` estimates the recipe on the Intel CPU so capped.
``--precision bf16 fp32`` estimates the recipe in each precision and names the faster: on a CPU without AMX, which
one wins depends on the CPU (that file).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from allocator_speed import (BUNDLED_RECORD, DEFAULT_TEACHER_BONES, library, run_train,  # noqa: E402
                             stage_command, with_options)
from lifter.api import DEFAULT_WEIGHTS  # noqa: E402
from lifter.devices import cpu_description  # noqa: E402

LOG_EVERY = 50   # lifter.train's log interval (train()'s log_every): the log's seconds come at these steps


def log_seconds(args: list[str], preload: str, out: Path) -> tuple[dict[int, float], float]:
    """Run ``python -m lifter.train args --out out`` with ``preload`` preloaded (``allocator_speed.run_train``):
    ``({step: its log's seconds}, the process's wall seconds)``. The log's clock starts with training (start-up and
    data loading left out); the difference is what a command costs besides its steps."""
    started = time.perf_counter()
    lines = run_train(args, preload, out)
    wall = time.perf_counter() - started
    return {int(line["step"]): float(line["seconds"]) for line in lines}, wall


def rate(seconds: dict[int, float], steps: int) -> tuple[float, float]:
    """``(seconds a step, seconds before the first step)`` from a log of ``steps`` steps: the step time over its
    second half, and the start-up that the first half's time leaves when that rate is taken off it."""
    half = steps // 2
    per_step = (seconds[steps] - seconds[half]) / (steps - half)
    return per_step, max(0.0, seconds[half] - half * per_step)


def recorded_steps(command: list[str]) -> int:
    """The ``--steps`` of a recorded ``lifter.train`` command (after ``-m lifter.train``)."""
    return int(command[command.index("--steps") + 1])


def estimate(args: argparse.Namespace, commands: dict[str, list[str]], precision: str | None, preload: str
             ) -> tuple[str, float]:
    """Time the short runs of the recorded ``commands`` (``{"2d": ..., "round": ...}``) at ``precision`` (None: as
    recorded), print the recipe's estimated time as a Markdown table (and against ``args.recorded`` when given), and
    return ``(the precision, the estimated seconds)``."""
    values = {"--data": str(args.data), "--steps": str(args.steps)}
    if precision is not None:
        values["--precision"] = precision
    short = {"2d": with_options(commands["2d"], values),
             "round": with_options(commands["round"], values | {"--init": str(args.init),
                                                                "--teacher-bones": str(args.teacher_bones)})}
    rates, other = {}, {}
    with tempfile.TemporaryDirectory(prefix="recipe_time_") as tmp:
        for stage, command in short.items():
            print(f"{stage}: {args.steps} steps ...", file=sys.stderr)
            seconds, wall = log_seconds(command, preload, Path(tmp) / stage)
            rates[stage] = rate(seconds, args.steps)
            other[stage] = max(0.0, wall - seconds[args.steps])       # start-up, data loading, the last save
    stage_2d = other["2d"] + recorded_steps(commands["2d"]) * rates["2d"][0]
    one_round = other["round"] + rates["round"][1] + recorded_steps(commands["round"]) * rates["round"][0]
    total = stage_2d + args.rounds * one_round
    precision = short["2d"][short["2d"].index("--precision") + 1] if "--precision" in short["2d"] else "fp32"
    print(f"{cpu_description()}; allocator {preload or 'the system'}; {precision}; {args.steps} steps a short "
          f"run\n")
    print("| command | steps | s/step | warm-up s | start-up and saving s | estimated s |")
    print("|---|---|---|---|---|---|")
    print(f"| 2D-only stage | {recorded_steps(commands['2d'])} | {rates['2d'][0]:.3f} | — | {other['2d']:.0f} | "
          f"{stage_2d:.0f} |")
    print(f"| each round (x{args.rounds}) | {recorded_steps(commands['round'])} | {rates['round'][0]:.3f} | "
          f"{rates['round'][1]:.0f} | {other['round']:.0f} | {one_round:.0f} |")
    print(f"| the recipe's training | | | | | {total:.0f} s = {total / 60:.1f} min |")
    if args.recorded is not None:
        measured = [line.split() for line in args.recorded.read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
        seconds = {name: float(value) for name, value in measured}
        print(f"\nrecorded ({args.recorded}): 2D-only stage {seconds.get('2d', float('nan')):.0f} s, rounds "
              f"{', '.join(f'{v:.0f}' for k, v in seconds.items() if k.startswith('r'))} s, total "
              f"{seconds.get('total', float('nan')):.0f} s; estimate / recorded "
              f"{total / seconds.get('total', float('nan')):.3f}")
    return precision, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/recipe_time.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data", help="folder of *_train.npz")
    parser.add_argument("--steps", type=int, default=200,
                        help=f"steps of each short run, a multiple of {2 * LOG_EVERY} (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="the recipe's rounds (its ROUNDS; default 5)")
    parser.add_argument("--allocator", default="auto",
                        help="auto (tcmalloc where installed, as the recipe), system or a library's path")
    parser.add_argument("--record", type=Path, default=BUNDLED_RECORD, help="the weights record whose lineage runs")
    parser.add_argument("--init", type=Path, default=DEFAULT_WEIGHTS, help="the round's start (and teacher)")
    parser.add_argument("--teacher-bones", type=Path, default=DEFAULT_TEACHER_BONES,
                        help="the round's teacher's hand proportions")
    parser.add_argument("--precision", choices=("bf16", "fp32"), nargs="+", default=None,
                        help="the recipe's PRECISION (default: the recorded commands', bf16); two (bf16 fp32) "
                             "estimate each and name the faster")
    parser.add_argument("--recorded", type=Path, default=None,
                        help="a times.txt the recipe wrote, to compare the estimate with")
    args = parser.parse_args(argv)
    if args.precision and len(set(args.precision)) != len(args.precision):
        parser.error(f"--precision names each precision once, got {' '.join(args.precision)}")
    if args.steps < 2 * LOG_EVERY or args.steps % (2 * LOG_EVERY) or args.rounds < 1:
        parser.error(f"--steps takes a multiple of {2 * LOG_EVERY} and --rounds a count >= 1")
    try:
        preload = library("tcmalloc" if args.allocator == "auto" else args.allocator)
    except FileNotFoundError as e:
        if args.allocator != "auto":
            parser.error(f"--allocator: {e}")
        preload = ""                                         # auto without tcmalloc: the system's, as the recipe
    try:
        record = json.loads(args.record.read_text())
        commands = {stage: stage_command(record, stage) for stage in ("2d", "round")}
    except (OSError, ValueError) as e:
        parser.error(str(e))
    totals = {}
    for precision in args.precision or [None]:
        if totals:
            print()
        label, totals_s = estimate(args, commands, precision, preload)
        totals[label] = totals_s
    if len(totals) > 1:
        best = min(totals, key=totals.get)
        print(f"\nfastest here: {best} ({', '.join(f'{k} {v / 60:.1f} min' for k, v in totals.items())}); "
              f"PRECISION={best} sh scripts/cpu_recipe.sh")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
