"""Tests of the synthetic hand model (lifter.data.hand): shapes, kinematics, limits, poses, handedness."""

from __future__ import annotations

import numpy as np
import pytest

from lifter.data import hand as H

# hand21 parent of each landmark along the kinematic chains (wrist -> base -> ... -> tip)
PARENT = np.array([-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19])
TIPS = np.array([4, 8, 12, 16, 20])


@pytest.fixture(scope="module")
def batch() -> H.HandSample:
    """A mixed batch: natural and random poses, right and left hands."""
    return H.sample_hand_batch(20_000, np.random.default_rng(7), natural_fraction=0.5, left_fraction=0.3)


def _pose_points(name: str, shape: H.HandShape | None = None) -> np.ndarray:
    return H.hand_joints(shape or H.HandShape.mean(), H.NATURAL_POSES[name])


# --- shapes, dtypes, determinism -------------------------------------------------------------------------


def test_output_shapes_dtype_finite() -> None:
    points, angles = H.sample_hands(300, np.random.default_rng(0), left_fraction=0.5)
    assert points.shape == (300, 21, 3) and points.dtype == np.float32
    assert angles.shape == (300, H.NUM_ANGLES) and angles.dtype == np.float32
    assert len(H.ANGLE_NAMES) == H.NUM_ANGLES == len(H.JOINT_LIMITS) == 20
    assert list(H.JOINT_LIMITS) == list(H.ANGLE_NAMES)
    assert np.isfinite(points).all() and np.isfinite(angles).all()
    np.testing.assert_array_equal(points[:, 0], 0.0)                  # wrist at the origin


def test_determinism() -> None:
    p1, a1 = H.sample_hands(200, np.random.default_rng(42), left_fraction=0.3)
    p2, a2 = H.sample_hands(200, np.random.default_rng(42), left_fraction=0.3)
    p3, a3 = H.sample_hands(200, np.random.default_rng(43), left_fraction=0.3)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(a1, a2)
    assert not np.allclose(p1, p3) and not np.allclose(a1, a3)


def test_bad_inputs_raise() -> None:
    shape = H.HandShape.mean(2)
    with pytest.raises(ValueError):
        H.hand_joints(shape, np.zeros((2, 19)))
    with pytest.raises(ValueError):
        H.hand_joints(shape, np.zeros((3, H.NUM_ANGLES)))
    with pytest.raises(ValueError):
        H.sample_hands(5, np.random.default_rng(0), natural_fraction=1.5)
    with pytest.raises(KeyError):
        H.angle_index("index_mcp_twist")


# --- kinematics ------------------------------------------------------------------------------------------


