"""Faces seen from near and far, turned and front-facing: the error of each reading of the bundled lifter.

``PYTHONPATH=. python scripts/face_distance_check.py`` renders the bundled face basis's mean shape (a face whose true
3D the basis describes exactly, so every error is the reading's own) turned by each ``--yaw`` (radians) at each
``--distance`` (RMS radii from the camera; the benchmark's cameras sit about 6 away, a portrait across a room 60),
through a focal length that keeps the face the same size in the image, and prints the strict error (% of the RMS
radius) of ``lift()``, ``lift()`` without the shape-basis refinement, ``lift_with_camera`` with the camera guessed
(the focal length estimated by the basis fit), with the principal point given and the focal length estimated (the
app's reading of a photo, its principal point at the image centre) and with the true intrinsics. A front-facing face
from afar is the hard case for the estimate: its pixels hardly change as focal length and distance grow together.
The camera looks at the face's 3D centre, where the benchmark's centres the 2D box: the guessed principal point (the
box's centre) is then off by up to 150 px for a turned face, which the guessed camera's column shows from near.
``--aside 0 0.25 0.5`` also moves each face off the image centre by those fractions of its distance (a face at the
edge of a group photo), where only the readings given the principal point (or the intrinsics) can know it.

``--photo IMAGE`` measures a photographed face instead (MediaPipe Face Mesh finds it; its true 3D is unknown): each
reading's strict distance from the basis's mean face (how far from a typical face it lies, not an error against the
truth), with MediaPipe's own 3D beside them, e.g. ``--photo assets/examples/astronaut.png``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lifter import load_lifter  # noqa: E402
from lifter.geometry import aligned_errors, rotation_y  # noqa: E402

FOCAL_AT_SIX = 1200.0          # pixels: the face spans about a third of a 1000 px image at 6 radii
PRINCIPAL = (500.0, 500.0)     # pixels: on the face's 3D centre (the benchmark centres its 2D box instead)


def face_view(mean: np.ndarray, yaw: float, distance: float, aside: float = 0.0
              ) -> tuple[np.ndarray, np.ndarray, float]:
    """The face ``mean (N, 3)`` (unit RMS radius, y down, facing the camera) turned by ``yaw`` at ``distance``, its
    centre moved ``aside`` times the distance to the right and 0.3 times that down (off the image centre):
    ``(pixels (N, 2), camera-frame points (N, 3), focal length)``, principal point (500, 500)."""
    cam = mean @ rotation_y(np.array([yaw]))[0].T + np.array([aside * distance, 0.3 * aside * distance, distance])
    focal = FOCAL_AT_SIX * distance / 6.0
    return focal * cam[:, :2] / cam[:, 2:] + np.array(PRINCIPAL), cam, focal


def readings(lifter, yaws: list[float], distances: list[float], asides: tuple[float, ...] = (0.0,)) -> list[dict]:
    """One row per view: yaw, distance, aside and the five readings' strict errors (% of the RMS radius)."""
    mean = lifter.bases["face468"].mean * np.array([1.0, -1.0, -1.0])
    rows = []
    for yaw, distance, aside in ((y, d, a) for y in yaws for d in distances for a in asides):
        pixels, cam, focal = face_view(mean, yaw, distance, aside)
        lifts = {"lift()": lifter.lift(pixels, "face468"),
                 "lift() without the shape basis": lifter.lift(pixels, "face468", shape_basis=False),
                 "guessed camera": lifter.lift_with_camera(pixels, "face468"),
                 "principal point given": lifter.lift_with_camera(pixels, "face468", None, PRINCIPAL),
                 "true intrinsics": lifter.lift_with_camera(pixels, "face468", focal, PRINCIPAL)}
        row = {"yaw": yaw, "distance": distance, "aside": aside}
        for name, lift in lifts.items():
            err = aligned_errors(lift[None].astype(np.float64), cam[None], np.ones((1, len(cam)), bool))
            row[name] = 100 * float(np.nanmean(err)) / float(np.sqrt((mean ** 2).sum(1).mean()))
        rows.append(row)
    return rows


def photo_rows(lifter, image: Path) -> dict[str, float]:
    """The readings of the face MediaPipe finds in ``image``, and MediaPipe's own 3D: each one's strict distance
    (% of the RMS radius) from the basis's mean face. Raises ValueError when no face is found."""
    from app.detect import Detectors
    from app.io import load_image

    loaded = load_image(image)
    found = Detectors().detect(loaded.rgb, "face468", loaded.original_size)
    if not found:
        raise ValueError(f"no face found in {image}")
    pixels, visible, mediapipe = found[0].points2d, found[0].visible, found[0].reference3d
    centre = (loaded.original_size[0] / 2.0, loaded.original_size[1] / 2.0)       # (W / 2, H / 2) as the app takes it
    mean = lifter.bases["face468"].mean
    lifts = {"lift()": lifter.lift(pixels, "face468", visible),
             "lift() without the shape basis": lifter.lift(pixels, "face468", visible, shape_basis=False),
             "guessed camera": lifter.lift_with_camera(pixels, "face468", visible=visible),
             "guessed camera, the fitted shape": lifter.lift_with_camera(pixels, "face468", visible=visible,
                                                                         fitted_shape=True),
             "principal point at the image centre (the app)": lifter.lift_with_camera(
                 pixels, "face468", None, centre, visible),
             "MediaPipe's own 3D": mediapipe}
    every = np.ones((1, len(mean)), bool)
    radius = float(np.sqrt((mean ** 2).sum(1).mean()))
    return {name: 100 * float(np.nanmean(aligned_errors(np.asarray(lift, np.float64)[None], mean[None], every)))
            / radius for name, lift in lifts.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/face_distance_check.py", description=__doc__.splitlines()[0])
    parser.add_argument("--yaw", type=float, nargs="+", default=[0.0, 0.3, 0.7], help="radians (0: front-facing)")
    parser.add_argument("--distance", type=float, nargs="+", default=[6.0, 20.0, 60.0],
                        help="RMS radii from the camera, > 2")
    parser.add_argument("--aside", type=float, nargs="+", default=None,
                        help="faces off the image centre: moved this many times their distance to the right (and "
                             "0.3 times that down), e.g. 0 0.25 0.5; adds an aside column")
    parser.add_argument("--photo", type=Path, default=None,
                        help="a photo with a face: its readings' distance from the basis's mean face instead")
    args = parser.parse_args(argv)
    if args.photo is not None:
        try:
            distances = photo_rows(load_lifter(device="cpu"), args.photo)
        except (OSError, ValueError) as e:
            parser.error(f"--photo: {e}")
        print(f"| {args.photo.name}: reading | strict distance from the basis's mean face |\n|---|---|")
        for name, d in distances.items():
            print(f"| {name} | {d:.1f} % |")
        return 0
    if min(args.distance) <= 2:
        parser.error("--distance takes distances > 2 (RMS radii): nearer, the face reaches the camera")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rows = readings(load_lifter(device="cpu"), args.yaw, args.distance, tuple(args.aside or (0.0,)))
    names = [k for k in rows[0] if k not in ("yaw", "distance", "aside")]
    aside = args.aside is not None
    print("| yaw (rad) | distance (radii) | " + ("aside (distances) | " if aside else "") + " | ".join(names) + " |")
    print("|---|---|" + ("---|" if aside else "") + "---|" * len(names))
    for r in rows:
        print(f"| {r['yaw']:.1f} | {r['distance']:g} | " + (f"{r['aside']:g} | " if aside else "")
              + " | ".join(f"{r[n]:.1f} %" for n in names) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
