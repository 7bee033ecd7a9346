"""Where a lift's error lives: limb segments whose depth sign the lift gets wrong, and whether a test-time choice of
the limbs' signs could fix them. docs/benchmark.md's paragraph on the bodies' remaining error quotes these figures.

Under a 2D view a segment of known length fixes how far apart its two ends are in depth, not which end is nearer
(Taylor, 2000): a lift can put a forearm pointing towards the camera where the truth points away, at the same 2D
and the same bone length. For every skeleton edge this prints, on the checked views, how often the true segment
is *steep* (its ends' depth difference over a share ``--steep`` of its length: 0.3 by default, where the sign
matters) and how often the lift's depth difference then has the other sign, and the strict error of the views with
such a segment against the others (ground truth read to measure only). For bodies and hands each segment's row also
holds its wrong-sign share before ``lift()``'s bone-length step, and the strict error with the step's result but that
segment's depth sign from before the step (:func:`keep_step_signs`: what the step's sign changes on it cost or
gain); a line after the table gives the strict error without the step, and with it but every segment's sign from
before it (over a spanning tree of the skeleton: :func:`tree_edges`).

With ``--against WEIGHTS ...`` it also lifts the views with each other lifter and prints how their wrong depth signs
overlap with this lift's (:func:`shared_wrong`): whether another draw of the recipe, or the 3D-supervised twin, gets
the same segments wrong, and what the mean of the two lifts reads.

For ``human17`` it then tries the arms: each arm's four sign choices (the upper arm's and the forearm's depth
differences kept or negated, the hand following the elbow; x, y and bone lengths unchanged), the left arm then the
right (on the lift with the left arm's choice), chosen per view by

- *oracle*: the choice nearest the ground truth (a bound on what choosing signs can gain, not a method);
- *cycle consistency*: the choice that the lifter re-lifts most consistently when the choice is turned by
  ``--cycle-angles`` about the image's vertical and projected (mean squared depth difference after centring);
- *2D pose likelihood*: the choice whose novel views a normalising flow fitted to the training 2D
  (:mod:`lifter.flow`, ``--flow-steps``) finds most likely, the views turned about the *true* vertical from the
  protocol's elevations (``scripts/view_likelihood.py``'s ``upright_views``: an oracle vertical, the most a 2D
  prior could be given);
- *the lifter's own arms*: the choice whose arm, in the lifted torso's frame, lies nearest (mean distance to its
  ``--prior-neighbours`` nearest) the arms of the lifter's lifts of ``--prior-views`` training views (2D only) in
  which neither of the arm's segments is steep, so that their depth sign hardly matters (the right arms mirrored
  onto the left).

Then the legs the same way (hip, knee, ankle; the left leg then the right), chosen by the *oracle* and by the
*knee hinge*: a knee bends backwards only (:func:`knee_flexion`: the sine of its bend about the hips' axis, positive
as a knee bends; never below 0 in the CMU data's true poses), so where the lift's knee bends forwards by more than
``--knee-margin`` the first choice (the shin's sign flipped, then the thigh's, then both) whose knee does not is
taken, and the lift's own choice everywhere else. Last, the oracle choosing the arms and legs together bounds what the
limbs' signs could gain.

Usage:

    PYTHONPATH=. python scripts/segment_sign_check.py --data data [--views train|clean|occluded] [--count 1000]
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lifter.api import load_lifter  # noqa: E402
from lifter.bone_lengths import category_edges  # noqa: E402
from lifter.evaluate import aligned_errors, score  # noqa: E402
from lifter.geometry import rotation_y  # noqa: E402
from lifter.skeletons import get_category  # noqa: E402
from lifter.views import TestSet, check_parser, check_view_options, checked_views, training_indices  # noqa: E402

#: ``human17``'s arms: (shoulder, elbow, wrist), left then right.
ARMS = ((11, 12, 13), (14, 15, 16))
#: ``human17``'s legs: (hip, knee, ankle), left then right.
LEGS = ((4, 5, 6), (1, 2, 3))
#: ``human17``'s right and left hip, whose difference is the hips' axis.
HIPS = (1, 4)
DEFAULT_KNEE_MARGIN = 0.1
DEFAULT_STEEP = 0.3
#: A view where the oracle's choice gains more than this (the category's units) counts as one a choice must get.
GAIN = 5.0


def wrong_signs(lift: np.ndarray, test: TestSet, edges: np.ndarray, steep: float = DEFAULT_STEEP
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(counted, steep, wrong)``, each ``(F, P)`` bool over the views and the edges ``(P, 2)``: both ends present;
    the true segment steep (its ends' depth difference over ``steep`` of its length); steep and the lift's depth
    difference of the other sign."""
    truth, pred = test.points3d, np.asarray(lift, dtype=np.float64)
    i, j = edges[:, 0], edges[:, 1]
    dz_true, dz_pred = truth[:, i, 2] - truth[:, j, 2], pred[:, i, 2] - pred[:, j, 2]
    length = np.linalg.norm(truth[:, i] - truth[:, j], axis=-1)
    counted = test.present[:, i] & test.present[:, j]
    is_steep = counted & (np.abs(np.nan_to_num(dz_true)) > steep * np.nan_to_num(length))
    return counted, is_steep, is_steep & (np.sign(dz_pred) != np.sign(np.nan_to_num(dz_true)))


