"""Fitting a shape basis through a pinhole (:mod:`lifter.pinhole_fit`) against closed forms and known answers,
and its place in the faces' camera reading (:func:`lifter.shape_basis.fit_to_pixels`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from data_files import unit_shape
from lifter.geometry import aligned_errors, rotation_x, rotation_y, rotation_z
from lifter.pinhole_fit import (DEFAULT_ITERATIONS, POSE, _residuals, _view_residual, axis_angle_from_rotation,
                                basis_points, bundle_adjust, fit_views, initial_params, levenberg_marquardt, on_rays,
                                rotation_derivatives, rotation_from_axis_angle, view_residuals)
from lifter.shape_basis import ShapeBasis, fit_to_pixels, refine_with_basis

N = 40


def t64(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def random_basis(rng: np.random.Generator, modes: int) -> tuple[np.ndarray, np.ndarray]:
    """A centred ``mean (N, 3)`` of unit RMS radius and ``modes`` orthonormal modes ``(K, N, 3)``."""
    mean = unit_shape(rng.normal(size=(N, 3)))
    q, _ = np.linalg.qr(rng.normal(size=(3 * N, modes)))
    return mean, q.T.reshape(modes, N, 3)


def random_params(rng: np.random.Generator, views: int, modes: int) -> np.ndarray:
    """``(V, 7 + K)``: any rotation, the shape 3 to 6 radii in front of the camera, focal 800-1500 px."""
    axis = rng.normal(size=(views, 3))
    axis *= rng.uniform(0, np.pi, (views, 1)) / np.linalg.norm(axis, axis=1, keepdims=True)
    t = np.c_[rng.uniform(-0.3, 0.3, (views, 2)), rng.uniform(3, 6, views)]
    return np.c_[axis, t, np.log(rng.uniform(800, 1500, views)), rng.normal(scale=0.3, size=(views, modes))]


def project(params: np.ndarray, mean: np.ndarray, modes: np.ndarray, principal: np.ndarray) -> np.ndarray:
    X = basis_points(t64(params), t64(mean), t64(modes)).numpy()
    return np.exp(params[:, 6])[:, None, None] * X[..., :2] / X[..., 2:] + principal[:, None]


def test_rotations_match_the_closed_forms_and_round_trip() -> None:
    angles = np.array([0.0, 1e-9, 0.3, -1.2, np.pi / 2, np.pi - 1e-7, np.pi])
    for axis, rotation in ((0, rotation_x), (1, rotation_y), (2, rotation_z)):
        w = np.zeros((len(angles), 3))
        w[:, axis] = angles
        np.testing.assert_allclose(rotation_from_axis_angle(t64(w)).numpy(), rotation(angles), atol=1e-12)
    rng = np.random.default_rng(0)
    w = rng.normal(size=(200, 3))
    w *= rng.uniform(0, np.pi, (200, 1)) / np.linalg.norm(w, axis=1, keepdims=True)
    R = rotation_from_axis_angle(t64(w)).numpy()
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
    np.testing.assert_allclose(rotation_from_axis_angle(t64(axis_angle_from_rotation(R))).numpy(), R, atol=1e-9)
    half_turns = rotation_z(np.array([np.pi])) @ rotation_x(np.array([0.0]))   # 180 degrees: the sign is free
    np.testing.assert_allclose(np.abs(axis_angle_from_rotation(half_turns)), [[0, 0, np.pi]], atol=1e-12)


def test_closed_form_derivatives_match_automatic_differentiation() -> None:
    rng = np.random.default_rng(6)
    mean, modes = random_basis(rng, 3)
    params = random_params(rng, 8, 3)
    params[0, :3] = 0                                                        # the identity,
    params[1, :3] = [1e-9, -2e-9, 0]                                         # next to it,
    params[2, :3] = [0, np.pi - 1e-7, 0]                                     # and a half turn
    principal = rng.uniform(400, 600, (8, 2))
    pixels = project(params, mean, modes, principal) + rng.normal(scale=3.0, size=(8, N, 2))
    weight = (rng.random((8, N)) > 0.2).astype(float)
    args = (t64(params), t64(pixels), t64(weight), t64(principal))
    res, jac = view_residuals(*args, t64(mean), t64(modes))

    def one(p, px, w, pp):
        return _view_residual(p, px, w, pp, t64(mean), t64(modes))

    auto = torch.func.vmap(torch.func.jacfwd(one))(*args)
    np.testing.assert_allclose(res.numpy(), torch.func.vmap(one)(*args).numpy(), atol=1e-9)
    scale = auto.abs().amax((1, 2), keepdim=True)                            # per view
    np.testing.assert_allclose((jac / scale).numpy(), (auto / scale).numpy(), atol=1e-9)
    assert view_residuals(*args, t64(mean), t64(modes), jacobian=False)[1] is None
    # each rotation's derivative against central differences
    w = t64(params[:, :3])
    _, dR = rotation_derivatives(w)
    h = 1e-6
    for i in range(3):
        e = torch.zeros(3, dtype=torch.float64)
        e[i] = h
        numeric = (rotation_from_axis_angle(w + e) - rotation_from_axis_angle(w - e)) / (2 * h)
        np.testing.assert_allclose(dR[:, i].numpy(), numeric.numpy(), atol=1e-8)


def test_landmark_derivatives_of_the_bundle_adjustment_match_automatic_differentiation() -> None:
    """The derivatives in each landmark's mean point and mode vectors (:func:`bundle_adjust`'s unknowns), in
    closed form, against forward-mode automatic differentiation of the same residuals."""
    rng = np.random.default_rng(9)
    mean, modes = random_basis(rng, 3)
    params = random_params(rng, 5, 3)
    principal = rng.uniform(400, 600, (5, 2))
    pixels = project(params, mean, modes, principal) + rng.normal(scale=3.0, size=(5, N, 2))
    weight = (rng.random((5, N)) > 0.2).astype(float)
    args = (t64(params), t64(pixels), t64(weight), t64(principal))
    points = torch.cat([t64(mean)[:, None], t64(modes).transpose(0, 1)], 1).reshape(N, -1)   # (N, 3 + 3K)

    def of_points(p):
        shape = p.view(N, 4, 3)
        return _view_residual(*[a[0] for a in args], shape[:, 0], shape[:, 1:].transpose(0, 1))

    res, J_view, J_point = _residuals(*args, t64(mean), t64(modes), True, True)
    assert J_view.shape == (5, N, 2, POSE + 3) and J_point.shape == (5, N, 2, 12)
    auto = torch.func.jacfwd(of_points)(points).view(N, 2, N, 12)             # view 0: (2N,) by (N, 12)
    np.testing.assert_allclose(J_point[0].numpy(), torch.einsum("nrnj->nrj", auto).numpy(), atol=1e-9)
    off = auto.clone()
    off[torch.arange(N), :, torch.arange(N)] = 0
    assert off.abs().max() == 0                                              # a landmark moves only its pixels
    np.testing.assert_allclose(J_view.reshape(5, 2 * N, -1).numpy(),
                               view_residuals(*args, t64(mean), t64(modes))[1].numpy())
    assert _residuals(*args, t64(mean), t64(modes), False, False)[1:] == (None, None)


def test_levenberg_marquardt_stops_once_converged_and_treats_each_row_alone() -> None:
    rng = np.random.default_rng(7)
    mean, modes = random_basis(rng, 2)
    truth = random_params(rng, 6, 2)
    principal = np.full((6, 2), 500.0)
    pixels = project(truth, mean, modes, principal)
    pixels[3:] += rng.normal(scale=1.0, size=(3, N, 2))                      # three views noisy: a cost > 0
    weight = np.ones((6, N))
    start = truth.copy()
    start[:, :3] += rng.normal(scale=0.05, size=(6, 3))
    start[:, POSE:] = 0

    def fit(rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, int]:
        def residuals(p: torch.Tensor, jacobian: bool):
            return view_residuals(p, t64(pixels[rows]), t64(weight[rows]), t64(principal[rows]), t64(mean),
                                  t64(modes), jacobian)
        return levenberg_marquardt(residuals, t64(start[rows]), DEFAULT_ITERATIONS)

    params, cost, steps = fit(np.arange(6))
    assert steps < DEFAULT_ITERATIONS                                        # stopped early,
    assert cost[:3].max() < 1e-12                                            # at the exact views' answer
    np.testing.assert_allclose(params[:3, :6].numpy(), truth[:3, :6], atol=1e-7)
    for row in range(6):                                                     # alone: the same answer (to the
        # convergence tolerance: a batch solves its normal equations with other rounding)
        alone, alone_cost, _ = fit(np.array([row]))
        np.testing.assert_allclose(alone.numpy(), params[row:row + 1].numpy(), atol=1e-6)


def test_a_view_is_recovered_with_and_without_its_focal_length() -> None:
    rng = np.random.default_rng(1)
    mean, modes = random_basis(rng, 2)
    truth = random_params(rng, 12, 2)
    principal = rng.uniform(400, 600, (12, 2))
    pixels = project(truth, mean, modes, principal)
    visible = rng.random((12, N)) > 0.2
    start = truth.copy()
    start[:, :3] += rng.normal(scale=0.05, size=(12, 3))                       # a few degrees off
    start[:, 3:6] *= rng.uniform(0.9, 1.1, (12, 3))
    start[:, POSE:] = 0
    wrong_focal = start.copy()
    wrong_focal[:, 6] += np.log(1.3)                                          # 30 % off
    fit = fit_views(t64(pixels), torch.as_tensor(visible), t64(mean), t64(modes), t64(principal),
                    t64(wrong_focal), estimate_focal=True)
    np.testing.assert_allclose(fit.focal.numpy(), np.exp(truth[:, 6]), rtol=1e-6)
    truth_points = basis_points(t64(truth), t64(mean), t64(modes)).numpy()
    np.testing.assert_allclose(fit.points.numpy(), truth_points, atol=1e-6)
    assert fit.rms.max() < 1e-6
    held = fit_views(t64(pixels), torch.as_tensor(visible), t64(mean), t64(modes), t64(principal), t64(start),
                     estimate_focal=False)
    np.testing.assert_allclose(held.focal.numpy(), np.exp(start[:, 6]), rtol=1e-13)  # held: the given one
    np.testing.assert_allclose(held.points.numpy(), truth_points, atol=1e-6)
    # the right focal length held and a wrong one held: only the right one fits the pixels
    off = fit_views(t64(pixels), torch.as_tensor(visible), t64(mean), t64(modes), t64(principal),
                    t64(wrong_focal), estimate_focal=False)
    assert off.rms.min() > 1e3 * held.rms.max() + 1e-3


def test_a_distant_front_facing_view_reaches_its_long_focal_length() -> None:
    """Seen from far (ten times the usual distance, ten times the focal length) a view's pixels hardly change as
    focal length and depth grow together; the fit follows that line to the true camera within its iterations.
    (With the translation itself as unknowns, a front-facing face from 60 radii away stopped at a third of its
    focal length, its shape bent: 17.7 % error.)"""
    rng = np.random.default_rng(4)
    mean, modes = random_basis(rng, 3)
    truth = np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 60.0, np.log(12000.0), 0.0, 0.0, 0.0],
                      [0.0, 0.7, 0.0, 0.2, -0.1, 40.0, np.log(8000.0), 0.2, -0.1, 0.1]])
    principal = np.full((2, 2), 500.0)
    pixels = project(truth, mean, modes, principal)
    visible = np.ones((2, N), bool)
    start = truth.copy()
    start[:, 5] /= 8                                                           # a close camera guessed
    start[:, 3:5] /= 8
    start[:, 6] -= np.log(8)
    start[:, POSE:] = 0
    fit = fit_views(t64(pixels), torch.as_tensor(visible), t64(mean), t64(modes), t64(principal), t64(start),
                    estimate_focal=True)
    assert fit.rms.max() < 1e-3
    np.testing.assert_allclose(fit.focal.numpy(), np.exp(truth[:, 6]), rtol=1e-3)
    truth_points = basis_points(t64(truth), t64(mean), t64(modes)).numpy()
    assert aligned_errors(fit.points.numpy(), truth_points, visible).max() < 1e-3


def test_an_off_centre_front_facing_view_reaches_its_focal_length() -> None:
    """The bundled face basis's mean face, front-facing, 4 and 6 radii away and half that distance aside (a face at
    the edge of a group photo, the principal point at the image centre), fitted from a focal length 40 % too long
    or 40 % too short, its origin at the same pixel: the fit reaches the true camera. (With the translation's ray
    as unknowns, the line along which focal length and depth trade off bent for such a view, and the fit stopped
    short: 0.06 to 0.11 px from the pixels, its focal length 12 to 21 % off.)"""
    from lifter.shape_basis import DEFAULT_BASES, load_bases

    basis = load_bases(DEFAULT_BASES)["face468"]
    K = len(basis.modes)
    truth = np.array([[0.0, 0.0, 0.0, 2.0, 0.6, 4.0, np.log(800.0)] + [0.0] * K,
                      [0.0, 0.0, 0.0, -3.0, 0.9, 6.0, np.log(1200.0)] + [0.0] * K])
    principal = np.full((2, 2), 500.0)
    pixels = project(truth, basis.mean, basis.modes, principal)
    visible = np.ones((2, len(basis.mean)), bool)
    for factor in (1.4, 0.6):
        start = truth.copy()
        start[:, 5] *= factor                                      # the same pixel for the origin, nearer or further
        start[:, 6] += np.log(factor)
        fit = fit_views(t64(pixels), torch.as_tensor(visible), t64(basis.mean), t64(basis.modes), t64(principal),
                        t64(start), estimate_focal=True)
        assert fit.rms.max() < 1e-3, (factor, fit.rms)
        np.testing.assert_allclose(fit.focal.numpy(), np.exp(truth[:, 6]), rtol=1e-3)


def test_nearer_start_keeps_the_origin_at_its_pixel_and_its_size() -> None:
    """:func:`lifter.shape_basis._nearer`: the focal length and the depth cut to a fraction, the origin's pixel and
    the shape's scale in the image (focal length over depth) unchanged, the pose and shape too."""
    from lifter.shape_basis import _nearer

    rng = np.random.default_rng(8)
    params = random_params(rng, 4, 2)
    params[:, 3:5] = rng.uniform(-1.5, 1.5, (4, 2))                          # well off the image centre
    near = _nearer(t64(params), 0.3).numpy()
    np.testing.assert_allclose(np.exp(near[:, 6]), 0.3 * np.exp(params[:, 6]))
    origin = lambda p: np.exp(p[:, 6])[:, None] * p[:, 3:5] / p[:, 5:6]     # noqa: E731  the origin's pixel offset
    np.testing.assert_allclose(origin(near), origin(params), rtol=1e-12)
    np.testing.assert_allclose(np.exp(near[:, 6]) / near[:, 5], np.exp(params[:, 6]) / params[:, 5])   # its size
    np.testing.assert_array_equal(near[:, :3], params[:, :3])
    np.testing.assert_array_equal(near[:, POSE:], params[:, POSE:])


