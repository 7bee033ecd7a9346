"""``scripts/mirror_check.py``: its mirrored lift is the one ``lift()`` averages, on chairs the script makes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_files import load_script, write_chair_data
from lifter import load_lifter
from lifter.views import TestSet, load_test_set


@pytest.fixture(scope="module")
def chair_data(tmp_path_factory) -> Path:
    return write_chair_data(tmp_path_factory.mktemp("chairs"))


def test_the_mirrored_lift_is_the_one_lift_averages(chair_data: Path) -> None:
    mc = load_script("mirror_check")
    lifter = load_lifter(device="cpu")
    test = load_test_set(chair_data, "chair", "clean")
    lifts = mc.mirror_lifts(lifter, test)
    averaged = lifter.lift(test.points2d, "chair", test.visible, complete_hidden=False, symmetrize=False)
    # float32 lifts of a few hundred pixels, the two passes batched differently: equal to a thousandth of a pixel
    np.testing.assert_allclose(lifts["average"], averaged, atol=1e-3)
    assert not np.allclose(lifts["own"], lifts["mirrored"], atol=1e-3)       # two different estimates
    with pytest.raises(ValueError, match="no mirror pairs"):
        mc.mirror_lifts(lifter, TestSet("hand21", "clean", test.points2d, test.visible, test.present,
                                        test.points3d))
    first = test.select(np.arange(len(test.points2d)) < 3)
    assert first.points2d.shape[0] == 3 and np.array_equal(first.points3d, test.points3d[:3], equal_nan=True)


def test_script_prints_all_swivel_and_other_chairs(chair_data: Path, capsys) -> None:
    mc = load_script("mirror_check")
    assert mc.main(["--data", str(chair_data), "--categories", "chair", "human17"]) == 0
    out = capsys.readouterr().out
    rows = {line.split(" | ")[2]: line for line in out.splitlines() if line.startswith("| bundled | chair")}
    views = len(load_test_set(chair_data, "chair", "clean").points2d)
    assert set(rows) == {f"all ({views})", f"swivel chairs ({views // 2})", f"other chairs ({views // 2})"}
    for line in rows.values():
        cells = [float(c.split()[0]) for c in line.strip(" |").split(" | ")[3:]]
        assert len(cells) == 3 and all(0 < c < 100 for c in cells)
    assert "no clean test file" in out                                    # human17 was not written
    with pytest.raises(SystemExit):
        mc.main(["--data", str(chair_data / "nowhere"), "--categories", "chair"])
