"""The finger hinges (:mod:`lifter.hinges`) against closed forms and the hand model, and their term in the
bone-length refinement (:mod:`lifter.bone_lengths`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from data_files import proportions_of
from lifter.bone_lengths import _hinge_rows, category_settings, refine_bone_lengths
from lifter.data.hand import sample_hands
from lifter.geometry import rotation_x, rotation_y, rotation_z
from lifter.hinges import category_hinges, hand_hinges, hinge_active, hinge_residuals

HINGES = hand_hinges()


def planar_hand(rng: np.random.Generator) -> np.ndarray:
    """A ``(21, 3)`` hand whose palm lies in the x-y plane and whose every finger bends at random in the plane
    through its knuckle spanned by the palm's normal (z) and the finger's own direction in the palm, its thumb in a
    random plane through its base: every hinge residual is zero by construction."""
    p = rng.normal(size=(21, 3))
    p[0] = 0.0
    u, v = np.linalg.qr(rng.normal(size=(3, 2)))[0].T                  # the thumb's plane
    p[2:5] = p[1] + rng.normal(size=(3, 1)) * u + rng.normal(size=(3, 1)) * v
    p[[5, 9, 13, 17]] = [[1.0, 4.0, 0.0], [0.0, 4.2, 0.0], [-1.0, 4.0, 0.0], [-1.8, 3.6, 0.0]]
    for m, a, b, c in HINGES.fingers:
        azimuth = rng.uniform(-0.3, 0.3)
        d = np.array([np.sin(azimuth), np.cos(azimuth), 0.0])
        z = np.array([0.0, 0.0, 1.0])
        angle, point = 0.0, p[m]
        for joint in (a, b, c):
            angle += rng.uniform(0.0, 1.2)                      # flexion, towards the palm's side
            point = point + rng.uniform(0.8, 1.5) * (np.cos(angle) * d + np.sin(angle) * z)
            p[joint] = point
    return p


def residuals(points: np.ndarray) -> np.ndarray:
    return hinge_residuals(torch.as_tensor(points, dtype=torch.float64), HINGES).numpy()


def test_the_hands_landmarks_and_the_categories_with_hinges() -> None:
    assert HINGES.palm == (0, 5, 17) and HINGES.fingers[0] == (5, 6, 7, 8) and HINGES.fingers[-1] == (17, 18, 19, 20)
    assert HINGES.planar == ((1, 2, 3, 4),) and HINGES.count == 9
    assert category_hinges("hand21") == HINGES and category_hinges("human17") is None
    assert category_settings("hand21")["hinges"] == HINGES and category_settings("hand21")["hinge_weight"] > 0
    assert category_settings("human17")["hinges"] is None and category_settings("human17")["hinge_weight"] == 0


def test_fingers_in_their_planes_have_zero_residuals_under_any_similarity() -> None:
    rng = np.random.default_rng(0)
    hands = np.stack([planar_hand(rng) for _ in range(8)])
    np.testing.assert_allclose(residuals(hands), 0.0, atol=1e-12)
    R = rotation_z(rng.uniform(0, 6, 8)) @ rotation_y(rng.uniform(0, 6, 8)) @ rotation_x(rng.uniform(0, 6, 8))
    moved = rng.uniform(0.1, 10, (8, 1, 1)) * np.einsum("fij,fnj->fni", R, hands) + rng.normal(size=(8, 1, 3))
    np.testing.assert_allclose(residuals(moved), 0.0, atol=1e-12)


def test_a_joint_off_its_plane_reads_the_sine_of_its_angle() -> None:
    # a straight finger along d from its knuckle; its second joint moved by t along the hinge axis n x d: the
    # residual is (d x (2 d + t e)) . n / |2 d + t e| = t / sqrt(4 + t^2), under any similarity too
    rng = np.random.default_rng(1)
    hand = planar_hand(rng)
    m, a, b, c = HINGES.fingers[1]
    d = np.array([0.0, 1.0, 0.0])
    hand[a], hand[b], hand[c] = hand[m] + d, hand[m] + 2 * d, hand[m] + 3 * d
    for t in (-0.7, 0.1, 0.5):
        off = hand.copy()
        off[b] = hand[m] + 2 * d + t * np.cross([0.0, 0.0, 1.0], d)
        r = residuals(off[None])[0]
        np.testing.assert_allclose(r[2], t / np.sqrt(4 + t * t), rtol=1e-12)
        np.testing.assert_allclose(np.delete(r, 2), 0.0, atol=1e-12)              # the others: in their planes
        R = rotation_y(0.4) @ rotation_x(1.1)
        np.testing.assert_allclose(residuals((3.0 * off @ R.T)[None])[0], r, atol=1e-12)


def test_a_raised_knuckle_pulls_by_the_cosine_of_its_elevation() -> None:
    # the first bone raised out of the palm by e (in the plane of d and the palm's normal z), the second joint moved
    # by t along the hinge axis z x d: the residual is the sine of its angle off the plane times cos e
    hand = planar_hand(np.random.default_rng(8))
    m, a, b, c = HINGES.fingers[2]
    d, z, axis = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]), np.array([-1.0, 0.0, 0.0])
    for e in (0.0, 0.7, 1.4):
        off = hand.copy()
        bone = np.cos(e) * d + np.sin(e) * z
        off[a], off[b], off[c] = hand[m] + bone, hand[m] + 2 * bone + 0.3 * axis, hand[m] + 3 * bone
        r = residuals(off[None])[0]
        np.testing.assert_allclose(r[4], np.cos(e) * 0.3 / np.sqrt(4 + 0.09), atol=1e-12)
        np.testing.assert_allclose(r[5], 0.0, atol=1e-12)                           # the tip: in the plane


def test_a_thumb_off_its_plane_reads_the_volume_of_its_unit_vectors() -> None:
    # base at the origin, joints at (1, 0, 0) and (1, 1, 0), tip at (0, 1, t): the unit vectors' volume is
    # (1, 0, 0) . ((1, 1, 0) x (0, 1, t)) / (sqrt(2) sqrt(1 + t^2)) = t / (sqrt(2) sqrt(1 + t^2))
    hand = planar_hand(np.random.default_rng(6))
    for t in (-2.0, 0.0, 0.3):
        off = hand.copy()
        off[1:5] = np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, t]]) + 5.0
        r = residuals(off[None])[0]
        np.testing.assert_allclose(r[8], t / (np.sqrt(2) * np.sqrt(1 + t * t)), atol=1e-12)
        np.testing.assert_allclose(r[:8], 0.0, atol=1e-12)                       # the fingers: in their planes


def test_the_hand_models_fingers_keep_to_their_planes() -> None:
    # lifter.data.hand's knuckles sit on an arch, which tilts the wrist-index-little-finger triangle's normal
    # from the palm's by a degree or two: small residuals, not zero
    points, _ = sample_hands(500, np.random.default_rng(2), left_fraction=0.5)
    r = residuals(points.astype(np.float64))
    assert np.sqrt((r ** 2).mean()) < 0.05 and np.abs(r).max() < 0.3
    np.testing.assert_allclose(r[:, 8], 0.0, atol=1e-5)                         # the thumb: exactly planar
    rng = np.random.default_rng(3)
    shuffled = points[:, rng.permutation(21)].astype(np.float64)                 # any other landmarks: far off
    assert np.sqrt((residuals(shuffled) ** 2).mean()) > 5 * np.sqrt((r ** 2).mean())


def test_active_residuals_need_every_landmark_they_read() -> None:
    vis = torch.ones(4, 21, dtype=torch.bool)
    vis[1, 0] = False                                          # the wrist: the palm's normal, every residual
    vis[2, 8] = False                                          # the index tip: its residual only
    vis[3, 6] = False                                          # the index's first joint: both of the index's
    vis[3, 2] = False                                          # the thumb's first joint: its residual
    active = hinge_active(vis, HINGES)
    assert active[0].all() and active[1].tolist() == [False] * 8 + [True]      # the thumb needs no palm
    assert active[2].tolist() == [True, False] + [True] * 7
    assert active[3].tolist() == [False, False] + [True] * 6 + [False]
    vis = torch.ones(1, 21, dtype=torch.bool)
    vis[0, 4] = False                                          # the thumb's tip: its residual, which reads all four
    assert hinge_active(vis, HINGES)[0].tolist() == [True] * 8 + [False]


def test_the_jacobian_is_the_residuals_derivative_along_the_rays() -> None:
    rng = np.random.default_rng(4)
    points = torch.as_tensor(np.stack([planar_hand(rng) for _ in range(3)]) + rng.normal(scale=0.1, size=(3, 21, 3))
                             + np.array([0.0, 0.0, 20.0]))
    free = torch.ones(3, 21, dtype=torch.bool)
    free[2, 7] = False
    dirs = torch.cat([points[..., :2] / points[..., 2:], torch.ones(3, 21, 1, dtype=torch.float64)], -1)
    scale = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    rows = _hinge_rows(points, free, dirs, HINGES, scale)
    u = torch.as_tensor(rng.normal(scale=0.2, size=(3, 21)))
    r, J = rows(u)

    def exact(u_f: torch.Tensor, f: int) -> torch.Tensor:
        return hinge_residuals(points[f] + u_f[:, None] * dirs[f], HINGES) * scale[f]
    for f in range(3):
        np.testing.assert_allclose(r[f], exact(u[f], f) * hinge_active(free, HINGES)[f], atol=1e-12)
        want = torch.func.jacfwd(lambda v: exact(v, f))(u[f]) * hinge_active(free, HINGES)[f, :, None] * free[f]
        np.testing.assert_allclose(J[f, :, :21], want, atol=1e-7)
        assert (J[f, :, 21] == 0).all()                                          # the bones' scale: no part


def test_the_jacobian_is_the_same_in_blocks_of_frames(monkeypatch) -> None:
    import lifter.bone_lengths as bl

    # frames with their own scales, rays and hidden landmarks: each block must take its own frames' steps
    rng = np.random.default_rng(7)
    points = torch.as_tensor(np.stack([planar_hand(rng) for _ in range(5)]) + rng.normal(scale=0.1, size=(5, 21, 3))
                             + np.array([0.0, 0.0, 20.0]))
    free = torch.as_tensor(rng.random((5, 21)) > 0.15)
    dirs = torch.cat([points[..., :2] / points[..., 2:], torch.ones(5, 21, 1, dtype=torch.float64)], -1)
    scale = torch.as_tensor(rng.uniform(0.5, 3.0, 5))
    u = torch.as_tensor(rng.normal(scale=0.2, size=(5, 21)))
    whole = bl._hinge_rows(points, free, dirs, HINGES, scale)(u)
    monkeypatch.setattr(bl, "HINGE_BLOCK_ELEMENTS", 2 * 21 * 21 * 3)                # two frames a block
    for a, b in zip(bl._hinge_rows(points, free, dirs, HINGES, scale)(u), whole):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_the_refinement_puts_fingers_back_in_their_planes_along_the_rays() -> None:
    # one hand seen from six directions, its depths jittered along the rays, refined with its exact proportions
    rng = np.random.default_rng(5)
    hand = planar_hand(rng)
    R = rotation_y(rng.uniform(0, 6, 6)) @ rotation_x(rng.uniform(-0.8, 0.8, 6))
    cam = np.einsum("fij,nj->fni", R, hand) + np.array([0.0, 0.0, 25.0])
    rays = cam[..., :2] / cam[..., 2:]
    proportions = proportions_of(hand)
    vis = np.ones(cam.shape[:2], bool)
    vis[0, 12] = False
    z = cam[..., 2] + rng.normal(scale=0.15, size=vis.shape)                     # depth noise on the rays
    start = np.concatenate([rays * z[..., None], z[..., None]], -1)
    plain = refine_bone_lengths(start, vis, proportions, rays, weight=0.05, iterations=2)        # bones alone
    np.testing.assert_array_equal(refine_bone_lengths(start, vis, proportions, rays, 0.05, 2, HINGES, 0.0), plain)
    out = refine_bone_lengths(start, vis, proportions, rays, **category_settings("hand21"))     # the shipped step
    np.testing.assert_allclose(out[..., :2] / out[..., 2:], rays, atol=1e-5)     # still on the rays
    np.testing.assert_array_equal(out[~vis], start[~vis].astype(np.float32))       # hidden: unchanged
    active = hinge_active(torch.as_tensor(vis), HINGES).numpy()
    before = np.abs(residuals(plain.astype(np.float64)))[active].mean()
    after = np.abs(residuals(out.astype(np.float64)))[active].mean()
    assert after < 0.5 * before

    def depth_error(points: np.ndarray) -> float:   # on the rays the shape is fixed up to a scale (the distance)
        def rel(depth: np.ndarray) -> np.ndarray:
            return depth / np.nanmean(np.where(vis, depth, np.nan), 1, keepdims=True)
        return float(np.abs(rel(points[..., 2]) - rel(cam[..., 2]))[vis].mean())
    assert depth_error(out) < 0.8 * depth_error(plain)
    # hidden landmarks may be NaN, a frame may have no bone with both ends visible, and there may be no frame
    partial = start.copy()
    partial[~vis] = np.nan
    sparse = vis.copy()
    sparse[1, 2:] = False                                                        # frame 1: landmarks 0, 1 only
    partial[1, 2:] = np.nan
    moved = refine_bone_lengths(partial, sparse, proportions, rays, **category_settings("hand21"))
    assert np.isfinite(moved[sparse]).all()
    np.testing.assert_array_equal(moved[1], partial[1].astype(np.float32))          # no bone: unchanged
    empty = refine_bone_lengths(start[:0], vis[:0], proportions, rays[:0], **category_settings("hand21"))
    assert empty.shape == (0, 21, 3)
    with pytest.raises(ValueError, match="hinge_weight"):
        refine_bone_lengths(start, vis, proportions, rays, 0.05, 2, HINGES, -1.0)