def test_points_on_rays_reproduce_the_visible_pixels() -> None:
    rng = np.random.default_rng(2)
    mean, modes = random_basis(rng, 1)
    truth = random_params(rng, 5, 1)
    principal = np.full((5, 2), 500.0)
    pixels = project(truth, mean, modes, principal) + rng.normal(scale=2.0, size=(5, N, 2))    # noisy pixels
    visible = np.ones((5, N), bool)
    visible[:, :5] = False
    fit = fit_views(t64(pixels), torch.as_tensor(visible), t64(mean), t64(modes), t64(principal), t64(truth),
                    estimate_focal=True)
    points = on_rays(fit, t64(pixels), torch.as_tensor(visible), t64(principal)).numpy()
    f = fit.focal.numpy()[:, None, None]
    np.testing.assert_allclose((f * points[..., :2] / points[..., 2:] + principal[:, None])[visible],
                               pixels[visible], atol=1e-9)
    np.testing.assert_allclose(points[..., 2], fit.points.numpy()[..., 2])             # the fitted depths
    np.testing.assert_array_equal(points[~visible], fit.points.numpy()[~visible])      # hidden: the fit's points


def test_initial_params_place_the_mean_on_a_posed_copy() -> None:
    rng = np.random.default_rng(3)
    mean, _ = random_basis(rng, 0)
    truth = random_params(rng, 6, 0)
    scale = rng.uniform(0.5, 50, 6)[:, None, None]                           # a reading has any scale
    points = scale * basis_points(t64(truth), t64(mean), torch.zeros(0, N, 3)).numpy()
    visible = rng.random((6, N)) > 0.3
    params = initial_params(t64(points), torch.as_tensor(visible), t64(mean), t64(np.exp(truth[:, 6])), 0)
    np.testing.assert_allclose(basis_points(params, t64(mean), torch.zeros(0, N, 3)).numpy(), points / scale,
                               atol=1e-9)
    # a depth-mirrored reading: no rotation undoes a mirror, so the start is the best proper one. For the six
    # points +-a x, +-b y, +-c z (a > b > c) mirrored in z that is no rotation at all, at the scale
    # (a^2 + b^2 - c^2) / (a^2 + b^2 + c^2) (an improper "rotation" had been taken as an axis-angle)
    axes = np.array([[3.0, 0, 0], [-3.0, 0, 0], [0, 2.0, 0], [0, -2.0, 0], [0, 0, 1.0], [0, 0, -1.0]])
    mirrored = axes * np.array([1.0, 1.0, -1.0]) + np.array([0.0, 0.0, 10.0])
    start = initial_params(t64(mirrored[None]), torch.ones(1, 6, dtype=torch.bool), t64(axes), t64([1000.0]), 0)
    np.testing.assert_allclose(start[0, :3].numpy(), 0.0, atol=1e-9)
    placed = basis_points(start, t64(axes), torch.zeros(0, 6, 3)).numpy()[0]          # reading = scale x placed
    np.testing.assert_allclose(placed - placed.mean(0), axes, atol=1e-9)
    np.testing.assert_allclose(placed.mean(0), [0.0, 0.0, 10.0 / ((9 + 4 - 1) / (9 + 4 + 1))], atol=1e-9)


