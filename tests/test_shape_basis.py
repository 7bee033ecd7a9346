"""The test-time shape-basis refinement (:mod:`lifter.shape_basis`) against closed forms, its file, and its place
in the API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from data_files import face_input, load_script, unit_shape, write_face_data
from lifter import load_lifter
from lifter.api import WeightsError
from lifter.geometry import aligned_errors, rotation_x, rotation_y
from lifter.skeletons import get_category
from lifter.shape_basis import (ShapeBasis, canonical_frame, closest_shape, fit_basis, load_bases, mirror_reflection,
                                mirror_symmetric, refine_with_basis, save_bases)

N = 30


def true_basis(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random mean ``(N, 3)`` and two orthonormal modes ``(2, N, 3)``."""
    mean = rng.normal(size=(N, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3 * N, 2)))
    return mean, q.T.reshape(2, N, 3)


def posed(rng: np.random.Generator, mean: np.ndarray, modes: np.ndarray, frames: int, spread: float = 0.05
          ) -> np.ndarray:
    """``frames`` shapes in the span of the basis, each rotated, scaled and moved at random: ``(F, N, 3)``."""
    coef = rng.normal(scale=spread, size=(frames, len(modes)))
    shapes = mean + np.einsum("fk,kni->fni", coef, modes)
    R = rotation_y(rng.uniform(0, 2 * np.pi, frames)) @ rotation_x(rng.uniform(-0.5, 0.5, frames))
    scale = rng.uniform(0.5, 2.0, frames)[:, None, None]
    return scale * np.einsum("fij,fnj->fni", R, shapes) + rng.normal(size=(frames, 1, 3))


def test_a_fitted_basis_spans_the_shapes_it_was_fitted_to() -> None:
    rng = np.random.default_rng(0)
    mean, modes = true_basis(rng)
    # posed copies of one shape: the mean is that shape (up to a similarity), and it is closest to every copy
    rigid = fit_basis(posed(rng, mean, modes, 50, spread=0.0), 0)
    copies = posed(rng, mean, modes, 10, spread=0.0)
    vis = np.ones(copies.shape[:2], bool)
    assert aligned_errors(np.broadcast_to(rigid.mean, copies.shape), copies, vis).max() < 1e-9
    assert aligned_errors(closest_shape(copies, vis, rigid), copies, vis).max() < 1e-9
    # shapes that vary along two modes: two fitted modes capture them up to the curvature of the similarity
    # normalisation (second order in the spread), one mode leaves a first-order residual
    basis = fit_basis(posed(rng, mean, modes, 200, spread=0.05), 2)
    assert basis.mean.shape == (N, 3) and basis.modes.shape == (2, N, 3) and basis.spread.shape == (2,)
    np.testing.assert_allclose(np.einsum("kni,lni->kl", basis.modes, basis.modes), np.eye(2), atol=1e-9)
    np.testing.assert_allclose(np.sqrt((basis.mean ** 2).sum(-1).mean()), 1.0)       # unit RMS radius
    new = posed(rng, mean, modes, 20, spread=0.05)                                      # unseen shapes, same span
    vis = np.ones(new.shape[:2], bool)
    err2 = aligned_errors(closest_shape(new, vis, basis), new, vis).mean()
    err1 = aligned_errors(closest_shape(new, vis, fit_basis(posed(rng, mean, modes, 200, spread=0.05), 1)),
                          new, vis).mean()
    err0 = aligned_errors(closest_shape(new, vis, rigid), new, vis).mean()
    assert err2 < 0.05 * err1 < 0.05 * err0, (err2, err1, err0)
    # hidden landmarks take no part in the fit: garbage there changes nothing on the visible ones
    vis = rng.random(new.shape[:2]) > 0.3
    junk = new.copy()
    junk[~vis] = 1e3
    np.testing.assert_allclose(closest_shape(junk, vis, basis)[vis], closest_shape(new, vis, basis)[vis], atol=1e-9)