def shared_wrong(lift: np.ndarray, other: np.ndarray, test: TestSet, edges: np.ndarray, steep: float = DEFAULT_STEEP
                 ) -> dict:
    """How two lifts ``(F, N, 3)`` of the same views share their wrong depth signs: ``wrong`` and ``other_wrong``
    (each lift's wrong share of the steep segments), ``shared`` (the share of ``lift``'s wrong steep segments that
    ``other`` gets wrong too; None where ``lift`` has none), ``disagree`` (the share of steep segments whose sign the
    two lifts differ on) and ``lift_wrong_where_they_disagree`` (``lift``'s share of the wrong ones there: one of the
    two always is; None where they never differ)."""
    _, is_steep, a = wrong_signs(lift, test, edges, steep)
    b = wrong_signs(other, test, edges, steep)[2]
    steep_count, differ = max(int(is_steep.sum()), 1), a ^ b
    return {"wrong": float(a.sum() / steep_count), "other_wrong": float(b.sum() / steep_count),
            "shared": float((a & b).sum() / a.sum()) if a.any() else None,
            "disagree": float(differ.sum() / steep_count),
            "lift_wrong_where_they_disagree": float((a & differ).sum() / differ.sum()) if differ.any() else None}


def sign_table(lift: np.ndarray, test: TestSet, edges: np.ndarray, steep: float = DEFAULT_STEEP
               ) -> tuple[list[tuple[int, int, float, float]], dict]:
    """Per edge of ``edges (P, 2)``: ``(i, j, steep share, wrong share of the steep)``, and a summary: ``steep``
    and ``wrong`` over every edge, ``views_wrong`` (share of views with a wrong steep segment), ``error_wrong`` and
    ``error_rest`` (their strict error and the others', in the category's units; None where no view is such).
    Edges with an end not present in a view do not count there."""
    truth, pred = test.points3d, np.asarray(lift, dtype=np.float64)
    counted, is_steep, wrong = wrong_signs(pred, test, edges, steep)
    rows = [(int(a), int(b), float(is_steep[:, k].sum() / max(counted[:, k].sum(), 1)),
             float(wrong[:, k].sum() / max(is_steep[:, k].sum(), 1))) for k, (a, b) in enumerate(edges)]
    per_view = np.nanmean(aligned_errors(pred, truth, test.present), 1)
    any_wrong = wrong.any(1)
    summary = {"steep": float(is_steep.sum() / max(counted.sum(), 1)),
               "wrong": float(wrong.sum() / max(is_steep.sum(), 1)), "views_wrong": float(any_wrong.mean()),
               "error_wrong": float(per_view[any_wrong].mean()) if any_wrong.any() else None,
               "error_rest": float(per_view[~any_wrong].mean()) if (~any_wrong).any() else None}
    return rows, summary


