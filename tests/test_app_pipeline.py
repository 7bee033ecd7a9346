"""The app's pure pipeline on the bundled photos: detection, the Pose -> human17 map, lifting, editing, export,
benchmark samples."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from app import pipeline, samples
from app.config import CONFIG
from app.detect import get_detectors
from app.io import load_image, write_exports
from app.state import Session
from lifter.geometry import perspective_reading
from lifter.skeletons import get_category

EXAMPLES = CONFIG.examples_dir
H17 = get_category("human17")


def _session(name: str) -> Session:
    li = load_image(EXAMPLES / name)
    return Session(image=li.rgb, original_size=li.original_size, image_notes=li.notes, image_name=name)


def test_examples_are_small_and_credited() -> None:
    files = [p for p in EXAMPLES.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")]
    assert len(files) >= 3
    assert all(p.stat().st_size < 1_000_000 for p in files)
    credits = (EXAMPLES / "README.md").read_text()
    assert all(p.name in credits for p in files)


@pytest.mark.parametrize("name", ["astronaut.png", "cameraman.png"])
def test_body_detection_and_mapping_is_sane(name: str) -> None:
    s = _session(name)
    msg = pipeline.detect_session(s, "Body")
    assert "Found a person" in msg and s.category == "human17"
    i = H17.index
    vis = s.visible
    for j in ("l_shoulder", "r_shoulder", "thorax", "neck", "head"):
        assert vis[i(j)], f"{j} not visible in {name}"
    p = s.points
    np.testing.assert_allclose(p[i("thorax")], (p[i("l_shoulder")] + p[i("r_shoulder")]) / 2)
    assert p[i("head")][1] < p[i("neck")][1] < p[i("thorax")][1]        # up the body = up the image
    if vis[i("pelvis")]:                                                # the astronaut's hips are out of frame
        assert p[i("thorax")][1] < p[i("pelvis")][1]
    W, H = s.original_size
    assert ((p[vis] >= 0) & (p[vis] <= [W, H])).all()
    result = pipeline.lift_session(s)
    assert result["points3d"].shape == (17, 3) and np.isfinite(result["points3d"]).all()
    assert result["reference3d"].shape == (17, 3) and np.isfinite(result["reference3d"]).all()
    # the photo's lift is read through the assumed pinhole: its perspective re-projection is the visible 2D
    fx, fy, cx, cy = pipeline.assumed_intrinsics((W, H))
    assert result["intrinsics"] == (fx, fy, cx, cy) and "assumed pinhole" in result["reading"]
    np.testing.assert_allclose(result["reprojected"][vis], p[vis], atol=1e-2)
    np.testing.assert_allclose(result["points3d"][vis, 2].mean(), fx, rtol=1e-4)   # mean visible depth = focal
    # ... and it is the orthographic lift read through that pinhole, then moved along the rays by the bone-length
    # refinement (lift_with_camera's reading): one damped step, so no landmark moves by more than about a bone's
    # length (the cameraman's derived spine, which the network lifts kinked in front of pelvis and thorax, moves
    # furthest)
    ortho = pipeline.lift_points(p, "human17", vis)
    centre = p[vis].mean(0)
    read = perspective_reading(ortho[None], centre[None], vis[None], np.array([fx]), np.array([[cx, cy]]))[0]
    expect = pipeline.get_lifter().read_with_camera(ortho, p, "human17", fx, (cx, cy), vis)
    np.testing.assert_allclose(result["points3d"], expect, rtol=1e-4, atol=1e-2)
    assert 0 < np.abs(result["points3d"][:, 2] - read[:, 2]).max() < 0.3 * np.ptp(p[vis], axis=0).max()


def test_astronaut_faces_the_camera() -> None:
    s = _session("astronaut.png")
    pipeline.detect_session(s, "Body")
    i = H17.index
    # a person facing the camera has their left shoulder on the image's right
    assert s.points[i("l_shoulder")][0] > s.points[i("r_shoulder")][0]


def test_face_detection_drops_iris_and_lifts() -> None:
    s = _session("astronaut_face.jpg")
    pipeline.detect_session(s, "Face")
    assert s.points.shape == (468, 2) and s.visible.all()
    assert s.reference3d.shape == (468, 3)
    assert pipeline.result_record(s)["column_units"]["mediapipe"] == "px"       # Face Mesh's x, y, z: pixels
    result = pipeline.lift_session(s)
    out = result["points3d"]
    assert out.shape == (468, 3) and np.isfinite(out).all()
    # a face's focal length is estimated by its shape basis's fit, not assumed: the principal point is the image
    # centre, and the re-projection through the estimate is the detected 2D
    f, fy, cx, cy = result["intrinsics"]
    W, H = s.original_size
    assert f == fy and (cx, cy) == (W / 2, H / 2) and "estimated by fitting" in result["reading"]
    assert f != pipeline.assumed_intrinsics((W, H))[0]
    np.testing.assert_allclose(result["reprojected"], s.points, atol=1e-2)
    expect = pipeline.get_lifter().read_with_camera(pipeline.lift_points(s.points, "face468", s.visible), s.points,
                                                    "face468", None, (cx, cy), s.visible)
    np.testing.assert_allclose(out, expect, rtol=1e-5, atol=1e-3)
    assert not result["fitted_shape"]
    # the fitted shape itself: the API's option, its focal length the fit's (its mean depth), re-projected near the
    # detected 2D but not onto it (a real face has more than the basis's three modes describe)
    fitted = pipeline.lift_session(s, fitted_shape=True)
    f = fitted["intrinsics"][0]
    assert fitted["fitted_shape"] and "fitted shape itself" in fitted["reading"]
    np.testing.assert_allclose(fitted["points3d"], pipeline.get_lifter().read_with_camera(
        pipeline.lift_points(s.points, "face468", s.visible), s.points, "face468", None, (cx, cy), s.visible,
        fitted_shape=True), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(fitted["points3d"][:, 2].mean(), f, rtol=1e-9)
    few = s.copy()                          # a few Manual clicks: too few landmarks to fit the basis, and it says so
    few.visible = np.arange(468) < 5
    few.points = np.where(few.visible[:, None], few.points, np.nan)
    assert "a rough guess: 5 visible landmarks are too few" in pipeline.lift_session(few)["reading"]
    miss = np.linalg.norm(fitted["reprojected"] - s.points, axis=-1)
    face_size = np.ptp(s.points, axis=0).max()
    assert 0 < np.median(miss) < 0.05 * face_size
    assert pipeline.result_record(s)["lifter_fitted_shape"] is True


def test_no_hand_found_offers_manual() -> None:
    s = _session("cameraman.png")
    with pytest.raises(pipeline.NotFound, match="Manual"):
        pipeline.detect_session(s, "Hand")


def test_left_hand_is_mirrored_before_and_after_lifting() -> None:
    from lifter.data.cameras import render_views
    from lifter.data.hand import sample_hands

    rng = np.random.default_rng(5)
    hands, _ = sample_hands(1, rng)
    v = render_views(hands, None, rng)
    right = v.points2d[0]
    left_image = right * [-1, 1] + [1000, 0]                                # the same hand, mirrored: a left hand
    a = pipeline.lift_points(right, "hand21")
    b = pipeline.lift_points(left_image, "hand21", hand_side="left")
    np.testing.assert_allclose(b * [-1, 1, 1], a, atol=1e-3)
    # read through a pinhole centred on the mirror line: the mirrored camera is the same camera
    intr = (1200.0, 1200.0, 500.0, 500.0)
    a = pipeline.lift_points(right, "hand21", intrinsics=intr)
    b = pipeline.lift_points(left_image, "hand21", hand_side="left", intrinsics=intr)
    np.testing.assert_allclose(b * [-1, 1, 1], a, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(pipeline.reproject(b, left_image, np.ones(21, bool), intr), left_image, atol=1e-3)
    with pytest.raises(ValueError, match="square pixels"):
        pipeline.lift_points(right, "hand21", intrinsics=(1200.0, 1000.0, 500.0, 500.0))


def test_short_assumed_focal_falls_back_to_the_orthographic_reading(monkeypatch) -> None:
    s = _session("cameraman.png")
    pipeline.detect_session(s, "Body")
    monkeypatch.setattr(pipeline, "assumed_intrinsics", lambda size: (1.0, 1.0, size[0] / 2, size[1] / 2))
    result = pipeline.lift_session(s)
    assert result["intrinsics"] is None and "orthographically" in result["reading"]
    np.testing.assert_allclose(result["points3d"], pipeline.lift_points(s.points, "human17", s.visible), atol=1e-4)
    rec = pipeline.result_record(s)
    assert rec["intrinsics_assumed"] is None and "orthographically" in rec["lifter_reading"]


def test_a_face_without_a_focal_estimate_falls_back_and_says_why(monkeypatch) -> None:
    s = _session("astronaut_face.jpg")
    pipeline.detect_session(s, "Face")

    def no_estimate(*args, **kwargs):
        raise ValueError("the fit found no focal length")

    monkeypatch.setattr(pipeline, "estimated_focal_reading", no_estimate)
    result = pipeline.lift_session(s, fitted_shape=True)
    assert result["intrinsics"] is None and not result["fitted_shape"]
    assert ("read orthographically (no focal length could be estimated for this face, so this is not the fitted "
            "shape: the fit found no focal length)") == result["reading"]


def test_editing_click_select_move_undo_reset_manual() -> None:
    s = Session(image=np.zeros((100, 100, 3), np.uint8), original_size=(100, 100))
    pts = np.array([[10, 10], [50, 50], [90, 90]] + [[20, 80]] * 14, float)
    vis = np.ones(17, bool)
    s.set_landmarks("human17", pts, vis, detected=True)
    assert "No landmark near" in s.click((70, 20))
    assert "Selected" in s.click((51, 49)) and s.selected == 1
    assert s.click((60, 30)).startswith("Moved r_hip to (60, 30).") and tuple(s.points[1]) == (60, 30)
    s.select(2)
    s.mark_missing(2)
    assert not s.visible[2] and np.isnan(s.points[2]).all()
    s.undo()
    assert s.visible[2]
    s.undo()
    assert tuple(s.points[1]) == (50, 50)
    s.click((51, 49)), s.click((5, 5))
    s.reset()
    assert tuple(s.points[1]) == (50, 50)
    m = Session(image=s.image, original_size=(100, 100))
    msg = pipeline.start_manual(m, "hand21")
    assert "wrist" in msg
    placed = m.click((10, 10))
    assert placed.startswith("Placed wrist at (10, 10).") and "thumb_cmc" in placed
    assert "thumb_mcp" in m.skip()
    m.undo()
    assert m.manual_next == 1 and "thumb_cmc" in m.manual_prompt()
    m.select(0)                                   # a landmark picked from the list moves, the order is kept
    assert m.click((30, 40)).startswith("Moved wrist to (30, 40).") and m.manual_next == 1
    assert tuple(m.points[0]) == (30, 40) and m.selected is None
    assert "Placed thumb_cmc" in m.click((12, 12)) and m.manual_next == 2
    assert "restarted" in m.reset() and m.manual_next == 0 and not m.visible.any()
    assert m.undo() and m.manual_next == 2 and tuple(m.points[1]) == (12, 12)   # a Reset is undone like a click


def test_session_copies_do_not_share_edits() -> None:
    s = Session(image=np.zeros((100, 100, 3), np.uint8), original_size=(100, 100))
    s.set_landmarks("human17", np.full((17, 2), 50.0), np.ones(17, bool), detected=True)
    t = s.copy()
    t.move(0, (1, 2))
    assert tuple(s.points[0]) == (50, 50) and not s.history


def test_export_json_and_csv(tmp_path) -> None:
    s = _session("cameraman.png")
    pipeline.detect_session(s, "Body")
    pipeline.lift_session(s)
    jpath, cpath = write_exports(pipeline.result_record(s), list(s.names))
    rec = json.loads(open(jpath).read())
    assert rec["category"] == "human17" and len(rec["points2d"]) == 17 and len(rec["points3d_lifter"]) == 17
    assert rec["intrinsics_assumed"] == {"fx": 614.4, "fy": 614.4, "cx": 256.0, "cy": 256.0}  # 1.2 x 512 px
    assert "assumed pinhole" in rec["lifter_reading"]
    rows = list(csv.reader(open(cpath)))
    assert rows[0][:4] == ["landmark", "x [px]", "y [px]", "visible"] and len(rows) == 18
    assert "lifter_z [px]" in rows[0] and "mediapipe_x [m]" in rows[0]     # Pose's world landmarks: metres
    assert rec["column_units"]["mediapipe"] == "m" and rec["column_units"]["lifter"] == "px"


def test_benchmark_sample_has_finite_errors() -> None:
    cat = "hand21"
    s = samples.evaluate_sample(cat, "occluded", 2)
    assert np.isfinite(s.scores["lifter"]["strict"]) and s.scores["lifter"]["flip_best"] <= s.scores["lifter"]["strict"]
    image, fig, rows, bars, jpath, cpath = samples.sample_outputs(s)
    assert image.ndim == 3 and [r[0] for r in rows[:3]] == ["lifter", "lifter+intrinsics", "lifter+guessed"]
    assert np.isfinite(s.scores["lifter+intrinsics"]["strict"])
    from app.pipeline import get_lifter
    guessed = get_lifter().lift_with_camera(s.points2d, cat, visible=s.visible)
    np.testing.assert_allclose(s.predictions["lifter+guessed"], guessed, rtol=1e-6)
    assert len(fig.layout.annotations) >= 3 and "lifter+guessed" in fig.layout.annotations[2].text
    record = json.loads(open(jpath).read())
    assert "errors" in record and len(record["points3d_lifter+intrinsics"]) == 21
    header = next(csv.reader(open(cpath)))
    assert header[1:3] == ["x [px]", "y [px]"] and "error_lifter [mm]" in header and "lifter_x [px]" in header
    assert "ground_truth_x [mm]" in header and "lifter+intrinsics_z [px]" in header
    assert record["errors"].keys() == record["per_landmark_error"].keys()          # the same short names
    assert "lifter+fitted" not in s.predictions                   # hands have no shape basis to fit


def test_long_panel_titles_break_within_their_panel() -> None:
    from app.figures import Panel, panel_title, views_figure
    assert panel_title("lifter: 22.9 mm", 30) == "lifter: 22.9 mm"
    assert panel_title("depth baseline (AbsRel 0.00): 48.8 mm", 30) == "depth baseline (AbsRel 0.00):<br>48.8 mm"
    wrapped = panel_title("a title without any colon that runs on and on", 20)
    assert all(len(line) <= 20 for line in wrapped.split("<br>")) and wrapped.replace("<br>", " ") == \
        "a title without any colon that runs on and on"
    titles = ["lifter: 22.9 mm", "lifter+intrinsics: 22.1 mm", "lifter+guessed: 22.5 mm",
              "depth baseline (AbsRel 0.00): 48.8 mm"]
    fig = views_figure([Panel(t, []) for t in titles], "human17")
    shown = [a.text for a in fig.layout.annotations]
    assert shown[:3] == titles[:3] and shown[3] == "depth baseline (AbsRel 0.00):<br>48.8 mm"
    assert views_figure([Panel(titles[3], [])], "human17").layout.annotations[0].text == titles[3]


def test_a_benchmark_face_shows_its_fitted_shape(tmp_path: Path, monkeypatch) -> None:
    """Faces add the fitted shape itself (``fitted_shape=True`` through the sample's intrinsics), scored like the
    others; made from the test's own face views, not the shared data."""
    from data_files import face_input

    pts, cam, focal, principal = face_input(2, seed=6)
    vis = np.ones(pts.shape[:2], bool)
    vis[1, ::5] = False
    arrays = dict(points2d=pts, visible=vis, present=np.ones_like(vis), points3d=cam * 100,
                  camera_focal=np.full(2, focal), camera_principal=np.tile(principal, (2, 1)),
                  image_size=np.array([1000, 1000]))
    np.savez(tmp_path / "face468_test_occluded.npz", **arrays)
    monkeypatch.setattr(samples, "CONFIG", dataclasses.replace(CONFIG, data_dir=tmp_path))
    s = samples.evaluate_sample("face468", "occluded", 1)
    expect = pipeline.get_lifter().lift_with_camera(pts[1], "face468", focal, principal, vis[1], fitted_shape=True)
    np.testing.assert_allclose(s.predictions["lifter+fitted"], expect, rtol=1e-5, atol=1e-3)
    # the noiseless mean face is what the basis spans: its fitted shape reads closest to the truth
    assert s.scores["lifter+fitted"]["strict"] < min(s.scores[k]["strict"] for k in ("lifter", "lifter+guessed"))
    rows = samples.sample_outputs(s)[2]
    assert [r[0] for r in rows[:4]] == ["lifter", "lifter+intrinsics", "lifter+guessed", "lifter+fitted"]


def test_hand_side_follows_mediapipe_docs() -> None:
    """MediaPipe labels hands as if the image were mirrored: in an ordinary photo "Left" is a right hand."""
    from types import SimpleNamespace as NS

    def result(label: str):
        lm = NS(landmark=[NS(x=0.3 + 0.01 * k, y=0.5 - 0.01 * k, z=0.0) for k in range(21)])
        handed = NS(classification=[NS(label=label, score=0.9)])
        return NS(multi_hand_landmarks=[lm], multi_handedness=[handed], multi_hand_world_landmarks=None)

    det = get_detectors()
    size = np.array([640.0, 480.0])
    assert det._hands(result("Left"), size, mirrored=False)[0].hand_side == "right"
    assert det._hands(result("Right"), size, mirrored=False)[0].hand_side == "left"
    assert det._hands(result("Left"), size, mirrored=True)[0].hand_side == "left"


def test_photo_depth_panel_with_and_without_a_depth_source(monkeypatch) -> None:
    """No depth source: a plain message, no numbers. A depth map (faked here): back-projected landmarks with the
    assumed intrinsics (f = 1.2 max(W, H), principal point at the centre)."""
    s = _session("cameraman.png")
    pipeline.detect_session(s, "Body")
    out = pipeline.photo_depth_lift(s)
    status = pipeline.depth_baseline()
    if status.module is None:
        assert out["points3d"] is None and "not available" in out["message"]
        return
    assert out["points3d"] is None and out["message"]                     # offline: no network weights here
    from lifter.baselines.networks import DepthEstimate

    monkeypatch.setattr(status.module, "estimate_depth",
                        lambda image, network=None: DepthEstimate(np.full(image.shape[:2], 3.0), "fake", False))
    out = pipeline.photo_depth_lift(s)
    assert out["name"] == "fake" and "1.2 x max" in out["message"] and out["units"] == "m"
    s.result = {"depth": out}
    assert pipeline.result_record(s)["column_units"]["depth"] == "m"                  # the export's depth columns
    p = out["points3d"]
    v = s.visible
    assert np.allclose(p[v, 2], 3.0)
    f = 1.2 * 512
    np.testing.assert_allclose(p[v, 0], (s.points[v, 0] - 256) / f * 3.0, rtol=1e-4, atol=1e-4)
    assert "got no depth" not in out["message"]
    monkeypatch.setattr(status.module, "estimate_depth",                  # a depth known up to scale
                        lambda image, network=None: DepthEstimate(np.full(image.shape[:2], 3.0), "fake", True))
    assert pipeline.photo_depth_lift(s)["units"] == "relative"

    def corner_only(image, network=None):                                # e.g. a network that sees a centre crop
        d = np.full(image.shape[:2], np.nan)
        d[:10, :10] = 3.0
        return DepthEstimate(d, "corner", False)

    monkeypatch.setattr(status.module, "estimate_depth", corner_only)
    out = pipeline.photo_depth_lift(s)
    shown = int(s.visible.sum())
    assert f"{shown} of the {shown} visible landmarks got no depth" in out["message"]
    from app.handlers import image_panels

    s.result = {"points3d": np.zeros((len(s.points), 3)), "depth": out, "reference3d": None}
    assert image_panels(s)[1].message.startswith("0 landmarks got a depth from corner: too few to show.")


def test_summary_rows_name_the_shipped_variants_apart(tmp_path: Path, monkeypatch) -> None:
    """The whole split's summary shortens the shipped lifter's sentence-long label, so that its variants (without
    mirror averaging, with the intrinsics, ...) read apart in a narrow table; the note gives the label in full."""
    from lifter.evaluate import SHIPPED

    rows = [{"method": SHIPPED + suffix, "category": "hand21", "setting": "clean", "strict": 6.0 + k,
             "flip_best": 6.0 + k, "units": "mm", "mirrored_share": 0.0}
            for k, suffix in enumerate(("", ", without mirror averaging", ", with the camera intrinsics"))]
    rows.append({"method": "flat (zero depth)", "category": "hand21", "setting": "clean", "strict": 19.0,
                 "flip_best": 19.0, "units": "mm"})
    rows.append({"method": "depth-based (no surface: not applicable)", "category": "hand21", "setting": "clean",
                 "strict": None, "flip_best": None, "units": "mm", "mirrored_share": None})   # as chairs' rows
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "evaluate.json").write_text(json.dumps({"results": rows}))
    monkeypatch.setattr(samples, "CONFIG", dataclasses.replace(CONFIG, results_dir=tmp_path / "results"))
    table, png, note = samples.summary_for("hand21")
    assert [r[0] for r in table] == ["lifter (shipped)", "lifter (shipped), without mirror averaging",
                                     "lifter (shipped), with the camera intrinsics", "flat (zero depth)",
                                     "depth-based (no surface: not applicable)"]
    assert table[-1][2:] == [None, None, "mm", None]        # not applicable: no figures (the tab failed on chairs)
    from app.handlers import shown_table

    shown = shown_table(table, samples.SUMMARY_COLUMNS).to_html()
    assert "n/a" in shown and "19.00" in shown
    assert png is None and SHIPPED in note


