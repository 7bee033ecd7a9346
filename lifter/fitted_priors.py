"""What the test-time refinements fitted to a lifter's own lifts share: their file and their command.

A refinement's prior (the faces' shape bases, :mod:`lifter.shape_basis`; the bone proportions,
:mod:`lifter.bone_lengths`) is one small dataclass of arrays per category, fitted to the bundled lifter's
``lift()`` of training 2D views (no 3D data) by ``python -m lifter.<module> --data data/`` and kept as a
safetensors file (``<category>.<field>``) with a JSON record of the command, the lifter and the views, its
SHA-256 checked at load (:func:`lifter.checked_files.read_checked_tensors`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

from lifter.checked_files import (WeightsError, made_writable, read_checked_tensors, sha256_file,
                                  write_checked_tensors)

T = TypeVar("T")


def save_fitted(path: Path, fitted: dict[str, object], record: dict) -> None:
    """Write each category's dataclass in ``fitted`` to ``path`` (``<category>.<field>``: floating arrays as
    float32, integer ones as they are) and ``record`` plus the file's SHA-256 to the JSON beside it."""
    tensors = {}
    for category, item in fitted.items():
        for field in dataclasses.fields(item):
            a = np.asarray(getattr(item, field.name))
            tensors[f"{category}.{field.name}"] = a.astype(np.float32) if a.dtype.kind == "f" else a
    write_checked_tensors(path, tensors, record)


def load_fitted(path: Path, cls: type[T], what: str, remedy: str, kind: str) -> dict[str, T]:
    """The ``cls`` dataclass of each category in ``path`` (:func:`save_fitted`; floating arrays as float64,
    integer ones as int64), checked against the SHA-256 in its record.
    Raises:
        lifter.api.WeightsError: a missing file or record, a corrupted file, a file without ``cls``'s fields
            (naming it).
    """
    path = Path(path)
    tensors = read_checked_tensors(path, what, remedy, kind)

    def field(category: str, name: str) -> np.ndarray:
        a = tensors[f"{category}.{name}"]
        return a.astype(np.float64) if a.dtype.kind == "f" else a.astype(np.int64)

    try:
        names = {k.rsplit(".", 1)[0] for k in tensors}
        return {c: cls(**{f.name: field(c, f.name) for f in dataclasses.fields(cls)}) for c in sorted(names)}
    except KeyError as e:
        raise WeightsError(f"{path} does not hold {what} (no tensor {e})") from None


