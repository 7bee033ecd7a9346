"""One training step, taken apart: its total is the configured weighted sum of the losses it logs (2D-only and
3D-aware), the hidden landmarks are scored in the input's own normalisation and only where the data has them,
the cycle re-lifts the novel view of every landmark the data has, the learning rate follows the schedule, the
critic takes its configured updates, and a hidden block reaches its own maximum."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from data_files import proportions_of, write_train_file
from lifter.finetune import FinetuneConfig
from lifter.geometry import normalise_2d
from lifter.model import LifterConfig
from lifter.train import Trainer, augment, lr_factor
from lifter.train_config import TrainConfig

TINY = LifterConfig(dim=32, depth=2, heads=2, code_dim=16)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def hand_data(tmp_path_factory) -> Path:
    """300 synthetic hands in one view each, a tenth of their landmarks missing from the data at random."""
    from lifter.data.hand import sample_hands

    out = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    hands, _ = sample_hands(300, rng)
    present = rng.random(hands.shape[:2]) > 0.1
    present[:, :4] = True
    write_train_file(out, "hand21", np.where(present[..., None], hands, np.nan), present, rng)
    return out


def _cfg(**kw) -> TrainConfig:
    base = TrainConfig(categories=("hand21",), steps=50, batch_tokens=32 * 21, warmup=5, hide_prob=1.0,
                       checkpoint_every=1000, model=TINY)
    return replace(base, **kw)


def _base_total(cfg: TrainConfig, out: dict) -> float:
    """The 2D-only part of a step's total from its logged losses, as TrainConfig's weights say."""
    total = cfg.hidden_weight * out["hidden"] + cfg.adv_weight * out["adv"]
    total += cfg.cycle_weight * out.get("cycle", 0.0) + cfg.completion_weight * out.get("completion", 0.0)
    total += cfg.symmetry_weight * out.get("symmetry", 0.0)
    total += dict(cfg.template_weights).get("hand21", 0.0) * out.get("template", 0.0)
    return total


def test_a_steps_total_is_the_weighted_sum_of_its_logged_losses(hand_data: Path, tmp_path: Path) -> None:
    from lifter.bone_lengths import save_proportions
    from lifter.data.hand import sample_hands

    cfg = _cfg(hidden_weight=0.7, cycle_weight=1.3, adv_weight=0.45, completion_weight=0.6,
               template_weights=(("hand21", 2.5),))
    trainer = Trainer(cfg, hand_data, CPU)
    out = trainer.step()
    assert {"hidden", "cycle", "adv", "completion", "template"} <= set(out)
    assert out["total"] == pytest.approx(_base_total(cfg, out), rel=1e-5)
    trainer.save(tmp_path / "start")

    bones = tmp_path / "bones.safetensors"
    save_proportions(bones, {"hand21": proportions_of(sample_hands(1, np.random.default_rng(0))[0][0])}, {})
    ft = replace(cfg, init_from=str(tmp_path / "start"), finetune_3d_aware=True,
                 finetune=FinetuneConfig(anchor_weight=0.8, render_weight=1.7, cross_view_weight=0.35,
                                         distill_weight=2.2, teacher_bones=str(bones), teacher_reading="perspective"))
    out = Trainer(ft, hand_data, CPU).step()
    assert {"render", "cross_view", "distill"} <= set(out)
    expected = 0.8 * _base_total(ft, out) + 1.7 * out["render"] + 0.35 * out["cross_view"] + 2.2 * out["distill"]
    assert out["total"] == pytest.approx(expected, rel=1e-5)


def test_hidden_landmarks_are_scored_in_the_inputs_normalisation_where_the_data_has_them(hand_data: Path) -> None:
    """A lift whose x, y are every data landmark's true 2D in the input's normalisation (and far off where the
    data has none) has a zero hidden-landmark loss; the cycle's second lift is given every landmark the data
    has, not only those the first was shown."""
    trainer = Trainer(_cfg(hide_max=0.5), hand_data, CPU)
    seen: dict[str, object] = {}
    batch, lift_input, lift_normalised = trainer.batch, trainer.lift_input, trainer.model.lift_normalised

    def recorded_batch(category):
        seen["batch"] = batch(category)
        return seen["batch"]

    def oracle(p_in, shown, category, index):
        b = seen["batch"]
        _, centre, scale = normalise_2d(b["points"], b["shown"])
        xy = (torch.nan_to_num(b["points"]) - centre[:, None]) / scale[:, None, None]
        xy = torch.where(b["full"][..., None], xy, torch.full_like(xy, 50.0))
        lift, elevation = lift_input(p_in, shown, category, index)
        return torch.cat([xy, lift[..., 2:]], -1), elevation

    masks = []

    def recorded_lift(p, mask, *args, **kwargs):
        masks.append(mask.clone())
        return lift_normalised(p, mask, *args, **kwargs)

    trainer.batch, trainer.lift_input, trainer.model.lift_normalised = recorded_batch, oracle, recorded_lift
    out = trainer.step()
    b = seen["batch"]
    assert (b["full"] & ~b["shown"]).any() and (~b["full"]).any()          # hidden on purpose, and absent
    assert out["hidden"] == pytest.approx(0.0, abs=1e-10)
    assert len(masks) == 2 and torch.equal(masks[0], b["shown"]) and torch.equal(masks[1], b["full"])


def test_the_learning_rate_follows_the_schedule_and_the_critic_its_updates(hand_data: Path) -> None:
    cfg = _cfg(critic_steps=3, lr=2e-3)
    trainer = Trainer(cfg, hand_data, CPU)
    for k in range(7):
        trainer.step()
        assert trainer.opt.param_groups[0]["lr"] == pytest.approx(cfg.lr * lr_factor(k, cfg))
    assert lr_factor(0, cfg) < lr_factor(4, cfg) == 1.0
    state = trainer.critic_opt.state[next(trainer.critics.parameters())]
    assert int(state["step"]) == 7 * 3


def test_a_hidden_block_reaches_its_own_maximum_not_the_scattered_ones() -> None:
    cfg = _cfg(hide_prob=0.0, hide_max=0.05, block_prob=1.0, block_max=0.6)
    points = torch.randn(400, 21, 2)
    visible = torch.ones(400, 21, dtype=torch.bool)
    _, full, shown = augment(points, visible, "hand21", cfg, torch.Generator().manual_seed(0))
    hidden = (full & ~shown).sum(1)
    assert hidden.max() > 0.4 * 21 and hidden.max() <= int(0.6 * 21) and (shown.sum(1) >= 3).all()
