"""``python -m lifter.lift``: a file of 2D landmarks lifted by the API's three readings, the same as the API's calls,
with clear errors for bad input and nothing overwritten without ``--force``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from data_files import face_input
from lifter import load_lifter
from lifter.data.cameras import render_views
from lifter.data.hand import sample_hands
from lifter.geometry import aligned_errors
from lifter.lift import lift_file, main, read_landmarks


@pytest.fixture(scope="module")
def lifter():
    return load_lifter(device="cpu")


@pytest.fixture(scope="module")
def hand_file(tmp_path_factory) -> tuple[Path, object]:
    rng = np.random.default_rng(7)
    hands, _ = sample_hands(12, rng)
    views = render_views(hands, None, rng, occlusion=0.2)
    path = tmp_path_factory.mktemp("in") / "hands.npz"
    np.savez(path, points2d=views.points2d, visible=views.visible, camera_focal=views.focal,
             camera_principal=views.principal)
    return path, views


@pytest.mark.parametrize("reading", ["lift", "camera", "guessed"])
def test_each_reading_is_the_apis_call_chunked_or_not(lifter, hand_file, tmp_path: Path, reading: str) -> None:
    path, v = hand_file
    out = tmp_path / "out.npz"
    assert main([str(path), "--category", "hand21", "--out", str(out), "--reading", reading, "--chunk", "5",
                 "--quiet", "--device", "cpu"]) == 0
    expect = {"lift": lambda: lifter.lift(v.points2d, "hand21", v.visible),
              "camera": lambda: lifter.lift_with_camera(v.points2d, "hand21", v.focal, v.principal, v.visible),
              "guessed": lambda: lifter.lift_with_camera(v.points2d, "hand21", visible=v.visible)}[reading]()
    with np.load(out) as f:
        np.testing.assert_allclose(f["points3d"], expect, rtol=1e-5, atol=1e-3)
        np.testing.assert_array_equal(f["visible"], v.visible)
        assert str(f["category"]) == "hand21" and str(f["reading"]) == reading
        record = json.loads(str(f["record"]))
        if reading == "lift":
            assert "camera_focal" not in f.files and "camera_principal" not in f.files
        else:                                # the pinhole each frame was read through reproduces its pixels
            focal, principal = f["camera_focal"], f["camera_principal"]
            assert focal.shape == (len(v.points2d),) and principal.shape == (len(v.points2d), 2)
            proj = focal[:, None, None] * f["points3d"][..., :2] / f["points3d"][..., 2:] + principal[:, None]
            np.testing.assert_allclose(proj[v.visible], v.points2d[v.visible], atol=1e-2)
            if reading == "camera":
                np.testing.assert_allclose(focal, v.focal, rtol=1e-5)
                np.testing.assert_allclose(principal, v.principal, atol=1e-2)
    assert record["weights_sha256"] == lifter.record["sha256"] and record["input"] == str(path)
    # the file's own intrinsics were used for --reading camera; --focal/--principal override them
    if reading == "camera":
        assert record["focal"] == "per frame"
        pts, vis, cam = lift_file(lifter, read_landmarks(path), "hand21", "camera", 1300.0, (480.0, 520.0),
                                  progress=False)
        np.testing.assert_allclose(pts, lifter.lift_with_camera(v.points2d, "hand21", 1300.0, (480.0, 520.0),
                                                                v.visible), rtol=1e-5, atol=1e-3)
        assert cam["focal"] == 1300.0 and cam["principal"] == [480.0, 520.0]


@pytest.mark.parametrize("reading", ["camera", "guessed"])
def test_fitted_shape_is_the_apis_and_its_pinhole_is_the_fits(lifter, tmp_path: Path, reading: str) -> None:
    """``--fitted-shape``: the API's fitted face, closer to the true face than the reading on the noisy pixels'
    rays; the pinhole written with it is the fit's focal length (its mean depth) and a principal point through
    which it re-projects onto the input to within the noise."""
    pts, cam, focal, principal = face_input(3, seed=4)
    noisy = pts + np.random.default_rng(4).normal(scale=2.0, size=pts.shape)              # about 1 % of the radius
    path = tmp_path / "faces.npz"
    np.savez(path, points2d=noisy, camera_focal=np.full(3, focal), camera_principal=np.tile(principal, (3, 1)))
    outs = {}
    for fitted in (False, True):
        outs[fitted] = tmp_path / f"out_{fitted}.npz"
        assert main([str(path), "--category", "face468", "--out", str(outs[fitted]), "--reading", reading,
                     "--quiet", "--device", "cpu"] + ["--fitted-shape"] * fitted) == 0
    intrinsics = (focal, principal) if reading == "camera" else (None, None)
    vis = np.ones(pts.shape[:2], bool)
    expect = lifter.lift_with_camera(noisy, "face468", *intrinsics, vis, fitted_shape=True)
    with np.load(outs[True]) as f, np.load(outs[False]) as g:
        np.testing.assert_allclose(f["points3d"], expect, rtol=1e-5, atol=1e-3)
        assert json.loads(str(f["record"]))["fitted_shape"] and not json.loads(str(g["record"]))["fitted_shape"]
        closer = 0.5 if reading == "camera" else 0.8                 # the estimated focal length costs some
        assert aligned_errors(f["points3d"], cam, vis).mean() < closer * aligned_errors(g["points3d"], cam, vis).mean()
        np.testing.assert_allclose(f["camera_focal"], f["points3d"][..., 2].mean(1), rtol=1e-6)
        if reading == "camera":
            np.testing.assert_allclose(f["camera_focal"], focal, rtol=1e-4)
            np.testing.assert_allclose(f["camera_principal"], np.tile(principal, (3, 1)), atol=0.5)
        proj = f["camera_focal"][:, None, None] * f["points3d"][..., :2] / f["points3d"][..., 2:] \
            + f["camera_principal"][:, None]
        residual = np.sqrt(((proj - noisy) ** 2).sum(-1).mean())
        assert 1.0 < residual < 4.0                              # the noise (2 px a coordinate), not onto the pixels


def test_json_input_one_pose_and_nan_as_missing(lifter, hand_file, tmp_path: Path) -> None:
    _, v = hand_file
    pose = np.where(v.visible[0][:, None], v.points2d[0], np.nan)
    path = tmp_path / "pose.json"
    path.write_text(json.dumps({"points2d": [[None if np.isnan(c) else float(c) for c in p] for p in pose]}))
    arrays = read_landmarks(path)
    pts, vis, _ = lift_file(lifter, arrays, "hand21", progress=False)
    assert pts.shape == (21, 3) and vis.shape == (21,)
    np.testing.assert_array_equal(vis, v.visible[0])                     # NaN read as missing
    np.testing.assert_allclose(pts, lifter.lift(pose, "hand21", v.visible[0]), rtol=1e-5, atol=1e-3)


def test_bad_input_and_existing_output_are_refused(hand_file, tmp_path: Path, capsys) -> None:
    path, _ = hand_file
    out = tmp_path / "out.npz"
    out.write_bytes(b"keep me")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("[1, 2]")
    no_points = tmp_path / "none.npz"
    np.savez(no_points, other=np.zeros(3))
    no_camera = tmp_path / "nocam.npz"
    np.savez(no_camera, points2d=np.random.default_rng(0).normal(size=(2, 21, 2)) * 100)
    nan_seen = tmp_path / "nan_seen.npz"                  # frame 3 has a non-finite landmark marked visible
    points = np.random.default_rng(1).normal(size=(5, 21, 2)) * 100
    points[3, 4] = np.nan
    np.savez(nan_seen, points2d=points, visible=np.ones((5, 21), bool))
    scores = tmp_path / "scores.npz"                      # a detector's confidences in place of a mask
    np.savez(scores, points2d=points[:2], visible=np.full((2, 21), 0.9))
    not_npz = tmp_path / "text.npz"
    not_npz.write_text("x, y\n1, 2\n")
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    objects = tmp_path / "objects.json"                   # a common detector layout, not this file's
    objects.write_text(json.dumps({"points2d": [{"x": 1.0, "y": 2.0}] * 21}))
    text_focal = tmp_path / "text_focal.json"
    text_focal.write_text(json.dumps({"points2d": points[0].tolist(), "camera_focal": "abc"}))
    text_npz = tmp_path / "text_points.npz"
    np.savez(text_npz, points2d=np.array(["garbage"]))
    vis16 = tmp_path / "vis16.json"
    vis16.write_text(json.dumps({"points2d": points[0].tolist(), "visible": [True] * 20}))
    one_point = tmp_path / "one_point.json"
    one_point.write_text(json.dumps({"points2d": [[5.0, 5.0]] * 21}))
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    (tmp_path / "folder.npz").mkdir()
    cases = [
        ([str(objects), "--category", "hand21", "--out", str(tmp_path / "a.npz")],
         "'points2d' must hold numbers ([x, y] pairs, not objects such as {'x': ..., 'y': ...})"),
        ([str(text_focal), "--category", "hand21", "--out", str(tmp_path / "a.npz"), "--reading", "camera"],
         "'camera_focal' must hold numbers: could not convert string to float: 'abc'"),
        ([str(text_npz), "--category", "hand21", "--out", str(tmp_path / "a.npz")],
         f"cannot read {text_npz}: 'points2d' must hold numbers"),
        ([str(path), "--category", "hand21", "--out", str(a_file / "x.npz")], f"{a_file} is a file, not a folder"),
        ([str(path), "--category", "hand21", "--out", str(tmp_path / "folder.npz"), "--force"], "is a folder"),
        ([str(path), "--category", "hand21", "--out", str(tmp_path / "a.npz"), "--min-score", "0.3"],
         "--min-score goes with --from"),
        ([str(vis16), "--category", "hand21", "--out", str(tmp_path / "a.npz")],
         "error: visible must have shape (21,), got (20,)"),             # one pose: its mask's shape
        ([str(one_point), "--category", "hand21", "--out", str(tmp_path / "a.npz"), "--reading", "guessed"],
         "error: the pose's visible landmarks all lie at one pixel: nothing to lift"),   # one pose: no "frame 0"
        ([str(path), "--category", "hand21", "--out", str(tmp_path / "a.npz"), "--reading", "camera", "--focal",
          "900", "--principal", "nan", "500"], "principal_point must be finite pixels, got [nan, 500.0]"),
        ([str(path), "--category", "hand21", "--out", str(out)], "exists; give --force"),
        ([str(tmp_path / "missing.npz"), "--category", "hand21", "--out", str(tmp_path / "a.npz")], "no such input"),
        ([str(bad_json), "--category", "hand21", "--out", str(tmp_path / "a.npz")], "object with a 'points2d'"),
        ([str(no_points), "--category", "hand21", "--out", str(tmp_path / "a.npz")],
         "has no 'points2d' array (its keys: other)"),
        ([str(not_npz), "--category", "hand21", "--out", str(tmp_path / "a.npz")], "not a .npz archive"),
        ([str(damaged), "--category", "hand21", "--out", str(tmp_path / "a.npz")], "not a .npz archive"),
        ([str(scores), "--category", "hand21", "--out", str(tmp_path / "a.npz")],
         "visible must be bool (or 0 / 1)"),
        ([str(path), "--category", "cat", "--out", str(tmp_path / "a.npz")], "error: unknown category 'cat'"),
        ([str(path), "--category", "human17", "--out", str(tmp_path / "a.npz")],
         "error: human17 has 17 landmarks, got 21"),                      # the whole file's, no chunk's frames
        ([str(path), "--category", "hand21", "--out", str(tmp_path / "a.npz"), "--reading", "camera", "--focal",
          "-5", "--principal", "500", "500"], "got -5.0\n"),            # the value given, not a broadcast array
        ([str(nan_seen), "--category", "hand21", "--out", str(tmp_path / "a.npz"), "--chunk", "2"],
         "error: non-finite 2D coordinates at visible landmark 4 (frame 3)"),    # the file's frame, not the chunk's
        ([str(no_camera), "--category", "hand21", "--out", str(tmp_path / "a.npz"), "--reading", "camera"],
         "needs the intrinsics"),
        ([str(path), "--category", "hand21", "--out", str(tmp_path / "a.npz"), "--focal", "900"],
         "go with --reading camera"),
        ([str(path), "--category", "hand21", "--out", str(tmp_path / "a.txt")], "must end in .npz"),
        ([str(path), "--category", "hand21", "--out", str(tmp_path / "a.npz"), "--fitted-shape"],
         "--fitted-shape goes with --reading camera"),
        ([str(path), "--category", "hand21", "--out", str(tmp_path / "a.npz"), "--reading", "guessed",
          "--fitted-shape"], "a category with a basis (face468)"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit):
            main(argv + ["--quiet"])
        assert message in capsys.readouterr().err, message
    assert out.read_bytes() == b"keep me"                                 # nothing overwritten
    assert not (tmp_path / "a.npz").exists()


def test_coco_keypoints_with_scores_are_mapped_to_human17_first(lifter, tmp_path: Path, capsys) -> None:
    from lifter.keypoint_formats import to_human17

    rng = np.random.default_rng(11)
    xy = rng.normal(size=(6, 17, 2)) * 60 + 400
    score = rng.uniform(0.2, 1.0, size=(6, 17))
    score[0, 15] = 0.0                                        # left ankle undetected in frame 0
    path = tmp_path / "coco.json"
    path.write_text(json.dumps({"points2d": np.concatenate([xy, score[..., None]], -1).tolist()}))
    out = tmp_path / "out.npz"
    assert main([str(path), "--category", "human17", "--from", "coco17", "--out", str(out), "--quiet",
                 "--device", "cpu"]) == 0
    mapped, vis = to_human17(xy, score > 0, "coco17")
    assert not vis[0, 6] and vis[1, 6]                        # human17 l_ankle follows the score
    with np.load(out) as f:
        np.testing.assert_allclose(f["points3d"], lifter.lift(mapped, "human17", vis), rtol=1e-5, atol=1e-3)
        np.testing.assert_array_equal(f["visible"], vis)
        np.testing.assert_allclose(f["points2d_human17"], np.where(vis[..., None], mapped, np.nan), rtol=1e-6)
        assert json.loads(str(f["record"]))["keypoints_from"] == "coco17"
    for args, message in ((["--category", "hand21", "--from", "coco17"], "give --category human17"),
                          (["--category", "human17", "--from", "body25"], "body25 has 25 keypoints a frame"),
                          (["--category", "human17", "--from", "h36m"], "invalid choice")):
        with pytest.raises(SystemExit):
            main([str(path), "--out", str(tmp_path / "x.npz"), "--quiet", *args])
        assert message in capsys.readouterr().err


def test_mediapipe_visibilities_count_from_a_half_as_in_the_app(tmp_path: Path) -> None:
    """MediaPipe Pose gives a position and a low visibility to a landmark out of the frame: below 0.5 it is
    missing, as in the app (``--min-score`` changes it); COCO's and OpenPose's scores count from above 0."""
    from lifter.keypoint_formats import to_human17
    from lifter.lift import mapped_keypoints

    rng = np.random.default_rng(5)
    xy = rng.normal(size=(2, 33, 2)) * 60 + 400
    score = np.full((2, 33), 0.9)
    score[0, 27:29] = 0.02                                    # both ankles out of the frame in frame 0
    xy[0, 27:29] = [5000.0, -3000.0]
    arrays = {"points2d": np.concatenate([xy, score[..., None]], -1)}
    got = mapped_keypoints(arrays, "mediapipe33")
    expect, vis = to_human17(xy, score > 0.5, "mediapipe33")
    np.testing.assert_array_equal(got["visible"], vis)
    assert vis[1].all() and vis[0].sum() == 15                # human17's two ankles missing in frame 0
    assert mapped_keypoints(arrays, "mediapipe33", 0.0)["visible"].all()     # --min-score 0: every one seen
    path, out = tmp_path / "mp.npz", tmp_path / "out.npz"
    np.savez(path, **arrays)
    assert main([str(path), "--category", "human17", "--from", "mediapipe33", "--out", str(out), "--quiet",
                 "--device", "cpu"]) == 0
    with np.load(out) as f:
        np.testing.assert_array_equal(f["visible"], vis)
    coco = np.concatenate([xy[:, :17], np.full((2, 17, 1), 0.02)], -1)    # a weak COCO score still counts
    assert mapped_keypoints({"points2d": coco}, "coco17")["visible"].all()
    assert not mapped_keypoints({"points2d": coco}, "coco17", 0.1)["visible"].any()


def test_detector_json_files_are_read_person_by_person(lifter, tmp_path: Path, capsys) -> None:
    from lifter.keypoint_formats import to_human17
    from lifter.lift import detector_rows

    rng = np.random.default_rng(12)
    coco = np.concatenate([rng.normal(size=(3, 17, 2)) * 60 + 400, np.full((3, 17, 1), 2.0)], -1)
    body25 = np.concatenate([rng.normal(size=(2, 25, 2)) * 60 + 400, rng.uniform(0.3, 1, (2, 25, 1))], -1)
    results = [{"image_id": 1, "category_id": 1, "keypoints": k.ravel().tolist(), "score": 0.9} for k in coco]
    no_keypoints = np.concatenate([np.full((1, 17, 2), np.nan), np.zeros((1, 17, 1))], -1)   # a row, not seen
    layouts = {"results.json": (results, coco),
               "annotations.json": ({"images": [], "annotations": results[:2] + [{"id": 9}]},
                                    np.concatenate([coco[:2], no_keypoints])),
               "openpose.json": ({"version": 1.3, "people": [{"pose_keypoints_2d": k.ravel().tolist()}
                                                             for k in body25]}, body25)}
    for name, (data, expect) in layouts.items():
        (tmp_path / name).write_text(json.dumps(data))
        np.testing.assert_allclose(read_landmarks(tmp_path / name)["points2d"], expect)
    assert detector_rows({"points2d": [[0, 0]]}) is None and detector_rows([[1, 2]]) is None
    out = tmp_path / "out.npz"
    assert main([str(tmp_path / "openpose.json"), "--category", "human17", "--from", "body25", "--out", str(out),
                 "--quiet", "--device", "cpu"]) == 0
    mapped, vis = to_human17(body25[..., :2], body25[..., 2] > 0, "body25")
    with np.load(out) as f:
        np.testing.assert_allclose(f["points3d"], lifter.lift(mapped, "human17", vis), rtol=1e-5, atol=1e-3)
    for data, message in (([{"keypoints": [1, 2, 3, 4]}], "a multiple of 3"),
                          ({"people": [{"pose_keypoints_2d": []}]}, "no person has 'pose_keypoints_2d'")):
        (tmp_path / "bad.json").write_text(json.dumps(data))
        with pytest.raises(ValueError, match=message):
            read_landmarks(tmp_path / "bad.json")
    with pytest.raises(SystemExit):                          # a score column without --from
        main([str(tmp_path / "results.json"), "--category", "human17", "--out", str(tmp_path / "x.npz"), "--quiet"])
    assert "give --from FORMAT" in capsys.readouterr().err


def test_one_camera_for_every_frame_in_any_shape(lifter, hand_file) -> None:
    """A file's one camera, as (1,) / (1, 2) or () / (2,) arrays, is every frame's (the API's call with it)."""
    _, views = hand_file
    pts, vis = views.points2d[:4], views.visible[:4]
    want = lifter.lift_with_camera(pts, "hand21", float(views.focal[0]), views.principal[0], vis)
    for f, c in ((views.focal[:1], views.principal[:1]), (views.focal[0], views.principal[0])):
        got, _, camera = lift_file(lifter, {"points2d": pts, "visible": vis, "camera_focal": f,
                                            "camera_principal": c}, "hand21", "camera", progress=False)
        np.testing.assert_array_equal(got, want)
        assert camera["focal"] == float(views.focal[0]) and camera["principal"] == views.principal[0].tolist()


def test_edge_files_with_known_intrinsics(tmp_path: Path, capsys) -> None:
    """An empty file is read with --reading camera (the pinhole given is what the output records); one whose
    frames' landmarks all sit at one pixel is refused (nothing to lift; among other frames such a frame is not
    lifted: tests/test_api_inputs.py). A 0-d points2d is refused."""
    empty, out = tmp_path / "empty.npz", tmp_path / "out.npz"
    np.savez(empty, points2d=np.zeros((0, 17, 2)), camera_focal=np.zeros(0), camera_principal=np.zeros((0, 2)))
    assert main([str(empty), "--category", "human17", "--out", str(out), "--reading", "camera", "--quiet"]) == 0
    with np.load(out) as saved:
        assert saved["points3d"].shape == (0, 17, 3) and saved["camera_focal"].shape == (0,)
    one_pixel = tmp_path / "one_pixel.npz"
    np.savez(one_pixel, points2d=np.full((2, 17, 2), 500.0))
    with pytest.raises(SystemExit):
        main([str(one_pixel), "--category", "human17", "--out", str(out), "--force", "--reading", "camera",
              "--focal", "1000", "--principal", "500", "500", "--quiet"])
    assert "2 of 2 frames' (the first, frame 0) visible landmarks all lie at one pixel" in capsys.readouterr().err
    scalar = tmp_path / "scalar.json"
    scalar.write_text(json.dumps({"points2d": 5}))
    with pytest.raises(SystemExit):
        main([str(scalar), "--category", "human17", "--out", str(tmp_path / "s.npz")])
    assert "points2d must be (F, N, 2) or (N, 2)" in capsys.readouterr().err


def test_frames_that_cannot_be_lifted_are_nan_and_named(lifter, tmp_path: Path, capsys) -> None:
    """A COCO file whose second person has no keypoints (``num_keypoints`` 0: all zeros) lifts the others as the
    API does, writes NaN for that row and names it; ``--strict`` refuses the file, as does one with no liftable
    frame. The guessed camera of the row not lifted is NaN, the others' are the API's pinholes."""
    from lifter.keypoint_formats import to_human17

    rng = np.random.default_rng(13)
    coco = np.concatenate([rng.normal(size=(3, 17, 2)) * 60 + 400, np.full((3, 17, 1), 2.0)], -1)
    coco[1] = 0.0
    people = [{"image_id": 1, "num_keypoints": int((k[:, 2] > 0).sum()), "keypoints": k.ravel().tolist()}
              for k in coco]
    path = tmp_path / "coco.json"
    path.write_text(json.dumps({"annotations": people}))
    out = tmp_path / "out.npz"
    assert main([str(path), "--category", "human17", "--from", "coco17", "--out", str(out), "--quiet",
                 "--reading", "guessed", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "1 of 3 frames have fewer than 3 visible landmarks, or all of them at one pixel, and were not lifted" in err
    assert err.endswith("frame 1\n")
    mapped, vis = to_human17(coco[..., :2], coco[..., 2] > 0, "coco17")
    with np.load(out) as f:
        np.testing.assert_array_equal(f["lifted"], [True, False, True])
        assert np.isnan(f["points3d"][1]).all() and np.isnan(f["camera_focal"][1])
        want = lifter.lift_with_camera(mapped[[0, 2]], "human17", visible=vis[[0, 2]])
        np.testing.assert_allclose(f["points3d"][[0, 2]], want, rtol=1e-5, atol=1e-3)
        assert np.isfinite(f["camera_focal"][[0, 2]]).all()
        assert json.loads(str(f["record"]))["not_lifted"] == [1]
    for data, extra, message in ((people, ["--strict"], "1 of 3 frames have fewer, the first frame 1 has 0"),
                                 (people[1:2] * 2, [], "2 of 2 frames have fewer, the first frame 0 has 0")):
        path.write_text(json.dumps({"annotations": data}))
        with pytest.raises(SystemExit):
            main([str(path), "--category", "human17", "--from", "coco17", "--out", str(tmp_path / "x.npz"),
                  "--quiet", *extra])
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_one_mask_for_every_frame(lifter, hand_file) -> None:
    """A ``visible`` of shape (N,) is every frame's mask, as in the API; another shape is refused, naming both."""
    _, views = hand_file
    pts, mask = views.points2d[:5], views.visible[:5].all(0)            # seen in every frame
    assert mask.sum() >= 3 and not mask.all()
    got, vis, _ = lift_file(lifter, {"points2d": pts, "visible": mask}, "hand21", progress=False)
    np.testing.assert_array_equal(got, lifter.lift(pts, "hand21", mask))
    np.testing.assert_array_equal(vis, np.repeat(mask[None], 5, 0))
    with pytest.raises(ValueError, match=r"visible must have shape \(5, 21\) or \(21,\), got \(20,\)"):
        lift_file(lifter, {"points2d": pts, "visible": mask[:20]}, "hand21", progress=False)


def test_a_frame_not_lifted_keeps_the_files_frame_numbers_and_cameras(lifter, hand_file, tmp_path: Path,
                                                                      capsys) -> None:
    """Frames not lifted are left out of the chunks without shifting the frames an error names; with
    ``--reading camera`` their intrinsics (a tracker's NaN for a frame it missed) are not checked and come out NaN,
    the others' as given and lifted as the API lifts them."""
    _, views = hand_file
    pts, vis = views.points2d[:6].copy(), views.visible[:6].copy()
    vis[1] = False                                                       # frame 1: missed
    focal, principal = views.focal[:6].copy(), views.principal[:6].copy()
    focal[1], principal[1] = np.nan, np.nan
    path, out = tmp_path / "missed.npz", tmp_path / "out.npz"
    np.savez(path, points2d=pts, visible=vis, camera_focal=focal, camera_principal=principal)
    assert main([str(path), "--category", "hand21", "--out", str(out), "--reading", "camera", "--chunk", "2",
                 "--quiet", "--device", "cpu"]) == 0
    keep = [0, 2, 3, 4, 5]
    with np.load(out) as f:
        assert np.isnan(f["points3d"][1]).all() and np.isnan(f["camera_focal"][1])
        np.testing.assert_array_equal(f["camera_focal"][keep], focal[keep])
        np.testing.assert_array_equal(f["camera_principal"][keep], principal[keep])
        want = lifter.lift_with_camera(pts[keep], "hand21", focal[keep], principal[keep], vis[keep])
        np.testing.assert_allclose(f["points3d"][keep], want, rtol=1e-5, atol=1e-3)
        assert json.loads(str(f["record"]))["focal"] == "per frame"
    bad = pts.copy()
    seen = int(np.flatnonzero(vis[4])[0])
    bad[4, seen] = np.nan                                                # a visible landmark without pixels
    np.savez(path, points2d=bad, visible=vis)
    with pytest.raises(SystemExit):
        main([str(path), "--category", "hand21", "--out", str(tmp_path / "x.npz"), "--chunk", "2", "--quiet"])
    assert (f"error: non-finite 2D coordinates at visible landmark {seen} (frame 4)"   # the file's frame through
            in capsys.readouterr().err)                                  # chunks [0, 2], [3, 4], [5]


def test_one_mask_for_every_frame_of_detector_keypoints() -> None:
    """``--from``: one ``visible (K,)`` is every frame's, as for ``points2d`` in the human17 order."""
    from lifter.keypoint_formats import to_human17
    from lifter.lift import mapped_keypoints

    rng = np.random.default_rng(14)
    xy = rng.normal(size=(3, 17, 2)) * 60 + 400
    mask = np.ones(17, bool)
    mask[[3, 15]] = False
    got = mapped_keypoints({"points2d": xy, "visible": mask}, "coco17")
    want, want_vis = to_human17(xy, np.repeat(mask[None], 3, 0), "coco17")
    np.testing.assert_array_equal(got["visible"], want_vis)
    np.testing.assert_allclose(got["points2d"], want)


def test_the_default_chunk_moves_the_progress_bar_and_ctrl_c_is_one_line(hand_file, tmp_path: Path, capsys,
                                                                         monkeypatch) -> None:
    import lifter.lift as lift_module
    from lifter.lift import auto_chunk

    assert [auto_chunk(n) for n in (1, 12, 1000, 1280, 100_000, 10**6)] == [64, 64, 64, 64, 4096, 4096]
    assert auto_chunk(2000) == 100                                      # a twentieth of the frames
    path, _ = hand_file
    seen = []
    real = lift_module.lift_file
    monkeypatch.setattr(lift_module, "lift_file", lambda *a, **k: seen.append(a[6]) or real(*a, **k))
    assert main([str(path), "--category", "hand21", "--out", str(tmp_path / "a.npz"), "--quiet"]) == 0
    assert seen == [64]                                                 # no --chunk: the automatic one

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(lift_module, "lift_file", interrupted)
    with pytest.raises(SystemExit) as stop:
        main([str(path), "--category", "hand21", "--out", str(tmp_path / "b.npz"), "--quiet"])
    err = capsys.readouterr().err
    assert stop.value.code == 130 and "interrupted; nothing was written" in err and "Traceback" not in err
    assert not (tmp_path / "b.npz").exists()
