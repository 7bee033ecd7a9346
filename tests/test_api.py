"""The public API of DESIGN.md with the bundled weights: load_lifter() and lift(), its contract and errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lifter import load_lifter
from lifter.api import CPU_TOKENS, DEFAULT_WEIGHTS, WeightsError
from lifter.camera_reading import GUESS_DEPTH_MARGIN
from lifter.checked_files import record_path
from lifter.data.cameras import render_views
from lifter.data.hand import sample_hands
from lifter.export import lineage
from lifter.geometry import aligned_errors, perspective_reading, project_perspective


@pytest.fixture(scope="module")
def lifter():
    return load_lifter()


@pytest.fixture(scope="module")
def hand_views():
    rng = np.random.default_rng(123)
    hands, _ = sample_hands(300, rng)
    return render_views(hands, None, rng)


def test_bundled_weights_load_with_all_categories(lifter) -> None:
    assert lifter.categories == {"human17": 17, "hand21": 21, "face468": 468, "chair": 21}
    assert lifter.record["train_config"]["supervision"] == "2d"        # the shipped model is the 2D-only one
    assert DEFAULT_WEIGHTS.stat().st_size < 50e6
    # every stage it was initialised from was 2D-only too (3D ground truth never in a training loss), and each
    # stage's command is recorded (the README's recipe)
    stages = lineage(lifter.record)
    for stage in stages:
        assert stage["train_config"]["supervision"] == "2d" and stage["command"].startswith("python -m lifter.train")
    assert len(stages) >= 1


def test_lift_contract(lifter, hand_views) -> None:
    pts = hand_views.points2d[:20]
    out = lifter.lift(pts, "hand21")
    assert out.shape == (20, 21, 3) and out.dtype == np.float32 and np.isfinite(out).all()
    # Orthographic projection of the output = the input centred on the visible centroid (pixel units).
    np.testing.assert_allclose(out[..., :2], pts - pts.mean(1, keepdims=True), atol=1e-2)
    # Single pose in, single pose out; translation and scale of the input carry through.
    np.testing.assert_allclose(lifter.lift(pts[3], "hand21"), out[3], atol=1e-3)
    moved = lifter.lift(pts * 2.5 + np.array([300.0, -40.0]), "hand21")
    np.testing.assert_allclose(moved, out * 2.5, rtol=1e-3, atol=1e-2)


def test_lift_handles_missing_landmarks(lifter, hand_views) -> None:
    pts = hand_views.points2d[:10].copy()
    vis = np.ones((10, 21), dtype=bool)
    vis[:, [4, 8, 12]] = False
    pts[~vis] = np.nan
    out = lifter.lift(pts, "hand21", vis)
    assert np.isfinite(out).all()


def test_large_batches_are_lifted_in_bounded_chunks(lifter) -> None:
    """Many faces (468 landmarks) go through in chunks that bound the attention memory; the result does not
    depend on where the chunks split."""
    from lifter.api import LoadedLifter

    assert lifter.chunk_size(17) == lifter.batch and 1 <= lifter.chunk_size(468) < 100
    # on a CPU the network passes inside a chunk hold at most CPU_TOKENS tokens; elsewhere the whole chunk
    expected = CPU_TOKENS // 17 if lifter.device.type == "cpu" else lifter.batch
    assert lifter.pass_size(17) == expected
    small = LoadedLifter(lifter.model, lifter.record, lifter.device, attention_budget=3 * 468 * 468,
                         bases=lifter.bases)
    assert small.chunk_size(468) == 3
    rng = np.random.default_rng(5)
    pts = rng.normal(size=(7, 468, 2)) * 80 + 500
    np.testing.assert_allclose(small.lift(pts, "face468"), lifter.lift(pts, "face468"), atol=1e-3)


def test_chunking_does_not_change_lifts(lifter) -> None:
    """Every category, with hidden landmarks (the completion pass) and its refinements (bone lengths for bodies and
    hands, symmetry for chairs and faces, the shape basis for faces), gives the same lift whether the chunks hold
    1-2 poses or all of them (bodies, chairs and faces mirror-average: half as many poses per chunk)."""
    from lifter.api import LoadedLifter

    tiny = LoadedLifter(lifter.model, lifter.record, lifter.device, batch=2, bases=lifter.bases,
                        proportions=lifter.proportions)
    # whole chunks, each lifted in network passes of at most 2 poses (42 tokens)
    passes = LoadedLifter(lifter.model, lifter.record, lifter.device, bases=lifter.bases,
                          proportions=lifter.proportions, token_budget=42)
    assert passes.pass_size(21) == 2 and passes.pass_size(17) == 2 and passes.pass_size(468) == 1
    rng = np.random.default_rng(11)
    for category, n in (("human17", 17), ("hand21", 21), ("chair", 21), ("face468", 468)):
        pts = rng.normal(size=(5, n, 2)) * 60 + 300
        vis = rng.random((5, n)) > 0.25
        vis[:, :4] = True
        vis[0] = True
        whole = lifter.lift(pts, category, vis)
        np.testing.assert_allclose(tiny.lift(pts, category, vis), whole, atol=1e-3)
        np.testing.assert_allclose(passes.lift(pts, category, vis), whole, atol=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_lift_matches_cpu(lifter) -> None:
    """On a GPU the whole of lift() (network, mirror averaging, completion, the bone-length, symmetry and
    shape-basis refinements) runs on the device; it gives the CPU's lift up to float32 rounding in the network."""
    gpu = load_lifter(device="cuda")
    rng = np.random.default_rng(12)
    for category, n in (("human17", 17), ("hand21", 21), ("chair", 21), ("face468", 468)):
        pts = rng.normal(size=(64, n, 2)) * 60 + 300
        vis = rng.random((64, n)) > 0.2
        vis[:, :4] = True
        cpu_lift = lifter.lift(pts, category, vis)
        np.testing.assert_allclose(gpu.lift(pts, category, vis), cpu_lift, atol=1e-2 * np.abs(cpu_lift).max())


