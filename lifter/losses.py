"""Training losses, all in normalised 2D units (the RMS radius of the visible input 2D is 1).

2D-only training (the headline model) uses:

- :func:`hidden_xy_loss`: landmarks hidden from the input on purpose must land on their known 2D position;
- :func:`cycle_loss`: lift, rotate the lift to a random novel view, project it with a perspective camera, lift
  that projection again: the second lift must equal the rotated first one up to scale (Chen et al. 2019);
- :func:`critic_loss` / :func:`generator_loss`: a per-category critic on normalised 2D poses tells real training
  2D from re-projected lifts (Drover et al. 2018; non-saturating GAN loss). This is what fixes the depth sign.

- :func:`completion_loss`: the lift of a partly hidden input must match the lift of its completed 2D (hidden
  landmarks at their predicted 2D, every landmark visible), as ``lift()`` completes at inference.

- :func:`symmetry_loss`: a structural prior from the registry, not 3D data: distances that a left/right
  reflection maps onto each other (bone lengths; every distance of a symmetric shape such as a face or a chair)
  must be equal in the lift.

- :func:`template_loss`: for a nearly rigid category (faces), the lift must be close to one shape recovered from
  the training 2D alone by orthographic structure from motion (``geometry.rigid_factorisation``), aligned to it
  by a similarity transform, reflections allowed (the factorisation cannot tell the depth sign).

The 3D-supervised reference model (an upper bound, never the shipped weights) uses :func:`depth_supervised_loss`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lifter.geometry import masked_centre


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x (B, N)`` over ``mask (B, N)``."""
    w = mask.to(x.dtype)
    return (x * w).sum() / w.sum().clamp_min(1.0)


