"""Export a training run's model as weights: ``python -m lifter.export --run runs/lifter --out WEIGHTS``.

Writes ``WEIGHTS`` (safetensors, the model only) and ``WEIGHTS`` with suffix ``.json``: the model config, the
SHA-256 of the weights, the training recipe, steps, wall time, device, the data build's summary, the command
that trained it, and (``--evaluation results/evaluate.json --label LABEL``) the evaluation rows it reached.

``--ema DECAY`` exports the run's exponential moving average of the weights at that decay (``python -m
lifter.train --ema DECAY``) instead of its last weights.

Without ``--run``, ``--evaluation`` attaches the rows to the record of weights already exported (the weights'
SHA-256 must still match their record): ``python -m lifter.export --out WEIGHTS --evaluation results/evaluate.json
--label LABEL``, run after ``python -m lifter.evaluate`` has measured them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from lifter.checked_files import record_path, sha256_file
from lifter.runs import init_sha256, read_meta, read_run, unfinished


def export(run: Path, out: Path, command: str = "", evaluation: Path | None = None,
           label: str | None = None, ema: float | None = None) -> dict:
    """Export ``run``'s checkpoint to ``out`` (its last weights, or with ``ema`` its weight average at that
    decay); returns the record written beside it. Everything is read and checked first, and the two files are
    written under temporary names, then renamed: a failed export leaves ``out`` and its record as they were.
    Raises ValueError when the run kept no average at ``ema``, or ``evaluation`` has no rows for ``label``."""
    model, _, meta = read_run(run, ema)
    rows = evaluation_rows(evaluation, label) if evaluation is not None else None
    init = meta["config"].get("init_from")
    init = str(Path(meta.get("cwd", ".")) / init) if init else init     # relative to where the run trained
    # read before ``out`` is written: it may be the init itself
    started_from = init_record(Path(init), meta.get("init_sha256")) if init else None
    out.parent.mkdir(parents=True, exist_ok=True)
    partial, record_partial = (p.with_name(p.name + ".partial") for p in (out, record_path(out)))
    try:
        save_file(model, str(partial))
        sha256 = sha256_file(partial)
        if rows is not None:
            check_measured(evaluation, label, sha256)
        record = export_record(run, meta, model, sha256, command, ema, started_from, rows)
        record_partial.write_text(json.dumps(record, indent=1) + "\n")
        os.replace(partial, out)
        os.replace(record_partial, record_path(out))
    finally:
        partial.unlink(missing_ok=True)
        record_partial.unlink(missing_ok=True)
    return record


def export_record(run: Path, meta: dict, model: dict, sha256: str, command: str, ema: float | None,
                  started_from: dict | None, rows: list[dict] | None) -> dict:
    """The JSON record of the weights ``model`` (SHA-256 ``sha256``) exported from ``run`` (its checkpoint's
    ``meta``): see :func:`export`."""
    log = read_log(run)
    segments = run_segments(meta, log)
    data_dir = Path(meta.get("cwd", ".")) / meta.get("data_dir", "data")          # where the run trained, if known
    build = json.loads((data_dir / "build.json").read_text()) if (data_dir / "build.json").exists() else None
    record = {
        "sha256": sha256,
        "model": meta["config"]["model"],
        "parameters": int(sum(v.numel() for v in model.values())),
        "train_config": meta["config"],
        "steps": meta["step"],
        "wall_seconds": wall_seconds(segments),
        "segments": segments,
        "device": meta.get("device", "unknown"),
        "processor": meta.get("processor", "not recorded"),
        "torch": meta.get("torch", f"{torch.__version__} (the exporting process's: the run recorded none)"),
        "machine": meta.get("machine", f"{platform.machine()} (the exporting process's: the run recorded none)"),
        "command": command or meta.get("command", ""),
        "data": {"dir": meta.get("data_dir", "data"),
                 "build": build and {"source": build["source"], "seed": build["config"]["seed"],
                                     "files": build["files"]}},
        "final_losses": log[-1] if log else None,
        "exported_weights": "last" if ema is None else {"ema_decay": ema},
    }
    if started_from is not None:
        record["initialised_from"] = started_from
    if rows is not None:
        record["evaluation"] = rows
    return record


def read_log(run: Path) -> list[dict]:
    """The entries of ``run/log.jsonl`` (empty when there is none)."""
    path = run / "log.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def log_segments(log: list[dict]) -> list[dict]:
    """The uninterrupted stretches of a run's log: a ``--resume`` restarts the clock (and repeats the steps after
    the last checkpoint), so each stretch is ``{"first_step", "last_step", "seconds"}`` (its first and last logged
    step, and the seconds from its start to the last); a run's wall time is the sum of their seconds."""
    segments: list[dict] = []
    for entry in log:
        seg = segments[-1] if segments else None
        if seg is None or entry["seconds"] < seg["seconds"] or entry["step"] <= seg["last_step"]:
            segments.append({"first_step": entry["step"], "last_step": entry["step"], "seconds": entry["seconds"]})
        else:
            seg["last_step"], seg["seconds"] = entry["step"], entry["seconds"]
    return segments


