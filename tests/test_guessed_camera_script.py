"""``scripts/guessed_camera_check.py``: its rows are the API's readings (every span's guess read as the API reads
its own: faces estimate their focal length from it), and its longer lens is the same view from farther away, on
chairs and faces the tests make (absent and hidden landmarks included)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lifter.camera_reading as camera_reading
from data_files import load_script, write_chair_data, write_check_data
from lifter import load_lifter
from lifter.evaluate import score
from lifter.geometry import guessed_pinhole_of_lift, pinhole_of_reading, project_perspective
from lifter.symmetry import DEFAULT_SPAN_OVER_FOCAL
from lifter.views import load_test_set


@pytest.fixture(scope="module")
def chair_data(tmp_path_factory) -> Path:
    return write_chair_data(tmp_path_factory.mktemp("chairs"))


@pytest.mark.parametrize("setting", ["clean", "occluded"])
def test_rows_are_the_apis_readings(chair_data: Path, setting: str) -> None:
    gc = load_script("guessed_camera_check")
    lifter = load_lifter(device="cpu")
    test = load_test_set(chair_data, "chair", setting)
    rows = dict(gc.guess_rows(lifter, test, [DEFAULT_SPAN_OVER_FOCAL, 0.2]))
    lift = lifter.lift(test.points2d, "chair", test.visible)
    true = lifter.lift_with_camera(test.points2d, "chair", test.focal, test.principal, test.visible)
    guessed = lifter.lift_with_camera(test.points2d, "chair", visible=test.visible)
    assert rows["lift()"] == pytest.approx(score(lift, test)["strict"], abs=1e-9)
    assert rows["true intrinsics"] == pytest.approx(score(true, test)["strict"], abs=1e-4)
    assert rows[f"guessed, span {DEFAULT_SPAN_OVER_FOCAL:g}"] == pytest.approx(score(guessed, test)["strict"], abs=1e-4)
    assert rows["guessed, span 0.2"] != rows[f"guessed, span {DEFAULT_SPAN_OVER_FOCAL:g}"]   # the span matters
    # a chair's reading at another span is the reading through that span's guess (no focal length to estimate)
    point, kappa = guessed_pinhole_of_lift(lift, test.points2d, test.visible, 0.2)
    at_span = lifter.read_with_camera(lift, test.points2d, "chair", 1 / kappa, point, test.visible)
    assert rows["guessed, span 0.2"] == pytest.approx(score(at_span, test)["strict"], abs=1e-4)


def test_faces_estimate_their_focal_length_at_every_span(tmp_path: Path) -> None:
    gc = load_script("guessed_camera_check")
    lifter = load_lifter(device="cpu")
    test = load_test_set(write_check_data(tmp_path, faces=6), "face468", "clean")
    lift = lifter.lift(test.points2d, "face468")
    start = 1 / guessed_pinhole_of_lift(lift, test.points2d, test.visible, 0.3)[1]
    with gc.guess_span(0.3):
        assert camera_reading.DEFAULT_SPAN_OVER_FOCAL == 0.3
        reading = lifter.read_with_camera(lift, test.points2d, "face468")
    assert camera_reading.DEFAULT_SPAN_OVER_FOCAL == DEFAULT_SPAN_OVER_FOCAL             # restored
    focal = pinhole_of_reading(reading, test.points2d, test.visible)[0]
    assert np.abs(focal / start - 1).max() > 0.05                       # estimated, not held at the span's guess
    rows = dict(gc.guess_rows(lifter, test, [0.3]))
    assert rows["guessed, span 0.3"] == pytest.approx(score(reading, test)["strict"], abs=1e-4)


def test_a_longer_lens_is_the_same_view_from_farther(chair_data: Path) -> None:
    gc = load_script("guessed_camera_check")
    test = load_test_set(chair_data, "chair", "occluded")
    assert gc.farther(test, 1.0) is test
    far = gc.farther(test, 3.0)
    np.testing.assert_array_equal(far.visible, test.visible)
    np.testing.assert_allclose(far.focal, 3 * test.focal)
    # the true points move along the optical axis only, by twice their mean depth; absent ones stay NaN
    present = test.present
    shift = far.points3d[present] - test.points3d[present]
    np.testing.assert_allclose(shift[:, :2], 0, atol=1e-9)
    mean_z = np.array([test.points3d[b][present[b], 2].mean() for b in range(len(test.points2d))])
    np.testing.assert_allclose(far.points3d[..., 2][present], (test.points3d[..., 2] + 2 * mean_z[:, None])[present],
                               rtol=1e-6)
    assert np.isnan(far.points3d[~present]).all()
    # the new pixels are the moved points' projection through the longer lens plus the views' own 2D noise
    vis = test.visible
    filled = np.where(present[..., None], far.points3d, 1.0)
    noise = test.points2d - project_perspective(np.where(present[..., None], test.points3d, 1.0), test.focal,
                                                test.principal)
    np.testing.assert_allclose(far.points2d[vis], (project_perspective(filled, far.focal, far.principal) + noise)[vis],
                               atol=1e-6)
    assert np.isnan(far.points2d[~vis]).all()
    # ... the subject keeps about its size in the image (exactly for a landmark at the mean depth) and loses
    # perspective: the views approach the weak-perspective image of their mean depth
    weak = (test.focal[:, None, None] * test.points3d[..., :2] / mean_z[:, None, None] + test.principal[:, None]
            + noise)
    assert np.nanmean(np.abs(far.points2d - weak)[vis]) < 0.5 * np.nanmean(np.abs(test.points2d - weak)[vis])


def test_script_prints_a_row_per_lens_and_refuses_bad_settings(chair_data: Path, capsys) -> None:
    gc = load_script("guessed_camera_check")
    assert gc.main(["--data", str(chair_data), "--views", "clean", "--categories", "chair", "hand21",
                    "--spans", "0.3", "0.45", "--lens", "1", "4"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [x for x in out if x.startswith("| chair (")]
    assert len(rows) == 2 and all(x.count("%") == 4 for x in rows)
    assert any(x.startswith("| hand21 | (no hand21 files") for x in out)
    for bad in (["--spans", "0"], ["--lens", "0.5"], ["--views", "clean", "--hide", "0.2"], ["--count", "0"]):
        with pytest.raises(SystemExit):
            gc.main(["--data", str(chair_data)] + bad)
