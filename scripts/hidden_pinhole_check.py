"""Hidden landmarks read through the guessed pinhole: a test-time variant of ``lift()`` (measured, not shipped).

``lift()`` returns hidden landmarks where its network (the first pass of hidden-landmark completion) puts them, in
its orthographic form. ``lift_with_camera`` without intrinsics reads the same lift through a pinhole guessed from
the landmarks, with the refinements along that pinhole's rays. In the variant, each hidden landmark is taken from
that reading instead and mapped back into the lift's frame by the inverse of the similarity that best maps the
lift's visible landmarks onto the reading's (:func:`hidden_from_reading`); visible landmarks keep the lift's
points, so the visible x, y are still the input pixels, as DESIGN.md's ``lift()`` asks. Frames with every landmark
visible are unchanged.

``PYTHONPATH=. python scripts/hidden_pinhole_check.py --data data --views train --hide 0.2`` prints the strict
error (``lifter.evaluate.score``) of ``lift()`` and of the variant for each category (default: bodies, hands and
chairs; faces take their hidden landmarks from the shape basis already) and each ``--patterns`` value: ``random``
(the views as given, with ``--hide``'s share hidden at random on training views) or a block of ``--share`` of each
view's visible 2D box hidden on one side (``bottom``, ``top``, ``left``, ``right``: ``scripts/partial_view_check.py``'s
patterns); ``--lens k`` shows the views from ``k`` times farther through a ``k`` times longer lens, as
``scripts/guessed_camera_check.py`` does (less perspective than the pinhole guess assumes).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lifter.api import load_lifter  # noqa: E402
from lifter.evaluate import METRIC_UNITS, score  # noqa: E402
from lifter.geometry import guessed_pinhole_of_lift, similarity_back_torch, similarity_fit_torch  # noqa: E402
from lifter.symmetry import DEFAULT_SPAN_OVER_FOCAL  # noqa: E402
from lifter.views import check_parser, check_view_options, checked_view_sets  # noqa: E402
from guessed_camera_check import farther  # noqa: E402
from partial_view_check import hide_block  # noqa: E402

PATTERNS = ("random", "bottom", "top", "left", "right")


def hidden_from_reading(lift: np.ndarray, reading: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """``lift (F, N, 3)`` with its hidden landmarks (``visible (F, N)`` False) replaced by ``reading``'s points
    ``(F, N, 3)`` mapped into the lift's frame: the inverse of the similarity (rotation with det = +1, scale,
    translation) that maps the lift's visible landmarks onto the reading's best, least squares
    (:func:`lifter.geometry.similarity_fit_torch`; its scale is not the one of the fit the other way round). Visible
    landmarks, and frames with every landmark visible or fewer than 3 visible, keep the lift's points -> float32."""
    use = (visible.sum(1) >= 3) & ~visible.all(1)
    out = np.array(lift, dtype=np.float32)
    if not use.any():
        return out
    a = torch.as_tensor(lift[use], dtype=torch.float64)
    b = torch.as_tensor(reading[use], dtype=torch.float64)
    v = torch.as_tensor(visible[use])
    back = similarity_back_torch(b, *similarity_fit_torch(a, b, v)).numpy()   # the reading in the lift's frame
    out[use] = np.where(visible[use][..., None], lift[use], back)
    return out


def variant_rows(lifter, test) -> dict[str, float]:
    """``{"lift()": strict error, "hidden through the pinhole": ...}`` of ``test``'s views (views whose landmarks
    all coincide, where no pinhole can be guessed, keep the lift)."""
    lift = lifter.lift(test.points2d, test.category, test.visible)
    guessable = guessed_pinhole_of_lift(lift, test.points2d, test.visible, DEFAULT_SPAN_OVER_FOCAL)[1] > 0
    reading = np.array(lift, dtype=np.float64)
    if guessable.any():
        reading[guessable] = lifter.read_with_camera(lift[guessable], test.points2d[guessable], test.category,
                                                     visible=test.visible[guessable])
    variant = hidden_from_reading(lift, reading, test.visible & guessable[:, None])
    return {"lift()": score(lift, test)["strict"], "hidden through the pinhole": score(variant, test)["strict"]}


def main(argv: list[str] | None = None) -> int:
    parser = check_parser(__doc__.splitlines()[0], count=1000, seed=1)
    parser.set_defaults(categories=["human17", "hand21", "chair"])
    parser.add_argument("--patterns", nargs="+", default=["random"], choices=PATTERNS,
                        help="random (the views as given or --hide), or a block hidden on one side")
    parser.add_argument("--share", type=float, default=0.4, help="share of the visible 2D box a block hides")
    parser.add_argument("--lens", nargs="+", type=float, default=[1.0],
                        help="the views from k times farther through a k times longer lens (less perspective; "
                             "scripts/guessed_camera_check.py's --lens)")
    args = parser.parse_args(argv)
    check_view_options(parser, args)
    if not 0 < args.share < 1 or args.count < 1 or any(k < 1 for k in args.lens):
        parser.error("--share must be in (0, 1), --count at least 1 and --lens at least 1")
    lifter = load_lifter(args.weights, device="cpu")                        # None: the bundled weights
    print(f"| category ({args.views} views{', ' + str(args.hide) + ' hidden' if args.hide else ''}) | pattern | "
          f"lens | views | lift() | hidden through the pinhole | ratio |")
    print("|---|---|---|---|---|---|---|")
    for category, test in checked_view_sets(args, blanks=5):
        for pattern in args.patterns:
            hidden = test if pattern == "random" else hide_block(test, pattern, args.share)
            for k in args.lens:
                views = farther(hidden, k) if k != 1 else hidden
                rows = variant_rows(lifter, views)
                unit = METRIC_UNITS[category]
                print(f"| {category} | {pattern} | {k:g} | {len(views.points2d)} | {rows['lift()']:.2f} {unit} | "
                      f"{rows['hidden through the pinhole']:.2f} {unit} | "
                      f"{rows['hidden through the pinhole'] / rows['lift()']:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
