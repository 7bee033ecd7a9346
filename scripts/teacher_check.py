"""How accurate the 3D-aware stage's teacher is (lifter/finetune.py), per ``--teacher-reading`` and ``--teacher-bones``.

``PYTHONPATH=. python scripts/teacher_check.py --data data --weights runs/gpu_scaling/b8k_2d.safetensors`` lifts
``--count`` training views per category (drawn with ``--seed``, default 1, as the other check scripts) with the
network alone, as the stage's teacher lifts a training pose (its normalised 2D, every present landmark given, no
mirror averaging, completion or test-time refinement), and prints the strict error of the 3D the stage renders:
read orthographically (x, y the 2D: the default ``--teacher-reading``) and through the pinhole guessed from the 2D
extent (``--teacher-reading perspective``), each for bodies and hands also after the bone-length step of
``--proportions`` (``--teacher-bones``; default the bundled proportions file). No 3D data enters the teacher: the
ground truth only scores it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifter.api import load_lifter  # noqa: E402
from lifter.bone_lengths import BoneProportions, DEFAULT_PROPORTIONS, load_proportions  # noqa: E402
from lifter.evaluate import METRIC_UNITS, score  # noqa: E402
from lifter.finetune import perspective_teacher_lift, refined_teacher_lift  # noqa: E402
from lifter.geometry import normalise_2d  # noqa: E402
from lifter.model import Lifter  # noqa: E402
from lifter.views import TestSet, check_parser, check_view_options, checked_view_sets  # noqa: E402


def teacher_rows(model: Lifter, test: TestSet, proportions: BoneProportions | None) -> list[tuple[str, float]]:
    """``[(reading, strict error)]`` of ``model``'s teacher lifts of ``test``: orthographic and perspective, each
    also with the bone-length step when ``proportions`` are given."""
    pts = torch.as_tensor(np.where(test.visible[..., None], test.points2d, 0.0), dtype=torch.float32)
    mask = torch.as_tensor(test.visible)
    with torch.inference_mode():
        p, _, _ = normalise_2d(pts, mask)
        shape = model.lift_normalised(p, mask, test.category)
        readings = [("orthographic", shape), ("perspective", perspective_teacher_lift(shape, mask, test.category))]
        if proportions is not None:
            readings.insert(1, ("orthographic, bone step", refined_teacher_lift(shape, mask, test.category,
                                                                                 proportions)))
            readings.append(("perspective, bone step", perspective_teacher_lift(shape, mask, test.category,
                                                                                 proportions)))
    return [(name, score(lift.double().numpy(), test)["strict"]) for name, lift in readings]


def main(argv: list[str] | None = None) -> int:
    parser = check_parser(__doc__.splitlines()[0], count=2000, seed=1)
    parser.add_argument("--proportions", type=Path, default=DEFAULT_PROPORTIONS,
                        help="bone proportions of the bone step (default: the bundled ones)")
    args = parser.parse_args(argv)
    check_view_options(parser, args)
    if args.count < 1:
        parser.error("--count must be at least 1")
    try:
        proportions = load_proportions(args.proportions)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        parser.error(f"--proportions: {e}")
    model = load_lifter(args.weights, device="cpu").model                   # None: the bundled weights
    print(f"| category ({args.views} views) | teacher reading | strict |")
    print("|---|---|---|")
    for category, test in checked_view_sets(args, blanks=1):
        for reading, error in teacher_rows(model, test, proportions.get(category)):
            print(f"| {category} ({len(test.points2d)}) | {reading} | {error:.2f} {METRIC_UNITS[category]} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