def test_benchmark_tables_show_fixed_digits_and_keep_numbers() -> None:
    """The Benchmark tab's tables show 40.00 beside 40.34 (not 40), and still hold numbers to sort by."""
    import gradio as gr

    from app.handlers import shown_table

    rows = [["lifter (shipped)", "clean", 40.0, 40.0, "mm", 0.0], ["flat", "clean", 101.234, 99.5, "mm", 12.25]]
    shown = gr.Dataframe(headers=list(samples.SUMMARY_COLUMNS), interactive=False).postprocess(
        shown_table(rows, samples.SUMMARY_COLUMNS))
    assert shown.metadata["display_value"] == [["lifter (shipped)", "clean", "40.00", "40.00", "mm", "0.0"],
                                               ["flat", "clean", "101.23", "99.50", "mm", "12.2"]]
    assert shown.data[1][2] == 101.234
    errors = shown_table([["lifter", 22.9, 22.9, "mm", "no"]], samples.ERROR_COLUMNS)
    assert errors.data.columns.tolist() == list(samples.ERROR_COLUMNS)
    assert shown_table([], samples.SUMMARY_COLUMNS).data.empty


def test_the_depth_panel_says_in_short_what_the_note_says_in_full() -> None:
    from app.handlers import panel_note

    full = ("No depth source available for photos: depth network 'x' is not available: its weights are not in the "
            "cache. Elsewhere: download them.")
    assert panel_note(full) == "No depth source available for photos. Details below the views."
    assert panel_note("Depth baseline not available yet (the module is missing).") == \
        "Depth baseline not available yet (the module is missing)."


