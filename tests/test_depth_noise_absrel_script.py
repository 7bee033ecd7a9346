"""``scripts/depth_noise_absrel.py``: the AbsRel of the depth baseline's noisy maps on the subject, measured against
closed forms (a map degraded by a known factor) and on made test views, where the edge blur adds to the level."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_files import load_script, write_test_files


def test_surface_absrel_is_the_mean_relative_error_after_the_scale() -> None:
    script = load_script("depth_noise_absrel")
    oracle = np.full((4, 4), np.inf)
    oracle[1:3, 1:3] = [[2.0, 4.0], [2.0, 4.0]]
    noisy = np.full((4, 4), 9.0)
    noisy[1:3, 1:3] = 3 * oracle[1:3, 1:3] * np.array([[1.1, 1.0], [0.9, 1.0]])   # a global scale of 3, then +-10 %
    assert script.surface_absrel(oracle, 3 * np.where(np.isfinite(oracle), oracle, 1.0)) == pytest.approx(0.0)
    assert script.surface_absrel(oracle, noisy) == pytest.approx(0.05)              # |0.1| + 0 + |-0.1| + 0, / 4


def test_rows_on_made_hands_and_the_command(tmp_path: Path, capsys) -> None:
    from lifter.data.hand import sample_hands

    script = load_script("depth_noise_absrel")
    hands, _ = sample_hands(4, np.random.default_rng(0))
    write_test_files(tmp_path, "hand21", hands, np.ones(hands.shape[:2], bool), 1)
    rows = script.category_rows(tmp_path, "hand21", 2, [0.03, 0.10], 0)
    for row in rows:
        assert row["with_blur"] > row["without_blur"]                               # the blur adds error
        assert row["without_blur"] == pytest.approx(row["level"], rel=0.25)         # the noise alone: the level
    assert script.main(["--data", str(tmp_path), "--views", "2", "--categories", "hand21"]) == 0
    assert capsys.readouterr().out.startswith("| category | level 1 % |")
    with pytest.raises(SystemExit):
        script.main(["--data", str(tmp_path), "--categories", "face468"])           # no face file there
