"""``python -m lifter.lift``'s parts in closed form, with a stand-in lifter where the real one cannot fail: the
default chunk, the errors of a chunk named by the file's frames, the camera record of per-frame principal points,
the recovered pinhole's frame numbers, the options refused up front, a failed write and a long list of frames
not lifted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lifter import lift as lift_module
from lifter.lift import auto_chunk, lift_file, main, reading_camera


class Refusing:
    """A lifter whose ``lift`` refuses every call with ``message`` (the API's checks pass)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def landmark_count(self, category: str, n: int) -> None:
        pass

    def check_fitted_shape(self, category: str, shape_basis: bool, fitted_shape: bool) -> None:
        pass

    def lift(self, points, category, visible):
        raise ValueError(self.message)


def test_the_default_chunk_is_a_twentieth_rounded_up_within_64_to_4096() -> None:
    assert [auto_chunk(n) for n in (1, 1280, 1290, 20 * 4096, 10 ** 7)] == [64, 64, 65, 4096, 4096]


def test_a_chunks_error_names_the_files_frames() -> None:
    pts = np.random.default_rng(0).normal(size=(6, 21, 2)) * 100
    arrays = {"points2d": pts}
    with pytest.raises(ValueError, match=r"^frame 0: no luck$"):
        lift_file(Refusing("no luck"), arrays, "hand21", chunk=1, progress=False)
    with pytest.raises(ValueError, match=r"^frames 0-1: no luck$"):
        lift_file(Refusing("no luck"), arrays, "hand21", chunk=2, progress=False)
    with pytest.raises(ValueError, match=r"^odd frame 1 and frame 7$"):      # chunk [0, 1]: its "frame 1" is
        lift_file(Refusing("odd frame 1 and frame 7"), arrays, "hand21", chunk=2, progress=False)   # the file's 1


def test_per_frame_principal_points_with_one_focal_length_are_recorded_per_frame() -> None:
    class Reading(Refusing):
        def lift_with_camera(self, points, category, focal, principal, visible, fitted_shape=False):
            return np.zeros(points.shape[:-1] + (3,))

    pts = np.random.default_rng(1).normal(size=(3, 21, 2)) * 100
    principal = np.array([[500.0, 500.0], [510.0, 500.0], [500.0, 500.0]])
    _, _, camera = lift_file(Reading(""), {"points2d": pts, "camera_focal": np.full(3, 900.0),
                                           "camera_principal": principal}, "hand21", "camera", progress=False)
    assert camera["focal"] == "per frame" and camera["principal"] == "per frame"
    _, _, same = lift_file(Reading(""), {"points2d": pts, "camera_focal": np.full(3, 900.0),
                                         "camera_principal": np.full((3, 2), 500.0)}, "hand21", "camera",
                           progress=False)
    assert same["focal"] == 900.0 and same["principal"] == [500.0, 500.0]


def test_the_recovered_pinholes_error_names_the_files_frame() -> None:
    rng = np.random.default_rng(2)
    points = rng.normal(size=(3, 21, 3)) + np.array([0.0, 0.0, 5.0])
    points[0] = np.nan                                                   # frame 0 was not lifted
    points[2, 4, 2] = -1.0                                               # frame 2: a landmark behind the camera
    pixels = 900 * points[..., :2] / points[..., 2:] + 500
    with pytest.raises(ValueError, match=r"^frame 2, landmark 4"):
        reading_camera(points, pixels, np.ones((3, 21), bool))


def test_a_chunk_below_one_and_a_min_score_that_is_not_a_number_are_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "in.npz"
    np.savez(path, points2d=np.zeros((1, 17, 3)))
    for extra, message in ((["--chunk", "0"], "--chunk must be at least 1"),
                           (["--from", "coco17", "--min-score", "nan"], "--min-score must be a finite number")):
        with pytest.raises(SystemExit):
            main([str(path), "--category", "human17", "--out", str(tmp_path / "o.npz"), *extra])
        assert message in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


def test_a_failed_write_and_many_frames_not_lifted_are_told_in_a_line(tmp_path: Path, capsys, monkeypatch) -> None:
    rng = np.random.default_rng(3)
    pts = rng.normal(size=(13, 21, 2)) * 100 + 500
    visible = np.zeros((13, 21), bool)
    visible[12] = True                                                   # only the last frame can be lifted
    path = tmp_path / "in.npz"
    np.savez(path, points2d=pts, visible=visible)
    out = tmp_path / "out.npz"
    words = [str(path), "--category", "hand21", "--out", str(out), "--quiet", "--device", "cpu"]
    assert main(words) == 0
    err = capsys.readouterr().err
    assert err.endswith("frames 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... (2 more)\n")
    with np.load(out) as f:
        assert json.loads(str(f["record"]))["not_lifted"] == list(range(12))

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lift_module.np, "savez", full_disk)
    with pytest.raises(SystemExit):
        main(words + ["--force"])
    assert f"cannot write --out {out}: [Errno 28] No space left on device" in capsys.readouterr().err
