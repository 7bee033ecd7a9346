"""The benchmark's and check scripts' views (:mod:`lifter.views`): reading a built file (its checks), selecting and
hiding views, the training views' draw and the check scripts' view options."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from data_files import write_test_files
from lifter.views import (DataFileError, add_view_options, check_view_options, checked_views, fitted_view_sets,
                          read_data_file, read_views, training_2d, training_indices, training_views)


@pytest.fixture(scope="module")
def hand_files(tmp_path_factory) -> Path:
    """Hand test files and a training file (the clean test views under the training name): ``hand21_*.npz``."""
    from lifter.data.hand import sample_hands

    out = tmp_path_factory.mktemp("views")
    hands, _ = sample_hands(10, np.random.default_rng(0))
    write_test_files(out, "hand21", hands, np.ones(hands.shape[:2], bool), 1)
    (out / "hand21_train.npz").write_bytes((out / "hand21_test.npz").read_bytes())
    return out


def rewritten(src: Path, dst: Path, **changes) -> Path:
    """``src``'s arrays with ``changes`` (a value of None drops the array) written to ``dst``."""
    with np.load(src) as f:
        arrays = {k: f[k] for k in f.files}
    arrays.update(changes)
    np.savez(dst, **{k: v for k, v in arrays.items() if v is not None})
    return dst


def test_selected_views_keep_their_own_cameras_and_masks(hand_files: Path) -> None:
    every = read_views(hand_files / "hand21_test_occluded.npz", "hand21", "occluded")
    assert every.focal is not None and every.principal is not None
    rows = np.array([7, 2, 5])
    some = read_views(hand_files / "hand21_test_occluded.npz", "hand21", "occluded", rows)
    for name in ("points2d", "visible", "present", "points3d", "focal", "principal"):
        np.testing.assert_array_equal(getattr(some, name), getattr(every, name)[rows])
    assert (some.present != some.visible).any()                          # two masks, each its own
    mask = np.zeros(len(every.points2d), bool)
    mask[[1, 4]] = True
    np.testing.assert_array_equal(every.select(mask).focal, every.focal[[1, 4]])


def test_hidden_landmarks_lose_their_pixels_and_the_draw_follows_the_seed(hand_files: Path) -> None:
    first = checked_views(hand_files, "hand21", "train", 6, seed=3, hide=0.3)
    again = checked_views(hand_files, "hand21", "train", 6, seed=3, hide=0.3)
    whole = checked_views(hand_files, "hand21", "train", 6, seed=3)
    np.testing.assert_array_equal(first.visible, again.visible)          # the same views, the same hidden ones
    assert whole.visible.all() and (~first.visible).any()
    assert np.isnan(first.points2d[~first.visible]).all()
    np.testing.assert_array_equal(first.points2d[first.visible], whole.points2d[first.visible])
    other = checked_views(hand_files, "hand21", "train", 6, seed=4, hide=0.3)
    assert (other.visible != first.visible).any()
    assert checked_views(hand_files, "hand21", "clean", 6, seed=3).points2d.shape[0] == 10    # a test file: all


def test_training_views_are_drawn_without_replacement_in_file_order(hand_files: Path) -> None:
    rows = training_indices(10, 6, seed=5)
    assert len(set(rows)) == 6 and (np.diff(rows) > 0).all()
    np.testing.assert_array_equal(training_indices(10, 50, seed=5), np.arange(10))          # fewer: every one
    drawn = training_views(hand_files, "hand21", 6, seed=5)
    every = read_views(hand_files / "hand21_train.npz", "hand21", "clean")
    np.testing.assert_array_equal(drawn.points3d, every.points3d[rows])
    two_d = training_2d(hand_files, "hand21", 6, seed=5)
    np.testing.assert_array_equal(two_d.points2d, drawn.points2d)
    assert training_views(hand_files / "none", "hand21", 6, 5) is None


