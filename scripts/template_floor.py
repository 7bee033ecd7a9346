"""How low the rigid-template loss can go on a category's training views, and where a lifter is.

*Rigid-template prior for faces* in docs/lifter-experiments.md quotes these figures. The template is the one
``lifter.train`` computes when training starts (``geometry.rigid_factorisation`` of the training 2D); the loss is
``losses.template_loss`` in the trainer's normalised units (the 2D centred on its centroid and divided by its RMS
radius), on a sample of fully visible training views, for:

- *true depth on the input x, y*: each landmark keeps its input 2D and gets its true camera-frame depth, brought
  to the input's units by focal length / mean depth (the best a depth-only lift of a perspective image can do
  if its depth were exact; not the minimum over depths, so the true floor is at most this);
- *true shape, orthographic*: the ground-truth 3D itself (no perspective in x, y);
- *lifter*: ``lift()`` of the same 2D with the given (default: bundled) weights.

The 3D ground truth is read here to measure; training never reads it.

Usage:

    PYTHONPATH=. python scripts/template_floor.py --data data [--category face468] [--sample 1000] [--weights W]
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import numpy as np
import torch

from lifter.api import load_lifter
from lifter.geometry import normalise_2d, rigid_factorisation, rms_radius
from lifter.losses import template_loss


def true_depth_lifts(points2d: np.ndarray, points3d: np.ndarray, focal: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two reference lifts in the trainer's normalised units.

    Args:
        points2d: ``(B, N, 2)`` pixels, every landmark visible; points3d: ``(B, N, 3)`` camera frame;
        focal: ``(B,)`` pixels.
    Returns:
        ``input_xy_true_depth (B, N, 3)``: the normalised input 2D with the true depth relative to the mean depth,
        times focal / mean depth, over the 2D's RMS radius; ``true_shape (B, N, 3)``: the 3D itself, centred and
        divided by the RMS radius of its x, y; ``scale (B,)``: the 2D's RMS radius, pixels (a ``lift()`` over it is
        in the same units).
    """
    p, _, scale = normalise_2d(torch.as_tensor(points2d, dtype=torch.float64),
                               torch.ones(points2d.shape[:2], dtype=torch.bool))
    z = points3d[..., 2]
    zm = z.mean(1, keepdims=True)
    depth = (z - zm) * focal[:, None] / zm / scale.numpy()[:, None]
    with_depth = np.concatenate([p.numpy(), depth[..., None]], -1)
    centred = points3d - points3d.mean(1, keepdims=True)
    radius = rms_radius(points3d[..., :2], np.ones(points3d.shape[:2], dtype=bool))
    return with_depth, centred / radius[:, None, None], scale.numpy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built training files")
    parser.add_argument("--category", default="face468", help="category (default: face468)")
    parser.add_argument("--sample", type=int, default=1000, help="fully visible training views to measure on")
    parser.add_argument("--weights", default=None, help="lifter weights (default: the bundled ones)")
    args = parser.parse_args(argv)
    path = args.data / f"{args.category}_train.npz"
    if not path.exists():
        parser.error(f"no training file {path}: build the data first (python -m lifter.data build)")
    d = np.load(path)
    template, singular = rigid_factorisation(d["points2d"], d["visible"])
    every = np.flatnonzero(d["visible"].all(1))
    full = every[: args.sample]
    if len(full) == 0:
        parser.error(f"{path} has no fully visible view")
    points2d = d["points2d"][full].astype(np.float64)
    with_depth, true_shape, scale = true_depth_lifts(points2d, d["points3d"][full].astype(np.float64),
                                                     d["camera_focal"][full].astype(np.float64))
    lifter = load_lifter(args.weights)
    lifted = lifter.lift(points2d.astype(np.float32), args.category).astype(np.float64) / scale[:, None, None]
    mask = torch.ones(points2d.shape[:2], dtype=torch.bool)
    t = torch.as_tensor(template)
    used = min(len(every), inspect.signature(rigid_factorisation).parameters["max_views"].default)
    print(f"{args.category}: template from the first {used} fully visible training views (4th singular value "
          f"{singular[3]:.3f} of the 1st); loss on {len(full)} of them")
    for name, x in (("true depth on the input x, y", with_depth), ("true shape, orthographic", true_shape),
                    ("lifter" + (f" ({args.weights})" if args.weights else " (bundled weights)"), lifted)):
        print(f"  {name:<40} {float(template_loss(torch.as_tensor(x), t, mask)):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
