"""Which novel views can a 2D pose prior judge a lift by? *2D pose likelihood* in
docs/lifter-experiments.md quotes these figures.

A normalising flow (``lifter.flow``, as ``--flow-weight`` fits it) is fitted to a category's normalised
training 2D (with their left/right mirror images). Then, per test view, three shapes are re-projected by random
perspective views and scored by the flow's mean negative log-likelihood per coordinate (lower: more like real
2D poses): the true 3D, a lifter's ``lift()`` (default: the bundled weights) and that lift depth-mirrored. Two
kinds of view:

- *training's views*: ``geometry.random_perspective_view`` as the trainer draws them by default: a turn about
  the image's vertical axis over 360 deg, a tilt up to 10 deg, a camera 2.5-12 RMS radii away;
- *about the true vertical*: each shape is turned upright with the test view's true camera rotation (an oracle:
  this is a measurement, not something training can do), turned about the world's vertical, and seen from a
  protocol elevation (-15..+40 deg) and roll (+-10 deg), same distances.

Real test 2D is scored too, for scale. A prior helps training only where it tells the true 3D from the lift.

Usage:

    PYTHONPATH=. python scripts/view_likelihood.py --data data [--category human17] [--weights W] [--steps 2000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from lifter.api import load_lifter
from lifter.data.cameras import look_at_rotation
from lifter.flow import FlowConfig, PoseFlow, fit_pose_flow, flow_poses
from lifter.geometry import normalise_2d, perspective_divide, random_perspective_view

DISTANCES = (2.5, 12.0)   # novel-view camera distance / RMS radius, as the trainer's default


def nll_per_coordinate(flow: PoseFlow, poses: torch.Tensor) -> float:
    """Mean negative log-likelihood per coordinate of normalised poses ``(B, N, 2)``."""
    return float(-flow.log_prob(poses.reshape(len(poses), -1)).mean() / poses[0].numel())


def training_views(shape: np.ndarray, seed: int) -> torch.Tensor:
    """Normalised 2D ``(B, N, 2)`` of ``shape (B, N, 3)`` (camera frame) under the trainer's default novel views."""
    s = torch.from_numpy(shape).float()
    mask = torch.ones(s.shape[:2], dtype=torch.bool)
    return random_perspective_view(s, mask, 10.0, DISTANCES, torch.Generator().manual_seed(seed))[2]


def upright_views(shape: np.ndarray, R: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
    """Normalised 2D ``(B, N, 2)`` of ``shape (B, N, 3)`` (camera frame of world-to-camera rotations ``R (B, 3,
    3)``) turned about the world's vertical and seen from protocol elevations and rolls."""
    B = len(shape)
    world = np.einsum("bji,bnj->bni", R, shape - shape.mean(1, keepdims=True))        # R^T x: world axes
    Rn = look_at_rotation(rng.uniform(0, 2 * np.pi, B), np.radians(rng.uniform(-15, 40, B)),
                          np.radians(rng.uniform(-10, 10, B)))
    cam = np.einsum("bij,bnj->bni", Rn, world)
    radius = np.sqrt((cam ** 2).sum(-1).mean(1))
    dist = radius * np.exp(rng.uniform(*np.log(DISTANCES), B))
    dist = np.maximum(dist, (-cam[..., 2]).max(1) + 0.5 * radius)
    cam = cam + np.stack([0 * dist, 0 * dist, dist], -1)[:, None]
    pts = perspective_divide(torch.from_numpy(cam).float())
    return normalise_2d(pts, torch.ones(pts.shape[:2], dtype=torch.bool))[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--category", default="human17", choices=("human17", "hand21"),
                        help="a category whose training 2D is fully visible")
    parser.add_argument("--weights", type=Path, default=None, help="lifter weights (default: bundled)")
    parser.add_argument("--steps", type=int, default=FlowConfig.steps, help="flow fitting steps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    with np.load(args.data / f"{args.category}_train.npz") as f:
        poses = flow_poses(torch.from_numpy(f["points2d"]).float(), torch.from_numpy(f["visible"]), args.category)
    flow = fit_pose_flow(poses, FlowConfig(steps=args.steps), seed=args.seed)
    with np.load(args.data / f"{args.category}_test.npz") as f:
        p2, vis, gt, R = f["points2d"], f["visible"], f["points3d"].astype(np.float64), f["camera_R"]
    real = normalise_2d(torch.from_numpy(p2).float(), torch.from_numpy(vis))[0]
    lift = load_lifter(args.weights, device="cpu").lift(p2, args.category, vis).astype(np.float64)
    print(f"{args.category}: flow fitted on {len(poses)} training poses ({args.steps} steps); negative "
          f"log-likelihood per coordinate, {len(gt)} test views; real test 2D: {nll_per_coordinate(flow, real):.3f}")
    print("| shape | training's views | about the true vertical |")
    print("|---|---|---|")
    for name, shape in (("true 3D", gt), ("lift()", lift), ("lift(), depth-mirrored", lift * [1.0, 1.0, -1.0])):
        a = nll_per_coordinate(flow, training_views(shape, args.seed))
        b = nll_per_coordinate(flow, upright_views(shape, R, np.random.default_rng(args.seed)))
        print(f"| {name} | {a:.3f} | {b:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
