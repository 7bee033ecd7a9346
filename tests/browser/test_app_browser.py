"""A real browser (Playwright driving Debian's Chromium) through the Image tab: upload an example, detect,
move one landmark by clicking, lift, check the 3D plots rendered (WebGL canvas present and not blank), and
download the export. Screenshots go to ``test-output/`` (``app_lifted.png`` is the lifted view)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from app_server import OUTPUT, REPO, running_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
EXAMPLE = REPO / "assets" / "examples" / "cameraman.png"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page():
    if not CHROMIUM.exists():
        pytest.skip("browser test skipped: /usr/bin/chromium is missing (install it with `apt-get install -y "
                    "chromium`; never `playwright install`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    with running_app() as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1300}, accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        pg.goto(url)
        yield pg
        context.close()
        browser.close()


def _status(page) -> str:
    return page.locator("#status").inner_text()


def _click_image_px(page, x: float, y: float) -> None:
    """Click the annotated image at its natural pixel (x, y) (object-fit: contain letterboxing handled)."""
    img = page.locator("#canvas img").first
    box = img.bounding_box()
    nw, nh = img.evaluate("e => [e.naturalWidth, e.naturalHeight]")
    s = min(box["width"] / nw, box["height"] / nh)
    ox, oy = (box["width"] - nw * s) / 2, (box["height"] - nh * s) / 2
    img.click(position={"x": ox + x * s, "y": oy + y * s})


def test_upload_detect_edit_lift_export(page) -> None:
    from app.detect import get_detectors
    from app.io import load_image

    OUTPUT.mkdir(exist_ok=True)
    page.locator("#source-image input[type=file]").set_input_files(str(EXAMPLE))
    page.wait_for_selector("#canvas img")
    page.locator("#status").get_by_text("Image loaded").wait_for()
    page.locator("#detect-btn").click()
    page.locator("#status").get_by_text("Found a person").wait_for()

    # Where MediaPipe puts the right wrist (the app's detection is deterministic): click near it, then elsewhere.
    loaded = load_image(EXAMPLE)
    det = get_detectors().detect(loaded.rgb, "human17", loaded.original_size)[0]
    j = 16 if det.visible[16] else int(np.flatnonzero(det.visible)[0])
    x, y = det.points2d[j]
    _click_image_px(page, x + 2, y + 2)
    page.locator("#status").get_by_text("Selected ").wait_for()
    _click_image_px(page, x + 40, y + 30)
    page.locator("#status").get_by_text("Moved ").wait_for()
    assert "Moved" in _status(page)

    page.locator("#lift-btn").click()
    page.locator("#status").get_by_text("Lifted human17").wait_for()
    page.wait_for_selector("#views .js-plotly-plot")
    page.wait_for_timeout(1500)
    canvases = page.locator("#views canvas")
    assert canvases.count() >= 1, "no WebGL canvas in the 3D views"
    info = page.evaluate("""() => [...document.querySelectorAll('#views canvas')].map(c => {
        const gl = c.getContext('webgl', {preserveDrawingBuffer: true}) || c.getContext('experimental-webgl');
        return [c.width, c.height, !!gl];})""")
    assert any(w > 0 and h > 0 for w, h, _ in info), info
    views = page.locator("#views")
    views.scroll_into_view_if_needed()
    shot = views.screenshot(path=str(OUTPUT / "app_views.png"))
    from io import BytesIO

    from PIL import Image

    arr = np.asarray(Image.open(BytesIO(shot)).convert("L"), dtype=np.float64)
    assert arr.std() > 5, "the 3D views look blank"
    # The skeleton's coloured lines are drawn: some strongly coloured pixels exist in the plot area.
    rgb = np.asarray(Image.open(BytesIO(shot)).convert("RGB"), dtype=np.int32)
    saturated = (rgb.max(-1) - rgb.min(-1)) > 80
    assert saturated.sum() > 200, "no coloured skeleton visible in the 3D views"
    page.screenshot(path=str(OUTPUT / "app_lifted.png"), full_page=True)

    # One shared camera: dragging the first scene turns the others the same way.
    cams = """() => { const gd = document.querySelector('#views .js-plotly-plot');
        return gd._fullLayout._subplots.gl3d.map(id => gd._fullLayout[id]._scene.getCamera().eye); }"""
    before = page.evaluate(cams)
    box = page.locator("#views .js-plotly-plot").bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.15, box["y"] + box["height"] * 0.5
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 120, y0 + 20, steps=8)
    page.mouse.up()
    page.wait_for_timeout(500)
    after = page.evaluate(cams)
    assert len(after) >= 2 and after[0] != before[0], "dragging did not rotate the first 3D view"
    for eye in after[1:]:
        assert all(abs(eye[k] - after[0][k]) < 0.02 for k in "xyz"), (after, "cameras not shared")

    with page.expect_download() as download:
        page.locator("#export-json").click()
    path = OUTPUT / "export.json"
    download.value.save_as(str(path))
    record = json.loads(path.read_text())
    assert record["category"] == "human17" and len(record["points3d_lifter"]) == 17
    moved = record["points2d"][j]
    assert abs(moved[0] - (x + 40)) < 6 and abs(moved[1] - (y + 30)) < 6

    # An edit after the lift: the 3D views and the download no longer show the old lift until the next Lift.
    _click_image_px(page, x + 40, y + 30)
    page.locator("#status").get_by_text("Selected ").wait_for()
    _click_image_px(page, x + 10, y + 10)
    page.locator("#status").get_by_text("Moved ").wait_for()
    page.wait_for_selector("#views .js-plotly-plot", state="detached")
    page.locator("#lift-btn").click()
    page.wait_for_selector("#views .js-plotly-plot")


def test_zoom_to_the_landmarks_and_edit_there(page) -> None:
    """Zoom to landmarks enlarges the part around them; a click there lands on the original pixel it shows."""
    import re

    from app.detect import get_detectors
    from app.io import load_image
    from app.pipeline import zoom_box

    page.locator("#source-image input[type=file]").set_input_files(str(EXAMPLE))
    page.locator("#status").get_by_text("Image loaded").wait_for()
    page.locator("#detect-btn").click()
    page.locator("#status").get_by_text("Found a person").wait_for()
    page.locator("#zoom-btn").click()
    page.locator("#status").get_by_text("Zoomed to the landmarks").wait_for()
    loaded = load_image(EXAMPLE)                         # 512 px: working pixels are original pixels
    det = get_detectors().detect(loaded.rgb, "human17", loaded.original_size)[0]
    x0, y0, x1, y1 = zoom_box(det.points2d, det.visible, loaded.original_size)
    c0, r0 = int(np.floor(x0)), int(np.floor(y0))
    img = page.locator("#canvas img").first
    page.wait_for_function("() => document.querySelector('#canvas img').naturalWidth > 0")
    natural = img.evaluate("e => [e.naturalWidth, e.naturalHeight]")
    f = max(natural) / max(int(np.ceil(x1)) - c0, int(np.ceil(y1)) - r0)
    assert f > 1.2, (natural, (x0, y0, x1, y1))           # enlarged: the landmarks' part fills the canvas
    j = int(np.flatnonzero(det.visible)[0])
    x, y = det.points2d[j]
    _click_image_px(page, (x - c0) * f, (y - r0) * f)
    page.locator("#status").get_by_text("Selected ").wait_for()
    _click_image_px(page, (x + 20 - c0) * f, (y + 15 - r0) * f)
    page.locator("#status").get_by_text("Moved ").wait_for()
    mx, my = map(float, re.search(r"to \((\d+), (\d+)\)", _status(page)).groups())
    assert abs(mx - (x + 20)) <= 1.5 and abs(my - (y + 15)) <= 1.5, (_status(page), x, y)
    page.locator("#whole-btn").click()
    page.locator("#status").get_by_text("Showing the whole image").wait_for()
    # A problem is a warning: the annotated image stays shown and clickable (a gr.Error had blanked it).
    page.get_by_role("button", name="Mark missing").click()
    page.locator("#status").get_by_text("Select a landmark first").wait_for()
    assert page.locator("#canvas img").first.evaluate("e => e.naturalWidth") > 0
    _click_image_px(page, x + 20, y + 15)
    page.locator("#status").get_by_text("Selected ").wait_for()


def test_a_face_can_be_returned_as_its_fitted_shape(page) -> None:
    """The Face mode's checkbox (hidden in other modes) returns the face's fitted shape, and the export says so."""
    fitted = page.locator("#fitted-shape")
    assert not fitted.is_visible()
    page.locator("#source-image input[type=file]").set_input_files(str(REPO / "assets" / "examples" /
                                                                    "astronaut_face.jpg"))
    page.locator("#status").get_by_text("Image loaded").wait_for()
    page.locator('#mode label:has-text("Face")').click()
    fitted.wait_for(state="visible")
    fitted.locator("input[type=checkbox]").check()
    page.locator("#detect-btn").click()
    page.locator("#status").get_by_text("Found a face").wait_for()
    page.locator("#lift-btn").click()
    page.locator("#status").get_by_text("Lifted face468").wait_for()
    assert "the fitted shape itself" in _status(page)
    with page.expect_download() as download:
        page.locator("#export-json").click()
    path = OUTPUT / "export_face.json"
    download.value.save_as(str(path))
    record = json.loads(path.read_text())
    assert record["category"] == "face468" and record["lifter_fitted_shape"] is True
    page.locator('#mode label:has-text("Body")').click()
    fitted.wait_for(state="hidden")


def test_the_hand_options_show_in_hand_mode_only(page) -> None:
    """Which hand and the mirrored-selfie box concern MediaPipe's hands only: hidden in the other modes."""
    mirrored, which = page.locator("#mirrored"), page.get_by_text("Hand: which (the person's side)")
    assert not mirrored.is_visible() and not which.is_visible()
    page.locator('#mode label:has-text("Hand")').click()
    mirrored.wait_for(state="visible")
    which.wait_for(state="visible")
    for other in ("Face", "Manual", "Body"):
        page.locator(f'#mode label:has-text("{other}")').click()
        mirrored.wait_for(state="hidden")
        which.wait_for(state="hidden")

    side = page.locator("#manual-hand")                 # Manual mode's hand side: for hand21 only
    page.locator('#mode label:has-text("Manual")').click()
    assert not side.is_visible()
    category = page.get_by_label("Manual: category")
    category.click()
    page.get_by_role("option", name="hand21").click()
    side.wait_for(state="visible")
    page.locator('#mode label:has-text("Body")').click()
    side.wait_for(state="hidden")


