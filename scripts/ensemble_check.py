"""Output ensembles of lifters: is the lifter's error variance that averaging removes, or a shared bias?

``PYTHONPATH=. python scripts/ensemble_check.py --data data --views train`` lifts the checked views with each
member lifter alone and with ensembles of them, and prints the strict error of ``lift()`` and of
``lift_with_camera`` through the camera guessed from the landmarks (no intrinsics), in the category's unit and in %
of the RMS radius. An ensemble averages its members' network lifts (each pass of ``lift()``: the mirrored and the
completed inputs too) and then runs ``lift()``'s refinements once, with the first member's shape bases and bone
proportions (the bundled ones are fitted to the bundled lifter's lifts). Members are ``--model LABEL=PATH``
(default: the bundled lifter, the 2D-only stage it was fine-tuned from, and the weights shipped before it,
:data:`lifter.evaluate.SHIPPED_BEFORE`: fewer rounds of the refined-teacher 3D-aware stage from that same 2D-only
stage); the ensembles are every set of two or more of the first three members, or ``--ensemble LABEL+LABEL ...``.

``--views train`` draws ``--count`` training views with ``--seed`` (default 500, seed 1, as the other check
scripts); ``clean`` / ``occluded`` reads a test file. Ground truth 3D is read for the scores only.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import sys
import types
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifter.api import LoadedLifter, load_lifter  # noqa: E402
from lifter.evaluate import (DEFAULT_MODELS, METRIC_UNITS, SHIPPED, SHIPPED_2D_STAGE, SHIPPED_BEFORE,  # noqa: E402
                             parse_models, score)
from lifter.views import CATEGORY_ORDER, add_view_options, check_view_options, checked_views  # noqa: E402

DEFAULT_MEMBERS = {
    "bundled": DEFAULT_MODELS[SHIPPED],
    "its 2D-only stage": DEFAULT_MODELS[SHIPPED_2D_STAGE],
    "recipe shipped before": DEFAULT_MODELS[SHIPPED_BEFORE],
}


def ensemble(members: list[LoadedLifter]) -> LoadedLifter:
    """A lifter whose network lift ``(F, N, 3)`` is the mean of ``members``' (same categories); the refinements,
    bases and proportions are the first member's. A single member is returned as it is."""
    if len(members) == 1:
        return members[0]
    first = copy.copy(members[0])

    def _lift_valid(self, pts: torch.Tensor, vis: torch.Tensor, category: str) -> torch.Tensor:
        return sum(LoadedLifter._lift_valid(m, pts, vis, category) for m in members) / len(members)

    first._lift_valid = types.MethodType(_lift_valid, first)
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built data files")
    parser.add_argument("--model", action="append", metavar="LABEL=PATH",
                        help="a member lifter (repeatable; default: the three of the docstring)")
    parser.add_argument("--ensemble", nargs="+", metavar="LABEL+LABEL",
                        help="ensembles to measure, members joined by '+' (default: every set of two or more of "
                             "the first three members)")
    parser.add_argument("--categories", nargs="+", default=list(CATEGORY_ORDER), choices=CATEGORY_ORDER)
    add_view_options(parser, count=500, seed=1)
    args = parser.parse_args(argv)
    check_view_options(parser, args)
    try:
        paths = parse_models(args.model) if args.model else dict(DEFAULT_MEMBERS)
    except ValueError as e:
        parser.error(str(e))
    labels = list(paths)
    if args.ensemble:
        sets = [tuple(e.split("+")) for e in args.ensemble]
        unknown = sorted({m for s in sets for m in s} - set(labels))
        if unknown:
            parser.error(f"--ensemble names {', '.join(unknown)}: not among the members {', '.join(labels)}")
    else:
        sets = [s for k in range(2, min(3, len(labels)) + 1) for s in itertools.combinations(labels[:3], k)]
    lifters = {label: load_lifter(path, device="cpu") for label, path in paths.items()}
    rows = [(label,) for label in labels] + sets

    print(f"views: {args.views}" + (f" ({args.count} drawn with seed {args.seed}, {args.hide:g} hidden)"
                                     if args.views == "train" else ""))
    print("| category | lifters | `lift()` | guessed camera |")
    print("|---|---|---|---|")
    for category in args.categories:
        views = checked_views(args.data, category, args.views, args.count, args.seed, args.hide)
        if views is None:
            print(f"| {category} | (no {category} file in {args.data}) | | |")
            continue
        unit = METRIC_UNITS[category]
        for row in rows:
            lifter = ensemble([lifters[m] for m in row])
            ortho = score(lifter.lift(views.points2d, category, views.visible), views)
            guessed = score(lifter.lift_with_camera(views.points2d, category, visible=views.visible), views)
            cells = [f"{s['strict']:.2f} {unit}" + ("" if unit == "%" else f" ({s['strict_pct_radius']:.2f} %)")
                     for s in (ortho, guessed)]
            print(f"| {category} | {' + '.join(row)} | {cells[0]} | {cells[1]} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
