"""The benchmark's finished blocks kept on disk while it runs, so that an interrupted ``python -m lifter.evaluate``
(22-29 min on a 2-core CPU) resumes where it stopped (``--resume``) instead of starting over.

A block is one category in one setting (clean or occluded): every method's rows for it. The file holds the blocks
finished so far and the key of the run that wrote them: the SHA-256 of every weights file, of the category files in
the data folder and of the ``lifter`` package's source, and the categories and options. A resumed run must have the
same key, so rows measured with other weights, data or code are never mixed into a table.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from lifter.checked_files import sha256_file

PARTIAL_NAME = "evaluate.partial.json"


class PartialMismatch(ValueError):
    """The partial results on disk were written by a run with other inputs (the message says which)."""


def code_sha256() -> str:
    """SHA-256 over the ``lifter`` package's Python sources (paths and contents, in sorted order)."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def run_key(data: Path, models: dict[str, Path], categories: tuple[str, ...], ablations: bool,
            references: bool = True) -> dict:
    """What a run's rows depend on: ``{"models": {label: sha256}, "data": {file: sha256}, "code": sha256,
    "categories": [...], "ablations": bool, "references": bool}`` (``data``: every ``<category>_*.npz`` of the
    categories)."""
    files = sorted(f for c in categories for f in Path(data).glob(f"{c}_*.npz"))
    return {"models": {label: sha256_file(Path(path)) for label, path in models.items() if Path(path).exists()},
            "data": {f.name: sha256_file(f) for f in files}, "code": code_sha256(),
            "categories": list(categories), "ablations": ablations, "references": references}


def save_blocks(path: Path, key: dict, blocks: dict[tuple[str, str], list[dict]]) -> None:
    """Write ``blocks`` (``{(category, setting): rows}``) and ``key`` to ``path``, atomically: an interruption while
    writing leaves the previous file whole."""
    text = json.dumps({"key": key, "blocks": [{"category": c, "setting": s, "rows": rows}
                                              for (c, s), rows in blocks.items()]}, indent=1)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n")
    os.replace(tmp, path)


def load_blocks(path: Path, key: dict) -> dict[tuple[str, str], list[dict]]:
    """The blocks in ``path`` written by a run with this ``key``; ``{}`` when there is no file.

    Raises :class:`PartialMismatch` naming what differs (weights, data, code, categories or options) when the file
    was written for other inputs, or when it is not a partial-results file."""
    if not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text())
        old, blocks = stored["key"], stored["blocks"]
        loaded = {(b["category"], b["setting"]): b["rows"] for b in blocks}
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise PartialMismatch(f"{path} is not a partial-results file ({e}); delete it or rerun without "
                              "--resume") from None
    names = {"models": "the weights (labels or files)", "data": "the data files", "code": "the lifter's code",
             "categories": "the categories", "ablations": "--no-ablation-rows", "references": "--no-reference-rows"}
    differs = [names.get(k, k) for k in sorted(set(key) | set(old)) if key.get(k) != old.get(k)]
    if differs:
        raise PartialMismatch(f"{path} was written by a run with other inputs ({', '.join(differs)} differ): rerun "
                              "without --resume to start over")
    return loaded
