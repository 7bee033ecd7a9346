"""The test-time bone-length refinement (:mod:`lifter.bone_lengths`) against closed forms, its file, and its place
in the API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from data_files import load_script, proportions_of, write_hand_data
from lifter import load_lifter
from lifter.api import DEFAULT_WEIGHTS, WeightsError
from lifter.bone_lengths import (category_edges, edge_lengths, fit_proportions, load_proportions, refine_bone_lengths,
                                 refine_lift, save_proportions)
from lifter.checked_files import record_path
from lifter.geometry import rotation_x, rotation_y

EDGES = category_edges("hand21")          # 23 edges on 21 landmarks: a tree plus the palm's knuckle links
N = 21


def posed(rng: np.random.Generator, shape: np.ndarray, frames: int) -> np.ndarray:
    """``frames`` copies of ``shape (N, 3)``, each rotated and scaled at random: ``(F, N, 3)``."""
    R = rotation_y(rng.uniform(0, 2 * np.pi, frames)) @ rotation_x(rng.uniform(-0.6, 0.6, frames))
    return rng.uniform(0.5, 2.0, frames)[:, None, None] * np.einsum("fij,nj->fni", R, shape)


def test_edges_are_the_skeletons_each_once() -> None:
    assert EDGES.shape == (23, 2) and (EDGES[:, 0] < EDGES[:, 1]).all()
    assert len({tuple(e) for e in EDGES}) == 23 and category_edges("human17").shape == (16, 2)


def test_fitted_proportions_are_the_shapes_own_and_skip_partial_lifts() -> None:
    rng = np.random.default_rng(0)
    shape = rng.normal(size=(N, 3))
    lifts = posed(rng, shape, 20)
    vis = np.ones(lifts.shape[:2], bool)
    vis[:5, 3] = False                                                       # partial: left out of the fit
    lifts[:5, 3] = 1e6
    fitted = fit_proportions(lifts, vis, EDGES)
    np.testing.assert_allclose(fitted.ratios, proportions_of(shape).ratios, rtol=1e-9)
    np.testing.assert_allclose(fitted.ratios.sum(), 1.0)
    assert np.abs(fitted.spread).max() < 1e-9                                # copies of one shape: no spread
    with pytest.raises(ValueError, match="none of the 20 lifts"):
        fit_proportions(lifts, np.zeros_like(vis), EDGES)
    # lifts of two shapes, three of one and two of another: every bone's median is the first shape's
    other = rng.normal(size=(N, 3))
    mixed = np.concatenate([posed(rng, shape, 3), posed(rng, other, 2)])
    np.testing.assert_allclose(fit_proportions(mixed, np.ones((5, N), bool), EDGES).ratios,
                               proportions_of(shape).ratios, rtol=1e-9)
    with pytest.raises(ValueError, match="without edges"):
        fit_proportions(lifts, vis, EDGES[:0])


def test_a_shape_with_the_proportions_is_left_as_it_is() -> None:
    rng = np.random.default_rng(1)
    shape = rng.normal(size=(N, 3))
    views = posed(rng, shape, 6)
    out = refine_bone_lengths(views, np.ones(views.shape[:2], bool), proportions_of(shape), weight=0.01,
                              iterations=5)
    np.testing.assert_allclose(out, views, atol=1e-5)


def test_converged_steps_recover_the_depths_of_an_orthographic_view() -> None:
    # posed copies of a shape with the proportions, their depths squeezed and jittered: with a tiny weight on the
    # network and many steps every bone comes back to its length in the proportions, and the depths come back
    # (up to an offset) in the frames where no bone lies almost in the image plane: there the sign of the bone's
    # depth difference is ambiguous (Taylor, 2000), a limb may fold the other way
    rng = np.random.default_rng(2)
    shape = rng.normal(size=(N, 3))
    views = posed(rng, shape, 12)
    vis = np.ones(views.shape[:2], bool)
    start = views.copy()
    start[..., 2] = 0.9 * views[..., 2] + rng.normal(scale=0.02, size=vis.shape)
    out = refine_bone_lengths(start, vis, proportions_of(shape), weight=1e-6, iterations=30)
    np.testing.assert_array_equal(out[..., :2], start[..., :2].astype(np.float32))      # only depths move
    lengths = edge_lengths(out.astype(np.float64), EDGES)
    np.testing.assert_allclose(lengths / lengths.sum(1, keepdims=True),
                               np.broadcast_to(proportions_of(shape).ratios, lengths.shape), rtol=1e-4)
    err = out[..., 2] - views[..., 2]
    err -= err.mean(1, keepdims=True)                                                    # up to a depth offset
    before = start[..., 2] - views[..., 2]
    before -= before.mean(1, keepdims=True)
    dz = np.abs(views[:, EDGES[:, 0], 2] - views[:, EDGES[:, 1], 2]) / np.abs(views).max((1, 2))[:, None]
    clear = (dz > 0.04).all(1)                                                           # (F,)
    assert clear.sum() >= 3 and (~clear).any()
    assert np.abs(err[clear]).max() < 1e-3 * np.abs(views).max() < np.abs(before[clear]).max()
    # from flattened depths (a third of the truth's), the bones' common scale is found too: their lengths, not
    # only their ratios, come back where the view is clear
    flat = views.copy()
    flat[..., 2] = views[..., 2] / 3
    out = refine_bone_lengths(flat, vis, proportions_of(shape), weight=1e-6, iterations=30).astype(np.float64)
    np.testing.assert_allclose(edge_lengths(out, EDGES)[clear], edge_lengths(views, EDGES)[clear], rtol=1e-3)
    # one damped step (the shipped setting) moves the depths part of the way
    one = refine_bone_lengths(start, vis, proportions_of(shape), weight=0.05, iterations=1)
    step = one[..., 2] - views[..., 2]
    step -= step.mean(1, keepdims=True)
    assert np.abs(step).mean() < 0.7 * np.abs(before).mean()


def test_camera_refinement_keeps_points_on_their_rays_and_hidden_ones_still() -> None:
    rng = np.random.default_rng(3)
    shape = rng.normal(size=(N, 3))
    cam = posed(rng, shape, 6) + np.array([0.0, 0.0, 15.0])                              # in front of the camera
    rays = cam[..., :2] / cam[..., 2:]
    vis = np.ones(cam.shape[:2], bool)
    vis[:, [4, 8]] = False
    z = cam[..., 2] * (1 + rng.normal(scale=0.005, size=vis.shape))                     # depth noise on the rays
    lift = np.concatenate([rays * z[..., None], z[..., None]], -1)
    out = refine_bone_lengths(lift, vis, proportions_of(shape), rays, weight=1e-4, iterations=20)
    np.testing.assert_allclose(out[..., :2] / out[..., 2:], rays, atol=1e-6)             # still on the rays
    np.testing.assert_array_equal(out[~vis], lift[~vis].astype(np.float32))              # hidden: unchanged
    # on the rays, the shape is fixed up to a scale (the distance): depths compared over their frame's mean
    def rel(depth: np.ndarray) -> np.ndarray:
        return depth / np.nanmean(np.where(vis, depth, np.nan), 1, keepdims=True)
    assert np.abs(rel(out[..., 2]) - rel(cam[..., 2]))[vis].mean() < 0.2 * np.abs(rel(z) - rel(cam[..., 2]))[vis].mean()


def test_the_lift_form_reads_through_the_guessed_pinhole() -> None:
    # views whose camera is the one refine_lift guesses (principal point at the 2D box's centre, the focal length
    # the box's larger side over span), each refined with its own shape's proportions: from squeezed depths the
    # lift form's true depths come back, up to the distance (depth c z + (c - 1) focal for any c > 0), in all
    # but the frames where a bone's depth sign flips (the ambiguity of the test above)
    rng = np.random.default_rng(4)
    cam = posed(rng, rng.normal(size=(N, 3)), 12) + np.array([0.0, 0.0, 12.0])
    slopes = cam[..., :2] / cam[..., 2:]
    cam[..., :2] -= ((slopes.min(1) + slopes.max(1)) / 2)[:, None] * cam[..., 2:]        # box centred on the axis
    focal = 1000.0
    pixels = focal * cam[..., :2] / cam[..., 2:] + 500.0
    span = (pixels.max(1) - pixels.min(1)).max(-1) / focal                               # (F,) box over focal
    vis = np.ones(cam.shape[:2], bool)
    centre = pixels.mean(1)
    z_mean = cam[..., 2].mean(1, keepdims=True)
    truth = (cam[..., 2] - z_mean) * focal / z_mean                                      # lift() form's depths
    start = np.concatenate([pixels - centre[:, None], (0.9 * truth)[..., None]], -1)
    recovered = []
    for f in range(len(cam)):                                                            # one span per call
        out = refine_lift(start[f:f + 1], centre[f:f + 1], vis[f:f + 1], proportions_of(cam[f]),
                          weight=1e-6, span_over_focal=float(span[f]), iterations=30)
        np.testing.assert_array_equal(out[..., :2], start[f:f + 1, :, :2].astype(np.float32))   # x, y kept
        A = np.stack([truth[f], np.ones(N)], -1)
        fitted = A @ np.linalg.lstsq(A, out[0, :, 2].astype(np.float64), rcond=None)[0]
        recovered.append(np.abs(out[0, :, 2] - fitted).max() < 1e-3 * np.abs(truth[f]).max())
        # the same frame refined as if orthographic (kappa 0) does not come back: the pinhole matters
        flat = refine_lift(start[f:f + 1], centre[f:f + 1], vis[f:f + 1], proportions_of(cam[f]),
                           weight=1e-6, span_over_focal=0.0, iterations=30)
        fitted = A @ np.linalg.lstsq(A, flat[0, :, 2].astype(np.float64), rcond=None)[0]
        assert np.abs(flat[0, :, 2] - fitted).max() > 1e-2 * np.abs(truth[f]).max()
    assert sum(recovered) >= 10, recovered


def test_bad_settings_raise_and_frames_without_bones_pass_through() -> None:
    rng = np.random.default_rng(5)
    shape = rng.normal(size=(N, 3))
    views = posed(rng, shape, 2)
    vis = np.ones(views.shape[:2], bool)
    vis[1] = False
    vis[1, [0, 10, 20]] = True                                                          # no edge between them
    views[1, 2] += 1.0
    views[0, :, 2] += rng.normal(scale=0.2, size=N)                                    # off its proportions
    out = refine_bone_lengths(views, vis, proportions_of(shape))
    np.testing.assert_array_equal(out[1], views[1].astype(np.float32))
    # the frame with bones is refined as it would be alone: frames do not leak into each other
    np.testing.assert_allclose(out[0], refine_bone_lengths(views[:1], vis[:1], proportions_of(shape))[0], atol=1e-5)
    assert not np.allclose(out[0], views[0], atol=1e-3)
    with pytest.raises(ValueError, match="weight"):
        refine_bone_lengths(views, vis, proportions_of(shape), weight=0)
    with pytest.raises(ValueError, match="iterations"):
        refine_bone_lengths(views, vis, proportions_of(shape), iterations=0)
    with pytest.raises(ValueError, match="landmark 20"):
        refine_bone_lengths(views[:, :10], vis[:, :10], proportions_of(shape))


def test_the_file_round_trips_and_a_corrupted_one_is_named(tmp_path: Path) -> None:
    shape = np.random.default_rng(6).normal(size=(N, 3))
    path = tmp_path / "bones.safetensors"
    save_proportions(path, {"hand21": proportions_of(shape)}, {"command": "test"})
    back = load_proportions(path)["hand21"]
    np.testing.assert_array_equal(back.edges, EDGES)
    np.testing.assert_allclose(back.ratios, proportions_of(shape).ratios, rtol=1e-6)
    path.write_bytes(path.read_bytes()[:-4] + b"oops")
    with pytest.raises(WeightsError, match=r"bones.safetensors is corrupted"):
        load_proportions(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(WeightsError, match=r"bones.json is missing"):
        load_proportions(path)
    with pytest.raises(WeightsError, match="nowhere.safetensors is missing"):
        load_lifter(device="cpu", bone_proportions=tmp_path / "nowhere.safetensors")


@pytest.fixture(scope="module")
def hand_data(tmp_path_factory) -> Path:
    return write_hand_data(tmp_path_factory.mktemp("hands"), train=40, test=6)


def test_the_api_refines_hands_and_bodies_and_keeps_its_contracts(hand_data: Path) -> None:
    from lifter.views import load_test_set

    lifter = load_lifter(device="cpu")
    assert set(lifter.proportions) == {"hand21", "human17"}
    assert set(load_lifter(device="cpu", bone_proportions=None).proportions) == set()
    test = load_test_set(hand_data, "hand21", "occluded")
    pts, vis = test.points2d, test.visible
    lift = lifter.lift(pts, "hand21", vis)
    plain = lifter.lift(pts, "hand21", vis, bone_lengths=False)
    assert np.abs(lift - plain).max() > 1e-3                                            # it does something
    centred = np.where(vis[..., None], pts, 0) - np.array([pts[f][vis[f]].mean(0) for f in range(len(pts))])[:, None]
    np.testing.assert_allclose(lift[vis][:, :2], centred[vis], atol=1e-3)                # visible x, y kept
    np.testing.assert_array_equal(lift[~vis], plain[~vis])                              # hidden: the network's
    camera = lifter.lift_with_camera(pts, "hand21", test.focal, test.principal, vis)
    np.testing.assert_allclose(camera, lifter.read_with_camera(lift, pts, "hand21", test.focal, test.principal, vis),
                               atol=1e-4)
    projected = test.focal[:, None, None] * camera[..., :2] / camera[..., 2:] + test.principal[:, None]
    np.testing.assert_allclose(projected[vis], pts[vis], atol=1e-2)                      # on the pixels' rays
    mean_depth = (camera[..., 2] * vis).sum(1) / vis.sum(1)
    np.testing.assert_allclose(mean_depth, test.focal, rtol=1e-5)                       # the reading's units
    # a category without proportions is untouched by the option
    face = np.random.default_rng(0).normal(size=(1, 468, 2)) * 50 + 300
    np.testing.assert_array_equal(lifter.lift(face, "face468"), lifter.lift(face, "face468", bone_lengths=False))


def test_the_command_writes_proportions_the_api_loads(tmp_path: Path, hand_data: Path, capsys) -> None:
    from lifter.bone_lengths import main

    out = tmp_path / "bones.safetensors"
    assert main(["--data", str(hand_data), "--out", str(out), "--views", "40", "--categories", "hand21"]) == 0
    fitted = load_proportions(out)["hand21"]
    assert fitted.ratios.shape == (23,) and abs(fitted.ratios.sum() - 1) < 0.05
    assert json.loads(record_path(out).read_text())["lifter_supervision"] == "2d"     # the bundled lifter's
    lifter = load_lifter(device="cpu", bone_proportions=out)
    assert set(lifter.proportions) == {"hand21"}
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path / "empty"), "--out", str(tmp_path / "none.safetensors")])
    err = capsys.readouterr().err                 # every missing file named at once, before anything is fitted
    assert "python -m lifter.bone_lengths: error: no hand21_train.npz, human17_train.npz in" in err
    assert not (tmp_path / "none.safetensors").exists()
    corrupt = tmp_path / "corrupt.safetensors"                  # the bundled record beside a damaged file
    corrupt.write_bytes(b"not weights")
    corrupt.with_suffix(".json").write_bytes(record_path(DEFAULT_WEIGHTS).read_bytes())
    for weights, said in ((tmp_path / "nowhere.safetensors", "nowhere.safetensors is missing"),
                          (corrupt, "corrupt.safetensors")):
        with pytest.raises(SystemExit) as stop:                     # named in the usage error, no traceback
            main(["--data", str(hand_data), "--out", str(tmp_path / "none.safetensors"), "--categories", "hand21",
                  "--weights", str(weights)])
        assert stop.value.code == 2 and said in capsys.readouterr().err
    assert not (tmp_path / "none.safetensors").exists()


def test_the_command_reads_training_2d_alone(tmp_path: Path, hand_data: Path) -> None:
    """Training files need only ``points2d`` and ``visible`` (DESIGN.md): the proportions fitted from the lifter's
    lifts of a file of 2D alone (no ``present``, no ``points3d``) equal those of the full file, the same rows
    drawn (:func:`lifter.views.training_2d`). The 3D ground truth had been required, and read."""
    from lifter.bone_lengths import main
    from lifter.views import training_2d, training_views

    only_2d = tmp_path / "only_2d"
    only_2d.mkdir()
    with np.load(hand_data / "hand21_train.npz") as f:
        np.savez(only_2d / "hand21_train.npz", points2d=f["points2d"], visible=f["visible"], category=f["category"])
    full, two_d = training_views(hand_data, "hand21", 25, 3), training_2d(only_2d, "hand21", 25, 3)
    np.testing.assert_array_equal(two_d.points2d, full.points2d)
    np.testing.assert_array_equal(two_d.visible, full.visible)
    outs = [tmp_path / "full.safetensors", tmp_path / "only_2d.safetensors"]
    for data, out in zip((hand_data, only_2d), outs):
        assert main(["--data", str(data), "--out", str(out), "--views", "30", "--categories", "hand21"]) == 0
    fitted = [load_proportions(out)["hand21"].ratios for out in outs]
    np.testing.assert_array_equal(fitted[0], fitted[1])


def test_the_check_scripts_rows_are_the_apis(hand_data: Path, capsys) -> None:
    from lifter.evaluate import score
    from lifter.views import load_test_set

    bc = load_script("bone_length_check")
    lifter = load_lifter(device="cpu")
    test = load_test_set(hand_data, "hand21", "occluded")
    rows = dict(bc.bone_rows(lifter, test, lifter.proportions["hand21"], [0.05], [2], [0.3]))
    lift = lifter.lift(test.points2d, "hand21", test.visible)
    camera = lifter.lift_with_camera(test.points2d, "hand21", test.focal, test.principal, test.visible)
    plain = lifter.lift(test.points2d, "hand21", test.visible, bone_lengths=False)
    assert rows["lift(), weight 0.05, hinge 0.3, 2 steps"] == pytest.approx(score(lift, test)["strict"], abs=1e-4)
    assert rows["lift_with_camera, weight 0.05, hinge 0.3, 2 steps"] == pytest.approx(score(camera, test)["strict"],
                                                                                     abs=1e-4)
    assert rows["lift(), no refinement"] == pytest.approx(score(plain, test)["strict"], abs=1e-9)
    assert bc.main(["--data", str(hand_data), "--views", "clean", "--categories", "hand21", "--fit-views", "20",
                    "--weights", "0.05", "0.1", "--iterations", "1", "2"]) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("| hand21 (6)")]
    assert len(lines) == 10 and all(x.rstrip().endswith("mm |") for x in lines)
    assert bc.main(["--data", str(hand_data), "--views", "clean", "--categories", "hand21", "--fit-views", "20",
                    "--unpaired"]) == 0                                     # hands have no mirror edges: the same
    again = [x for x in capsys.readouterr().out.splitlines() if x.startswith("| hand21 (6)")]
    assert again == [lines[0], lines[1], lines[4], lines[5]]                   # the shipped setting: 2 steps
    assert bc.main(["--data", str(hand_data), "--views", "clean", "--fit-views", "20"]) == 0   # no body files
    out = capsys.readouterr().out
    assert f"| human17 | (no human17 files in {hand_data}) | |" in out and "| hand21 (6)" in out
    with pytest.raises(SystemExit):
        bc.main(["--data", str(hand_data), "--weights", "0"])
    with pytest.raises(SystemExit):
        bc.main(["--data", str(hand_data), "--views", "clean", "--hide", "0.2"])


def test_mirrored_edges_share_their_proportions() -> None:
    from lifter.mirroring import mirror_permutation
    from lifter.bone_lengths import mirror_edges

    edges, perm = category_edges("human17"), mirror_permutation("human17")
    other = mirror_edges(edges, perm)
    np.testing.assert_array_equal(other[other], np.arange(len(edges)))                  # an involution
    assert (other != np.arange(len(edges))).sum() >= 10                                  # limbs swap sides
    rng = np.random.default_rng(7)
    lifts = rng.normal(size=(30, 17, 3))
    vis = np.ones((30, 17), bool)
    fitted = fit_proportions(lifts, vis, edges, perm)
    np.testing.assert_allclose(fitted.ratios, fitted.ratios[other])
    plain = fit_proportions(lifts, vis, edges)
    np.testing.assert_allclose(fitted.ratios, (plain.ratios + plain.ratios[other]) / 2)
    assert np.abs(plain.ratios - plain.ratios[other]).max() > 1e-3                      # random lifts: not symmetric
    with pytest.raises(ValueError, match="not an edge"):
        mirror_edges(edges[:5], perm)


def test_the_proportions_spread_is_the_standard_deviation_of_normal_ratios() -> None:
    """Two bones in a row whose first takes a share 0.5 + 0.04 z of their length, z standard normal: the fit's
    median share is 0.5 and its spread (the interquartile range over 1.349) 0.04, the standard deviation."""
    z = np.random.default_rng(0).standard_normal(20000)
    a = 0.5 + 0.04 * z
    lifts = np.zeros((len(z), 3, 3))
    lifts[:, 1, 0], lifts[:, 2, 0] = a, 1.0                       # landmarks at 0, a and 1 along x
    fit = fit_proportions(lifts, np.ones((len(z), 3), bool), np.array([[0, 1], [1, 2]]))
    np.testing.assert_allclose(fit.ratios, [0.5, 0.5], atol=2e-3)
    np.testing.assert_allclose(fit.spread, [0.04, 0.04], rtol=0.03)
