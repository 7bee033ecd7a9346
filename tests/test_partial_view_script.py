"""``scripts/partial_view_check.py``: its occlusion patterns hide the side they name, its whole-subject columns are
the API's readings, and its visible-box rule is the guess lift() made before (the same lift wherever every landmark
is visible), on hands, faces and chairs the tests make."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import lifter.api as api
import lifter.camera_reading as camera_reading
from data_files import load_script, write_check_data
from lifter.evaluate import score
from lifter.geometry import guessed_pinhole
from lifter.views import load_test_set


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_check_data(tmp_path_factory.mktemp("partial"), faces=6)


def test_patterns_hide_the_side_they_name(data: Path) -> None:
    pv = load_script("partial_view_check")
    test = load_test_set(data, "hand21", "clean")
    assert pv.hide_block(test, "as-given", 0.4) is test
    for pattern, axis, sign in (("bottom", 1, 1), ("top", 1, -1), ("right", 0, 1), ("left", 0, -1)):
        part = pv.hide_block(test, pattern, 0.4)
        assert len(part.points2d) == len(test.points2d)                   # a hand keeps 3 landmarks in view
        assert (part.visible <= test.visible).all() and (part.visible.sum(1) < test.visible.sum(1)).all()
        assert np.isnan(part.points2d[~part.visible]).all()
        for b in range(len(test.points2d)):
            coord = sign * test.points2d[b, :, axis]
            hidden = test.visible[b] & ~part.visible[b]
            assert coord[hidden].min() > coord[part.visible[b]].max()    # every hidden one beyond every kept one
    # a share that leaves fewer than 3 visible landmarks drops the view
    assert len(pv.hide_block(test, "left", 0.999).points2d) == 0


def test_rows_are_the_apis_readings_and_the_visible_box_rule_is_restored(data: Path, lifter) -> None:
    pv = load_script("partial_view_check")
    test = pv.hide_block(load_test_set(data, "chair", "occluded"), "bottom", 0.4)
    rows = pv.partial_rows(lifter, test)
    whole = lifter.lift(test.points2d, "chair", test.visible)
    guessed = lifter.lift_with_camera(test.points2d, "chair", visible=test.visible)
    true = lifter.lift_with_camera(test.points2d, "chair", test.focal, test.principal, test.visible)
    assert rows["lift(), whole subject"] == pytest.approx(score(whole, test)["strict"], abs=1e-9)
    assert rows["guessed camera, whole subject"] == pytest.approx(score(guessed, test)["strict"], abs=1e-4)
    assert rows["true intrinsics"] == pytest.approx(score(true, test)["strict"], abs=1e-4)
    assert rows["lift(), visible box"] != rows["lift(), whole subject"]   # the rule matters with a block hidden
    assert rows["guessed camera, visible box"] != rows["guessed camera, whole subject"]
    symmetry, bones, box = api.refine_lift_symmetry, api.refine_lift_bones, camera_reading.guessed_pinhole_of_lift
    with pytest.raises(RuntimeError), pv.visible_box_guess():
        assert api.refine_lift_symmetry is not symmetry and api.refine_lift_bones is not bones
        assert camera_reading.guessed_pinhole_of_lift is not box
        raise RuntimeError
    assert api.refine_lift_symmetry is symmetry and api.refine_lift_bones is bones
    assert camera_reading.guessed_pinhole_of_lift is box


def test_faces_guessed_column_is_the_apis_and_a_tiny_visible_box_reads(data: Path, lifter) -> None:
    """Faces: without intrinsics the API estimates the focal length (the guess only starts it), and the script's
    column is that reading. A face with only 3 landmarks in view, close together, has a visible box whose guessed
    focal length is shorter than the face's lifted depth: the visible-box column reads it as lift_with_camera
    would (the guess lengthened), where a reading through that raw guess fails."""
    pv = load_script("partial_view_check")
    test = load_test_set(data, "face468", "clean")
    rows = pv.partial_rows(lifter, test)
    guessed = lifter.lift_with_camera(test.points2d, "face468")
    assert rows["guessed camera, whole subject"] == pytest.approx(score(guessed, test)["strict"], abs=1e-4)
    near = np.argsort(np.linalg.norm(test.points2d[0] - test.points2d[0, 1], axis=-1))[:3]
    visible = np.zeros_like(test.visible)
    visible[:, near] = True
    few = replace(test, visible=visible, points2d=np.where(visible[..., None], test.points2d, np.nan))
    lift = lifter.lift(few.points2d, "face468", few.visible)
    point, kappa = guessed_pinhole(np.where(visible[..., None], few.points2d, 0.0), visible, 0.45)
    with pytest.raises(ValueError, match="shorter than the lifted depth range"):
        lifter.read_with_camera(lift, few.points2d, "face468", 1 / kappa, point, few.visible)
    rows = pv.partial_rows(lifter, few)
    assert all(np.isfinite(v) for v in rows.values())


@pytest.mark.parametrize("category", ["hand21", "face468"])
def test_the_rules_agree_where_every_landmark_is_visible(data: Path, lifter, category: str) -> None:
    """With nothing hidden the visible box is the whole subject's: the visible-box rule, which hands the
    refinements (bone lengths on hands, symmetry on faces) an explicit camera, gives lift()'s lift."""
    pv = load_script("partial_view_check")
    test = load_test_set(data, category, "clean")
    assert test.visible.all()
    with pv.visible_box_guess():
        seen = lifter.lift(test.points2d, category)
    np.testing.assert_allclose(seen, lifter.lift(test.points2d, category), atol=1e-3)
    # ... and differ once a block is hidden
    part = pv.hide_block(test, "bottom", 0.4)
    with pv.visible_box_guess():
        seen = lifter.lift(part.points2d, category, part.visible)
    assert np.abs(seen - lifter.lift(part.points2d, category, part.visible)).max() > 0.01


def test_script_prints_a_row_per_pattern_and_refuses_bad_settings(data: Path, capsys) -> None:
    pv = load_script("partial_view_check")
    assert pv.main(["--data", str(data), "--views", "clean", "--categories", "chair", "human17",
                    "--patterns", "as-given", "top"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [x for x in out if x.startswith("| chair |")]
    assert [r.split(" | ")[1] for r in rows] == ["as-given", "top"] and all(r.count("%") == 5 for r in rows)
    assert any(x.startswith("| human17 | (no human17 files") for x in out)
    for bad in (["--share", "0"], ["--share", "1"], ["--patterns", "middle"], ["--views", "clean", "--hide", "0.2"],
                ["--count", "0"]):
        with pytest.raises(SystemExit):
            pv.main(["--data", str(data)] + bad)
