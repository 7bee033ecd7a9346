"""How closely the built data files' cameras keep the protocol's framing: the subject's 2D bounding box spanning
40-80 % of the image and centred on it (DESIGN.md; :class:`lifter.data.cameras.CameraProtocol`).

:func:`lifter.data.cameras.render_views` places each camera by six fixed-point rounds of distance and lateral
offset, which perspective couples; under strong perspective (a subject deep compared with its distance) six rounds
do not always settle. This reads each file's noise-free projection of its ground truth (``points3d`` through
``camera_focal`` and ``camera_principal``, present landmarks) and prints, per file, how many views span outside
the protocol's range (by more than ``--span-tolerance``) or sit off centre (by more than ``--centre-px``), and the
worst of each. Reads the 3D ground truth, to check the data only.

Usage:

    PYTHONPATH=. python scripts/camera_protocol_check.py --data data [--files human17_train ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lifter.data.cameras import CameraProtocol  # noqa: E402
from lifter.views import DataFileError, read_data_file  # noqa: E402


def framing(points3d: np.ndarray, present: np.ndarray, focal: np.ndarray, principal: np.ndarray,
            image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each view's 2D bounding-box side over the image's smaller side, and its centre's distance from the principal
    point in pixels (the larger of x and y), of the present landmarks of ``points3d (B, N, 3)`` projected through
    ``focal (B,)`` and ``principal (B, 2)``: ``span (B,)``, ``offset (B,)``."""
    p = points3d.astype(np.float64)
    uv = p[..., :2] / p[..., 2:3] * focal[:, None, None] + principal[:, None]
    lo = np.where(present[..., None], uv, np.inf).min(1)
    hi = np.where(present[..., None], uv, -np.inf).max(1)
    span = (hi - lo).max(-1) / min(image_size)
    offset = np.abs((lo + hi) / 2 - principal).max(-1)
    return span, offset


def check_file(path: Path, category: str, protocol: CameraProtocol, span_tolerance: float, centre_px: float
               ) -> dict:
    """The framing figures of one built file: views, those outside the span range or off centre, the worst."""
    f = read_data_file(path, category, ("points3d", "present", "camera_focal", "camera_principal"))
    span, offset = framing(f["points3d"], f["present"], f["camera_focal"], f["camera_principal"],
                           protocol.image_size)
    low, high = protocol.span
    outside = (span < low - span_tolerance) | (span > high + span_tolerance)
    off = offset > centre_px
    return {"views": len(span), "outside": int(outside.sum()), "off_centre": int(off.sum()),
            "either": int((outside | off).sum()), "span_min": float(span.min()), "span_max": float(span.max()),
            "offset_max": float(offset.max()), "worst_span_view": int(np.argmax(np.maximum(low - span, span - high))),
            "worst_offset_view": int(np.argmax(offset))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of lifter.data build's files")
    parser.add_argument("--files", nargs="+", default=None,
                        help="file stems (default: every CATEGORY_SPLIT.npz there), e.g. human17_train hand21_test")
    parser.add_argument("--span-tolerance", type=float, default=0.005,
                        help="share of the image a span may pass the range by unreported (default 0.005)")
    parser.add_argument("--centre-px", type=float, default=5.0,
                        help="pixels the box's centre may sit off the principal point unreported (default 5)")
    args = parser.parse_args(argv)
    if args.span_tolerance < 0 or args.centre_px < 0:
        parser.error("--span-tolerance and --centre-px must be >= 0")
    stems = args.files or sorted(p.stem for p in args.data.glob("*_*.npz"))
    if not stems:
        parser.error(f"no data files in {args.data}: run python -m lifter.data build first")
    protocol = CameraProtocol()
    print(f"views whose noise-free 2D box spans outside {protocol.span[0]:.0%}-{protocol.span[1]:.0%} of the image "
          f"(by more than {args.span_tolerance:g}) or sits more than {args.centre_px:g} px off centre\n")
    print("| file | views | span outside | off centre | either (share) | span min / max | largest offset px |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for stem in stems:
        category = stem.split("_")[0]
        try:
            r = check_file(args.data / f"{stem}.npz", category, protocol, args.span_tolerance, args.centre_px)
        except (DataFileError, FileNotFoundError) as e:
            parser.error(str(e))
        except ValueError as e:                       # an unknown category in the stem
            parser.error(f"{stem}: {e}")
        print(f"| {stem} | {r['views']:,} | {r['outside']} | {r['off_centre']} | {r['either']} "
              f"({100 * r['either'] / r['views']:.2f} %) | {r['span_min']:.3f} / {r['span_max']:.3f} | "
              f"{r['offset_max']:.1f} (view {r['worst_offset_view']}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