def mirror_segment(points: np.ndarray, parent: int, below: list[int], rows: np.ndarray | None = None) -> None:
    """Negate, in place, the depth difference of the segment from ``parent`` to ``below[0]`` in ``points (F, N, 3)``
    (in the frames ``rows (F,)`` bool; None: every frame): ``below[0]``'s depth mirrored about ``parent``'s, the
    landmarks of ``below`` (the segment's end and those beyond it) moved with it. x, y are kept, and so is every
    segment's length whose two ends both move or both stay."""
    rows = np.ones(len(points), bool) if rows is None else rows
    dz = points[rows, below[0], 2] - points[rows, parent, 2]
    points[np.ix_(rows, below, [2])] -= 2 * dz[:, None, None]


def arm_choices(lift: np.ndarray, arm: tuple[int, int, int]) -> np.ndarray:
    """The four sign choices of one arm of ``lift (F, N, 3)``: ``(4, F, N, 3)``, in the order (kept, kept), (kept,
    forearm negated), (upper arm negated, kept), (both negated). Negating the upper arm's depth difference moves
    the elbow to the shoulder's depth mirrored and the wrist with it; negating the forearm's mirrors the wrist
    about the elbow's depth. x, y and every segment's length stay as they are."""
    s, e, w = arm
    out = []
    for upper in (False, True):
        for fore in (False, True):
            h = np.array(lift, dtype=np.float64)
            if upper:
                mirror_segment(h, s, [e, w])
            if fore:
                mirror_segment(h, e, [w])
            out.append(h)
    return np.stack(out)


def apply_choice(lift: np.ndarray, choices: np.ndarray, pick: np.ndarray, arm: tuple[int, int, int]) -> np.ndarray:
    """``lift (F, N, 3)`` with each view's elbow and wrist depths taken from ``choices[pick[f], f]`` (``choices``
    from :func:`arm_choices`, ``pick (F,)`` indices)."""
    out = np.array(lift, dtype=np.float64)
    rows = np.arange(len(out))
    for k in arm[1:]:
        out[:, k, 2] = choices[pick, rows, k, 2]
    return out


def tree_edges(edges: np.ndarray, root: int = 0) -> list[tuple[int, int]]:
    """The skeleton ``edges (P, 2)`` that a breadth-first walk from ``root`` takes, each as ``(parent, child)``,
    parents before children: a spanning tree (``hand21``'s palm edges across the knuckles are left out)."""
    order, seen, out = [root], {root}, []
    for j in order:
        for a, b in edges.tolist():
            child = b if a == j else a if b == j else None
            if child is not None and child not in seen:
                seen.add(child)
                order.append(child)
                out.append((j, child))
    return out


def subtree(tree: list[tuple[int, int]], root: int) -> list[int]:
    """``root`` and every landmark below it in ``tree`` (:func:`tree_edges`)."""
    out, todo = [], [root]
    while todo:
        j = todo.pop()
        out.append(j)
        todo += [b for a, b in tree if a == j]
    return out


def keep_step_signs(after: np.ndarray, before: np.ndarray, visible: np.ndarray, tree: list[tuple[int, int]],
                    segments: list[tuple[int, int]]) -> np.ndarray:
    """``after (F, N, 3)`` (a lift after ``lift()``'s bone-length step) with each of ``segments``' depth
    difference given the sign it had in ``before`` (the same lift without the step), where the step changed it and
    both ends are ``visible (F, N)``: the child end's depth mirrored about the parent's, the landmarks below it in
    ``tree`` (:func:`tree_edges`) moved with it. x, y are kept, and so is every tree segment's depth difference up
    to its sign. ``segments`` are edges of ``tree``, taken in the given order (parents before children)."""
    out = np.array(after, dtype=np.float64)
    for a, b in segments:
        flipped = np.sign(before[:, b, 2] - before[:, a, 2]) != np.sign(out[:, b, 2] - out[:, a, 2])
        mirror_segment(out, a, subtree(tree, b), flipped & visible[:, a] & visible[:, b])
    return out


