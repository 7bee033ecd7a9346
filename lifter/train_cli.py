"""The training command line, ``python -m lifter.train --data data/ --out runs/lifter [options]``: its options,
checked (a bad value is a usage error naming the option, before anything trains), turned into a
:class:`lifter.train_config.TrainConfig` and run by :func:`lifter.train.train`. ``--help`` lists every option.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable

import torch

from lifter.bone_lengths import DEFAULT_PROPORTIONS, load_proportions
from lifter.checked_files import WeightsError, file_in_the_way
from lifter.devices import cpu_bf16_units, resolve_device
from lifter.finetune import TEACHER_READINGS, FinetuneConfig
from lifter.flow import FlowConfig
from lifter.init_checks import init_problems, teacher_bones_problem
from lifter.model import BF16_ATTENTIONS, IDENTITY_CODES, IDENTITY_PLACES, LifterConfig
from lifter.runs import load_init, read_meta, unfinished
from lifter.stopping import TrainingError, TrainingInterrupted
from lifter.train import check_training_files, train
from lifter.train_config import (ALL_CATEGORIES, CYCLE_READINGS, PRECISIONS, TrainConfig, check_batch_tokens,
                                 check_ema_decays, check_flow_weights, check_symmetry_categories,
                                 check_template_weights, config_from_dict, step_schedule)
from lifter.views import DataFileError

#: Printed when ``--precision bf16`` (or ``--teacher-precision bf16``) trains on a CPU without bfloat16 instructions.
BF16_WITHOUT_UNITS = ("warning: bfloat16 on a CPU without bfloat16 instructions (lscpu's flags show no amx_bf16 or "
                      "avx512_bf16, nor bf16 on Arm, or ONEDNN_MAX_CPU_ISA caps them away): PyTorch emulates them, "
                      "and on this project's Intel CPU limited to AVX2 a 2D-only step took 20x as long as in "
                      "float32 (results/train_speed/intel_instruction_limits.md). --precision fp32 (PRECISION=fp32 "
                      "for scripts/cpu_recipe.sh) will be much faster here.")
DESCRIPTION = "Train the lifter: ``python -m lifter.train --data data/ --out runs/lifter``."


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


#: The network options (LifterConfig fields) an ``--init`` run takes from its start, not from the command line.
NETWORK_OPTIONS = ("identity", "identity_code", "dim", "depth", "heads")


class BriefUsageParser(argparse.ArgumentParser):
    """An argument parser whose usage errors print a one-line usage, not the 30 lines of every option before the
    message (``--help`` still lists them all)."""

    def format_usage(self) -> str:
        return f"usage: {self.prog} --data DATA [--out OUT] [options]  ({self.prog} --help lists them)\n"


#: The ``CATEGORY=VALUE`` options, in :func:`category_pairs`' order: (option, value type, the check of its pairs,
#: what a word of it should be).
CATEGORY_OPTIONS = (
    ("--category-weights", int, step_schedule, "CATEGORY=STEPS, STEPS a whole number >= 1"),
    ("--category-batch-tokens", int, check_batch_tokens, "CATEGORY=TOKENS, a trained category and a whole number >= 1"),
    ("--template-weight", float, check_template_weights, "CATEGORY=WEIGHT, a trained category and a weight > 0"),
    ("--flow-weight", float, check_flow_weights, "CATEGORY=WEIGHT, a trained category and a weight > 0"),
)


def category_pairs(parser: argparse.ArgumentParser, args: argparse.Namespace, checked: bool = True
                   ) -> list[tuple[tuple[str, Any], ...]]:
    """The pairs of each of :data:`CATEGORY_OPTIONS` in ``args`` (:func:`_category_values`), each option's pairs
    checked against ``args.categories`` (a usage error naming the option) unless not ``checked``."""
    return [_category_values(parser, option, getattr(args, option[2:].replace("-", "_")), convert,
                             tuple(args.categories), check if checked else (lambda *_: None), expected)
            for option, convert, check, expected in CATEGORY_OPTIONS]


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m lifter.train``: its options in five groups (``--help`` shows them)."""
    parser = BriefUsageParser(prog="python -m lifter.train", description=DESCRIPTION)
    run = parser.add_argument_group(
        "data and run", "what to train on, where the run goes, and how it starts, resumes and is kept")
    run.add_argument("--data", type=Path, required=True, help="folder of *_train.npz (lifter.data build)")
    run.add_argument("--out", type=Path, default=Path("runs/lifter"),
                     help="run folder (checkpoints, log; default runs/lifter, under the current folder)")
    run.add_argument("--categories", nargs="+", default=list(ALL_CATEGORIES), choices=ALL_CATEGORIES,
                     help="categories to train on (default: all four)")
    run.add_argument("--category-weights", nargs="+", default=[], metavar="CATEGORY=STEPS",
                     help="steps per round-robin cycle for the named categories (others 1), e.g. human17=2: "
                          "bodies get two steps for every one of each other category (default: balanced)")
    run.add_argument("--supervision", choices=("2d", "3d"), default="2d",
                     help="2d: the headline model; 3d: the 3D-supervised reference (upper bound)")
    run.add_argument("--steps", type=int, default=TrainConfig.steps,
                     help=f"optimiser steps in all, round robin over the categories (default {TrainConfig.steps})")
    run.add_argument("--seed", type=int, default=0,
                     help="random seed: the same seed, data and options give the same weights on the same "
                          "machine (default 0)")
    run.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    run.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    run.add_argument("--resume", action="store_true",
                     help="continue the run in OUT from its checkpoint, with the run's own settings: give the same "
                          "command, or only --data, --out, --steps and --checkpoint-every (an option that differs "
                          "from the run's is refused; without --resume, a run folder that already holds a "
                          "checkpoint is refused, never overwritten). Ctrl-C or SIGTERM stops a run after its "
                          "step in progress and writes a checkpoint to resume from")
    run.add_argument("--checkpoint-every", type=int, default=TrainConfig.checkpoint_every, metavar="STEPS",
                     help=f"write OUT/checkpoint.* every this many steps and at the end (default "
                          f"{TrainConfig.checkpoint_every})")
    run.add_argument("--init", default="",
                     help="start from a trained model: a run folder (checkpoint.*) or exported weights "
                          "(WEIGHTS.safetensors with its .json record, e.g. assets/weights/lifter.safetensors)")
    run.add_argument("--init-ema", type=float, default=None, metavar="DECAY",
                     help="with --init RUN_FOLDER: start from the run's weight average at this decay (trained "
                          "with --ema DECAY) instead of its last weights")
    run.add_argument("--ema", nargs="+", type=float, default=[], metavar="DECAY",
                     help="also keep exponential moving averages of the weights at these decays, e.g. 0.998 "
                          "(saved in the checkpoints; export one with python -m lifter.export --ema DECAY)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    network = parser.add_argument_group("network", "the transformer (a new run's; an --init run keeps its own)")
    network.add_argument("--identity", choices=IDENTITY_PLACES, default=LifterConfig.identity,
                         help="where the landmark identity code enters (input_only is the ablation)")
    network.add_argument("--identity-code", choices=IDENTITY_CODES, default=LifterConfig.identity_code,
                         help="the landmark identity code: fourier (of the landmark index; the default) or "
                              "laplacian+fourier (a graph-Laplacian code of the category's skeleton appended)")
    network.add_argument("--dim", type=int, default=LifterConfig.dim, help=f"token width (default {LifterConfig.dim})")
    network.add_argument("--depth", type=int, default=LifterConfig.depth,
                         help=f"attention blocks (default {LifterConfig.depth})")
    network.add_argument("--heads", type=int, default=LifterConfig.heads,
                         help=f"attention heads, dividing --dim (default {LifterConfig.heads})")
    network.add_argument("--learned-elevation", action="store_true",
                         help="turn the novel views about the vertical of a camera elevation the network learns to "
                              "predict (ElePose), not about the image's vertical; adds an elevation head to a new "
                              "model (an --init model must have one)")
    optim = parser.add_argument_group("optimisation and batches")
    optim.add_argument("--lr", type=float, default=TrainConfig.lr,
                       help=f"AdamW peak learning rate, then cosine decay to 5 %% (default {TrainConfig.lr:g})")
    optim.add_argument("--warmup", type=int, default=TrainConfig.warmup,
                       help=f"steps of linear learning-rate warm-up (default {TrainConfig.warmup})")
    optim.add_argument("--batch-tokens", type=int, default=TrainConfig.batch_tokens,
                       help=f"landmarks a batch: poses = tokens / the category's landmark count, clamped to "
                            f"{TrainConfig.min_batch}..--max-batch (default {TrainConfig.batch_tokens})")
    optim.add_argument("--category-batch-tokens", nargs="+", default=[], metavar="CATEGORY=TOKENS",
                       help="--batch-tokens of the named categories instead (others: --batch-tokens), e.g. "
                            "face468=2048 chair=2048 with --batch-tokens 8192: large batches where they help")
    optim.add_argument("--max-batch", type=int, default=TrainConfig.max_batch, metavar="POSES",
                       help=f"most poses a batch (default {TrainConfig.max_batch}); raise it with --batch-tokens "
                            f"to grow the batches of the small categories, not only the faces'. A batch larger than "
                            f"its training file is the whole file (a note says so); on the CPU one that needs more "
                            f"memory than is available (84 KB a token at least) is refused before the first step")
    optim.add_argument("--batch-on-subset", action="store_true",
                       help="size batches on the landmarks a pose trains on (at most max_tokens=128), not on N: "
                            "32 faces per batch instead of 16")
    optim.add_argument("--precision", choices=PRECISIONS, default=TrainConfig.precision,
                       help="bf16: run the lifter's transformer blocks under bfloat16 autocast (float32 weights "
                            "and losses): 1.5-1.9x faster steps on the CPUs measured, with AMX or AVX-512 bf16 "
                            "instructions (lscpu: amx_bf16, avx512_bf16; scripts/train_step_speed.py measures it); "
                            "emulated, and 20x slower, without them (a warning says so); default fp32")
    optim.add_argument("--bf16-attention", choices=BF16_ATTENTIONS, default=TrainConfig.bf16_attention,
                       help="with --precision bf16 on the CPU: attention as bfloat16 matrix products (matmul, "
                            "default: faster) or PyTorch's fused kernel in float32 (fp32: every bf16 run recorded "
                            "before this option)")
    losses = parser.add_argument_group("2D-only losses and priors", "lifter.losses: every loss reads 2D only")
    losses.add_argument("--cycle-weight", type=float, default=TrainConfig.cycle_weight,
                        help="weight of the cycle loss (lift, rotate, re-project, lift again; default 1); 0 skips "
                             "the second lift altogether")
    losses.add_argument("--cycle-reading", choices=CYCLE_READINGS,
                        default=TrainConfig.cycle_reading,
                        help="how the cycle loss reads the lift of the novel view: orthographic (x, y = its 2D, "
                             "scale fitted; the default, as every recorded run) or perspective (un-projected with "
                             "the novel view's known camera, as the 3D-aware stage's render loss)")
    losses.add_argument("--symmetry-weight", type=float, default=TrainConfig.symmetry_weight,
                        help="weight of the mirror-symmetry prior on the lift's distances (default 0: off)")
    losses.add_argument("--symmetry-categories", nargs="+", default=[], metavar="CATEGORY",
                        help="apply the --symmetry-weight prior to these trained categories only (each must have "
                             "mirror pairs: human17, face468, chair); default: every trained category that has them")
    losses.add_argument("--completion-weight", type=float, default=TrainConfig.completion_weight,
                        help="weight of the hidden-landmark completion distillation (losses.completion_loss; "
                             "default 0: off)")
    losses.add_argument("--template-weight", nargs="+", default=[], metavar="CATEGORY=WEIGHT",
                        help="rigid-template prior for nearly rigid categories, e.g. face468=1: the lift must be "
                             "close to the shape that structure from motion recovers from the training 2D "
                             "(losses.template_loss; default: none)")
    losses.add_argument("--flow-weight", nargs="+", default=[], metavar="CATEGORY=WEIGHT",
                        help="ElePose-style 2D pose likelihood for categories with fully visible training 2D, "
                             "e.g. human17=0.1: the lift's random re-projections must be likely under a "
                             "normalising flow fitted to the training 2D (lifter.flow, losses.flow_loss; default: "
                             "none)")
    losses.add_argument("--flow-steps", type=int, default=FlowConfig.steps,
                        help=f"maximum-likelihood steps fitting each --flow-weight flow at start-up (default "
                             f"{FlowConfig.steps})")
    losses.add_argument("--block-hide", type=float, default=TrainConfig.block_prob, metavar="PROB",
                        help="chance that a training pose gets a block of landmarks hidden (those furthest along a "
                             "random 2D direction, up to half its visible ones) instead of scattered ones")
    stage3d = parser.add_argument_group(
        "3D-aware stage", "FiT3D-style fine-tuning on rendered views of a teacher's lifts (lifter.finetune; needs "
                          "--init)")
    stage3d.add_argument("--finetune-3d-aware", action="store_true",
                         help="3D-aware fine-tuning stage (lifter.finetune); needs --init")
    stage3d.add_argument("--finetune-elevation", action="store_true",
                         help="with --finetune-3d-aware: render the 3D-aware stage's views about the vertical of the "
                              "camera elevation the teacher predicts (its elevation head), not the image's vertical "
                              "(lifter.finetune; the --init model must have an elevation head)")
    stage3d.add_argument("--render-block-hide", type=float, default=FinetuneConfig.block_prob, metavar="PROB",
                         help="3D-aware stage: chance that a rendered view shows the model a block of landmarks "
                              "hidden (up to half), the teacher's whole lift still its target")
    stage3d.add_argument("--teacher-bones", nargs="?", const=str(DEFAULT_PROPORTIONS), default="", metavar="PATH",
                         help="3D-aware stage: refine the teacher's lifts of bodies and hands by the bone-length step "
                              "lift() runs at test time, with the bone proportions of PATH (default: the bundled "
                              "assets/weights/bone_proportions.safetensors, fitted to a lifter's lifts of training "
                              "2D) before rendering them (lifter.finetune)")
    stage3d.add_argument("--teacher-reading", choices=TEACHER_READINGS, default=FinetuneConfig.teacher_reading,
                         help="3D-aware stage: read the teacher's lift as 3D orthographically (x, y = its 2D; the "
                              "default, as every recorded run) or through the pinhole lift()'s refinements guess "
                              "from the 2D extent (lifter.finetune.perspective_teacher_lift)")
    stage3d.add_argument("--teacher-distill", type=float, default=FinetuneConfig.distill_weight, metavar="W",
                         help="3D-aware stage, with --teacher-bones: weight of a loss pulling the depths of the "
                              "model's own lift of the real training 2D towards the teacher's lift refined by the "
                              "bone-length step (lifter.finetune; default 0: off)")
    stage3d.add_argument("--teacher-precision", choices=PRECISIONS, default=FinetuneConfig.teacher_precision or None,
                         help="3D-aware stage: the teacher's precision (default: --precision's); --precision bf16 "
                              "--teacher-precision fp32 keeps the teacher's targets free of bfloat16 rounding")
    return parser


def config_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace, given: set[str] | None = None
                     ) -> TrainConfig:
    """The :class:`TrainConfig` the parsed ``args`` ask for, every option checked first: a bad value, a missing data
    file, an ``--out`` that already holds a run (without ``--resume``) or an ``--init`` that cannot be read is a
    usage error (``parser.error``) naming the option, before anything trains. With ``--resume`` and a checkpoint in
    ``--out``, the run's own config with the steps and checkpoint interval given; ``given``
    (:func:`given_options`), the options the command line set: one whose setting differs from the run's is a usage
    error (None: not checked)."""
    blocked = file_in_the_way(args.out)
    if blocked:
        parser.error(f"--out {args.out}: {blocked} is a file: give a folder for the run")
    if args.data.is_file():
        parser.error(f"--data {args.data} is a file: give the folder of *_train.npz files (lifter.data build's --out)")
    if args.finetune_3d_aware and not args.init:
        parser.error("--finetune-3d-aware starts from a trained model: give --init RUN_FOLDER or WEIGHTS.safetensors")
    if args.finetune_3d_aware and args.supervision == "3d":
        parser.error("--finetune-3d-aware is a 2D-supervised stage (its losses read rendered 2D views); with "
                     "--supervision 3d it would train on the 3D loss alone: drop one of them")
    ignored = [f"--{d.replace('_', '-')}" for d in TWO_D_ONLY if d in (given or ())] if args.supervision == "3d" else []
    if ignored:
        parser.error(f"{', '.join(ignored)} set{'s' * (len(ignored) == 1)} what 2D supervision trains with (novel "
                     f"views, their critic and priors); --supervision 3d trains on the true depths and the hidden "
                     f"landmarks' 2D alone: drop {'it' if len(ignored) == 1 else 'them'}")
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
    teacher_categories: tuple[str, ...] = ()
    if args.teacher_bones:
        try:
            teacher_categories = tuple(load_proportions(Path(args.teacher_bones)))
        except (FileNotFoundError, ValueError, RuntimeError) as e:
            parser.error(f"--teacher-bones: {e}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    weights, batch_tokens, templates, flows = category_pairs(parser, args)
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
    held = [args.out / name for name in ("checkpoint.safetensors", "checkpoint.json") if (args.out / name).exists()]
    if held and not args.resume:
        parser.error(f"--out {args.out} already holds a training run ({held[0]}): add --resume to continue it, or "
                     f"give another --out (nothing was overwritten)")
    saved = None
    if args.resume and held:
        try:
            saved = config_from_dict(read_meta(args.out)["config"])
        except (FileNotFoundError, ValueError, TypeError) as e:
            parser.error(f"--resume: {e}")
    elif args.resume:
        print(f"--resume: no checkpoint in {args.out} yet; starting at step 0", file=sys.stderr)
    try:                                             # a resumed run trains its own categories
        check_training_files(args.data, saved.categories if saved else tuple(args.categories))
    except FileNotFoundError as e:
        parser.error(f"--data {args.data}: {e}")
    cfg = config_of(args, weights, batch_tokens, templates, flows, symmetry_categories)
    if saved is not None and given is not None:
        differing = settings_differing(parser, args, given, saved)
        if differing:
            parser.error(f"--resume continues the run in {args.out} with its own settings, and this command asks for "
                         f"others: {'; '.join(differing)}. Resume with the run's own command, or with only --data, "
                         f"--out, --steps and --checkpoint-every, or start a new run in another --out")
    if args.init:                                  # the network must be the one the checkpoint holds
        try:
            cfg.model = load_init(args.init, args.init_ema)[2]
        except (FileNotFoundError, ValueError, RuntimeError) as e:     # RuntimeError: lifter.api.WeightsError
            parser.error(str(e))
        others = [f"--{dest.replace('_', '-')} {getattr(args, dest)} (its network's: {getattr(cfg.model, dest)})"
                  for dest in NETWORK_OPTIONS if dest in (given or ()) and getattr(args, dest) != getattr(cfg.model,
                                                                                                       dest)]
        if others:
            parser.error(f"--init {args.init} keeps its own network, and this command asks for another: "
                         f"{'; '.join(others)}; drop the option or train a new network without --init")
        error, notes = init_problems(Path(args.init), cfg)
        if error:
            parser.error(f"--init {error}")
        for note in notes:
            print(f"warning: --init {note}", file=sys.stderr)
        for flag, on in (("--learned-elevation", args.learned_elevation),
                         ("--finetune-elevation", args.finetune_elevation)):
            if on and not cfg.model.elevation_head:
                parser.error(f"{flag}: the --init model {args.init} has no elevation head (train one from scratch "
                             f"with --learned-elevation)")
    if args.teacher_bones:
        problem = teacher_bones_problem(Path(args.teacher_bones), cfg, teacher_categories)
        if problem:
            parser.error(f"--teacher-bones {problem}")
    if saved is not None:
        cfg = replace(saved, steps=args.steps, checkpoint_every=args.checkpoint_every)  # model, finetune: dataclasses
    try:
        cfg.check()
    except ValueError as e:                        # e starts with the setting's name: name the option instead
        parser.error(_as_option(str(e), args))
    return cfg


#: The settings a ``--resume`` may change: how long the run goes on, and how often it writes a checkpoint.
RESUME_SETTINGS = ("steps", "checkpoint_every")
#: Options of 2D supervision alone (its novel views, critic and priors), refused with ``--supervision 3d``, which
#: had taken them silently and recorded them as if used.
TWO_D_ONLY = ("cycle_weight", "cycle_reading", "completion_weight", "symmetry_weight", "symmetry_categories",
              "template_weight", "flow_weight", "flow_steps", "learned_elevation", "finetune_elevation")


class _NotGiven:
    """The value :func:`given_options` pre-sets: an option still holding it was not on the command line."""


def given_options(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The destinations (``lr``, ``categories``, ...) of the options ``argv`` sets, abbreviations included: argparse
    fills in a default only where the namespace lacks the attribute, so every one is pre-set to a marker first."""
    marker = _NotGiven()
    names = {a.dest for a in parser._actions if a.dest != argparse.SUPPRESS}
    namespace = parser.parse_args(argv, namespace=argparse.Namespace(**{d: marker for d in names}))
    return {d for d in names if getattr(namespace, d) is not marker}


def _flat(cfg: TrainConfig) -> dict[str, Any]:
    """``cfg`` as ``{"lr": 0.001, "model.dim": 128, ...}``, its values as JSON has them (tuples as lists)."""
    def walk(d: dict, prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(walk(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
        return out
    return walk(json.loads(json.dumps(asdict(cfg), default=str)), "")


def settings_differing(parser: argparse.ArgumentParser, args: argparse.Namespace, given: set[str],
                       saved: TrainConfig) -> list[str]:
    """The options of ``given`` (on the command line) that set a setting otherwise than the resumed run ``saved``
    has it, each as ``"--lr 5 (the run's: 0.001)"``; the settings of :data:`RESUME_SETTINGS` may differ. An option
    is found by the settings it alone changes from the defaults (:func:`config_of`), and by the setting of its own
    name: an option given at its default value (``--precision fp32`` to a bf16 run) changes nothing from the
    defaults, and had been passed over."""
    defaults = parser.parse_args(["--data", str(args.data)])
    base = _flat(_config_of_args(parser, defaults))
    run = _flat(saved)
    out = []
    for dest in sorted(given):
        one = _flat(_config_of_args(parser, argparse.Namespace(**{**vars(defaults), dest: getattr(args, dest)})))
        keys = {k for k, v in one.items() if v != base.get(k)} | {k for k in (dest, f"model.{dest}") if k in one}
        changed = {k: one[k] for k in sorted(keys) if k not in RESUME_SETTINGS and k in run and one[k] != run[k]}
        if changed:
            option = f"--{dest.replace('_', '-')}"
            out.append(", ".join(f"{option} gives {k} = {v} (the run's: {run[k]})" for k, v in changed.items()))
    return out


def _config_of_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> TrainConfig:
    """:func:`config_of` with the ``CATEGORY=VALUE`` options parsed from ``args`` (checked already)."""
    pairs = category_pairs(parser, args, checked=False)
    try:
        symmetry = check_symmetry_categories(tuple(args.categories), tuple(args.symmetry_categories),
                                             args.symmetry_weight)
    except ValueError:
        symmetry = tuple(args.symmetry_categories)
    return config_of(args, *pairs, symmetry)


def config_of(args: argparse.Namespace, weights: tuple, batch_tokens: tuple, templates: tuple, flows: tuple,
              symmetry_categories: tuple) -> TrainConfig:
    """The :class:`TrainConfig` of checked ``args`` and their parsed ``CATEGORY=VALUE`` options (no checks, no
    files read: :func:`config_from_args` checks first, and replaces the network by an ``--init`` model's)."""
    return TrainConfig(categories=tuple(args.categories), category_weights=weights, supervision=args.supervision,
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


def _as_option(message: str, args: argparse.Namespace) -> str:
    """``message``, a :meth:`TrainConfig.check` error (it starts with the setting's name), with the name written as
    the option that sets it where ``args`` has one of that name: ``"batch_tokens must be ..."`` reads
    ``"--batch-tokens must be ..."``."""
    name, space, rest = message.partition(" ")
    if name in FINETUNE_OPTIONS:
        return f"{FINETUNE_OPTIONS[name]}{space}{rest}"
    return f"--{name.replace('_', '-')}{space}{rest}" if name in vars(args) else message


#: The 3D-aware stage's settings (:meth:`lifter.finetune.FinetuneConfig.check` names them) that options set.
FINETUNE_OPTIONS = {"finetune.block_prob": "--render-block-hide", "finetune.distill_weight": "--teacher-distill",
                    "finetune.teacher_reading": "--teacher-reading",
                    "finetune.teacher_precision": "--teacher-precision"}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    cfg = config_from_args(parser, args, given_options(parser, argv))
    try:
        device = resolve_device(args.device)
    except ValueError as e:
        parser.error(f"--device: {e}")
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == "cpu" and "bf16" in (cfg.precision, cfg.finetune.teacher_precision) and cpu_bf16_units() == []:
        print(BF16_WITHOUT_UNITS, file=sys.stderr)
    if cfg.init_from and Path(cfg.init_from).is_dir():
        note = unfinished(cfg.init_from, read_meta(cfg.init_from))
        if note:
            print(f"warning: --init {note}", file=sys.stderr)
    started = time.perf_counter()
    command = "python -m lifter.train " + " ".join(argv)
    try:
        trainer = train(cfg, args.data, args.out, device, resume=args.resume, progress=not args.quiet,
                        command=command)
    except (TrainingError, DataFileError, WeightsError) as e:   # WeightsError: an --init or teacher file moved
        parser.exit(1, f"{parser.prog}: error: {e}\n")
    except TrainingInterrupted as e:
        kept = (f"checkpoint of step {e.step} written in {args.out}: continue with the same command and --resume"
                if e.saved else "during the critics' warm-up, before step 1: nothing was saved; run the command "
                                "again to start over")
        parser.exit(130 if e.signal_name == "SIGINT" else 143,
                    f"{parser.prog}: stopped by {e.signal_name} at step {e.step} of {e.steps}; {kept}\n")
    except KeyboardInterrupt:                   # before the steps began, or a second Ctrl-C within a step
        held = (args.out / "checkpoint.safetensors").exists()
        parser.exit(130, f"{parser.prog}: interrupted; "
                         + (f"the last checkpoint in {args.out} is kept: continue with the same command and --resume\n"
                            if held else "nothing was saved\n"))
    done = trainer.step_count - trainer.started_at
    if done == 0:
        print(f"the run in {args.out} is at step {trainer.step_count} of {cfg.steps} already: nothing to train (a "
              f"larger --steps with --resume trains on)")
    else:
        since = f" (resumed at step {trainer.started_at})" if trainer.started_at else ""
        print(f"trained {done} steps{since} on {device} in {time.perf_counter() - started:.0f} s; step "
              f"{trainer.step_count} of {cfg.steps}; checkpoint in {args.out}")
    return 0
