"""Test-time variants around ``lift()``'s hidden-landmark completion, measured on the built test files.

*Hidden-landmark completion* in docs/using-the-lifter.md quotes these figures. For each setting of a category
(clean, occluded), strict error (``lifter.evaluate.score``) of:

- ``lift()`` as shipped, and with ``complete_hidden=False`` (one pass);
- *rotated re-lifts*: lift once (the first lift, every landmark filled in), rotate it by each of a few yaw angles
  about the image's vertical axis, project it orthographically, lift that projection with every landmark
  visible, scale it to the rotated first lift, rotate it back; the visible landmarks keep their input x, y and
  take the mean depth of the re-lifts (with the first lift among them or not), the hidden ones the mean 3D;
- *hidden only*: completion, but the visible landmarks keep the first pass's depths;
- *random hiding*: hide a fraction of the visible landmarks at random K times, lift each with completion, and
  average the depths with the plain lift's.

Every lift is mirror averaged (hand21 has no mirror pairs: one lift). Usage:

    PYTHONPATH=. python scripts/completion_variants.py --data data --category human17
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from lifter.api import load_lifter
from lifter.evaluate import score
from lifter.geometry import masked_centre, normalise_2d, rotation_y
from lifter.losses import fit_scale
from lifter.mirroring import mirror_permutation
from lifter.model import Lifter
from lifter.views import load_test_set


def rotated_relifts(model: Lifter, p: torch.Tensor, vis: torch.Tensor, category: str, yaws: list[float],
                    with_first: bool, hidden_only: bool = False) -> torch.Tensor:
    """One branch (no mirror) of the rotated re-lift variants, normalised units: ``p (B, N, 2)``, ``vis (B, N)``
    -> ``(B, N, 3)`` centred on all landmarks. ``yaws=[0]`` without the first lift is plain completion."""
    every = torch.ones_like(vis)
    first = masked_centre(model.lift_normalised(p, vis, category), every)
    estimates = [first] if with_first else []
    for yaw in yaws:
        R = torch.tensor(rotation_y(math.radians(yaw)), dtype=torch.float32)
        rotated = first @ R.T
        p2, _, _ = normalise_2d(rotated[..., :2], every)
        relift = masked_centre(model.lift_normalised(p2, every, category), every)
        k = fit_scale(rotated[..., :2], relift[..., :2], every)               # size of the rotated in relift's units
        estimates.append((relift / k[:, None, None]) @ R)                       # x R: rotated back
    mean = torch.stack(estimates).mean(0)
    depth = first[..., 2:] if hidden_only else mean[..., 2:]
    return torch.where(vis[..., None], torch.cat([first[..., :2], depth], -1), mean)


def mirror_averaged(branch, p: torch.Tensor, vis: torch.Tensor, category: str) -> torch.Tensor:
    """``branch(p, vis)`` averaged with its mirror image's (categories with mirror pairs)."""
    perm = mirror_permutation(category)
    out = branch(p, vis)
    if perm is None:
        return out
    perm = torch.as_tensor(perm)
    back = branch(p[:, perm] * torch.tensor([-1.0, 1.0]), vis[:, perm])[:, perm] * torch.tensor([-1.0, 1.0, 1.0])
    return 0.5 * (out + back)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--category", default="human17")
    parser.add_argument("--weights", type=Path, default=None, help="default: the bundled weights")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    lifter = load_lifter(args.weights, device="cpu")
    cat = args.category
    for setting in ("clean", "occluded"):
        test = load_test_set(args.data, cat, setting)
        if test is None:
            raise SystemExit(f"no {cat} {setting} test file in {args.data}: build the data first")
        shipped = lifter.lift(test.points2d, cat, test.visible)
        print(f"{setting:8} lift() as shipped: {score(shipped, test)['strict']:.2f}")
        print(f"{setting:8} one pass (complete_hidden=False): "
              f"{score(lifter.lift(test.points2d, cat, test.visible, complete_hidden=False), test)['strict']:.2f}")
        pts = torch.as_tensor(np.where(test.visible[..., None], np.nan_to_num(test.points2d), 0.0),
                              dtype=torch.float32)
        vis = torch.as_tensor(test.visible)
        p, _, scale = normalise_2d(pts, vis)
        variants = {"completion (yaw 0, this script's branch)": ([0], False, False),
                    "hidden only (visible keep the first depths)": ([0], False, True)}
        for yaws in ([10, -10], [15, -15], [30, -30], [60, -60], [20, -20, 45, -45], [90, 180, 270]):
            variants[f"rotated re-lifts {yaws} with the first lift"] = (yaws, True, False)
        variants["rotated re-lifts [15, -15] without the first lift"] = ([15, -15], False, False)
        with torch.inference_mode():
            for name, (yaws, with_first, hidden_only) in variants.items():
                out = mirror_averaged(lambda q, v: rotated_relifts(lifter.model, q, v, cat, yaws, with_first,
                                                                   hidden_only), p, vis, cat)
                pred = (out * scale[:, None, None]).numpy()
                print(f"{setting:8} {name}: {score(pred, test)['strict']:.2f}")
        rng = np.random.default_rng(0)
        for repeats, frac in ((4, 0.1), (4, 0.2), (8, 0.2)):
            depths = [shipped[..., 2]]
            for _ in range(repeats):
                shown = test.visible & ~(rng.random(test.visible.shape) < frac)
                few = shown.sum(1) < 3
                shown[few] = test.visible[few]
                depths.append(lifter.lift(test.points2d, cat, shown)[..., 2])
            pred = np.concatenate([shipped[..., :2], np.mean(depths, 0)[..., None]], -1)
            print(f"{setting:8} random hiding {frac:.0%} x {repeats}: {score(pred, test)['strict']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
