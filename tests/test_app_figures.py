"""The app's drawings checked by what they show: landmarks at their scaled pixels and only where visible, the
re-projection's rings, labels for the small categories only; the 3D views' axes ("up" up, looking from the
camera), side-by-side scaling, one legend entry per method, a layer's own colour and dash, titles and messages
in their own panel."""

from __future__ import annotations

import numpy as np
import pytest

from app.figures import (DEFAULT_EYE, REPROJECT_COLOUR, Layer, Panel, _rgb, _wrap, draw_landmarks, normalise,
                         panel_title, points_image, views_figure)

BLACK = np.zeros((200, 200, 3), np.uint8)
BIG = np.zeros((700, 700, 3), np.uint8)            # drawn at scale 1: landmarks of radius 5 px


def _one_landmark(at: tuple[float, float], hidden_at: tuple[float, float] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """human17 points with landmark 0 visible at ``at`` and landmark 1 hidden at ``hidden_at`` (finite) or NaN."""
    pts = np.full((17, 2), np.nan)
    vis = np.zeros(17, bool)
    pts[0], vis[0] = at, True
    if hidden_at is not None:
        pts[1] = hidden_at
    return pts, vis


def _lit(image: np.ndarray, xy: tuple[int, int], r: int = 3) -> bool:
    x, y = xy
    return bool(image[y - r:y + r + 1, x - r:x + r + 1].any())


def test_landmarks_are_drawn_at_their_scaled_pixels_and_only_where_visible() -> None:
    pts, vis = _one_landmark((100.0, 60.0), hidden_at=(150.0, 150.0))
    out = draw_landmarks(BLACK, pts, vis, "human17", factor=0.5, labels=False)
    assert _lit(out, (50, 30)) and not _lit(out, (100, 60), r=10)          # original px x 0.5
    assert not _lit(out, (75, 75), r=10)                                    # the hidden landmark is not drawn
    assert not BLACK.any()                                                  # drawn on a copy


def test_the_reprojection_is_drawn_as_rings_at_its_scaled_pixels() -> None:
    pts, vis = _one_landmark((20.0, 20.0))
    reproj = np.full((17, 2), np.nan)
    reproj[3] = (240.0, 240.0)                      # a landmark missing in 2D still has its re-projection
    out = draw_landmarks(BIG, pts, vis, "human17", factor=0.5, labels=False, reprojected=reproj)
    ring = out[105:136, 105:136]                    # around (120, 120)
    assert (ring[..., 2] > 100).any() and not ring[..., 0].any()           # cyan (0, 200, 255): no red
    assert not ring[12:19, 12:19].any()                                     # hollow
    assert REPROJECT_COLOUR[0] == 0


def test_names_are_written_for_skeletons_not_for_face_meshes() -> None:
    pts, vis = _one_landmark((60.0, 100.0))
    assert not np.array_equal(draw_landmarks(BLACK, pts, vis, "human17"),
                              draw_landmarks(BLACK, pts, vis, "human17", labels=False))
    face = np.full((468, 2), np.nan)
    face[:50] = np.random.default_rng(0).uniform(40, 160, (50, 2))
    fvis = np.isfinite(face).all(-1)
    np.testing.assert_array_equal(draw_landmarks(BLACK, face, fvis, "face468"),
                                  draw_landmarks(BLACK, face, fvis, "face468", labels=False))


def test_the_first_landmark_can_be_the_selected_one() -> None:
    pts, vis = _one_landmark((100.0, 100.0))
    plain = draw_landmarks(BIG, pts, vis, "human17", labels=False)
    ringed = draw_landmarks(BIG, pts, vis, "human17", labels=False, selected=0)
    assert _lit(ringed, (100, 85), r=1) and not _lit(plain, (100, 85), r=1)   # the ring, 3 radii out


def test_a_small_benchmark_canvas_is_not_enlarged() -> None:
    pts, vis = _one_landmark((10.0, 10.0))
    assert points_image(pts, vis, "human17", (100, 80)).shape == (80, 100, 3)
    assert points_image(pts, vis, "human17", (1280, 960)).shape == (480, 640, 3)


def test_normalise_centres_and_scales_on_the_masked_finite_landmarks() -> None:
    p = np.array([[1.0, 0, 0], [-1.0, 0, 0], [0, 3.0, 0], [100.0, 100.0, 100.0], [np.nan, 0, 0]])
    mask = np.array([True, True, True, False, True])
    q = normalise(p, mask)
    kept = q[:3]
    np.testing.assert_allclose(kept.mean(0), 0, atol=1e-12)
    assert np.sqrt((kept ** 2).sum(-1).mean()) == pytest.approx(1.0)       # unit RMS radius
    c = np.array([0.0, 1.0, 0.0])
    r = np.sqrt((((p[:3] - c) ** 2).sum(-1)).mean())
    np.testing.assert_allclose(q[3], (p[3] - c) / r)                       # moved with them, not counted
    assert not np.allclose(normalise(p[:4])[:3], kept)                     # no mask: the 4th counts


def test_the_3d_view_shows_up_as_up_and_looks_from_the_camera() -> None:
    """Camera frame (x right, y down, z away) -> Plotly (x, depth = z, up = -y); the starting eye on the camera's
    side of the subject (negative depth), Plotly's z up."""
    pts = np.zeros((17, 3))
    pts[0] = (1.0, 2.0, 3.0)
    fig = views_figure([Panel("p", [Layer(pts, "prediction")])], "human17")
    markers = [t for t in fig.data if t.mode == "markers"][0]
    assert (markers.x[0], markers.y[0], markers.z[0]) == (1.0, 3.0, -2.0)
    cam = fig.layout.scene.camera
    assert cam.up.z == 1 and cam.eye.y == DEFAULT_EYE["y"] < 0
    assert fig.layout.scene.aspectmode == "data"                            # true proportions, not a cube


def test_each_method_has_one_legend_entry_and_its_own_colour_and_dash() -> None:
    pts = np.random.default_rng(1).normal(size=(17, 3))
    gt = Layer(pts, "ground truth", colour="#d62728", dash=True)
    pred = Layer(pts + 0.1, "prediction")
    fig = views_figure([Panel("a", [gt, pred]), Panel("b", [gt, pred])], "human17")
    shown = [t.name for t in fig.data if t.showlegend]
    assert sorted(shown) == ["ground truth", "prediction"]
    gt_lines = [t for t in fig.data if t.mode == "lines" and t.legendgroup == "ground truth"]
    assert gt_lines and all(t.line.color == "#d62728" and t.line.dash == "dash" for t in gt_lines)
    gt_markers = [t for t in fig.data if t.mode == "markers" and t.name == "ground truth"]
    assert all(t.marker.color == "#d62728" for t in gt_markers)
    pred_lines = [t for t in fig.data if t.mode == "lines" and t.legendgroup == "prediction"]
    assert len({t.line.color for t in pred_lines}) > 1 and all(t.line.dash == "solid" for t in pred_lines)


def test_error_markers_start_their_colour_scale_at_zero() -> None:
    pts = np.random.default_rng(2).normal(size=(17, 3))
    layer = Layer(pts, "prediction", marker_values=np.linspace(5.0, 20.0, 17), values_label="mm")
    markers = [t for t in views_figure([Panel("p", [layer])], "human17").data if t.mode == "markers"][0]
    assert markers.marker.cmin == 0 and markers.marker.showscale


def test_a_panels_message_sits_over_its_own_panel() -> None:
    fig = views_figure([Panel("a"), Panel("b"), Panel("c", message="no depth for this sample")], "human17")
    note = [a for a in fig.layout.annotations if "no depth" in a.text][0]
    assert note.x == pytest.approx(5 / 6)


def test_titles_and_wrapping_at_their_widths() -> None:
    assert panel_title("method: 12.3 mm", 15) == "method: 12.3 mm"          # exactly the width: one line
    long_value = "depth: " + "an error figure far too long for one line"
    assert all(len(line) <= 20 for line in panel_title(long_value, 20).split("<br>"))
    assert _wrap("aaaa bbbb", 9) == "aaaa bbbb" and _wrap("aaaa bbbbb", 9) == "aaaa<br>bbbbb"
    titles = [f"method {k}: 123.45 mm" for k in range(7)]                  # 19 characters, 7 panels
    fig = views_figure([Panel(t) for t in titles], "human17")
    assert len(titles[0]) == 19 and [a.text for a in fig.layout.annotations] == titles   # 20 characters a panel


def test_hex_colours_convert_to_rgb() -> None:
    assert _rgb("#d62728") == (214, 39, 40) and _rgb("1f77b4") == (31, 119, 180)