def test_bundle_adjustment_recovers_the_basis_from_2d_alone() -> None:
    rng = np.random.default_rng(4)
    mean, modes = random_basis(rng, 2)
    views = 60
    truth = random_params(rng, views, 2)
    principal = np.full((views, 2), 500.0)
    pixels = project(truth, mean, modes, principal)
    visible = rng.random((views, N)) > 0.1
    start_mean = mean + rng.normal(scale=0.05, size=mean.shape)              # a lifter's rough mean
    start = truth.copy()
    start[:, POSE:] = 0
    start[:, 6] += rng.normal(scale=0.1, size=views)                         # focal lengths about 10 % off
    errors = []
    fitted_mean, fitted_modes, params = bundle_adjust(
        t64(pixels), torch.as_tensor(visible), t64(principal), t64(start), t64(start_mean), 2, iterations=15,
        progress=lambda a, e: errors.append(e))
    assert len(errors) == 15 and errors[-1] < 1e-3 * errors[0], errors
    np.testing.assert_allclose(np.sqrt((fitted_mean.numpy() ** 2).sum(1).mean()), 1.0)  # unit RMS radius
    np.testing.assert_allclose(np.einsum("kni,lni->kl", fitted_modes.numpy(), fitted_modes.numpy()), np.eye(2),
                               atol=1e-9)
    np.testing.assert_allclose(np.exp(params[:, 6].numpy()), np.exp(truth[:, 6]), rtol=1e-3)
    # the views' shapes, as fitted, are the true ones up to a similarity
    shapes = mean + np.einsum("vk,kni->vni", truth[:, POSE:], modes)
    fitted = fitted_mean.numpy() + np.einsum("vk,kni->vni", params[:, POSE:].numpy(), fitted_modes.numpy())
    every = np.ones((views, N), bool)
    assert aligned_errors(fitted, shapes, every).max() < 1e-3
    assert aligned_errors(np.broadcast_to(start_mean, shapes.shape), shapes, every).mean() > 0.03