def test_error_colour_scales_sit_between_the_3d_views() -> None:
    """Each panel's colour scale lies in the gap after its own view, not over the next view's axes."""
    from app.figures import Layer, Panel, views_figure

    pts = np.random.default_rng(0).normal(size=(17, 3))
    panels = [Panel(f"p{k}", [Layer(pts, f"m{k}", "#1f77b4", marker_values=np.arange(17.0), values_label="mm")])
              for k in range(5)]
    fig = views_figure(panels, "human17")
    scenes = [fig.layout["scene" if k == 0 else f"scene{k + 1}"].domain.x for k in range(5)]
    bars = [t.marker.colorbar.x for t in fig.data if t.marker is not None and t.marker.showscale]
    assert len(bars) == 5
    for k, x in enumerate(bars):
        assert scenes[k][1] < x and (k == 4 or x < scenes[k + 1][0]), (k, x, scenes)


def test_the_api_tab_offers_an_example_of_each_category_it_can() -> None:
    """Its JSON boxes cannot be edited in the page: a category change puts that category's example in them."""
    from app.handlers import api_example_points, api_lift_points

    body = [[500, 300]] * 17
    points, visible = api_example_points("human17", body)
    assert points["value"] == body and visible["value"] is None
    points, _ = api_example_points("hand21", body)                 # hands: made here when data/ is not built
    assert len(points["value"]) == 21
    assert len(api_lift_points(points["value"], "hand21")["points3d"]) == 21


