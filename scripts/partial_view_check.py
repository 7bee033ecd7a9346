"""Partly hidden subjects: the camera guessed from the whole lifted subject against the visible landmarks alone.

Without intrinsics, ``lift()``'s symmetry and bone-length refinements and ``lift_with_camera`` read the lift
through a pinhole guessed from the landmarks' 2D bounding box (:func:`lifter.geometry.guessed_pinhole`: focal
length = the box's larger side / ``lifter.symmetry.DEFAULT_SPAN_OVER_FOCAL``, principal point = its centre). When a
block of the subject is out of view (the legs below the frame, a hand's fingers behind an object), a box over the
visible landmarks alone is smaller than the subject and the camera guessed from it too close. The lifter boxes
every landmark where its lift puts it (hidden ones at their predicted pixels); before, it boxed the visible ones.

``PYTHONPATH=. python scripts/partial_view_check.py --data data --views train [--patterns as-given bottom left]
[--share 0.4]`` lifts each checked view with each rule and prints, per category and occlusion pattern, the strict
error (``lifter.evaluate.score``, every present landmark, hidden ones included) of

- ``lift()`` with the shipped rule (the whole subject) and with the visible landmarks' box;
- ``lift_with_camera`` without intrinsics, each rule (the API's own reading: the guessed focal length lengthened
  where the lift would reach behind the camera, and for faces only the start of an estimate of it);
- ``lift_with_camera`` with the views' true intrinsics (the lift of the shipped rule), for reference.

Occlusion patterns, applied to the views' own visibility (``--hide`` hides a share at random first, as the
occluded test files do): ``as-given`` adds nothing; ``bottom``, ``top``, ``left``, ``right`` hide the visible
landmarks lying in that ``--share`` of the visible box (image y down); views left with fewer than 3 visible
landmarks are dropped (the count is printed). The 3D ground truth is read to measure only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lifter.api as api  # noqa: E402
import lifter.camera_reading as camera_reading  # noqa: E402
from lifter.api import load_lifter  # noqa: E402
from lifter.evaluate import METRIC_UNITS, score  # noqa: E402
from lifter.geometry import guessed_pinhole, guessed_pinhole_torch  # noqa: E402
from lifter.symmetry import DEFAULT_SPAN_OVER_FOCAL  # noqa: E402
from lifter.views import TestSet, check_parser, check_view_options, checked_view_sets  # noqa: E402

PATTERNS = ("as-given", "bottom", "top", "left", "right")
COLUMNS = ("lift(), whole subject", "lift(), visible box", "guessed camera, whole subject",
           "guessed camera, visible box", "true intrinsics")


def hide_block(test: TestSet, pattern: str, share: float) -> TestSet:
    """``test`` with the visible landmarks in ``share`` of each view's visible 2D box hidden on the ``pattern``
    side (``"as-given"``: unchanged); views left with fewer than 3 visible landmarks are dropped."""
    if pattern == "as-given":
        return test
    axis = 1 if pattern in ("bottom", "top") else 0
    coord = np.where(test.visible, test.points2d[..., axis], np.nan)                     # (B, N)
    lo, hi = np.nanmin(coord, 1, keepdims=True), np.nanmax(coord, 1, keepdims=True)
    if pattern in ("bottom", "right"):                                                   # image y points down
        hidden = coord > hi - share * (hi - lo)
    else:
        hidden = coord < lo + share * (hi - lo)
    visible = test.visible & ~hidden
    keep = visible.sum(1) >= 3
    kept = test.select(keep)
    return replace(kept, visible=visible[keep], points2d=np.where(visible[keep][..., None], kept.points2d, np.nan))


def _visible_box_camera(lift: torch.Tensor, centre: torch.Tensor, visible: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(focal (F,), principal (F, 2))``: the camera guessed from the visible landmarks' box of a lift in
    ``lift()``'s form (``centre (F, 2)``: its origin's pixels); focal infinite where they coincide."""
    pixels = lift[..., :2].to(torch.float64) + centre.to(torch.float64)[:, None]
    point, kappa = guessed_pinhole_torch(pixels, visible, DEFAULT_SPAN_OVER_FOCAL)
    return 1.0 / kappa, point


