"""Left/right mirror images (:mod:`lifter.mirroring`): numpy and torch alike, in their own dtype, undone exactly."""

from __future__ import annotations

import numpy as np
import torch

from lifter.mirroring import mirror_back, mirror_image, mirror_permutation


def test_a_mirror_image_keeps_its_type_and_dtype_and_mirroring_back_undoes_it() -> None:
    perm = mirror_permutation("human17")
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(3, 17, 2)).astype(np.float32)
    lift = rng.normal(size=(3, 17, 3)).astype(np.float32)
    image = mirror_image(pts, perm)
    assert image.dtype == np.float32
    np.testing.assert_array_equal(image[:, perm] * np.array([-1.0, 1.0], np.float32), pts)
    back = mirror_back(mirror_back(lift, perm), perm)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, lift)                            # mirroring twice: the identity
    as_torch = mirror_image(torch.as_tensor(pts), torch.as_tensor(perm))
    assert as_torch.dtype == torch.float32
    np.testing.assert_array_equal(as_torch.numpy(), image)
    assert mirror_permutation("hand21") is None and mirror_permutation("no_such") is None
