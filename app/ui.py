"""The app's page: ``build_demo()`` wires components to :mod:`app.handlers` (no logic, no model loading here).

Tabs: **Image** (upload / webcam / example -> detect or click in landmarks -> edit -> lift -> 3D views and
export), **Benchmark** (test samples with ground truth, errors, the evaluate command's summary) and **API**
(the two named endpoints, ``lift_image`` and ``lift_points``, usable from ``gradio_client``).
"""

from __future__ import annotations

import gradio as gr

from app import handlers as h
from app.config import CONFIG, MANUAL, MODES
from app.figures import SYNC_CAMERAS_JS
from app.samples import ERROR_COLUMNS, SUMMARY_COLUMNS
from app.state import Session
from lifter.skeletons import categories

PRIVATE = dict(api_visibility="private")     # only lift_image and lift_points are public API endpoints
EXAMPLE_POINTS = [[500, 300], [470, 320], [460, 450], [455, 580], [530, 320], [540, 450], [545, 580],
                  [500, 240], [500, 180], [500, 150], [500, 110], [550, 190], [580, 260], [600, 320],
                  [450, 190], [420, 260], [400, 320]]


def safe_image(**kwargs) -> gr.Image:
    """A ``gr.Image`` whose input errors (not an image, corrupt file) reach the handler as the uploaded file's path,
    so that :func:`app.handlers.on_image` says what is wrong and starts an empty session (a ``gr.Error`` here kept
    the previous image's session, whose landmarks could then be lifted under the broken upload).

    (Wrapping the instance's ``preprocess`` rather than subclassing: Gradio writes a ``.pyi`` stub beside the
    source of every ``Component`` subclass at import time.)
    """
    image = gr.Image(**kwargs)
    preprocess = image.preprocess

    def checked(payload):
        try:
            return preprocess(payload)
        except gr.Error:
            raise
        except Exception as e:  # noqa: BLE001  (PIL raises many kinds for bad files)
            path = getattr(payload, "path", None)
            if path:             # the file as uploaded: the handler's load_image says what is wrong with it and
                return path      # leaves an empty session, not the previous image's landmarks
            raise gr.Error(f"This file cannot be read as an image ({type(e).__name__}). Please upload a photo "
                           f"(PNG, JPEG, WebP, ...).") from None

    image.preprocess = checked
    return image


def category_table() -> list[list[str | int]]:
    """Rows ``[name, landmarks, edges, description]`` of the registry, for display."""
    return [[c.name, c.num_landmarks, len(c.edges), c.description] for c in categories().values()]


def launch_kwargs() -> dict:
    """Arguments for ``demo.launch`` that belong to the page (script, upload limit)."""
    return dict(head=SYNC_CAMERAS_JS, max_file_size="50mb", show_error=True)