@pytest.mark.parametrize("change, message", [
    ({"visible": "shape"}, "visible has shape"),
    ({"present": "shape"}, "present has shape"),
    ({"points3d": "shape"}, "points3d has shape"),
    ({"visible": "float"}, "visible must be a bool mask (or 0 / 1 whole numbers), got float64"),
    ({"present": "two"}, "present must be a bool mask (or 0 / 1 whole numbers), got int64 with values other than"),
])
def test_a_damaged_file_is_named_with_what_is_wrong(hand_files: Path, tmp_path: Path, change: dict,
                                                    message: str) -> None:
    src = hand_files / "hand21_test.npz"
    with np.load(src) as f:
        key, how = next(iter(change.items()))
        a = f[key]
    bad = {"shape": a[:, :-1], "float": a.astype(np.float64), "two": a.astype(np.int64) * 2}[how]
    path = rewritten(src, tmp_path / "bad.npz", **{key: bad})
    with pytest.raises(DataFileError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        read_data_file(path, "hand21", ("points2d", "visible", "present", "points3d"))
    assert str(path) in str(e.value)


def test_whole_number_masks_of_0_and_1_read_as_bool(hand_files: Path, tmp_path: Path) -> None:
    src = hand_files / "hand21_test_occluded.npz"
    with np.load(src) as f:
        visible = f["visible"]
    path = rewritten(src, tmp_path / "ints.npz", visible=visible.astype(np.uint8))
    read = read_data_file(path, "hand21", ("points2d", "visible"))
    assert read["visible"].dtype == bool
    np.testing.assert_array_equal(read["visible"], visible)
    assert "camera_focal" not in read                                   # optional arrays only when asked for
    assert "camera_focal" in read_data_file(path, "hand21", ("points2d",), ("camera_focal", "no_such_array"))


def test_the_check_scripts_view_options_refuse_a_bad_share_to_hide(capsys) -> None:
    parser = argparse.ArgumentParser()
    add_view_options(parser, count=5, seed=1)
    for argv in (["--hide", "1.0"], ["--hide", "-0.1"], ["--views", "clean", "--hide", "0.2"]):
        with pytest.raises(SystemExit):
            check_view_options(parser, parser.parse_args(argv))
        assert "--hide takes a share in [0, 1) with --views train" in capsys.readouterr().err
    for argv in (["--hide", "0.2"], ["--views", "clean"], []):
        check_view_options(parser, parser.parse_args(argv))              # accepted
    args = parser.parse_args([])
    assert (args.views, args.count, args.seed, args.hide) == ("train", 5, 1, 0.0)


def test_a_category_without_a_training_file_is_a_row_saying_so(hand_files: Path, tmp_path: Path, capsys) -> None:
    only_test = tmp_path / "only_test"
    only_test.mkdir()
    (only_test / "hand21_test.npz").write_bytes((hand_files / "hand21_test.npz").read_bytes())
    args = argparse.Namespace(categories=["hand21", "chair"], data=only_test, views="clean", count=3, seed=0,
                              hide=0.0)
    assert list(fitted_view_sets(args, fit_views=4, fit_seed=0, blanks=2)) == []
    out = capsys.readouterr().out.splitlines()
    assert out == [f"| hand21 | (no hand21 files in {only_test}) | | |",
                   f"| chair | (no chair files in {only_test}) | | |"]
    args.data = hand_files
    [(category, fit, test)] = list(fitted_view_sets(args, fit_views=4, fit_seed=0))
    assert category == "hand21" and len(fit.points2d) == 4 and len(test.points2d) == 10


def test_a_file_lacking_arrays_or_not_a_data_file_at_all_says_which(hand_files: Path, tmp_path: Path) -> None:
    path = rewritten(hand_files / "hand21_test.npz", tmp_path / "no3d.npz", points3d=None)
    with pytest.raises(DataFileError) as e:
        read_data_file(path, "hand21", ("points2d", "points3d"))
    assert str(e.value).startswith(f"{path} has no points3d (its arrays: ") and "cannot be read" not in str(e.value)
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    with pytest.raises(DataFileError, match="cannot be read as a data file"):
        read_data_file(text, "hand21", ("points2d",))