def oracle_costs(choices: np.ndarray, test: TestSet) -> np.ndarray:
    """``(4, F)`` each choice's mean aligned error against the ground truth (measurement only)."""
    return np.stack([np.nanmean(aligned_errors(c, test.points3d, test.present), 1) for c in choices])


def cycle_costs(lifter, choices: np.ndarray, category: str, angles: list[float]) -> np.ndarray:
    """``(4, F)``: for each choice, turned by each of ``angles`` (degrees) about the image's vertical and projected
    orthographically, the mean squared difference between its depths and the lifter's re-lift's, both centred."""
    costs = []
    for shape in choices:
        centred = shape - shape.mean(1, keepdims=True)
        total = np.zeros(len(shape))
        for angle in angles:
            turned = centred @ rotation_y(np.array([np.radians(angle)]))[0].T
            again = lifter.lift(turned[..., :2], category, np.ones(turned.shape[:2], bool)).astype(np.float64)
            z, z_again = turned[..., 2], again[..., 2]
            total += ((z_again - z_again.mean(1, keepdims=True) - (z - z.mean(1, keepdims=True))) ** 2).mean(1)
        costs.append(total / len(angles))
    return np.stack(costs)


def pose_flow(data: Path, category: str, steps: int, seed: int, count: int = 40000):
    """A :class:`lifter.flow.PoseFlow` fitted to ``count`` normalised training 2D poses of ``category`` (and their
    left/right mirror images), drawn with ``seed``."""
    from lifter.flow import FlowConfig, fit_pose_flow, flow_poses

    with np.load(Path(data) / f"{category}_train.npz") as f:
        idx = training_indices(len(f["points2d"]), count, seed)
        poses = flow_poses(torch.from_numpy(f["points2d"][idx]).float(), torch.from_numpy(f["visible"][idx]),
                           category)
    return fit_pose_flow(poses, FlowConfig(steps=steps), seed=seed)


def flow_costs(flow, choices: np.ndarray, rotations: np.ndarray, views: int) -> np.ndarray:
    """``(4, F)``: each choice's mean negative log-likelihood under ``flow`` over ``views`` novel views turned
    about the true vertical (world-to-camera ``rotations (F, 3, 3)``), the same views for every choice."""
    from view_likelihood import upright_views

    costs = []
    for shape in choices:
        total = np.zeros(len(shape))
        for k in range(views):
            poses = upright_views(shape, rotations, np.random.default_rng(1000 + k))
            with torch.no_grad():
                total -= flow.log_prob(poses.reshape(len(poses), -1)).double().numpy()
        costs.append(total / views)
    return np.stack(costs)


def torso_frame(points: np.ndarray) -> np.ndarray:
    """``(F, 3, 3)``: the rows of each ``human17`` pose's torso frame in ``points (F, 17, 3)``: across (right to
    left shoulder), up (pelvis to thorax, made orthogonal to across) and their cross product."""
    across = points[:, 11] - points[:, 14]
    across = across / np.linalg.norm(across, axis=-1, keepdims=True)
    up = points[:, 8] - points[:, 0]
    up = up - (up * across).sum(-1, keepdims=True) * across
    up = up / np.linalg.norm(up, axis=-1, keepdims=True)
    return np.stack([across, up, np.cross(across, up)], 1)


def arm_directions(points: np.ndarray, arm: tuple[int, int, int]) -> np.ndarray:
    """``(F, 6)``: the unit directions of ``arm``'s upper arm and forearm in :func:`torso_frame`, the right arm's
    mirrored across the body (its first coordinates negated) so that both arms compare with one set."""
    s, e, w = arm
    frame = torso_frame(points)
    out = []
    for a, b in ((s, e), (e, w)):
        d = points[:, b] - points[:, a]
        out.append(np.einsum("fij,fj->fi", frame, d / np.linalg.norm(d, axis=-1, keepdims=True)))
    out = np.concatenate(out, -1)
    if arm == ARMS[1]:
        out[:, [0, 3]] *= -1
    return out


