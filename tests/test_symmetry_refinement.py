"""The test-time symmetry refinement (:mod:`lifter.symmetry`) against closed forms, and its place in the API."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lifter.geometry import rotation_x, rotation_y
from lifter.skeletons import get_category
from lifter.symmetry import DEFAULT_WEIGHTS, refine_lift, refine_lift_torch, refines, symmetrize

FOCAL = 1200.0


def chair_view(rng: np.random.Generator, frames: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random mirror-symmetric chair-sized shapes ``(F, N, 3)`` (the reflection x -> -x maps each onto itself with
    the mirror pairs swapped) seen by a perspective camera of focal :data:`FOCAL` px at about twice the shape's size.

    Returns ``(offsets (F, N, 2) px from the principal point, depths (F, N) in lift() units: (Z - mean Z) f /
    mean Z, the scale of the points in that model f / mean Z (F,), the camera-frame points (F, N, 3))``.
    """
    perm = np.asarray(get_category("chair").mirror_permutation())
    x = rng.normal(size=(frames, len(perm), 3))
    shape = 0.5 * (x + x[:, perm] * np.array([-1.0, 1.0, 1.0]))                # symmetric about x = 0
    R = rotation_y(rng.uniform(0, 2 * np.pi, frames)) @ rotation_x(rng.uniform(-0.3, 0.6, frames))
    cam = np.einsum("fij,fnj->fni", R, shape) + np.array([0.0, 0.0, 5.0])       # about 2.5 sizes away
    offsets = FOCAL * cam[..., :2] / cam[..., 2:]
    z_mean = cam[..., 2].mean(1, keepdims=True)
    return offsets, (cam[..., 2] - z_mean) * FOCAL / z_mean, FOCAL / z_mean[:, 0], cam


def test_a_symmetric_shape_with_its_true_depths_is_a_fixed_point() -> None:
    offsets, depths, _, _ = chair_view(np.random.default_rng(0))
    perm = np.asarray(get_category("chair").mirror_permutation())
    use = np.ones(depths.shape, bool)
    a, z = symmetrize(offsets, depths, use, perm, 1 / FOCAL, weight=0.1)
    np.testing.assert_allclose(z, depths, atol=1e-6 * np.abs(depths).max())
    np.testing.assert_array_equal(a, offsets)


def test_wrong_depths_are_pulled_back_to_the_symmetric_shape() -> None:
    """Depth noise of a third of the shape's depth spread: the refinement removes two thirds of it, and more with the
    right focal length than with the orthographic reading of the same view."""
    rng = np.random.default_rng(1)
    offsets, depths, _, _ = chair_view(rng, frames=20)
    perm = np.asarray(get_category("chair").mirror_permutation())
    noisy = depths + rng.normal(size=depths.shape) * depths.std() / 3
    use = np.ones(depths.shape, bool)
    before = np.abs(noisy - depths).mean()
    _, z = symmetrize(offsets, noisy, use, perm, 1 / FOCAL, weight=0.01, iterations=30)
    _, z_ortho = symmetrize(offsets, noisy, use, perm, 0.0, weight=0.01, iterations=30)
    # depths are compared up to their mean (the lift's origin along z is free)
    centred = lambda d: d - d.mean(1, keepdims=True)                      # noqa: E731
    err = lambda d: np.abs(centred(d) - centred(depths)).mean()            # noqa: E731
    assert err(z) < before / 3
    assert err(z) < err(z_ortho)


def test_a_hidden_landmark_is_filled_with_its_partners_reflection() -> None:
    offsets, depths, _, _ = chair_view(np.random.default_rng(2))
    chair = get_category("chair")
    perm = np.asarray(chair.mirror_permutation())
    i = chair.index("leg_front_right")
    use = np.ones(depths.shape, bool)
    use[:, i] = False
    wrong_a, wrong_z = offsets.copy(), depths.copy()
    wrong_a[:, i] += 50.0
    wrong_z[:, i] -= 80.0
    a, z = symmetrize(wrong_a, wrong_z, use, perm, 1 / FOCAL, weight=0.1, fill=~use)
    np.testing.assert_allclose(a[:, i], offsets[:, i], atol=1e-6 * np.abs(offsets).max())
    np.testing.assert_allclose(z[:, i], depths[:, i], atol=1e-6 * np.abs(depths).max())
    # without fill, a landmark that does not take part keeps its values
    a, z = symmetrize(wrong_a, wrong_z, use, perm, 1 / FOCAL, weight=0.1)
    np.testing.assert_array_equal(a[:, i], wrong_a[:, i])
    np.testing.assert_array_equal(z[:, i], wrong_z[:, i])


