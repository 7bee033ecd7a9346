"""The bundle adjustment's memory against :func:`lifter.pinhole_fit.bundle_memory`'s estimate.

``PYTHONPATH=. python scripts/bundle_memory_check.py`` runs :func:`lifter.pinhole_fit.bundle_adjust` on synthetic
views (a random shape of unit RMS radius 5 radii in front of each camera, every landmark visible) for each
``--sizes`` entry ``VIEWS,LANDMARKS,MODES`` (default: 1,000 hands with 30 modes, and the face basis's recipe, 1,000
faces with 3), each in a fresh process, ``--iterations`` steps each, and prints a Markdown row per size: the
estimate that ``python -m lifter.shape_basis`` checks against the available memory before it fits, how far the
process's peak resident memory rose above its resident memory before the fit (the peak reset just before it:
``/proc/self/clear_refs``, ``VmHWM``), and their ratio. Linux only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_SIZES = ("1000,21,30", "1000,468,3")


def measure(views: int, landmarks: int, modes: int, iterations: int, seed: int = 0) -> dict:
    """One fit's ``{"estimate": bytes, "growth": bytes}``: the peak resident memory above the memory before it."""
    import numpy as np
    import torch

    from lifter.pinhole_fit import bundle_adjust, bundle_memory, initial_params

    rng = np.random.default_rng(seed)
    mean = rng.normal(size=(landmarks, 3))
    mean -= mean.mean(0)
    mean /= np.sqrt((mean ** 2).sum(1).mean())
    cam = torch.as_tensor(mean + np.array([0.0, 0.0, 5.0]) + rng.normal(scale=0.05, size=(views, landmarks, 3)))
    visible = torch.ones(views, landmarks, dtype=torch.bool)
    focal = torch.full((views,), 1000.0, dtype=torch.float64)
    principal = torch.full((views, 2), 500.0, dtype=torch.float64)
    pixels = focal[:, None, None] * cam[..., :2] / cam[..., 2:] + principal[:, None]
    params = initial_params(cam, visible, torch.as_tensor(mean), focal, modes)
    Path("/proc/self/clear_refs").write_text("5")          # the peak (VmHWM) reset to the resident memory now
    before = _status_bytes("VmRSS")
    bundle_adjust(pixels, visible, principal, params, torch.as_tensor(mean), modes, iterations)
    return {"estimate": bundle_memory(views, landmarks, modes), "growth": _status_bytes("VmHWM") - before}


def _status_bytes(field: str) -> int:
    """A memory field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024                  # kB
    raise RuntimeError(f"/proc/self/status has no {field}")


def parse_size(text: str) -> tuple[int, int, int]:
    try:
        views, landmarks, modes = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a size is VIEWS,LANDMARKS,MODES (three whole numbers), got {text!r}")
    if views < 2 or landmarks < 4 or not 0 <= modes <= 3 * landmarks - 7:
        raise argparse.ArgumentTypeError(f"a size needs >= 2 views, >= 4 landmarks and 0..3N-7 modes, got {text!r}")
    return views, landmarks, modes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=parse_size, default=[parse_size(s) for s in DEFAULT_SIZES],
                        metavar="VIEWS,LANDMARKS,MODES")
    parser.add_argument("--iterations", type=int, default=2, help="bundle adjustment steps per fit")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)   # one size, in a fresh process
    args = parser.parse_args(argv)
    if args.iterations < 1:
        parser.error(f"--iterations must be >= 1, got {args.iterations}")
    if args.child:
        print(json.dumps(measure(*args.sizes[0], args.iterations)))
        return 0
    print("| views | landmarks | modes | estimate (GiB) | peak memory grown (GiB) | estimate / measured |")
    print("|---|---|---|---|---|---|")
    for views, landmarks, modes in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--child", "--iterations", str(args.iterations), "--sizes",
                              f"{views},{landmarks},{modes}"], capture_output=True, text=True, check=True)
        m = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {views} | {landmarks} | {modes} | {m['estimate'] / 2 ** 30:.2f} | {m['growth'] / 2 ** 30:.2f} | "
              f"{m['estimate'] / max(m['growth'], 1):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