def test_a_samples_depth_oracle_is_read_as_the_benchmark_reads_it() -> None:
    """The Benchmark tab's depth baseline of a sample scores as ``python -m lifter.evaluate``'s depth oracle row
    scores that view (the map at half size, the minimum over 3 x 3 pixels): it had read a full-size map
    bilinearly, 48.8 against the table's 54.4 mm for a body."""
    from app.config import CONFIG
    from lifter.baselines.benchmark import DepthBenchmarkConfig, depth_rows

    if not (CONFIG.data_dir / "hand21_test.npz").is_file():
        pytest.skip("no hand21 test file in data/ (python -m lifter.data build)")
    rows = depth_rows(CONFIG.data_dir, ["hand21"], noise_levels=(0.0,), progress=False,
                      config=DepthBenchmarkConfig(max_views=1, backdrop_row=False))       # view 0 alone
    table = next(r["strict"] for r in rows if r["setting"] == "clean")
    s = samples.evaluate_sample("hand21", "clean", 0, 0.0)
    app = next(v["strict"] for k, v in s.scores.items() if k.startswith("depth"))
    assert app == pytest.approx(table, rel=1e-6)


def test_a_chair_sample_says_why_it_has_no_depth_baseline() -> None:
    if "chair" not in samples.available_categories():
        pytest.skip("no chair test file in data/ (python -m lifter.data build)")
    s = samples.evaluate_sample("chair", "clean", 0)
    _, fig, rows, _, jpath, cpath = samples.sample_outputs(s)
    assert [r[0] for r in rows] == ["lifter", "lifter+intrinsics", "lifter+guessed"]
    said = " ".join(str(a.text) for a in fig.layout.annotations)
    assert "not for chairs" in said, said
    header = next(csv.reader(open(cpath)))
    assert "ground_truth_x [shapenet]" in header and "lifter_x [px]" in header