def test_too_few_pairs_change_nothing_and_bad_weights_are_refused() -> None:
    offsets, depths, _, _ = chair_view(np.random.default_rng(3), frames=2)
    chair = get_category("chair")
    perm = np.asarray(chair.mirror_permutation())
    use = np.zeros(depths.shape, bool)
    use[:, [chair.index("seat_front_left"), chair.index("seat_front_right")]] = True   # one pair only
    noisy = depths + 10.0 * np.arange(depths.shape[1])
    _, z = symmetrize(offsets, noisy, use, perm, 1 / FOCAL)
    np.testing.assert_array_equal(z, noisy)
    with pytest.raises(ValueError, match="weight"):
        symmetrize(offsets, depths, np.ones(depths.shape, bool), perm, 1 / FOCAL, weight=0.0)


def test_two_pairs_are_enough_and_a_hidden_landmark_with_a_hidden_partner_is_not_filled() -> None:
    """:data:`lifter.symmetry.MIN_PAIRS` (2) pairs taking part refine a frame; a landmark to be filled whose partner
    takes no part either keeps its values (there is no reflection to take)."""
    offsets, depths, _, _ = chair_view(np.random.default_rng(3), frames=2)
    chair = get_category("chair")
    perm = np.asarray(chair.mirror_permutation())
    two = [chair.index(n) for n in ("seat_front_left", "seat_front_right", "leg_front_left", "leg_front_right")]
    use = np.zeros(depths.shape, bool)
    use[:, two] = True
    noisy = depths + 10.0 * np.arange(depths.shape[1])
    _, z = symmetrize(offsets, noisy, use, perm, 1 / FOCAL)
    assert not np.allclose(z[:, two], noisy[:, two])
    np.testing.assert_array_equal(z[:, ~use[0]], noisy[:, ~use[0]])
    i = chair.index("leg_back_left")
    use = np.ones(depths.shape, bool)
    use[:, [i, perm[i]]] = False                                          # both halves of one pair hidden
    a, z = symmetrize(offsets + 30.0, noisy, use, perm, 1 / FOCAL, fill=~use)
    np.testing.assert_array_equal(a[:, [i, perm[i]]], offsets[:, [i, perm[i]]] + 30.0)
    np.testing.assert_array_equal(z[:, [i, perm[i]]], noisy[:, [i, perm[i]]])


def test_refine_lift_leaves_the_off_symmetry_landmarks_and_ignores_hidden_depths() -> None:
    """The chair's landmarks that a reflection does not pair in every chair (``off_symmetry``) keep the network's
    depths; and the depths are taken relative to the visible landmarks' mean, so a hidden landmark's depth moves
    nothing else."""
    rng = np.random.default_rng(8)
    offsets, depths, _, _ = chair_view(rng)
    chair = get_category("chair")
    principal = np.array([500.0, 400.0])
    pixels = offsets + principal
    visible = np.ones(depths.shape, bool)
    visible[:, 3] = False
    centre = np.stack([p[v].mean(0) for p, v in zip(pixels, visible)])
    noisy = depths + rng.normal(size=depths.shape) * depths.std() / 3
    lift = np.concatenate([pixels - centre[:, None], noisy[..., None]], -1).astype(np.float32)
    for kwargs in ({}, {"focal": np.full(len(lift), FOCAL), "principal": np.tile(principal, (len(lift), 1))}):
        out = refine_lift(lift, centre, visible, "chair", fill_hidden=False, **kwargs)
        off = list(chair.off_symmetry)                                      # out's depths: from the visible mean
        relative = lift[..., 2] - (lift[..., 2] * visible).sum(1, keepdims=True) / visible.sum(1, keepdims=True)
        np.testing.assert_allclose(out[..., off, 2], relative[:, off], atol=1e-4)
        paired = [k for k in range(21) if k not in off and k != 3]
        assert np.abs(out[..., paired, 2] - relative[:, paired]).max() > 1.0
        deeper = lift.copy()
        deeper[:, 3, 2] += 500.0                                            # the hidden landmark's depth only
        moved = refine_lift(deeper, centre, visible, "chair", fill_hidden=False, **kwargs)
        np.testing.assert_allclose(moved[..., paired, 2], out[..., paired, 2], atol=1e-3)