def test_the_canonical_frame_is_upright_wide_across_and_facing_forward() -> None:
    from lifter.data.cameras import look_at_rotation

    rng = np.random.default_rng(6)
    half = rng.normal(size=(25, 3)) * np.array([2.0, 1.0, 0.3])       # wide along x, shallow along z (y: up)
    half[0] = [0.0, 0.0, 2.0]                                         # a nose: the farthest reach is forward
    shape = np.concatenate([half, half * np.array([-1.0, 1.0, 1.0])])  # mirror-symmetric, as a face
    R0 = rotation_y(np.array([0.7]))[0] @ rotation_x(np.array([0.4]))[0]
    fitted = shape @ R0.T                                             # the arbitrary frame a fit returns
    az = rng.uniform(0, 2 * np.pi, 40)
    cameras = look_at_rotation(az, rng.uniform(-0.2, 0.6, 40), rng.uniform(-0.15, 0.15, 40))   # world to camera
    rotations = cameras @ R0.T                                        # the fitted frame to camera
    C = canonical_frame(fitted, rotations)
    np.testing.assert_allclose(C @ C.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(C), 1.0)
    np.testing.assert_allclose(C @ R0, np.eye(3), atol=0.1)           # within degrees: the cameras average out
    upright = look_at_rotation(az, np.zeros(40), np.zeros(40)) @ R0.T  # level cameras: exact
    np.testing.assert_allclose(canonical_frame(fitted, upright) @ R0, np.eye(3), atol=1e-9)


def test_hidden_landmarks_are_the_basis_shapes_points() -> None:
    rng = np.random.default_rng(1)
    mean, modes = true_basis(rng)
    basis = fit_basis(posed(rng, mean, modes, 50, spread=0.0), 0)                       # one rigid shape
    shape = posed(rng, mean, modes, 8, spread=0.0)
    vis = rng.random(shape.shape[:2]) > 0.3
    vis[:, :3] = True
    noisy = np.where(vis[..., None], shape, rng.normal(scale=5.0, size=shape.shape))   # hidden: garbage
    out = refine_with_basis(noisy, vis, basis, weight=0.0)
    np.testing.assert_allclose(out, shape, atol=1e-5 * np.abs(shape).max())


def test_orthographic_refinement_moves_only_depths_towards_the_truth() -> None:
    rng = np.random.default_rng(2)
    mean, modes = true_basis(rng)
    basis = fit_basis(posed(rng, mean, modes, 200), 2)
    shape = posed(rng, mean, modes, 30)
    vis = np.ones(shape.shape[:2], bool)
    lift = shape.copy()
    lift[..., 2] += rng.normal(scale=0.3, size=lift.shape[:2]) * np.abs(shape).max() / 10    # noisy depths
    for weight in (0.0, 0.1):
        out = refine_with_basis(lift, vis, basis, weight=weight)
        np.testing.assert_array_equal(out[..., :2], lift[..., :2].astype(np.float32))         # x, y kept
        before = np.abs(lift[..., 2] - shape[..., 2]).mean()
        after = np.abs(out[..., 2] - shape[..., 2]).mean()
        assert after < 0.25 * before, (weight, before, after)


def test_camera_refinement_keeps_points_on_their_rays() -> None:
    rng = np.random.default_rng(3)
    mean, modes = true_basis(rng)
    basis = fit_basis(posed(rng, mean, modes, 200), 2)
    shape = posed(rng, mean, modes, 30) + np.array([0.0, 0.0, 12.0])                    # in front of the camera
    slopes = shape[..., :2] / shape[..., 2:]
    vis = np.ones(shape.shape[:2], bool)
    z = shape[..., 2] * (1 + rng.normal(scale=0.02, size=shape.shape[:2]))             # depth noise on the rays
    lift = np.concatenate([slopes * z[..., None], z[..., None]], -1)
    out = refine_with_basis(lift, vis, basis, slopes=slopes)
    np.testing.assert_allclose(out[..., :2] / out[..., 2:], slopes, atol=1e-5)          # still on the rays
    assert np.abs(out[..., 2] - shape[..., 2]).mean() < 0.25 * np.abs(z - shape[..., 2]).mean()


