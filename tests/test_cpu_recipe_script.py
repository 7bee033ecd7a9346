"""``scripts/cpu_recipe.sh``: the shipped recipe's commands run end to end (a few steps each, on small training
files of all four categories the test writes), chain their weights, time each training command and refuse to
overwrite a run or to take a bad count; with its defaults they are the bundled weights' recorded commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data_files import write_all_categories
from lifter.api import load_lifter
from lifter.export import lineage

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "cpu_recipe.sh"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_all_categories(tmp_path_factory.mktemp("recipe_data"))


SETTINGS = ("DATA", "RUNS", "STEPS", "ROUNDS", "ROUND_STEPS", "HAND_STEPS", "SEED", "THREADS", "PRECISION", "DEVICE",
            "PYTHON", "MALLOC")


def script(**settings: str) -> subprocess.CompletedProcess:
    """The script run with ``settings``; the ones not given keep the script's defaults, whatever the environment."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    return subprocess.run(["sh", str(SCRIPT)], cwd=ROOT, env={**env, **settings}, capture_output=True, text=True,
                          timeout=600)


def run_script(runs: Path, data: Path, **env: str) -> subprocess.CompletedProcess:
    """The script on ``data`` with two steps a stage and two rounds."""
    return script(**{"DATA": str(data), "RUNS": str(runs), "PYTHON": sys.executable, "STEPS": "2", "ROUNDS": "2",
                     "ROUND_STEPS": "2", **env})


def test_recipe_chains_its_rounds_and_times_them(data: Path, tmp_path: Path) -> None:
    runs = tmp_path / "recipe"
    done = run_script(runs, data)
    assert done.returncode == 0, done.stderr[-3000:]
    allocator, *timed = (runs / "times.txt").read_text().splitlines()
    assert allocator.startswith("# allocator ")                  # what the commands ran with, then their times
    lines = [line.split() for line in timed]
    assert [name for name, _ in lines] == ["2d", "r1", "r2", "total"]
    seconds = [int(s) for _, s in lines]
    assert seconds[-1] == sum(seconds[:-1])
    assert f"weights: {runs}/r2.safetensors" in done.stdout
    record = json.loads((runs / "r2.json").read_text())
    config = record["train_config"]
    assert config["precision"] == "bf16" and config["finetune_3d_aware"] and config["steps"] == 2
    assert [tuple(p) for p in config["category_weights"]] == [("face468", 2), ("hand21", 3)]
    assert config["finetune"]["teacher_bones"] == f"{runs}/r1_hand_bones.safetensors"
    r1 = record["initialised_from"]                                 # each round starts from the one before
    assert r1["sha256"] == json.loads((runs / "r1.json").read_text())["sha256"]
    first = r1["initialised_from"]["train_config"]
    assert not first["finetune_3d_aware"] and first["batch_tokens"] == 8192
    assert [tuple(p) for p in first["category_batch_tokens"]] == [("face468", 2048), ("chair", 2048)]
    lifter = load_lifter(runs / "r2.safetensors", device="cpu")
    with np.load(data / "hand21_test.npz") as f:
        points, visible = f["points2d"][:2], f["visible"][:2]
    assert np.isfinite(lifter.lift(points, "hand21", visible)).all()

    again = run_script(runs, data)                                  # nothing is overwritten
    assert again.returncode == 2 and "already exists" in again.stderr
    assert (runs / "times.txt").read_text().splitlines()[-1] == f"total {seconds[-1]}"


def test_resume_continues_a_stopped_recipe_and_keeps_what_was_exported(data: Path, tmp_path: Path) -> None:
    """RESUME=1 keeps the stages exported already and trains the rest; a stage trained but not exported (stopped
    just before its export) is resumed, with nothing left to train, and exported with the same weights."""
    runs = tmp_path / "recipe"
    assert run_script(runs, data, ROUNDS="1").returncode == 0             # a recipe stopped after round 1
    first = {name: (runs / name).read_bytes() for name in ("2d.safetensors", "r1.safetensors")}
    done = run_script(runs, data, RESUME="1")                             # two rounds
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2d: exported already, kept" in done.stderr and "r1: exported already, kept" in done.stderr
    assert {name: (runs / name).read_bytes() for name in first} == first
    lines = [line.split() for line in (runs / "times.txt").read_text().splitlines() if not line.startswith("#")]
    assert [name for name, _ in lines] == ["2d", "r1", "r2", "total"]
    assert int(lines[-1][1]) == sum(int(s) for _, s in lines[:-1])
    weights = json.loads((runs / "r2.json").read_text())["sha256"]
    (runs / "r2.safetensors").unlink()
    (runs / "r2.json").unlink()
    again = run_script(runs, data, RESUME="1")
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((runs / "r2.json").read_text())["sha256"] == weights
    assert "at step 2 of 2 already: nothing to train" in again.stdout
    assert run_script(tmp_path / "other", data, RESUME="yes").returncode == 2


