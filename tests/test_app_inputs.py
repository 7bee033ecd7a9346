"""Bad input, handled as a user expects: every case gives a clear message (or works), never a traceback."""

from __future__ import annotations

import time
from types import SimpleNamespace

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
    lifted = handlers.on_image(str(CAMERAMAN), False)[0]       # an image shown, then one that cannot be read:
    failed = handlers.on_image(str(truncated), False)         # a fresh, empty session and the reason, not the last
    assert failed[0].image is None and failed[1] is None and "corrupt or truncated" in failed[2]
    assert lifted.image is not None and handlers.lift_outputs(failed[0]) == (None, "", None, None)


def test_a_repeated_change_event_for_one_upload_is_dropped(tmp_path, monkeypatch) -> None:
    """Gradio's image fires its change event twice for an upload over a shown image: the second call, same file,
    same browser session, within the window, changes nothing and warns nothing; another session, another file,
    or the same file after the window is a new image."""
    recent = handlers.RecentUploads(window_s=3.0)
    monkeypatch.setattr(handlers, "RECENT_UPLOADS", recent)
    warnings = []
    monkeypatch.setattr(gr, "Warning", lambda message: warnings.append(message))
    bad = tmp_path / "bad.png"
    bad.write_text("this is not an image")
    a, b = SimpleNamespace(session_hash="a"), SimpleNamespace(session_hash="b")
    first = handlers.on_image(str(bad), False, a)
    assert first[0].image is None and len(warnings) == 1
    again = handlers.on_image(str(bad), False, a)                      # the repeated event
    assert all(isinstance(x, type(gr.skip())) for x in again) and len(again) == 4 and len(warnings) == 1
    assert handlers.on_image(str(bad), False, b)[0].image is None and len(warnings) == 2   # another browser
    assert handlers.on_image(str(CAMERAMAN), False, a)[0].image is not None              # another file
    assert isinstance(handlers.on_image(str(CAMERAMAN), False, a)[0], type(gr.skip()))
    assert not recent.repeats("a", str(CAMERAMAN), now=time.monotonic() + 3.5)            # after the window
    assert not recent.repeats(None, str(CAMERAMAN)) and not recent.repeats("a", None)
    assert handlers.on_image(str(CAMERAMAN), False)[0].image is not None     # no request (a script): no memory


def test_grayscale_rgba_16bit_palette(tmp_path) -> None:
    gray = Image.open(CAMERAMAN).convert("L")
    li = load_image(_save(tmp_path, "g.png", gray))
    assert li.rgb.shape == (512, 512, 3) and li.rgb.dtype == np.uint8 and "grayscale" in " ".join(li.notes)
    rgba = Image.open(CONFIG.examples_dir / "astronaut.png").convert("RGBA")
    rgba.putalpha(128)
    li = load_image(_save(tmp_path, "a.png", rgba))
    assert li.rgb.shape == (512, 512, 3) and "transparency composited on white" in li.notes
    rgba.putalpha(255)                                         # an opaque alpha channel (a webcam's PNG): no note
    opaque = load_image(_save(tmp_path, "o.png", rgba))
    assert not any("transparency" in n for n in opaque.notes)
    np.testing.assert_array_equal(opaque.rgb, np.asarray(rgba.convert("RGB")))
    cmyk = load_image(_save(tmp_path, "c.jpg", Image.open(CONFIG.examples_dir / "astronaut.png").convert("CMYK")))
    assert cmyk.rgb.shape == (512, 512, 3) and "CMYK converted to RGB" in cmyk.notes
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
    clicked = session.copy()                                         # landmarks entered before: kept, and said so
    clicked.set_landmarks("hand21", np.full((21, 2), 100.0) + np.arange(21)[:, None], np.ones(21, bool),
                          detected=False)
    out = handlers.on_detect(clicked, "Face", "human17", False)
    assert out[0].points is not None and "The hand's landmarks shown are the ones from before, kept." in out[2]


def test_clicks_outside_the_image_and_before_detection() -> None:
    session = handlers.on_image(str(CAMERAMAN), False)[0]
    assert handlers.click_to_original(session, [600, 10]) is None
    assert handlers.click_to_original(session, [-1, 10]) is None
    assert handlers.click_to_original(session, None) is None
    assert handlers.click_to_original(session, [511, 511]) == (511, 511)
    evt = gr.SelectData(None, {"index": [100, 100], "value": None})
    out = handlers.on_click(session, evt)                  # a warning: the image stays shown, the session as it was
    assert "Press Detect" in out[2] and out[0] is session and out[1] is not None
    detected = handlers.on_detect(session, "Body", "human17", False)[0]
    out = handlers.on_click(detected, gr.SelectData(None, {"index": [5000, 3], "value": None}))
    assert "inside the image" in out[2] and out[0].points is detected.points


