"""The depth rows of the benchmark (on a tiny data folder made here) and the error-vs-noise plot."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from data_files import write_test_files

from lifter.baselines.benchmark import (NOT_APPLICABLE, DepthBenchmarkConfig, crossover, depth_rows,
                                        load_intrinsics, plot_error_vs_noise, view_subset)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    from lifter.data.hand import sample_hands

    out = tmp_path_factory.mktemp("data")
    hands, _ = sample_hands(12, np.random.default_rng(0))
    write_test_files(out, "hand21", hands, np.ones(hands.shape[:2], bool), 1)
    rng = np.random.default_rng(2)
    chairs = rng.normal(size=(4, 21, 3)).astype(np.float32)
    present = rng.random((4, 21)) < 0.7
    present[:, :4] = True
    write_test_files(out, "chair", np.where(present[..., None], chairs, np.nan), present, 3)
    return out


def test_depth_rows_format_and_sanity(tiny_data: Path) -> None:
    from lifter.evaluate import score
    from lifter.views import TestSet

    cfg = DepthBenchmarkConfig(render_scale=0.25, max_views=10)
    rows = depth_rows(tiny_data, ("hand21", "chair"), noise_levels=(0.0, 0.05, 0.10), progress=False, config=cfg)
    hand = [r for r in rows if r["category"] == "hand21"]
    chair = [r for r in rows if r["category"] == "chair"]
    assert [r["method"] for r in hand if r["setting"] == "clean"] == [
        "depth oracle (rendered)", "depth oracle + backdrop (0 %)", "depth, noisy AbsRel 5 %",
        "depth, noisy AbsRel 10 %"]
    assert {r["setting"] for r in hand} == {"clean", "occluded"}
    gt = np.random.default_rng(0).normal(size=(1, 21, 3))
    ones = np.ones((1, 21), bool)
    score_keys = set(score(gt + 0.1, TestSet("hand21", "clean", np.zeros((1, 21, 2)), ones, ones, gt)))
    for r in hand:
        assert {"method", "category", "setting", "units", "seconds"} | score_keys <= set(r)
        assert r["units"] == "mm" and r["views"] == 10 and r["views_total"] == 12 and r["applicable"]
        assert all(math.isfinite(r[k]) for k in ("strict", "flip_best", "median_strict", "mirrored_share"))
        json.dumps(r, allow_nan=False)                                   # NaN-free, serialisable
    by = {(r["method"], r["setting"]): r["strict"] for r in hand}
    # The oracle is the best depth; noise makes it worse; hiding landmarks makes it worse.
    assert by[("depth oracle (rendered)", "clean")] < by[("depth, noisy AbsRel 10 %", "clean")]
    assert by[("depth oracle (rendered)", "clean")] < by[("depth oracle (rendered)", "occluded")]
    # Joints inside ~1 cm capsules, seen through the surface: errors of the order of the radii, not more.
    assert 2.0 < by[("depth oracle (rendered)", "clean")] < 30.0
    occ = [r for r in hand if r["setting"] == "occluded"]
    assert all(0.1 < r["filled_share"] < 0.3 for r in occ)
    # Chairs: a note row per setting, no NaN anywhere.
    assert [r["method"] for r in chair] == [NOT_APPLICABLE, NOT_APPLICABLE]
    for r in chair:
        assert not r["applicable"] and r["strict"] is None and r["views"] == 0 and "no surface" in r["note"]
        json.dumps(r, allow_nan=False)


def test_depth_rows_are_reproducible(tiny_data: Path) -> None:
    cfg = DepthBenchmarkConfig(render_scale=0.25, max_views=4, backdrop_row=False)
    a = depth_rows(tiny_data, ("hand21",), noise_levels=(0.0, 0.05), progress=False, config=cfg)
    b = depth_rows(tiny_data, ("hand21",), noise_levels=(0.0, 0.05), progress=False, config=cfg)
    assert [r["strict"] for r in a] == [r["strict"] for r in b]


def test_intrinsics_and_view_subset(tiny_data: Path) -> None:
    cams = load_intrinsics(tiny_data, "hand21", "occluded")
    assert cams["focal"].shape == (12,) and cams["principal"].shape == (12, 2)
    assert cams["image_size"].tolist() == [1000, 1000]
    assert load_intrinsics(tiny_data, "face468", "clean") is None
    assert view_subset(10, None).tolist() == list(range(10))
    sub = view_subset(1760, 500)
    assert len(sub) == 500 and sub[0] == 0 and sub[-1] == 1759 and (np.diff(sub) > 0).all()


def test_crossover_interpolates_and_reports_out_of_range() -> None:
    lv = [0.0, 0.01, 0.03, 0.05, 0.10]
    c = crossover(lv, [10, 12, 16, 20, 30], 18.0)
    assert c["status"] == "crossing" and c["absrel"] == pytest.approx(0.04)
    assert crossover(lv, [10, 12, 16, 20, 30], 5.0)["status"] == "below"
    above = crossover(lv, [10, 12, 16, 20, 30], 40.0)
    assert above["status"] == "above" and above["absrel"] is None and "10 %" in above["text"]


def test_plot_writes_png_html_and_crossovers(tmp_path: Path) -> None:
    from PIL import Image

    rows = []
    for cat, units, base in (("human17", "mm", 50.0), ("face468", "%", 20.0)):
        for setting, extra in (("clean", 0.0), ("occluded", 30.0)):
            for a in (0.0, 0.01, 0.03, 0.05, 0.10):
                rows.append({"method": "depth", "category": cat, "setting": setting, "units": units,
                             "strict": base + extra + 1000 * a, "absrel": a, "applicable": True})
            rows.append({"method": "lifter", "category": cat, "setting": setting, "units": units,
                         "strict": base + 40.0})
    rows += [{"method": NOT_APPLICABLE, "category": "chair", "setting": "clean", "units": "%", "strict": None,
              "absrel": None, "applicable": False}]
    out = plot_error_vs_noise(rows, "lifter", tmp_path / "plots")
    assert out["crossover"]["human17"]["clean"]["absrel"] == pytest.approx(0.04)
    assert out["crossover"]["human17"]["occluded"]["absrel"] == pytest.approx(0.01)
    assert set(out["crossover"]) == {"human17", "face468"}
    img = Image.open(out["png"])
    assert img.size[0] >= 800 and img.size[1] >= 300
    px = np.asarray(img.convert("RGB"))
    assert (px == [31, 119, 180]).all(-1).sum() > 200 and (px == [214, 39, 40]).all(-1).sum() > 200   # curves
    html = Path(out["html"]).read_text()
    assert "plotly" in html.lower() and "depth-based, clean" in html
    assert json.loads(Path(out["json"]).read_text())["crossover"]["face468"]["clean"]["status"] == "crossing"
    # the shipped lifter's paragraph-long label is written short in the chart (the crossovers' JSON keeps it)
    from lifter.evaluate import SHIPPED

    shipped = plot_error_vs_noise([dict(r, method=SHIPPED) if r["method"] == "lifter" else r for r in rows], SHIPPED,
                                  tmp_path / "shipped")
    html = Path(shipped["html"]).read_text()
    assert "reference: lifter (shipped)" in html and SHIPPED not in html
    assert json.loads(Path(shipped["json"]).read_text())["lifter"] == SHIPPED
    # one category: the legend wraps to a second row inside the narrow chart (the lifter's entries were drawn
    # beyond its right edge); chairs alone have no depth figures: nothing is drawn or written
    one = plot_error_vs_noise([r for r in rows if r["category"] == "human17"], "lifter", tmp_path / "one")
    legend = np.asarray(Image.open(one["png"]).convert("RGB"))[34 + 330:]
    assert (legend == [214, 39, 40]).all(-1).sum() > 20                     # the lifter's legend lines are drawn
    chairs = plot_error_vs_noise([r for r in rows if r["category"] == "chair"], "lifter", tmp_path / "chairs")
    assert chairs == {"png": None, "html": None, "json": None, "crossover": {}} and not (tmp_path / "chairs").exists()


def test_fill_invalid_completes_every_landmark() -> None:
    from lifter.baselines import backproject_landmarks
    from lifter.baselines.lift import fill_invalid

    depth = np.full((2, 50, 60), np.inf, dtype=np.float32)
    depth[0, :, 30:] = 200.0                                 # view 0: right half has a surface; view 1: none
    p2 = np.array([[[40.0, 10], [45, 20], [10, 10], [np.nan, np.nan]]] * 2)
    vis = np.isfinite(p2).all(-1)
    k = np.array([[100.0, 100.0, 30.0, 25.0]] * 2)
    bp = backproject_landmarks(p2, depth, k, visible=vis)
    assert bp.valid.tolist() == [[True, True, False, False], [False] * 4]
    full = fill_invalid(bp, p2, k)
    assert np.isfinite(full).all()
    np.testing.assert_allclose(full[0, :2], bp.points3d[0, :2], rtol=1e-6)
    assert full[0, 2, 2] == pytest.approx(200.0)             # 2D known, no surface: the median depth
    np.testing.assert_allclose(full[0, 3], bp.points3d[0, :2].mean(0), rtol=1e-5)   # no 2D: the centroid
    assert np.ptp(full[1, :3, 2]) == 0                       # no valid landmark: flat, one common depth


def test_fill_invalid_puts_a_hidden_landmark_at_the_centroid_whatever_its_2d() -> None:
    """A landmark marked not visible is ignored by the back-projection, and so by the fill: it goes to the valid
    landmarks' centroid even when its 2D is finite (it had landed on its own 2D ray)."""
    from lifter.baselines import backproject_landmarks
    from lifter.baselines.lift import fill_invalid

    depth = np.full((1, 50, 60), 200.0, dtype=np.float32)
    p2 = np.array([[[40.0, 10], [45, 20], [10, 10], [55, 45]]])
    vis = np.array([[True, True, True, False]])
    k = np.array([[100.0, 100.0, 30.0, 25.0]])
    bp = backproject_landmarks(p2, depth, k, visible=vis)
    full = fill_invalid(bp, p2, k, vis)
    np.testing.assert_allclose(full[0, 3], bp.points3d[0, :3].mean(0), rtol=1e-5)
    assert not np.allclose(fill_invalid(bp, p2, k)[0, 3], full[0, 3])       # without visible: its finite 2D