def test_bad_settings_raise_and_sparse_frames_pass_through() -> None:
    rng = np.random.default_rng(4)
    mean, modes = true_basis(rng)
    basis = ShapeBasis(mean, modes, np.ones(2))
    lift = posed(rng, mean, modes, 2)
    vis = np.ones((2, N), bool)
    vis[1, 2:] = False                                                                  # two visible: unchanged
    out = refine_with_basis(lift, vis, basis)
    np.testing.assert_array_equal(out[1], lift[1].astype(np.float32))
    with pytest.raises(ValueError, match="weight"):
        refine_with_basis(lift, vis, basis, weight=-1)
    with pytest.raises(ValueError, match="iterations"):
        refine_with_basis(lift, vis, basis, iterations=0)
    with pytest.raises(ValueError, match="landmarks"):
        refine_with_basis(lift[:, :10], vis[:, :10], basis)
    with pytest.raises(ValueError, match="finite"):
        fit_basis(np.full((5, N, 3), np.nan), 2)
    with pytest.raises(ValueError, match="more than 2 lifts"):
        fit_basis(lift, 2)


def test_the_file_round_trips_and_a_corrupted_one_is_named(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    mean, modes = true_basis(rng)
    path = tmp_path / "bases.safetensors"
    save_bases(path, {"thing": ShapeBasis(mean, modes, np.array([2.0, 1.0]))}, {"command": "test"})
    back = load_bases(path)["thing"]
    np.testing.assert_allclose(back.mean, mean, rtol=1e-6)
    np.testing.assert_allclose(back.modes, modes, rtol=1e-6)
    path.write_bytes(path.read_bytes()[:-4] + b"oops")
    with pytest.raises(WeightsError, match=r"bases.safetensors is corrupted"):
        load_bases(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(WeightsError, match=r"bases.json is missing"):
        load_bases(path)


def test_load_lifter_names_a_missing_bases_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="nowhere.safetensors is missing"):
        load_lifter(device="cpu", shape_bases=tmp_path / "nowhere.safetensors")


def test_the_api_refines_faces_only_and_keeps_its_contracts() -> None:
    lifter = load_lifter(device="cpu")
    assert set(lifter.bases) == {"face468"}
    pts, _, focal, principal = face_input()
    vis = np.ones(pts.shape[:2], bool)
    vis[:, ::5] = False
    lift = lifter.lift(pts, "face468", vis)
    plain = lifter.lift(pts, "face468", vis, shape_basis=False)
    assert np.abs(lift - plain).max() > 1e-3                                            # it does something
    centred = pts - np.array([pts[f][vis[f]].mean(0) for f in range(len(pts))])[:, None]
    np.testing.assert_allclose(lift[vis][:, :2], centred[vis], atol=1e-3)                # visible x, y kept
    camera = lifter.lift_with_camera(pts, "face468", focal, principal, vis)
    np.testing.assert_allclose(camera, lifter.read_with_camera(lift, pts, "face468", focal, principal, vis),
                               atol=1e-4)
    projected = focal * camera[..., :2] / camera[..., 2:] + principal
    np.testing.assert_allclose(projected[vis], pts[vis], atol=1e-2)                      # on the pixels' rays
    # another category is untouched by the option
    body = np.random.default_rng(0).normal(size=(2, 17, 2)) * 50 + 300
    np.testing.assert_array_equal(lifter.lift(body, "human17"), lifter.lift(body, "human17", shape_basis=False))


def test_faces_the_pinhole_fit_cannot_read_keep_the_first_stage_and_spare_the_others() -> None:
    """A face whose landmarks all lie at one pixel (no pinhole can be guessed from its extent) or with too few
    visible landmarks for the fit goes through lift() without an error, keeping the first stage's lift; the other
    faces of the batch read as they do alone."""
    from lifter.shape_basis import MIN_FIT_VISIBLE

    lifter = load_lifter(device="cpu")
    pts, _, _, _ = face_input()
    vis = np.ones(pts.shape[:2], bool)
    batch = np.concatenate([pts[:1], np.full_like(pts[:1], 250.0), pts[1:2]])
    batch_vis = np.concatenate([vis[:1], vis[:1], vis[1:2]])
    batch_vis[2, MIN_FIT_VISIBLE - 1:] = False                                  # too few for the fit
    batch[2][~batch_vis[2]] = np.nan
    with pytest.warns(UserWarning, match="frame 1's visible landmarks all lie at one pixel"):
        lifted = lifter.lift(batch, "face468", batch_vis)
    assert np.isfinite(lifted).all()
    np.testing.assert_array_equal(lifted[:1], lifter.lift(batch[:1], "face468", batch_vis[:1]))
    with pytest.warns(UserWarning, match="all lie at one pixel"):
        first = lifter.lift(batch[1:], "face468", batch_vis[1:], shape_basis=False)    # no basis: only stage 1
    np.testing.assert_allclose(lifted[1:], refine_with_basis(first, batch_vis[1:], lifter.bases["face468"]),
                               atol=1e-5)
    with pytest.raises(ValueError, match="all coincide"), pytest.warns(UserWarning):   # a camera reading needs
        lifter.lift_with_camera(batch[1:2], "face468")                                  # the guess


@pytest.mark.parametrize("setting", ["clean", "occluded"])
def test_lift_reads_faces_near_the_best_lift_of_its_form(face_data: Path, setting: str) -> None:
    """lift()'s second stage (the basis fitted through a guessed pinhole, read back orthographically) takes faces
    seen by the benchmark's cameras to within 5 % of the lowest least-squares error of lift()'s form (the depths
    that fit the truth best, :func:`lifter.references.best_depth_floor`), well below the lift without the basis;
    it does so from any lift it is given, keeping the visible x, y."""
    from lifter.camera_reading import orthographic_basis_reading
    from lifter.evaluate import score
    from lifter.references import best_depth_floor
    from lifter.views import load_test_set

    lifter = load_lifter(device="cpu")
    test = load_test_set(face_data, "face468", setting)
    lift = lifter.lift(test.points2d, "face468", test.visible)
    plain = lifter.lift(test.points2d, "face468", test.visible, shape_basis=False)
    best = score(best_depth_floor(test, refine_steps=0), test)["strict"]
    assert score(lift, test)["strict"] < min(1.05 * best, 0.9 * score(plain, test)["strict"])
    pixels = np.where(test.visible[..., None], test.points2d, 0.0)
    again = orthographic_basis_reading(plain, pixels, test.visible, "face468", lifter.bases["face468"])
    assert score(again, test)["strict"] < 1.05 * best
    centred = pixels - (pixels.sum(1) / test.visible.sum(1)[:, None])[:, None]
    np.testing.assert_allclose(again[test.visible][:, :2], centred[test.visible], atol=1e-3)


def test_the_refined_camera_reading_of_a_face_is_closer_to_it() -> None:
    lifter = load_lifter(device="cpu")
    pts, cam, focal, principal = face_input(4, seed=1)
    vis = np.ones(pts.shape[:2], bool)
    with_basis = lifter.lift_with_camera(pts, "face468", focal, principal, vis)
    without = lifter.lift_with_camera(pts, "face468", focal, principal, vis, shape_basis=False)
    assert aligned_errors(with_basis, cam, vis).mean() < aligned_errors(without, cam, vis).mean()


def test_the_fitted_shape_of_a_noisy_face_is_closer_to_it_and_needs_a_basis() -> None:
    """``fitted_shape=True``: the face's fitted basis shape, nearer the true face than the reading on the noisy
    pixels' rays, in the same units (visible mean depth = the focal length), from either API call; refused where
    there is no basis to fit."""
    lifter = load_lifter(device="cpu")
    pts, cam, focal, principal = face_input(3, seed=2)
    noisy = pts + np.random.default_rng(2).normal(scale=2.0, size=pts.shape)           # about 1 % of the radius
    vis = np.ones(pts.shape[:2], bool)
    on_rays = lifter.lift_with_camera(noisy, "face468", focal, principal, vis)
    fitted = lifter.lift_with_camera(noisy, "face468", focal, principal, vis, fitted_shape=True)
    assert aligned_errors(fitted, cam, vis).mean() < 0.5 * aligned_errors(on_rays, cam, vis).mean()
    np.testing.assert_allclose(fitted[..., 2].mean(1), focal, rtol=1e-4)
    lift = lifter.lift(noisy, "face468", vis)
    np.testing.assert_allclose(lifter.read_with_camera(lift, noisy, "face468", focal, principal, vis,
                                                       fitted_shape=True), fitted, atol=1e-3)
    guessed = lifter.lift_with_camera(noisy, "face468", visible=vis, fitted_shape=True)      # focal estimated too
    assert aligned_errors(guessed, cam, vis).mean() < aligned_errors(
        lifter.lift_with_camera(noisy, "face468", visible=vis), cam, vis).mean()
    body = np.random.default_rng(0).normal(size=(2, 17, 2)) * 50 + 300
    with pytest.raises(ValueError, match="fitted_shape"):
        lifter.lift_with_camera(body, "human17", 1000.0, (300.0, 300.0), fitted_shape=True)
    with pytest.raises(ValueError, match="shape_basis=False"):
        lifter.lift_with_camera(noisy, "face468", focal, principal, shape_basis=False, fitted_shape=True)
    with pytest.raises(ValueError, match="fitted_shape"):
        lifter.read_with_camera(lifter.lift(body, "human17"), body, "human17", fitted_shape=True)


@pytest.fixture(scope="module")
def face_data(tmp_path_factory) -> Path:
    return write_face_data(tmp_path_factory.mktemp("faces"), train=30, test=4)


def test_the_command_writes_bases_the_api_loads(tmp_path: Path, face_data: Path) -> None:
    from lifter.shape_basis import main

    out = tmp_path / "bases.safetensors"
    assert main(["--data", str(face_data), "--out", str(out), "--views", "30", "--modes", "1",
                 "--iterations", "3"]) == 0
    basis = load_bases(out)["face468"]
    assert basis.modes.shape == (1, 468, 3) and basis.spread.shape == (1,)
    record = json.loads(out.with_suffix(".json").read_text())["categories"]["face468"]
    assert record["method"] == "perspective bundle adjustment" and record["views"] == 30
    assert record["rms_px"] < record["rms_px_start"]                 # the adjustment fits the 2D better
    assert record["mirror_symmetric"]["mean_asymmetry_before"] >= 0   # faces have mirror pairs: made symmetric
    perm = np.asarray(get_category("face468").mirror_permutation())
    reflect = mirror_reflection(basis.mean, perm)
    np.testing.assert_allclose(basis.mean[perm] @ reflect, basis.mean, atol=1e-6)        # float32 in the file
    np.testing.assert_allclose(basis.modes[:, perm] @ reflect, basis.modes, atol=1e-6)
    lifter = load_lifter(device="cpu", shape_bases=out)
    assert "face468" in lifter.bases
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path / "empty"), "--out", str(out)])
    with pytest.raises(SystemExit):
        main(["--data", str(face_data), "--out", str(out), "--iterations", "0"])


