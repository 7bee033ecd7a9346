"""The depth-based rows of the benchmark and the error-vs-depth-noise plot.

``python -m lifter.evaluate`` calls :func:`depth_rows` and then :func:`plot_error_vs_noise`. Protocol of the
depth-based baseline (the same test files, metric and table as the lifter):

- **Depth**: for every test view, the oracle depth map rendered around its ground truth under its camera
  (:mod:`lifter.baselines.render`), then the same map degraded to each noise level (AbsRel 1, 3, 5, 10 %, the
  error model of :mod:`lifter.baselines.noise`; 0 % is the oracle). The noise of a (view, level) is seeded by
  ``seed``, the category, the level and the view index, so clean and occluded read the *same* noisy map.
- **Resolution**: maps are rendered at ``render_scale`` x the protocol's 1000 x 1000 px (default 0.5: 500 x
  500 px) with the intrinsics scaled by the half-pixel rule (``f' = s f``, ``c' = (c + 0.5) s - 0.5``) and the
  landmarks mapped alike, so the rays, hence the 3D, are those of the full-resolution camera; only the depth
  map's sampling is coarser (one pixel = 2 px of the protocol image).
- **Read-out**: the minimum depth over the 3 x 3 pixels of the map around each observed 2D landmark (the
  data's noisy ``points2d``; 6 x 6 px of the protocol image), back-projected with the view's intrinsics
  (:func:`lifter.baselines.backproject_landmarks`). The front surface: robust to the flying pixels a depth map
  has at silhouettes (a landmark on an outline reading a blend with the background), which gives depth-based
  lifting its best fair shot; plain bilinear read-out changes the oracle rows by a few per cent (human17 clean
  65 vs 68 mm on 100 views) but lets the outline landmarks of faces read the backdrop (face468 clean at 0 %
  with backdrop: 61 vs 42 %).
- **Missing landmarks** (a prediction is scored on every present landmark, like the lifter's): a landmark with 2D
  but no depth (it fell off the surface) is back-projected at the median depth of the view's valid landmarks;
  one without 2D (occluded in the ``occluded`` setting) is placed at the centroid of the valid ones, as the
  ``flat`` reference does. Depth maps cannot see a hidden landmark: this is the occlusion setting's point. The
  share of filled landmarks is reported per row (``filled_share``).
- **Views**: at most ``max_views`` per test file (default 500), evenly spaced over the file; the row's ``views``
  says how many were scored (``views_total``: the file's count).
- **Oracle + backdrop**: one more row per setting, ``depth oracle + backdrop (0 %)``: the oracle with step 1 of
  the error model alone (a wall behind the subject, no blur, no noise), which separates the silhouette effect
  (landmarks at the outline read a blend with the background, as in any real depth map) from the noise. It is in
  the table, not on the plot's curve (``"variant": "backdrop"``).
- **Chairs**: KeypointNet has no surface, so there is no depth to render: :func:`depth_rows` returns one note row
  per setting with ``"applicable": False``, ``strict``/``flip_best``/``mirrored_share``/``median_strict`` None,
  empty per-landmark lists and ``views`` 0 (no NaN anywhere).

Every row carries the keys of ``lifter.evaluate.evaluate()``'s rows (``method``, ``category``, ``setting``,
``units``, the ``score`` fields, ``seconds``) plus ``absrel`` (the noise level as a fraction), ``variant``
(None, or ``"backdrop"``), ``applicable``,
``filled_share``, ``views_total``, ``render_size`` and, for chairs, ``note``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lifter.baselines.backproject import backproject_landmarks
from lifter.baselines.lift import fill_invalid, scaled_camera
from lifter.baselines.noise import DepthNoiseConfig, add_backdrop, add_depth_noise
from lifter.baselines.render import SURFACE_CATEGORIES, render_depth

NOISE_LEVELS = (0.0, 0.01, 0.03, 0.05, 0.10)
NOT_APPLICABLE = "depth-based (no surface: not applicable)"
BACKDROP = -1.0                        # pseudo level: the oracle with the error model's backdrop, no noise


@dataclass(frozen=True)
class DepthBenchmarkConfig:
    """Settings of the depth-based rows (defaults: the benchmark's)."""

    render_scale: float = 0.5          # depth maps at this fraction of the protocol's image size
    max_views: int | None = 500        # views per test file (evenly spaced); None: all
    window: int = 3                    # depth read-out window, pixels of the rendered map
    statistic: str = "min"             # bilinear | median | min (min: the front surface, see the docstring)
    backdrop_row: bool = True          # also score the oracle + backdrop (step 1 of the error model alone)
    noise: DepthNoiseConfig = DepthNoiseConfig()


def method_label(absrel: float) -> str:
    """Row label of a noise level: the oracle at 0, else ``depth, noisy AbsRel 3 %``."""
    if absrel == BACKDROP:
        return "depth oracle + backdrop (0 %)"
    return "depth oracle (rendered)" if absrel == 0 else f"depth, noisy AbsRel {100 * absrel:g} %"


def load_intrinsics(data: Path, category: str, setting: str) -> dict[str, np.ndarray] | None:
    """Cameras of one test file: ``focal (B,)``, ``principal (B, 2)``, ``image_size (2,)`` (W, H), or None."""
    from lifter.views import SETTINGS

    path = Path(data) / f"{category}_{SETTINGS[setting]}.npz"
    if not path.exists():
        return None
    with np.load(path) as f:
        return {"focal": f["camera_focal"].astype(np.float64), "principal": f["camera_principal"].astype(np.float64),
                "image_size": f["image_size"].astype(np.int64)}


def view_subset(count: int, max_views: int | None) -> np.ndarray:
    """Indices of at most ``max_views`` views evenly spaced over ``count`` (all when None or enough)."""
    if max_views is None or count <= max_views:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, max_views).round().astype(np.int64))


