"""``scripts/segment_sign_check.py``: the arms' sign choices keep the 2D and the bones, a flipped forearm is counted
and undone by the oracle, and the command runs on body test files the tests write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_files import load_script, write_test_files
from lifter import load_lifter
from lifter.bone_lengths import category_edges, edge_lengths
from lifter.evaluate import score
from lifter.skeletons import get_category
from lifter.views import TestSet, load_test_set


def bodies(count: int, seed: int) -> np.ndarray:
    """``(count, 17, 3)`` stick bodies in millimetres (y up): a fixed trunk and legs, arms at random angles, each
    forearm's direction with a depth component of at least half its length (steep)."""
    rng = np.random.default_rng(seed)
    base = np.array([[0, 900, 0], [-100, 900, 0], [-110, 480, 30], [-120, 60, 0], [100, 900, 0], [110, 480, 30],
                     [120, 60, 0], [0, 1150, 0], [0, 1400, 0], [0, 1500, 20], [0, 1650, 0], [180, 1400, 0], [0, 0, 0],
                     [0, 0, 0], [-180, 1400, 0], [0, 0, 0], [0, 0, 0]], dtype=np.float64)
    out = np.repeat(base[None], count, 0)
    for b in range(count):
        for s, e, w, side in ((11, 12, 13, 1), (14, 15, 16, -1)):
            upper = np.array([side * 0.7, -0.7, rng.uniform(-0.3, 0.3)])
            out[b, e] = out[b, s] + 280 * upper / np.linalg.norm(upper)
            fore = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), rng.choice([-1, 1]) * rng.uniform(0.6, 1)])
            out[b, w] = out[b, e] + 250 * fore / np.linalg.norm(fore)
    return out


def as_test(points3d: np.ndarray) -> TestSet:
    F, N, _ = points3d.shape
    every = np.ones((F, N), bool)
    return TestSet("human17", "clean", points3d[..., :2].copy(), every, every, points3d)


def test_arm_choices_keep_the_2d_and_every_bone() -> None:
    ssc = load_script("segment_sign_check")
    truth = bodies(5, 0)
    edges = category_edges("human17")
    for arm in ssc.ARMS:
        choices = ssc.arm_choices(truth, arm)
        assert choices.shape == (4,) + truth.shape
        np.testing.assert_array_equal(choices[0], truth)
        np.testing.assert_allclose(choices[..., :2], np.broadcast_to(truth[..., :2], choices[..., :2].shape))
        for c in choices:
            np.testing.assert_allclose(edge_lengths(c, edges), edge_lengths(truth, edges), rtol=1e-9)
        s, e, w = arm
        # negating a segment's depth difference twice gives it back; the upper arm's moves the hand with the elbow
        np.testing.assert_allclose(ssc.arm_choices(choices[1], arm)[1], truth)
        np.testing.assert_allclose(choices[2][:, w, 2] - truth[:, w, 2], choices[2][:, e, 2] - truth[:, e, 2])
        np.testing.assert_allclose(choices[1][:, e, 2] - choices[1][:, w, 2], truth[:, w, 2] - truth[:, e, 2])
        others = [k for k in range(17) if k not in (e, w)]
        np.testing.assert_array_equal(choices[3][:, others], truth[:, others])


def test_a_flipped_forearm_is_counted_and_the_oracle_undoes_it() -> None:
    ssc = load_script("segment_sign_check")
    truth = bodies(4, 1)
    test = as_test(truth)
    left = ssc.ARMS[0]
    lift = truth.copy()
    lift[0] = ssc.arm_choices(truth, left)[1][0]                             # view 0: the left forearm flipped
    rows, summary = ssc.sign_table(lift, test, category_edges("human17"))
    wrong = {(a, b): w for a, b, _, w in rows}
    assert wrong[(12, 13)] == pytest.approx(1 / 4)                           # steep in every view, wrong in one
    assert all(w == 0 for k, w in wrong.items() if k != (12, 13))
    assert summary["views_wrong"] == pytest.approx(1 / 4) and summary["error_rest"] == pytest.approx(0, abs=1e-9)
    assert summary["error_wrong"] > 10
    keep = {"keep every sign": lambda c, arm: np.r_[np.zeros((1, c.shape[1])), np.ones((3, c.shape[1]))]}
    table = {name: (err, agree) for name, err, agree in ssc.choice_rows(lift, test, keep)}
    assert table["lift() as is"][0] == pytest.approx(score(lift, test)["strict"])
    assert table["oracle"][0] == pytest.approx(0, abs=1e-9) and table["oracle"][1] == 1.0
    assert table["keep every sign"] == (table["lift() as is"][0], 0.0)      # misses the one arm that matters