def test_the_command_refuses_before_fitting(tmp_path: Path, face_data: Path, capsys, monkeypatch) -> None:
    """Every refusal comes before the lifter is loaded or anything fitted, so no finished fit is lost and the
    bundled file is not replaced by a trial: a folder or an unwritable place as --out, the bundled file with other
    settings than its recipe's (without --force), modes beyond a shape's coordinates or a bundle adjustment larger
    than the memory (500 modes of 20 hands had taken 23 GB), a negative seed, a damaged training file."""
    from lifter import fitted_priors, shape_basis
    from lifter.shape_basis import DEFAULT_BASES, main

    monkeypatch.setattr(fitted_priors, "save_fitted", lambda *a: pytest.fail("nothing may be written"))
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    refusals = {
        "is a folder": ["--out", str(tmp_path)],
        "cannot make its folder": ["--out", str(blocker / "b.safetensors")],
        "--views differ from the recipe of the bundled": ["--views", "20"],
        "--modes must be 0..1397 for face468": ["--out", str(tmp_path / "b.safetensors"), "--modes", "1398"],
        "--seed must be >= 0": ["--out", str(tmp_path / "b.safetensors"), "--seed", "-1"],
    }
    for said, args in refusals.items():
        with pytest.raises(SystemExit):
            main(["--data", str(face_data), *args])
        assert said in capsys.readouterr().err, said
    errors = []
    shape_basis._check_arguments(type("A", (), {"iterations": 1, "categories": ["face468"], "modes": 40,
                                                "views": 1000})(), errors.append, available=2 ** 30)
    assert errors and "GiB for its bundle adjustment" in errors[0] and "lower --modes or --views" in errors[0]
    assert DEFAULT_BASES.is_file()                                   # the bundled file untouched
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "face468_train.npz").write_bytes((face_data / "face468_train.npz").read_bytes()[:500])
    monkeypatch.setattr("lifter.api.load_lifter", lambda *a, **k: pytest.fail("the file is checked first"))
    with pytest.raises(SystemExit):
        main(["--data", str(damaged), "--out", str(tmp_path / "b.safetensors")])
    assert "face468_train.npz cannot be read as a data file" in capsys.readouterr().err