def _view_rng(seed: int, category: str, level: int, view: int) -> np.random.Generator:
    key = [SURFACE_CATEGORIES.index(category), level, view]
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _not_applicable_rows(category: str) -> list[dict]:
    from lifter.evaluate import METRIC_UNITS
    from lifter.views import SETTINGS

    note = (f"{category}: no surface model (KeypointNet gives keypoints only), so there is no depth map to read: "
            "depth-based lifting does not apply")
    return [{"method": NOT_APPLICABLE, "category": category, "setting": s, "units": METRIC_UNITS[category],
             "strict": None, "flip_best": None, "mirrored_share": None, "median_strict": None,
             "strict_pct_radius": None, "per_landmark": [],
             "per_landmark_flip_best": [], "views": 0, "seconds": 0.0, "absrel": None, "applicable": False,
             "filled_share": None, "views_total": 0, "render_size": None, "note": note} for s in SETTINGS]


def depth_rows(data: Path, categories, noise_levels=NOISE_LEVELS, progress: bool = True, seed: int = 0,
               config: DepthBenchmarkConfig = DepthBenchmarkConfig()) -> list[dict]:
    """Depth-based rows (oracle and each noise level) for every category with a surface, clean and occluded.

    Args:
        data: folder of the built test files (``{category}_test.npz``, ``{category}_test_occluded.npz``).
        categories: categories to run; those without a surface (``chair``) get a note row per setting.
        noise_levels: AbsRel fractions; 0 is the oracle.
        progress: print one line per row, like ``lifter.evaluate``.
        seed: seed of the depth noise.
    Returns:
        Rows in the format of ``lifter.evaluate.evaluate()``'s (see the module docstring for the extra keys).
    """
    from lifter.evaluate import METRIC_UNITS, score
    from lifter.views import SETTINGS, TestSet, load_test_set

    levels = [float(a) for a in noise_levels]
    if config.backdrop_row and 0.0 in levels:
        levels.insert(levels.index(0.0) + 1, BACKDROP)
    rows: list[dict] = []
    for category in categories:
        if category not in SURFACE_CATEGORIES:
            if any(load_test_set(data, category, s) is not None for s in SETTINGS):
                rows.extend(_not_applicable_rows(category))
                if progress:
                    print(f"{category:8} {'':8} {NOT_APPLICABLE}")
            continue
        tests = {s: load_test_set(data, category, s) for s in SETTINGS}
        tests = {s: t for s, t in tests.items() if t is not None}
        if not tests:
            continue
        cams = {s: load_intrinsics(data, category, s) for s in tests}
        first = next(iter(tests))
        count = len(tests[first].points3d)
        for s, t in tests.items():
            if len(t.points3d) != count:
                raise ValueError(f"{category}: the test files differ in view count ({count} vs {len(t.points3d)})")
        idx = view_subset(count, config.max_views)
        # Settings that show the same views (same cameras and ground truth) share the depth maps.
        same = {s: bool(np.array_equal(cams[s]["focal"], cams[first]["focal"])
                        and np.allclose(tests[s].points3d, tests[first].points3d, equal_nan=True)) for s in tests}
        size = cams[first]["image_size"]
        sc = config.render_scale
        preds = {(s, li): np.full((len(idx),) + tests[s].points3d.shape[1:], np.nan) for s in tests
                 for li in range(len(levels))}
        filled = {(s, li): 0 for s in tests for li in range(len(levels))}
        seconds = {li: 0.0 for li in range(len(levels))}
        for row_i, v in enumerate(idx):
            maps: dict[str, np.ndarray] = {}
            for s in tests:
                src = first if same[s] else s
                started = time.perf_counter()
                if src not in maps:
                    t, c = tests[src], cams[src]
                    f, pp, _, rsize = scaled_camera(c["focal"][v], c["principal"][v], t.points2d[v], size, sc)
                    maps[src] = render_depth(category, t.points3d[v], t.present[v], f, pp, rsize)
                seconds[levels.index(0.0) if 0.0 in levels else 0] += time.perf_counter() - started
            for li, level in enumerate(levels):
                noisy: dict[str, np.ndarray] = {}
                for s in tests:
                    started = time.perf_counter()
                    src = first if same[s] else s
                    if src not in noisy:
                        if level == BACKDROP:
                            noisy[src] = add_backdrop(maps[src], config.noise.backdrop_factor)
                        elif level == 0:
                            noisy[src] = maps[src]
                        else:
                            noisy[src] = add_depth_noise(maps[src], level, _view_rng(seed, category, li, int(v)),
                                                         config.noise)
                    c, t = cams[s], tests[s]
                    f, (cx, cy), p2, _ = scaled_camera(c["focal"][v], c["principal"][v], t.points2d[v], size, sc)
                    bp = backproject_landmarks(p2[None], noisy[src][None], np.array([[f, f, cx, cy]]),
                                               t.visible[v][None], window=config.window,
                                               statistic=config.statistic)
                    full = fill_invalid(bp, p2[None], np.array([[f, f, cx, cy]]), t.visible[v][None])[0]
                    preds[(s, li)][row_i] = full
                    filled[(s, li)] += int((~bp.valid[0] & t.present[v]).sum())
                    seconds[li] += time.perf_counter() - started
        for s, t in tests.items():
            sub = TestSet(category, s, t.points2d[idx], t.visible[idx], t.present[idx], t.points3d[idx])
            n_present = max(int(sub.present.sum()), 1)
            for li, level in enumerate(levels):
                row = {"method": method_label(level), "category": category, "setting": s,
                       "units": METRIC_UNITS[category], **score(preds[(s, li)], sub),
                       "seconds": round(seconds[li] / len(tests), 2), "absrel": max(level, 0.0),
                       "variant": "backdrop" if level == BACKDROP else None, "applicable": True,
                       "filled_share": round(filled[(s, li)] / n_present, 4), "views_total": int(count),
                       "render_size": list(rsize)}
                rows.append(row)
                if progress:
                    print(f"{category:8} {s:8} {row['method']:42} strict {row['strict']:7.2f} "
                          f"flip-best {row['flip_best']:7.2f} {row['units']}  ({row['views']} views, "
                          f"{100 * row['filled_share']:.1f} % filled)")
    return rows


