"""The pinhole reading of a lift (:mod:`lifter.camera_reading`): the intrinsics' checks, the depths of a lift that
reaches too near the camera for the shape-basis fit, and the faces' orthographic reading through a guessed camera."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from data_files import face_input
from lifter import load_lifter
from lifter.camera_reading import (GUESS_DEPTH_MARGIN, _within_reach, camera_reading, checked_camera,
                                   orthographic_basis_reading, reach_towards_camera)
from lifter.geometry import aligned_errors, closest_orthographic_form, perspective_reading, visible_centroid
from lifter.shape_basis import DEFAULT_BASES, load_bases


def test_a_principal_point_that_is_not_finite_is_named_with_its_frame() -> None:
    principal = np.array([[500.0, 500.0], [500.0, 500.0], [np.nan, 500.0]])
    with pytest.raises(ValueError, match=r"got \[nan, 500.0\] \(frame 2\)"):
        checked_camera(None, principal, 3)
    with pytest.raises(ValueError, match=r"got \[500.0, inf\]$"):                     # one point for every frame
        checked_camera(None, np.array([500.0, np.inf]), 3)


def test_a_lift_reaching_past_the_camera_is_compressed_about_its_mean_depth_where_the_basis_is_fitted() -> None:
    rng = np.random.default_rng(0)
    lift = rng.normal(size=(3, 12, 3)) * np.array([50.0, 50.0, 400.0]) + np.array([0.0, 0.0, 250.0])
    vis = np.ones((3, 12), bool)
    vis[:, :2] = False
    focal = np.full(3, 300.0)
    assert (GUESS_DEPTH_MARGIN * reach_towards_camera(lift, vis) > focal).all()        # every frame reaches too far
    out = _within_reach(lift, vis, focal, np.array([True, True, False]))
    np.testing.assert_allclose(GUESS_DEPTH_MARGIN * reach_towards_camera(out[:2], vis[:2]), focal[:2])
    np.testing.assert_allclose(out[2], lift[2])                                         # not fitted: kept
    np.testing.assert_allclose(out[..., :2], lift[..., :2])                             # x, y kept
    np.testing.assert_allclose(visible_centroid(out[..., 2:], vis), visible_centroid(lift[..., 2:], vis))
    depth = out[:2, :, 2] - visible_centroid(out[:2, :, 2:], vis[:2])
    ratio = depth / (lift[:2, :, 2] - visible_centroid(lift[:2, :, 2:], vis[:2]))
    np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones_like(ratio))              # one scale a frame
    near = np.array([[[0.0, 0.0, 0.0], [0.0, 0.0, 10.0]]])                             # reaches 5 px: kept as is
    assert _within_reach(near, np.ones((1, 2), bool), np.array([300.0]), np.array([True])) is near


def test_a_face_lift_reaching_past_the_camera_is_still_read_through_the_basis() -> None:
    pts, cam, focal, principal = face_input(2, seed=3)
    vis = np.ones(pts.shape[:2], bool)
    centre = visible_centroid(pts, vis)
    z = cam[..., 2]
    depth = focal * (z - z.mean(1, keepdims=True)) / z.mean(1, keepdims=True)       # the true lift's depths, px
    lift = np.concatenate([pts - centre[:, None], 8.0 * depth[..., None]], -1)      # depths 8 times too deep
    f, p = np.full(2, focal), np.tile(principal, (2, 1))
    with pytest.raises(ValueError, match="shorter than the lifted depth range"):
        perspective_reading(lift, centre, vis, f, p)                                     # as read without the basis
    basis = load_bases(DEFAULT_BASES)["face468"]
    out = camera_reading(lift, pts, vis, "face468", f, p, False, basis, None)
    assert np.isfinite(out).all() and (out[..., 2] > 0).all()
    radius = np.sqrt(((cam - cam.mean(1, keepdims=True)) ** 2).sum(-1).mean())        # the face's RMS radius (1)
    assert aligned_errors(out, cam, vis).max() < 1e-4 * radius                        # its shape, to rounding


def test_the_orthographic_basis_reading_is_the_closest_form_to_the_fitted_shape_read_without_intrinsics() -> None:
    lifter = load_lifter(device="cpu")
    pts, _, _, _ = face_input(3, seed=5)
    pts = pts + np.random.default_rng(1).normal(scale=3.0, size=pts.shape)             # the pixels' noise
    vis = np.ones(pts.shape[:2], bool)
    vis[:, :40] = False
    lift = lifter.lift(pts, "face468", vis, shape_basis=False)
    out = orthographic_basis_reading(lift, pts, vis, "face468", lifter.bases["face468"])
    fitted = lifter.read_with_camera(lift, pts, "face468", visible=vis, bone_lengths=False, fitted_shape=True)
    centred = pts - visible_centroid(pts, vis)[:, None]
    want = closest_orthographic_form(*(torch.as_tensor(a) for a in (fitted, centred, vis))).numpy()
    np.testing.assert_allclose(out, want, atol=1e-3 * np.abs(want).max())
