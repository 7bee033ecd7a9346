"""Image loading and validation, and the export files.

Every image the app takes goes through :func:`load_image`: it accepts anything Pillow reads (PNG, JPEG, WebP,
BMP, TIFF, GIF's first frame, ...), applies the EXIF orientation, converts grayscale, palette, RGBA (composited
on white), CMYK and 16-bit or float images to 8-bit RGB, refuses non-images, corrupt files, tiny images and
decompression bombs with a clear :class:`ImageError`, and downscales images whose longer side exceeds
``max_side`` for detection. Landmark coordinates are always kept in the ORIGINAL image's pixels (MediaPipe
returns normalised coordinates, so the downscaling never shows in them).
"""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from app.config import CONFIG, AppConfig


class ImageError(ValueError):
    """The input is not a usable image; the message says why, in words for the user."""


@dataclass
class LoadedImage:
    """An image ready for detection.

    Attributes:
        rgb: ``(h, w, 3)`` uint8, at most ``max_side`` on its longer side.
        original_size: ``(W, H)`` of the file after EXIF rotation, px; landmarks are in these pixels.
        scale: ``w / W`` (1.0 unless the image was downscaled).
        notes: what was done to it (rotated, converted, downscaled), for the status line.
    """

    rgb: np.ndarray
    original_size: tuple[int, int]
    scale: float
    notes: list[str]


