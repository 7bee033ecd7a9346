"""Train the lifter: ``python -m lifter.train --data data/ --out runs/lifter``.

Reads only ``points2d`` and ``visible`` of ``<category>_train.npz`` for 2D-only training (the headline model);
``--supervision 3d`` trains the 3D-supervised reference (an upper bound, never shipped) from ``points3d``.

Each step trains on one category (round robin: category-balanced by default; ``--category-weights human17=2``
gives a category that many steps per cycle), on a batch of training 2D poses drawn
without replacement from a fresh shuffle each epoch, mirrored at random (with the category's mirror pairs), with
extra landmarks hidden at random (missing-landmark training). 2D-only losses: see ``lifter.losses``.

Checkpoints (``checkpoint.safetensors`` + ``checkpoint.json``: model, critics, optimisers, random states; the
record is also kept inside the tensors file, so the pair survives a kill while saving) are written every
``--checkpoint-every`` steps, at the end, and when SIGINT (Ctrl-C) or SIGTERM stops the run after its step in
progress; ``--resume`` continues from them bit for bit. A loss that is no longer finite ends the run, the last
checkpoint kept (:mod:`lifter.stopping`).

The recipe is :class:`lifter.train_config.TrainConfig`; the command line, :mod:`lifter.train_cli`; reading a run
folder back, :mod:`lifter.runs`.
"""

from __future__ import annotations

import copy
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from tqdm import tqdm

from lifter.batch_check import available_memory, batch_problems, batch_size
from lifter.devices import processor_description
from lifter.finetune import finetune_losses
from lifter.flow import PoseFlow, fit_pose_flow, flow_poses
from lifter.geometry import normalise_2d, random_perspective_view, rigid_factorisation, unproject_lift
from lifter.losses import (Critic, completion_loss, critic_loss, cycle_loss, depth_supervised_loss, flow_loss,
                           generator_loss, hidden_xy_loss, masked_mse, symmetry_loss, template_loss)
from lifter.masking import block_keys, hide_first
from lifter.bone_lengths import load_proportions
from lifter.checked_files import sha256_file
from lifter.model import Lifter, LifterConfig
from lifter.runs import (CHECKPOINT_META_KEY, ema_prefix, init_sha256, load_init, prefixed, read_checkpoint_tensors,
                         read_meta)
from lifter.skeletons import get_category
from lifter.stopping import TrainingError, TrainingInterrupted, non_finite_losses, stop_requests
from lifter.views import read_data_file
from lifter.train_config import (ALL_CATEGORIES, EMA_WARMUPS, TrainConfig, check_batch_tokens, check_ema_decays,
                                 check_flow_weights, check_symmetry_categories, check_template_weights, step_schedule)


class TrainData:
    """One category's training 2D: ``points (M, N, 2)`` float32 (NaN where missing), ``visible (M, N)``."""

    def __init__(self, path: Path, category: str, need_3d: bool) -> None:
        """Raises :class:`lifter.views.DataFileError` naming ``path`` for a file that is not a training file of
        ``category`` (not an .npz, another category, arrays missing or of the wrong shape, no poses)."""
        f = read_data_file(path, category, ("points2d", "visible") + (("points3d", "present") if need_3d else ()))
        points, visible, points3d, present = f["points2d"], f["visible"], f.get("points3d"), f.get("present")
        self.points = torch.from_numpy(np.nan_to_num(points))
        self.visible = torch.from_numpy(visible)
        self.points3d = None if points3d is None else torch.from_numpy(points3d)
        self.present = None if present is None else torch.from_numpy(present)
        self.category = category
        self.order = torch.empty(0, dtype=torch.long)
        self.cursor = 0
        self.epoch = 0

    def next_indices(self, batch: int, gen: torch.Generator) -> torch.Tensor:
        """The next ``batch`` sample indices of the current epoch's shuffle (a new shuffle per epoch)."""
        if self.cursor + batch > len(self.order):
            self.order = torch.randperm(len(self.points), generator=gen)
            self.cursor = 0
            self.epoch += 1
        idx = self.order[self.cursor:self.cursor + batch]
        self.cursor += batch
        return idx