def own_arms(lift: np.ndarray, steep: float = DEFAULT_STEEP) -> np.ndarray:
    """``(M, 6)``: the :func:`arm_directions` of the arms of ``lift (F, 17, 3)`` with neither segment steep in
    the lift (a depth difference within ``steep`` of its length)."""
    out = []
    for arm in ARMS:
        flat = np.ones(len(lift), bool)
        for a, b in zip(arm[:-1], arm[1:]):
            d = lift[:, a] - lift[:, b]
            flat &= np.abs(d[:, 2]) <= steep * np.linalg.norm(d, axis=-1)
        out.append(arm_directions(lift[flat], arm))
    return np.concatenate(out)


def prior_costs(bank: np.ndarray, choices: np.ndarray, arm: tuple[int, int, int], neighbours: int) -> np.ndarray:
    """``(4, F)``: each choice's mean distance from ``arm``'s directions to their ``neighbours`` nearest rows of
    ``bank (M, 6)`` (:func:`own_arms`)."""
    bank_t = torch.from_numpy(bank)
    costs = []
    for shape in choices:
        d = torch.cdist(torch.from_numpy(arm_directions(shape, arm)), bank_t)
        costs.append(d.topk(min(neighbours, len(bank)), largest=False).values.mean(1).numpy())
    return np.stack(costs)


def knee_flexion(points: np.ndarray, leg: tuple[int, int, int]) -> np.ndarray:
    """``(F,)``: how ``leg``'s knee bends about the hips' axis in ``points (F, N, 3)`` (x right, y down, z away
    from the camera): ``(thigh x shin) . axis / (|thigh| |shin|)`` with ``axis`` the unit vector from the right hip
    to the left, positive where the shin turns backwards from the thigh's line (a knee's flexion), negative where
    it turns forwards (a hyperextended knee), 0 for a straight leg or a bend sideways."""
    hip, knee, ankle = leg
    axis = points[:, HIPS[1]] - points[:, HIPS[0]]
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    thigh, shin = points[:, knee] - points[:, hip], points[:, ankle] - points[:, knee]
    return ((np.cross(thigh, shin) * axis).sum(-1)
            / (np.linalg.norm(thigh, axis=-1) * np.linalg.norm(shin, axis=-1)))


def hinge_costs(choices: np.ndarray, leg: tuple[int, int, int], margin: float = DEFAULT_KNEE_MARGIN) -> np.ndarray:
    """``(4, F)`` costs of :func:`arm_choices`' output for ``leg``: the choice's index, plus 4 where its knee bends
    forwards by more than ``margin`` (:func:`knee_flexion` below ``-margin``). The lift's own choice wins wherever
    its knee is within the margin; elsewhere the first choice whose knee is; where none is, the lift's own."""
    bent = np.stack([knee_flexion(c, leg) for c in choices]) < -margin
    return np.arange(len(choices))[:, None] + 4.0 * bent


def choice_rows(lift: np.ndarray, test: TestSet, rules: dict[str, Callable[[np.ndarray, tuple], np.ndarray]],
                limbs: tuple[tuple[int, int, int], ...] = ARMS) -> list[tuple[str, float, float]]:
    """``(name, strict error, share of the limbs where the oracle gains over GAIN that the rule picks as the
    oracle does)`` for ``lift()`` as is, the oracle and each rule (``rules[name](choices, limb)``: the ``(4, F)``
    costs of :func:`arm_choices`' output for ``limb``, lower is better). The ``limbs`` (default the arms) are
    chosen in turn, each one's choices made on the lift with the choices before it applied."""
    rows = [("lift() as is", score(lift, test)["strict"], float("nan"))]
    for name, rule in {"oracle": lambda c, arm: oracle_costs(c, test), **rules}.items():
        out, agree = lift, []
        for arm in limbs:
            choices = arm_choices(out, arm)
            pick, oracle = rule(choices, arm).argmin(0), oracle_costs(choices, test)
            big = oracle[0] - oracle.min(0) > GAIN
            agree.append((pick == oracle.argmin(0))[big])
            out = apply_choice(out, choices, pick, arm)
        hits = np.concatenate(agree)
        rows.append((name, score(out, test)["strict"], float(hits.mean()) if len(hits) else float("nan")))
    return rows