def test_shared_wrong_counts_the_signs_two_lifts_get_wrong() -> None:
    ssc = load_script("segment_sign_check")
    truth = bodies(4, 1)
    test = as_test(truth)
    left, right = ssc.ARMS
    a, b = truth.copy(), truth.copy()
    a[:2] = ssc.arm_choices(truth, left)[1][:2]                 # views 0 and 1: the left forearm flipped
    b[1:3] = ssc.arm_choices(truth, left)[1][1:3]               # views 1 and 2
    b[3] = ssc.arm_choices(truth, right)[1][3]                  # view 3: the right forearm
    edges = category_edges("human17")
    steep = ssc.wrong_signs(truth, test, edges)[1].sum()        # every forearm is steep in every view
    s = ssc.shared_wrong(a, b, test, edges)
    assert s["wrong"] == pytest.approx(2 / steep) and s["other_wrong"] == pytest.approx(3 / steep)
    assert s["shared"] == pytest.approx(1 / 2)                  # view 1 is wrong in both
    assert s["disagree"] == pytest.approx(3 / steep)            # views 0, 2 and 3 differ
    assert s["lift_wrong_where_they_disagree"] == pytest.approx(1 / 3)
    same = ssc.shared_wrong(a, a, test, edges)
    assert same["shared"] == 1.0 and same["disagree"] == 0.0 and same["lift_wrong_where_they_disagree"] is None
    assert ssc.shared_wrong(truth, a, test, edges)["shared"] is None


def test_the_command_runs_on_body_test_files(tmp_path: Path, capsys) -> None:
    ssc = load_script("segment_sign_check")
    shapes = bodies(6, 2).astype(np.float32)
    write_test_files(tmp_path, "human17", shapes, np.ones((6, 17), bool), seed=3)
    command = ["--data", str(tmp_path), "--views", "clean", "--flow-steps", "0", "--cycle-angles", "45"]
    with pytest.raises(SystemExit, match="human17_train.npz is missing; --prior-views 0 skips"):
        ssc.main(command)                                                       # the own-arms rule needs training 2D
    capsys.readouterr()
    from lifter.api import DEFAULT_WEIGHTS

    assert ssc.main(command + ["--prior-views", "0", "--against", str(DEFAULT_WEIGHTS)]) == 0
    out = capsys.readouterr().out
    test = load_test_set(tmp_path, "human17", "clean")
    lifter = load_lifter(device="cpu")
    lift = lifter.lift(test.points2d, "human17", test.visible)
    # against itself: every wrong sign shared, no disagreement, and the mean of the two lifts is the lift
    against = next(line for line in out.splitlines() if line.startswith(f"against {DEFAULT_WEIGHTS}:"))
    assert "the two differ on 0.00 % of the steep segments" in against
    assert against.endswith(f"the two lifts' mean: strict {score(lift, test)['strict']:.2f} mm")
    assert f"| lift() as is | {score(lift, test)['strict']:.2f} mm |" in out
    assert "| oracle |" in out and "| cycle consistency |" in out and "likelihood" not in out and "own" not in out
    assert "| legs' depth signs chosen by |" in out and "| knee hinge |" in out
    assert "| arms' and legs' depth signs chosen by |" in out
    assert "| l_elbow–l_wrist |" in out
    # each segment's row also holds its wrong-sign share before lift()'s bone-length step
    rows = ssc.sign_table(lift, test, category_edges("human17"))[0]
    plain_lift = lifter.lift(test.points2d, "human17", test.visible, bone_lengths=False)
    plain = ssc.sign_table(plain_lift, test, category_edges("human17"))[0]
    (a, b, st, wr), before = rows[-1], plain[-1][3]
    names = get_category("human17").landmarks
    kept = score(ssc.keep_step_signs(lift, plain_lift, test.visible, ssc.tree_edges(category_edges("human17")),
                                     [(a, b)]), test)["strict"]
    assert (f"| {names[a]}–{names[b]} | {100 * st:.1f} % | {100 * wr:.2f} % | {100 * before:.2f} % | {kept:.2f} mm |"
            in out)
    assert f"{score(plain_lift, test)['strict']:.2f} without the bone-length step" in out


def test_tree_edges_span_the_skeleton_parents_first() -> None:
    ssc = load_script("segment_sign_check")
    body = category_edges("human17")
    assert sorted(ssc.tree_edges(body)) == sorted(tuple(e) for e in body.tolist())   # already a tree
    hand = ssc.tree_edges(category_edges("hand21"))
    assert len(hand) == 20 and sorted(b for _, b in hand) == list(range(1, 21))
    assert (5, 9) not in hand and (0, 9) in hand                              # the palm's knuckle edges are left out
    reached = {0}
    for a, b in hand:                                                         # every parent reached before its child
        assert a in reached
        reached.add(b)
    # an edge listed child first is turned round; the subtree below a landmark follows the tree
    assert ssc.tree_edges(np.array([[1, 0], [1, 2]])) == [(0, 1), (1, 2)]
    assert sorted(ssc.subtree(ssc.tree_edges(body), 8)) == [8, 9, 10, 11, 12, 13, 14, 15, 16]