def fit_category_flow(data: "TrainData", cfg: TrainConfig) -> PoseFlow:
    """The 2D pose density of ``--flow-weight`` for one category: a :class:`lifter.flow.PoseFlow` fitted to its
    normalised training 2D (and their left/right mirror images when training mirrors them), seeded with the
    run's seed. Raises ``ValueError`` for training 2D with missing landmarks or more than ``max_tokens``
    landmarks (the flow models a fixed, complete set of coordinates)."""
    n = data.points.shape[1]
    if not bool(data.visible.all()) or n > cfg.max_tokens:
        raise ValueError(f"a flow prior needs fully visible training 2D with at most {cfg.max_tokens} landmarks; "
                         f"{data.category} has {n} landmarks, {100 * float(data.visible.float().mean()):.0f} % "
                         f"visible")
    poses = flow_poses(data.points, data.visible, data.category, mirror=cfg.mirror_prob > 0)
    return fit_pose_flow(poses, cfg.flow, seed=cfg.seed)


def check_training_files(data_dir: Path | str, categories: tuple[str, ...]) -> None:
    """Raise ``FileNotFoundError`` naming every ``<category>_train.npz`` of ``categories`` missing from
    ``data_dir``, with the command that builds them."""
    absent = [c for c in categories if not (Path(data_dir) / f"{c}_train.npz").exists()]
    if absent:
        missing = ", ".join(str(Path(data_dir) / f"{c}_train.npz") for c in absent)
        raise FileNotFoundError(f"{missing} not found: run `python -m lifter.data build --source ../shared/data --out "
                                f"{data_dir} --categories {' '.join(absent)}` first")


def augment(points: torch.Tensor, visible: torch.Tensor, category: str, cfg: TrainConfig,
            gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mirror at random and hide extra landmarks: scattered at random (``cfg.hide_prob``, up to ``cfg.hide_max``)
    or, with ``cfg.block_prob``, a block (up to ``cfg.block_max`` of the visible landmarks, those furthest along a
    random 2D direction).

    Returns ``points (B, N, 2)``, the data's visibility ``full (B, N)``, and the input visibility
    ``shown (B, N)`` (``full`` minus the landmarks hidden on purpose, at least 3 kept).
    """
    cat = get_category(category)
    B, N, _ = points.shape
    if cat.mirror_pairs and cfg.mirror_prob > 0:
        flip = torch.rand(B, generator=gen) < cfg.mirror_prob
        perm = torch.tensor(cat.mirror_permutation())
        mirrored = points[:, perm] * torch.tensor([-1.0, 1.0])
        points = torch.where(flip[:, None, None], mirrored, points)
        visible = torch.where(flip[:, None], visible[:, perm], visible)
    hide = torch.rand(B, generator=gen) < cfg.hide_prob
    frac = torch.rand(B, generator=gen) * cfg.hide_max
    keys = torch.rand(B, N, generator=gen).masked_fill(~visible, 2.0)
    if cfg.block_prob > 0:                   # drawn only then: runs without blocks keep their random stream
        block = torch.rand(B, generator=gen) < cfg.block_prob
        keys = torch.where(block[:, None], block_keys(points, visible, gen), keys)
        frac = torch.where(block, torch.rand(B, generator=gen) * cfg.block_max, frac)
        hide = hide | block
    return points, visible, hide_first(keys, visible, frac, hide)


def novel_view(lift: torch.Tensor, mask: torch.Tensor, cfg: TrainConfig, gen: torch.Generator,
               elevation: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """The cycle's novel view of the lift (``geometry.random_perspective_view`` with the recipe's tilt and
    distances, turned about the vertical of ``elevation (B,)`` when given): the rotated lift ``(B, N, 3)``, its
    normalised projection ``(B, N, 2)``, and that view's ``centre (B, 2)``, ``scale (B,)`` and camera
    ``distance (B,)`` (for ``geometry.unproject_lift``)."""
    return random_perspective_view(lift, mask, cfg.max_tilt_deg, cfg.distance_range, gen, elevation)[1:]


def scatter_subset(p_real: torch.Tensor, p_fake: torch.Tensor, mask: torch.Tensor, index: torch.Tensor | None,
                   n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Place a landmark subset ``index (K,)`` of ``(B, K, 2)`` poses into the category's full ``(B, n, 2)``
    layout (zeros and mask False elsewhere), so that one critic per category sees every batch."""
    if index is None:
        return p_real, p_fake, mask
    B = p_real.shape[0]
    full = lambda x: x.new_zeros((B, n) + x.shape[2:]).index_copy(1, index, x)  # noqa: E731
    return full(p_real), full(p_fake), full(mask)


