"""Train the lifter: ``python -m lifter.train --data data/ --out runs/lifter``.

Reads only ``points2d`` and ``visible`` of ``<category>_train.npz`` for 2D-only training (the headline model);
``--supervision 3d`` trains the 3D-supervised reference (an upper bound, never shipped) from ``points3d``.

Each step trains on one category (round robin: category-balanced by default; ``--category-weights human17=2``
gives a category that many steps per cycle), on a batch of training 2D poses drawn
without replacement from a fresh shuffle each epoch, mirrored at random (with the category's mirror pairs), with
extra landmarks hidden at random (missing-landmark training). 2D-only losses: see ``lifter.losses``.

Checkpoints (``checkpoint.safetensors`` + ``checkpoint.json``: model, critics, optimisers, random states) are
written every ``--checkpoint-every`` steps and at the end; ``--resume`` continues from them bit for bit.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from lifter.bone_lengths import DEFAULT_PROPORTIONS, load_proportions
from lifter.devices import resolve_device
from lifter.finetune import TEACHER_READINGS, FinetuneConfig, finetune_losses
from lifter.flow import FlowConfig, PoseFlow, fit_pose_flow, flow_poses
from lifter.geometry import normalise_2d, random_perspective_view, rigid_factorisation, unproject_lift
from lifter.losses import (Critic, completion_loss, critic_loss, cycle_loss, depth_supervised_loss, flow_loss,
                           generator_loss, hidden_xy_loss, masked_mse, symmetry_loss, template_loss)
from lifter.masking import block_keys, hide_first
from lifter.model import BF16_ATTENTIONS, IDENTITY_CODES, IDENTITY_PLACES, Lifter, LifterConfig
from lifter.skeletons import get_category

ALL_CATEGORIES = ("human17", "hand21", "face468", "chair")
CYCLE_READINGS = ("orthographic", "perspective")  # TrainConfig.cycle_reading: how the cycle reads its second lift
PRECISIONS = ("fp32", "bf16")                     # TrainConfig.precision


@dataclass
class TrainConfig:
    """Training recipe (stored with the checkpoint and the bundled weights)."""

    categories: tuple[str, ...] = ALL_CATEGORIES  # categories to train on (those with a *_train.npz)
    category_weights: tuple[tuple[str, int], ...] = ()  # steps per round-robin cycle, e.g. (("human17", 2),);
                                     # categories not named take 1 step (empty: every category 1, balanced)
    supervision: str = "2d"          # "2d" (headline) or "3d" (reference upper bound)
    steps: int = 4000                # optimiser steps in all (spread round robin over the categories)
    batch_tokens: int = 4096         # batch size = clamp(batch_tokens // N, min_batch, max_batch)
    category_batch_tokens: tuple[tuple[str, int], ...] = ()  # batch_tokens of the named categories instead, e.g.
                                     # (("face468", 2048),): each category's batches sized on its own budget
    min_batch: int = 16
    max_batch: int = 256
    lr: float = 1e-3                 # AdamW peak learning rate, linear warm-up then cosine decay to 5 %
    warmup: int = 200
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    critic_lr: float = 1e-3
    critic_steps: int = 2            # critic updates per lifter update
    adv_weight: float = 0.3          # weight of the adversarial loss on the lifter's side
    cycle_weight: float = 1.0
    cycle_reading: str = "orthographic"  # how the cycle reads the second lift: "orthographic" (as every run
                                     # before this field: x, y = its 2D, scale fitted) or "perspective" (un-projected
                                     # with the novel view's known camera, geometry.unproject_lift: no residual)
    hidden_weight: float = 1.0
    symmetry_weight: float = 0.0     # mirror-symmetry prior (losses.symmetry_loss); 0: off, as before it existed
    symmetry_categories: tuple[str, ...] = ()  # the categories that prior applies to; empty: every trained one
                                     # with mirror pairs (as every run before this field)
    completion_weight: float = 0.0   # hidden-landmark completion distillation (losses.completion_loss); 0: off
    template_weights: tuple[tuple[str, float], ...] = ()  # rigid-template prior per category, e.g.
                                     # (("face468", 1.0),): losses.template_loss towards
                                     # geometry.rigid_factorisation of the training 2D
    flow_weights: tuple[tuple[str, float], ...] = ()  # ElePose-style 2D pose likelihood per category, e.g.
                                     # (("human17", 0.1),): losses.flow_loss of the novel views under a
                                     # normalising flow fitted to the category's training 2D at start-up
                                     # (lifter.flow; fully visible training 2D, N <= max_tokens)
    flow: FlowConfig = field(default_factory=FlowConfig)  # the flows' size and fitting schedule
    learned_elevation: bool = False  # novel views turn about the vertical of a learned camera elevation
                                     # (ElePose; needs model.elevation_head; geometry.random_perspective_view)
    hide_prob: float = 0.5           # chance that a training pose gets extra landmarks hidden
    hide_max: float = 0.3            # ... up to this fraction of its visible ones
    block_prob: float = 0.0          # chance that a training pose gets a block hidden instead: the visible
                                     # landmarks on one side of a random 2D direction (a limb or a side out of
                                     # view, not a scattered few); 0: never, and the random draws of runs before
    block_max: float = 0.5           # ... up to this fraction of its visible ones
    mirror_prob: float = 0.5         # chance of a left/right mirrored copy (categories with mirror pairs)
    max_tokens: int = 128            # larger landmark sets train on a random subset of this many per batch
    batch_on_subset: bool = False    # size batches on the tokens a pose actually uses, min(N, max_tokens)
                                     # (False: on N, as every run before this field; faces then get 16 poses)
    distance_range: tuple[float, float] = (2.5, 12.0)  # novel-view camera distance / RMS radius (log-uniform)
    max_tilt_deg: float = 10.0       # novel-view tilt about the image x axis
    seed: int = 0
    precision: str = "fp32"          # "bf16": the lifters' (student's and teacher's) transformer blocks run under
                                     # bfloat16 autocast (Lifter.bf16; weights, optimiser, residual stream, output
                                     # head, critics and losses stay float32): faster on the CPUs measured
                                     # (AMX or AVX-512 bf16), maybe slower without; "fp32": as every run before
    bf16_attention: str = "matmul"   # under "bf16" on the CPU, attention as bfloat16 matrix products ("matmul",
                                     # lifter.model.cpu_bf16_attention) or PyTorch's fused kernel in float32
                                     # ("fp32": every bf16 run recorded before this field); lifter.model.attention
    checkpoint_every: int = 500
    ema_decays: tuple[float, ...] = ()  # keep exponential moving averages of the model's weights at these decays
                                     # (updated after every step, saved with the checkpoints; export one with
                                     # ``python -m lifter.export --ema DECAY``); empty: none, as before it existed
    ema_warmup: str = "mean"         # how the averages start (ema_factor): "mean", the running mean of the weights
                                     # until 1 / (1 - decay) steps; "tf", min(decay, (1 + t) / (10 + t)), which
                                     # runs recorded before this field used (it holds every decay at that bound
                                     # for about the first 9 / (1 - decay) steps)
    model: LifterConfig = field(default_factory=LifterConfig)
    init_from: str = ""              # start from a run folder's checkpoint (model and critics) or exported weights
    init_ema: float | None = None    # with init_from a run folder: start from its weight average at this decay
                                     # (ema_decays) instead of its last weights; its critics as they are
    critic_warmup: int = 100         # critic-only updates per category first, when init_from has no critics
    finetune_3d_aware: bool = False  # add the 3D-aware stage's losses (lifter.finetune); needs init_from
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)

    def check(self) -> None:
        """Raise ValueError naming the first setting a run cannot train with (the network's too:
        :meth:`LifterConfig.check`)."""
        def whole(name: str, low: int) -> None:
            value = getattr(self, name)
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")

        for name, low in (("steps", 1), ("batch_tokens", 1), ("min_batch", 1), ("critic_steps", 0), ("warmup", 0),
                          ("max_tokens", 1), ("checkpoint_every", 1), ("critic_warmup", 0)):
            whole(name, low)
        if self.max_batch < self.min_batch:
            raise ValueError(f"max_batch must be at least min_batch ({self.min_batch}), got {self.max_batch}")
        for name in ("lr", "critic_lr", "grad_clip"):
            if not math.isfinite(getattr(self, name)) or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a finite number > 0, got {getattr(self, name)}")
        for name in ("weight_decay", "adv_weight", "cycle_weight", "hidden_weight", "symmetry_weight",
                     "completion_weight", "max_tilt_deg"):
            if not math.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)}")
        for name in ("hide_prob", "hide_max", "block_prob", "block_max", "mirror_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} is a share in [0, 1], got {getattr(self, name)}")
        low, high = self.distance_range
        if not 0 < low <= high:
            raise ValueError(f"distance_range must be 0 < near <= far, got {self.distance_range}")
        self.model.check()


class TrainData:
    """One category's training 2D: ``points (M, N, 2)`` float32 (NaN where missing), ``visible (M, N)``."""

    def __init__(self, path: Path, category: str, need_3d: bool) -> None:
        with np.load(path) as f:
            if str(f["category"]) != category:
                raise ValueError(f"{path}: holds category {f['category']}, expected {category}")
            self.points = torch.from_numpy(np.nan_to_num(f["points2d"]))
            self.visible = torch.from_numpy(f["visible"])
            self.points3d = torch.from_numpy(f["points3d"]) if need_3d else None
            self.present = torch.from_numpy(f["present"]) if need_3d else None
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