def run_segments(meta: dict, log: list[dict]) -> list[dict]:
    """A run's stretches of training: those its checkpoint record ``meta`` holds (``segments``, written with
    each checkpoint since 2026-12-07, whole across a stop and ``--resume``) when they cover it from its first
    step, else those read from its ``log`` (:func:`log_segments`: a stretch stopped before its first log line is
    not seen there, and two can run together)."""
    kept = meta.get("segments") or []
    return kept if kept and kept[0]["first_step"] == 1 else log_segments(log)


def wall_seconds(segments: list[dict]) -> float | None:
    """A run's wall time: the sum of its :func:`log_segments`' seconds (None for a run that logged nothing)."""
    return sum(seg["seconds"] for seg in segments) if segments else None


def init_record(init: Path, pinned: str | None = None) -> dict:
    """What a run started from: a run folder (its command, steps, wall time, recipe and, recursively, what it
    started from) or exported weights (their record, SHA-256 included, less the evaluation rows), as found at
    export time. ``pinned``: the SHA-256 the run's checkpoint recorded of the file it started from
    (``init_sha256``), kept as ``started_from_sha256``; where the file there now differs (re-exported or trained on
    since), a ``note`` says that the record describes the later file."""
    out = _found_record(init)
    if pinned:
        out["started_from_sha256"] = pinned
        now = init_sha256(init)
        if now is not None and now != pinned:
            out["note"] = (f"{init} is not the file the run started from (SHA-256 {str(now)[:12]}... now, "
                           f"{pinned[:12]}... then): this record describes the file as found at export time")
    return out


def _found_record(init: Path) -> dict:
    """:func:`init_record` of ``init`` as it is now."""
    if (init / "checkpoint.json").exists() or (init / "checkpoint.safetensors").exists():
        base = read_meta(init)
        segments = run_segments(base, read_log(init))
        parent = base["config"].get("init_from")
        return {"run": str(init), "command": base.get("command", ""), "steps": base["step"],
                "wall_seconds": wall_seconds(segments), "train_config": base["config"],
                "initialised_from": init_record(Path(parent), base.get("init_sha256")) if parent else None}
    if init.suffix == ".safetensors" and record_path(init).exists():
        rec = json.loads(record_path(init).read_text())
        return {"weights": str(init), **{k: v for k, v in rec.items() if k not in ("evaluation", "evaluation_source")}}
    return {"path": str(init), "note": "not found at export time"}


def lineage(record: dict) -> list[dict]:
    """A weights record and the stages it nests (``initialised_from``, as :func:`init_record` writes them), the
    newest first: ``[record, the stage it started from, ..., the first stage]``."""
    stages = []
    while record:
        stages.append(record)
        record = record.get("initialised_from")
    return stages


def evaluation_rows(evaluation: Path, label: str | None) -> list[dict]:
    """The rows of ``evaluate.json`` for method ``label`` (all rows when None); ValueError when there are none, or
    the file is missing or not a ``python -m lifter.evaluate`` report."""
    try:
        report = json.loads(Path(evaluation).read_text())
        results = report["results"]
        methods = sorted({r["method"] for r in results})
    except FileNotFoundError:
        raise ValueError(f"--evaluation {evaluation}: no such file (python -m lifter.evaluate writes "
                         f"evaluate.json in its --out folder)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"--evaluation {evaluation}: not an evaluate.json of python -m lifter.evaluate "
                         f"({type(e).__name__}: {e})") from None
    rows = [r for r in results if label is None or r["method"] == label]
    if not rows:
        raise ValueError(f"{evaluation}: no rows for method {label!r}; methods there: {methods}")
    return rows


