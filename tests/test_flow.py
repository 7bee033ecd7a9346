"""The ElePose-style 2D pose likelihood (lifter.flow, losses.flow_loss, --flow-weight): a fitted flow prefers
held-out poses of its data to foreign ones, fitting is seeded and leaves the global random state alone, the loss
pulls poses towards the data, and training adds and records it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from lifter.flow import FlowConfig, PoseFlow, fit_pose_flow
from lifter.geometry import normalise_2d
from lifter.losses import flow_loss

SMALL = FlowConfig(layers=4, hidden=64, steps=300, batch=256, lr=3e-3)


def _poses(n: int, seed: int, spread: float = 0.05) -> torch.Tensor:
    """``(n, 6, 2)`` normalised 2D poses: one fixed 6-point shape, jittered and turned about the image normal
    by up to 30 deg."""
    g = torch.Generator().manual_seed(seed)
    base = torch.tensor([[0.0, -1.0], [0.5, -0.3], [-0.5, -0.3], [0.4, 0.8], [-0.4, 0.8], [0.0, 0.2]])
    angle = (torch.rand(n, generator=g) * 2 - 1) * np.radians(30)
    c, s = angle.cos(), angle.sin()
    R = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)         # (n, 2, 2)
    pts = base @ R.transpose(1, 2) + spread * torch.randn(n, 6, 2, generator=g)
    return normalise_2d(pts, torch.ones(n, 6, dtype=torch.bool))[0]


@pytest.fixture(scope="module")
def flow():
    torch.set_num_threads(2)
    return fit_pose_flow(_poses(4000, 0), SMALL, seed=0)


def test_flow_prefers_held_out_poses_of_its_data(flow) -> None:
    held_out = _poses(500, 1)
    foreign = normalise_2d(torch.randn(500, 6, 2, generator=torch.Generator().manual_seed(2)),
                           torch.ones(500, 6, dtype=torch.bool))[0]                   # random point sets
    lp_in = flow.log_prob(held_out.reshape(500, -1))
    lp_out = flow.log_prob(foreign.reshape(500, -1))
    assert torch.isfinite(lp_in).all() and torch.isfinite(lp_out).all()
    assert lp_in.mean() > lp_out.mean() + 10                                 # nats per pose of 12 coordinates
    assert (lp_in.median() > lp_out.quantile(0.95))
    assert not any(p.requires_grad for p in flow.parameters())


def test_flow_fit_is_seeded_and_leaves_the_global_random_state(flow) -> None:
    torch.manual_seed(123)                   # not the state a fit's own seeding (seed 0) would leave behind
    state = torch.get_rng_state()
    again = fit_pose_flow(_poses(4000, 0), SMALL, seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    x = _poses(50, 3).reshape(50, -1)
    torch.testing.assert_close(again.log_prob(x), flow.log_prob(x), rtol=0, atol=0)
    other = fit_pose_flow(_poses(4000, 0), replace(SMALL, steps=20), seed=1)
    assert not torch.allclose(other.log_prob(x), flow.log_prob(x))
    with pytest.raises(ValueError, match="finite"):
        fit_pose_flow(torch.full((10, 6, 2), float("nan")), SMALL)


def test_flow_loss_pulls_poses_towards_the_data(flow) -> None:
    poses = _poses(200, 4, spread=0.25).requires_grad_(True)             # noisier than the data
    loss = flow_loss(poses, flow)
    loss.backward()
    moved = (poses - 0.01 * poses.grad).detach()
    assert flow_loss(moved, flow) < loss.detach()
    assert flow_loss(_poses(200, 4), flow) < loss.detach()              # the data's own spread scores better


def test_flow_weight_adds_the_loss_and_is_recorded(tmp_path: Path, capsys) -> None:
    from data_files import write_hand_data
    from lifter.model import LifterConfig
    from lifter.train import Trainer, fit_category_flow
    from lifter.train_config import TrainConfig, config_from_dict
    from lifter.train import main as train_main

    def _cfg(**kw) -> TrainConfig:
        return TrainConfig(categories=("hand21",), steps=10, batch_tokens=64 * 21, warmup=2,
                           model=LifterConfig(dim=32, depth=2, heads=2, code_dim=16), **kw)

    data = tmp_path / "data"
    write_hand_data(data, 1500, 50)
    cfg = _cfg(flow_weights=(("hand21", 0.5),), flow=SMALL)
    trainer = Trainer(cfg, data, torch.device("cpu"))
    losses = trainer.step()
    plain = Trainer(_cfg(), data, torch.device("cpu")).step()
    assert "flow" in losses and "flow" not in plain and np.isfinite(losses["flow"])
    assert losses["total"] == pytest.approx(plain["total"] + 0.5 * losses["flow"], rel=1e-5)  # same batch
    # Chairs lack keypoints: no fixed, complete set of coordinates for a flow.
    d = trainer.data["hand21"]
    d.visible[0, 3] = False
    with pytest.raises(ValueError, match="fully visible"):
        fit_category_flow(d, cfg)
    for bad in (["face468=1"], ["hand21=-1"]):
        with pytest.raises(SystemExit):
            train_main(["--data", str(data), "--out", str(tmp_path / "bad"), "--categories", "hand21",
                        "--flow-weight", *bad])
        assert "--flow-weight" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_main(["--data", str(data), "--out", str(tmp_path / "bad"), "--categories", "hand21",
                    "--flow-weight", "hand21=1", "--flow-steps", "0"])
    assert "--flow-steps" in capsys.readouterr().err
    train_main(["--data", str(data), "--out", str(tmp_path / "run"), "--categories", "hand21", "--steps", "2",
                "--dim", "32", "--depth", "2", "--heads", "2", "--flow-weight", "hand21=0.25", "--flow-steps", "20",
                "--quiet"])
    record = json.loads((tmp_path / "run" / "checkpoint.json").read_text())
    assert record["config"]["flow_weights"] == [["hand21", 0.25]]
    restored = config_from_dict(record["config"])
    assert restored.flow_weights == (("hand21", 0.25),) and restored.flow == FlowConfig(steps=20)


def _unfitted(poses: torch.Tensor, seed: int = 0) -> PoseFlow:
    """A flow fitted for no steps: standardisation set, couplings as initialised."""
    return fit_pose_flow(poses, replace(SMALL, steps=0), seed=seed)


def test_an_unfitted_flow_is_the_gaussian_of_the_data_widened_by_the_noise() -> None:
    """The couplings start as the identity, so before any step the density is the independent Gaussian of the
    poses' per-coordinate mean and variance plus the noise's."""
    poses = _poses(300, 5).reshape(300, -1)
    flow = _unfitted(poses.reshape(300, 6, 2))
    x = _poses(20, 6).reshape(20, -1)
    gauss = torch.distributions.Normal(poses.mean(0), torch.sqrt(poses.var(0) + SMALL.noise ** 2))
    torch.testing.assert_close(flow.log_prob(x), gauss.log_prob(x).sum(-1), rtol=1e-5, atol=1e-4)


def test_at_most_max_poses_evenly_strided_are_fitted() -> None:
    poses = torch.arange(7 * 12, dtype=torch.float32).reshape(7, 6, 2) ** 1.5
    flow = fit_pose_flow(poses, replace(SMALL, steps=0, max_poses=3))
    torch.testing.assert_close(flow.mean, poses.reshape(7, -1)[[0, 3, 6]].mean(0))
    with pytest.raises(ValueError, match="at least 2 finite poses"):
        fit_pose_flow(poses[:1], SMALL)


def _forward(flow: PoseFlow, x: torch.Tensor) -> torch.Tensor:
    """The flow's map ``x (D,) -> z (D,)``."""
    z = (x - flow.mean) / flow.std
    for c in flow.couplings:
        z = c(z[None])[0][0]
    return z