def _to_rgb8(im: Image.Image, notes: list[str]) -> np.ndarray:
    """Any Pillow mode -> ``(H, W, 3)`` uint8."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if a.ndim == 3:
            a = a[..., 0]
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        a = np.nan_to_num((a - lo) / max(hi - lo, 1e-12) * 255.0)
        notes.append(f"{mode} ({'16-bit' if mode.startswith('I;16') else 'high bit depth'}) converted to 8-bit")
        g = np.clip(a + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=-1)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        if np.asarray(rgba)[..., 3].min() == 255:           # an alpha channel with nothing transparent (a webcam's
            return np.asarray(rgba.convert("RGB"))           # PNG): no note
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        notes.append("transparency composited on white")
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    if mode != "RGB":
        if mode in ("L", "1"):
            notes.append("grayscale converted to RGB")
        elif mode == "CMYK":
            notes.append("CMYK converted to RGB")
        out = np.asarray(im.convert("RGB"))
    else:
        out = np.asarray(im)
    if out.dtype != np.uint8:  # e.g. 48-bit RGB read as uint16 planes
        out = (out.astype(np.float64) / max(float(out.max()), 1.0) * 255).astype(np.uint8)
    return np.ascontiguousarray(out)


def load_image(source: str | Path | bytes | np.ndarray | Image.Image, config: AppConfig = CONFIG) -> LoadedImage:
    """Read, orient, convert and (if needed) downscale an image; see the module docstring.

    Args:
        source: a file path, the file's bytes, a Pillow image, or an array ``(H, W)``, ``(H, W, 1|3|4)``.
    Raises:
        ImageError: not an image, corrupt or truncated, too small, or too many pixels.
    """
    notes: list[str] = []
    if source is None:
        raise ImageError("No image given: upload an image, take one with the webcam, or pick an example.")
    if isinstance(source, np.ndarray):
        arr = source
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)) or arr.size == 0:
            raise ImageError(f"An image array must be (H, W), (H, W, 3) or (H, W, 4); got shape {arr.shape}.")
        if arr.dtype != np.uint8:
            a = np.nan_to_num(arr.astype(np.float64))
            hi = 1.0 if a.max() <= 1.0 else (255.0 if a.max() <= 255 else float(a.max()))
            arr = np.clip(a / hi * 255 + 0.5, 0, 255).astype(np.uint8)
        im = Image.fromarray(arr)
    elif isinstance(source, Image.Image):
        im = source
    else:
        if isinstance(source, (bytes, bytearray)):
            fp = io.BytesIO(source)
        else:
            path = Path(source)
            if not path.is_file():
                raise ImageError(f"File not found: {path.name}")
            if path.stat().st_size == 0:
                raise ImageError(f"{path.name} is empty (0 bytes).")
            fp = path
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                im = Image.open(fp)
                im.load()
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            if isinstance(e, UnidentifiedImageError):
                raise ImageError("This file is not an image Pillow can read (PNG, JPEG, WebP, BMP, TIFF, GIF, "
                                 "...). Please upload a photo.") from None
            raise ImageError(f"This image has too many pixels to process safely ({e}).") from None
        except (OSError, SyntaxError, ValueError) as e:
            raise ImageError(f"This image file is corrupt or truncated and cannot be decoded ({e}).") from None
    width, height = im.size
    if width * height > config.max_pixels:
        raise ImageError(f"This image is {width} x {height} px; at most {config.max_pixels / 1e6:.0f} megapixels "
                         f"are accepted.")
    try:
        oriented = ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001  (broken EXIF blocks raise many kinds)
        oriented, _ = im, notes.append("EXIF orientation unreadable, ignored")
    if oriented is not None and oriented.size != im.size or _orientation(im) not in (None, 1):
        notes.append(f"rotated by its EXIF orientation ({_orientation(im)})")
    im = oriented if oriented is not None else im
    width, height = im.size
    if min(width, height) < config.min_side:
        raise ImageError(f"This image is only {width} x {height} px; at least {config.min_side} px on each side "
                         f"are needed to find landmarks.")
    rgb = _to_rgb8(im, notes)
    scale = 1.0
    if max(width, height) > config.max_side:
        scale = config.max_side / max(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR))
        notes.append(f"downscaled from {width} x {height} to {size[0]} x {size[1]} for detection "
                     f"(coordinates are reported in the original pixels)")
    return LoadedImage(rgb, (width, height), scale, notes)


def _orientation(im: Image.Image) -> int | None:
    try:
        return im.getexif().get(274)
    except Exception:  # noqa: BLE001
        return None


def view_crop(rgb: np.ndarray, original_size: tuple[int, int], box: tuple[float, float, float, float]
              ) -> tuple[np.ndarray, float, tuple[float, float]]:
    """The part ``box = (x0, y0, x1, y1)`` (original px) of the working copy ``rgb (h, w, 3)`` of an image of
    ``original_size`` ``(W, H)``, cut on whole working pixels: ``(crop (h', w', 3) uint8, s working px per original
    px, origin)``, the crop's pixel ``(c, r)`` being the original pixel ``(c / s + origin[0], r / s + origin[1])``.

    Raises ValueError: ``box`` not inside the image with a positive size."""
    h, w = rgb.shape[:2]
    s = w / original_size[0]
    x0, y0, x1, y1 = (float(v) for v in box)
    if not (np.isfinite([x0, y0, x1, y1]).all() and 0 <= x0 < x1 <= original_size[0]
            and 0 <= y0 < y1 <= original_size[1]):
        raise ValueError(f"the view {box} is not a part of the {original_size[0]} x {original_size[1]} px image")
    c0, r0 = min(int(np.floor(x0 * s)), w - 1), min(int(np.floor(y0 * s)), h - 1)
    c1, r1 = max(int(np.ceil(x1 * s)), c0 + 1), max(int(np.ceil(y1 * s)), r0 + 1)
    return rgb[r0:r1, c0:c1], s, (c0 / s, r0 / s)


def display_view(rgb: np.ndarray, original_size: tuple[int, int], box: tuple[float, float, float, float],
                 max_side: int, max_enlarge: float = 8.0) -> tuple[np.ndarray, float, tuple[float, float]]:
    """The part ``box = (x0, y0, x1, y1)`` (original px, :func:`view_crop`) of the working copy ``rgb`` for the
    page: its longer side ``max_side`` px, a small part enlarged (at most ``max_enlarge`` times) so that its
    landmarks can be clicked. Returns ``(image (h', w', 3) uint8, factor, origin)``: a display pixel ``(x, y)`` is
    the original pixel ``(x / factor + origin[0], y / factor + origin[1])``.

    Raises ValueError: ``box`` not inside the image with a positive size."""
    crop, s, origin = view_crop(rgb, original_size, box)
    f = min(max_side / max(crop.shape[:2]), max_enlarge)
    size = (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f)))
    shown = np.asarray(Image.fromarray(crop).resize(size, Image.BILINEAR if f < 1 else Image.LANCZOS)).copy()
    return shown, f * s, origin


def display_copy(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """A copy for the page at most ``max_side`` px: ``(image (h, w, 3) uint8, factor = h / H)``."""
    h, w = rgb.shape[:2]
    if max(h, w) <= max_side:
        return rgb.copy(), 1.0
    f = max_side / max(h, w)
    small = Image.fromarray(rgb).resize((max(1, round(w * f)), max(1, round(h * f))), Image.BILINEAR)
    return np.asarray(small).copy(), f


# ------------------------------------------------------------------------------------------------ export


def _num(v: float) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else round(float(v), 4)


def _rows(a: np.ndarray | None) -> list | None:
    if a is None:
        return None
    return [[_num(v) for v in row] for row in np.asarray(a, dtype=np.float64)]


def export_record(result: dict) -> dict:
    """A JSON-ready copy of a pipeline result (numpy arrays to lists, NaN to null)."""
    out = {}
    for k, v in result.items():
        if isinstance(v, np.ndarray):
            if v.dtype == bool:
                out[k] = v.tolist()
            elif v.ndim == 2:
                out[k] = _rows(v)
            else:
                out[k] = [_num(x) for x in v.tolist()]
        elif isinstance(v, dict):
            out[k] = export_record(v)
        elif isinstance(v, float):
            out[k] = _num(v)
        else:
            out[k] = v
    return out


def write_exports(record: dict, names: list[str], stem: str = "landmarks") -> tuple[str, str]:
    """Write ``record`` (see :func:`app.pipeline.result_record`) as JSON and CSV in a fresh temp folder.

    The CSV has one row per landmark: name, x, y, visible, then each 3D result's x, y, z and the per-landmark
    error when present. ``record["column_units"]`` (optional) gives units by column group (``"points2d"`` for x
    and y, a 3D result's label such as ``"lifter"`` for ``points3d_lifter``, ``"error"`` for the errors); a
    column with units is headed ``"name [unit]"``, e.g. ``mediapipe_x [m]``. Returns ``(json_path, csv_path)``.
    """
    folder = Path(tempfile.mkdtemp(prefix="lifter-export-"))
    rec = export_record(record)
    json_path = folder / f"{stem}.json"
    json_path.write_text(json.dumps(rec, indent=1))
    units = rec.get("column_units") or {}

    def head(name: str, group: str) -> str:
        return f"{name} [{units[group]}]" if units.get(group) else name

    columns: list[tuple[str, list]] = [(head("x", "points2d"), [p[0] for p in rec["points2d"]]),
                                       (head("y", "points2d"), [p[1] for p in rec["points2d"]]),
                                       ("visible", rec["visible"])]
    for key, value in rec.items():
        if key.startswith("points3d_") and value is not None:
            label = key[len("points3d_"):]
            for axis, c in enumerate("xyz"):
                columns.append((head(f"{label}_{c}", label), [p[axis] for p in value]))
    for key, value in rec.get("per_landmark_error", {}).items():
        if value is not None:
            columns.append((head(f"error_{key}", "error"), value))
    csv_path = folder / f"{stem}.csv"
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["landmark"] + [c for c, _ in columns])
        for i, name in enumerate(names):
            w.writerow([name] + ["" if vals[i] is None else vals[i] for _, vals in columns])
    return str(json_path), str(csv_path)