@lru_cache(maxsize=None)
def _all_symmetric_pairs(category: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The category's symmetric distance pairs ``(P, 2)`` and their mirrors ``(P, 2)``, built once (108,680 for
    the face, which would otherwise be rebuilt in Python at every face step)."""
    cat = get_category(category)
    pairs = torch.tensor(cat.symmetric_distance_pairs(), dtype=torch.long).reshape(-1, 2)
    return pairs, torch.tensor(cat.mirror_permutation(), dtype=torch.long)[pairs]


def symmetric_pairs(category: str, index: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Token pairs ``(P, 2)`` and the tokens of their mirrors ``(P, 2)`` for :func:`lifter.losses.symmetry_loss`:
    the category's symmetric distance pairs whose four landmarks are among the tokens ``index (K,)`` (default:
    all landmarks, in order)."""
    pairs, mirrored = _all_symmetric_pairs(category)
    if index is None:
        return pairs, mirrored
    pos = torch.full((get_category(category).num_landmarks,), -1, dtype=torch.long)
    pos[index.cpu()] = torch.arange(len(index))
    pairs, mirrored = pos[pairs], pos[mirrored]
    keep = (pairs >= 0).all(1) & (mirrored >= 0).all(1)
    return pairs[keep], mirrored[keep]


def ema_factor(decay: float, t: int, warmup: str = "mean") -> float:
    """The factor ``d`` of a weight average's update ``ema = d * ema + (1 - d) * weights`` after step ``t``
    (1, 2, ...). ``"mean"``: ``min(decay, 1 - 1/t)``, so the average is exactly the mean of the weights after
    steps 1..t until ``t`` reaches ``1 / (1 - decay)``, then an exponential average at ``decay``. ``"tf"``:
    ``min(decay, (1 + t) / (10 + t))`` (TensorFlow's ``num_updates`` rule), kept for runs recorded with it."""
    if t < 1:
        raise ValueError(f"weight averages are updated after steps 1, 2, ..., got step {t}")
    if warmup == "mean":
        return min(decay, 1.0 - 1.0 / t)
    if warmup == "tf":
        return min(decay, (1.0 + t) / (10.0 + t))
    raise ValueError(f"unknown weight-average warm-up {warmup!r} (expected one of {EMA_WARMUPS})")


def make_optimiser(params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=(0.9, 0.99))


def lr_factor(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(cfg.steps - cfg.warmup, 1)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))