def step_schedule(categories: tuple[str, ...], weights: tuple[tuple[str, int], ...] = ()) -> tuple[str, ...]:
    """One round-robin cycle of categories, each appearing as many times as its weight (default 1), spread
    evenly (smooth weighted round robin); equal weights give ``categories`` in order.

    >>> step_schedule(("human17", "hand21", "chair"), (("human17", 2),))
    ('human17', 'hand21', 'chair', 'human17')
    """
    given = dict(weights)
    unknown = sorted(set(given) - set(categories))
    if unknown:
        raise ValueError(f"category weights for {unknown}, which are not trained (categories: {list(categories)})")
    w = {c: int(given.get(c, 1)) for c in categories}
    if any(v < 1 for v in w.values()):
        raise ValueError(f"category weights must be whole numbers >= 1, got {w}")
    total = sum(w.values())
    current = dict.fromkeys(categories, 0)
    cycle = []
    for _ in range(total):
        for c in categories:
            current[c] += w[c]
        pick = max(categories, key=lambda c: current[c])          # first of the largest: stable order
        current[pick] -= total
        cycle.append(pick)
    return tuple(cycle)


def check_template_weights(categories: tuple[str, ...], weights: tuple[tuple[str, float], ...],
                           what: str = "template") -> None:
    """Raise ``ValueError`` unless every category given a ``what`` (template, flow) weight is trained and its
    weight is > 0."""
    untrained = sorted(c for c, _ in weights if c not in categories)
    if untrained:
        raise ValueError(f"{what} weights for {untrained}, which are not trained (categories: {list(categories)})")
    if not all(w > 0 for _, w in weights):
        raise ValueError(f"{what} weights must be > 0, got {dict(weights)}")