def test_handlers_never_raise_raw_exceptions() -> None:
    """The Image tab's handlers turn expected problems into a warning and a status message, every output but the
    status kept (a gr.Error blanked the annotated image); the API's raise gr.Error with the message."""
    out = handlers.on_detect(Session(), "Body", "human17", False)
    assert "first" in out[2] and len(out) == 6 and out[4:] == (gr.update(), gr.update())
    out = handlers.on_lift(Session())
    assert "Upload an image" in out[2] and len(out) == 8 and out[4:] == (gr.update(),) * 4
    detected = handlers.on_detect(handlers.on_image(str(CAMERAMAN), False)[0], "Body", "human17", False)[0]
    out = handlers.on_edit(detected, "missing")                     # nothing selected
    assert "Select a landmark first" in out[2] and out[0] is detected and out[1] is not None
    with pytest.raises(gr.Error, match="17 landmarks"):
        handlers.api_lift_points([[1, 2]] * 3, "human17")
    with pytest.raises(gr.Error, match="unknown category"):
        handlers.api_lift_points([[1, 2]] * 3, "octopus")
    with pytest.raises(gr.Error, match="at least 3"):
        handlers.api_lift_points([[1, 2], [3, 4]] + [None] * 15, "human17")
    pose = [[float(10 * k), float(k * k)] for k in range(17)]
    for visible in (5, "yes", ["x"] * 17, [2] * 17, {"a": 1}):             # not a list of booleans: named as such
        with pytest.raises(gr.Error, match="visible must be a list of 17 booleans"):
            handlers.api_lift_points(pose, "human17", visible)
    assert len(handlers.api_lift_points(pose, "human17", [1] * 16 + [0])["points3d"]) == 17     # 0 / 1 is taken
    with pytest.raises(gr.Error) as e:                          # a message ending in a quoted value keeps its quote
        handlers.api_lift_image(str(CONFIG.examples_dir / "cameraman.png"), "chair")
    assert e.value.message.endswith("got 'chair'")

    @handlers.user_errors
    def missing():
        raise KeyError("no such landmark")

    with pytest.raises(gr.Error) as e:                          # a KeyError's message, not its repr
        missing()
    assert e.value.message == "no such landmark"
    assert not e.value.print_exception                         # the user's input: no traceback in the server log

    @handlers.user_errors
    def refused():
        raise gr.Error("Upload an image first.")

    with pytest.raises(gr.Error) as e:
        refused()
    assert not e.value.print_exception


def test_sessions_are_independent() -> None:
    """Two users: each handler returns a new session; the other user's is untouched."""
    a = handlers.on_detect(handlers.on_image(str(CAMERAMAN), False)[0], "Body", "human17", False)[0]
    b = handlers.on_image(str(CAMERAMAN), False)[0]
    before = a.points.copy()
    a2 = handlers.on_edit(a, "reset")[0]
    a3 = handlers.on_click(a2, gr.SelectData(None, {"index": [300, 300], "value": None}))[0]
    np.testing.assert_array_equal(a.points, before)
    assert b.points is None and a3 is not a


def test_the_3d_views_and_downloads_go_when_the_lift_no_longer_stands() -> None:
    """After a lift, a new image, a new detection or an edit clears the 3D views and the download files; selecting a
    landmark (no change yet) keeps them."""
    shown = handlers.on_detect(handlers.on_image(str(CAMERAMAN), False)[0], "Body", "human17", False)[0]
    out = handlers.on_lift(shown)
    lifted = out[0]
    assert lifted.result is not None and out[6] is not None and out[7] is not None
    keep = (gr.update(),) * 4
    assert handlers.lift_outputs(lifted) == keep
    i = int(np.flatnonzero(lifted.visible)[0])
    x, y = lifted.points[i] * lifted.display_factor
    selected = handlers.on_click(lifted, gr.SelectData(None, {"index": [x, y], "value": None}))[0]
    assert selected.selected == i and handlers.lift_outputs(selected) == keep
    moved = handlers.on_click(selected, gr.SelectData(None, {"index": [x + 5, y + 5], "value": None}))[0]
    assert moved.result is None and handlers.lift_outputs(moved) == (None, "", None, None)
    for edited in (handlers.on_edit(lifted, "reset")[0], handlers.on_image(str(CAMERAMAN), False)[0],
                   handlers.on_detect(lifted, "Body", "human17", False)[0]):
        assert handlers.lift_outputs(edited) == (None, "", None, None)


