"""Zooming the landmark canvas: the part shown maps clicks back to the original pixels exactly, Zoom to landmarks
frames them, Zoom in works before any landmark exists, and Detect in a zoomed part finds a subject too small for
MediaPipe in the whole photo (a real photo pasted small into a large canvas)."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from app import handlers, pipeline
from app.config import CONFIG
from app.io import display_view
from app.state import Session

CAMERAMAN = CONFIG.examples_dir / "cameraman.png"
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")   # gr.Warning outside a running app


def _click(session: Session, xy) -> gr.SelectData:
    """The click event at the original pixel ``xy`` as the page sends it (display pixels)."""
    (x0, y0), f = session.display_origin, session.display_factor
    return gr.SelectData(None, {"index": [(xy[0] - x0) * f, (xy[1] - y0) * f], "value": None})


def test_display_view_maps_display_pixels_back_to_the_original() -> None:
    rgb = np.zeros((200, 300, 3), np.uint8)            # a working copy at half the original's 600 x 400 px
    rgb[80, 120] = 255                                 # one bright working pixel: original (240, 160) to (242, 162)
    shown, factor, origin = display_view(rgb, (600, 400), (100.0, 50.0, 300.0, 250.0), max_side=1000)
    assert origin == (100.0, 50.0) and shown.shape == (800, 800, 3) and factor == pytest.approx(4.0)  # 8x the crop
    r, c = np.unravel_index(np.argmax(shown[..., 0]), shown.shape[:2])
    x, y = c / factor + origin[0], r / factor + origin[1]
    assert 240 <= x <= 242 and 160 <= y <= 162
    small, f2, _ = display_view(rgb, (600, 400), (0.0, 0.0, 600.0, 400.0), max_side=150)   # shrunk to fit
    assert small.shape == (100, 150, 3) and f2 == pytest.approx(0.25)
    for bad in ((0, 0, 700, 100), (50, 50, 50, 60), (np.nan, 0, 10, 10)):
        with pytest.raises(ValueError, match="not a part of the 600 x 400 px image"):
            display_view(rgb, (600, 400), bad, max_side=100)


def test_zoom_box_frames_the_visible_landmarks_inside_the_image() -> None:
    pts = np.array([[100.0, 200.0], [300.0, 260.0], [5000.0, 5000.0]])
    vis = np.array([True, True, False])                # a hidden landmark does not count
    x0, y0, x1, y1 = pipeline.zoom_box(pts, vis, (1000, 800), margin=0.1)
    assert (x0, x1) == pytest.approx((80.0, 320.0))   # grown by a tenth of the longer side (200 px) each side
    assert y1 - y0 == pytest.approx(100.0) and (y0 + y1) / 2 == pytest.approx(230.0)   # widened to 100 px
    corner = pipeline.zoom_box(np.array([[2.0, 3.0]]), np.array([True]), (1000, 800))
    assert corner == pytest.approx((0.0, 0.0, 100.0, 100.0))             # moved inside the image, 100 px a side
    assert pipeline.zoom_box(pts, np.zeros(3, bool), (1000, 800)) is None
    assert pipeline.zoom_box(np.array([[0.0, 0.0], [1000.0, 800.0]]), np.ones(2, bool), (1000, 800)) is None


def test_zoom_at_halves_the_part_shown_around_the_click() -> None:
    s = Session(image=np.zeros((400, 600, 3), np.uint8), original_size=(600, 400))
    assert pipeline.zoom_at(s, (300, 200)) == (150.0, 50.0, 450.0, 350.0)  # a square, half the longer side
    assert pipeline.zoom_at(s, (590, 10)) == (300.0, 0.0, 600.0, 300.0)   # at the border: kept inside
    s.view = (10.0, 10.0, 40.0, 30.0)
    with pytest.raises(ValueError, match="as far as it goes"):
        pipeline.zoom_at(s, (20, 20))
    pano = Session(image=np.zeros((70, 600, 3), np.uint8), original_size=(6000, 700))
    views = [None]
    for _ in range(4):                              # a panorama keeps its full height until the zoom is closer
        pano.view = pipeline.zoom_at(pano, (3000, 350))
        views.append(pano.view)
    assert views[1:] == [(1500.0, 0.0, 4500.0, 700.0), (2250.0, 0.0, 3750.0, 700.0), (2625.0, 0.0, 3375.0, 700.0),
                         (2812.5, 162.5, 3187.5, 537.5)]


def test_zoom_in_detect_edit_and_lift_a_small_person_in_a_large_photo(tmp_path) -> None:
    photo = Image.new("RGB", (3000, 2000), (120, 120, 120))
    photo.paste(Image.open(CAMERAMAN).convert("RGB"), (2000, 1200))     # 512 px of person in 3000 x 2000
    path = tmp_path / "large.png"
    photo.save(path)
    whole = handlers.on_image(str(path), False)[0]
    out = handlers.on_view(whole, "zoom")                                  # a warning, the image kept
    assert "Nothing to zoom to yet" in out[2] and out[0] is whole and out[1] is not None
    out = handlers.on_detect(whole, "Body", "human17", False)             # too small for MediaPipe in the whole
    assert out[0].points is None and "Zoom in" in out[2]
    pending = handlers.on_view(whole, "zoom_in")[0]
    assert pending.zoom_next and pending.view is None
    zoomed = handlers.on_click(pending, _click(pending, (2256, 1456)))[0]  # the click says where
    assert not zoomed.zoom_next and zoomed.view == (1500.0, 500.0, 3000.0, 2000.0)
    assert zoomed.display_factor == pytest.approx(2 * whole.display_factor)
    again = handlers.on_view(zoomed, "zoom_in")[0]                         # twice as close again: 750 px a side
    zoomed = handlers.on_click(again, _click(again, (2256, 1456)))[0]
    assert zoomed.view == (1881.0, 1081.0, 2631.0, 1831.0)
    out = handlers.on_detect(zoomed, "Body", "human17", False)
    found = out[0]
    assert "Found a person in the zoomed part" in out[2] and found.view == zoomed.view
    alone = handlers.on_detect(handlers.on_image(str(CAMERAMAN), False)[0], "Body", "human17", False)[0]
    both = found.visible & alone.visible
    assert both.sum() >= 8              # the same person, in the large photo's pixels (MediaPipe's landmarks move
    err = np.linalg.norm(found.points[both] - (alone.points[both] + [2000, 1200]), axis=-1)   # by 15-20 px at
    assert np.median(err) < 40, err     # this size with the context; the crop's corner is 1500 px off the image's)

    framed = handlers.on_view(found, "zoom")[0]
    x0, y0, x1, y1 = framed.view
    p = found.points[found.visible]
    assert (p >= [x0, y0]).all() and (p <= [x1, y1]).all() and x1 - x0 < 600
    assert max(framed.display.shape[:2]) == CONFIG.display_side           # enlarged to be clicked
    i = int(np.flatnonzero(found.visible)[0])
    selected = handlers.on_click(framed, _click(framed, found.points[i]))[0]
    assert selected.selected == i
    target = found.points[i] + [7.0, -5.0]
    moved = handlers.on_click(selected, _click(selected, target))[0]
    np.testing.assert_allclose(moved.points[i], target, atol=1e-9)       # clicks map back exactly
    lifted = handlers.on_lift(moved)[0]
    kept = handlers.on_view(lifted, "whole")[0]                           # the view only: the lift stays
    assert kept.view is None and kept.result is lifted.result
    assert handlers.lift_outputs(kept) == (gr.update(),) * 4
    elsewhere = handlers.on_click(handlers.on_view(kept, "zoom_in")[0], _click(kept, (300, 300)))[0]
    assert "outside the zoomed part" in handlers.status_text(elsewhere, "")
    close = elsewhere
    for _ in range(12):                                   # as close as zooming goes: a warning, and clicks edit again
        pending = handlers.on_view(close, "zoom_in")[0]
        out = handlers.on_click(pending, _click(pending, (300, 300)))
        if "as far as it goes" in out[2]:
            break
        close = out[0]
    assert "as far as it goes" in out[2] and out[0].view == close.view and not out[0].zoom_next