def test_a_chairs_absent_landmarks_are_neither_drawn_nor_scored_zero() -> None:
    """A swivel chair has no armrests or four legs: the aligned predictions show only the landmarks the chair
    has (they had drawn all 21, the absent ones coloured as error 0), and the per-landmark bars leave the absent
    ones empty instead of 0."""
    if "chair" not in samples.available_categories():
        pytest.skip("no chair test file in data/ (python -m lifter.data build)")
    source = samples.sample_source("chair", "clean")
    index = next(i for i in range(source.count) if not samples.load_sample("chair", "clean", i).present.all())
    s = samples.evaluate_sample("chair", "clean", index)
    _, fig, _, bars, _, _ = samples.sample_outputs(s)
    present = int(s.present.sum())
    markers = [t for t in fig.data if t.mode == "markers"]
    assert markers and all(len(t.x) == present for t in markers)
    for bar in bars.data:
        y = list(bar.y)
        assert sum(v is None for v in y) == len(y) - present and all(v > 0 for v in y if v is not None)


def test_benchmark_controls_clear_the_old_sample_and_say_when_a_value_is_brought_into_range(monkeypatch) -> None:
    import gradio as gr

    from app import handlers

    warned = []
    monkeypatch.setattr(gr, "Warning", lambda message: warned.append(message))
    count = samples.sample_source("hand21", "clean").count
    out = handlers.on_bench_category("hand21", "occluded", 3)
    assert out[0]["value"] == 3 and out[5:] == (None,) * 6            # the sample kept, its old outputs cleared
    assert handlers.on_bench_category("hand21", "clean", count + 5)[0]["value"] == 0
    shown = handlers.on_bench_sample("hand21", "clean", count + 5, 0.5)
    assert shown[6:] == (count - 1, handlers.MAX_ABSREL) and len(warned) == 2
    assert f"showing sample {count - 1}" in warned[0] and "using 0.2" in warned[1]
    assert "(AbsRel 0.20)" in " ".join(map(str, shown[2].data["method"]))
    assert handlers.on_bench_sample("hand21", "clean", 2.7, 0.0)[6] == 3 and "showing sample 3" in warned[2]
