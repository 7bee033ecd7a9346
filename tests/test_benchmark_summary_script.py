"""``scripts/benchmark_summary.py`` (the README's compact benchmark table): its cells are the full table's rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_files import load_script
from lifter.evaluate import BEST_DEPTH_LABEL, SHIPPED, with_intrinsics_label


def _row(category: str, method: str, setting: str, strict: float | None, units: str) -> dict:
    return {"category": category, "method": method, "setting": setting, "strict": strict, "units": units}


def test_cells_are_the_json_rows(tmp_path: Path, capsys) -> None:
    summary = load_script("benchmark_summary")
    rows = [_row("human17", SHIPPED, "clean", 40.004, "mm"), _row("human17", SHIPPED, "occluded", 50.326, "mm"),
            _row("chair", SHIPPED, "clean", 9.786, "%"),
            _row("chair", "depth oracle (rendered)", "clean", None, "%"),       # does not apply: no figure
            _row("human17", with_intrinsics_label(SHIPPED), "clean", 33.17, "mm"),
            _row("human17", BEST_DEPTH_LABEL, "occluded", 13.53, "mm"),
            _row("human17", "some other row", "clean", 1.234, "mm")]              # not in the summary
    path = tmp_path / "evaluate.json"
    path.write_text(json.dumps({"results": rows}))
    assert summary.main(["--results", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| strict error, clean / 20 % occluded | `human17` | `chair` |"   # categories present only
    cells = {line.split(" | ")[0][2:]: line.split(" | ")[1:] for line in lines[2:]}
    assert len(cells) == len(summary.COLUMNS)
    assert cells["`lift()`"] == ["40.00 / 50.33 mm", "9.79 / — % |"]
    assert cells["with intrinsics"] == ["33.17 / — mm", "— |"]
    assert cells["best depths on the input x, y"] == ["— / 13.53 mm", "— |"]
    assert cells["depth oracle"] == ["—", "— |"]
    assert not any("1.23" in line for line in lines)
    # another lifter's rows (a --model LABEL of one's own): --lifter names it; without it, a note says why the
    # lifter's rows are empty and lists the JSON's models
    own = [dict(r, method="mine") for r in rows if r["method"] == SHIPPED]
    path.write_text(json.dumps({"models": {"mine": "w.safetensors"}, "results": own}))
    assert summary.main(["--results", str(path)]) == 0
    captured = capsys.readouterr()
    assert "has no rows of the lifter" in captured.err and "'mine'" in captured.err and "--lifter" in captured.err
    assert summary.main(["--results", str(path), "--lifter", "mine"]) == 0
    assert "| `lift()` | 40.00 / 50.33 mm | 9.79 / — % |" in capsys.readouterr().out


def test_missing_results_file_is_refused(tmp_path: Path) -> None:
    summary = load_script("benchmark_summary")
    with pytest.raises(SystemExit):
        summary.main(["--results", str(tmp_path / "none.json")])
