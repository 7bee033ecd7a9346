"""scripts/train_vs_test.py (the experiment log's overfitting check) on hands the project renders itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_files import load_script, write_hand_data


@pytest.fixture(scope="module")
def hand_data(tmp_path_factory) -> Path:
    return write_hand_data(tmp_path_factory.mktemp("data"), 300, 200)


def _row(out: str, category: str) -> list[str]:
    return [c.strip() for c in [line for line in out.splitlines() if f"| {category} |" in line][0].split("|")[1:-1]]


def test_training_views_are_drawn_without_replacement_and_capped(hand_data: Path) -> None:
    tv = load_script("train_vs_test")
    some = tv.training_views(hand_data, "hand21", 50, seed=3)
    assert some.points2d.shape == (50, 21, 2) and some.points3d.shape == (50, 21, 3)
    assert len({p.tobytes() for p in some.points2d}) == 50                         # no view twice
    assert len(tv.training_views(hand_data, "hand21", 10_000, seed=3).points2d) == 300  # capped at the file
    assert tv.training_views(hand_data, "chair", 50, seed=3) is None


def test_the_bundled_lifter_reads_alike_on_training_and_test_hands(hand_data: Path, capsys) -> None:
    """The project's synthetic hands are a fresh draw of one hand model in both files: a lifter that generalises
    reads about the same on both, and well below the flat lift's ~19 mm."""
    tv = load_script("train_vs_test")
    assert tv.main(["--data", str(hand_data), "--categories", "hand21", "chair", "--views", "120"]) == 0
    out = capsys.readouterr().out
    label, _, train, test, ratio = _row(out, "hand21")
    assert label == "bundled" and train.endswith("mm (120)") and test.endswith("mm (200)")
    e_train, e_test = float(train.split()[0]), float(test.split()[0])
    assert 0 < e_train < 12 and 0 < e_test < 12
    assert 0.7 < float(ratio) < 1.3 and abs(float(ratio) - e_train / e_test) < 0.01
    assert "no chair training or test file" in out


def test_bad_view_count_is_refused(hand_data: Path) -> None:
    with pytest.raises(SystemExit):
        load_script("train_vs_test").main(["--data", str(hand_data), "--views", "0"])