def _image_tab() -> None:
    session = gr.State(Session())
    with gr.Row():
        with gr.Column(scale=2):
            source = safe_image(label="Your image", type="filepath", image_mode=None, height=300,
                               sources=["upload", "webcam", "clipboard"],
                               webcam_options=gr.WebcamOptions(mirror=False), elem_id="source-image")
            gr.Examples([[str(p)] for p in sorted(CONFIG.examples_dir.glob("*.*")) if p.suffix != ".md"],
                        inputs=[source], label="Examples (public domain, see assets/examples/README.md)")
            mode = gr.Radio([*MODES, MANUAL], value="Body", label="Mode", elem_id="mode")
            manual_category = gr.Dropdown(list(categories()), value="human17", label="Manual: category",
                                          visible=False)
            hand = gr.Radio(["largest", "right", "left"], value="largest", label="Hand: which (the person's side)",
                            visible=False)
            manual_hand = gr.Radio(["right", "left"], value="right", label="Manual hand: the person's side",
                                   visible=False, elem_id="manual-hand",
                                   info="The lifter expects right hands: a left one is mirrored before lifting.")
            fitted = gr.Checkbox(False, label="Face: the fitted shape", visible=False, elem_id="fitted-shape",
                                 info="Return the face's shape basis fitted to the landmarks, not moved onto their "
                                      "rays: the 2D's noise stays out, and so does any expression.")
            mirrored = gr.Checkbox(False, label="Hand: mirrored selfie image", visible=False, elem_id="mirrored",
                                   info="Tick for mirrored selfies: MediaPipe's hand side then needs no swap.")
            with gr.Row():
                detect = gr.Button("Detect", variant="primary", elem_id="detect-btn")
                lift = gr.Button("Lift", variant="primary", elem_id="lift-btn")
        with gr.Column(scale=3):
            canvas = gr.Image(label="Landmarks (click near one to select it, then click its new position)",
                              interactive=False, type="numpy", format="jpeg", elem_id="canvas",
                              buttons=["fullscreen"])
            status = gr.Markdown("Upload an image, use the webcam, or pick an example.", elem_id="status")
            with gr.Row():
                landmark = gr.Dropdown([], label="Selected landmark", interactive=True, elem_id="landmark")
                missing = gr.Button("Mark missing", size="sm")
                skip = gr.Button("Skip (manual)", size="sm")
                undo = gr.Button("Undo", size="sm", elem_id="undo-btn")
                reset = gr.Button("Reset", size="sm")
            with gr.Row():
                zoom_in = gr.Button("Zoom in", size="sm", elem_id="zoom-in-btn")
                zoom = gr.Button("Zoom to landmarks", size="sm", elem_id="zoom-btn")
                whole = gr.Button("Whole image", size="sm", elem_id="whole-btn")
    views = gr.Plot(label="3D views: lifter | depth baseline | MediaPipe reference", elem_id="views")
    depth_note = gr.Markdown("")
    with gr.Row():
        json_file = gr.DownloadButton("Download JSON", value=None, elem_id="export-json")
        csv_file = gr.DownloadButton("Download CSV", value=None, elem_id="export-csv")

    outputs = [session, canvas, status, landmark]
    lifted = [views, depth_note, json_file, csv_file]               # cleared when an event drops the lift
    source.change(h.on_image, [source, mirrored], outputs, **PRIVATE).then(h.lift_outputs, session, lifted,
                                                                           **PRIVATE)
    mode.change(lambda m: (gr.update(visible=m == MANUAL), gr.update(visible=m == "Hand"),
                           gr.update(visible=m == "Hand")), mode, [manual_category, hand, mirrored], **PRIVATE)
    mode.change(lambda m: gr.update(value="Start manual" if m == MANUAL else "Detect"), mode, detect, **PRIVATE)
    for trigger in (mode, manual_category):                    # faces only: the categories with a shape basis
        trigger.change(lambda m, c: gr.update(visible=m == "Face" or (m == MANUAL and c == "face468")),
                       [mode, manual_category], fitted, **PRIVATE)
        trigger.change(lambda m, c: gr.update(visible=m == MANUAL and c == "hand21"), [mode, manual_category],
                       manual_hand, **PRIVATE)
    detect.click(h.on_detect, [session, mode, manual_category, mirrored, hand, manual_hand],
                 [*outputs, mode, manual_category], **PRIVATE).then(h.lift_outputs, session, lifted, **PRIVATE)
    canvas.select(h.on_click, [session], outputs, **PRIVATE).then(h.lift_outputs, session, lifted, **PRIVATE)
    landmark.input(h.on_pick, [session, landmark], outputs, **PRIVATE)
    for button, action in ((missing, "missing"), (skip, "skip"), (undo, "undo"), (reset, "reset")):
        event = button.click(h.on_edit, [session, gr.State(action)], outputs, **PRIVATE)
        event.then(h.lift_outputs, session, lifted, **PRIVATE)
        if action in ("undo", "reset"):                     # landmarks of another category or side may come back
            event.then(h.controls, session, [mode, manual_category, manual_hand], **PRIVATE)
    manual_hand.input(h.on_manual_hand, [session, manual_hand], outputs, **PRIVATE).then(h.lift_outputs, session,
                                                                                          lifted, **PRIVATE)
    for button, action in ((zoom_in, "zoom_in"), (zoom, "zoom"), (whole, "whole")):    # the view only: edits kept
        button.click(h.on_view, [session, gr.State(action)], outputs, **PRIVATE)
    lift.click(h.on_lift, [session, fitted, manual_hand], [*outputs, *lifted], **PRIVATE)