def _visible_box_pinhole(lift: np.ndarray, points2d: np.ndarray, visible: np.ndarray, span_over_focal: float
                         ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`lifter.geometry.guessed_pinhole_of_lift`'s signature, boxing the visible landmarks only."""
    return guessed_pinhole(np.where(visible[..., None], points2d, 0.0), visible, span_over_focal)


@contextmanager
def visible_box_guess() -> Iterator[None]:
    """Within it, ``lift()``'s refinements and ``lift_with_camera``'s reading guess the camera from the visible
    landmarks' box (the rule before the whole subject's): the symmetry and bone-length refinements ``lifter.api``
    calls are given that camera explicitly (the symmetry refinement still without filling hidden landmarks, as
    without one), and :mod:`lifter.camera_reading` (faces' second shape-basis stage in ``lift()``, and
    ``lift_with_camera``'s guess) boxes the visible landmarks."""
    symmetry, bones = api.refine_lift_symmetry, api.refine_lift_bones
    box = camera_reading.guessed_pinhole_of_lift

    def symmetry_visible_box(lift, centre, visible, category):
        return symmetry(lift, centre, visible, category, *_visible_box_camera(lift, centre, visible),
                        fill_hidden=False)

    def bones_visible_box(lift, centre, visible, proportions, **settings):
        focal, principal = _visible_box_camera(lift, centre, visible)
        return bones(lift, centre, visible, proportions, focal=focal, principal=principal, **settings)

    api.refine_lift_symmetry, api.refine_lift_bones = symmetry_visible_box, bones_visible_box
    camera_reading.guessed_pinhole_of_lift = _visible_box_pinhole
    try:
        yield
    finally:
        api.refine_lift_symmetry, api.refine_lift_bones = symmetry, bones
        camera_reading.guessed_pinhole_of_lift = box


def partial_rows(lifter, test: TestSet) -> dict[str, float]:
    """``{column of COLUMNS: strict error}`` on ``test`` (module docstring)."""
    def guessed_reading(lift: np.ndarray) -> float:
        return score(lifter.read_with_camera(lift, test.points2d, test.category, visible=test.visible),
                     test)["strict"]

    whole = lifter.lift(test.points2d, test.category, test.visible)
    with visible_box_guess():
        seen = lifter.lift(test.points2d, test.category, test.visible)
        seen_read = guessed_reading(seen)
    rows = {COLUMNS[0]: score(whole, test)["strict"], COLUMNS[1]: score(seen, test)["strict"],
            COLUMNS[2]: guessed_reading(whole), COLUMNS[3]: seen_read}
    if test.focal is not None and test.principal is not None:
        true = lifter.read_with_camera(whole, test.points2d, test.category, test.focal, test.principal,
                                       test.visible)
        rows[COLUMNS[4]] = score(true, test)["strict"]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = check_parser(__doc__.splitlines()[0], count=600, seed=1)
    parser.add_argument("--patterns", nargs="+", default=["as-given", "bottom", "left"], choices=PATTERNS,
                        help="occlusion patterns (module docstring)")
    parser.add_argument("--share", type=float, default=0.4,
                        help="share of the visible 2D box hidden by bottom / top / left / right (0-1)")
    args = parser.parse_args(argv)
    check_view_options(parser, args)
    if not 0 < args.share < 1 or args.count < 1:
        parser.error("--share must be in (0, 1) and --count at least 1")
    lifter = load_lifter(args.weights, device="cpu")                        # None: the bundled weights
    print(f"| category ({args.views} views) | pattern | views | " + " | ".join(COLUMNS) + " |")
    print("|---|---|---|" + "---|" * len(COLUMNS))
    for category, test in checked_view_sets(args):
        for pattern in args.patterns:
            views = hide_block(test, pattern, args.share)
            rows = partial_rows(lifter, views)
            unit = METRIC_UNITS[category]
            print(f"| {category} | {pattern} | {len(views.points2d)} | "
                  + " | ".join(f"{rows[c]:.2f} {unit}" if c in rows else "—" for c in COLUMNS) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
