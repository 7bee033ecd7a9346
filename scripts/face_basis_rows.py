"""The benchmark's face rows through the API with a shape-basis file of your choice: for a basis refitted with
``python -m lifter.shape_basis --out FILE`` (another machine, other settings), what it changes against the bundled one,
without running the whole benchmark.

Prints the strict error (% of the RMS radius, as ``lifter.evaluate`` scores it) of ``lift()``, ``lift_with_camera``
with the test cameras' intrinsics and with the camera guessed, and each of those two as the fitted shape
(``fitted_shape=True``), on the clean and occluded face test files, for the bundled basis and each ``--bases`` file.

Usage:

    PYTHONPATH=. python scripts/face_basis_rows.py --data data --bases /tmp/shape_bases.safetensors
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lifter.api import DEFAULT_BASES, WeightsError, load_lifter  # noqa: E402
from lifter.evaluate import score  # noqa: E402
from lifter.views import DataFileError, load_test_set  # noqa: E402

READINGS = ("lift()", "with intrinsics", "camera guessed", "fitted shape, with intrinsics",
            "fitted shape, camera guessed")


def face_rows(lifter, data: Path, setting: str) -> dict[str, float] | None:
    """The five readings' strict errors (% of the RMS radius) on one face test file; None when it is missing."""
    t = load_test_set(data, "face468", setting)
    if t is None:
        return None
    p, v = t.points2d, t.visible
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lift = lifter.lift(p, "face468", v)                  # read four ways: lift_with_camera without lifting again
        lifts = (lift, lifter.read_with_camera(lift, p, "face468", t.focal, t.principal, v),
                 lifter.read_with_camera(lift, p, "face468", visible=v),
                 lifter.read_with_camera(lift, p, "face468", t.focal, t.principal, v, fitted_shape=True),
                 lifter.read_with_camera(lift, p, "face468", visible=v, fitted_shape=True))
    return {name: score(np.asarray(lift, np.float64), t)["strict"] for name, lift in zip(READINGS, lifts)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of lifter.data build's files")
    parser.add_argument("--bases", type=Path, nargs="+", required=True, help="shape-basis files to compare")
    args = parser.parse_args(argv)
    columns = [("bundled", DEFAULT_BASES)] + [(str(b), b) for b in args.bases]
    table: dict[tuple[str, str], dict[str, float]] = {}
    for label, path in columns:
        try:
            lifter = load_lifter(device="cpu", shape_bases=path)
        except WeightsError as e:
            parser.error(str(e))
        if "face468" not in lifter.bases:
            parser.error(f"{path} holds no face468 basis")
        for setting in ("clean", "occluded"):
            try:
                rows = face_rows(lifter, args.data, setting)
            except DataFileError as e:
                parser.error(str(e))
            if rows is None:
                parser.error(f"no face468 test files in {args.data}: run python -m lifter.data build first")
            table[(label, setting)] = rows
    print("| reading, clean / occluded | " + " | ".join(label for label, _ in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name in READINGS:
        cells = [f"{table[(label, 'clean')][name]:.3f} / {table[(label, 'occluded')][name]:.3f} %"
                 for label, _ in columns]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
