"""``scripts/allocator_speed.py``: it runs the bundled weights' recorded stage commands, cut short, in fresh
processes, times them and says whether the weights came out byte-identical; bad allocators are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_files import load_script, write_all_categories
from lifter.export import lineage

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def script():
    return load_script("allocator_speed")


@pytest.fixture(scope="module")
def harmless_library() -> str:
    """A library every Python process has loaded already (the C maths library), to preload without effect."""
    maps = Path("/proc/self/maps").read_text().split()
    found = sorted({word for word in maps if Path(word).name.startswith("libm.so") and Path(word).is_file()})
    if not found:
        pytest.skip("no libm.so in this process's memory map")
    return found[0]


def table_rows(printed: str) -> list[str]:
    """The body rows of the table the script prints (no header, no rule)."""
    return [line for line in printed.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_stage_commands_are_the_recorded_ones(script) -> None:
    record = json.loads((ROOT / "assets" / "weights" / "lifter.json").read_text())
    first, last = script.stage_command(record, "2d"), script.stage_command(record, "round")
    assert "--finetune-3d-aware" not in first and "--finetune-3d-aware" in last
    assert first[first.index("--precision") + 1] == last[last.index("--precision") + 1] == "bf16"
    changed = script.with_options(last, {"--steps": "3", "--init": "w.safetensors", "--new": "x"})
    assert changed[changed.index("--steps") + 1] == "3" and changed[changed.index("--init") + 1] == "w.safetensors"
    assert changed.count("--steps") == 1 and changed[-2:] == ["--new", "x"]
    assert len(changed) == len(last) + 2
    two_d = lineage(record)[-1]                                      # a 2D-only stage is no round
    with pytest.raises(ValueError, match="not a round stage"):
        script.stage_command({"command": two_d["command"]}, "round")


def test_allocators_are_found_or_refused(script, tmp_path: Path) -> None:
    assert script.library("system") == ""
    library = tmp_path / "libsomething.so"
    library.write_bytes(b"")
    assert script.library(str(library)) == str(library)
    with pytest.raises(FileNotFoundError, match="no such library"):
        script.library(str(tmp_path / "missing.so"))
    with pytest.raises(SystemExit):
        script.main(["--allocators", str(tmp_path / "missing.so")])


def test_two_runs_of_the_2d_stage_give_the_same_weights(script, harmless_library: str, tmp_path: Path,
                                                        capsys) -> None:
    data = write_all_categories(tmp_path / "data")
    assert script.main(["--data", str(data), "--allocators", "system", harmless_library, "--steps", "2",
                        "--repeats", "1"]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[2]) > 0 and cells[5] == "yes"


def test_different_weights_are_reported(script, harmless_library: str, tmp_path: Path, monkeypatch,
                                        capsys) -> None:
    runs = iter([(10.0, "a"), (8.0, "b")])                   # the second allocator's weights differ
    monkeypatch.setattr(script, "run_once", lambda command, preload, out: next(runs))
    assert script.main(["--data", str(tmp_path), "--repeats", "1", "--allocators", "system", harmless_library]) == 1
    rows = table_rows(capsys.readouterr().out)
    assert [r.strip("|").split("|")[5].strip() for r in rows] == ["yes", "no"]
    assert rows[1].strip("|").split("|")[4].strip() == "0.80"