def test_forward_kinematics_preserves_bone_lengths(batch: H.HandSample) -> None:
    p = batch.points.astype(np.float64)
    lengths = np.linalg.norm(p[:, 1:] - p[:, PARENT[1:]], axis=-1)    # (B, 20): wrist->base, then 3 segments
    lengths = lengths.reshape(-1, 5, 4)
    np.testing.assert_allclose(lengths[:, :, 1:], batch.shape.bone_lengths, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(lengths[:, :, 0], np.linalg.norm(batch.shape.bases, axis=-1), rtol=1e-5, atol=1e-3)
    # the base joints do not move with the pose (the palm is rigid); left hands are mirrored
    bases = H.mirror_x(batch.shape.bases, batch.left)
    np.testing.assert_allclose(p[:, 1::4], bases, atol=1e-3)


def test_shape_broadcasts_over_angles() -> None:
    angles = np.stack([H.NATURAL_POSES["fist"], H.NATURAL_POSES["open"]])
    one = H.hand_joints(H.HandShape.mean(1), angles)
    two = H.hand_joints(H.HandShape.mean(2), angles)
    assert one.shape == (2, 21, 3)
    np.testing.assert_allclose(one, two)
    np.testing.assert_allclose(H.hand_joints(H.HandShape.mean(), angles[0]), one[:1])


def test_all_angles_within_joint_limits(batch: H.HandSample) -> None:
    lim = H.joint_limits()
    a = batch.angles
    assert (a >= lim[:, 0]).all() and (a <= lim[:, 1]).all()
    random = batch.pose < 0
    assert 0.4 < random.mean() < 0.6                                    # natural_fraction = 0.5
    # random poses are uniform within the limits: they reach close to both ends of every range
    span = lim[:, 1] - lim[:, 0]
    assert (a[random].min(0) - lim[:, 0] < 0.02 * span + 1.0).all()
    assert (lim[:, 1] - a[random].max(0) < 0.02 * span + 1.0).all()


def test_measured_angles_match_input_and_limits(batch: H.HandSample) -> None:
    """The flexions measured back from the 3D landmarks equal the sampled angles, so the landmarks obey the
    limits (not just the angle vectors)."""
    flex = H.measure_flexion(batch.points, batch.left)
    assert len(flex) == 14 and all("_flex" in k for k in flex)
    for name in ("index_pip_flex", "middle_dip_flex", "pinky_pip_flex", "thumb_ip_flex"):
        assert name in flex
    lim = H.JOINT_LIMITS
    for name, measured in flex.items():
        given = batch.angles[:, H.angle_index(name)]
        np.testing.assert_allclose(measured, given, atol=1.0, err_msg=name)
        assert (measured >= lim[name][0] - 1.0).all() and (measured <= lim[name][1] + 1.0).all(), name
    # the full inverse: abductions and thumb CMC too (a finger's abduction is undefined at 90 deg MCP flexion)
    every = H.measure_angles(batch.points, batch.left)
    assert list(every) == list(H.ANGLE_NAMES)
    for name, measured in every.items():
        given = batch.angles[:, H.angle_index(name)]
        ok = np.ones(len(given), bool)
        if name.endswith("_mcp_abd"):
            ok = np.cos(np.radians(batch.angles[:, H.angle_index(name.replace("_abd", "_flex"))])) > 0.1
        np.testing.assert_allclose(measured[ok], given[ok], atol=1.0, err_msg=name)


def test_measurement_sees_angles_beyond_the_limits() -> None:
    """measure_flexion is not clamped: a PIP bent to 150 deg (beyond 110) measures 150."""
    angles = H.NATURAL_POSES["open"].copy()
    angles[H.angle_index("index_pip_flex")] = 150.0
    angles[H.angle_index("ring_dip_flex")] = -30.0
    flex = H.measure_flexion(H.hand_joints(H.HandShape.mean(), angles))
    assert flex["index_pip_flex"][0] == pytest.approx(150.0, abs=1e-6)
    assert flex["ring_dip_flex"][0] == pytest.approx(-30.0, abs=1e-6)
    assert flex["index_pip_flex"][0] > H.JOINT_LIMITS["index_pip_flex"][1]


def test_fingers_do_not_cross_sideways(batch: H.HandSample) -> None:
    a = batch.angles.astype(np.float64)
    az = np.array([H.FINGER_SPLAY_DEG[d] for d in H.DIGITS[1:]]) + \
        np.array([H.ABDUCTION_SIGN[d] for d in H.DIGITS[1:]]) * a[:, 5::4]
    assert (np.diff(az, axis=1) <= H.MAX_FINGER_CONVERGENCE_DEG + 1e-3).all()


# --- anatomy ---------------------------------------------------------------------------------------------


def test_hand_length_within_adult_range(batch: H.HandSample) -> None:
    lo, hi = H.HAND_LENGTH_RANGE_MM
    hl = batch.shape.hand_length
    assert (hl >= lo).all() and (hl <= hi).all()
    assert 178.0 < hl.mean() < 183.0 and 10.0 < hl.std() < 14.0      # 50/50 mix of N(189, 9) and N(172, 8)
    # the hand length is really the flat hand's wrist -> middle fingertip distance
    flat = H.hand_joints(batch.shape, np.zeros(H.NUM_ANGLES))
    np.testing.assert_allclose(np.linalg.norm(flat[:, 12], axis=-1), hl, rtol=1e-9)
    palm_ratio = batch.shape.palm_width / hl
    assert 0.38 < palm_ratio.min() and palm_ratio.max() < 0.51


def test_proportions_follow_anthropometry_with_per_hand_variation(batch: H.HandSample) -> None:
    nominal = np.array([H.SEGMENT_FRACTIONS[d] for d in H.DIGITS])                        # (5, 3)
    ratio = batch.shape.bone_lengths / batch.shape.hand_length[:, None, None] / nominal   # 1 = nominal
    np.testing.assert_allclose(ratio.mean(0), 1.0, atol=0.01)
    assert (np.abs(ratio - 1.0) < 0.16).all()
    assert (ratio.std(0) > 0.025).all() and (ratio.std(0) < 0.05).all()      # every bone varies by itself
    # finger lengths in the usual order: middle > ring ~ index > little; thumb phalanges shorter than index
    seg = H.HandShape.mean().bone_lengths[0]
    tips = np.linalg.norm(_pose_points("open")[0, TIPS], axis=-1)
    assert tips[2] > tips[3] > tips[4] and tips[2] > tips[1] > tips[4]
    assert abs(tips[1] - tips[3]) < 0.03 * tips[2]                                     # 2D:4D about 1
    assert seg[0, 1:].sum() < seg[1].sum()


def test_knuckles_form_an_arc_and_thumb_base_is_radial() -> None:
    shape = H.HandShape.mean()
    hl = shape.hand_length[0]
    mcp = shape.bases[0, 1:]                                       # index, middle, ring, pinky
    assert (np.diff(mcp[:, 0]) < 0).all()                          # radial (+X) to ulnar (-X)
    assert mcp[1, 1] > mcp[0, 1] > mcp[2, 1] > mcp[3, 1]           # middle highest, little lowest
    gaps = np.linalg.norm(np.diff(mcp, axis=0), axis=-1)
    assert (gaps > 12.0).all() and (gaps < 25.0).all()
    # a curved arc, not a line: the middle and ring knuckles lie distal of the index-little chord
    for k in (1, 2):
        t = (mcp[k, 0] - mcp[0, 0]) / (mcp[3, 0] - mcp[0, 0])
        assert mcp[k, 1] - (mcp[0, 1] + t * (mcp[3, 1] - mcp[0, 1])) > 2.0
    cmc = shape.bases[0, 0]
    assert cmc[0] > 0.0 and np.linalg.norm(cmc) < 0.2 * hl and cmc[1] < 0.5 * mcp[:, 1].min()


def test_right_hand_axis_convention() -> None:
    p = _pose_points("open")[0]
    hl = H.HandShape.mean().hand_length[0]
    assert p[4, 0] > 20.0 and p[20, 0] < -20.0                     # thumb on +X, little finger on -X
    assert p[12, 1] == pytest.approx(hl)                           # middle finger straight up +Y
    fist = _pose_points("fist")[0]
    assert (fist[TIPS[1:], 2] > 20.0).all()                        # fingers curl towards the palm side, +Z


# --- natural poses ---------------------------------------------------------------------------------------


def test_natural_poses_are_complete_and_valid() -> None:
    required = {"open", "relaxed", "fist", "point", "pinch", "spread", "ok", "peace", "thumbs_up", "grasp"}
    assert required <= set(H.NATURAL_POSES)
    lim = H.joint_limits()
    for name, pose in H.NATURAL_POSES.items():
        assert pose.shape == (H.NUM_ANGLES,), name
        assert (pose >= lim[:, 0]).all() and (pose <= lim[:, 1]).all(), name
        pip, dip = pose[6::4], pose[7::4]
        np.testing.assert_allclose(dip, 2.0 / 3.0 * pip, atol=5.0, err_msg=name)   # DIP = 2/3 PIP


def test_fist_curls_every_fingertip_to_the_palm() -> None:
    open_d = np.linalg.norm(_pose_points("open")[0, TIPS[1:]], axis=-1)
    fist_d = np.linalg.norm(_pose_points("fist")[0, TIPS[1:]], axis=-1)
    assert (fist_d < 0.45 * open_d).all()
    assert fist_d.max() < 0.4 * H.HandShape.mean().hand_length[0]


def test_point_extends_only_the_index() -> None:
    p = _pose_points("point")[0]
    hl = H.HandShape.mean().hand_length[0]
    d = np.linalg.norm(p[TIPS[1:]], axis=-1)
    assert d[0] > 0.85 * hl
    assert (d[1:] < 0.4 * hl).all()


def test_pinch_and_ok_bring_thumb_and_index_tips_together() -> None:
    for name in ("pinch", "ok"):
        p = _pose_points(name)[0]
        assert np.linalg.norm(p[4] - p[8]) < 15.0, name
        assert np.linalg.norm(p[4] - p[12]) > 15.0, name            # ... and not the middle finger
        # on random adult shapes too (most of them)
        shapes = H.sample_shapes(500, np.random.default_rng(3))
        q = H.hand_joints(shapes, H.NATURAL_POSES[name])
        assert np.percentile(np.linalg.norm(q[:, 4] - q[:, 8], axis=-1), 90) < 15.0, name
    far = _pose_points("open")[0]
    assert np.linalg.norm(far[4] - far[8]) > 40.0


def test_open_hand_is_flat_and_other_poses_are_not() -> None:
    hl = H.HandShape.mean().hand_length[0]
    depth = {name: np.ptp(_pose_points(name)[0, :, 2]) for name in H.NATURAL_POSES}
    assert depth["open"] < 0.1 * hl
    for name in ("relaxed", "fist", "grasp", "pinch", "ok"):
        assert depth[name] > 0.25 * hl, name


def test_peace_and_thumbs_up() -> None:
    hl = H.HandShape.mean().hand_length[0]
    v = _pose_points("peace")[0]
    d = np.linalg.norm(v[TIPS], axis=-1)
    assert d[1] > 0.85 * hl and d[2] > 0.9 * hl and (d[3:] < 0.4 * hl).all()
    assert np.linalg.norm(v[8] - v[12]) > 35.0                     # index and middle spread into a V
    t = _pose_points("thumbs_up")[0]
    d = np.linalg.norm(t[TIPS], axis=-1)
    assert d[0] > 0.6 * hl and (d[1:] < 0.4 * hl).all()


def test_natural_samples_stay_near_their_gesture(batch: H.HandSample) -> None:
    table = np.stack(list(H.NATURAL_POSES.values()))
    natural = batch.pose >= 0
    dev = batch.angles[natural] - table[batch.pose[natural]]
    assert np.median(np.abs(dev)) < 8.0
    # DIP follows PIP: the DIP deviation is about 2/3 of the PIP deviation
    pip, dip = dev[:, 6::4].ravel(), dev[:, 7::4].ravel()
    inside = np.abs(pip) < 15                                      # ignore values clipped at a limit
    slope = np.polyfit(pip[inside], dip[inside], 1)[0]
    assert 0.5 < slope < 0.8
    counts = np.bincount(batch.pose[natural], minlength=len(table))
    assert (counts > 0.5 * counts.mean()).all()                    # every gesture is used


# --- handedness ------------------------------------------------------------------------------------------


def test_left_hands_are_x_mirrors_of_right_hands() -> None:
    right = H.sample_hand_batch(500, np.random.default_rng(5), left_fraction=0.0)
    left = H.sample_hand_batch(500, np.random.default_rng(5), left_fraction=1.0)
    assert not right.left.any() and left.left.all()
    np.testing.assert_array_equal(right.angles, left.angles)
    np.testing.assert_array_equal(left.points, right.points * np.array([-1.0, 1.0, 1.0], np.float32))
    open_left = H.hand_joints(H.HandShape.mean(), H.NATURAL_POSES["open"], left=True)[0]
    assert open_left[4, 0] < -20.0 and open_left[20, 0] > 20.0     # thumb on -X for a left hand
    # measuring a left hand as a left hand recovers its angles
    flex_left = H.measure_flexion(left.points, left=True)
    np.testing.assert_allclose(flex_left["index_pip_flex"], left.angles[:, H.angle_index("index_pip_flex")],
                               atol=1.0)