def test_coefficients_beyond_the_bound_are_fitted_again_within_it() -> None:
    """A view whose free fit ends with a coefficient beyond COEFFICIENT_BOUND spreads is fitted again with the
    coefficients held within it (a bent shape is not taken for a face unlike the training faces); a view within the
    bound keeps its free fit. With a bound, fit_views never leaves it."""
    from lifter.shape_basis import COEFFICIENT_BOUND, _within_bound

    rng = np.random.default_rng(6)
    mean, modes = random_basis(rng, 2)
    spread = np.array([0.05, 0.05])
    truth = random_params(rng, 2, 2)
    truth[:, POSE:] = [[0.1, -0.05], [0.1, -3 * COEFFICIENT_BOUND * 0.05]]     # 2 and 15 spreads
    principal = np.full((2, 2), 500.0)
    pixels = t64(project(truth, mean, modes, principal))
    visible = torch.ones(2, N, dtype=torch.bool)
    start = truth.copy()
    start[:, POSE:] = 0
    args = (pixels, visible, t64(mean), t64(modes), t64(principal), t64(start), True)
    free = fit_views(*args)
    np.testing.assert_allclose(free.params[:, POSE:].numpy(), truth[:, POSE:], atol=1e-6)
    bound = t64(COEFFICIENT_BOUND * spread)
    held = _within_bound(free, *args, DEFAULT_ITERATIONS, bound)
    np.testing.assert_array_equal(held.params[0].numpy(), free.params[0].numpy())          # within: kept
    assert (held.params[1, POSE:].abs() <= bound).all() and held.params[1, POSE + 1] == -bound[1]
    assert held.rms[1] > free.rms[1]                                                       # a worse fit, kept
    bounded = fit_views(*args, bound=bound)
    assert (bounded.params[:, POSE:].abs() <= bound).all()


