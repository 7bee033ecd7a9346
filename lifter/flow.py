"""A normalising-flow likelihood of a category's 2D poses: the ElePose-style prior (Wandt et al., CVPR 2022).

The adversarial critic of :mod:`lifter.losses` tells real 2D poses from the lift's random re-projections; a
normalising flow fitted to the real 2D poses by maximum likelihood gives instead an explicit density, and the
lifter is trained to make its re-projections likely under it (``losses.flow_loss``). The flow sees only the
training 2D (normalised as the lifter's input: centred on the visible landmarks, divided by their RMS radius,
:func:`lifter.geometry.normalise_2d`), never 3D.

The flow is a RealNVP (Dinh et al. 2017): a per-dimension standardisation, then affine coupling layers, each
rescaling and shifting one random half of the ``2 N`` coordinates by an MLP of the other half (``tanh``-bounded
log-scales; every coordinate is in some layer's moved half). Normalised poses lie on a lower-dimensional set (zero
mean, unit RMS), so the flow is fitted to the poses plus a little Gaussian noise (``noise``), which gives that set
a thickness and the density a finite value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class FlowConfig:
    """How :func:`fit_pose_flow` builds and fits a flow (recorded with the training config)."""

    layers: int = 8          # affine coupling layers
    hidden: int = 256        # width of each coupling's MLP (two hidden layers)
    steps: int = 2000        # maximum-likelihood optimiser steps
    batch: int = 512
    lr: float = 1e-3
    noise: float = 0.02      # std of the Gaussian noise added to the normalised training poses
    max_poses: int = 50000   # fit on at most this many training poses (evenly strided)


class _Coupling(nn.Module):
    """One affine coupling: ``z = x`` on ``mask``, ``z = x exp(s(x_mask)) + t(x_mask)`` elsewhere."""

    def __init__(self, dim: int, mask: torch.Tensor, hidden: int) -> None:
        super().__init__()
        self.register_buffer("mask", mask.float())
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, 2 * dim))
        nn.init.zeros_(self.net[-1].weight)                  # starts as the identity map
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, D)`` -> ``z (B, D)``, ``log |det dz/dx| (B,)``."""
        keep = self.mask
        s, t = self.net(x * keep).chunk(2, dim=-1)
        s = torch.tanh(s) * (1 - keep)
        z = x * keep + (1 - keep) * (x * torch.exp(s) + t)
        return z, s.sum(-1)


def _free_every_coordinate(masks: list[torch.Tensor]) -> None:
    """Make each coordinate that every mask keeps (1 in all: never moved by a coupling, so only its Gaussian
    standardisation models it) free in one layer, in place: in the last layer that has a free coordinate which some
    other layer also moves, the two swap roles. Each mask keeps its half; no random numbers are drawn, and masks that
    already move every coordinate (those of every recorded run) are left as they are, and so is a single mask (no
other layer to swap with)."""
    if len(masks) < 2:
        return
    for i in torch.nonzero(torch.stack(masks).min(0).values == 1).flatten().tolist():
        for k in reversed(range(len(masks))):
            others = torch.stack([m for n, m in enumerate(masks) if n != k]).min(0).values   # 0: moved elsewhere
            swap = torch.nonzero((masks[k] == 0) & (others == 0)).flatten()
            if len(swap):
                masks[k][i], masks[k][swap[0]] = 0.0, 1.0
                break


class PoseFlow(nn.Module):
    """Density of flattened normalised 2D poses ``(B, 2 N)``: :meth:`log_prob`."""

    def __init__(self, dim: int, cfg: FlowConfig, generator: torch.Generator) -> None:
        super().__init__()
        self.dim = dim
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        masks = []
        for _ in range(cfg.layers):                            # a random half of the coordinates per layer
            m = torch.zeros(dim)
            m[torch.randperm(dim, generator=generator)[:dim // 2]] = 1.0
            masks.append(m)
        _free_every_coordinate(masks)
        self.couplings = nn.ModuleList(_Coupling(dim, m, cfg.hidden) for m in masks)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log-density ``(B,)`` of poses ``x (B, 2 N)`` (differentiable in ``x``)."""
        z = (x - self.mean) / self.std
        logdet = -torch.log(self.std).sum().expand(x.shape[0])
        for c in self.couplings:
            z, ld = c(z)
            logdet = logdet + ld
        return -0.5 * (z ** 2).sum(-1) - 0.5 * self.dim * math.log(2 * math.pi) + logdet


def flow_poses(points2d: torch.Tensor, visible: torch.Tensor, category: str, mirror: bool = True) -> torch.Tensor:
    """The poses a category's flow is fitted to: ``points2d (M, N, 2)`` normalised as the lifter's input
    (:func:`lifter.geometry.normalise_2d` with ``visible (M, N)``) and, with ``mirror`` for a category with
    left/right mirror pairs, their mirror images after them (x negated, pairs swapped): ``(M or 2M, N, 2)``."""
    from lifter.geometry import normalise_2d
    from lifter.skeletons import get_category

    poses = normalise_2d(points2d, visible)[0]
    cat = get_category(category)
    if mirror and cat.mirror_pairs:
        poses = torch.cat([poses, poses[:, torch.tensor(cat.mirror_permutation())] * torch.tensor([-1.0, 1.0])])
    return poses


def fit_pose_flow(poses: torch.Tensor, cfg: FlowConfig = FlowConfig(), seed: int = 0) -> PoseFlow:
    """Fit a :class:`PoseFlow` to normalised 2D poses by maximum likelihood.

    Args:
        poses: ``(M, N, 2)`` normalised 2D poses (every landmark given).
        cfg: the flow's size and fitting schedule.
        seed: seeds the flow's own random numbers (initialisation, masks, batches, noise); the global random
            state is left as it was, so fitting a flow does not change what else a training run draws.
    Returns:
        the fitted flow, in evaluation mode, its parameters frozen (``requires_grad`` False).
    Raises:
        ValueError: fewer than 2 poses or non-finite values.
    """
    x = poses.reshape(len(poses), -1).float()
    if len(x) < 2 or not torch.isfinite(x).all():
        raise ValueError(f"a pose flow needs at least 2 finite poses, got {tuple(poses.shape)}"
                         f"{'' if torch.isfinite(x).all() else ' with non-finite values'}")
    if len(x) > cfg.max_poses:
        x = x[torch.linspace(0, len(x) - 1, cfg.max_poses).long()]
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        flow = PoseFlow(x.shape[1], cfg, gen)
    flow.mean.copy_(x.mean(0))
    flow.std.copy_(torch.sqrt(x.var(0) + cfg.noise ** 2))
    opt = torch.optim.Adam(flow.parameters(), lr=cfg.lr)
    for step in range(cfg.steps):
        idx = torch.randint(len(x), (min(cfg.batch, len(x)),), generator=gen)
        batch = x[idx] + cfg.noise * torch.randn(len(idx), x.shape[1], generator=gen)
        lr = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))      # cosine decay
        for g in opt.param_groups:
            g["lr"] = lr
        loss = -flow.log_prob(batch).mean() / x.shape[1]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(flow.parameters(), 1.0)
        opt.step()
    return flow.eval().requires_grad_(False)