def check_symmetry_categories(categories: tuple[str, ...], chosen: tuple[str, ...], weight: float
                              ) -> tuple[str, ...]:
    """``chosen`` (TrainConfig.symmetry_categories) checked against the trained ``categories`` and the prior's
    ``weight``: each must be trained, have mirror pairs, and be named once, and the prior must be on. Returns it."""
    if not chosen:
        return ()
    if weight <= 0:
        raise ValueError("the symmetry prior is off: give --symmetry-weight W (W > 0) as well")
    untrained = sorted(set(chosen) - set(categories))
    if untrained:
        raise ValueError(f"{untrained} not trained (categories: {list(categories)})")
    unpaired = [c for c in chosen if not get_category(c).mirror_pairs]
    if unpaired:
        raise ValueError(f"{unpaired} have no mirror pairs: the prior does not apply to them")
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"a category named twice: {list(chosen)}")
    return chosen


def check_flow_weights(categories: tuple[str, ...], weights: tuple[tuple[str, float], ...]) -> None:
    """:func:`check_template_weights` for ``flow_weights``."""
    check_template_weights(categories, weights, "flow")


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
    missing = [str(Path(data_dir) / f"{c}_train.npz") for c in categories
               if not (Path(data_dir) / f"{c}_train.npz").exists()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)} not found: run `python -m lifter.data build --source "
                                f"../shared/data --out {data_dir}` first")