def own_lifts(lifter, data: Path, category: str, count: int, seed: int) -> np.ndarray:
    """``(count, N, 3)``: ``lifter.lift`` of ``count`` training views drawn with ``seed`` (2D and visibility only)."""
    path = Path(data) / f"{category}_train.npz"
    if not path.exists():
        raise SystemExit(f"segment_sign_check.py: {path} is missing; --prior-views 0 skips the rule that needs it")
    with np.load(path) as f:
        idx = training_indices(len(f["points2d"]), count, seed)
        return lifter.lift(f["points2d"][idx], category, f["visible"][idx]).astype(np.float64)


def view_rotations(data: Path, test: TestSet, views: str, count: int, seed: int) -> np.ndarray:
    """The checked views' world-to-camera rotations ``(F, 3, 3)`` (:func:`lifter.views.checked_views`' draw)."""
    name = "train" if views == "train" else {"clean": "test", "occluded": "test_occluded"}[views]
    with np.load(Path(data) / f"{test.category}_{name}.npz") as f:
        R = f["camera_R"].astype(np.float64)
    if views == "train":
        R = R[training_indices(len(R), count, seed)]
    return R


def _percent(share: float | None) -> str:
    """A share as a percentage with one decimal; "—" where there is none (None or NaN)."""
    return "—" if share is None or np.isnan(share) else f"{100 * share:.1f} %"


