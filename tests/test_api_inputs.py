"""The API's input checks and readings at their edges: what is not a number is refused, any scale lifts alike,
collapsed frames are said, and a camera reading never puts a landmark behind the camera."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from data_files import face_input
from lifter.data.cameras import render_views
from lifter.data.hand import sample_hands
from lifter.geometry import pinhole_of_reading
from lifter.input_checks import coincident_frames, real_numbers, spreads, unit_scales
from lifter.lift import main as lift_main


@pytest.fixture(scope="module")
def hands() -> np.ndarray:
    """``(4, 21, 2)`` pixels of the project's synthetic hands through the benchmark's cameras."""
    rng = np.random.default_rng(3)
    return render_views(sample_hands(4, rng)[0], None, rng).points2d.astype(np.float64)


def test_real_numbers_refuses_what_numpy_would_turn_into_numbers() -> None:
    assert real_numbers([[1, 2], [None, 3.5]], "p").tolist()[1][1] == 3.5
    assert np.isnan(real_numbers([[1, 2], [None, 3.5]], "p")[1, 0])
    np.testing.assert_array_equal(real_numbers(torch.ones(2, requires_grad=True), "p"), [1.0, 1.0])
    for value, said in ((["1", "2"], "strings"), ([True, False], "booleans"), ([1j], "complex numbers"),
                        (np.array([1, "a"], dtype=object), "str 'a'"), (np.array([1, True], dtype=object), "bool")):
        with pytest.raises(ValueError, match=f"p must hold real numbers, got {said}"):
            real_numbers(value, "p")


def test_spreads_coincidence_and_unit_scales() -> None:
    pts = np.array([[[0.0, 0.0], [2.0, 0.0], [1.0, 3.0]],            # spread: 2 from the centroid (1, 1)
                    [[5.0, 5.0], [5.0, 5.0], [9.0, 9.0]],            # the third hidden: coincident
                    [[1e-9, 0.0], [0.0, 0.0], [0.0, 2e-9]],
                    [[1e20, 1e20], [1e20 + 1e8, 1e20], [1e20, 1e20]]])  # 1e8 apart at 1e20: beyond float64
    vis = np.array([[True] * 3, [True, True, False], [True] * 3, [True] * 3])
    np.testing.assert_allclose(spreads(pts, vis)[:3], [2.0, 0.0, 4 / 3 * 1e-9])
    assert coincident_frames(pts, vis).tolist() == [False, True, False, True]
    scales = unit_scales(pts, vis)
    assert scales[0] == 1.0 and scales[1] == 1.0
    assert 50 <= scales[2] * spreads(pts, vis)[2] <= 200 and np.log2(scales[2]) % 1 == 0     # a power of two


def test_bad_types_are_refused_naming_the_argument(lifter, hands) -> None:
    body = hands[0, :17].copy()
    for points, said in ((body.astype(str), "strings"), (body > 300, "booleans")):
        with pytest.raises(ValueError, match=rf"points2d \(pixels, \(F, N, 2\) or \(N, 2\)\) must hold real "
                                             rf"numbers, got {said}"):
            lifter.lift(points, "human17")
    np.testing.assert_array_equal(lifter.lift(torch.tensor(hands, requires_grad=True), "hand21"),
                                  lifter.lift(hands, "hand21"))
    with pytest.raises(ValueError, match="focal_length .* must hold real numbers, got strings"):
        lifter.lift_with_camera(hands, "hand21", "1200", (500, 500))
    with pytest.raises(ValueError, match="focal_length .* must hold real numbers, got booleans"):
        lifter.lift_with_camera(hands, "hand21", True, (500, 500))
    with pytest.raises(ValueError, match="principal_point .* must hold real numbers, got strings"):
        lifter.lift_with_camera(hands, "hand21", 1200.0, "ab")
    with pytest.raises(ValueError, match=r"category must be a category's name, .* got list \['hand21'\]"):
        lifter.lift(hands, ["hand21"])
    with pytest.raises(ValueError, match="lift3d must hold real numbers, got strings"):
        lifter.read_with_camera(lifter.lift(hands, "hand21").astype(str), hands, "hand21")
    with pytest.raises(ValueError, match=r"visible landmark 2 is at \[1e\+35, 0.0\]: beyond 1e\+30"):
        lifter.lift(np.where(np.arange(21)[:, None] == 2, [1e35, 0.0], hands[0]), "hand21")


def test_any_scale_lifts_alike(lifter, hands) -> None:
    faces = face_input(2)[0]
    for points, category in ((hands, "hand21"), (faces, "face468"), (hands[:, :17] * 3, "human17")):
        lifted, read = lifter.lift(points, category), lifter.lift_with_camera(points, category)
        for s in (1e-10, 1e-3, 1e9):
            scaled = lifter.lift(points * s, category).astype(np.float64) / s
            np.testing.assert_allclose(scaled, lifted, atol=1e-4 * np.abs(lifted).max(), err_msg=f"{category} {s}")
            scaled = lifter.lift_with_camera(points * s, category).astype(np.float64) / s
            np.testing.assert_allclose(scaled, read, atol=1e-4 * np.abs(read).max(), err_msg=f"{category} {s}")


def test_any_scale_reads_alike_through_given_intrinsics(lifter, hands) -> None:
    """Pixels, focal length and principal point scaled together: the reading scales with them (its units are
    those of the focal length), a pose of extreme size being read at 100 units like the rest of it."""
    focal, principal = 1200.0, np.array([480.0, 520.0])
    for points, category in ((hands, "hand21"), (face_input(2)[0], "face468")):
        read = lifter.lift_with_camera(points, category, focal, principal)
        for s in (1e-10, 1e9):
            scaled = lifter.lift_with_camera(points * s, category, focal * s, principal * s).astype(np.float64) / s
            np.testing.assert_allclose(scaled, read, atol=1e-4 * np.abs(read).max(), err_msg=f"{category} {s}")


def test_what_a_hidden_landmark_holds_does_not_matter(lifter, hands) -> None:
    """A landmark marked not visible is ignored whatever it holds: NaN, zero, or a coordinate far beyond what a
    visible one may be (refused there)."""
    vis = np.ones(hands.shape[:2], bool)
    vis[:, [4, 8, 13]] = False
    lifts = []
    for held in (np.nan, 0.0, 1e32, -5e7):
        pts = hands.copy()
        pts[~vis] = held
        lifts.append(lifter.lift(pts, "hand21", vis))
        np.testing.assert_array_equal(lifter.lift_with_camera(pts, "hand21", visible=vis),
                                      lifter.lift_with_camera(np.where(vis[..., None], hands, 0.0), "hand21",
                                                              visible=vis))
    for other in lifts[1:]:
        np.testing.assert_array_equal(other, lifts[0])
    with pytest.raises(ValueError, match="beyond"):
        lifter.lift(np.where(vis[..., None], hands, 1e32), "hand21")


def test_collapsed_frames_are_said_and_keep_a_finite_reading(lifter, hands) -> None:
    collapsed = np.full((468, 2), 100.0)
    with pytest.warns(UserWarning, match="the pose's visible landmarks all lie at one pixel: nothing to lift"):
        assert np.isfinite(lifter.lift_with_camera(collapsed, "face468", 1000.0, (50.0, 50.0))).all()
    with pytest.warns(UserWarning, match="the pose's visible landmarks all lie at one pixel"):
        assert np.isfinite(lifter.lift_with_camera(collapsed, "face468", 1000.0, (50.0, 50.0),
                                                   fitted_shape=True)).all()
    batch = hands.copy()
    batch[2] = 7.0
    with pytest.warns(UserWarning, match="frame 2's visible landmarks all lie at one pixel"):
        out = lifter.lift(batch, "hand21")
    np.testing.assert_array_equal(out[[0, 1, 3]], lifter.lift(hands[[0, 1, 3]], "hand21"))


def test_camera_readings_keep_every_landmark_in_front_of_the_camera(lifter) -> None:
    """Random points read through a guessed camera: the bone-length steps would have put a landmark 360 px behind
    the camera; the frame keeps the reading before them."""
    points = np.random.default_rng(0).uniform(0, 500, (21, 2))
    read = lifter.lift_with_camera(points, "hand21")
    assert (read[:, 2] > 0).all()
    before = lifter.read_with_camera(lifter.lift(points, "hand21"), points, "hand21", bone_lengths=False)
    np.testing.assert_array_equal(read, before)                          # the reading before the bone steps
    focal, principal = pinhole_of_reading(read[None], points[None])
    np.testing.assert_allclose(focal * read[:, :2] / read[:, 2:] + principal, points, atol=1e-2)


def test_random_points_lifted_as_a_face_keep_a_usable_reading(lifter) -> None:
    """Random pixels are no face: the basis fit, held within its coefficient bound, shrank the face to nothing far
    away on one of these, and lift()'s closest orthographic form failed on it (an SVD of non-finite values); such a
    frame keeps the reading before the fit."""
    points = (np.random.default_rng(0).normal(size=(4, 468, 2)) * 100 + 500).astype(np.float32)
    for options in ({}, {"symmetrize": False}, {"mirror_average": False}):
        assert np.isfinite(lifter.lift(points, "face468", **options)).all(), options
        assert np.isfinite(lifter.lift_with_camera(points, "face468", **options)).all(), options


def test_pinhole_of_reading_refuses_points_that_are_not_a_camera_reading(lifter, hands) -> None:
    with pytest.raises(ValueError, match=r"frame 0, landmark \d+: a visible point must be finite, in front of the "
                                         r"camera .* not lift\(\)'s"):
        pinhole_of_reading(lifter.lift(hands[:1], "hand21"), hands[:1])
    read = lifter.lift_with_camera(hands[:2], "hand21")
    with pytest.raises(ValueError, match="in front of the camera"):
        pinhole_of_reading(-read, hands[:2])
    broken = read.copy()
    broken[1, 4] = np.nan
    with pytest.raises(ValueError, match="frame 1, landmark 4"):
        pinhole_of_reading(broken, hands[:2], np.ones((2, 21), bool))
    mirrored = read * np.array([-1.0, -1.0, 1.0])                      # in front, but not on the pixels' rays
    with pytest.raises(ValueError, match="do not lie on their pixels' rays"):
        pinhole_of_reading(mirrored, hands[:2])


def test_lift_command_skips_a_collapsed_frame_and_refuses_fitted_shape_before_lifting(hands, tmp_path: Path,
                                                                                      capsys) -> None:
    batch = np.concatenate([hands, hands[:1]])
    batch[2] = 100.0
    source = tmp_path / "hands.npz"
    np.savez(source, points2d=batch)
    out = tmp_path / "out.npz"
    assert lift_main([str(source), "--category", "hand21", "--out", str(out), "--reading", "guessed", "--quiet"]) == 0
    assert "1 of 5 frames have fewer than 3 visible landmarks, or all of them at one pixel" in capsys.readouterr().err
    with np.load(out) as f:
        assert f["lifted"].tolist() == [True, True, False, True, True]
        assert np.isnan(f["points3d"][2]).all() and np.isfinite(f["points3d"][[0, 1, 3, 4]]).all()
    with pytest.raises(SystemExit):
        lift_main([str(source), "--category", "hand21", "--out", str(tmp_path / "o2.npz"), "--strict"])
    assert "1 of 5 frames' (the first, frame 2) visible landmarks all lie at one pixel" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        lift_main([str(source), "--category", "hand21", "--out", str(tmp_path / "o3.npz"), "--reading", "guessed",
                   "--fitted-shape"])
    err = capsys.readouterr().err
    assert "error: fitted_shape=True returns the shape basis" in err and "frames 0" not in err
    text = tmp_path / "text.json"
    text.write_text('{"points2d": %s, "camera_focal": "1200", "camera_principal": [500, 500]}'
                    % batch[0].tolist())
    with pytest.raises(SystemExit):
        lift_main([str(text), "--category", "hand21", "--out", str(tmp_path / "o4.npz"), "--reading", "camera"])
    assert "'camera_focal' must hold real numbers, got strings" in capsys.readouterr().err


def test_the_spread_of_landmarks_near_the_largest_float_does_not_overflow() -> None:
    pts = np.array([[[1e308, 1e308], [1.5e308, 1e308], [1e308, 1.5e308], [1.5e308, 1.5e308]]])
    vis = np.ones((1, 4), bool)
    np.testing.assert_allclose(spreads(pts, vis), [0.25e308])          # each landmark a quarter from the centre
    scale = unit_scales(pts, vis)
    assert 0 < scale[0] < 1 and np.isfinite(pts * scale).all()