def batch_size(cfg: TrainConfig, n: int, category: str | None = None) -> int:
    """Poses per batch for ``category`` of ``n`` landmarks: about its tokens a batch (``category_batch_tokens``
    where named, else ``batch_tokens``), clamped."""
    used = min(n, cfg.max_tokens) if cfg.batch_on_subset else n
    tokens = dict(cfg.category_batch_tokens).get(category, cfg.batch_tokens)
    return int(min(max(tokens // used, cfg.min_batch), cfg.max_batch))


def check_batch_tokens(categories: tuple[str, ...], tokens: tuple[tuple[str, int], ...]) -> None:
    """Raise ``ValueError`` unless every category given its own batch tokens is trained and its count is > 0."""
    check_template_weights(categories, tokens, "batch token")


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


def check_ema_decays(decays: tuple[float, ...], warmup: str = "mean") -> None:
    """Raise ``ValueError`` unless every weight-average decay is in (0, 1), none is repeated and the warm-up is
    one :func:`ema_factor` knows."""
    if not all(0.0 < d < 1.0 for d in decays) or len(set(decays)) != len(decays):
        raise ValueError(f"weight-average decays must be distinct numbers between 0 and 1, got {list(decays)}")
    ema_factor(0.5, 1, warmup)


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
    raise ValueError(f"unknown weight-average warm-up {warmup!r} (expected 'mean' or 'tf')")


def prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The checkpoint tensors under ``prefix`` (``model.``, ``critics.``, ``ema.0.999.``), with it removed."""
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def ema_prefix(decay: float) -> str:
    """The checkpoint key prefix of the weight average at ``decay`` (``ema.0.999.``)."""
    return f"ema.{decay!r}."


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
        if cfg.cycle_reading not in CYCLE_READINGS:
            raise ValueError(f"cycle_reading must be one of {CYCLE_READINGS}, got {cfg.cycle_reading!r}")
        if cfg.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {cfg.precision!r}")
        if cfg.bf16_attention not in BF16_ATTENTIONS:
            raise ValueError(f"bf16_attention must be one of {BF16_ATTENTIONS}, got {cfg.bf16_attention!r}")
        if cfg.finetune.teacher_precision not in ("",) + PRECISIONS:
            raise ValueError(f"finetune.teacher_precision must be one of {PRECISIONS} or '' (the student's), got "
                             f"{cfg.finetune.teacher_precision!r}")
        self.cfg, self.device, self.data_dir = cfg, device, Path(data_dir)
        self.command = ""                                         # the command line, recorded with checkpoints
        torch.manual_seed(cfg.seed)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        check_training_files(data_dir, cfg.categories)
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
                raise ValueError("--finetune-3d-aware starts from a trained model: give --init RUN_FOLDER")
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
        self.processor = processor_description(device)          # recorded with each checkpoint
        self.schedule = step_schedule(cfg.categories, cfg.category_weights)
        check_template_weights(cfg.categories, cfg.template_weights)
        check_batch_tokens(cfg.categories, cfg.category_batch_tokens)
        check_symmetry_categories(cfg.categories, cfg.symmetry_categories, cfg.symmetry_weight)
        self.templates = {}                                       # category -> (N, 3) shape from the training 2D
        for c, _ in cfg.template_weights:
            shape, _ = rigid_factorisation(self.data[c].points.numpy(), self.data[c].visible.numpy())
            self.templates[c] = torch.tensor(shape, dtype=torch.float32, device=device)
        check_flow_weights(cfg.categories, cfg.flow_weights)
        self.flows = {c: fit_category_flow(self.data[c], cfg).to(device) for c, _ in cfg.flow_weights}

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
                      "data_dir": str(self.data_dir), "device": str(self.device),
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
        tmp = out / "checkpoint.safetensors.tmp"
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
        tmp.replace(out / "checkpoint.safetensors")
        (out / "checkpoint.json").write_text(json.dumps(meta, indent=1))

    def load(self, out: Path) -> None:
        """Restore the state written by :meth:`save`."""
        tensors = load_file(str(out / "checkpoint.safetensors"))
        meta = json.loads((out / "checkpoint.json").read_text())
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


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, Path):
        return str(x)
    return x


def config_from_dict(d: dict) -> TrainConfig:
    """Inverse of ``asdict(TrainConfig)`` (tuples restored)."""
    d = dict(d)
    d.setdefault("batch_on_subset", False)          # recorded before these fields existed
    d.setdefault("symmetry_weight", 0.0)
    d["symmetry_categories"] = tuple(str(c) for c in d.get("symmetry_categories", ()))
    d.setdefault("completion_weight", 0.0)
    d.setdefault("cycle_reading", "orthographic")
    d["category_weights"] = tuple((str(c), int(w)) for c, w in d.get("category_weights", ()))
    d["category_batch_tokens"] = tuple((str(c), int(t)) for c, t in d.get("category_batch_tokens", ()))
    d["template_weights"] = tuple((str(c), float(w)) for c, w in d.get("template_weights", ()))
    d["flow_weights"] = tuple((str(c), float(w)) for c, w in d.get("flow_weights", ()))
    d["flow"] = FlowConfig(**d.get("flow", {}))
    d["ema_decays"] = tuple(float(x) for x in d.get("ema_decays", ()))
    d.setdefault("ema_warmup", "tf")                # averages recorded before the field had TensorFlow's warm-up
    d.setdefault("bf16_attention", "fp32")          # bf16 runs recorded before the field: the fused kernel
    d["model"] = LifterConfig(**d["model"])
    d["finetune"] = FinetuneConfig(**d.get("finetune", {}))
    for k in ("categories", "distance_range"):
        d[k] = tuple(d[k])
    return TrainConfig(**d)


def read_run(run: str | Path, ema: float | None = None) -> tuple[dict, dict, dict]:
    """A run folder's checkpoint: ``(model weights, every checkpoint tensor, checkpoint.json)``; the model weights
    are its last ones, or with ``ema`` its weight average at that decay. Raises FileNotFoundError for a folder
    without a checkpoint and ValueError for an ``ema`` the run did not keep."""
    run = Path(run)
    if not (run / "checkpoint.json").is_file():
        raise FileNotFoundError(f"{run} holds no checkpoint.json: not a training run folder")
    meta = json.loads((run / "checkpoint.json").read_text())
    kept = meta["config"].get("ema_decays", [])
    if ema is not None and ema not in kept:
        raise ValueError(f"{run} kept no weight average at decay {ema} (it kept {kept or 'none'}; train with "
                         f"--ema {ema})")
    tensors = load_file(str(run / "checkpoint.safetensors"))
    return prefixed(tensors, "model." if ema is None else ema_prefix(ema)), tensors, meta


def load_init(path: str | Path, ema: float | None = None) -> tuple[dict, dict, LifterConfig]:
    """The trained model to start from: ``(model state, critic state, model config)``.

    ``path``: a run folder (``checkpoint.safetensors`` + ``checkpoint.json``: model and critics; with ``ema``, the
    model is the run's weight average at that decay, :func:`read_run`) or exported weights (``.safetensors`` +
    its ``.json`` record, SHA-256 checked: the model only, critic state empty). Raises ValueError for an ``ema``
    the run did not keep, or with exported weights.
    """
    path = Path(path)
    if path.is_dir():
        model, tensors, meta = read_run(path, ema)
        return model, prefixed(tensors, "critics."), config_from_dict(meta["config"]).model
    if ema is not None:
        raise ValueError(f"a weight average (decay {ema}) is read from a run folder, not from {path}")
    if path.suffix == ".safetensors":
        from lifter.api import load_lifter

        loaded = load_lifter(path, device="cpu")                # checks the file against its record
        return dict(loaded.model.state_dict()), {}, loaded.model.cfg
    raise FileNotFoundError(f"--init {path}: neither a run folder nor a .safetensors weights file")


def pick_device(name: str = "auto") -> torch.device:
    """The training device for ``--device`` (:func:`lifter.devices.resolve_device`; a ValueError names a bad one)."""
    return resolve_device(name)


def cpu_description(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name and its bfloat16 instructions: AMX (``amx_bf16``), AVX-512 (``avx512_bf16``), both or
    none, read from Linux's ``cpuinfo`` (else "unknown CPU"). A training step's speed depends on both."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown CPU")
    flags = set(next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), []))
    units = [unit for flag, unit in (("amx_bf16", "AMX"), ("avx512_bf16", "AVX-512")) if flag in flags]
    return f"{name}, bf16 instructions: {' and '.join(units) or 'none'}"


def processor_description(device: torch.device) -> str:
    """What ran the training on ``device``: the GPU's name for CUDA, else :func:`cpu_description`."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_description()


def train(cfg: TrainConfig, data_dir: Path, out: Path, device: torch.device, resume: bool = False,
          progress: bool = True, log_every: int = 50, command: str = "") -> Trainer:
    """Run the training loop; returns the trainer (model inside). Writes ``log.jsonl`` and checkpoints. Raises
    ValueError for a setting it cannot train with (:meth:`TrainConfig.check`)."""
    cfg.check()
    trainer = Trainer(cfg, data_dir, device)
    trainer.command = command
    if resume and (out / "checkpoint.safetensors").exists():
        trainer.load(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if trainer.step_count == 0 and cfg.supervision == "2d" and trainer.critics_fresh and cfg.init_from \
            and cfg.critic_warmup > 0:
        # Starting from a trained model without its critics: untrained critics would give the model a random
        # adversarial signal, so they first learn to tell real 2D from the model's re-projections.
        for _ in tqdm(range(cfg.critic_warmup), desc="critic warm-up", unit="round", disable=not progress):
            for category in cfg.categories:
                trainer.critic_step(category)
    bar = tqdm(total=cfg.steps, initial=trainer.step_count, desc="train", unit="step", disable=not progress)
    window: list[dict] = []
    with (out / "log.jsonl").open("a") as log:
        while trainer.step_count < cfg.steps:
            losses = trainer.step()
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
            if trainer.step_count % cfg.checkpoint_every == 0 or trainer.step_count == cfg.steps:
                trainer.save(out)
    bar.close()
    return trainer


def _category_values(parser: argparse.ArgumentParser, option: str, given: list[str], convert: Callable,
                     categories: tuple[str, ...], check: Callable, expected: str) -> tuple[tuple[str, Any], ...]:
    """``CATEGORY=VALUE`` words of a command-line ``option`` as ``((category, convert(value)), ...)``, passed
    through ``check(categories, pairs)``; a malformed word or a failed check is a usage error naming the option."""
    try:
        pairs = tuple((c, convert(v)) for c, v in (x.split("=", 1) for x in given))
        check(categories, pairs)
    except ValueError as e:
        parser.error(f"{option} {' '.join(given)}: {e} (expected {expected})")
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifter.train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of *_train.npz (lifter.data build)")
    parser.add_argument("--out", type=Path, default=Path("runs/lifter"), help="run folder (checkpoints, log)")
    parser.add_argument("--categories", nargs="+", default=list(ALL_CATEGORIES), choices=ALL_CATEGORIES)
    parser.add_argument("--category-weights", nargs="+", default=[], metavar="CATEGORY=STEPS",
                        help="steps per round-robin cycle for the named categories (others 1), e.g. human17=2: "
                             "bodies get two steps for every one of each other category (default: balanced)")
    parser.add_argument("--supervision", choices=("2d", "3d"), default="2d",
                        help="2d: the headline model; 3d: the 3D-supervised reference (upper bound)")
    parser.add_argument("--identity", choices=IDENTITY_PLACES, default=LifterConfig.identity,
                        help="where the landmark identity code enters (input_only is the ablation)")
    parser.add_argument("--identity-code", choices=IDENTITY_CODES, default=LifterConfig.identity_code,
                        help="the landmark identity code: fourier (of the landmark index; the default) or "
                             "laplacian+fourier (a graph-Laplacian code of the category's skeleton appended)")
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--dim", type=int, default=LifterConfig.dim)
    parser.add_argument("--depth", type=int, default=LifterConfig.depth)
    parser.add_argument("--heads", type=int, default=LifterConfig.heads)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--batch-tokens", type=int, default=TrainConfig.batch_tokens)
    parser.add_argument("--category-batch-tokens", nargs="+", default=[], metavar="CATEGORY=TOKENS",
                        help="--batch-tokens of the named categories instead (others: --batch-tokens), e.g. "
                             "face468=2048 chair=2048 with --batch-tokens 8192: large batches where they help")
    parser.add_argument("--max-batch", type=int, default=TrainConfig.max_batch, metavar="POSES",
                        help=f"most poses a batch (default {TrainConfig.max_batch}); raise it with --batch-tokens "
                             f"to grow the batches of the small categories, not only the faces'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    parser.add_argument("--precision", choices=PRECISIONS, default=TrainConfig.precision,
                        help="bf16: run the lifter's transformer blocks under bfloat16 autocast (float32 weights "
                             "and losses): 1.5-1.9x faster steps on the CPUs measured, with AMX or AVX-512 bf16 "
                             "instructions (lscpu: amx_bf16, avx512_bf16; scripts/train_step_speed.py measures it), "
                             "maybe slower without; default fp32")
    parser.add_argument("--bf16-attention", choices=BF16_ATTENTIONS, default=TrainConfig.bf16_attention,
                        help="with --precision bf16 on the CPU: attention as bfloat16 matrix products (matmul, "
                             "default: faster) or PyTorch's fused kernel in float32 (fp32: every bf16 run recorded "
                             "before this option)")
    parser.add_argument("--teacher-precision", choices=PRECISIONS, default=FinetuneConfig.teacher_precision or None,
                        help="3D-aware stage: the teacher's precision (default: --precision's); --precision bf16 "
                             "--teacher-precision fp32 keeps the teacher's targets free of bfloat16 rounding")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in OUT from its checkpoint (without it, a run folder that already "
                             "holds a checkpoint is refused, never overwritten)")
    parser.add_argument("--checkpoint-every", type=int, default=TrainConfig.checkpoint_every, metavar="STEPS",
                        help=f"write OUT/checkpoint.* every this many steps and at the end (default "
                             f"{TrainConfig.checkpoint_every})")
    parser.add_argument("--init", default="",
                        help="start from a trained model: a run folder (checkpoint.*) or exported weights "
                             "(WEIGHTS.safetensors with its .json record, e.g. assets/weights/lifter.safetensors)")
    parser.add_argument("--init-ema", type=float, default=None, metavar="DECAY",
                        help="with --init RUN_FOLDER: start from the run's weight average at this decay (trained "
                             "with --ema DECAY) instead of its last weights")
    parser.add_argument("--finetune-3d-aware", action="store_true",
                        help="3D-aware fine-tuning stage (lifter.finetune); needs --init")
    parser.add_argument("--warmup", type=int, default=TrainConfig.warmup)
    parser.add_argument("--cycle-weight", type=float, default=TrainConfig.cycle_weight,
                        help="weight of the cycle loss (lift, rotate, re-project, lift again; default 1); 0 skips "
                             "the second lift altogether")
    parser.add_argument("--symmetry-weight", type=float, default=TrainConfig.symmetry_weight,
                        help="weight of the mirror-symmetry prior on the lift's distances (default 0: off)")
    parser.add_argument("--symmetry-categories", nargs="+", default=[], metavar="CATEGORY",
                        help="apply the --symmetry-weight prior to these trained categories only (each must have "
                             "mirror pairs: human17, face468, chair); default: every trained category that has them")
    parser.add_argument("--completion-weight", type=float, default=TrainConfig.completion_weight,
                        help="weight of the hidden-landmark completion distillation (losses.completion_loss; "
                             "default 0: off)")
    parser.add_argument("--template-weight", nargs="+", default=[], metavar="CATEGORY=WEIGHT",
                        help="rigid-template prior for nearly rigid categories, e.g. face468=1: the lift must be "
                             "close to the shape that structure from motion recovers from the training 2D "
                             "(losses.template_loss; default: none)")
    parser.add_argument("--flow-weight", nargs="+", default=[], metavar="CATEGORY=WEIGHT",
                        help="ElePose-style 2D pose likelihood for categories with fully visible training 2D, "
                             "e.g. human17=0.1: the lift's random re-projections must be likely under a "
                             "normalising flow fitted to the training 2D (lifter.flow, losses.flow_loss; default: "
                             "none)")
    parser.add_argument("--flow-steps", type=int, default=FlowConfig.steps,
                        help=f"maximum-likelihood steps fitting each --flow-weight flow at start-up (default "
                             f"{FlowConfig.steps})")
    parser.add_argument("--learned-elevation", action="store_true",
                        help="turn the novel views about the vertical of a camera elevation the network learns to "
                             "predict (ElePose), not about the image's vertical; adds an elevation head to a new "
                             "model (an --init model must have one)")
    parser.add_argument("--finetune-elevation", action="store_true",
                        help="with --finetune-3d-aware: render the 3D-aware stage's views about the vertical of the "
                             "camera elevation the teacher predicts (its elevation head), not the image's vertical "
                             "(lifter.finetune; the --init model must have an elevation head)")
    parser.add_argument("--batch-on-subset", action="store_true",
                        help="size batches on the landmarks a pose trains on (at most max_tokens=128), not on N: "
                             "32 faces per batch instead of 16")
    parser.add_argument("--cycle-reading", choices=CYCLE_READINGS,
                        default=TrainConfig.cycle_reading,
                        help="how the cycle loss reads the lift of the novel view: orthographic (x, y = its 2D, "
                             "scale fitted; the default, as every recorded run) or perspective (un-projected with "
                             "the novel view's known camera, as the 3D-aware stage's render loss)")
    parser.add_argument("--ema", nargs="+", type=float, default=[], metavar="DECAY",
                        help="also keep exponential moving averages of the weights at these decays, e.g. 0.998 "
                             "(saved in the checkpoints; export one with python -m lifter.export --ema DECAY)")
    parser.add_argument("--block-hide", type=float, default=TrainConfig.block_prob, metavar="PROB",
                        help="chance that a training pose gets a block of landmarks hidden (those furthest along a "
                             "random 2D direction, up to half its visible ones) instead of scattered ones")
    parser.add_argument("--render-block-hide", type=float, default=FinetuneConfig.block_prob, metavar="PROB",
                        help="3D-aware stage: chance that a rendered view shows the model a block of landmarks "
                             "hidden (up to half), the teacher's whole lift still its target")
    parser.add_argument("--teacher-bones", nargs="?", const=str(DEFAULT_PROPORTIONS), default="", metavar="PATH",
                        help="3D-aware stage: refine the teacher's lifts of bodies and hands by the bone-length step "
                             "lift() runs at test time, with the bone proportions of PATH (default: the bundled "
                             "assets/weights/bone_proportions.safetensors, fitted to a lifter's lifts of training "
                             "2D) before rendering them (lifter.finetune)")
    parser.add_argument("--teacher-reading", choices=TEACHER_READINGS, default=FinetuneConfig.teacher_reading,
                        help="3D-aware stage: read the teacher's lift as 3D orthographically (x, y = its 2D; the "
                             "default, as every recorded run) or through the pinhole lift()'s refinements guess "
                             "from the 2D extent (lifter.finetune.perspective_teacher_lift)")
    parser.add_argument("--teacher-distill", type=float, default=FinetuneConfig.distill_weight, metavar="W",
                        help="3D-aware stage, with --teacher-bones: weight of a loss pulling the depths of the "
                             "model's own lift of the real training 2D towards the teacher's lift refined by the "
                             "bone-length step (lifter.finetune; default 0: off)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    for flag, value in (("--block-hide", args.block_hide), ("--render-block-hide", args.render_block_hide)):
        if not 0 <= value <= 1:
            parser.error(f"{flag} is a probability in [0, 1], got {value}")
    for flag, on in (("--render-block-hide", args.render_block_hide), ("--teacher-bones", args.teacher_bones),
                     ("--teacher-reading", args.teacher_reading != FinetuneConfig.teacher_reading),
                     ("--teacher-distill", args.teacher_distill), ("--teacher-precision", args.teacher_precision)):
        if on and not args.finetune_3d_aware:
            parser.error(f"{flag} is a setting of the 3D-aware stage: add --finetune-3d-aware")
    if args.teacher_distill < 0 or (args.teacher_distill and not args.teacher_bones):
        parser.error(f"--teacher-distill takes a weight >= 0 with --teacher-bones, got {args.teacher_distill}"
                     f"{'' if args.teacher_bones else ' without it'}")
    if args.teacher_bones:
        try:
            load_proportions(Path(args.teacher_bones))
        except (FileNotFoundError, ValueError, RuntimeError) as e:
            parser.error(f"--teacher-bones: {e}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    if args.threads:
        torch.set_num_threads(args.threads)
    weights = _category_values(parser, "--category-weights", args.category_weights, int, tuple(args.categories),
                               step_schedule, "CATEGORY=STEPS, STEPS a whole number >= 1")
    batch_tokens = _category_values(parser, "--category-batch-tokens", args.category_batch_tokens, int,
                                    tuple(args.categories), check_batch_tokens,
                                    "CATEGORY=TOKENS, a trained category and a whole number >= 1")
    templates = _category_values(parser, "--template-weight", args.template_weight, float, tuple(args.categories),
                                 check_template_weights, "CATEGORY=WEIGHT, a trained category and a weight > 0")
    flows = _category_values(parser, "--flow-weight", args.flow_weight, float, tuple(args.categories),
                             check_flow_weights, "CATEGORY=WEIGHT, a trained category and a weight > 0")
    try:
        symmetry_categories = check_symmetry_categories(tuple(args.categories), tuple(args.symmetry_categories),
                                                        args.symmetry_weight)
    except ValueError as e:
        parser.error(f"--symmetry-categories: {e}")
    if args.finetune_elevation and not args.finetune_3d_aware:
        parser.error("--finetune-elevation is a setting of the 3D-aware stage: add --finetune-3d-aware")
    try:
        check_ema_decays(tuple(args.ema))
    except ValueError as e:
        parser.error(f"--ema: {e}")
    if args.init_ema is not None and not args.init:
        parser.error("--init-ema chooses the weights of the --init run: give --init RUN_FOLDER")
    if args.flow_steps < 1:
        parser.error(f"--flow-steps must be at least 1, got {args.flow_steps}")
    if args.max_batch < TrainConfig.min_batch:
        parser.error(f"--max-batch must be at least {TrainConfig.min_batch} (the smallest batch), got "
                     f"{args.max_batch}")
    if args.checkpoint_every < 1:
        parser.error(f"--checkpoint-every must be at least 1, got {args.checkpoint_every}")
    try:
        check_training_files(args.data, tuple(args.categories))
    except FileNotFoundError as e:
        parser.error(f"--data {args.data}: {e}")
    held = args.out / "checkpoint.safetensors"
    if held.exists() and not args.resume:
        parser.error(f"--out {args.out} already holds a training run ({held}): add --resume to continue it, or "
                     f"give another --out (nothing was overwritten)")
    if args.resume and not held.exists():
        print(f"--resume: no checkpoint in {args.out} yet; starting at step 0", file=sys.stderr)
    cfg = TrainConfig(categories=tuple(args.categories), category_weights=weights, supervision=args.supervision,
                      steps=args.steps, lr=args.lr, batch_tokens=args.batch_tokens, max_batch=args.max_batch,
                      category_batch_tokens=batch_tokens,
                      seed=args.seed, precision=args.precision, bf16_attention=args.bf16_attention, warmup=args.warmup,
                      init_from=args.init, init_ema=args.init_ema, finetune_3d_aware=args.finetune_3d_aware,
                      symmetry_weight=args.symmetry_weight, symmetry_categories=symmetry_categories,
                      cycle_weight=args.cycle_weight,
                      batch_on_subset=args.batch_on_subset,
                      completion_weight=args.completion_weight, cycle_reading=args.cycle_reading,
                      template_weights=templates, flow_weights=flows, flow=FlowConfig(steps=args.flow_steps),
                      learned_elevation=args.learned_elevation, ema_decays=tuple(args.ema),
                      checkpoint_every=args.checkpoint_every, block_prob=args.block_hide,
                      finetune=FinetuneConfig(learned_elevation=args.finetune_elevation,
                                              block_prob=args.render_block_hide, teacher_bones=args.teacher_bones,
                                              teacher_reading=args.teacher_reading,
                                              distill_weight=args.teacher_distill,
                                              teacher_precision=args.teacher_precision or ""),
                      mirror_prob=0.0 if args.supervision == "3d" else TrainConfig.mirror_prob,
                      model=LifterConfig(dim=args.dim, depth=args.depth, heads=args.heads,
                                         identity=args.identity, identity_code=args.identity_code,
                                         elevation_head=args.learned_elevation))
    if args.init:                                  # the network must be the one the checkpoint holds
        try:
            cfg.model = load_init(args.init, args.init_ema)[2]
        except (FileNotFoundError, ValueError, RuntimeError) as e:     # RuntimeError: lifter.api.WeightsError
            parser.error(str(e))
        for flag, on in (("--learned-elevation", args.learned_elevation),
                         ("--finetune-elevation", args.finetune_elevation)):
            if on and not cfg.model.elevation_head:
                parser.error(f"{flag}: the --init model {args.init} has no elevation head (train one from scratch "
                             f"with --learned-elevation)")
    if args.resume and (args.out / "checkpoint.json").exists():
        saved = config_from_dict(json.loads((args.out / "checkpoint.json").read_text())["config"])
        cfg = replace(saved, steps=args.steps, checkpoint_every=args.checkpoint_every)  # model, finetune: dataclasses
    try:
        cfg.check()
    except ValueError as e:                        # e names the setting (the option's name with underscores)
        parser.error(str(e))
    try:
        device = pick_device(args.device)
    except ValueError as e:
        parser.error(f"--device: {e}")
    started = time.perf_counter()
    command = "python -m lifter.train " + " ".join(argv if argv is not None else sys.argv[1:])
    train(cfg, args.data, args.out, device, resume=args.resume, progress=not args.quiet, command=command)
    print(f"trained {cfg.steps} steps on {device} in {time.perf_counter() - started:.0f} s; "
          f"checkpoint in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