def main(argv: list[str] | None = None) -> int:
    parser = check_parser(__doc__.splitlines()[0], 1000, 1)
    parser.set_defaults(categories=["human17"])
    parser.add_argument("--steep", type=float, default=DEFAULT_STEEP, help="a steep segment's depth share")
    parser.add_argument("--cycle-angles", type=float, nargs="+", default=[-60.0, 60.0])
    parser.add_argument("--flow-steps", type=int, default=1000, help="steps fitting the 2D pose flow (0: skip it)")
    parser.add_argument("--flow-views", type=int, default=8, help="novel views per choice scored by the flow")
    parser.add_argument("--prior-views", type=int, default=20000,
                        help="training views whose lifts give the lifter's own arms (0: skip that rule)")
    parser.add_argument("--prior-neighbours", type=int, default=10, help="nearest own arms a choice is scored on")
    parser.add_argument("--knee-margin", type=float, default=DEFAULT_KNEE_MARGIN,
                        help="how far (the sine of the bend) a lifted knee may bend forwards before the knee hinge "
                             f"rule changes its leg's signs (default {DEFAULT_KNEE_MARGIN})")
    parser.add_argument("--against", type=Path, nargs="+", default=[], metavar="WEIGHTS",
                        help="other lifters' weights: how many of this lift's wrong depth signs each shares, and "
                             "the strict error of the two lifts' mean")
    args = parser.parse_args(argv)
    check_view_options(parser, args)
    torch.set_num_threads(2)
    lifter = load_lifter(args.weights, device="cpu")
    others = {path: load_lifter(path, device="cpu") for path in args.against}     # a bad file fails before the work
    for category in args.categories:
        test = checked_views(args.data, category, args.views, args.count, args.seed, args.hide)
        if test is None:
            parser.error(f"no {args.views} views of {category} in {args.data}")
        units = get_category(category).units
        lift = lifter.lift(test.points2d, category, test.visible)
        rows, s = sign_table(lift, test, category_edges(category), args.steep)
        names = get_category(category).landmarks
        print(f"{category} ({len(lift)} {args.views} views): steep segments {100 * s['steep']:.1f} %, of those "
              f"{100 * s['wrong']:.2f} % with the wrong depth sign; {100 * s['views_wrong']:.1f} % of views have "
              f"one, strict error {s['error_wrong'] or float('nan'):.2f} against {s['error_rest'] or float('nan'):.2f}"
              f" {units} for the rest")
        edges = category_edges(category)
        for path, other in others.items():
            other_lift = other.lift(test.points2d, category, test.visible)
            sh = shared_wrong(lift, other_lift, test, edges, args.steep)
            mean = score((np.asarray(lift, np.float64) + other_lift) / 2, test)["strict"]
            print(f"against {path}: it gets {100 * sh['other_wrong']:.2f} % of the steep segments' signs wrong; "
                  f"{_percent(sh['shared'])} of this lift's wrong ones are wrong there too; the two differ on "
                  f"{100 * sh['disagree']:.2f} % of the steep segments, and where they differ this lift is the wrong "
                  f"one in {_percent(sh['lift_wrong_where_they_disagree'])}; the two lifts' mean: strict "
                  f"{mean:.2f} {units}")
        before, kept = {}, {}
        if category in lifter.proportions:         # the same lift before its bone-length step
            plain = lifter.lift(test.points2d, category, test.visible, bone_lengths=False)
            before = {(a, b): wr for a, b, _, wr in sign_table(plain, test, edges, args.steep)[0]}
            tree = tree_edges(edges)
            kept = {(a, b): score(keep_step_signs(lift, plain, test.visible, tree, [(a, b)]), test)["strict"]
                    for a, b in tree}
        print("| segment | steep | wrong sign (of the steep) | before the bone-length step | strict with the sign from "
              "before the step |\n|---|---|---|---|---|")
        for a, b, st, wr in sorted(rows, key=lambda r: -r[3]):
            was = f"{100 * before[(a, b)]:.2f} %" if before else "—"
            k = kept.get((a, b), kept.get((b, a)))                              # None: not a tree segment
            kept_error = "—" if k is None else f"{k:.2f} {units}"
            print(f"| {names[a]}–{names[b]} | {100 * st:.1f} % | {100 * wr:.2f} % | {was} | {kept_error} |")
        if kept:
            every = score(keep_step_signs(lift, plain, test.visible, tree, tree), test)
            print(f"\nStrict error: {score(lift, test)['strict']:.2f} {units} as lifted, "
                  f"{score(plain, test)['strict']:.2f} without the bone-length step, {every['strict']:.2f} with the "
                  f"step but every tree segment's depth sign from before it")
        if category != "human17":
            continue
        rules = {"cycle consistency": lambda c, arm: cycle_costs(lifter, c, category, args.cycle_angles)}
        if args.flow_steps:
            flow = pose_flow(args.data, category, args.flow_steps, args.seed)
            rotations = view_rotations(args.data, test, args.views, args.count, args.seed)
            rules["2D pose likelihood (true vertical)"] = lambda c, arm: flow_costs(flow, c, rotations, args.flow_views)
        if args.prior_views:
            bank = own_arms(own_lifts(lifter, args.data, category, args.prior_views, args.seed + 1), args.steep)
            rules["the lifter's own arms"] = lambda c, arm: prior_costs(bank, c, arm, args.prior_neighbours)
        knee = {"knee hinge": lambda c, leg: hinge_costs(c, leg, args.knee_margin)}
        both = [row for row in choice_rows(lift, test, {}, ARMS + LEGS) if row[0] == "oracle"]
        for limbs, table in (("arms'", choice_rows(lift, test, rules)), ("legs'", choice_rows(lift, test, knee, LEGS)),
                             ("arms' and legs'", both)):
            print(f"\n| {limbs} depth signs chosen by | strict | picks the oracle's choice where it gains > {GAIN:g} "
                  f"{units} |\n|---|---|---|")
            for name, err, agree in table:
                print(f"| {name} | {err:.2f} {units} | {_percent(agree)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
