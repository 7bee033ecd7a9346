"""Landmarks hidden on purpose in training: the ranking keys and the masks they give.

Training hides landmarks so that the lifter learns to complete them: scattered ones (random keys) or a block
(the visible landmarks furthest along a random 2D direction: a side, the top or the bottom out of view).
:func:`lifter.train.augment` uses both on the real training 2D; the 3D-aware stage's rendered views
(:func:`lifter.finetune.finetune_losses`) can hide blocks too.
"""

from __future__ import annotations

import math

import torch


def block_keys(points: torch.Tensor, visible: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Ranking keys ``(B, N)`` for hiding a block of ``points (B, N, 2)``: smallest for the visible landmarks
    furthest along a random 2D direction (one per row, drawn from ``gen``), ``inf`` where not ``visible (B, N)``."""
    angle = torch.rand(points.shape[0], generator=gen).to(points.device) * 2 * math.pi
    along = -(points * torch.stack([angle.cos(), angle.sin()], -1)[:, None]).sum(-1)   # (B, N): far side first
    return along.masked_fill(~visible, math.inf)


def hide_first(keys: torch.Tensor, visible: torch.Tensor, frac: torch.Tensor, hide: torch.Tensor
               ) -> torch.Tensor:
    """The input visibility ``(B, N)``: ``visible (B, N)`` minus, in rows where ``hide (B,)``, the
    ``floor(frac (B,) x visible count)`` visible landmarks of smallest ``keys (B, N)`` (at least 3 kept)."""
    rank = keys.argsort(1).argsort(1)
    n_vis = visible.sum(1)
    n_hide = torch.minimum((frac * n_vis).floor().long(), (n_vis - 3).clamp_min(0)) * hide
    return visible & (rank >= n_hide[:, None])


def hide_blocks(points: torch.Tensor, visible: torch.Tensor, prob: float, max_frac: float,
                gen: torch.Generator) -> torch.Tensor:
    """Give each row of ``points (B, N, 2)``, with chance ``prob``, a block of up to ``max_frac`` of its
    ``visible (B, N)`` landmarks hidden (uniform fraction, at least 3 kept): the input visibility ``(B, N)``."""
    B = points.shape[0]
    block = (torch.rand(B, generator=gen) < prob).to(points.device)
    keys = block_keys(points, visible, gen)
    frac = (torch.rand(B, generator=gen) * max_frac).to(points.device)
    return hide_first(keys, visible, frac, block)
