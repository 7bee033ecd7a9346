"""Detector keypoint formats mapped to human17 (lifter/keypoint_formats.py)."""

from __future__ import annotations

import numpy as np
import pytest

from lifter.keypoint_formats import FORMATS, pose33_to_human17, to_human17


def test_pose_map_derived_joints() -> None:
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(33, 2)) * 100
    vis = np.ones(33, bool)
    out, v = pose33_to_human17(pts, vis)
    assert v.all()
    np.testing.assert_allclose(out[0], (pts[23] + pts[24]) / 2)             # pelvis
    np.testing.assert_allclose(out[8], (pts[11] + pts[12]) / 2)             # thorax
    np.testing.assert_allclose(out[7], (out[0] + out[8]) / 2)               # spine
    ears = (pts[7] + pts[8]) / 2
    np.testing.assert_allclose(out[9], (out[8] + ears) / 2)                 # neck
    np.testing.assert_allclose(out[10], ears + 0.6 * (ears - out[8]))       # head top
    np.testing.assert_allclose(out[16], pts[16])                            # r_wrist
    np.testing.assert_allclose(out[4], pts[23])                             # l_hip = MediaPipe left_hip
    vis[7] = False                                                          # left ear hidden: neck, head missing
    out, v = pose33_to_human17(pts, vis)
    assert not v[9] and not v[10] and np.isnan(out[10]).all() and v[8]


def test_the_map_runs_per_frame_on_stacked_frames() -> None:
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(4, 33, 3))
    vis = rng.random((4, 33)) > 0.2
    out, v = pose33_to_human17(pts, vis)
    assert out.shape == (4, 17, 3) and v.shape == (4, 17)
    for f in range(4):
        one, one_v = pose33_to_human17(pts[f], vis[f])
        np.testing.assert_array_equal(out[f], one)
        np.testing.assert_array_equal(v[f], one_v)


def _as_pose33(source: str, points: np.ndarray) -> np.ndarray:
    """The MediaPipe layout the format table describes, written out by hand for the used landmarks."""
    names_to_pose = {"left_ear": 7, "right_ear": 8, "left_shoulder": 11, "right_shoulder": 12, "left_elbow": 13,
                     "right_elbow": 14, "left_wrist": 15, "right_wrist": 16, "left_hip": 23, "right_hip": 24,
                     "left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28}
    order = {"coco17": ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                        "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
                        "left_knee", "right_knee", "left_ankle", "right_ankle"],
             "body25": ["nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
                        "left_elbow", "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip",
                        "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
                        "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe",
                        "right_heel"]}[source]
    pose = np.zeros((33, points.shape[-1]))
    for i, name in enumerate(order):
        if name in names_to_pose:
            pose[names_to_pose[name]] = points[i]
    return pose


@pytest.mark.parametrize("source", ["coco17", "body25"])
def test_formats_agree_with_the_mediapipe_map_by_landmark_name(source: str) -> None:
    count = FORMATS[source][0]
    pts = np.random.default_rng(2).normal(size=(count, 2)) * 50 + 300
    out, v = to_human17(pts, np.ones(count, bool), source)
    ref, ref_v = pose33_to_human17(_as_pose33(source, pts), np.ones(33, bool))
    assert v.all() and ref_v.all()
    np.testing.assert_allclose(out, ref)


def test_mediapipe33_passes_through_and_hidden_sources_hide_joints() -> None:
    pts = np.random.default_rng(3).normal(size=(2, 33, 2))
    vis = np.ones((2, 33), bool)
    out, v = to_human17(pts, vis, "mediapipe33")
    ref, _ = pose33_to_human17(pts, vis)
    np.testing.assert_array_equal(out, ref)
    coco = np.random.default_rng(4).normal(size=(17, 2))
    cv = np.ones(17, bool)
    cv[11] = False                                                      # COCO left hip: pelvis and spine go too
    out, v = to_human17(coco, cv, "coco17")
    assert not v[4] and not v[0] and not v[7] and v[1] and np.isnan(out[0]).all()


def test_bad_formats_and_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown keypoint format 'h36m'"):
        to_human17(np.zeros((17, 2)), np.ones(17, bool), "h36m")
    with pytest.raises(ValueError, match=r"coco17 has 17 keypoints a frame: points \(\.\.\., 17, D\)"):
        to_human17(np.zeros((18, 2)), np.ones(18, bool), "coco17")
    with pytest.raises(ValueError, match="body25"):
        to_human17(np.zeros((25, 2)), np.ones(24, bool), "body25")


def test_a_derived_joint_needs_every_landmark_it_is_made_of() -> None:
    """Shoulders unseen: the thorax, the spine between it and the pelvis, the neck and the head above it are all
    unseen (and NaN), though the hips and ears are seen; the pelvis stays."""
    rng = np.random.default_rng(0)
    vis = np.ones(33, bool)
    vis[[11, 12]] = False
    out, v = pose33_to_human17(rng.uniform(0, 100, (33, 2)), vis)
    assert v[0] and not v[7:11].any() and np.isnan(out[7:11]).all()
    vis[[11, 12]], vis[[7, 8]] = True, False                     # ears unseen: the neck and the head
    _, v = pose33_to_human17(rng.uniform(0, 100, (33, 2)), vis)
    assert v[7] and v[8] and not v[9] and not v[10]
    vis[[7, 8]], vis[23] = True, False                          # a hip unseen: the pelvis and the spine
    _, v = pose33_to_human17(rng.uniform(0, 100, (33, 2)), vis)
    assert not v[0] and not v[7] and v[8:11].all()
