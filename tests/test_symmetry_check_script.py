"""``scripts/symmetry_check.py``: its rows at the default weight are what the API gives, on chairs and faces the tests
make (faces without the shape-basis steps that follow the refinement)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_files import load_script, write_chair_data, write_check_data
from lifter import load_lifter
from lifter.evaluate import score
from lifter.symmetry import DEFAULT_WEIGHTS
from lifter.views import load_test_set


@pytest.fixture(scope="module")
def chair_data(tmp_path_factory) -> Path:
    return write_chair_data(tmp_path_factory.mktemp("chairs"))


@pytest.mark.parametrize("setting", ["clean", "occluded"])
def test_rows_at_the_default_weight_are_the_apis(chair_data: Path, setting: str) -> None:
    sc = load_script("symmetry_check")
    lifter = load_lifter(device="cpu")
    test = load_test_set(chair_data, "chair", setting)
    rows = dict(sc.symmetry_rows(lifter, test, [DEFAULT_WEIGHTS["chair"], 5.0], span=0.45))
    w = f"weight {DEFAULT_WEIGHTS['chair']:g}"
    lift = lifter.lift(test.points2d, "chair", test.visible)
    camera = lifter.lift_with_camera(test.points2d, "chair", test.focal, test.principal, test.visible)
    plain = lifter.lift(test.points2d, "chair", test.visible, symmetrize=False)
    assert rows[f"lift(), {w}"] == pytest.approx(score(lift, test)["strict"], abs=1e-4)
    assert rows[f"lift_with_camera, {w}"] == pytest.approx(score(camera, test)["strict"], abs=1e-4)
    assert rows["lift(), no refinement"] == pytest.approx(score(plain, test)["strict"], abs=1e-9)
    assert rows[f"lift(), {w}"] != rows["lift(), weight 5"]                  # the weight matters
    # the other treatment of hidden landmarks is a row only where landmarks are there but hidden
    assert (f"lift(), {w}, hidden landmarks filled" in rows) == (setting == "occluded")
    assert (f"lift_with_camera, {w}, hidden landmarks not filled" in rows) == (setting == "occluded")


def test_script_prints_a_row_per_reading_and_refuses_bad_weights(chair_data: Path, capsys) -> None:
    sc = load_script("symmetry_check")
    assert sc.main(["--data", str(chair_data), "--views", "clean", "--categories", "chair",
                    "--weights", "0.1", "1"]) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("| bundled | chair")]
    assert len(lines) == 6 and all(x.rstrip().endswith("% |") for x in lines)
    with pytest.raises(SystemExit):
        sc.main(["--data", str(chair_data), "--views", "clean", "--weights", "0"])
    with pytest.raises(SystemExit):
        sc.main(["--data", str(chair_data), "--views", "train", "--categories", "chair"])   # no training file
    with pytest.raises(SystemExit):
        sc.main(["--data", str(chair_data), "--views", "clean", "--hide", "0.2"])            # hiding: train only
    with pytest.raises(SystemExit):
        sc.main(["--data", str(chair_data), "--views", "clean", "--iterations", "0"])


def test_face_rows_are_the_apis_without_the_shape_basis(tmp_path: Path) -> None:
    sc = load_script("symmetry_check")
    lifter = load_lifter(device="cpu")
    test = load_test_set(write_check_data(tmp_path, faces=6), "face468", "clean")
    rows = dict(sc.symmetry_rows(lifter, test, [DEFAULT_WEIGHTS["face468"]], span=0.45))
    w = f"weight {DEFAULT_WEIGHTS['face468']:g}"
    lift = lifter.lift(test.points2d, "face468", test.visible, shape_basis=False)
    camera = lifter.lift_with_camera(test.points2d, "face468", test.focal, test.principal, test.visible,
                                     shape_basis=False)
    assert rows[f"lift(), {w}"] == pytest.approx(score(lift, test)["strict"], abs=1e-4)
    assert rows[f"lift_with_camera, {w}"] == pytest.approx(score(camera, test)["strict"], abs=1e-4)
    assert rows["lift(), no refinement"] != rows[f"lift(), {w}"]
