"""``scripts/teacher_check.py``: its rows are the 3D-aware stage's teacher readings, scored, on hands the tests make."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from data_files import load_script, write_hand_data
from lifter import load_lifter
from lifter.evaluate import score
from lifter.finetune import perspective_teacher_lift
from lifter.geometry import normalise_2d
from lifter.views import load_test_set


@pytest.fixture(scope="module")
def hand_data(tmp_path_factory) -> Path:
    return write_hand_data(tmp_path_factory.mktemp("hands"), 300, 100)


def test_rows_are_the_teachers_readings(hand_data: Path) -> None:
    tc = load_script("teacher_check")
    lifter = load_lifter(device="cpu")
    test = load_test_set(hand_data, "hand21", "clean")
    rows = dict(tc.teacher_rows(lifter.model, test, lifter.proportions["hand21"]))
    assert list(rows) == ["orthographic", "orthographic, bone step", "perspective", "perspective, bone step"]
    mask = torch.as_tensor(test.visible)
    with torch.no_grad():
        p, _, _ = normalise_2d(torch.as_tensor(test.points2d, dtype=torch.float32), mask)
        shape = lifter.model.lift_normalised(p, mask, "hand21")
    assert rows["orthographic"] == pytest.approx(score(shape.double().numpy(), test)["strict"], abs=1e-9)
    read = perspective_teacher_lift(shape, mask, "hand21").double().numpy()
    assert rows["perspective"] == pytest.approx(score(read, test)["strict"], abs=1e-9)
    # these are close-camera views: the pinhole reading and the bone step each make the teacher more accurate
    assert rows["perspective, bone step"] < rows["perspective"] < rows["orthographic"]
    assert rows["orthographic, bone step"] < rows["orthographic"]
    assert len(set(np.round(list(rows.values()), 9))) == 4


def test_script_prints_its_rows_and_refuses_bad_options(hand_data: Path, tmp_path: Path, capsys) -> None:
    tc = load_script("teacher_check")
    assert tc.main(["--data", str(hand_data), "--categories", "hand21", "--count", "50"]) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("| hand21 (50)")]
    assert len(lines) == 4 and all(x.rstrip().endswith("mm |") for x in lines)
    with pytest.raises(SystemExit):
        tc.main(["--data", str(hand_data), "--proportions", str(tmp_path / "none.safetensors")])
    assert "none.safetensors" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tc.main(["--data", str(hand_data), "--views", "clean", "--hide", "0.2"])