def _benchmark_tab() -> tuple:
    available = h.samples.available_categories()
    first = available[0] if available else None
    with gr.Row():
        category = gr.Dropdown(available, value=first, label="Category")
        setting = gr.Radio(["clean", "occluded"], value="clean", label="Setting")
        index = gr.Slider(0, 999, value=0, step=1, label="Test sample")
        absrel = gr.Slider(0.0, h.MAX_ABSREL, value=0.0, step=0.01, label="Depth noise (AbsRel) for the depth baseline")
        show = gr.Button("Show sample", variant="primary", elem_id="bench-btn")
    source_note = gr.Markdown("")
    with gr.Row():
        image2d = gr.Image(label="2D input", interactive=False, type="numpy", format="png", scale=1)
        with gr.Column(scale=3):
            fig = gr.Plot(label="Ground truth (red) and prediction (blue) after alignment; marker colour: error",
                          elem_id="bench-plot")
    errors = gr.Dataframe(headers=list(ERROR_COLUMNS), interactive=False,
                          label="This sample's error (similarity-aligned)", elem_id="bench-errors")
    bars = gr.Plot(label="Per-landmark error")
    with gr.Row():
        json_file = gr.DownloadButton("Download JSON", value=None)
        csv_file = gr.DownloadButton("Download CSV", value=None)
    gr.Markdown("### Whole test split (from `python -m lifter.evaluate`)")
    summary = gr.Dataframe(headers=list(SUMMARY_COLUMNS),
                           interactive=False, label="Summary", elem_id="bench-summary", wrap=True, max_height=900,
                           column_widths=["50%", "10%", "10%", "10%", "8%", "12%"])  # the figures in view
    chart = gr.Image(label="Error vs depth noise", show_label=False,       # the PNG has a title of its own
                     interactive=False, type="filepath", visible=False)
    summary_note = gr.Markdown("")

    meta = [index, source_note, summary, chart, summary_note]
    sample_out = [image2d, fig, errors, bars, json_file, csv_file]
    for trigger in (category.change, setting.change):          # a new range and summary; the old sample cleared
        trigger(h.on_bench_category, [category, setting, index], meta + sample_out, **PRIVATE)
    show.click(h.on_bench_sample, [category, setting, index, absrel], sample_out + [index, absrel], **PRIVATE)
    return category, setting, meta + sample_out


def _api_tab() -> None:
    gr.Markdown("Two named endpoints for `gradio_client` (see the README): `/lift_image` (image + category -> "
                "landmarks and 3D as JSON) and `/lift_points` (2D landmarks + category -> 3D). Try them here.")
    with gr.Row():
        with gr.Column():
            image = safe_image(label="Image", type="filepath", image_mode=None, height=220)
            category = gr.Dropdown(list(MODES.values()), value="human17", label="Category")
            run_image = gr.Button("lift_image")
        with gr.Column():
            points = gr.JSON(EXAMPLE_POINTS, label="points: N [x, y] pairs (null = missing)")
            pcategory = gr.Dropdown(list(categories()), value="human17", label="Category")
            visible = gr.JSON(None, label="visible (optional): N booleans")
            hand_side = gr.Radio(["right", "left"], value="right", label="hand_side (hand21: the person's side)")
            run_points = gr.Button("lift_points")
    out = gr.JSON(label="Result")
    # the Result box is emptied first, so that a call that fails leaves no earlier call's result beside its error
    clear = dict(fn=lambda: None, inputs=None, outputs=out, **PRIVATE)
    run_image.click(**clear).then(h.api_lift_image, [image, category], out, api_name="lift_image")
    run_points.click(**clear).then(h.api_lift_points, [points, pcategory, visible, hand_side], out,
                                   api_name="lift_points")
    pcategory.change(lambda c: h.api_example_points(c, EXAMPLE_POINTS), pcategory, [points, visible], **PRIVATE)


def build_demo() -> gr.Blocks:
    """The app as a ``gr.Blocks``; the caller queues and launches it (see ``app.py`` and :func:`launch_kwargs`)."""
    with gr.Blocks(title="2D-to-3D landmark lifting workbench") as demo:
        gr.Markdown("# 2D-to-3D landmark lifting workbench\n"
                    "Lift the 2D landmarks of bodies, hands, faces and chairs to 3D, and compare the result with "
                    "ground truth and with depth-based lifting.")
        with gr.Tabs():
            with gr.Tab("Image", id="image"):
                _image_tab()
            with gr.Tab("Benchmark", id="benchmark"):
                category, setting, meta = _benchmark_tab()
            with gr.Tab("API", id="api"):
                _api_tab()
            with gr.Tab("Categories", id="categories"):
                gr.Dataframe(value=category_table(), headers=["category", "landmarks", "edges", "description"],
                             interactive=False, label="Landmark categories")
        demo.load(h.on_bench_category, [category, setting], meta, **PRIVATE)
    return demo
