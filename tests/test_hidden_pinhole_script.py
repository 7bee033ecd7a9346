"""``scripts/hidden_pinhole_check.py``: hidden landmarks taken from a reading and mapped back by a similarity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_files import load_script, write_hand_data
from lifter.geometry import rotation_y


@pytest.fixture(scope="module")
def script():
    return load_script("hidden_pinhole_check")


def test_hidden_points_come_back_exactly_from_a_similar_reading(script) -> None:
    """A reading that is the truth under a similarity gives the truth's hidden points in the lift's frame; visible
    points and fully visible frames keep the lift's."""
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(3, 21, 3)) * 40
    visible = rng.random((3, 21)) > 0.3
    visible[2] = True
    reading = 1.7 * truth @ rotation_y(0.6).T + np.array([5.0, -3.0, 900.0])        # a similar copy
    lift = np.where(visible[..., None], truth, rng.normal(size=truth.shape) * 40)  # hidden points wrong
    out = script.hidden_from_reading(lift, reading, visible)
    np.testing.assert_allclose(out[:2], truth[:2], atol=1e-3)                      # hidden recovered exactly
    np.testing.assert_array_equal(out[visible], lift[visible].astype(np.float32))  # visible untouched
    np.testing.assert_array_equal(out[2], lift[2].astype(np.float32))              # nothing hidden: unchanged


def test_rows_on_partly_hidden_hands(script, tmp_path: Path, capsys) -> None:
    data = write_hand_data(tmp_path, train=40, test=20)
    assert script.main(["--data", str(data), "--views", "train", "--hide", "0.2", "--count", "30",
                        "--categories", "hand21", "--patterns", "random", "bottom", "--lens", "1", "2"]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| hand21")]
    assert [(r[1], r[2]) for r in rows] == [("random", "1"), ("random", "2"), ("bottom", "1"), ("bottom", "2")]
    assert rows[0][3] == "30"
    for r in rows:
        before, after, ratio = float(r[4].split()[0]), float(r[5].split()[0]), float(r[6].rstrip(" |"))
        assert before > 0 and after > 0 and ratio == pytest.approx(after / before, abs=2e-3)
    for bad in (["--share", "1.5"], ["--lens", "0.5"]):
        with pytest.raises(SystemExit):
            script.main(["--data", str(data), *bad])