def test_fit_to_pixels_estimates_a_faces_camera_and_falls_back_for_sparse_views() -> None:
    rng = np.random.default_rng(5)
    mean, modes = random_basis(rng, 2)
    basis = ShapeBasis(mean, modes, np.ones(2))
    truth = random_params(rng, 4, 2)
    principal = np.full((4, 2), 500.0)
    pixels = project(truth, mean, modes, principal)
    visible = np.ones((4, N), bool)
    visible[3, 10:] = False                                                  # 10 visible: too few to fit
    cam = basis_points(t64(truth), t64(mean), t64(modes)).numpy()
    reading = cam * np.array([1.0, 1.0, 1.0])
    reading[..., 2] += rng.normal(scale=0.05, size=(4, N))                   # a noisy reading on the rays
    reading[..., :2] = (pixels - principal[:, None]) / np.exp(truth[:, 6])[:, None, None] * reading[..., 2:]
    guess = np.exp(truth[:, 6]) * 1.2
    points, focal = fit_to_pixels(reading, pixels, visible, basis, guess, principal, estimate_focal=True)
    np.testing.assert_allclose(focal[:3], np.exp(truth[:3, 6]), rtol=1e-6)
    assert aligned_errors(points[:3], cam[:3], visible[:3]).max() < 1e-6
    assert focal[3] == guess[3]                                              # the sparse view: focal kept,
    p3 = reading[3:]
    np.testing.assert_allclose(points[3:], refine_with_basis(p3, visible[3:], basis, p3[..., :2] / p3[..., 2:]),
                               atol=1e-5)                                    # refined on its rays instead
    held_points, held = fit_to_pixels(reading, pixels, visible, basis, guess, principal, estimate_focal=False)
    np.testing.assert_array_equal(held, guess)
    with pytest.raises(ValueError, match="landmarks"):
        fit_to_pixels(reading[:, :10], pixels[:, :10], visible[:, :10], basis, guess, principal, True)


