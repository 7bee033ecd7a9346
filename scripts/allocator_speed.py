"""Training speed under other memory allocators, and a check that the weights stay the same bit for bit.

``PYTHONPATH=. python scripts/allocator_speed.py --data data --stage 2d`` runs the bundled weights' recorded
training command of a stage (``--stage 2d``: the one-hour recipe's 2D-only stage; ``round``: its last refined-teacher
round, started from ``--init`` with the teacher's hand proportions of ``--teacher-bones`` in place of the recorded
run's files), cut to ``--steps`` steps, once under each allocator of ``--allocators`` per repeat, alternating
(``--repeats``), each in a fresh process with the allocator's library preloaded (``LD_PRELOAD``; ``system``: none).
``tcmalloc`` and ``jemalloc`` name the Debian and Ubuntu packages' libraries (``apt-get install
libtcmalloc-minimal4 libjemalloc2``); any other value is a library's path.

Prints each allocator's training time (the command's own clock: its log's seconds at the last step, so start-up and
data loading are left out; a round's includes the warm-up of its fresh critics) as the median over the repeats and
as a ratio against the first allocator, and whether every run's checkpoint holds the first run's tensors bit for bit
(:func:`lifter.runs.tensors_sha256`; the checkpoint files themselves differ by the record inside, which names each
run's folder): an allocator must change the speed only. Wall time, not CPU time: run it on a machine left alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lifter.api import DEFAULT_WEIGHTS  # noqa: E402
from lifter.checked_files import record_path  # noqa: E402
from lifter.devices import cpu_description  # noqa: E402
from lifter.export import lineage  # noqa: E402

BUNDLED_RECORD = record_path(DEFAULT_WEIGHTS)
DEFAULT_TEACHER_BONES = ROOT / "assets" / "weights" / "reference" / "teacher_hand_proportions.safetensors"
#: Where Debian-like systems put the allocators' libraries (scripts/cpu_recipe.sh looks in the same places).
LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib")
LIBRARIES = {"tcmalloc": "libtcmalloc_minimal.so.4", "jemalloc": "libjemalloc.so.2"}


def library(allocator: str) -> str:
    """The library to preload for ``allocator`` ("system": none, ""; "tcmalloc", "jemalloc": found in
    :data:`LIBRARY_DIRS`; else a path). Raises ``FileNotFoundError`` when it is not there."""
    if allocator == "system":
        return ""
    if allocator in LIBRARIES:
        for folder in LIBRARY_DIRS:
            path = Path(folder) / LIBRARIES[allocator]
            if path.is_file():
                return str(path)
        package = {"tcmalloc": "libtcmalloc-minimal4", "jemalloc": "libjemalloc2"}[allocator]
        raise FileNotFoundError(f"{allocator}: no {LIBRARIES[allocator]} in {', '.join(LIBRARY_DIRS)} (Debian and "
                                f"Ubuntu: apt-get install {package})")
    if not Path(allocator).is_file():
        raise FileNotFoundError(f"{allocator}: no such library (give system, tcmalloc, jemalloc or a file's path)")
    return allocator


def stage_command(record: dict, stage: str) -> list[str]:
    """The recorded ``python -m lifter.train`` command line of ``stage`` in a weights ``record``'s lineage (the
    record itself for "round", the 2D-only stage it nests deepest for "2d"), as arguments after ``-m
    lifter.train``. Raises ``ValueError`` when the lineage has no such stage."""
    stages = lineage(record)
    chosen = stages[0] if stage == "round" else stages[-1]
    command = shlex.split(chosen.get("command", ""))
    if command[:3] != ["python", "-m", "lifter.train"]:
        raise ValueError(f"the {stage} stage's record holds no lifter.train command ({chosen.get('command')!r})")
    if ("--finetune-3d-aware" in command) != (stage == "round"):
        raise ValueError(f"the lineage's {'newest' if stage == 'round' else 'first'} stage is not a {stage} stage")
    return command[3:]


def with_options(args: list[str], values: dict[str, str]) -> list[str]:
    """``args`` with each ``--option`` of ``values`` set to its value (replaced where given, else appended)."""
    out, skip = [], False
    for i, word in enumerate(args):
        if skip:
            skip = False
            continue
        if word in values:
            out += [word, values[word]]
            skip = True
        else:
            out.append(word)
    return out + [x for k, v in values.items() if k not in args for x in (k, v)]


def run_train(args: list[str], preload: str, out: Path) -> list[dict]:
    """Run ``python -m lifter.train args --out out`` in a fresh process with ``preload`` preloaded (``""``: none):
    the lines of its ``log.jsonl``. Raises ``RuntimeError`` with the command's error when it fails."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"} | ({"LD_PRELOAD": preload} if preload else {})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "lifter.train", *with_options(args, {"--out": str(out)})],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"lifter.train failed under LD_PRELOAD={preload!r}:\n{done.stderr[-2000:]}")
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def run_once(args: list[str], preload: str, out: Path) -> tuple[float, str]:
    """Run ``python -m lifter.train args --out out`` with ``preload`` preloaded (:func:`run_train`): ``(its
    training seconds, the SHA-256 of its checkpoint's tensors)``."""
    from lifter.runs import tensors_sha256

    seconds = run_train(args, preload, out)[-1]["seconds"]
    return seconds, tensors_sha256(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/allocator_speed.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data", help="folder of *_train.npz")
    parser.add_argument("--stage", choices=("2d", "round"), default="2d")
    parser.add_argument("--allocators", nargs="+", default=["system", "tcmalloc"],
                        help="system, tcmalloc, jemalloc or a library's path; the first is the reference")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (default 40 for 2d, 14 for round)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per allocator, alternating")
    parser.add_argument("--record", type=Path, default=BUNDLED_RECORD, help="the weights record whose lineage runs")
    parser.add_argument("--init", type=Path, default=DEFAULT_WEIGHTS, help="--stage round: the start (and teacher)")
    parser.add_argument("--teacher-bones", type=Path, default=DEFAULT_TEACHER_BONES,
                        help="--stage round: the teacher's hand proportions")
    args = parser.parse_args(argv)
    steps = args.steps if args.steps is not None else (40 if args.stage == "2d" else 14)
    if steps < 1 or args.repeats < 1:
        parser.error("--steps and --repeats take a count >= 1")
    try:
        preloads = {a: library(a) for a in dict.fromkeys(args.allocators)}
        command = stage_command(json.loads(args.record.read_text()), args.stage)
    except (OSError, ValueError) as e:
        parser.error(str(e))
    values = {"--data": str(args.data), "--steps": str(steps)}
    if args.stage == "round":
        values |= {"--init": str(args.init), "--teacher-bones": str(args.teacher_bones)}
    command = with_options(command, values)
    seconds: dict[str, list[float]] = {a: [] for a in preloads}
    digests: dict[str, set[str]] = {a: set() for a in preloads}
    with tempfile.TemporaryDirectory(prefix="allocator_speed_") as tmp:
        for repeat in range(args.repeats):
            for allocator, preload in preloads.items():
                took, digest = run_once(command, preload, Path(tmp) / f"{Path(allocator).name}_{repeat}")
                seconds[allocator].append(took)
                digests[allocator].add(digest)
                print(f"{allocator}: {took:.1f} s", file=sys.stderr)
    reference = statistics.median(seconds[args.allocators[0]])
    first = next(iter(digests[args.allocators[0]]))
    print(f"{cpu_description()}; {args.stage} stage, {steps} steps a run, {args.repeats} runs each\n")
    print("| allocator | library | training s (median) | runs | time / first allocator's | weights as the first "
          "run's |")
    print("|---|---|---|---|---|---|")
    for allocator, took in seconds.items():
        same = "yes" if digests[allocator] == {first} else "no"
        print(f"| {allocator} | {preloads[allocator] or '(none)'} | {statistics.median(took):.1f} | "
              f"{', '.join(f'{t:.1f}' for t in took)} | {statistics.median(took) / reference:.2f} | {same} |")
    return 0 if all(d == {first} for d in digests.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