def test_a_failed_detection_keeps_the_lift_and_says_so(monkeypatch) -> None:
    lifted = handlers.on_lift(handlers.on_detect(handlers.on_image(str(CAMERAMAN), False)[0], "Body", "human17",
                                                 False)[0])[0]

    def nothing(*args, **kwargs):
        raise pipeline.NotFound("No hand found in this image.")

    monkeypatch.setattr(pipeline, "detect_session", nothing)
    out = handlers.on_detect(lifted, "Hand", "human17", False)
    assert out[0].result is lifted.result and handlers.lift_outputs(out[0]) == (gr.update(),) * 4
    assert "The person's landmarks shown are the ones from before, kept with their lift." in out[2]


def test_a_left_hand_entered_by_hand_is_lifted_as_a_left_hand() -> None:
    from lifter.data.cameras import render_views
    from lifter.data.hand import sample_hands

    rng = np.random.default_rng(3)
    hands, _ = sample_hands(1, rng)
    right = render_views(hands, None, rng).points2d[0] * 0.4 + 50            # inside the 512 px photo
    left = right * [-1, 1] + [512, 0]                                        # the same hand mirrored: a left hand
    image = handlers.on_image(str(CAMERAMAN), False)[0]
    manual = handlers.on_detect(image, "Manual", "hand21", False, "largest", "left")
    assert manual[0].hand_side == "left" and "(left hand)" in manual[2]
    session = manual[0]
    for xy in left:                                                          # the 21 clicks, in order
        session = session.copy()
        session.click(tuple(xy))
    as_left = handlers.on_lift(session, False, "left")[0]
    as_right = handlers.on_lift(session, False, "right")[0]                  # the choice can change after the clicks
    assert as_left.hand_side == "left" and as_right.hand_side == "right"
    assert pipeline.result_record(as_left)["hand_side"] == "left"
    expect = pipeline.lift_points(left, "hand21", hand_side="left")
    got = handlers.api_lift_points(left.tolist(), "hand21", None, "left")   # the API's lift_points takes it too
    np.testing.assert_allclose(np.asarray(got["points3d"], float), expect, atol=1e-3)
    plain = np.asarray(handlers.api_lift_points(left.tolist(), "hand21")["points3d"], float)
    assert np.abs(plain - expect).max() > 1.0                                # lifted as a right hand: not the same
    with pytest.raises(gr.Error, match="hand_side"):
        handlers.api_lift_points(left.tolist(), "hand21", None, "both")


def test_undo_takes_back_a_click_not_the_hand_side_chosen_since() -> None:
    """A hand clicked in, its side changed on the radio, then a click undone: the side stays the one chosen."""
    image = handlers.on_image(str(CAMERAMAN), False)[0]
    session = handlers.on_detect(image, "Manual", "hand21", False, "largest", "right")[0]
    for xy in ((100, 120), (110, 130), (120, 140)):
        session = session.copy()
        session.click(xy)
    left = handlers.on_manual_hand(session, "left")[0]
    assert left.hand_side == "left"
    undone = handlers.on_edit(left, "undo")[0]
    assert undone.manual_next == 2 and undone.hand_side == "left"
    assert handlers.on_lift(undone, False, "left")[0].hand_side == "left"


