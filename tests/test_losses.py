"""The training losses against closed forms: the adversarial pair's signs (they are what settles the depth sign in
training, and a swapped one still trains, on the wrong target) and the cycle's invariance to the lift's scale."""

from __future__ import annotations

import math

import numpy as np
import torch

from lifter.geometry import rotation_y
from lifter.losses import critic_loss, cycle_loss, generator_loss


def test_the_critic_is_rewarded_for_high_logits_on_real_poses_and_low_on_lifted_ones() -> None:
    zeros = torch.zeros(4)
    assert math.isclose(float(critic_loss(zeros, zeros)), 2 * math.log(2), rel_tol=1e-6)    # undecided critic
    sure = torch.full((4,), 10.0)
    assert float(critic_loss(sure, -sure)) < 1e-3                       # right: real high, fake low
    assert float(critic_loss(-sure, sure)) > 19.9                      # wrong way round: about 2 x 10
    # the two halves are the softplus of each side, closed form: log(1 + e^-r) + log(1 + e^f)
    real, fake = torch.tensor([0.3, -1.2]), torch.tensor([2.0, -0.5])
    want = torch.log1p(torch.exp(-real)).mean() + torch.log1p(torch.exp(fake)).mean()
    assert torch.allclose(critic_loss(real, fake), want)


def test_the_lifter_is_rewarded_when_the_critic_takes_its_reprojections_for_real() -> None:
    sure = torch.full((3,), 10.0)
    assert float(generator_loss(sure)) < 1e-3 and float(generator_loss(-sure)) > 9.9
    assert math.isclose(float(generator_loss(torch.zeros(3))), math.log(2), rel_tol=1e-6)


def test_the_cycle_loss_ignores_scale_and_translation_but_not_shape() -> None:
    """The second lift lives in its re-projection's normalised units: the rotated first lift at any scale and
    offset reads 0 against it; another shape does not."""
    gen = torch.Generator().manual_seed(0)
    lift = torch.randn(2, 9, 3, generator=gen)
    R = torch.as_tensor(rotation_y(np.array([0.4, -1.1])), dtype=torch.float32)       # (2, 3, 3)
    rotated = lift @ R.transpose(-1, -2)
    mask = torch.ones(2, 9, dtype=torch.bool)
    second = rotated / 3.7 + torch.tensor([0.5, -2.0, 1.0])
    assert float(cycle_loss(second, rotated, mask)) < 1e-10
    other = second.clone()
    other[:, 0, 2] += 0.5                                                  # one depth moved
    assert float(cycle_loss(other, rotated, mask)) > 1e-3
    hidden = mask.clone()
    hidden[:, 0] = False                                                   # ... where it is not taking part: 0
    assert float(cycle_loss(other, rotated, hidden)) < 1e-10