def test_the_check_scripts_rows_are_the_apis(face_data: Path, capsys) -> None:
    from lifter.evaluate import score
    from lifter.views import load_test_set

    data = face_data
    sc = load_script("shape_basis_check")
    lifter = load_lifter(device="cpu")
    test = load_test_set(data, "face468", "occluded")
    lift = lifter.lift(test.points2d, "face468", test.visible)
    camera = lifter.lift_with_camera(test.points2d, "face468", test.focal, test.principal, test.visible)
    plain = lifter.lift(test.points2d, "face468", test.visible, shape_basis=False)
    k = len(lifter.bases["face468"].modes)
    rows = dict(sc.basis_rows(lifter, test, {k: lifter.bases["face468"]}, [0.1], [5]))
    assert rows[f"lift(), {k} modes, weight 0.1, 5 iterations"] == pytest.approx(score(lift, test)["strict"],
                                                                                 abs=1e-4)
    # the camera reading before the pinhole fit: the 3D alternation along the rays, now a reference row
    read = lifter.read_with_camera(lift, test.points2d, "face468", test.focal, test.principal, test.visible,
                                   shape_basis=False)
    before = refine_with_basis(read, test.visible, lifter.bases["face468"], read[..., :2] / read[..., 2:3])
    assert rows[f"lift_with_camera, {k} modes, weight 0.1, 5 iterations"] == pytest.approx(
        score(before, test)["strict"], abs=1e-4)
    assert score(camera, test)["strict"] < score(before, test)["strict"]          # the pinhole fit reads better
    assert rows["lift(), no refinement"] == pytest.approx(score(plain, test)["strict"], abs=1e-9)
    assert sc.main(["--data", str(data), "--views", "clean", "--fit-views", "20", "--modes", "0", "1"]) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("| face468 (4)")]
    assert len(lines) == 6 and all(x.rstrip().endswith("% |") for x in lines)
    with pytest.raises(SystemExit):
        sc.main(["--data", str(data), "--weights", "-1"])
    with pytest.raises(SystemExit):
        sc.main(["--data", str(data), "--views", "clean", "--hide", "0.2"])


