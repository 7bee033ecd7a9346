"""A lifter's lift of the test views against its lift of their mirror images (mirrored back), per category.

``PYTHONPATH=. python scripts/mirror_check.py --data data --categories chair --model LABEL=PATH ...`` lifts each
clean test view once (the network alone: no mirror averaging, no hidden-landmark completion, no symmetry
refinement), lifts its mirror image (x negated, landmarks relabelled by the category's mirror permutation) and
mirrors that lift back, and prints the strict error of each and of their average, over all views and, for chairs,
over swivel chairs (any ``swivel_foot`` present) and the others apart. A mirror image of a real object is a real
object, so a lifter that was trained on the category's own views should read about the same on both; a large
difference on some landmarks means the mirror permutation hands the network something no real object looks like.
This is how the swivel feet's relabelling was found (docs/lifter-experiments.md, *Swivel feet under reflection*).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifter.api import load_lifter  # noqa: E402
from lifter.evaluate import METRIC_UNITS, parse_models, score  # noqa: E402
from lifter.mirroring import mirror_back, mirror_image, mirror_permutation  # noqa: E402
from lifter.skeletons import get_category  # noqa: E402
from lifter.views import CATEGORY_ORDER, TestSet, load_test_set  # noqa: E402


def mirror_lifts(lifter, test: TestSet) -> dict[str, np.ndarray]:
    """``{"own": (B, N, 3), "mirrored": (B, N, 3), "average": (B, N, 3)}``: the lift of ``test``'s 2D, the lift
    of its mirror image mirrored back into the original's frame and landmark order, and their mean."""
    perm = mirror_permutation(test.category)
    if perm is None:
        raise ValueError(f"{test.category} has no mirror pairs")
    own = lifter.lift(test.points2d, test.category, test.visible, mirror_average=False, complete_hidden=False,
                       symmetrize=False)
    shown = test.visible[:, perm]
    image = np.where(shown[..., None], mirror_image(test.points2d, perm), np.nan)
    back = mirror_back(lifter.lift(image, test.category, shown, mirror_average=False, complete_hidden=False,
                                   symmetrize=False), perm)
    return {"own": own, "mirrored": back, "average": 0.5 * (own + back)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built test files")
    parser.add_argument("--model", action="append", metavar="LABEL=PATH",
                        help="lifter weights to check (repeatable; default: the bundled ones)")
    parser.add_argument("--categories", nargs="+", default=["human17", "face468", "chair"],
                        choices=[c for c in CATEGORY_ORDER if c != "hand21"])
    args = parser.parse_args(argv)
    try:
        models = parse_models(args.model) if args.model else {"bundled": None}
    except ValueError as e:
        parser.error(str(e))
    tests = {c: load_test_set(args.data, c, "clean") for c in args.categories}
    if all(t is None for t in tests.values()):
        parser.error(f"no clean test files for {', '.join(args.categories)} in {args.data}: run `python -m "
                     f"lifter.data build --source ../shared/data --out {args.data}` first")
    print("| lifter | category | views | own lift | mirrored lift | average |")
    print("|---|---|---|---|---|---|")
    for label, path in models.items():
        lifter = load_lifter(path, device="cpu")
        for category, test in tests.items():
            if test is None:
                print(f"| {label} | {category} | (no clean test file in {args.data}) | | | |")
                continue
            lifts = mirror_lifts(lifter, test)
            groups = {"all": np.ones(len(test.points2d), bool)}
            if category == "chair":
                feet = [i for i, n in enumerate(get_category(category).landmarks) if n.startswith("swivel_foot")]
                swivel = test.present[:, feet].any(1)
                groups.update({"swivel chairs": swivel, "other chairs": ~swivel})
            unit = METRIC_UNITS[category]
            for name, keep in groups.items():
                if not keep.any():
                    continue
                cells = [f"{score(lift[keep], test.select(keep))['strict']:.2f} {unit}" for lift in lifts.values()]
                print(f"| {label} | {category} | {name} ({int(keep.sum())}) | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