def check_measured(evaluation: Path, label: str | None, sha256: str) -> None:
    """Raise ValueError when ``evaluation``'s rows of ``label`` measured another weights file than one of SHA-256
    ``sha256``: the file its ``models`` names for the label exists and holds other weights. (A file no longer
    there cannot be checked and passes.) Without a ``label`` nothing is checked: the whole table is attached as
    the context the weights were measured in."""
    if label is None:
        return
    measured = json.loads(Path(evaluation).read_text()).get("models", {}).get(label)
    if measured and Path(measured).is_file() and sha256_file(Path(measured)) != sha256:
        raise ValueError(f"{evaluation}: its rows of {label!r} measured {measured}, which holds other weights than "
                         f"these (SHA-256 differs): evaluate these weights, or give the label that measured them")


def attach_evaluation(weights: Path, evaluation: Path, label: str | None) -> dict:
    """Add the evaluation rows of ``label`` to the record of already exported ``weights``; returns the record.

    Raises ValueError when the weights no longer match the SHA-256 in their record (the rows would describe
    other weights).
    """
    record = json.loads(record_path(weights).read_text())
    if sha256_file(weights) != record["sha256"]:
        raise ValueError(f"{weights}: SHA-256 differs from {record_path(weights)}; re-export the weights first")
    rows = evaluation_rows(evaluation, label)
    check_measured(evaluation, label, record["sha256"])
    record["evaluation"] = rows
    record["evaluation_source"] = {"file": str(evaluation), "label": label}
    record_path(weights).write_text(json.dumps(record, indent=1) + "\n")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifter.export", description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None,
                        help="training run folder (checkpoint.*); without it, only attach --evaluation to --out")
    parser.add_argument("--out", type=Path, required=True, help="weights file to write (.safetensors)")
    parser.add_argument("--ema", type=float, default=None, metavar="DECAY",
                        help="export the run's weight average at this decay (python -m lifter.train --ema) "
                             "instead of its last weights")
    parser.add_argument("--evaluation", type=Path, default=None, help="evaluate.json to copy rows from")
    parser.add_argument("--label", default=None, help="method label of this model in --evaluation")
    parser.add_argument("--force", action="store_true", help="with --run: overwrite an existing --out (and record)")
    args = parser.parse_args(argv)
    if args.run is None:
        if args.ema is not None:
            parser.error("--ema selects the weights of a run: give --run")
        if args.evaluation is None:
            parser.error("give --run to export a run, or --evaluation to attach rows to exported weights")
        if not record_path(args.out).is_file():
            parser.error(f"{record_path(args.out)} not found: export the weights with --run first")
        try:
            record = attach_evaluation(args.out, args.evaluation, args.label)
        except ValueError as e:
            parser.error(str(e))
        print(f"attached {len(record['evaluation'])} evaluation rows to {record_path(args.out)}")
        return 0
    if args.out.suffix != ".safetensors":
        parser.error(f"--out must end in .safetensors, got {args.out}")
    if args.out.is_dir():
        parser.error(f"--out {args.out} is a folder: give the weights file's path")
    if args.out.resolve().parent == Path(args.run).resolve() and args.out.name.startswith("checkpoint."):
        parser.error(f"--out {args.out} is the run's own checkpoint (its optimisers and random states would be lost, "
                     f"and --resume with them): give another file, e.g. {Path(args.run).name}.safetensors beside it")
    if (args.out.exists() or record_path(args.out).exists()) and not args.force:
        parser.error(f"{args.out} or its record {record_path(args.out)} exists; give --force to overwrite them")
    try:
        record = export(args.run, args.out, evaluation=args.evaluation, label=args.label, ema=args.ema)
    except (OSError, ValueError) as e:                  # FileNotFoundError: not a run folder
        parser.error(str(e))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, {record['parameters']:,} parameters) "
          f"and {record_path(args.out)}")
    note = unfinished(args.run, read_meta(args.run))
    if note:
        print(f"warning: {note}; the weights written are those of step {record['steps']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