def test_the_pinhole_check_scripts_rows_are_the_apis(face_data: Path, capsys) -> None:
    from lifter.evaluate import score
    from lifter.views import load_test_set

    sc = load_script("pinhole_fit_check")
    lifter = load_lifter(device="cpu")
    test = load_test_set(face_data, "face468", "occluded")
    rows = dict(sc.reading_rows(lifter, test, lifter.bases["face468"]))
    camera = lifter.lift_with_camera(test.points2d, "face468", test.focal, test.principal, test.visible)
    guessed = lifter.lift_with_camera(test.points2d, "face468", visible=test.visible)
    assert rows["lift()"] == pytest.approx(score(lifter.lift(test.points2d, "face468", test.visible), test)["strict"])
    assert rows["true intrinsics, fitted through the pinhole (lift_with_camera)"] == pytest.approx(
        score(camera, test)["strict"], abs=1e-4)
    assert rows["guessed camera, fitted through the pinhole, focal length estimated (lift_with_camera)"] == \
        pytest.approx(score(guessed, test)["strict"], abs=1e-3)
    assert sc.main(["--data", str(face_data), "--views", "clean"]) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("| face468 (4)")]
    assert len(lines) == 8 and all(x.rstrip().endswith("% |") for x in lines)
    with pytest.raises(SystemExit):
        sc.main(["--data", str(face_data), "--views", "clean", "--hide", "0.2"])