def test_the_fitted_shape_keeps_the_pixels_noise_out_of_the_points() -> None:
    """On pixels of a basis shape plus noise, ``on_rays=False`` returns the fitted shape, whose points are nearer
    the true shape than the same fit's points moved onto the noisy pixels' rays; without noise the two agree."""
    rng = np.random.default_rng(8)
    mean, modes = random_basis(rng, 2)
    basis = ShapeBasis(mean, modes, np.ones(2))
    truth = random_params(rng, 6, 2)
    principal = np.full((6, 2), 500.0)
    cam = basis_points(t64(truth), t64(mean), t64(modes)).numpy()
    visible = np.ones((6, N), bool)
    visible[:, :5] = False                                                   # hidden: the fit's points either way
    focal = np.exp(truth[:, 6])
    for noise in (0.0, 2.0):
        pixels = project(truth, mean, modes, principal) + rng.normal(scale=noise, size=(6, N, 2))
        start = cam * rng.uniform(0.8, 1.2, (6, 1, 1))                       # any scale: the pose's start
        rays, _ = fit_to_pixels(start, pixels, visible, basis, focal, principal, estimate_focal=False)
        fitted, _ = fit_to_pixels(start, pixels, visible, basis, focal, principal, estimate_focal=False,
                                  on_rays=False)
        np.testing.assert_allclose(fitted[~visible], rays[~visible], atol=1e-9)
        err_rays, err_fitted = (aligned_errors(p, cam, np.ones((6, N), bool)).mean() for p in (rays, fitted))
        if noise:
            assert err_fitted < 0.5 * err_rays
            uv = focal[:, None, None] * fitted[..., :2] / fitted[..., 2:] + principal[:, None]
            assert 0 < np.abs(uv - pixels)[visible].max() < 10 * noise     # the fit's projection, not the pixels
        else:
            assert max(err_rays, err_fitted) < 1e-6


