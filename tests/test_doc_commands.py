"""The commands the documentation quotes still run as written: every ``python -m lifter...`` and ``scripts/*.py``
command in the README, ``docs/`` and ``results/`` names a module or script that exists, every ``--option`` it gives is
one that command's own ``--help`` lists, and every repository path it names (``assets/...``, ``scripts/...``) exists.
Options and files get renamed; a reader copying a command from the docs should not meet "unrecognized arguments"."""

from __future__ import annotations

import contextlib
import io
import re
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMAND = re.compile(r"(?:python -m (lifter(?:\.[a-z_]+)+)|(?:python )?(scripts/[a-z_0-9]+\.py))"
                     r"((?:[ \t]+[^\s`;|&]+)*)")
OPTION = re.compile(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)")
REPO_PATH = re.compile(r"^(assets|results|scripts|tests|lifter|app)/[^*…$]+$")
SUBCOMMANDS = {"lifter.data"}                     # `python -m lifter.data build ...`: the subcommand's own options


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("results/**/*.md"))]


def code_spans(text: str) -> list[tuple[int, str]]:
    """``[(line, code)]``: each line of the fenced blocks (backslash continuations joined) and each inline code span
    (one that wraps onto the next line joined with a space), numbered by the line it starts on."""
    spans = []
    for m in re.finditer(r"```[^\n]*\n(.*?)```", text, re.S):
        first, start, code = text.count("\n", 0, m.start(1)) + 1, None, ""
        for i, line in enumerate(m.group(1).split("\n")):
            start = first + i if start is None else start
            code += " " + line.removesuffix("\\")
            if not line.endswith("\\"):                      # the command ends on this line
                spans.append((start, code.strip()))
                start, code = None, ""
    prose = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    for m in re.finditer(r"`([^`]+)`", prose):
        spans.append((prose.count("\n", 0, m.start()) + 1, m.group(1).replace("\n", " ")))
    return spans


def quoted_commands(paths: list[Path], root: Path = ROOT) -> list[tuple[str, str, str, list[str]]]:
    """``[(where, target, command, words)]``: every command quoted in ``paths``, ``target`` a module or a script's
    path, ``words`` what follows it."""
    found = []
    for path in paths:
        for line, code in code_spans(path.read_text()):
            for m in COMMAND.finditer(code):
                target = m.group(1) or m.group(2)
                words = m.group(3).split()
                words = words[:next((i for i, w in enumerate(words) if w.startswith("#")), len(words))]  # comment
                head = code[m.start():m.start(3)].split()                  # "python -m lifter.x" or the script
                found.append((f"{path.relative_to(root)}:{line}", target, " ".join(head + words), words))
    return found


def help_options(target: str, subcommand: str | None, cache: dict) -> set[str]:
    """The ``--options`` that ``target [subcommand] --help`` lists (run in this process: one import of torch)."""
    key = (target, subcommand)
    if key not in cache:
        argv = [target, *([subcommand] if subcommand else []), "--help"]
        out, old_argv = io.StringIO(), sys.argv
        sys.argv = argv
        try:
            with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
                if target.startswith("scripts/"):
                    runpy.run_path(str(ROOT / target), run_name="__main__")
                else:
                    runpy.run_module(target, run_name="__main__", alter_sys=True)
        finally:
            sys.argv = old_argv
        assert stop.value.code in (0, None), f"{' '.join(argv)} exited with {stop.value.code}"
        cache[key] = set(OPTION.findall(out.getvalue()))
    return cache[key]


def wrong_commands(commands: list[tuple[str, str, str, list[str]]]) -> list[str]:
    """What would fail in ``commands``: a missing script, an option its ``--help`` does not list, a missing
    repository path."""
    cache: dict = {}
    wrong = []
    for where, target, command, words in commands:
        if target.startswith("scripts/") and not (ROOT / target).is_file():
            wrong.append(f"{where}: no script {target}")
            continue
        sub = words[0] if target in SUBCOMMANDS and words and not words[0].startswith("-") else None
        known = help_options(target, sub, cache)
        unknown = [o for o in OPTION.findall(" ".join(words)) if o not in known and o != "--help"]
        if unknown:
            wrong.append(f"{where}: {target} has no {', '.join(unknown)}: {command[:120]}")
        for word in words:
            word = word.rstrip(".,);:'\"").split("=")[-1]
            if REPO_PATH.match(word) and not (ROOT / word).exists():
                wrong.append(f"{where}: {word} does not exist: {command[:120]}")
    return wrong


@pytest.fixture(autouse=True)
def importable_repo(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))                   # the scripts import lifter as PYTHONPATH=. gives it


def test_the_docs_quote_commands() -> None:
    targets = {target for _, target, _, _ in quoted_commands(doc_files())}
    assert {"lifter.train", "lifter.evaluate", "lifter.data", "scripts/segment_sign_check.py"} <= targets


@pytest.mark.filterwarnings("ignore::RuntimeWarning")          # runpy: "found in sys.modules after import"
def test_every_quoted_command_takes_its_options_and_names_existing_files() -> None:
    wrong = wrong_commands(quoted_commands(doc_files()))
    assert not wrong, "\n".join(wrong)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_the_check_finds_an_unknown_option_a_missing_file_and_a_missing_script(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("Run `python -m lifter.evaluate --data data/\n--no-such-option` then\n```\n"
                   "python -m lifter.data build --source s --out d\n"
                   "python -m lifter.bench \\\n  --weights assets/weights/missing.safetensors\n```\n"
                   "and `PYTHONPATH=. python scripts/no_such_check.py --data data`.\n")
    commands = quoted_commands([doc], root=tmp_path)
    assert [(w, t) for w, t, _, _ in commands] == [("doc.md:4", "lifter.data"), ("doc.md:5", "lifter.bench"),
                                                   ("doc.md:1", "lifter.evaluate"),
                                                   ("doc.md:8", "scripts/no_such_check.py")]
    assert wrong_commands(commands) == [
        "doc.md:5: assets/weights/missing.safetensors does not exist: "
        "python -m lifter.bench --weights assets/weights/missing.safetensors",
        "doc.md:1: lifter.evaluate has no --no-such-option: python -m lifter.evaluate --data data/ --no-such-option",
        "doc.md:8: no script scripts/no_such_check.py"]


def test_the_readmes_lifter_example_runs_as_written(monkeypatch) -> None:
    """The README's first Python block (*The lifter*) runs as written on the built test files: each call on 2D of
    its own category, hidden landmarks with their mask."""
    data = ROOT / "data"
    if not all((data / f"{c}_test.npz").exists() for c in ("human17", "hand21", "face468", "chair")) or \
            not (data / "human17_test_occluded.npz").exists():
        pytest.skip("needs the built test files in data/ (python -m lifter.data build)")
    text = (ROOT / "README.md").read_text()
    start = text.index("```python\n", text.index("## The lifter")) + len("```python\n")
    code = text[start:text.index("```", start)]
    monkeypatch.chdir(ROOT)
    names: dict = {}
    exec(compile(code, "README.md (The lifter)", "exec"), names)
    assert names["pts3d"].shape == (468, 3) and names["focal"].shape == (1,)
    assert 800 < float(names["focal"][0]) < 1300                      # the face's focal length, estimated
