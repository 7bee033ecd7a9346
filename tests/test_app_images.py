"""Image loading and export by their values, without MediaPipe: 16-bit and float images stretched to 8 bits,
transparency on white, thin images refused by their shorter side, a wide image downscaled by its longer side,
a crop's origin on whole working pixels, NaN and infinity exported as null (JSON) and empty cells (CSV)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from app.config import AppConfig
from app.io import ImageError, export_record, load_image, view_crop, write_exports


def test_a_16_bit_image_is_stretched_over_the_8_bit_range() -> None:
    a = np.linspace(1000, 3000, 64 * 64).reshape(64, 64).astype(np.uint16)
    rgb = load_image(Image.fromarray(a)).rgb
    assert rgb.min() == 0 and rgb.max() == 255 and rgb[32, 32, 0] == pytest.approx(255 * 2080 / 4095, abs=1.0)


def test_transparent_pixels_are_composited_on_white() -> None:
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 0] = 200                                       # red, wholly transparent on the left half
    rgba[:, 20:, 3] = 255
    rgb = load_image(rgba).rgb
    assert (rgb[:, :20] == 255).all() and (rgb[:, 20:] == [200, 0, 0]).all()


def test_float_arrays_are_read_in_their_own_range() -> None:
    unit = np.full((40, 40, 3), 0.5)
    assert (load_image(unit).rgb == 128).all()                                     # [0, 1] images
    assert (load_image(np.full((40, 40, 3), 100.0)).rgb == 100).all()              # [0, 255] images


def test_a_thin_image_is_refused_by_its_shorter_side() -> None:
    with pytest.raises(ImageError, match="only 500 x 10 px"):
        load_image(np.zeros((10, 500, 3), np.uint8))


def test_a_wide_image_is_downscaled_by_its_longer_side() -> None:
    li = load_image(np.zeros((300, 600, 3), np.uint8), AppConfig(max_side=400))
    assert li.rgb.shape == (200, 400, 3) and li.original_size == (600, 300) and li.scale == pytest.approx(400 / 600)


def test_a_crop_starts_on_a_whole_working_pixel() -> None:
    rgb = np.zeros((100, 200, 3), np.uint8)                  # a working copy at half the 400 x 200 original
    crop, s, origin = view_crop(rgb, (400, 200), (101.0, 51.0, 301.0, 151.0))
    assert s == 0.5 and origin == (100.0, 50.0) and crop.shape == (51, 101, 3)


def test_non_finite_numbers_are_exported_as_null_and_empty_cells(tmp_path) -> None:
    rec = export_record({"points2d": np.array([[1.0, 2.0], [np.nan, np.inf]]), "visible": np.array([True, False]),
                         "depth": {"points3d": np.array([[1.0, 2.0, -np.inf]])}, "focal": float("nan")})
    assert rec["points2d"] == [[1.0, 2.0], [None, None]] and rec["visible"] == [True, False]
    assert rec["depth"] == {"points3d": [[1.0, 2.0, None]]} and rec["focal"] is None
    json.dumps(rec, allow_nan=False)                         # strict JSON: no NaN or Infinity tokens
    json_path, csv_path = write_exports({"points2d": np.array([[1.0, 2.0], [np.nan, 4.0]]),
                                         "visible": np.array([True, False])}, ["a", "b"])
    rows = list(csv.reader(open(csv_path)))
    assert rows[0] == ["landmark", "x", "y", "visible"] and rows[2] == ["b", "", "4.0", "False"]
    assert json.loads(open(json_path).read())["points2d"][1] == [None, 4.0]