def test_recipe_refuses_a_count_that_is_not_a_whole_number(data: Path, tmp_path: Path) -> None:
    done = run_script(tmp_path / "bad", data, ROUNDS="two")
    assert done.returncode == 2 and "whole numbers (got 'two')" in done.stderr
    assert not (tmp_path / "bad").exists()


def logging_interpreter(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in interpreter that logs each command line, and ``LD_PRELOAD`` after a tab, instead of running it:
    ``(interpreter, log)``."""
    log = tmp_path / "commands.txt"
    stub = tmp_path / "python"
    stub.write_text(f'#!/bin/sh\nprintf "%s\\t%s\\n" "$*" "${{LD_PRELOAD:-}}" >> {log}\n')
    stub.chmod(0o755)
    return stub, log


def test_recipe_runs_python_with_the_allocator_chosen(tmp_path: Path) -> None:
    """MALLOC: a library's path is preloaded into every Python command (and named in times.txt), "system" preloads
    nothing, a path that is no file is refused before anything runs."""
    stub, log = logging_interpreter(tmp_path)
    library = tmp_path / "libmalloc_stand_in.so"        # never loaded: the stand-in interpreter is a shell script
    library.write_bytes(b"")
    done = script(RUNS=str(tmp_path / "chosen"), PYTHON=str(stub), ROUNDS="1", MALLOC=str(library),
                  LD_PRELOAD="")
    assert done.returncode == 0, done.stderr
    preloads = [line.split("\t")[1] for line in log.read_text().splitlines()]
    assert len(preloads) == 5 and set(preloads) == {str(library)}    # train, export, bones, train, export
    assert (tmp_path / "chosen" / "times.txt").read_text().splitlines()[0] == f"# allocator {library}"

    log.unlink()
    done = script(RUNS=str(tmp_path / "system"), PYTHON=str(stub), ROUNDS="1", MALLOC="system", LD_PRELOAD="")
    assert done.returncode == 0, done.stderr
    assert {line.split("\t")[1] for line in log.read_text().splitlines()} == {""}
    assert (tmp_path / "system" / "times.txt").read_text().splitlines()[0] == "# allocator system"

    done = script(RUNS=str(tmp_path / "missing"), PYTHON=str(stub), MALLOC=str(tmp_path / "no.so"))
    assert done.returncode == 2 and "MALLOC takes auto, system or a shared library's path" in done.stderr
    assert not (tmp_path / "missing").exists()


def options(command: str) -> dict[str, tuple[str, ...]]:
    """A command line's options as ``{"--name": (values...)}``, less those that only name files or restate a
    default (``--data``, ``--out``, ``--init``, ``--teacher-bones``; ``--seed 0``, ``--device cpu``)."""
    parsed: dict[str, list[str]] = {}
    key = None
    for word in command.split():
        if word.startswith("--"):
            key = word
            parsed[key] = []
        elif key is not None:
            parsed[key].append(word)
    found = {k: tuple(v) for k, v in parsed.items() if k not in ("--data", "--out", "--init", "--teacher-bones")}
    for default in (("--seed", ("0",)), ("--device", ("cpu",))):
        if found.get(default[0]) == default[1]:
            del found[default[0]]
    return found


def test_default_commands_are_the_bundled_weights_recorded_ones(tmp_path: Path) -> None:
    """With its defaults the script runs, stage by stage, the training commands recorded in the bundled weights'
    lineage (the README: it reproduces them); a stand-in interpreter logs the commands instead of running them."""
    stub, log = logging_interpreter(tmp_path)
    done = script(RUNS=str(tmp_path / "runs"), PYTHON=str(stub))               # every other setting its default
    assert done.returncode == 0, done.stderr
    commands = [line.split("\t")[0] for line in log.read_text().splitlines()]
    run = [line for line in commands if line.startswith("-m lifter.train ")]
    recorded = [stage["command"] for stage in reversed(lineage(load_lifter(device="cpu").record))]
    # the 2D-only stage first, then rounds 1 to 5
    assert len(run) == len(recorded) == 6
    for ours, theirs in zip(run, recorded):
        assert theirs.startswith("python -m lifter.train ")
        assert options(ours) == options(theirs.removeprefix("python ")), (ours, theirs)


def test_auto_allocator_looks_where_the_allocator_script_looks() -> None:
    """MALLOC=auto's list of tcmalloc paths (shell) is scripts/allocator_speed.py's folders and library name, in the
    same order, so that the recipe and the speed check find the same tcmalloc."""
    from data_files import load_script

    speed = load_script("allocator_speed")
    text = SCRIPT.read_text()
    block = text[text.index("    auto) preload="):text.index("done ;;")]
    paths = [word.rstrip(";\\") for word in block.split() if word.startswith("/")]
    assert paths == [f"{folder}/{speed.LIBRARIES['tcmalloc']}" for folder in speed.LIBRARY_DIRS]
