"""``scripts/bundle_memory_check.py``: a row per size, each fit measured in a fresh process, with the estimate that
``python -m lifter.shape_basis`` checks; bad sizes refused."""

from __future__ import annotations

import pytest

from data_files import load_script
from lifter.pinhole_fit import bundle_memory


def test_each_size_gets_its_estimate_and_a_measured_growth(capsys) -> None:
    script = load_script("bundle_memory_check")
    assert script.main(["--sizes", "300,40,4", "20,10,0", "--iterations", "1"]) == 0
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in capsys.readouterr().out.splitlines()[2:]]
    assert [r[:3] for r in rows] == [["300", "40", "4"], ["20", "10", "0"]]
    for (views, landmarks, modes, estimate, grown, ratio) in rows:
        assert float(estimate) == round(bundle_memory(int(views), int(landmarks), int(modes)) / 2 ** 30, 2)
        assert float(grown) >= 0 and ratio                                      # measured, in its own process
    here = script.measure(30, 10, 2, 1)                 # in this process: its high-water mark may be higher already
    assert here["estimate"] == bundle_memory(30, 10, 2) and here["growth"] >= 0


@pytest.mark.parametrize("size", ["10,20", "1,20,2", "10,3,1", "10,20,54", "a,b,c"])
def test_bad_sizes_are_refused(size: str, capsys) -> None:
    with pytest.raises(SystemExit):
        load_script("bundle_memory_check").main(["--sizes", size])
    assert "a size" in capsys.readouterr().err
