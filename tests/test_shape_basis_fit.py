"""The shape basis's fits in closed form (:mod:`lifter.shape_basis`): the Procrustes mean and the modes' spread,
the closest shape with hidden landmarks, the pinhole fit's shorter start and coefficient bound, the mirror-symmetric
basis's reflection, modes and spread, and the fit to training 2D whose hidden landmarks are NaN."""

from __future__ import annotations

import numpy as np

from data_files import face_input, unit_shape
from lifter import load_lifter
from lifter.geometry import aligned_errors, perspective_reading, rotation_x, rotation_y, similarity_procrustes
from lifter.geometry import visible_centroid
from lifter.shape_basis import (COEFFICIENT_BOUND, DEFAULT_BASES, ShapeBasis, closest_shape, fit_basis,
                                fit_basis_to_views, fit_to_pixels, load_bases, mirror_reflection, mirror_symmetric)

N = 30


def test_the_mean_is_the_aligned_shapes_average_and_the_spread_their_deviation_along_each_mode() -> None:
    """Shapes ``mean + c mode`` with the coefficients in pairs of opposite sign, each turned, scaled and moved: the
    fitted mean is the mean shape (not the first shape) and the spread the coefficients' standard deviation."""
    rng = np.random.default_rng(0)
    mean = unit_shape(rng.normal(size=(N, 3)))
    mode = rng.normal(size=(N, 3))
    mode -= mode.mean(0)
    mode -= (mode * mean).sum() * mean / (mean ** 2).sum()             # no scale change to first order
    mode /= np.linalg.norm(mode)
    half = rng.normal(scale=0.01, size=100)
    coef = np.r_[half, -half]
    shapes = mean + coef[:, None, None] * mode
    R = rotation_y(rng.uniform(0, 2 * np.pi, 200)) @ rotation_x(rng.uniform(-0.5, 0.5, 200))
    posed = rng.uniform(0.5, 2.0, (200, 1, 1)) * np.einsum("fij,fnj->fni", R, shapes) + rng.normal(size=(200, 1, 3))
    basis = fit_basis(posed, 1)
    assert aligned_errors(basis.mean[None], mean[None], np.ones((1, N), bool)).max() < 1e-4
    np.testing.assert_allclose(basis.spread, [coef.std()], rtol=0.03)     # the unit radius scales them a little


def test_the_modes_coefficient_is_fitted_on_the_visible_landmarks_alone() -> None:
    """The mean moved along a mode that changes the visible landmarks without turning, moving or scaling them (to
    first order), and changes the hidden ones too: the closest shape recovers every landmark, the hidden ones
    included, to second order in the step (its coefficient is least squares on the visible part of the mode)."""
    rng = np.random.default_rng(1)
    mean = unit_shape(rng.normal(size=(N, 3)))
    vis = rng.random(N) > 0.4
    mv = mean[vis] - mean[vis].mean(0)
    motions = [np.tile(e, (len(mv), 1)) for e in np.eye(3)] + [np.cross(e, mv) for e in np.eye(3)] + [mv]
    T = np.linalg.qr(np.stack([m.reshape(-1) for m in motions], 1))[0]       # similarity motions of the visible
    mode = rng.normal(size=(N, 3))
    mode[vis] = (mode[vis].reshape(-1) - T @ (T.T @ mode[vis].reshape(-1))).reshape(-1, 3)
    mode /= np.linalg.norm(mode)
    assert 0.2 < (mode[~vis] ** 2).sum() < 0.8                                 # a good part of it hidden
    basis = ShapeBasis(mean, mode[None], np.ones(1))
    points = (mean + 1e-3 * mode)[None]
    np.testing.assert_allclose(closest_shape(points, vis[None], basis), points, atol=1e-5)


def test_a_close_front_facing_face_reaches_its_focal_length_from_a_guess_five_times_too_long() -> None:
    """SHORTER_FOCAL_STARTS: the mean face front-facing 2.5 RMS radii from the camera, its reading started from a
    focal length five times too long; fitted from that start alone it stopped near 3,500 px."""
    basis = load_bases(DEFAULT_BASES)["face468"]
    cam = (basis.mean * np.array([1.0, -1.0, -1.0]) + np.array([0.0, 0.0, 2.5]))[None]
    focal, principal = 800.0, np.array([[500.0, 500.0]])
    pts = focal * cam[..., :2] / cam[..., 2:] + principal[:, None]
    vis = np.ones((1, len(cam[0])), bool)
    guess = np.array([5 * focal])
    centre = visible_centroid(pts, vis)
    z = cam[..., 2]
    lift = np.concatenate([pts - centre[:, None], (guess[:, None] * (z / z.mean() - 1))[..., None]], -1)
    start = perspective_reading(lift, centre, vis, guess, principal)
    points, estimate = fit_to_pixels(start, pts, vis, basis, guess, principal, estimate_focal=True)
    np.testing.assert_allclose(estimate, [focal], rtol=1e-4)
    assert aligned_errors(points, cam, vis).max() < 1e-4