def test_refine_lift_keeps_visible_pixels_and_leaves_other_categories_alone() -> None:
    rng = np.random.default_rng(4)
    offsets, depths, _, _ = chair_view(rng)
    principal = np.array([500.0, 400.0])
    pixels = offsets + principal
    visible = rng.random(depths.shape) > 0.2
    centre = np.stack([p[v].mean(0) for p, v in zip(pixels, visible)])                # (F, 2)
    noisy = depths + rng.normal(size=depths.shape) * depths.std() / 3
    lift = np.concatenate([pixels - centre[:, None], noisy[..., None]], -1).astype(np.float32)
    focal = np.full(len(lift), FOCAL)
    for kwargs in ({}, {"focal": focal, "principal": np.tile(principal, (len(lift), 1))}):
        out = refine_lift(lift, centre, visible, "chair", **kwargs)
        assert out.dtype == np.float32 and out.shape == lift.shape
        np.testing.assert_array_equal(out[..., :2][visible], lift[..., :2][visible])
        assert not np.allclose(out[..., 2], lift[..., 2])
    point = np.zeros((1, 21, 3), np.float32)                                   # every landmark on one pixel
    point[..., 2] = rng.normal(size=21)
    assert np.isfinite(refine_lift(point, np.zeros((1, 2)), np.ones((1, 21), bool), "chair")).all()
    assert refines("chair") and refines("face468") and not refines("human17") and not refines("hand21")
    body = rng.normal(size=(3, 17, 3)).astype(np.float32)
    np.testing.assert_array_equal(refine_lift(body, np.zeros((3, 2)), np.ones((3, 17), bool), "human17"), body)


def test_lift_refines_chairs_towards_symmetry() -> None:
    """The bundled lifter on perspective views of symmetric chair-like shapes: ``lift()``'s refined depths leave a
    smaller symmetry residual than ``symmetrize=False``; visible x, y are the input either way; with the camera,
    ``lift_with_camera`` is ``read_with_camera`` of ``lift()``."""
    from lifter import load_lifter

    lifter = load_lifter(device="cpu")
    offsets, _, _, _ = chair_view(np.random.default_rng(5), frames=8)
    principal = np.array([500.0, 500.0])
    pixels = offsets + principal
    refined = lifter.lift(pixels, "chair")
    plain = lifter.lift(pixels, "chair", symmetrize=False)
    np.testing.assert_allclose(refined[..., :2], plain[..., :2], atol=1e-3)
    perm = np.asarray(get_category("chair").mirror_permutation())
    keep = ~np.isin(np.arange(len(perm)), get_category("chair").off_symmetry)

    def residual(lift: np.ndarray) -> float:
        """How far the lifts are from their own best symmetric version (symmetrize with a tiny weight)."""
        z = lift[..., 2].astype(np.float64)
        centred = lift[..., :2] + pixels.mean(1, keepdims=True) - principal
        _, zs = symmetrize(centred, z - z.mean(1, keepdims=True), np.broadcast_to(keep, z.shape), perm,
                           1 / FOCAL, weight=1e-3, iterations=20)
        return float(np.abs(zs - (z - z.mean(1, keepdims=True))).mean())

    assert residual(refined) < residual(plain)
    focal = np.full(len(pixels), FOCAL)
    np.testing.assert_array_equal(
        lifter.lift_with_camera(pixels, "chair", focal, principal),
        lifter.read_with_camera(refined, pixels, "chair", focal, principal))
    assert not np.allclose(lifter.lift_with_camera(pixels, "chair", focal, principal),
                           lifter.lift_with_camera(pixels, "chair", focal, principal, symmetrize=False))


