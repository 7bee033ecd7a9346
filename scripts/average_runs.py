"""Average the weights of several training runs of one network ("model soup") into one exported weights file.

Runs fine-tuned from the same start often lie in one basin, where the average of their weights can be better
than each; docs/training.md quotes what it gave here (three 3D-aware runs from one 2D-only stage). The file is
written as ``python -m lifter.export`` writes the first run, with the averaged weights, their SHA-256 and the
averaged runs in the record, so ``load_lifter(OUT)`` and ``python -m lifter.evaluate --model LABEL=OUT`` read it.

Usage:

    PYTHONPATH=. python scripts/average_runs.py --out soup.safetensors RUN_A RUN_B [RUN_C ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from safetensors.torch import save_file

from lifter.checked_files import record_path, sha256_file
from lifter.export import export
from lifter.runs import read_run


def average_runs(runs: list[Path], out: Path) -> dict:
    """Write the mean of ``runs``' model weights to ``out`` (+ record); returns the record.

    Raises ValueError for fewer than two runs or runs of different networks (other tensors or shapes)."""
    if len(runs) < 2:
        raise ValueError(f"give at least two runs to average, got {len(runs)}")
    states = [read_run(r)[0] for r in runs]
    for r, s in zip(runs[1:], states[1:]):
        if s.keys() != states[0].keys() or any(v.shape != states[0][k].shape for k, v in s.items()):
            raise ValueError(f"{r} holds another network than {runs[0]}: its weights cannot be averaged with them")
    record = export(Path(runs[0]), out)
    mean = {k: sum(s[k].double() for s in states).div(len(states)).to(v.dtype) if v.is_floating_point() else v
            for k, v in states[0].items()}
    save_file(mean, str(out))
    record.update(sha256=sha256_file(out), exported_weights={"average_of_runs": [str(r) for r in runs]})
    record_path(out).write_text(json.dumps(record, indent=1) + "\n")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="weights file to write (.safetensors)")
    parser.add_argument("runs", type=Path, nargs="+", help="training run folders (checkpoint.*)")
    args = parser.parse_args()
    try:
        average_runs(args.runs, args.out)
    except ValueError as e:
        parser.error(str(e))
    print(f"wrote {args.out}: the mean of {len(args.runs)} runs' weights, and {record_path(args.out)}")


if __name__ == "__main__":
    main()