def test_lift_beats_a_flat_guess_on_real_shapes(lifter, hand_views) -> None:
    """Trained weights recover depth: better than zero depth on synthetic hands the model never saw."""
    pts, gt = hand_views.points2d, hand_views.points3d
    mask = np.ones(pts.shape[:2], dtype=bool)
    pred = lifter.lift(pts, "hand21")
    flat = np.concatenate([pred[..., :2], np.zeros(pred.shape[:2] + (1,), np.float32)], -1)
    err, err_flat = np.nanmean(aligned_errors(pred, gt, mask)), np.nanmean(aligned_errors(flat, gt, mask))
    assert err < 0.8 * err_flat, (err, err_flat)


def test_lift_on_real_human_poses(lifter, shared_data: Path, tmp_path: Path) -> None:
    from lifter.data.cmu import load_cmu_takes

    poses, _, _ = load_cmu_takes(shared_data / "cmu-mocap", ["08"], stride=40, progress=False)
    v = render_views(poses, None, np.random.default_rng(0))
    pred = lifter.lift(v.points2d, "human17")
    mask = np.ones(pred.shape[:2], dtype=bool)
    flat = pred * np.array([1, 1, 0], np.float32)
    assert np.nanmean(aligned_errors(pred, v.points3d, mask)) < np.nanmean(aligned_errors(flat, v.points3d, mask))