def test_a_basis_made_mirror_symmetric() -> None:
    """A symmetric shape (pairs across the plane x = 0, seen in a turned frame) with a symmetric and an antisymmetric
    mode, plus some asymmetry in its mean: the mean and modes come out exactly symmetric under the recovered
    reflection, still centred, unit-radius and orthonormal; the symmetric mode is kept, the antisymmetric one loses
    its asymmetric part; a basis that is symmetric already is unchanged."""
    rng = np.random.default_rng(0)
    half = rng.normal(size=(10, 3)) + [1.5, 0, 0]
    perm = np.r_[np.arange(10, 20), np.arange(10)]                       # landmark i and i + 10 are a pair
    flip = np.array([-1.0, 1.0, 1.0])
    shape = np.concatenate([half, half * flip])
    sym = np.concatenate([m := rng.normal(size=(10, 3)), m * flip])      # symmetric and antisymmetric modes
    anti = np.concatenate([a := rng.normal(size=(10, 3)), -a * flip])
    turn = rotation_y(0.7) @ rotation_x(0.3)                             # any frame: the plane is found
    modes = np.stack([sym, anti + 0.5 * sym])
    q, _ = np.linalg.qr(modes.reshape(2, -1).T)
    symmetric = ShapeBasis(unit_shape(shape) @ turn.T, q.T.reshape(2, 20, 3) @ turn.T, np.ones(2))
    lopsided = ShapeBasis(unit_shape(shape + rng.normal(scale=0.05, size=shape.shape)) @ turn.T, symmetric.modes,
                          np.ones(2))
    out, asymmetry = mirror_symmetric(lopsided, perm, coefficients=rng.normal(size=(50, 2)))
    assert asymmetry > 0.01
    reflect = mirror_reflection(out.mean, perm)
    np.testing.assert_allclose(reflect @ reflect, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(out.mean[perm] @ reflect, out.mean, atol=1e-12)
    np.testing.assert_allclose(out.modes[:, perm] @ reflect, out.modes, atol=1e-12)
    np.testing.assert_allclose(out.mean.mean(0), 0, atol=1e-12)
    assert np.sqrt((out.mean ** 2).sum(-1).mean()) == pytest.approx(1.0)
    np.testing.assert_allclose(out.modes.reshape(2, -1) @ out.modes.reshape(2, -1).T, np.eye(2), atol=1e-12)
    assert abs((out.modes[0] * symmetric.modes[0]).sum()) == pytest.approx(1.0, abs=1e-2)   # kept
    same, none = mirror_symmetric(symmetric, perm)
    assert none < 1e-12
    np.testing.assert_allclose(same.mean, symmetric.mean, atol=1e-12)


def test_a_mirrored_face_lifts_to_the_mirrored_lift() -> None:
    """The bundled face basis is mirror-symmetric, so lift() (mirror averaging, then the basis's two stages) of a
    face's mirror image is its lift mirrored (the basis fitted before it was made symmetric did not: its lifts of an
    image and of its mirror differed by tens of pixels on some test faces)."""
    lifter = load_lifter(device="cpu")
    perm = np.asarray(get_category("face468").mirror_permutation())
    pts, _, _, _ = face_input(frames=3, seed=4)
    vis = np.random.default_rng(1).random(pts.shape[:2]) > 0.2
    out = lifter.lift(pts, "face468", vis)
    mirrored = (pts * np.array([-1.0, 1.0]))[:, perm]
    back = lifter.lift(mirrored, "face468", vis[:, perm])[:, perm] * np.array([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(back, out, atol=0.05)
