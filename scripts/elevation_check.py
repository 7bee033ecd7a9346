"""Does a lifter's elevation head (``--learned-elevation``) predict the camera's elevation? The README quotes these.

The head is trained by no ground truth: only through the novel views it turns (``geometry.random_perspective_view``)
and the 2D losses on them. Here its prediction for each clean test view is compared with the protocol camera's
true elevation (``camera_angles[:, 1]`` of the test file, read to measure only): Pearson correlation, the
least-squares line true ~ a * predicted + b, and the mean absolute difference after that line (the head's
convention of zero and scale is its own; the protocol draws elevations uniformly from -15 to +40 deg).

Usage:

    PYTHONPATH=. python scripts/elevation_check.py --data data --weights W.safetensors
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from lifter.api import load_lifter
from lifter.geometry import normalise_2d


def predicted_elevation(model: torch.nn.Module, points2d: np.ndarray, visible: np.ndarray, category: str,
                        batch: int = 256) -> np.ndarray:
    """The head's elevation ``(B,)`` in degrees for pixel landmarks ``points2d (B, N, 2)``, ``visible (B, N)``."""
    out = []
    with torch.inference_mode():
        for s in range(0, len(points2d), batch):
            vis = torch.from_numpy(visible[s:s + batch])
            p = torch.from_numpy(np.nan_to_num(points2d[s:s + batch])).float()
            p, _, _ = normalise_2d(p, vis)
            out.append(model.lift_normalised(p, vis, category, return_elevation=True)[1])
    return np.degrees(torch.cat(out).numpy())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--weights", type=Path, default=None, help="lifter weights (default: bundled)")
    args = parser.parse_args(argv)
    lifter = load_lifter(args.weights, device="cpu")
    if not lifter.model.cfg.elevation_head:
        parser.error(f"{args.weights or 'the bundled weights'}: no elevation head (trained without "
                     f"--learned-elevation)")
    print("| category | views | correlation | fit: true = a x predicted + b | mean abs. difference after the fit |"
          " predicted: mean, spread |")
    print("|---|---|---|---|---|---|")
    for category in lifter.categories:
        path = args.data / f"{category}_test.npz"
        if not path.exists():
            continue
        with np.load(path) as f:
            pred = predicted_elevation(lifter.model, f["points2d"], f["visible"], category)
            true = f["camera_angles"][:, 1].astype(np.float64)
        r = float(np.corrcoef(pred, true)[0, 1])
        a, b = np.polyfit(pred, true, 1)
        mad = float(np.abs(a * pred + b - true).mean())
        print(f"| {category} | {len(true)} | {r:.2f} | {a:.2f} x + {b:.1f} deg | {mad:.1f} deg | "
              f"{pred.mean():.1f}, {pred.std():.1f} deg |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