def test_landmarks_that_are_not_finite_take_no_part_and_spread_nothing() -> None:
    """A landmark marked as taking part whose depth, or whose offset, is not finite is left out (kept as it is):
    the others are refined as without it, to the symmetric shape's true depths."""
    offsets, depths, _, _ = chair_view(np.random.default_rng(6))
    chair = get_category("chair")
    perm = np.asarray(chair.mirror_permutation())
    i, k = chair.index("leg_back_left"), chair.index("seat_rear_right")
    use = np.ones(depths.shape, bool)
    bad_a, bad_z = offsets.copy(), depths.copy()
    bad_z[:, i] = np.nan
    bad_a[:, k, 0] = np.inf
    a, z = symmetrize(bad_a, bad_z, use, perm, 1 / FOCAL, weight=0.1)
    without = use.copy()
    without[:, [i, k]] = False
    _, want = symmetrize(offsets, depths, without, perm, 1 / FOCAL, weight=0.1)
    rest = [n for n in range(depths.shape[1]) if n not in (i, k)]
    np.testing.assert_allclose(z[:, rest], want[:, rest], atol=1e-9)
    assert np.isnan(z[:, i]).all() and np.isinf(a[:, k, 0]).all()


def test_a_frame_with_one_pair_neither_moves_its_on_plane_landmarks_nor_fills_its_hidden_ones() -> None:
    offsets, depths, _, _ = chair_view(np.random.default_rng(7), frames=2)
    chair = get_category("chair")
    perm = np.asarray(chair.mirror_permutation())
    on_plane = [chair.index("column_top"), chair.index("column_bottom")]
    use = np.zeros(depths.shape, bool)
    use[:, [chair.index("seat_front_left"), chair.index("seat_front_right")] + on_plane] = True   # one pair
    hidden = chair.index("leg_front_left")                                # its partner takes part, it does not
    use[:, perm[hidden]] = True                                           # takes part, but pairs with nothing
    noisy = depths + 10.0 * np.arange(depths.shape[1])
    fill = np.zeros(depths.shape, bool)
    fill[:, hidden] = True
    a, z = symmetrize(offsets, noisy, use, perm, 1 / FOCAL, fill=fill)
    np.testing.assert_array_equal(z, noisy)
    np.testing.assert_array_equal(a, offsets)


def test_landmarks_taking_part_are_never_replaced_by_their_partners_reflection() -> None:
    """``fill`` names landmarks to be replaced; one that takes part keeps its own refined values."""
    rng = np.random.default_rng(9)
    offsets, depths, _, _ = chair_view(rng)
    perm = np.asarray(get_category("chair").mirror_permutation())
    noisy = depths + rng.normal(size=depths.shape) * depths.std() / 3
    use = np.ones(depths.shape, bool)
    plain = symmetrize(offsets, noisy, use, perm, 1 / FOCAL, weight=0.1)
    filled = symmetrize(offsets, noisy, use, perm, 1 / FOCAL, weight=0.1, fill=np.ones(depths.shape, bool))
    np.testing.assert_array_equal(filled[0], plain[0])
    np.testing.assert_array_equal(filled[1], plain[1])


def test_without_the_camera_hidden_landmarks_keep_the_network_lift_and_the_categorys_weight_is_used() -> None:
    rng = np.random.default_rng(10)
    offsets, depths, _, _ = chair_view(rng)
    pixels = offsets + np.array([500.0, 400.0])
    visible = np.ones(depths.shape, bool)
    visible[:, 5] = False
    centre = np.stack([p[v].mean(0) for p, v in zip(pixels, visible)])
    noisy = depths + rng.normal(size=depths.shape) * depths.std() / 3
    lift = np.concatenate([pixels - centre[:, None], noisy[..., None]], -1)
    out = refine_lift_torch(*(torch.as_tensor(x) for x in (lift, centre, visible)), "chair").numpy()
    relative = lift[..., 2] - (lift[..., 2] * visible).sum(1, keepdims=True) / visible.sum(1, keepdims=True)
    np.testing.assert_allclose(out[:, 5, :2], lift[:, 5, :2], atol=1e-9)  # hidden: the network's, as it was
    np.testing.assert_allclose(out[:, 5, 2], relative[:, 5], atol=1e-9)
    np.testing.assert_array_equal(out[..., :2][visible], lift[..., :2][visible])   # visible: exactly the input
    chosen = refine_lift(lift, centre, visible, "chair", weight=DEFAULT_WEIGHTS["chair"])
    np.testing.assert_array_equal(refine_lift(lift, centre, visible, "chair"), chosen)
    assert not np.allclose(refine_lift(lift, centre, visible, "chair", weight=1.0), chosen)
