"""``scripts/train_step_speed.py``: both stages' steps run at both precisions and the table reads back."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_files import load_script, write_hand_data


@pytest.fixture(scope="module")
def hand_data(tmp_path_factory) -> Path:
    return write_hand_data(tmp_path_factory.mktemp("data"), 400, 20)


@pytest.mark.parametrize("stage", ["2d", "round"])
def test_step_speed_table_has_both_precisions(stage: str, hand_data: Path, capsys) -> None:
    script = load_script("train_step_speed")
    assert script.main(["--data", str(hand_data), "--stage", stage, "--categories", "hand21", "--steps", "2",
                        "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    rows = {line.split(" | ")[0].lstrip("| "): line for line in out.splitlines() if line.startswith("| fp")
            or line.startswith("| bf")}
    assert set(rows) == {"fp32", "bf16"}
    for line in rows.values():
        median, mean, steps = (c.strip(" |") for c in line.split(" | ")[1:])
        assert float(median) > 0 and float(mean) > 0 and steps == "2"
    assert "fp32 / bf16 (means):" in out


def test_bad_counts_are_refused(hand_data: Path, capsys) -> None:
    script = load_script("train_step_speed")
    with pytest.raises(SystemExit):
        script.main(["--data", str(hand_data), "--steps", "0"])
    assert "--steps" in capsys.readouterr().err