def test_axis_angles_below_a_half_turn_round_trip_to_themselves() -> None:
    """The axis-angle of a rotation is the one with its angle in 0..pi: below a half turn, the vector it was made
    from (its quaternion's other sign gives the same rotation the long way round)."""
    rng = np.random.default_rng(10)
    w = rng.normal(size=(300, 3))
    w *= rng.uniform(0, np.pi - 1e-3, (300, 1)) / np.linalg.norm(w, axis=1, keepdims=True)
    np.testing.assert_allclose(axis_angle_from_rotation(rotation_from_axis_angle(t64(w)).numpy()), w, atol=1e-9)


def quadratic_rows(targets: np.ndarray, curvature: np.ndarray):
    """Residuals of rows that each minimise ``|(p - target) (1 + curvature |p - target|)|^2`` in one unknown: a
    curved valley that Gauss-Newton crosses in several steps, more where ``curvature (B,)`` is larger."""
    def residuals(p: torch.Tensor, jacobian: bool):
        d = p - t64(targets)[:, None]
        c = t64(curvature)[:, None]
        r = d * (1 + c * d.abs())
        return r, (1 + 2 * c * d.abs())[..., None] if jacobian else None
    return residuals


def test_a_converged_row_takes_no_more_steps_while_others_go_on() -> None:
    """With a loose tolerance a row converges before its exact minimum; it takes no further step while the
    other rows go on, so it ends exactly where it would alone."""
    targets, curvature = np.array([1.0, 2.0]), np.array([0.0, 50.0])       # row 0 linear, row 1 curved
    start = t64([[3.0], [40.0]])
    both, _, steps = levenberg_marquardt(quadratic_rows(targets, curvature), start, 50, tolerance=1e-2)
    first, _, first_steps = levenberg_marquardt(quadratic_rows(targets[:1], curvature[:1]), start[:1], 50,
                                                tolerance=1e-2)
    assert first_steps < steps                                                # row 0 stopped before row 1
    assert both[0, 0] != targets[0]                                           # not at its exact minimum,
    assert both[0, 0] == first[0, 0]                                          # where it stopped alone


def test_steps_the_feasibility_check_refuses_are_not_taken() -> None:
    """A row whose minimum lies where ``feasible`` refuses ends inside the allowed set, nearer its minimum than it
    started; the others reach theirs."""
    targets = np.array([-1.0, 2.0])
    start = t64([[3.0], [3.0]])
    params, cost, _ = levenberg_marquardt(quadratic_rows(targets, np.zeros(2)), start, 50,
                                          feasible=lambda p: p[:, 0] > 0)
    assert 0 < params[0, 0] < 3.0
    np.testing.assert_allclose(params[1, 0].item(), 2.0, atol=1e-9)
    free, _, _ = levenberg_marquardt(quadratic_rows(targets, np.zeros(2)), start, 50)
    np.testing.assert_allclose(free[:, 0].numpy(), targets, atol=1e-9)       # unchecked: the minimum itself


def test_a_hidden_landmark_behind_the_camera_does_not_stop_the_fit() -> None:
    """Only visible landmarks must stay in front of the camera: a hidden one (an ear of a turned head, a landmark
    the shape puts far back) may lie behind it, and the fit still reaches the view's pose."""
    rng = np.random.default_rng(11)
    mean, modes = random_basis(rng, 1)
    mean[0] = [0.0, 0.0, -50.0]                                               # far behind the others
    truth = random_params(rng, 3, 1)
    truth[:, :3] = rng.normal(scale=0.1, size=(3, 3))                         # nearly facing the camera
    visible = np.ones((3, N), bool)
    visible[:, 0] = False
    assert (basis_points(t64(truth), t64(mean), t64(modes)).numpy()[:, 0, 2] < 0).all()
    pixels = project(truth, mean, modes, np.full((3, 2), 500.0))
    start = truth.copy()
    start[:, :3] += 0.05
    start[:, POSE:] = 0
    fit = fit_views(t64(pixels), torch.as_tensor(visible), t64(mean), t64(modes), t64(np.full((3, 2), 500.0)),
                    t64(start), estimate_focal=True)
    np.testing.assert_allclose(fit.params.numpy(), truth, atol=1e-6)