def test_a_file_that_is_not_an_image_over_a_shown_one_warns_once(page, tmp_path) -> None:
    """An upload over a shown image fires Gradio's change event twice: the app warns once (it had warned twice,
    "(2)"), empties the canvas and says why in the status line."""
    for close in page.locator(".toast-close").all():      # Gradio groups the warnings shown into one toast
        close.click()
    page.locator("#source-image input[type=file]").set_input_files(str(EXAMPLE))
    page.locator("#status").get_by_text("cameraman.png").wait_for()
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    page.locator("#source-image input[type=file]").set_input_files(str(bad))
    page.locator("#status").get_by_text("not an image Pillow can read").wait_for()
    page.wait_for_timeout(2500)                     # a repeated event's warning would show by now
    said = " ".join(page.locator(".toast-body").all_inner_texts())
    assert said.count("not an image Pillow can read") == 1 and "(2)" not in said, said
    assert page.locator("#canvas img").count() == 0
    for close in page.locator(".toast-close").all():
        close.click()


def test_every_benchmark_category_loads_its_summary(page) -> None:
    """Choosing each category the Benchmark tab offers loads its sample range and whole-split summary without an
    error (chairs failed once: their depth-based rows have no figures)."""
    page.get_by_role("tab", name="Benchmark").click()
    choose = page.get_by_label("Category").last
    choose.click()
    names = [t.split("\n")[-1].strip() for t in page.get_by_role("option").all_inner_texts()]   # "✓\nhuman17"
    assert names, "no benchmark category offered"
    for k, name in enumerate(reversed(names)):        # the first is selected already: end on it
        if k:
            choose.click()
        page.get_by_role("option", name=name).click()
        page.locator("#bench-summary").get_by_text("lifter (shipped)", exact=True).first.wait_for()
        page.wait_for_timeout(1500)                   # an error toast would show by now
        assert page.locator(".toast-body.error").count() == 0, f"error choosing {name}"
    page.get_by_role("tab", name="Image").click()