def hidden_xy_loss(lift: torch.Tensor, p_true: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """Squared 2D error of the hidden landmarks: ``lift (B, N, 3)``, ``p_true (B, N, 2)``, ``hidden (B, N)``."""
    if not hidden.any():
        return lift.new_zeros(())
    return _masked_mean(((lift[..., :2] - p_true) ** 2).sum(-1), hidden)


def fit_scale(source: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Least-squares scale ``k (B,)`` minimising ``|k source - target|^2`` over ``mask``; ``(B, N, D)`` inputs."""
    w = mask.to(source.dtype)[..., None]
    return (source * target * w).sum((1, 2)) / (source * source * w).sum((1, 2)).clamp_min(1e-8)


def cycle_loss(lift2: torch.Tensor, rotated: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Second lift vs the rotated first lift, both centred, the rotated one scaled to the second's 2D size.

    Args:
        lift2: ``(B, N, 3)`` lift of the re-projection (normalised units of that re-projection).
        rotated: ``(B, N, 3)`` the first lift after the random rotation (normalised units of the input).
        mask: ``(B, N)`` landmarks taking part.
    """
    a = masked_centre(lift2, mask)
    b = masked_centre(rotated, mask)
    k = fit_scale(b[..., :2], a[..., :2], mask)                              # (B,) size of b in a's units
    return _masked_mean(((a - k[:, None, None] * b) ** 2).sum(-1), mask)


def symmetry_loss(lift: torch.Tensor, mask: torch.Tensor, pairs: torch.Tensor, mirror_pairs: torch.Tensor,
                  eps: float = 0.05) -> torch.Tensor:
    """Relative difference of mirrored distances in the lift.

    Args:
        lift: ``(B, N, 3)`` normalised lift.
        mask: ``(B, N)`` landmarks taking part (a pair counts when its four landmarks do).
        pairs: ``(P, 2)`` token indices ``(i, j)``; mirror_pairs: ``(P, 2)`` the tokens of their mirrors.
        eps: added to the summed lengths (normalised units), so that near-coincident points do not dominate.
    Returns:
        mean over the counted pairs of ``(2 (d - d') / (d + d' + eps))^2``, ``d = |X_i - X_j|``.
    """
    if len(pairs) == 0:
        return lift.new_zeros(())
    length = lambda ij: ((lift[:, ij[:, 0]] - lift[:, ij[:, 1]]) ** 2).sum(-1).add(1e-12).sqrt()  # noqa: E731
    d, dm = length(pairs), length(mirror_pairs)                              # (B, P)
    valid = mask[:, pairs].all(-1) & mask[:, mirror_pairs].all(-1)
    return _masked_mean((2 * (d - dm) / (d + dm + eps)) ** 2, valid)


def template_loss(lift: torch.Tensor, template: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of the lift from a fixed shape aligned to it.

    Args:
        lift: ``(B, N, 3)`` normalised lift; template: ``(N, 3)`` the shape of the same N landmarks;
        mask: ``(B, N)`` landmarks taking part (at least 3 per row).
    Returns:
        mean over the masked landmarks of ``|l - (s Q t + c)|^2``, where ``s, Q`` (orthogonal, det +-1: the template
        may be reflected, so the loss leaves the depth sign to the other losses) and the centroid ``c`` best align
        the template to the lift (closed form, no gradient: the loss moves the lift towards the template).
    """
    lc = masked_centre(lift, mask) * mask[..., None]
    with torch.no_grad():
        tc = masked_centre(template.to(lift.dtype).expand_as(lift), mask) * mask[..., None]
        U, S, Vh = torch.linalg.svd(lc.detach().transpose(1, 2) @ tc)       # (B, 3, 3): sum_n l_n t_n^T
        Q = U @ Vh                                                           # best orthogonal map t -> l
        s = S.sum(-1) / (tc ** 2).sum((1, 2)).clamp_min(1e-12)               # (B,) least-squares scale
        aligned = s[:, None, None] * tc @ Q.transpose(1, 2)
    return _masked_mean(((lc - aligned) ** 2).sum(-1), mask)


def flow_loss(p2: torch.Tensor, flow: nn.Module) -> torch.Tensor:
    """Negative log-likelihood per coordinate of re-projected poses under a fitted 2D pose density.

    Args:
        p2: ``(B, N, 2)`` normalised re-projections of the lift (every landmark given).
        flow: a :class:`lifter.flow.PoseFlow` of the category's normalised training 2D (frozen).
    Returns:
        ``-mean(log p(p2)) / (2 N)``: lower when the re-projections look like real 2D poses (ElePose's prior).
    """
    return -flow.log_prob(p2.reshape(p2.shape[0], -1)).mean() / (2 * p2.shape[1])


def completion_loss(lift: torch.Tensor, relift: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Self-distillation of the hidden-landmark completion that ``lift()`` does at inference: the lift of a
    partly hidden input ``lift (B, N, 3)`` must match ``relift (B, N, 3)``, the (detached) lift of its completed
    2D with every landmark visible, brought to the same units; both centred over ``mask (B, N)``."""
    return masked_mse(lift, relift.detach(), mask)


def critic_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating GAN loss of the critic: real -> high logits, fake -> low; ``(B,)`` logits each."""
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()


def generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """The lifter's adversarial loss: its re-projections should get high critic logits."""
    return F.softplus(-d_fake).mean()


def depth_supervised_loss(lift: torch.Tensor, gt_camera: torch.Tensor, visible: torch.Tensor,
                          present: torch.Tensor) -> torch.Tensor:
    """3D supervision (reference model only): the lift must match the camera-frame ground truth, brought to
    the lift's units by the least-squares scale of its x, y onto the visible input 2D.

    Args:
        lift: ``(B, N, 3)`` normalised lift; gt_camera: ``(B, N, 3)`` ground truth (NaN where absent);
        visible: ``(B, N)`` landmarks given as input; present: ``(B, N)`` landmarks with ground truth.
    """
    gt = torch.nan_to_num(gt_camera)
    g = masked_centre(gt, present)
    p = masked_centre(lift, present)
    k = fit_scale(g[..., :2], p[..., :2], visible).detach()
    return _masked_mean(((p - k[:, None, None] * g) ** 2).sum(-1), present)


class Critic(nn.Module):
    """MLP critic on one category's normalised 2D pose: input ``(B, N, 2)`` + mask ``(B, N)`` -> logits ``(B,)``."""

    def __init__(self, num_landmarks: int, hidden: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3 * num_landmarks, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.to(p.dtype)[..., None]
        return self.net(torch.cat([p * m, m], -1).flatten(1))[:, 0]


def masked_mse(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of centred ``a`` and ``b`` (``(B, N, D)``) over ``mask (B, N)``."""
    return _masked_mean(((masked_centre(a, mask) - masked_centre(b, mask)) ** 2).sum(-1), mask)


def cross_view_loss(shapes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Disagreement of V reconstructions ``(V, B, N, 3)`` of one shape, already in a common frame and units:
    the mean squared distance of each from their mean, over ``mask (B, N)``."""
    centred = torch.stack([masked_centre(s, mask) for s in shapes])
    return _masked_mean(((centred - centred.mean(0, keepdim=True)) ** 2).sum(-1).mean(0), mask)
