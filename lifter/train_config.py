"""The training recipe: :class:`TrainConfig` (recorded with every checkpoint and with the bundled weights), the
checks of its settings, and the round-robin schedule of categories over the steps.

The training loop that runs a config is :mod:`lifter.train`; the command line that builds one is
:mod:`lifter.train_cli` (``python -m lifter.train``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lifter.finetune import FinetuneConfig
from lifter.flow import FlowConfig
from lifter.model import BF16_ATTENTIONS, PRECISIONS, LifterConfig
from lifter.skeletons import get_category

ALL_CATEGORIES = ("human17", "hand21", "face468", "chair")
CYCLE_READINGS = ("orthographic", "perspective")  # TrainConfig.cycle_reading: how the cycle reads its second lift
EMA_WARMUPS = ("mean", "tf")                      # TrainConfig.ema_warmup (lifter.train.ema_factor)


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
        for name, allowed in (("cycle_reading", CYCLE_READINGS), ("precision", PRECISIONS),
                              ("bf16_attention", BF16_ATTENTIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        self.finetune.check()
        self.model.check()


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
                           what: str = "template weights") -> None:
    """Raise ``ValueError`` unless every category given a value of ``what`` (template weights, flow weights, batch
    tokens) is trained and its value is > 0."""
    untrained = sorted(c for c, _ in weights if c not in categories)
    if untrained:
        raise ValueError(f"{what} for {untrained}, which are not trained (categories: {list(categories)})")
    if not all(w > 0 for _, w in weights):
        raise ValueError(f"{what} must be > 0, got {dict(weights)}")


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
    check_template_weights(categories, weights, "flow weights")


def check_batch_tokens(categories: tuple[str, ...], tokens: tuple[tuple[str, int], ...]) -> None:
    """Raise ``ValueError`` unless every category given its own batch tokens is trained and its count is > 0."""
    check_template_weights(categories, tokens, "batch tokens")


def check_ema_decays(decays: tuple[float, ...], warmup: str = "mean") -> None:
    """Raise ``ValueError`` unless every weight-average decay is in (0, 1), none is repeated and the warm-up is
    one of ``EMA_WARMUPS`` (:func:`lifter.train.ema_factor`)."""
    if not all(0.0 < d < 1.0 for d in decays) or len(set(decays)) != len(decays):
        raise ValueError(f"weight-average decays must be distinct numbers between 0 and 1, got {list(decays)}")
    if warmup not in EMA_WARMUPS:
        raise ValueError(f"unknown weight-average warm-up {warmup!r} (expected one of {EMA_WARMUPS})")
