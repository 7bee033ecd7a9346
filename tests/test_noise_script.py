"""``scripts/noise_check.py``: the noise it adds has the standard deviation it names, relative to each view's 2D
radius and on visible landmarks only; its columns are the API's readings of the noisy 2D; the command prints a row
per noise level on hand and chair test files the tests write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_files import load_script, write_check_data
from lifter.evaluate import score
from lifter.geometry import rms_radius
from lifter.references import depth_only_floor
from lifter.views import load_test_set


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_check_data(tmp_path_factory.mktemp("noise"), faces=3)


def test_noise_has_the_named_spread_on_visible_landmarks_only(data: Path) -> None:
    nc = load_script("noise_check")
    test = load_test_set(data, "hand21", "occluded")
    assert (~test.visible & test.present).any()
    assert nc.add_noise(test, 0.0, np.random.default_rng(0)) is test
    noisy = nc.add_noise(test, 5.0, np.random.default_rng(0))
    np.testing.assert_array_equal(noisy.visible, test.visible)
    assert np.isnan(noisy.points2d[~test.visible]).all() and np.isfinite(noisy.points2d[test.visible]).all()
    radius = rms_radius(np.nan_to_num(test.points2d), test.visible)                      # (B,) pixels
    relative = (noisy.points2d - test.points2d)[test.visible] / np.repeat(radius, test.visible.sum(1))[:, None]
    assert relative.std() == pytest.approx(0.05, rel=0.1) and abs(relative.mean()) < 0.01
    again = nc.add_noise(test, 5.0, np.random.default_rng(0))
    np.testing.assert_array_equal(again.points2d[test.visible], noisy.points2d[test.visible])   # seeded
    np.testing.assert_array_equal(test.points2d[test.visible],
                                  load_test_set(data, "hand21", "occluded").points2d[test.visible])   # untouched


def test_rows_are_the_apis_readings_of_the_noisy_2d(data: Path, lifter) -> None:
    nc = load_script("noise_check")
    test = nc.add_noise(load_test_set(data, "chair", "clean"), 2.0, np.random.default_rng(3))
    rows = nc.noise_rows(lifter, test, reference=lifter)
    plain = lifter.lift(test.points2d, "chair", test.visible)
    assert rows["lift()"] == pytest.approx(score(plain, test)["strict"], abs=1e-9)
    assert rows["reference lift()"] == pytest.approx(rows["lift()"], abs=1e-9)          # the same lifter twice
    true = lifter.lift_with_camera(test.points2d, "chair", test.focal, test.principal, test.visible)
    assert rows["true intrinsics"] == pytest.approx(score(true, test)["strict"], abs=1e-4)
    guessed = lifter.lift_with_camera(test.points2d, "chair", visible=test.visible)
    assert rows["guessed camera"] == pytest.approx(score(guessed, test)["strict"], abs=1e-4)
    assert rows["floor of the output form"] == pytest.approx(score(depth_only_floor(test), test)["strict"])
    # the floor keeps the noisy x, y: more noise, a higher floor; without a reference its column is left out
    clean = nc.noise_rows(lifter, load_test_set(data, "chair", "clean"))
    assert "reference lift()" not in clean
    assert clean["floor of the output form"] < rows["floor of the output form"]
    assert "fitted shape, true intrinsics" not in rows                   # chairs have no shape basis; faces do:
    face = nc.add_noise(load_test_set(data, "face468", "clean"), 2.0, np.random.default_rng(3))
    fitted = lifter.lift_with_camera(face.points2d, "face468", face.focal, face.principal, face.visible,
                                     fitted_shape=True)
    face_rows = nc.noise_rows(lifter, face)
    assert face_rows["fitted shape, true intrinsics"] == pytest.approx(score(fitted, face)["strict"], abs=1e-4)
    assert face_rows["fitted shape, true intrinsics"] < face_rows["true intrinsics"]   # the noise kept out


def test_script_prints_a_row_per_noise_level_and_refuses_bad_settings(data: Path, capsys) -> None:
    nc = load_script("noise_check")
    assert nc.main(["--data", str(data), "--views", "clean", "--categories", "chair", "human17",
                    "--sigmas", "0", "5", "--no-reference"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "reference lift()" not in out[0]
    rows = [x for x in out if x.startswith("| chair |")]
    assert [r.split(" | ")[1] for r in rows] == ["0", "5"] and all(r.count("%") == 4 for r in rows)
    assert rows[0].split(" | ")[2] == "0.0" and float(rows[1].split(" | ")[2]) > 0
    assert any(x.startswith("| human17 | (no human17 files") for x in out)
    for bad in (["--sigmas", "-1"], ["--sigmas", "101"], ["--count", "0"], ["--views", "clean", "--hide", "0.2"]):
        with pytest.raises(SystemExit):
            nc.main(["--data", str(data)] + bad)