def test_a_face_beyond_the_coefficient_bound_is_fitted_within_it() -> None:
    """A face 15 spreads along the first mode: the pinhole fit's shape is held at COEFFICIENT_BOUND spreads."""
    basis = load_bases(DEFAULT_BASES)["face468"]
    coef = np.array([3 * COEFFICIENT_BOUND, 0.0, 0.0]) * basis.spread
    shape = basis.mean + np.einsum("k,kni->ni", coef, basis.modes)
    flip = np.array([1.0, -1.0, -1.0])
    cam = (shape * flip @ rotation_y(np.array([0.3]))[0].T + np.array([0.0, 0.0, 6.0]))[None]
    focal, principal = np.array([1000.0]), np.array([[500.0, 500.0]])
    pts = focal[:, None, None] * cam[..., :2] / cam[..., 2:] + principal[:, None]
    vis = np.ones((1, len(shape)), bool)
    fitted, _ = fit_to_pixels(cam, pts, vis, basis, focal, principal, estimate_focal=False, on_rays=False)
    aligned = similarity_procrustes(unit_shape(fitted * flip), unit_shape(basis.mean)[None])[0]
    found = np.einsum("kni,ni->k", basis.modes, aligned - basis.mean) / basis.spread
    np.testing.assert_allclose(found[0], COEFFICIENT_BOUND, rtol=0.05)


def symmetric_shape(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A mirror-symmetric shape ``(20, 3)`` (landmarks i and i + 10 across the plane x = 0) and its permutation."""
    half = rng.normal(size=(10, 3)) + [1.5, 0, 0]
    shape = unit_shape(np.concatenate([half, half * np.array([-1.0, 1.0, 1.0])]))
    return shape, np.r_[np.arange(10, 20), np.arange(10)]


def test_the_reflection_is_exact_and_found_for_a_nearly_flat_shape() -> None:
    """The reflection of a lopsided mean is an exact one (symmetric, orthogonal, det -1); for a nearly flat shape
    lying across its mirror plane, whose best orthogonal map is a half turn, it is still the mirror, not the turn."""
    rng = np.random.default_rng(2)
    shape, perm = symmetric_shape(rng)
    lopsided = unit_shape(shape + rng.normal(scale=0.05, size=shape.shape)) @ (rotation_y(0.7) @ rotation_x(0.3)).T
    for mean in (lopsided, unit_shape(shape * np.array([1.0, 1.0, 0.0]) + rng.normal(scale=1e-3, size=shape.shape))):
        D = mirror_reflection(mean, perm)
        np.testing.assert_allclose(D, D.T, atol=1e-15)
        np.testing.assert_allclose(D @ D, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(np.linalg.det(D), -1.0)
    np.testing.assert_allclose(D, np.diag([-1.0, 1.0, 1.0]), atol=1e-2)      # the flat shape's: x -> -x


def test_symmetric_modes_keep_their_sign_and_the_spread_follows_the_coefficients() -> None:
    rng = np.random.default_rng(3)
    shape, perm = symmetric_shape(rng)
    flip = np.array([-1.0, 1.0, 1.0])
    sym = np.concatenate([m := rng.normal(size=(10, 3)), m * flip])
    other = np.concatenate([m := rng.normal(size=(10, 3)), m * flip])
    q, _ = np.linalg.qr(np.stack([sym, other]).reshape(2, -1).T)
    for sign in (1.0, -1.0):                               # the modes' orientation, as given, is kept
        basis = ShapeBasis(shape, sign * q.T.reshape(2, 20, 3), np.array([0.3, 0.2]))
        coefficients = rng.normal(size=(40, 2)) * [2.0, 0.5]
        out, _ = mirror_symmetric(basis, perm, coefficients)
        np.testing.assert_allclose(out.modes, basis.modes, atol=1e-12)       # symmetric already: unchanged
        np.testing.assert_allclose(out.spread, coefficients.std(0), rtol=1e-12)
        np.testing.assert_array_equal(mirror_symmetric(basis, perm)[0].spread, basis.spread)   # none: kept


def test_training_2d_with_nan_where_hidden_fits_the_basis_it_fits_with_zeros() -> None:
    """fit_basis_to_views reads hidden landmarks as the training files hold them (NaN) exactly as any other value."""
    lifter = load_lifter(device="cpu")
    pts, _, _, _ = face_input(12, seed=6)
    vis = np.random.default_rng(4).random(pts.shape[:2]) > 0.2
    bases = [fit_basis_to_views(lifter, "face468", np.where(vis[..., None], pts, fill), vis, 1, iterations=2,
                                progress=False)[0] for fill in (np.nan, 0.0)]
    assert np.isfinite(bases[0].mean).all()
    np.testing.assert_allclose(bases[0].mean, bases[1].mean, atol=1e-9)
    np.testing.assert_allclose(bases[0].modes, bases[1].modes, atol=1e-9)
