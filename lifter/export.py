"""Export a training run's model as weights: ``python -m lifter.export --run runs/lifter --out WEIGHTS``.

Writes ``WEIGHTS`` (safetensors, the model only) and ``WEIGHTS`` with suffix ``.json``: the model config, the
SHA-256 of the weights, the training recipe, steps, wall time, device, the data build's summary, the command
that trained it, and (``--evaluation results/evaluate.json --label LABEL``) the evaluation rows it reached.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from lifter.api import record_path, sha256_file


def export(run: Path, out: Path, command: str = "", evaluation: Path | None = None,
           label: str | None = None) -> dict:
    """Export ``run``'s checkpoint to ``out``; returns the record written beside it."""
    meta = json.loads((run / "checkpoint.json").read_text())
    tensors = load_file(str(run / "checkpoint.safetensors"))
    model = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(model, str(out))
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    data_dir = Path(meta.get("data_dir", "data"))
    build = json.loads((data_dir / "build.json").read_text()) if (data_dir / "build.json").exists() else None
    record = {
        "sha256": sha256_file(out),
        "model": meta["config"]["model"],
        "parameters": int(sum(v.numel() for v in model.values())),
        "train_config": meta["config"],
        "steps": meta["step"],
        "wall_seconds": log[-1]["seconds"] if log else None,
        "device": meta.get("device", "unknown"),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "command": command or meta.get("command", ""),
        "data": {"dir": str(data_dir), "build": build and {"source": build["source"], "seed": build["config"]["seed"],
                                                              "files": build["files"]}},
        "final_losses": log[-1] if log else None,
    }
    if evaluation is not None:
        rows = json.loads(Path(evaluation).read_text())["results"]
        record["evaluation"] = [r for r in rows if label is None or r["method"] == label]
    record_path(out).write_text(json.dumps(record, indent=1) + "\n")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifter.export", description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="training run folder (checkpoint.*)")
    parser.add_argument("--out", type=Path, required=True, help="weights file to write (.safetensors)")
    parser.add_argument("--evaluation", type=Path, default=None, help="evaluate.json to copy rows from")
    parser.add_argument("--label", default=None, help="method label of this model in --evaluation")
    args = parser.parse_args(argv)
    record = export(args.run, args.out, evaluation=args.evaluation, label=args.label)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, {record['parameters']:,} parameters) "
          f"and {record_path(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
