"""Training batch sizes, and a check of them against the training files and the machine's memory.

A batch holds about ``batch_tokens`` landmark tokens (``--batch-tokens``, per category ``--category-batch-tokens``),
clamped to ``min_batch..max_batch`` poses. Large settings are easy to type and costly to find out about: a batch
larger than a category's training file gets the whole file and no more, and one whose activations outgrow the
memory leaves a CPU run swapping or killed by the system with no word from the trainer. :func:`batch_problems`
says both before the first step.
"""

from __future__ import annotations

from pathlib import Path

from lifter.train_config import TrainConfig

# Training memory a batch token takes on the CPU at least: the slope of the peak resident memory of
# ``python -m lifter.train --categories human17 --steps 2`` between --batch-tokens 8192 and 65536 (--max-batch 100000;
# 1.12 and 5.93 GB, 2026-12-07): 84 KB a token at float32 in the 2D-only stage. A 3D-aware round took more (125 KB a
# token between 4096 and 32768 tokens, bf16), so this is a lower bound on what a batch needs.
TRAIN_BYTES_PER_TOKEN = 84_000


def batch_size(cfg: TrainConfig, n: int, category: str | None = None) -> int:
    """Poses per batch for ``category`` of ``n`` landmarks: about its tokens a batch (``category_batch_tokens``
    where named, else ``batch_tokens``), clamped to ``min_batch..max_batch``."""
    return int(min(max(category_tokens(cfg, category) // tokens_per_pose(cfg, n), cfg.min_batch), cfg.max_batch))


def category_tokens(cfg: TrainConfig, category: str | None) -> int:
    """The tokens a batch of ``category`` aims at: its ``category_batch_tokens`` where named, else ``batch_tokens``."""
    return dict(cfg.category_batch_tokens).get(category, cfg.batch_tokens)


def tokens_per_pose(cfg: TrainConfig, n: int) -> int:
    """Tokens a pose of ``n`` landmarks counts for in a batch's size: ``min(n, max_tokens)`` with
    ``batch_on_subset``, else ``n``."""
    return min(n, cfg.max_tokens) if cfg.batch_on_subset else n


def available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Bytes of memory the system can give a new process without swapping (``MemAvailable``), None where
    ``meminfo`` cannot be read (not Linux)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def batch_problems(cfg: TrainConfig, sizes: dict[str, tuple[int, int]], available: int | None
                   ) -> tuple[list[str], str | None]:
    """Notes and the refusal for ``cfg``'s batches.

    Args:
        sizes: category -> (poses in its training file, landmarks N).
        available: bytes of memory free for the run (:func:`available_memory`; None: not checked).
    Returns:
        ``(notes, error)``: one note per category whose batch is larger than its training file (each of its
        batches is then the whole file), and an error message when the largest batch needs more memory than
        ``available`` by :data:`TRAIN_BYTES_PER_TOKEN` (a lower bound), naming the options that set it; else None.
    """
    notes = []
    largest, largest_tokens = None, 0
    for category, (poses, n) in sizes.items():
        batch = batch_size(cfg, n, category)
        if batch > poses:
            notes.append(f"{category}: batches of {batch} poses, but its training file holds {poses}: each batch is "
                         f"the whole file")
        tokens = min(batch, poses) * tokens_per_pose(cfg, n)
        if tokens > largest_tokens:
            largest, largest_tokens = category, tokens
    need = largest_tokens * TRAIN_BYTES_PER_TOKEN
    if available is None or largest is None or need <= available:
        return notes, None
    batch = batch_size(cfg, sizes[largest][1], largest)
    named = "--category-batch-tokens" if largest in dict(cfg.category_batch_tokens) else "--batch-tokens"
    return notes, (f"{largest} batches of {min(batch, sizes[largest][0])} poses ({largest_tokens:,} tokens) need at "
                   f"least {need / 2 ** 30:.1f} GiB of memory ({TRAIN_BYTES_PER_TOKEN // 1000} KB a token), and "
                   f"{available / 2 ** 30:.1f} GiB is available: lower {named} "
                   f"({category_tokens(cfg, largest)}) or --max-batch ({cfg.max_batch})")
