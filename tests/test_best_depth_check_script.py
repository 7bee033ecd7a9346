"""``scripts/best_depth_check.py``: its random starts are rotations of the truth, its rows are the benchmark's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_files import load_script, write_hand_data
from lifter.evaluate import score
from lifter.references import best_depth_floor
from lifter.views import load_test_set


@pytest.fixture(scope="module")
def hand_data(tmp_path_factory) -> Path:
    return write_hand_data(tmp_path_factory.mktemp("hands"), 8, 6)


def test_random_starts_are_the_depths_of_a_turned_truth(hand_data: Path) -> None:
    bd = load_script("best_depth_check")
    test = load_test_set(hand_data, "hand21", "occluded")
    depth = bd.random_start_depth(test, np.random.default_rng(0))
    truth = test.points3d - test.points3d.mean(1, keepdims=True)       # every hand landmark is present
    size = np.sqrt((np.nanvar(test.points2d, 1).sum(-1)) / (truth ** 2).sum(-1).mean(-1))
    for b in range(len(depth)):
        # depth = size * truth @ u for one unit vector u: the third row of a rotation
        u, *_ = np.linalg.lstsq(truth[b] * size[b], depth[b], rcond=None)
        np.testing.assert_allclose(truth[b] * size[b] @ u, depth[b], atol=1e-3)   # float32 data
        assert np.linalg.norm(u) == pytest.approx(1.0, abs=1e-5)


def test_script_rows_and_options(hand_data: Path, tmp_path: Path, capsys) -> None:
    bd = load_script("best_depth_check")
    out = tmp_path / "table.md"
    assert bd.main(["--data", str(hand_data), "--starts", "2", "--count", "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.read_text().endswith("\n\n" + printed) and "--starts 2 --count 4" in out.read_text()
    rows = [x.split(" | ") for x in printed.splitlines() if x.startswith("| hand21")]
    assert [r[1] for r in rows] == ["clean", "occluded"] and all(r[2] == "4" for r in rows)
    # the true-depth start is the benchmark's least-squares phase, scored as the benchmark scores
    test = load_test_set(hand_data, "hand21", "clean").select(np.arange(4))
    assert float(rows[0][3]) == pytest.approx(score(best_depth_floor(test, refine_steps=0), test)["strict"], abs=1e-3)
    share = float(rows[0][5].rstrip(" %"))
    assert 0.0 <= share <= 100.0
    for bad in (["--starts", "0"], ["--count", "-1"], ["--categories", "chair"]):     # no chair files here
        with pytest.raises(SystemExit):
            bd.main(["--data", str(hand_data), *bad])