def test_a_fits_rms_is_over_the_visible_coordinates_and_hidden_pixels_are_never_read() -> None:
    rng = np.random.default_rng(12)
    mean, modes = random_basis(rng, 2)
    truth = random_params(rng, 4, 2)
    principal = np.full((4, 2), 500.0)
    pixels = project(truth, mean, modes, principal) + rng.normal(scale=2.0, size=(4, N, 2))
    visible = rng.random((4, N)) > 0.3
    start = truth.copy()
    start[:, POSE:] = 0
    fit = fit_views(t64(pixels), torch.as_tensor(visible), t64(mean), t64(modes), t64(principal), t64(start), True)
    reprojected = project(fit.params.numpy(), mean, modes, principal)
    rms = [np.sqrt(((reprojected[f] - pixels[f])[visible[f]] ** 2).mean()) for f in range(4)]
    np.testing.assert_allclose(fit.rms.numpy(), rms, rtol=1e-9)
    hidden_nan = np.where(visible[..., None], pixels, np.nan)                 # as lift() holds hidden landmarks
    again = fit_views(t64(hidden_nan), torch.as_tensor(visible), t64(mean), t64(modes), t64(principal), t64(start),
                      True)
    np.testing.assert_array_equal(again.params.numpy(), fit.params.numpy())


def test_the_bundle_adjustments_gauge_keeps_every_projection_and_its_progress_is_the_pixel_rms() -> None:
    from lifter.pinhole_fit import _normalised_basis

    rng = np.random.default_rng(13)
    mean, modes = random_basis(rng, 2)
    views = random_params(rng, 5, 2)
    principal = np.full((5, 2), 500.0)
    shift, scale = rng.normal(size=3), 1.7                                   # a basis off the gauge
    points = np.concatenate([(scale * mean + shift)[:, None], 0.5 * scale * modes.transpose(1, 0, 2)], 1)
    before = project(views, scale * mean + shift, 0.5 * scale * modes, principal)
    new_views, new_points = _normalised_basis(t64(views), t64(points.reshape(N, -1)), 2)
    P = new_points.numpy().reshape(N, 3, 3)
    np.testing.assert_allclose(project(new_views.numpy(), P[:, 0], P[:, 1:].transpose(1, 0, 2), principal), before,
                               atol=1e-9)
    np.testing.assert_allclose(P[:, 0].mean(0), 0.0, atol=1e-12)
    # progress: the pixel RMS of the visible coordinates after each step
    visible = rng.random((5, N)) > 0.2
    pixels = before + rng.normal(scale=1.0, size=before.shape)
    reported = []
    fitted_mean, fitted_modes, params = bundle_adjust(
        t64(pixels), torch.as_tensor(visible), t64(principal), new_views, t64(P[:, 0]), 2, iterations=3,
        progress=lambda i, e: reported.append((i, e)))
    reprojected = project(params.numpy(), fitted_mean.numpy(), fitted_modes.numpy(), principal)
    assert [i for i, _ in reported] == [0, 1, 2]
    np.testing.assert_allclose(reported[-1][1], np.sqrt(((reprojected - pixels)[visible] ** 2).mean()), rtol=1e-9)


def test_the_bundle_adjustment_keeps_every_visible_landmark_in_front_of_its_camera() -> None:
    """Near views (3.2 to 3.6 radii), noisy pixels and a rough start: a step that would put a visible landmark
    behind its camera is refused (taken, as this start's steps otherwise would be, it left one 0.025 radii behind)."""
    rng = np.random.default_rng(4)
    mean, modes = random_basis(rng, 2)
    views = 30
    truth = random_params(rng, views, 2)
    truth[:, 5] = rng.uniform(3.2, 3.6, views)
    principal = np.full((views, 2), 500.0)
    pixels = project(truth, mean, modes, principal) + rng.normal(scale=2.0, size=(views, N, 2))
    visible = rng.random((views, N)) > 0.1
    start_mean = mean + rng.normal(scale=0.2, size=mean.shape)
    start = truth.copy()
    start[:, POSE:] = 0
    start[:, 6] += rng.normal(scale=0.5, size=views)
    fitted_mean, fitted_modes, params = bundle_adjust(t64(pixels), torch.as_tensor(visible), t64(principal),
                                                      t64(start), t64(start_mean), 2, iterations=10)
    z = basis_points(params, fitted_mean, fitted_modes).numpy()[..., 2]
    assert z[visible].min() > 1e-3