def test_the_api_tab_lifts_the_example_of_the_category_chosen(page) -> None:
    page.get_by_role("tab", name="API").click()
    page.get_by_label("Category").last.click()              # the lift_points column's
    page.get_by_role("option", name="hand21").click()
    page.wait_for_timeout(1500)                             # the example points follow the category
    page.get_by_role("button", name="lift_points").click()
    page.get_by_text('"hand21"').first.wait_for()
    assert page.locator(".toast-body.error").count() == 0
    # a call that fails (lift_image without an image) leaves no earlier result beside its error
    page.get_by_role("button", name="lift_image").click()
    page.locator(".toast-body.error").first.wait_for()
    page.get_by_text('"hand21"').first.wait_for(state="detached")
    for close in page.locator(".toast-close").all():
        close.click()
    page.get_by_role("tab", name="Image").click()


def test_benchmark_tab_shows_a_sample(page) -> None:
    page.get_by_role("tab", name="Benchmark").click()
    page.locator("#bench-btn").click()
    page.wait_for_selector("#bench-plot .js-plotly-plot")
    page.locator("#bench-errors").get_by_text("lifter", exact=True).first.wait_for()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(OUTPUT / "app_benchmark.png"), full_page=True)
    assert page.locator("#bench-plot canvas").count() >= 1
    # another setting: the shown sample (the other setting's) is cleared, not left beside the new controls
    page.get_by_role("radio", name="occluded").check()
    page.locator("#bench-plot .js-plotly-plot").wait_for(state="detached")
    assert page.locator(".toast-body.error").count() == 0