def test_undo_after_a_new_detection_brings_the_clicked_landmarks_back() -> None:
    """Landmarks clicked in by hand are not lost to a Detect (or a Manual restart) pressed by mistake: Undo brings
    them back with their category, Manual mode's place and side, and the detection's own state goes with it."""
    image = handlers.on_image(str(CAMERAMAN), False)[0]
    session = handlers.on_detect(image, "Manual", "hand21", False, "largest", "left")[0]
    for xy in ((100, 120), (110, 130), (120, 140)):
        session = session.copy()
        session.click(xy)
    clicked = session
    out = handlers.on_detect(clicked, "Body", "human17", False)     # the real photo: MediaPipe finds the person
    detected = out[0]
    assert detected.category == "human17" and detected.reference3d is not None
    assert "**Undo** brings back the landmarks from before." in out[2]
    out = handlers.on_edit(detected, "undo")
    back = out[0]
    assert "Undone: back to the hand21 landmarks from before." in out[2] and "thumb_ip" in out[2]
    assert back.category == "hand21" and back.manual_next == 3 and back.hand_side == "left"
    assert back.detected is None and back.reference3d is None and back.result is None
    np.testing.assert_array_equal(back.points, clicked.points)
    np.testing.assert_array_equal(back.visible, clicked.visible)
    redone = handlers.on_edit(handlers.on_edit(detected, "reset")[0], "undo")[0]    # the detection's Reset still works
    np.testing.assert_array_equal(redone.points, detected.points)
    assert handlers.on_edit(back, "undo")[0].manual_next == 2                        # and the clicks undo one by one
    restarted = handlers.on_detect(back, "Manual", "hand21", False)[0]              # a Manual restart: undoable too
    assert not restarted.visible.any()
    np.testing.assert_array_equal(handlers.on_edit(restarted, "undo")[0].points, clicked.points)
    assert "Undo" not in handlers.on_detect(image, "Body", "human17", False)[2]     # nothing before: no hint


def test_a_file_that_is_not_an_image_reaches_the_handler_and_empties_the_session(tmp_path) -> None:
    """The upload component passes a file it cannot read to the handler (it raised, and the previous image's
    landmarks stayed liftable under the broken upload): the handler says why and starts an empty session."""
    from gradio.data_classes import FileData

    from app.ui import safe_image

    text = tmp_path / "notimage.png"
    text.write_text("not an image at all")
    component = safe_image(type="filepath", image_mode=None)
    path = component.preprocess(FileData(path=str(text)))
    assert path == str(text)
    detected = handlers.on_detect(handlers.on_image(str(CAMERAMAN), False)[0], "Body", "human17", False)[0]
    assert detected.points is not None
    out = handlers.on_image(path, False)                       # what the page runs next, whatever came before
    assert out[0].image is None and out[0].points is None and "not an image Pillow can read" in out[2]


def test_manual_order_passes_over_landmarks_placed_out_of_order() -> None:
    m = Session(image=np.zeros((100, 100, 3), np.uint8), original_size=(100, 100))
    pipeline.start_manual(m, "human17")
    m.click((10, 10)), m.click((20, 20))                     # pelvis, r_hip
    m.select(m.names.index("r_ankle"))                       # picked from the list, placed out of order
    assert "Next: click **r_knee**" in m.click((30, 90))
    assert "Next: click **l_hip**" in m.click((25, 50))       # r_knee placed: r_ankle is passed over
    m.select(m.names.index("l_hip"))                         # the next one picked and placed: the order moves on
    assert "Next: click **l_knee**" in m.click((40, 20))
    assert m.manual_next == m.names.index("l_knee")
    assert "skipped" in m.skip() and m.manual_next == m.names.index("l_ankle")


def test_undo_and_the_hand_radio_keep_a_manual_hands_side() -> None:
    """Undo brings back a Manual hand with its side, and the page's controls follow (Lift reads the radio); changing
    the side after a lift drops that lift, as an edit does."""
    image = handlers.on_image(str(CAMERAMAN), False)[0]
    left = handlers.on_detect(image, "Manual", "hand21", False, "largest", "left")[0]
    for k in range(21):
        left = left.copy()
        left.click((100 + 7 * k, 120 + 5 * (k % 4)))
    right = handlers.on_detect(left, "Manual", "hand21", False, "largest", "right")[0]
    back = handlers.on_edit(right, "undo")[0]
    assert back.hand_side == "left" and back.visible.all()
    mode, category, side = handlers.controls(back)
    assert mode["value"] == "Manual" and category["value"] == "hand21" and side["value"] == "left"
    lifted = handlers.on_lift(back, False, side["value"])[0]
    assert lifted.hand_side == "left" and lifted.result is not None
    flipped = handlers.on_manual_hand(lifted, "right")
    assert flipped[0].hand_side == "right" and flipped[0].result is None and "press **Lift**" in flipped[2]
    assert handlers.lift_outputs(flipped[0]) == (None, "", None, None)
    assert handlers.on_manual_hand(lifted, "left")[0] is lifted                     # the same side: nothing dropped
    face = handlers.on_image(str(CONFIG.examples_dir / "astronaut_face.jpg"), False)[0]
    face = handlers.on_detect(face, "Face", "human17", False)[0]                     # a detection: its mode
    assert handlers.controls(face)[0]["value"] == "Face"
    assert handlers.controls(image) == (gr.update(),) * 3
