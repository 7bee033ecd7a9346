"""The mirror-symmetry prior: the registry's symmetric distance pairs and :func:`lifter.losses.symmetry_loss`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lifter.geometry import random_rotations
from lifter.losses import symmetry_loss
from lifter.skeletons import get_category
from lifter.train import symmetric_pairs


def symmetric_shape(category: str, rng: np.random.Generator) -> np.ndarray:
    """A random ``(N, 3)`` shape that the reflection x -> -x maps onto itself with the mirror pairs swapped."""
    perm = np.asarray(get_category(category).mirror_permutation())
    x = rng.normal(size=(len(perm), 3))
    return 0.5 * (x + x[perm] * np.array([-1.0, 1.0, 1.0]))


def test_pairs_of_each_category() -> None:
    assert symmetric_pairs("hand21", None)[0].shape == (0, 2)              # no mirror pairs: no prior
    human = get_category("human17")
    pairs, mirrored = symmetric_pairs("human17", None)
    assert len(pairs) == 12                                              # the 12 left/right bones, not the spine
    names = {(human.landmarks[i], human.landmarks[j]) for i, j in pairs.tolist()}
    assert ("l_hip", "l_knee") in names and ("r_hip", "r_knee") in names
    chair = get_category("chair")
    flat = set(symmetric_pairs("chair", None)[0].flatten().tolist())
    assert not flat & set(chair.off_symmetry) and {0, 1, 15, 16} <= flat  # feet left out; backrest, column in


@pytest.mark.parametrize("category", ["human17", "face468", "chair"])
def test_loss_is_zero_on_a_symmetric_shape_only(category: str) -> None:
    rng = np.random.default_rng(1)
    shape = torch.tensor(np.stack([symmetric_shape(category, rng) for _ in range(4)]), dtype=torch.float32)
    shape = shape @ random_rotations(4, torch.Generator().manual_seed(0), 30.0).transpose(1, 2)  # any pose
    mask = torch.ones(shape.shape[:2], dtype=torch.bool)
    index = torch.randperm(shape.shape[1], generator=torch.Generator().manual_seed(2))[:128].sort().values
    sub = index if shape.shape[1] > 128 else None                        # the face trains on landmark subsets
    pairs, mirrored = symmetric_pairs(category, sub)
    tokens = shape if sub is None else shape[:, sub]
    assert len(pairs) > 5
    assert symmetry_loss(tokens, mask[:, :tokens.shape[1]], pairs, mirrored) < 1e-8
    # Push one side's landmarks away in depth: the distances stop matching their mirrors.
    left = torch.tensor([i for i, j in get_category(category).mirror_pairs])
    bent = shape.clone()
    bent[:, left, 2] += 0.5
    bent_tokens = bent if sub is None else bent[:, sub]
    assert symmetry_loss(bent_tokens, mask[:, :tokens.shape[1]], pairs, mirrored) > 1e-3
    # Masked landmarks do not count: hiding every left landmark leaves no complete pair.
    hidden = mask.clone()
    hidden[:, left] = False
    hidden_tokens = hidden if sub is None else hidden[:, sub]
    assert symmetry_loss(bent_tokens, hidden_tokens, pairs, mirrored) == 0


def test_depth_alone_can_restore_symmetry() -> None:
    """With x, y fixed (the lift's form), gradient steps on the depths alone drive the loss down: it constrains
    exactly what a 2D-only lifter has to guess."""
    rng = np.random.default_rng(4)
    shape = torch.tensor(np.stack([symmetric_shape("human17", rng) for _ in range(8)]), dtype=torch.float32)
    shape = shape @ random_rotations(8, torch.Generator().manual_seed(1), 20.0).transpose(1, 2)
    z = torch.nn.Parameter(torch.randn(8, 17, generator=torch.Generator().manual_seed(3)))
    pairs, mirrored = symmetric_pairs("human17", None)
    mask = torch.ones(8, 17, dtype=torch.bool)
    lift = lambda: torch.cat([shape[..., :2], z[..., None]], -1)  # noqa: E731
    start = float(symmetry_loss(lift(), mask, pairs, mirrored).detach())
    opt = torch.optim.Adam([z], lr=0.02)
    for _ in range(300):
        opt.zero_grad()
        symmetry_loss(lift(), mask, pairs, mirrored).backward()
        opt.step()
    assert float(symmetry_loss(lift(), mask, pairs, mirrored).detach()) < 0.05 * start