def fit_command(argv: list[str] | None, module: str, what: str, default_out: Path, categories: list[str],
                option: str, load_option: str, views: int, seed: int,
                fit: Callable[[object, str, object, argparse.Namespace, Callable], tuple[object, dict]],
                describe: Callable[[dict], str], min_views: int = 1,
                add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
                check_arguments: Callable[[argparse.Namespace, Callable], None] | None = None) -> int:
    """``python -m lifter.<module> --data data/``: fit a prior per category from the bundled lifter's lifts.

    Args:
        argv: the command's arguments (None: ``sys.argv[1:]``); module: ``lifter.<module>``; what: the prior's
            name in messages and the progress bar; default_out: the file ``--out`` defaults to; categories: the
            default ``--categories``.
        option: ``lift()``'s option that turns this refinement off: the lifts it is fitted to are ``lift()`` as
            shipped without it (its own input; 2D and visibility only); load_option: :func:`lifter.api.load_lifter`'s
            argument naming this prior's file (set to None: the lifter is loaded without it).
        views, seed: the defaults of ``--views`` (training views per category) and ``--seed`` (of their draw).
        fit: ``(lifter, category, views, args, error) -> (fitted dataclass, source dict for the record)``: the
            prior of one category from its training views (a :class:`lifter.views.TestSet`) and
            ``lifter.lift(..., option=False)``; ``error(message)`` stops the command with a usage error.
        describe: a category's source dict -> how the printed summary names it, e.g. ``"2 modes from 2000 views"``.
        min_views: the fewest ``--views`` accepted.
        add_arguments: adds the command's own options to the parser.
        check_arguments: ``(args, error)``: checks the command's own options before anything is loaded or fitted
            (``error(message)`` stops the command with a usage error).

    Nothing is fitted before the arguments, the training files and ``--out`` pass their checks. ``--out`` left at
    the bundled file (``default_out``) takes the default settings (the bundled file's recipe, with another
    lifter's weights installed there first: the README's steps) or ``--force``: a trial with other settings would
    otherwise silently change every later ``lift()``.
    """
    parser = argparse.ArgumentParser(prog=f"python -m lifter.{module}",
                                     description=f"Fit the {what} of a test-time refinement from a lifter's lifts "
                                                 "of training 2D views (no 3D data).")
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the built data files")
    parser.add_argument("--out", type=Path, default=default_out, help="safetensors file to write (+ .json)")
    parser.add_argument("--weights", type=Path, default=None, help="lifter weights (default: the bundled ones)")
    parser.add_argument("--categories", nargs="+", default=categories, help="categories to fit")
    if add_arguments is not None:
        add_arguments(parser)
    parser.add_argument("--views", type=int, default=views, help="training views per category")
    parser.add_argument("--seed", type=int, default=seed, help="seed of the views' draw")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when available)")
    parser.add_argument("--force", action="store_true",
                        help=f"write the bundled {default_out.name} with settings other than its recipe's")
    args = parser.parse_args(argv)
    from tqdm import tqdm

    from lifter.api import DEFAULT_WEIGHTS, WeightsError, load_lifter
    from lifter.init_checks import record_supervision
    from lifter.views import training_2d

    if args.views < min_views:
        parser.error(f"--views must be at least {min_views}, got {args.views}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    if check_arguments is not None:
        check_arguments(args, parser.error)
    _check_out(parser, args, default_out)
    missing = [f"{c}_train.npz" for c in args.categories if not (Path(args.data) / f"{c}_train.npz").exists()]
    if missing:                                    # before the lifter is loaded and anything is fitted
        parser.error(f"no {', '.join(missing)} in {args.data}: run `python -m lifter.data build --source "
                     f"../shared/data --out {args.data}` first")
    try:                                             # every file read (and checked) before anything is loaded
        trains = {c: training_2d(args.data, c, args.views, args.seed) for c in args.categories}
    except ValueError as e:                          # DataFileError, or an unknown category
        parser.error(str(e))
    weights = args.weights or DEFAULT_WEIGHTS
    try:
        lifter = load_lifter(weights, device=args.device, **{load_option: None})
    except ValueError as e:
        parser.error(f"--device: {e}")
    except WeightsError as e:                        # a missing or corrupted --weights: named, no traceback
        parser.error(str(e))
    unknown = [c for c in args.categories if c not in lifter.categories]
    if unknown:
        parser.error(f"{weights} does not know {', '.join(unknown)}")
    start = time.time()
    fitted, sources = {}, {}
    for category in tqdm(args.categories, desc=what, unit="category"):
        fitted[category], sources[category] = fit(lifter, category, trains[category], args,
                                                  lambda message: parser.error(f"{category}: {message}"))
    record = {
        "command": f"python -m lifter.{module} " + " ".join(argv if argv is not None else sys.argv[1:]),
        "lifter": str(weights.name), "lifter_sha256": sha256_file(weights),
        "lifter_supervision": record_supervision(lifter.record),   # 3d: no 2D-supervised run takes it as teacher
        "data": f"{args.data}/<category>_train.npz: points2d and visible of training views drawn with seed "
                f"{args.seed} (lifter.views.training_2d); lifted by lift(..., {option}=False)",
        "categories": sources, "wall_s": round(time.time() - start, 1), "device": str(lifter.device),
        "machine": platform.machine(),
    }
    save_fitted(args.out, fitted, record)
    print(f"wrote {args.out} ({', '.join(f'{c}: {describe(s)}' for c, s in sources.items())})")
    return 0


def _check_out(parser: argparse.ArgumentParser, args: argparse.Namespace, default_out: Path) -> None:
    """:func:`fit_command`'s checks of ``--out`` before anything is fitted: not a folder, its folder writable, and
    the bundled file only with its recipe's settings or ``--force``."""
    out = Path(args.out)
    if out.is_dir():
        parser.error(f"--out {out} is a folder: give the .safetensors file to write")
    unwritable = made_writable(out.parent, "its folder")
    if unwritable is None and out.exists() and not os.access(out, os.W_OK):
        unwritable = "not writable here"
    if unwritable:
        parser.error(f"--out {out}: {unwritable}")
    if out.resolve() == Path(default_out).resolve() and not args.force:
        changed = [f"--{name.replace('_', '-')}" for name, value in sorted(vars(args).items())
                   if name not in ("data", "out", "device", "force") and value != parser.get_default(name)]
        if changed:
            parser.error(f"{', '.join(changed)} differ from the recipe of the bundled {out} (used by every lift()): "
                         f"give --out for a file of your own, or --force to replace the bundled one")