def test_mirror_average_is_exactly_mirror_equivariant(lifter) -> None:
    """Lifting a left/right mirrored image gives the mirrored lift (landmarks swapped, x negated), even with
    hidden landmarks; the plain lift is not equivariant, so the averaging does real work; x, y stay the input."""
    from lifter.skeletons import get_category

    rng = np.random.default_rng(3)
    pts = rng.normal(size=(6, 17, 2)) * np.array([40.0, 90.0]) + 300
    vis = rng.random((6, 17)) > 0.2
    perm = np.asarray(get_category("human17").mirror_permutation())
    mirrored_in = (pts * np.array([-1.0, 1.0]))[:, perm]
    out = lifter.lift(pts, "human17", vis)
    back = lifter.lift(mirrored_in, "human17", vis[:, perm])[:, perm] * np.array([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(back, out, atol=1e-3)
    plain = lifter.lift(pts, "human17", vis, mirror_average=False, complete_hidden=False, bone_lengths=False)
    plain_back = lifter.lift(mirrored_in, "human17", vis[:, perm], mirror_average=False,
                             complete_hidden=False, bone_lengths=False)[:, perm]
    assert np.abs(plain_back[..., 2] - plain[..., 2]).max() > 1.0          # pixels: the network alone differs
    one_pass = lifter.lift(pts, "human17", vis, complete_hidden=False,   # averaging alone, without completion
                           bone_lengths=False)                             # or the bone-length refinement
    np.testing.assert_allclose(one_pass, 0.5 * (plain + plain_back * np.array([-1.0, 1.0, 1.0])), atol=1e-3)
    centred = pts - (pts * vis[..., None]).sum(1, keepdims=True) / vis.sum(1)[:, None, None]
    np.testing.assert_allclose(out[..., :2][vis], centred[vis], atol=1e-2)
    # Hands have no mirror pairs (a mirrored right hand is a left hand): nothing to average.
    hand = rng.normal(size=(3, 21, 2)) * 50
    np.testing.assert_array_equal(lifter.lift(hand, "hand21"), lifter.lift(hand, "hand21", mirror_average=False))


def test_hidden_landmark_completion_is_a_second_lift_of_the_completed_2d(lifter, hand_views) -> None:
    """complete_hidden: the hidden landmarks keep the first pass's x, y; the depths are those of lifting the
    completed 2D with every landmark visible; visible x, y stay the centred input; frames with every landmark
    visible are untouched; and on unseen hands with 20 % hidden it is more accurate than one pass."""
    pts = hand_views.points2d.copy()
    vis = np.random.default_rng(9).random(pts.shape[:2]) > 0.2
    vis[0] = True                                                        # one frame fully visible
    pts[~vis] = np.nan
    out = lifter.lift(pts, "hand21", vis, bone_lengths=False)               # completion alone, without the
    first = lifter.lift(pts, "hand21", vis, complete_hidden=False, bone_lengths=False)   # bone-length step
    np.testing.assert_array_equal(out[0], first[0])
    np.testing.assert_allclose(out[..., :2][~vis], first[..., :2][~vis], atol=1e-3)
    centre = np.nansum(np.where(vis[..., None], pts, 0.0), 1, keepdims=True) / vis.sum(1)[:, None, None]
    np.testing.assert_allclose(out[..., :2][vis], (pts - centre)[vis], atol=1e-2)
    completed = np.where(vis[..., None], pts, first[..., :2] + centre)
    second = lifter.lift(completed, "hand21", bone_lengths=False)
    np.testing.assert_allclose(out[..., 2], second[..., 2], atol=1e-2)
    assert np.abs(out[..., 2] - first[..., 2])[1:].max() > 1.0            # the second pass changes depths
    mask = np.ones(vis.shape, dtype=bool)
    err = np.nanmean(aligned_errors(out, hand_views.points3d, mask))
    err_one_pass = np.nanmean(aligned_errors(first, hand_views.points3d, mask))
    assert err < err_one_pass, (err, err_one_pass)


def test_lift_with_camera_puts_landmarks_on_their_rays(lifter, hand_views) -> None:
    """lift_with_camera = lift() read through the pinhole: the perspective projection of its output is the input
    for visible landmarks, the reading is geometry.perspective_reading of lift() (then refined along the rays),
    and it is closer to the truth than the orthographic reading on the protocol's close cameras."""
    pts, focal, principal = hand_views.points2d[:200], hand_views.focal[:200], hand_views.principal[:200]
    vis = np.random.default_rng(5).random(pts.shape[:2]) > 0.2
    out = lifter.lift_with_camera(np.where(vis[..., None], pts, np.nan), "hand21", focal, principal, vis)
    assert out.shape == (200, 21, 3) and out.dtype == np.float32 and (out[..., 2] > 0).all()
    proj = project_perspective(out.astype(np.float64), focal, principal)
    np.testing.assert_allclose(proj[vis], pts[vis], atol=0.05)
    flat = lifter.lift(np.where(vis[..., None], pts, np.nan), "hand21", vis)
    centre = np.stack([pts[f][vis[f]].mean(0) for f in range(200)])
    # without the bone-length refinement (which moves the read points along their rays) it is the reading alone
    plain = lifter.lift_with_camera(np.where(vis[..., None], pts, np.nan), "hand21", focal, principal, vis,
                                    bone_lengths=False)
    flat_plain = lifter.lift(np.where(vis[..., None], pts, np.nan), "hand21", vis, bone_lengths=False)
    np.testing.assert_allclose(plain, perspective_reading(flat_plain, centre, vis, focal, principal), rtol=1e-4,
                               atol=1e-2)
    # read_with_camera reads a lift already made the same way, without running the network again
    shown = np.where(vis[..., None], pts, np.nan)
    np.testing.assert_array_equal(lifter.read_with_camera(flat, shown, "hand21", focal, principal, vis), out)
    np.testing.assert_array_equal(lifter.read_with_camera(flat[0], shown[0], "hand21", focal[0], principal[0],
                                                          vis[0]), out[0])
    with pytest.raises(ValueError, match="lift3d must be lift"):
        lifter.read_with_camera(flat[:, :20], shown, "hand21", focal, principal, vis)
    broken = flat.copy()
    broken[3, 5, 2] = np.nan
    with pytest.raises(ValueError, match="lift3d must be finite .* frame 3 is not"):
        lifter.read_with_camera(broken, shown, "hand21", focal, principal, vis)
    with pytest.raises(ValueError, match="focal_length must be a positive"):
        lifter.read_with_camera(flat, shown, "hand21", -1.0, principal, vis)
    gt, present = hand_views.points3d[:200], hand_views.present[:200]
    err_persp = np.nanmean(aligned_errors(out, gt, present))
    err_ortho = np.nanmean(aligned_errors(flat, gt, present))
    assert err_persp < err_ortho
    # One pose in, one pose out; one focal length for all frames.
    np.testing.assert_allclose(lifter.lift_with_camera(pts[0], "hand21", focal[0], principal[0]),
                               lifter.lift_with_camera(pts[:1], "hand21", focal[:1], principal[:1])[0], rtol=1e-5)


def test_lift_with_camera_guesses_missing_intrinsics_from_the_landmarks(lifter, hand_views) -> None:
    """Without intrinsics lift_with_camera reads through geometry.guessed_pinhole of every landmark where lift()
    puts it in the image, hidden ones at their predicted pixels (the camera lift()'s refinements assume); either
    half may be given; its projection through that camera is the input; and on the protocol's close cameras it is
    closer to the truth than lift()'s orthographic reading."""
    from lifter.geometry import guessed_pinhole, pinhole_of_reading, visible_centroid
    from lifter.symmetry import DEFAULT_SPAN_OVER_FOCAL

    pts = hand_views.points2d[:200]
    vis = np.random.default_rng(6).random(pts.shape[:2]) > 0.2
    vis[:20, 5:] = False                                   # a hand with four fingers out of view: the box grows
    shown = np.where(vis[..., None], pts, np.nan)
    flat = lifter.lift(shown, "hand21", vis)
    pixels = flat[..., :2] + visible_centroid(np.where(vis[..., None], pts, 0.0), vis)[:, None]
    point, kappa = guessed_pinhole(pixels, None, DEFAULT_SPAN_OVER_FOCAL)
    _, kappa_seen = guessed_pinhole(np.where(vis[..., None], pts, 0.0), vis, DEFAULT_SPAN_OVER_FOCAL)
    assert (kappa <= kappa_seen * (1 + 1e-6)).all()       # the whole hand is no smaller than its visible part
    assert (kappa[:20] < kappa_seen[:20]).mean() > 0.5     # and mostly larger with four fingers hidden
    # the guessed focal length, lengthened where the lift reaches closer to the camera than half of it (a lift
    # whose hidden landmarks stretch far in depth: here a hand with 4 of its 21 landmarks in view)
    depth = flat[..., 2].astype(np.float64)
    reach = visible_centroid(depth[..., None], vis)[:, 0] - depth.min(1)
    guessed = np.maximum(1 / kappa, GUESS_DEPTH_MARGIN * reach)
    assert (guessed > 1 / kappa).mean() < 0.05
    out = lifter.lift_with_camera(shown, "hand21", visible=vis)
    for focal, principal in ((guessed, point), (guessed, None), (None, point)):
        np.testing.assert_allclose(out, lifter.lift_with_camera(shown, "hand21", focal, principal, vis), rtol=1e-5,
                                   atol=1e-3)
    # a principal point given without a focal length is kept, not replaced by the guess (an off-centre subject)
    moved = point + np.array([150.0, -80.0])
    off = lifter.lift_with_camera(shown, "hand21", principal_point=moved, visible=vis)
    read_focal, read_principal = pinhole_of_reading(off.astype(np.float64), pts, vis)
    np.testing.assert_allclose(read_principal, moved, atol=0.05)
    np.testing.assert_allclose(read_focal, guessed, rtol=1e-3)
    np.testing.assert_allclose(project_perspective(out.astype(np.float64), guessed, point)[vis], pts[vis],
                               atol=0.05)
    np.testing.assert_array_equal(lifter.read_with_camera(flat, shown, "hand21", visible=vis), out)
    gt, present = hand_views.points3d[:200], hand_views.present[:200]
    assert np.nanmean(aligned_errors(out, gt, present)) < np.nanmean(aligned_errors(flat, gt, present))
    # nothing to guess a focal length from: landmarks that all coincide
    with pytest.raises(ValueError, match="no focal length can be guessed"), pytest.warns(UserWarning, match="flat"):
        lifter.lift_with_camera(np.zeros((21, 2)), "hand21")
    # ... unless it is given (a flat lift, said so)
    with pytest.warns(UserWarning, match="the pose's visible landmarks all lie at one pixel"):
        assert np.isfinite(lifter.lift_with_camera(np.zeros((21, 2)), "hand21", 1000.0)).all()
    # a lift deeper than the guessed focal length (100 px of depth behind a 10 px hand): the guess is lengthened
    # to twice the lift's reach towards the camera, so every landmark stays in front of it and on its pixel's ray
    small = np.random.default_rng(7).random((21, 2)) * 10 + 500
    deep = np.concatenate([small - small.mean(0), np.linspace(-100, 100, 21)[:, None]], 1)
    guessed = lifter.read_with_camera(deep, small, "hand21", bone_lengths=False)
    reach = 100.0                                          # mean depth 0, nearest landmark 100 px in front of it
    np.testing.assert_allclose(guessed[:, 2], 2 * reach + deep[:, 2], atol=1e-3)   # from 100 to 300 px deep
    np.testing.assert_allclose(lifter.read_with_camera(deep, small, "hand21", bone_lengths=False, symmetrize=False),
                               guessed, atol=1e-4)        # the guess itself lengthens it, symmetry step or not
    point_small, kappa_small = guessed_pinhole(small[None], None, DEFAULT_SPAN_OVER_FOCAL)
    assert 1 / kappa_small[0] < reach                      # the box alone would have put a landmark behind it
    np.testing.assert_allclose(project_perspective(guessed[None].astype(np.float64), np.array([2 * reach]),
                                                   point_small)[0], small, atol=1e-3)
    with pytest.raises(ValueError, match="shorter than the lifted depth range"):    # a given focal length is kept
        lifter.read_with_camera(deep, small, "hand21", 1 / kappa_small[0], bone_lengths=False)
    # three of a face's 468 landmarks in view: the focal length is guessed from the whole lifted face, not from
    # the three (whose box, a fraction of the face, gave a focal length shorter than the face's depth range)
    face = np.random.default_rng(0).normal(size=(468, 2)) * 100
    three = np.arange(468) < 3
    assert np.isfinite(lifter.lift_with_camera(face, "face468", visible=three)).all()


@pytest.mark.parametrize("focal, principal, message", [
    (0.0, (500.0, 500.0), "focal_length must be a positive"),
    (np.nan, (500.0, 500.0), "focal_length must be a positive"),
    ((1000.0, 1000.0), (500.0, 500.0), "focal_length must be a positive"),      # two focal lengths, three frames
    (1000.0, (500.0,), "principal_point must be finite"),
    (1000.0, (np.inf, 500.0), "principal_point must be finite"),
    (0.5, (500.0, 500.0), "shorter than the lifted depth range"),
])
def test_lift_with_camera_rejects_bad_intrinsics(lifter, hand_views, focal, principal, message) -> None:
    with pytest.raises(ValueError, match=message):
        lifter.lift_with_camera(hand_views.points2d[:3], "hand21", focal, principal)


@pytest.mark.parametrize("args,message", [
    ((np.zeros((17, 2)), "cat"), "unknown category 'cat'"),
    ((np.zeros((16, 2)), "human17"), "human17 has 17 landmarks, got 16"),
    ((np.zeros((4, 17, 3)), "human17"), r"must be \(F, N, 2\)"),
    ((np.full((17, 2), np.nan), "human17"), "non-finite 2D coordinates at visible landmark 0"),
])
def test_bad_inputs_raise_clear_errors(lifter, args, message) -> None:
    with pytest.raises(ValueError, match=message):
        lifter.lift(*args)


def test_too_few_visible_and_bad_visibility(lifter) -> None:
    pts = np.random.default_rng(0).normal(size=(2, 17, 2)) * 100
    vis = np.zeros((2, 17), dtype=bool)
    vis[:, :2] = True
    with pytest.raises(ValueError, match="at least 3 visible landmarks"):
        lifter.lift(pts, "human17", vis)
    with pytest.raises(ValueError, match="visible must have shape"):
        lifter.lift(pts, "human17", np.ones((3, 17), dtype=bool))
    with pytest.raises(ValueError, match="visible must be bool"):              # confidence scores, not a mask
        lifter.lift(pts, "human17", np.full((2, 17), 0.9))
    with pytest.raises(ValueError, match="real numbers"):
        lifter.lift(pts.astype(complex), "human17")
    with pytest.raises(ValueError, match="real numbers"):
        lifter.lift(np.full((17, 2), "one"), "human17")
    missing = pts[0].tolist()
    missing[0] = [None, None]                                                   # a missing landmark as None
    np.testing.assert_array_equal(lifter.lift(missing, "human17", np.arange(17) > 0),
                                  lifter.lift(pts[0], "human17", np.arange(17) > 0))


@pytest.mark.filterwarnings("ignore:.*all lie at one pixel")
def test_one_pose_errors_are_said_of_the_pose_and_a_batch_names_its_frame(lifter) -> None:
    """A pose given as ``(N, 2)`` is lifted as frame 0 of a batch; its errors say "the pose", not "frame 0",
    while a batch's name the frame at fault."""
    pts = np.random.default_rng(0).normal(size=(3, 17, 2)) * 50 + 300
    two = np.arange(17) < 2
    cases = [  # (call on one pose, its message, call on a batch whose frame 1 is at fault, its message)
        (lambda: lifter.lift(pts[1], "human17", two), "at least 3 visible landmarks are needed; the pose has 2",
         lambda: lifter.lift(pts, "human17", np.stack([~two, two, ~two])), "frame 1 has 2"),
        (lambda: lifter.lift(np.where(np.arange(17)[:, None] == 3, np.nan, pts[1]), "human17"),
         "non-finite 2D coordinates at visible landmark 3; mark it",
         lambda: lifter.lift(np.where((np.arange(3) == 1)[:, None, None] & (np.arange(17) == 3)[:, None], np.nan,
                                      pts), "human17"), "visible landmark 3 (frame 1)"),
        (lambda: lifter.lift_with_camera(np.full((17, 2), 5.0), "human17"),
         "the pose's landmarks all coincide: no focal length",
         lambda: lifter.lift_with_camera(np.where((np.arange(3) == 1)[:, None, None], 5.0, pts), "human17"),
         "frame 1's landmarks all coincide"),
        (lambda: lifter.lift_with_camera(pts[1], "human17", 1.0, (300.0, 300.0)),
         "shorter than the lifted depth range of the pose (",
         lambda: lifter.lift_with_camera(pts, "human17", np.array([1e4, 1.0, 1e4]), (300.0, 300.0)),
         "shorter than the lifted depth range of frame 1 ("),
        (lambda: lifter.lift_with_camera(pts[1], "human17", -1.0, (300.0, 300.0)),
         "focal_length must be a positive finite number of pixels, got -1.0",
         lambda: lifter.lift_with_camera(pts, "human17", -1.0, (300.0, 300.0)), "(or one per frame, (3,))"),
        (lambda: lifter.read_with_camera(np.full((17, 3), np.nan), pts[1], "human17"),
         "lift3d must be finite (lift()'s output for points2d); the pose is not",
         lambda: lifter.read_with_camera(np.where((np.arange(3) == 1)[:, None, None], np.nan, np.zeros((3, 17, 3))),
                                         pts, "human17"), "frame 1 is not"),
    ]
    for one, one_message, batch, batch_message in cases:
        with pytest.raises(ValueError) as one_error:
            one()
        assert one_message in one_error.value.args[0], one_error.value.args[0]
        assert "frame" not in one_error.value.args[0]
        with pytest.raises(ValueError) as batch_error:
            batch()
        assert batch_message in batch_error.value.args[0]


def test_one_visibility_mask_serves_every_frame(lifter) -> None:
    """``visible (N,)`` with ``(F, N, 2)`` points is that mask for each frame; 0 / 1 numbers are bools."""
    pts = np.random.default_rng(0).normal(size=(3, 17, 2)) * 100
    mask = np.arange(17) % 4 != 1
    expected = lifter.lift(pts, "human17", np.repeat(mask[None], 3, 0))
    np.testing.assert_array_equal(lifter.lift(pts, "human17", mask), expected)
    np.testing.assert_array_equal(lifter.lift(pts, "human17", mask.astype(np.int64)), expected)
    np.testing.assert_array_equal(lifter.lift(pts[0], "human17", mask.astype(np.float32)), expected[0])


def test_corrupted_or_missing_bundled_weights(tmp_path: Path) -> None:
    copy = tmp_path / "lifter.safetensors"
    shutil.copy(DEFAULT_WEIGHTS, copy)
    shutil.copy(record_path(DEFAULT_WEIGHTS), record_path(copy))
    assert load_lifter(copy, device="cpu").categories
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=r"lifter.safetensors is corrupted: SHA-256"):
        load_lifter(copy)
    record_path(copy).unlink()
    with pytest.raises(WeightsError, match=r"lifter.json is missing, the record that goes with lifter.safetensors"):
        load_lifter(copy)
    run = tmp_path / "run"                                  # a training run's folder, as train --init takes it
    run.mkdir()
    (run / "checkpoint.json").write_text("{}")
    with pytest.raises(WeightsError, match=r"run is a training run folder, not lifter weights: export its weights "
                                           r"with `python -m lifter.export --run"):
        load_lifter(run)
    poses = tmp_path / "poses.npz"                          # another file, with an unrelated .json beside it
    poses.write_bytes(b"")
    (tmp_path / "poses.json").write_text("{}")
    with pytest.raises(WeightsError, match=r"poses.npz is not lifter weights: they are a .safetensors file"):
        load_lifter(poses)


def test_far_from_the_origin_and_at_any_scale_the_lift_is_the_same(lifter, hand_views) -> None:
    """Any translation and scale of the input (DESIGN.md): the pixels are centred and scaled in float64 before the
    network's float32, so an offset of 10^7 px, or coordinates in units of 10^-6 or 10^17, lift alike (float32
    pixels had lost up to 2.8 px of depth at 10^7 and gave NaN at 10^17)."""
    pts = hand_views.points2d[:8].astype(np.float64)
    vis = np.random.default_rng(2).random(pts.shape[:2]) > 0.2
    base = lifter.lift(pts, "hand21", vis)
    for offset, scale in ((1e7, 1.0), (-3e6, 1.0), (0.0, 1e-6), (0.0, 1e17), (5e5, 1e3)):
        moved = lifter.lift(pts * scale + offset, "hand21", vis)
        assert np.isfinite(moved).all()
        np.testing.assert_allclose(moved / scale, base, atol=2e-3, err_msg=f"offset {offset}, scale {scale}")


def test_any_boolean_mask_is_taken(lifter, hand_views) -> None:
    """A reversed (negative-stride) or broadcast mask is a mask like any other (torch takes neither as it is)."""
    pts = hand_views.points2d[:6]
    vis = np.random.default_rng(4).random(pts.shape[:2]) > 0.3
    reversed_mask = vis[::-1, ::-1]
    np.testing.assert_array_equal(lifter.lift(pts, "hand21", reversed_mask),
                                  lifter.lift(pts, "hand21", reversed_mask.copy()))
    one = np.broadcast_to(vis[0], vis.shape)
    np.testing.assert_array_equal(lifter.lift(pts, "hand21", one), lifter.lift(pts, "hand21", one.copy()))


def test_a_guessed_camera_stays_in_front_of_a_symmetrised_face(lifter) -> None:
    """The guess's margin (GUESS_DEPTH_MARGIN x the lift's reach towards the camera) also covers the symmetry
    refinement's hidden landmarks (their partners' reflections), which can reach further: random points with half
    the landmarks hidden were refused as "focal length shorter than the lifted depth range" with no focal given."""
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 1000, (6, 468, 2))
    vis = rng.random((6, 468)) < 0.5
    out = lifter.lift_with_camera(pts, "face468", visible=vis)
    assert np.isfinite(out).all() and (out[..., 2] > 0).all()
    single = lifter.lift(pts[0], "face468", vis[0])
    with pytest.raises(ValueError, match=r"shape \(468, 3\), got \(1, 468, 3\)"):   # as points2d is given
        lifter.read_with_camera(single[None], pts[0], "face468", visible=vis[0])