# --------------------------------------------------------------------------------------------- the plot

def _depth_curves(rows: list[dict]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """``{category: {setting: [(absrel, strict), ...]}}`` of the applicable depth rows, sorted by level."""
    curves: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for r in rows:
        if (not r.get("applicable") or r.get("absrel") is None or r.get("strict") is None
                or r.get("variant")):
            continue
        curves.setdefault(r["category"], {}).setdefault(r["setting"], []).append((float(r["absrel"]),
                                                                                  float(r["strict"])))
    for c in curves.values():
        for s in c:
            c[s].sort()
    return curves


def crossover(levels: list[float], errors: list[float], reference: float) -> dict:
    """Where the depth-based error curve reaches ``reference`` (the lifter's error), by linear interpolation.

    Returns ``{"absrel": float | None, "status": "crossing" | "below" | "above", "text": str}``: ``below`` when
    even the lowest level's error is at or above the reference (the lifter beats the best depth), ``above`` when
    every level stays below it (depth-based lifting is better over the whole range).
    """
    lv, er = np.asarray(levels, float), np.asarray(errors, float)
    if er[0] >= reference:
        return {"absrel": None, "status": "below",
                "text": f"the lifter ({reference:.1f}) beats depth-based lifting even at {100 * lv[0]:g} % "
                        f"(error {er[0]:.1f}): crossover below the range"}
    for i in range(len(lv) - 1):
        if er[i] < reference <= er[i + 1]:
            a = lv[i] + (reference - er[i]) / (er[i + 1] - er[i]) * (lv[i + 1] - lv[i])
            return {"absrel": float(a), "status": "crossing",
                    "text": f"depth-based lifting matches the lifter ({reference:.1f}) at AbsRel {100 * a:.1f} %"}
    return {"absrel": None, "status": "above",
            "text": f"depth-based lifting stays better than the lifter ({reference:.1f}) up to AbsRel "
                    f"{100 * lv[-1]:g} % (error {er[-1]:.1f}): crossover above the range"}


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not hi > lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + 1e-9 * step:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _draw_png(curves, refs, units, path: Path, title: str) -> None:
    """A line chart per category with Pillow: axes, ticks, labels, legend (matplotlib is not a dependency)."""
    from PIL import Image, ImageDraw, ImageFont

    cats = list(curves)
    pw, ph, left, right, top, bottom = 430, 330, 62, 16, 40, 52
    legend_h = 54
    img = Image.new("RGB", (max(1, len(cats)) * pw, ph + legend_h + 34), "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=13)
    small = ImageFont.load_default(size=11)
    big = ImageFont.load_default(size=15)
    d.text((10, 8), title, fill="black", font=big)
    depth_col, ref_col = (31, 119, 180), (214, 39, 40)

    def dashed(p0, p1, col, width=2, dash=8):
        (x0, y0), (x1, y1) = p0, p1
        n = max(1, int(math.hypot(x1 - x0, y1 - y0) / dash))
        for k in range(0, n, 2):
            a, b = k / n, min(1.0, (k + 1) / n)
            d.line([(x0 + a * (x1 - x0), y0 + a * (y1 - y0)), (x0 + b * (x1 - x0), y0 + b * (y1 - y0))],
                   fill=col, width=width)

    for ci, cat in enumerate(cats):
        ox, oy = ci * pw, 34
        x0, x1, y0, y1 = ox + left, ox + pw - right, oy + top, oy + ph - bottom
        xs = [a for s in curves[cat].values() for a, _ in s]
        ys = [e for s in curves[cat].values() for _, e in s] + [v for v in refs.get(cat, {}).values()]
        xlo, xhi = 0.0, max(xs) * 100 if xs else 10.0
        ylo, yhi = 0.0, max(ys) * 1.1 if ys else 1.0
        yt = _nice_ticks(ylo, yhi)
        yhi = max(yhi, yt[-1])
        X = lambda a: x0 + (100 * a - xlo) / max(xhi - xlo, 1e-9) * (x1 - x0)  # noqa: E731
        Y = lambda e: y1 - (e - ylo) / max(yhi - ylo, 1e-9) * (y1 - y0)        # noqa: E731
        for t in yt:
            d.line([(x0, Y(t)), (x1, Y(t))], fill=(230, 230, 230))
            d.line([(x0 - 4, Y(t)), (x0, Y(t))], fill="black")
            d.text((x0 - 6, Y(t)), f"{t:g}", fill="black", font=small, anchor="rm")
        for t in sorted({a for a in xs}):
            d.line([(X(t), y1), (X(t), y1 + 4)], fill="black")
            d.text((X(t), y1 + 6), f"{100 * t:g}", fill="black", font=small, anchor="mt")
        d.line([(x0, y0), (x0, y1), (x1, y1)], fill="black", width=1)
        d.text(((x0 + x1) / 2, y1 + 22), "depth noise, AbsRel (%)", fill="black", font=small, anchor="mt")
        d.text((ox + 6, y0 - 22), f"{cat}: strict error ({units.get(cat, '')})", fill="black", font=font)
        for setting, pts in curves[cat].items():
            line = [(X(a), Y(e)) for a, e in pts]
            for p, q in zip(line, line[1:]):
                (d.line([p, q], fill=depth_col, width=2) if setting == "clean" else dashed(p, q, depth_col))
            for (px, py) in line:
                d.ellipse([px - 3, py - 3, px + 3, py + 3], fill=depth_col if setting == "clean" else "white",
                          outline=depth_col)
        for setting, v in refs.get(cat, {}).items():
            (d.line([(x0, Y(v)), (x1, Y(v))], fill=ref_col, width=2) if setting == "clean"
             else dashed((x0, Y(v)), (x1, Y(v)), ref_col))
    # legend
    ly = 34 + ph + 8
    items = [("depth-based, clean", depth_col, False), ("depth-based, occluded 20 %", depth_col, True),
             ("lifter, clean", ref_col, False), ("lifter, occluded 20 %", ref_col, True)]
    lx = 20
    for label, col, dash in items:
        if lx + 40 + d.textlength(label, font=font) > img.width - 10 and lx > 20:     # a narrow chart: next row
            lx, ly = 20, ly + 22
        (dashed((lx, ly + 8), (lx + 34, ly + 8), col) if dash else d.line([(lx, ly + 8), (lx + 34, ly + 8)],
                                                                          fill=col, width=2))
        d.text((lx + 40, ly + 8), label, fill="black", font=font, anchor="lm")
        lx += 60 + int(d.textlength(label, font=font))
    img.save(path)


def plot_error_vs_noise(rows: list[dict], lifter_label: str, out_dir: Path, plotlyjs: bool | str = True) -> dict:
    """Plot the depth-based strict error against the depth noise level, with the lifter as reference lines.

    One panel per category with depth rows; x = AbsRel (%), y = strict error (clean solid, occluded dashed);
    horizontal lines at the lifter's strict error (``rows`` whose ``method`` is ``lifter_label``).

    Writes ``out_dir/depth_vs_noise.png`` (Pillow) and ``out_dir/depth_vs_noise.html`` (Plotly; ``plotlyjs``
    is passed to ``write_html(include_plotlyjs=...)``: True embeds plotly.js, ~4.6 MB, so the page opens
    offline; ``"cdn"`` makes a small file that needs the network) and ``out_dir/depth_vs_noise.json`` (the
    crossovers).
    Returns:
        ``{"png": str, "html": str, "json": str, "crossover": {category: {setting: {"absrel", "status",
        "text"}}}}`` (see :func:`crossover`; a setting without a lifter row gets status ``no lifter row``); with no
        depth-based figures in ``rows`` (chairs alone), nothing is written and the paths are None.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from lifter.evaluate import short_method

    out_dir = Path(out_dir)
    curves = _depth_curves(rows)
    if not curves:                                   # e.g. chairs alone: no depth maps, nothing to plot
        return {"png": None, "html": None, "json": None, "crossover": {}}
    out_dir.mkdir(parents=True, exist_ok=True)
    units = {r["category"]: r["units"] for r in rows}
    refs: dict[str, dict[str, float]] = {}
    for r in rows:
        if r.get("method") == lifter_label and r.get("strict") is not None and r["category"] in curves:
            refs.setdefault(r["category"], {})[r["setting"]] = float(r["strict"])
    result: dict[str, dict] = {}
    for cat, by_setting in curves.items():
        result[cat] = {}
        for s, pts in by_setting.items():
            if s in refs.get(cat, {}):
                result[cat][s] = crossover([a for a, _ in pts], [e for _, e in pts], refs[cat][s])
            else:
                result[cat][s] = {"absrel": None, "status": "no lifter row",
                                  "text": f"no row for {lifter_label!r} ({cat}, {s})"}
    name = short_method(lifter_label)                # the shipped lifter's label is a paragraph long
    title = f"Depth-based lifting vs depth noise; reference: {name}"
    cats = list(curves)
    fig = make_subplots(rows=1, cols=max(1, len(cats)),
                        subplot_titles=[f"{c} ({units.get(c, '')})" for c in cats] or ["no depth rows"])
    for ci, cat in enumerate(cats, start=1):
        for s, pts in curves[cat].items():
            dash = "solid" if s == "clean" else "dash"
            fig.add_trace(go.Scatter(x=[100 * a for a, _ in pts], y=[e for _, e in pts], mode="lines+markers",
                                     name=f"depth-based, {s}", legendgroup=f"depth {s}", showlegend=ci == 1,
                                     line=dict(color="#1f77b4", dash=dash),
                                     hovertemplate="AbsRel %{x:g} %<br>strict %{y:.2f}<extra></extra>"),
                          row=1, col=ci)
        for s, v in refs.get(cat, {}).items():
            xs = [100 * a for a, _ in curves[cat].get(s, curves[cat][next(iter(curves[cat]))])]
            fig.add_trace(go.Scatter(x=[min(xs), max(xs)], y=[v, v], mode="lines", name=f"lifter, {s}",
                                     legendgroup=f"lifter {s}", showlegend=ci == 1,
                                     line=dict(color="#d62728", dash="solid" if s == "clean" else "dash"),
                                     hovertemplate=f"{name}, {s}: {v:.2f}<extra></extra>"),
                          row=1, col=ci)
        fig.update_xaxes(title_text="depth noise, AbsRel (%)", row=1, col=ci)
        fig.update_yaxes(title_text=f"strict error ({units.get(cat, '')})", rangemode="tozero", row=1, col=ci)
    fig.update_layout(title=title, template="plotly_white", width=430 * max(1, len(cats)), height=420)
    html = out_dir / "depth_vs_noise.html"
    fig.write_html(html, include_plotlyjs=plotlyjs, full_html=True)
    png = out_dir / "depth_vs_noise.png"
    _draw_png(curves, refs, units, png, title)
    js = out_dir / "depth_vs_noise.json"
    js.write_text(json.dumps({"lifter": lifter_label, "crossover": result}, indent=1) + "\n")
    return {"png": str(png), "html": str(html), "json": str(js), "crossover": result}


if __name__ == "__main__":
    sys.exit("lifter.baselines.benchmark has no command of its own: the depth-based rows are measured by "
             "python -m lifter.evaluate --data data (docs/depth-baseline.md, *The benchmark rows*)")