def test_keep_step_signs_gives_back_the_signs_from_before() -> None:
    ssc = load_script("segment_sign_check")
    truth = bodies(5, 5)
    tree = ssc.tree_edges(category_edges("human17"))
    # a "step" that flipped the left forearm in every view and the thorax-neck segment (head with it) in view 0
    after = ssc.arm_choices(truth, ssc.ARMS[0])[1]
    after[0, [9, 10], 2] -= 2 * (truth[0, 9, 2] - truth[0, 8, 2])
    visible = np.ones(truth.shape[:2], bool)
    np.testing.assert_allclose(ssc.keep_step_signs(after, truth, visible, tree, tree), truth, atol=1e-9)
    # one segment at a time: only that one is given back
    only_neck = ssc.keep_step_signs(after, truth, visible, tree, [(8, 9)])
    np.testing.assert_allclose(only_neck[:, [9, 10]], truth[:, [9, 10]], atol=1e-9)
    np.testing.assert_array_equal(only_neck[:, 13], after[:, 13])
    # a segment with an end not visible keeps the step's sign; x, y and the bone lengths never change
    visible[1, 13] = False
    kept = ssc.keep_step_signs(after, truth, visible, tree, tree)
    np.testing.assert_array_equal(kept[1, 13], after[1, 13])
    np.testing.assert_allclose(kept[2:], truth[2:], atol=1e-9)
    np.testing.assert_array_equal(kept[..., :2], after[..., :2])
    np.testing.assert_allclose(edge_lengths(kept, category_edges("human17")),
                               edge_lengths(truth, category_edges("human17")), rtol=1e-9)


def test_the_own_arms_rule_prefers_the_choice_its_bank_holds() -> None:
    ssc = load_script("segment_sign_check")
    truth = bodies(6, 4)
    left, right = ssc.ARMS
    # the torso frame of an upright body facing the camera: across = +x (to the left shoulder), up = +y, z = x × y
    np.testing.assert_allclose(ssc.torso_frame(truth)[0], np.eye(3), atol=1e-12)
    # the right arm is mirrored onto the left: a body and its x-mirror image (arms swapped) give the same directions
    mirrored = truth.copy()
    mirrored[..., 0] *= -1
    mirrored[:, [11, 12, 13, 14, 15, 16]] = mirrored[:, [14, 15, 16, 11, 12, 13]]
    np.testing.assert_allclose(ssc.arm_directions(mirrored, right), ssc.arm_directions(truth, left), atol=1e-12)
    # a bank of the true arms: the kept choice sits on it (zero cost), a flipped forearm does not
    bank = np.concatenate([ssc.arm_directions(truth, left), ssc.arm_directions(truth, right)])
    lift = ssc.arm_choices(truth, left)[1]                                      # every left forearm flipped
    costs = ssc.prior_costs(bank, ssc.arm_choices(lift, left), left, neighbours=1)
    assert costs.shape == (4, 6)
    np.testing.assert_array_equal(costs.argmin(0), np.ones(6, int))             # the choice that flips it back
    np.testing.assert_allclose(costs[1], 0, atol=1e-7)
    # own_arms keeps only arms whose segments are not steep in the lift: these forearms are all steep
    assert len(ssc.own_arms(truth)) == 0
    flat = truth.copy()
    flat[..., 2] = 0
    assert len(ssc.own_arms(flat)) == 12


def test_the_knee_hinge_bends_knees_backwards_only() -> None:
    ssc = load_script("segment_sign_check")
    truth = bodies(4, 6)
    truth[..., 1] *= -1                          # y down, as the lifts: the body faces the camera (its left at +x)
    truth[:, [2, 5], 2] = -100                   # both knees bent towards the camera, as a knee bends
    for leg in ssc.LEGS:
        assert (ssc.knee_flexion(truth, leg) > 0.2).all()
        np.testing.assert_array_equal(ssc.hinge_costs(ssc.arm_choices(truth, leg), leg).argmin(0), np.zeros(4, int))
    left = ssc.LEGS[0]
    hyper = truth.copy()
    hyper[:, left[1], 2] = 100                   # the left knee bent backwards: hyperextended
    assert (ssc.knee_flexion(hyper, left) < -0.2).all() and (ssc.knee_flexion(hyper, ssc.LEGS[1]) > 0.2).all()
    choices = ssc.arm_choices(hyper, left)
    # the shin's sign flipped leaves the leg straight (within the margin): the first choice the rule may take
    np.testing.assert_allclose(ssc.knee_flexion(choices[1], left), 0, atol=1e-12)
    np.testing.assert_array_equal(ssc.hinge_costs(choices, left).argmin(0), np.ones(4, int))
    # a margin wider than the hyperextension keeps the lift's own choice
    np.testing.assert_array_equal(ssc.hinge_costs(choices, left, margin=1.0).argmin(0), np.zeros(4, int))