def test_coupling_is_the_documented_affine_map_of_the_free_half() -> None:
    """With the MLP's output held at constants (s, t): the masked half kept, the other ``x exp(tanh s) + t``, and
    the log-determinant the sum of ``tanh s`` over the free half."""
    from lifter.flow import _Coupling

    mask = torch.tensor([1.0, 0.0, 1.0, 0.0])
    c = _Coupling(4, mask, hidden=8)
    s, t = torch.tensor([0.3, -0.7, 1.2, 0.5]), torch.tensor([2.0, -1.0, 4.0, 0.25])
    with torch.no_grad():
        c.net[-1].bias.copy_(torch.cat([s, t]))
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    z, logdet = c(x)
    expected = torch.tensor([[1.0, 2.0 * np.exp(np.tanh(-0.7)) - 1.0, 3.0, 4.0 * np.exp(np.tanh(0.5)) + 0.25]])
    torch.testing.assert_close(z, expected.float())
    torch.testing.assert_close(logdet, torch.tensor([np.tanh(-0.7) + np.tanh(0.5)]).float())


def test_log_prob_is_the_change_of_variables_of_its_map() -> None:
    """With every coupling's weights random, ``log_prob(x)`` is the standard normal density of ``z(x)`` plus
    ``log |det dz/dx|`` (the Jacobian taken by autograd); each coupling leaves half the coordinates alone and
    every coordinate is moved by some coupling."""
    flow = _unfitted(_poses(300, 7))
    torch.manual_seed(8)
    with torch.no_grad():
        for c in flow.couplings:
            for p in c.net.parameters():
                p.copy_(0.3 * torch.randn_like(p))
    masks = torch.stack([c.mask for c in flow.couplings])
    assert (masks.sum(1) == 6).all() and (masks == 0).any(0).all() and len({tuple(m.tolist()) for m in masks}) > 1
    for x in _poses(3, 9).reshape(3, -1):
        jac = torch.autograd.functional.jacobian(lambda v: _forward(flow, v), x)
        z = _forward(flow, x)
        expected = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum() + torch.linalg.slogdet(jac.double())[1]
        torch.testing.assert_close(flow.log_prob(x[None])[0].double(), expected, rtol=1e-5, atol=1e-4)