class Trainer:
    """Holds the model, critics, optimisers and data; :meth:`step` does one training step."""

    def __init__(self, cfg: TrainConfig, data_dir: Path, device: torch.device) -> None:
        cfg.check()
        self.cfg, self.device, self.data_dir = cfg, device, Path(data_dir)
        self.command = ""                                         # the command line, recorded with checkpoints
        self.init_sha256 = init_sha256(cfg.init_from) if cfg.init_from else None   # the start, checked on resume
        bones = cfg.finetune.teacher_bones if cfg.finetune_3d_aware else None
        self.teacher_bones_sha256 = sha256_file(bones) if bones and Path(bones).is_file() else None   # ... and these
        torch.manual_seed(cfg.seed)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        check_training_files(data_dir, cfg.categories)
        self.data_sha256 = {c: sha256_file(Path(data_dir) / f"{c}_train.npz") for c in cfg.categories}   # resume
        self.data = {c: TrainData(Path(data_dir) / f"{c}_train.npz", c, need_3d=cfg.supervision == "3d")
                     for c in cfg.categories}
        model_cfg = LifterConfig(**{**asdict(cfg.model), "categories": {c: get_category(c).num_landmarks
                                                                           for c in ALL_CATEGORIES}})
        cfg.model = model_cfg
        for option, on in (("learned_elevation", cfg.learned_elevation),
                           ("finetune.learned_elevation", cfg.finetune_3d_aware and cfg.finetune.learned_elevation)):
            if on and not model_cfg.elevation_head:
                raise ValueError(f"{option} needs a model with an elevation head (LifterConfig.elevation_head)")
        self.model = Lifter(model_cfg).to(device)
        self.model.bf16 = cfg.precision == "bf16"
        self.model.bf16_attention = cfg.bf16_attention                # the teacher, a copy, inherits it
        self.critics = torch.nn.ModuleDict({c: Critic(get_category(c).num_landmarks) for c in cfg.categories})
        self.critics.to(device)
        self.teacher: Lifter | None = None
        self.critics_fresh = True                                 # no trained critics yet: warm them up first
        if cfg.init_from:
            model_state, critic_state, _ = load_init(cfg.init_from, cfg.init_ema)
            self.model.load_state_dict(model_state)
            if critic_state:
                self.critics.load_state_dict(critic_state, strict=False)
                self.critics_fresh = not set(cfg.categories) <= {k.split(".")[0] for k in critic_state}
        if cfg.finetune_3d_aware:
            if not cfg.init_from:
                raise TrainingError("--finetune-3d-aware starts from a trained model: give --init RUN_FOLDER")
            self.teacher = copy.deepcopy(self.model).eval().requires_grad_(False)
            self.teacher.bf16 = (cfg.finetune.teacher_precision or cfg.precision) == "bf16"
        # bone proportions refining the teacher's lifts (lifter.finetune.refined_teacher_lift), per category
        self.teacher_bones = (load_proportions(Path(cfg.finetune.teacher_bones))
                              if cfg.finetune_3d_aware and cfg.finetune.teacher_bones else {})
        check_ema_decays(cfg.ema_decays, cfg.ema_warmup)
        self.emas = {d: {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                     for d in cfg.ema_decays}                      # decay -> averaged state dict
        self.opt = make_optimiser(self.model.parameters(), cfg.lr, cfg.weight_decay)
        self.critic_opt = torch.optim.Adam(self.critics.parameters(), lr=cfg.critic_lr, betas=(0.5, 0.99))
        self.step_count = 0
        self.started_at = 0                       # the step this call began at (train() sets it after a resume)
        self.segments: list[dict] = []          # the stretches of training calls before this one (from a checkpoint)
        self.call_started = time.perf_counter()   # this call's clock (train() sets it once the steps can begin)
        self.processor = processor_description(device)          # recorded with each checkpoint
        self.schedule = step_schedule(cfg.categories, cfg.category_weights)
        check_template_weights(cfg.categories, cfg.template_weights)
        check_batch_tokens(cfg.categories, cfg.category_batch_tokens)
        check_symmetry_categories(cfg.categories, cfg.symmetry_categories, cfg.symmetry_weight)
        self.templates = {}                                       # category -> (N, 3) shape from the training 2D
        try:                                  # a category these priors cannot be made for: named in one line
            for c, _ in cfg.template_weights:
                shape, _ = rigid_factorisation(self.data[c].points.numpy(), self.data[c].visible.numpy())
                self.templates[c] = torch.tensor(shape, dtype=torch.float32, device=device)
            check_flow_weights(cfg.categories, cfg.flow_weights)
            self.flows = {c: fit_category_flow(self.data[c], cfg).to(device) for c, _ in cfg.flow_weights}
        except ValueError as e:
            raise TrainingError(f"--template-weight / --flow-weight: {e}") from None

    def batch(self, category: str) -> dict[str, torch.Tensor]:
        d = self.data[category]
        idx = d.next_indices(batch_size(self.cfg, d.points.shape[1], category), self.gen)
        points, full, shown = augment(d.points[idx], d.visible[idx], category, self.cfg, self.gen)
        out = {"points": points, "full": full, "shown": shown}
        if d.points3d is not None:
            out["points3d"], out["present"] = d.points3d[idx], d.present[idx]
        n = points.shape[1]
        if n > self.cfg.max_tokens:                                  # a random landmark subset, sorted
            keep = torch.randperm(n, generator=self.gen)[:self.cfg.max_tokens].sort().values
            out = {k: v[:, keep] for k, v in out.items()}
            out["index"] = keep
            # At least 3 visible in the subset (true for the face data, which has no missing landmarks).
            out["shown"] &= out["full"]
        return {k: v.to(self.device) for k, v in out.items()}

    def step(self, category: str | None = None) -> dict[str, float]:
        """One optimiser step on ``category`` (default: the next in the round robin); returns the losses. (Critics
        alone: :meth:`critic_step`.)"""
        cfg = self.cfg
        category = category or self.schedule[self.step_count % len(self.schedule)]
        b = self.batch(category)
        p_full, _, _ = normalise_2d(b["points"], b["full"])
        p_in, centre, scale = normalise_2d(b["points"], b["shown"])
        # The hidden landmarks' known 2D in the input's normalisation.
        p_true = (torch.where(b["full"][..., None], b["points"], 0.0) - centre[:, None]) / scale[:, None, None]
        index = b.get("index")
        lift, elevation = self.lift_input(p_in, b["shown"], category, index)
        hidden = b["full"] & ~b["shown"]
        losses = {"hidden": hidden_xy_loss(lift, p_true, hidden)}
        if elevation is not None:                                    # logged, not a loss
            losses["elevation_deg"] = torch.rad2deg(elevation.detach()).mean()

        if cfg.supervision == "3d":
            if b["points"].shape[1] != b["points3d"].shape[1]:
                raise ValueError("3D supervision needs points3d")
            # The mirrored copies' 3D is the mirrored 3D: recompute from the 2D flip is not possible, so the
            # 3D reference trains without mirroring (mirror_prob is forced to 0 in main()).
            losses["depth"] = depth_supervised_loss(lift, b["points3d"], b["shown"], b["present"])
            total = cfg.hidden_weight * losses["hidden"] + losses["depth"]
        else:
            mask = b["full"]
            if cfg.symmetry_weight > 0 and get_category(category).mirror_pairs and \
                    (not cfg.symmetry_categories or category in cfg.symmetry_categories):
                pairs, mirrored = symmetric_pairs(category, index)
                losses["symmetry"] = symmetry_loss(lift, mask, pairs.to(lift.device), mirrored.to(lift.device))
            if category in self.templates:
                template = self.templates[category]
                losses["template"] = template_loss(lift, template if index is None else template[index], mask)
            if cfg.completion_weight > 0 and not b["shown"].all():
                losses["completion"] = completion_loss(
                    lift, self.relift_completed(lift, p_in, b["shown"], category, index), mask)
            rotated, p2, centre2, scale2, dist2 = novel_view(lift, mask, cfg, self.gen, elevation)
            if category in self.flows:                 # every landmark given (fit_category_flow checks it)
                losses["flow"] = flow_loss(p2, self.flows[category])
            if cfg.cycle_weight > 0:                   # 0: no second lift (a quarter less work when fine-tuning)
                lift2 = self.model.lift_normalised(p2, mask, category, index)
                if cfg.cycle_reading == "perspective":     # the second lift through the novel view's own camera
                    losses["cycle"] = masked_mse(unproject_lift(lift2, centre2, scale2, dist2, mask), rotated,
                                                 mask)
                else:
                    losses["cycle"] = cycle_loss(lift2, rotated, mask)
            critic = self.critics[category]
            p_real, p_fake, mask = scatter_subset(p_full, p2, mask, index, get_category(category).num_landmarks)
            losses["critic"] = self.update_critic(category, p_real, p_fake, mask)   # critic first
            for prm in critic.parameters():
                prm.requires_grad_(False)
            losses["adv"] = generator_loss(critic(p_fake, mask))
            for prm in critic.parameters():
                prm.requires_grad_(True)
            total = cfg.hidden_weight * losses["hidden"]                 # summed in the order of every recorded run
            if "cycle" in losses:
                total = total + cfg.cycle_weight * losses["cycle"]
            total = total + cfg.adv_weight * losses["adv"]
            if "symmetry" in losses:
                total = total + cfg.symmetry_weight * losses["symmetry"]
            if "completion" in losses:
                total = total + cfg.completion_weight * losses["completion"]
            if "template" in losses:
                total = total + dict(cfg.template_weights)[category] * losses["template"]
            if "flow" in losses:
                total = total + dict(cfg.flow_weights)[category] * losses["flow"]
            if self.teacher is not None:
                ft = finetune_losses(self.model, self.teacher, p_full, b["full"], category, index, cfg.finetune,
                                     cfg.distance_range, self.gen, self.teacher_bones.get(category))
                losses.update(ft)
                total = cfg.finetune.anchor_weight * total + cfg.finetune.render_weight * ft["render"] \
                    + cfg.finetune.cross_view_weight * ft["cross_view"]
                if "distill" in ft:
                    total = total + cfg.finetune.distill_weight * ft["distill"]

        for g in self.opt.param_groups:
            g["lr"] = cfg.lr * lr_factor(self.step_count, cfg)
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.opt.step()
        self.step_count += 1
        self.update_emas()
        return {"category": category, "total": float(total.detach()),
                **{k: float(v.detach()) for k, v in losses.items()}}

    def lift_input(self, p_in: torch.Tensor, shown: torch.Tensor, category: str, index: torch.Tensor | None
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The model's lift ``(B, N, 3)`` of a batch's normalised input ``p_in (B, N, 2)`` showing ``shown (B, N)``,
        and, when 2D-only training learns the camera elevation, that elevation ``(B,)`` (else None): what
        :meth:`step` and :meth:`critic_step` turn into a novel view."""
        if self.cfg.learned_elevation and self.cfg.supervision == "2d":
            return self.model.lift_normalised(p_in, shown, category, index, return_elevation=True)
        return self.model.lift_normalised(p_in, shown, category, index), None

    def update_critic(self, category: str, p_real: torch.Tensor, p_fake: torch.Tensor, mask: torch.Tensor
                      ) -> torch.Tensor:
        """``cfg.critic_steps`` updates of ``category``'s critic: real normalised 2D ``p_real (B, n, 2)`` against
        the re-projections ``p_fake (B, n, 2)`` (detached here), landmarks ``mask (B, n)``; returns the last
        critic loss (detached)."""
        critic = self.critics[category]
        for _ in range(self.cfg.critic_steps):
            lc = critic_loss(critic(p_real, mask), critic(p_fake.detach(), mask))
            self.critic_opt.zero_grad(set_to_none=True)
            lc.backward()
            self.critic_opt.step()
        return lc.detach()

    def critic_step(self, category: str) -> dict[str, float]:
        """Update only ``category``'s critic, on the current model's re-projections of a fresh batch, leaving the
        model and the step count alone (the warm-up of fresh critics when training starts from exported weights):
        :meth:`step` up to its critic update (the same batch, lift and novel view, the same random draws, so the
        critics come out as that part of :meth:`step` leaves them), without the model's losses, its second lift
        or a gradient through the model. Returns ``{"category", "critic"}``."""
        cfg = self.cfg
        if cfg.supervision != "2d":
            raise ValueError("critic warm-up is for 2D-only training")
        b = self.batch(category)
        p_full, _, _ = normalise_2d(b["points"], b["full"])
        p_in, _, _ = normalise_2d(b["points"], b["shown"])
        index = b.get("index")
        with torch.no_grad():
            lift, elevation = self.lift_input(p_in, b["shown"], category, index)
            p2 = novel_view(lift, b["full"], cfg, self.gen, elevation)[1]
        p_real, p_fake, mask = scatter_subset(p_full, p2, b["full"], index, get_category(category).num_landmarks)
        return {"category": category, "critic": float(self.update_critic(category, p_real, p_fake, mask))}

    @torch.no_grad()
    def update_emas(self) -> None:
        """Move each weight average towards the model after a step: ``ema += (1 - d) (weights - ema)`` with
        ``d = ema_factor(decay, t, cfg.ema_warmup)`` at step ``t`` (a warm-up, so that an average started at a
        random initialisation forgets it); integer buffers are copied."""
        t = self.step_count
        state = self.model.state_dict()
        for decay, ema in self.emas.items():
            d = ema_factor(decay, t, self.cfg.ema_warmup)
            for k, v in state.items():
                if v.is_floating_point():
                    ema[k].lerp_(v.detach(), 1.0 - d)
                else:
                    ema[k].copy_(v)

    @torch.no_grad()
    def relift_completed(self, lift: torch.Tensor, p_in: torch.Tensor, shown: torch.Tensor, category: str,
                         index: torch.Tensor | None) -> torch.Tensor:
        """What ``lift()``'s completion gives for this batch: the 2D of ``p_in (B, N, 2)`` where ``shown (B, N)``
        and of ``lift (B, N, 3)`` elsewhere, lifted with every landmark visible, back in ``p_in``'s units
        (``(B, N, 3)``, detached)."""
        completed = torch.where(shown[..., None], p_in, lift[..., :2])
        every = torch.ones_like(shown)
        p2, centre, scale = normalise_2d(completed, every)
        out = self.model.lift_normalised(p2, every, category, index) * scale[:, None, None]
        return torch.cat([out[..., :2] + centre[:, None], out[..., 2:]], -1)

    # ---------------------------------------------------------------------------------------- checkpoints
    def save(self, out: Path) -> None:
        """Write ``checkpoint.safetensors`` (tensors) and ``checkpoint.json`` (everything else)."""
        out.mkdir(parents=True, exist_ok=True)
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        tensors.update({f"critics.{k}": v for k, v in self.critics.state_dict().items()})
        meta: dict = {"step": self.step_count, "config": _jsonable(asdict(self.cfg)), "optimisers": {},
                      "init_sha256": self.init_sha256, "teacher_bones_sha256": self.teacher_bones_sha256,
                      "data_sha256": self.data_sha256, "segments": self.segments_so_far(),
                      "data_dir": str(self.data_dir), "cwd": os.getcwd(),      # relative paths are read from there
                      "torch": torch.__version__, "machine": platform.machine(), "device": str(self.device),
                      "processor": self.processor, "command": self.command,
                      "data": {c: {"cursor": d.cursor, "epoch": d.epoch} for c, d in self.data.items()}}
        for decay, ema in self.emas.items():
            tensors.update({f"{ema_prefix(decay)}{k}": v for k, v in ema.items()})
        tensors["rng.torch_gen"] = self.gen.get_state()
        tensors["rng.torch_global"] = torch.get_rng_state()
        for c, d in self.data.items():
            tensors[f"data.{c}.order"] = d.order
        for name, opt in (("opt", self.opt), ("critic_opt", self.critic_opt)):
            sd = opt.state_dict()
            meta["optimisers"][name] = {"param_groups": sd["param_groups"], "state_keys": {}}
            for pid, st in sd["state"].items():
                meta["optimisers"][name]["state_keys"][str(pid)] = sorted(st)
                for k, v in st.items():
                    tensors[f"{name}.{pid}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
        # The tensors file holds the record too (its metadata), so that it is whole in itself: a kill between the two
        # renames leaves a stale checkpoint.json, which the readers (lifter.runs.read_meta) then pass over.
        text = json.dumps(meta, indent=1)
        tmp, tmp_meta = out / "checkpoint.safetensors.tmp", out / "checkpoint.json.tmp"
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp),
                  metadata={CHECKPOINT_META_KEY: text})
        tmp_meta.write_text(text)
        tmp.replace(out / "checkpoint.safetensors")
        tmp_meta.replace(out / "checkpoint.json")

    def segments_so_far(self) -> list[dict]:
        """The run's stretches of training, each ``{"first_step", "last_step", "seconds"}``: those of the calls
        before (:attr:`segments`, read from the checkpoint) and this call's, from the step it began at to now (its
        seconds from :attr:`call_started`: the critics' warm-up included). Recorded with each checkpoint, so a
        stop and ``--resume`` keeps every stretch whole; a stretch killed before its checkpoint is not in it."""
        now = [{"first_step": self.started_at + 1, "last_step": self.step_count,
                "seconds": round(time.perf_counter() - self.call_started, 1)}] if self.step_count > self.started_at \
            else []
        return self.segments + now

    def load(self, out: Path) -> None:
        """Restore the state written by :meth:`save`. Raises :class:`lifter.stopping.TrainingError` when the run
        started from another ``--init`` file, or with another ``--teacher-bones`` file, than the one at that path
        now, read other training files than ``--data``'s now (checkpoints from 2026-12-07 on pin them), or its
        checkpoint cannot be read."""
        try:
            meta, tensors = read_meta(out), read_checkpoint_tensors(out)
        except (FileNotFoundError, ValueError) as e:
            raise TrainingError(f"cannot resume: {e}") from None
        pinned = [(self.init_sha256, meta.get("init_sha256"),           # the files the run read, by their SHA-256
                   f"{self.cfg.init_from} is not the file the run in {out} started from"),
                  (self.teacher_bones_sha256, meta.get("teacher_bones_sha256"),
                   f"{self.cfg.finetune.teacher_bones} is not the teacher's proportions file the run in {out} "
                   f"started with")]
        pinned += [(now, (meta.get("data_sha256") or {}).get(c),            # --data may name another folder
                    f"{self.data_dir / f'{c}_train.npz'} is not the training file the run in {out} read")
                   for c, now in self.data_sha256.items()]
        for now, saved, said in pinned:
            if saved and now and saved != now:
                raise TrainingError(f"cannot resume: {said} (SHA-256 {now[:12]}... against {saved[:12]}...): "
                                    f"restore it, or start a new run")
        try:
            self._restore(meta, tensors, out)
        except KeyError as e:
            raise TrainingError(f"cannot resume: {out / 'checkpoint.safetensors'} lacks {e}: a damaged checkpoint; "
                                f"start a new run") from None

    def _restore(self, meta: dict, tensors: dict, out: Path) -> None:
        """:meth:`load`'s restoring of the checked checkpoint ``meta``, ``tensors`` (raises KeyError for a missing
        entry)."""
        self.model.load_state_dict(prefixed(tensors, "model."))
        self.critics.load_state_dict(prefixed(tensors, "critics."))
        for decay, ema in self.emas.items():
            saved = prefixed(tensors, ema_prefix(decay))
            if not saved:
                raise ValueError(f"{out / 'checkpoint.safetensors'} holds no weight average at decay {decay}")
            ema.update(saved)
        self.gen.set_state(tensors["rng.torch_gen"])
        torch.set_rng_state(tensors["rng.torch_global"])
        for c, d in self.data.items():
            d.order = tensors[f"data.{c}.order"]
            d.cursor, d.epoch = meta["data"][c]["cursor"], meta["data"][c]["epoch"]
        for name, opt in (("opt", self.opt), ("critic_opt", self.critic_opt)):
            m = meta["optimisers"][name]
            state = {int(pid): {k: tensors[f"{name}.{pid}.{k}"] for k in keys}
                     for pid, keys in m["state_keys"].items()}
            opt.load_state_dict({"state": state, "param_groups": m["param_groups"]})
        self.step_count = meta["step"]
        self.segments = list(meta.get("segments") or [])


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, Path):
        return str(x)
    return x


def train(cfg: TrainConfig, data_dir: Path, out: Path, device: torch.device, resume: bool = False,
          progress: bool = True, log_every: int = 50, command: str = "") -> Trainer:
    """Run the training loop; returns the trainer (model inside; ``trainer.started_at``: the step this call
    began at). Writes ``log.jsonl`` (a fresh one for a run that starts at step 0) and checkpoints.

    SIGINT (Ctrl-C) or SIGTERM stops the run after the step in progress, writes its checkpoint and raises
    :class:`lifter.stopping.TrainingInterrupted` (``--resume`` continues it; a second Ctrl-C stops at once).
    Raises ValueError for a setting it cannot train with (:meth:`TrainConfig.check`), and
    :class:`lifter.stopping.TrainingError` for training files it cannot read, a ``--resume`` whose ``--init`` file
    changed, or a loss that is no longer finite (the run diverged: the last checkpoint is kept, not overwritten)."""
    cfg.check()
    if progress and (cfg.flow_weights or cfg.template_weights):
        priors = [f"the 2D pose flow of {c} ({cfg.flow.steps} steps)" for c, _ in cfg.flow_weights] + \
                 [f"the rigid template of {c}" for c, _ in cfg.template_weights]
        print(f"loading the data and fitting {', '.join(priors)} ...", file=sys.stderr)
    trainer = Trainer(cfg, data_dir, device)
    trainer.command = command
    notes, error = batch_problems(cfg, {c: tuple(d.points.shape[:2]) for c, d in trainer.data.items()},
                                  available_memory() if device.type == "cpu" else None)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if error:
        raise TrainingError(error)
    if resume and any((out / name).exists() for name in ("checkpoint.safetensors", "checkpoint.json")):
        trainer.load(out)
    trainer.started_at = trainer.step_count
    out.mkdir(parents=True, exist_ok=True)
    started = trainer.call_started = time.perf_counter()
    with stop_requests() as stop:
        if trainer.step_count == 0 and cfg.supervision == "2d" and trainer.critics_fresh and cfg.init_from \
                and cfg.critic_warmup > 0:
            # Starting from a trained model without its critics: untrained critics would give the model a random
            # adversarial signal, so they first learn to tell real 2D from the model's re-projections.
            for _ in tqdm(range(cfg.critic_warmup), desc="critic warm-up", unit="round", disable=not progress):
                for category in cfg.categories:
                    trainer.critic_step(category)
                if stop:                              # nothing saved: a rerun starts the warm-up again
                    raise TrainingInterrupted(0, cfg.steps, stop[0], saved=False)
        _train_steps(trainer, out, progress, log_every, started, stop)
    return trainer


def _train_steps(trainer: Trainer, out: Path, progress: bool, log_every: int, started: float, stop: list[str]
                 ) -> None:
    """:func:`train`'s loop over the steps, from ``trainer.step_count`` to the config's ``steps``."""
    cfg = trainer.cfg
    saved_step = trainer.step_count
    bar = tqdm(total=cfg.steps, initial=trainer.step_count, desc="train", unit="step", disable=not progress)
    window: list[dict] = []
    with bar, (out / "log.jsonl").open("a" if trainer.step_count else "w") as log:
        while trainer.step_count < cfg.steps:
            losses = trainer.step()
            bad = non_finite_losses(losses)
            if bad:
                kept = (f"its last checkpoint, of step {saved_step}, is kept" if saved_step
                        else "no checkpoint was written")
                raise TrainingError(
                    f"step {trainer.step_count} ({losses['category']}): the loss is no longer finite "
                    f"({', '.join(f'{k} = {v}' for k, v in bad.items())}): the run diverged; {kept} in {out}. "
                    f"Train again, e.g. with a lower --lr (this run's: {cfg.lr:g})")
            window.append(losses)
            bar.update(1)
            if trainer.step_count % log_every == 0 or trainer.step_count == cfg.steps:
                summary = {"step": trainer.step_count, "seconds": round(time.perf_counter() - started, 1)}
                for key in sorted({k for w in window for k in w} - {"category"}):
                    vals = [w[key] for w in window if key in w]
                    summary[key] = round(float(np.mean(vals)), 5)
                log.write(json.dumps(summary) + "\n")
                log.flush()
                bar.set_postfix({k: v for k, v in summary.items() if k in ("total", "cycle", "adv", "depth")})
                window = []
            if trainer.step_count % cfg.checkpoint_every == 0 or trainer.step_count == cfg.steps or stop:
                trainer.save(out)
                saved_step = trainer.step_count
            if stop and trainer.step_count < cfg.steps:
                raise TrainingInterrupted(trainer.step_count, cfg.steps, stop[0], saved=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m lifter.train``: :func:`lifter.train_cli.main` (the command line lives there)."""
    from lifter.train_cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
