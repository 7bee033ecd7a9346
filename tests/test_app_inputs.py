"""Bad input, handled as a user expects: every case gives a clear message (or works), never a traceback."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from app import handlers, pipeline
from app.config import CONFIG, AppConfig
from app.io import ImageError, load_image
from app.state import Session

CAMERAMAN = CONFIG.examples_dir / "cameraman.png"
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")   # gr.Warning outside a running app


def _save(tmp_path, name: str, im: Image.Image, **kw) -> str:
    path = tmp_path / name
    im.save(path, **kw)
    return str(path)


def test_non_image_and_corrupt_files(tmp_path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    with pytest.raises(ImageError, match="not an image"):
        load_image(text)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(empty)
    data = CAMERAMAN.read_bytes()
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_image(truncated)
    with pytest.raises(gr.Error):                              # the UI handler turns it into a gr.Error
        handlers.on_image(str(truncated), False)


def test_grayscale_rgba_16bit_palette(tmp_path) -> None:
    gray = Image.open(CAMERAMAN).convert("L")
    li = load_image(_save(tmp_path, "g.png", gray))
    assert li.rgb.shape == (512, 512, 3) and li.rgb.dtype == np.uint8 and "grayscale" in " ".join(li.notes)
    rgba = Image.open(CONFIG.examples_dir / "astronaut.png").convert("RGBA")
    rgba.putalpha(128)
    li = load_image(_save(tmp_path, "a.png", rgba))
    assert li.rgb.shape == (512, 512, 3)
    g16 = Image.fromarray((np.asarray(gray, dtype=np.uint16) * 257).astype(np.uint16))
    path = _save(tmp_path, "g16.png", g16)
    assert Image.open(path).mode.startswith("I")
    li = load_image(path)
    assert li.rgb.dtype == np.uint8 and li.rgb.max() > 200 and "8-bit" in " ".join(li.notes)
    # the 16-bit photo still gives a person
    s = Session(image=li.rgb, original_size=li.original_size)
    assert "Found a person" in pipeline.detect_session(s, "Body")
    pal = gray.convert("P")
    assert load_image(_save(tmp_path, "p.png", pal)).rgb.shape == (512, 512, 3)


def test_exif_rotation(tmp_path) -> None:
    im = Image.open(CONFIG.examples_dir / "astronaut.png").convert("RGB").resize((400, 300))
    exif = Image.Exif()
    exif[274] = 6                                              # rotate 90 degrees clockwise to display
    li = load_image(_save(tmp_path, "r.jpg", im, exif=exif.tobytes()))
    assert li.original_size == (300, 400) and li.rgb.shape == (400, 300, 3)
    assert any("EXIF" in n for n in li.notes)


def test_huge_image_is_downscaled_and_coordinates_map_back(tmp_path) -> None:
    base = Image.open(CAMERAMAN).convert("RGB")
    big = base.resize((4608, 4608), Image.BILINEAR)
    path = _save(tmp_path, "big.jpg", big, quality=90)
    li = load_image(path)
    assert li.original_size == (4608, 4608) and max(li.rgb.shape) == 4096 and li.scale == 4096 / 4608
    s_big = Session(image=li.rgb, original_size=li.original_size)
    pipeline.detect_session(s_big, "Body")
    small = load_image(CAMERAMAN)
    s = Session(image=small.rgb, original_size=small.original_size)
    pipeline.detect_session(s, "Body")
    both = s.visible & s_big.visible
    assert both.sum() >= 8
    err = np.linalg.norm(s_big.points[both] / 9.0 - s.points[both], axis=-1)   # 4608 / 512 = 9
    assert np.median(err) < 15, err                        # the same person (MediaPipe varies with resampling)
    # exact mapping: the same working image, reported in working vs original pixels
    from app.detect import get_detectors

    work = get_detectors().detect(li.rgb, "human17", (4096, 4096))[0]
    v = work.visible & s_big.visible
    np.testing.assert_allclose(s_big.points[v], work.points2d[v] * 4608 / 4096, rtol=1e-6)


def test_tiny_and_too_many_pixels(tmp_path) -> None:
    with pytest.raises(ImageError, match="only 10 x 12"):
        load_image(_save(tmp_path, "tiny.png", Image.new("RGB", (10, 12))))
    with pytest.raises(ImageError, match="megapixels"):
        load_image(CAMERAMAN, AppConfig(max_pixels=100_000))


def test_nothing_found_says_so_and_offers_manual(tmp_path) -> None:
    blank = _save(tmp_path, "blank.png", Image.new("RGB", (300, 200), (200, 220, 240)))
    session = handlers.on_image(blank, False)[0]
    for mode in ("Body", "Hand", "Face"):
        out = handlers.on_detect(session, mode, "human17", False)     # a warning and a message, no error
        assert "Manual" in out[2] and out[0].points is None and out[4]["value"] == "Manual"
    out = handlers.on_detect(session, "Manual", "hand21", False)
    assert out[0].manual_next == 0 and "wrist" in out[2]


def test_clicks_outside_the_image_and_before_detection() -> None:
    session = handlers.on_image(str(CAMERAMAN), False)[0]
    assert handlers.click_to_original(session, [600, 10]) is None
    assert handlers.click_to_original(session, [-1, 10]) is None
    assert handlers.click_to_original(session, None) is None
    assert handlers.click_to_original(session, [511, 511]) == (511, 511)
    evt = gr.SelectData(None, {"index": [100, 100], "value": None})
    with pytest.raises(gr.Error, match="Detect"):
        handlers.on_click(session, evt)
    detected = handlers.on_detect(session, "Body", "human17", False)[0]
    out = handlers.on_click(detected, gr.SelectData(None, {"index": [5000, 3], "value": None}))
    assert "inside the image" in out[2] and out[0].points is detected.points


def test_handlers_never_raise_raw_exceptions() -> None:
    with pytest.raises(gr.Error, match="first"):
        handlers.on_detect(Session(), "Body", "human17", False)
    with pytest.raises(gr.Error):
        handlers.on_lift(Session())
    with pytest.raises(gr.Error, match="17 landmarks"):
        handlers.api_lift_points([[1, 2]] * 3, "human17")
    with pytest.raises(gr.Error, match="unknown category"):
        handlers.api_lift_points([[1, 2]] * 3, "octopus")
    with pytest.raises(gr.Error, match="at least 3"):
        handlers.api_lift_points([[1, 2], [3, 4]] + [None] * 15, "human17")
    with pytest.raises(gr.Error) as e:                          # a message ending in a quoted value keeps its quote
        handlers.api_lift_image(str(CONFIG.examples_dir / "cameraman.png"), "chair")
    assert e.value.message.endswith("got 'chair'")

    @handlers.user_errors
    def missing():
        raise KeyError("no such landmark")

    with pytest.raises(gr.Error) as e:                          # a KeyError's message, not its repr
        missing()
    assert e.value.message == "no such landmark"


def test_sessions_are_independent() -> None:
    """Two users: each handler returns a new session; the other user's is untouched."""
    a = handlers.on_detect(handlers.on_image(str(CAMERAMAN), False)[0], "Body", "human17", False)[0]
    b = handlers.on_image(str(CAMERAMAN), False)[0]
    before = a.points.copy()
    a2 = handlers.on_edit(a, "reset")[0]
    a3 = handlers.on_click(a2, gr.SelectData(None, {"index": [300, 300], "value": None}))[0]
    np.testing.assert_array_equal(a.points, before)
    assert b.points is None and a3 is not a