def test_flow_poses_add_the_mirror_images_only_when_asked() -> None:
    from lifter.flow import flow_poses
    from lifter.skeletons import get_category

    g = torch.Generator().manual_seed(10)
    points = torch.rand(4, 17, 2, generator=g) * 100
    visible = torch.ones(4, 17, dtype=torch.bool)
    visible[0, 5] = False
    normalised = normalise_2d(points, visible)[0]
    torch.testing.assert_close(flow_poses(points, visible, "human17", mirror=False), normalised)
    both = flow_poses(points, visible, "human17")
    perm = list(get_category("human17").mirror_permutation())
    assert both.shape == (8, 17, 2)
    torch.testing.assert_close(both[:4], normalised)
    torch.testing.assert_close(both[4:, :, 0], -normalised[:, perm, 0])          # x negated, left and right swapped
    torch.testing.assert_close(both[4:, :, 1], normalised[:, perm, 1])
    hands = torch.rand(3, 21, 2, generator=g)
    assert flow_poses(hands, torch.ones(3, 21, dtype=torch.bool), "hand21").shape == (3, 21, 2)   # no pairs


def test_a_coordinate_every_mask_keeps_is_freed_without_keeping_another() -> None:
    from lifter.flow import _free_every_coordinate

    masks = [torch.tensor([1.0, 1.0, 0.0, 0.0]), torch.tensor([1.0, 0.0, 1.0, 0.0])]    # coordinate 0 never moved
    _free_every_coordinate(masks)
    assert masks[0].tolist() == [1.0, 1.0, 0.0, 0.0] and masks[1].tolist() == [0.0, 0.0, 1.0, 1.0]
    covering = [torch.tensor([1.0, 0.0, 1.0, 0.0]), torch.tensor([0.0, 1.0, 0.0, 1.0])]
    _free_every_coordinate(covering)                                   # already moving every coordinate: as it was
    assert covering[0].tolist() == [1.0, 0.0, 1.0, 0.0] and covering[1].tolist() == [0.0, 1.0, 0.0, 1.0]
    masks_of = [torch.stack([c.mask for c in _unfitted(_poses(50, 0), seed).couplings]) for seed in (0, 1)]
    assert not torch.equal(*masks_of)                                 # each seed draws its own halves
    one = fit_pose_flow(_poses(50, 0), replace(SMALL, layers=1, steps=0))  # a single layer keeps its half
    assert one.couplings[0].mask.sum() == 6


def test_the_noise_gives_poses_on_a_thin_set_a_finite_thickness() -> None:
    """Poses on a one-parameter set (one shape turned in the image, no jitter): fitted with the noise, poses of
    that set jittered at the noise's scale stay about as likely as the set's own; fitted to the bare set the flow
    would squeeze its density onto the set and find them orders of magnitude less likely."""
    flow = fit_pose_flow(_poses(2000, 0, spread=0.0), SMALL, seed=0)
    held_out = _poses(300, 1, spread=0.0).reshape(300, -1)
    jittered = held_out + SMALL.noise * torch.randn(300, 12, generator=torch.Generator().manual_seed(3))
    assert flow.log_prob(held_out).mean() - flow.log_prob(jittered).mean() < 15       # nats per pose
