"""Drawing: landmarks over images (OpenCV, fast) and interactive 3D views (Plotly).

Colours and edges come from ``lifter.skeletons`` only. 3D views use the camera frame of the lifter (x right,
y down, z away from the camera) shown with "up" up: Plotly's axes are ``(x, z, -y)``, and the default view
looks from the camera. Several 3D views go into ONE figure (one scene each) so that they start from one camera
angle; :data:`SYNC_CAMERAS_JS` keeps the scenes' cameras together when the user rotates one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lifter.skeletons import get_category

SELECT_COLOUR = (255, 215, 0)        # RGB of the selected landmark's ring
REPROJECT_COLOUR = (0, 200, 255)     # RGB of the lifted 3D re-projected over the image
GT_COLOUR, PRED_COLOUR = "#d62728", "#1f77b4"   # the seed's figure: ground truth red, prediction blue
DEFAULT_EYE = dict(x=0.55, y=-2.9, z=0.75)      # slightly above and to the right of the camera


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))


def draw_landmarks(image: np.ndarray, points: np.ndarray | None, visible: np.ndarray | None, category: str | None,
                   factor: float = 1.0, selected: int | None = None, labels: bool | None = None,
                   reprojected: np.ndarray | None = None, next_index: int | None = None) -> np.ndarray:
    """Skeleton, landmarks and labels over a copy of ``image``.

    Args:
        image: ``(h, w, 3)`` uint8, the display copy.
        points: ``(N, 2)`` original-image px (NaN where missing); ``factor`` maps them to ``image`` pixels.
        visible: ``(N,)`` bool.
        category: registry name (edges, colours, names).
        selected: landmark drawn with a ring.
        labels: write landmark names (default: for categories with at most 21 landmarks).
        reprojected: ``(N, 2)`` px, the lifted 3D's orthographic re-projection, drawn as hollow circles and
            dashed-looking thin lines (including landmarks that were missing in 2D).
        next_index: in Manual mode, the landmark to click next (named at the bottom of the image).
    Returns:
        ``(h, w, 3)`` uint8.
    """
    out = np.ascontiguousarray(image.copy())
    if points is None or category is None:
        return out
    cat = get_category(category)
    h, w = out.shape[:2]
    scale = max(h, w) / 700.0
    small = cat.num_landmarks > 100
    thick = max(1, round((1 if small else 2) * scale))
    radius = max(2, round((1.5 if small else 5) * scale))
    p = np.asarray(points, dtype=np.float64) * factor
    ok = np.asarray(visible, dtype=bool) & np.isfinite(p).all(-1)
    lc, ec = cat.landmark_colours(), cat.edge_colours()
    if reprojected is not None:
        r = np.asarray(reprojected, dtype=np.float64) * factor
        rok = np.isfinite(r).all(-1)
        for (i, j) in ([] if small else cat.edges):
            if rok[i] and rok[j]:
                cv2.line(out, _pt(r[i]), _pt(r[j]), REPROJECT_COLOUR, max(1, thick // 2), cv2.LINE_AA)
        ring = 1 if small else radius + max(1, thick)        # faces: 468 tiny rings, not a cyan carpet
        for i in np.flatnonzero(rok):
            cv2.circle(out, _pt(r[i]), ring, REPROJECT_COLOUR, 1 if small else max(1, thick // 2), cv2.LINE_AA)
    for (i, j), colour in zip(cat.edges, ec):
        if ok[i] and ok[j]:
            cv2.line(out, _pt(p[i]), _pt(p[j]), _rgb(colour), thick, cv2.LINE_AA)
    for i in np.flatnonzero(ok):
        cv2.circle(out, _pt(p[i]), radius, _rgb(lc[i]), -1, cv2.LINE_AA)
        if not small:
            cv2.circle(out, _pt(p[i]), radius, (255, 255, 255), max(1, thick // 2), cv2.LINE_AA)
    if labels is None:
        labels = not small
    font = 0.4 * scale
    if labels:
        for i in np.flatnonzero(ok):
            _label(out, cat.landmarks[i], p[i] + (radius + 2, -radius - 2), font, max(1, round(scale)))
    if selected is not None and 0 <= selected < len(p):
        if ok[selected]:
            cv2.circle(out, _pt(p[selected]), radius * 3, SELECT_COLOUR, max(2, thick), cv2.LINE_AA)
        _label(out, f"selected: {cat.landmarks[selected]} - click its new position", (8, h - 12), font * 1.3,
               max(1, round(scale)))
    elif next_index is not None and next_index < len(p):
        _label(out, f"next: {cat.landmarks[next_index]} ({next_index + 1}/{len(p)})", (8, h - 12), font * 1.4,
               max(1, round(scale)))
    return out


def _pt(xy: np.ndarray) -> tuple[int, int]:
    return int(round(float(xy[0]))), int(round(float(xy[1])))


def _label(img: np.ndarray, text: str, xy, font: float, thickness: int) -> None:
    org = _pt(np.asarray(xy, dtype=np.float64))
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, font, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, font, (255, 255, 255), thickness, cv2.LINE_AA)


def points_image(points2d: np.ndarray, visible: np.ndarray, category: str, size: tuple[int, int],
                 max_side: int = 640) -> np.ndarray:
    """The 2D input drawn on a white canvas of the benchmark image ``size (W, H)``: ``(h, w, 3)`` uint8."""
    W, H = int(size[0]), int(size[1])
    f = min(1.0, max_side / max(W, H))
    canvas = np.full((max(1, round(H * f)), max(1, round(W * f)), 3), 255, dtype=np.uint8)
    return draw_landmarks(canvas, points2d, visible, category, factor=f, labels=False)


# ------------------------------------------------------------------------------------------------ 3D


@dataclass
class Layer:
    """One skeleton in a 3D view.

    Attributes:
        points: ``(N, 3)`` camera frame (x right, y down, z away); NaN where unknown.
        name: legend name.
        colour: one colour for the whole skeleton, or None for the category's colours.
        marker_values: ``(N,)`` values that colour the markers (per-landmark error), or None.
        values_label: hover label for ``marker_values``.
    """

    points: np.ndarray
    name: str
    colour: str | None = None
    marker_values: np.ndarray | None = None
    values_label: str = ""
    dash: bool = False


@dataclass
class Panel:
    """One 3D view: a title, its layers, or a message when there is nothing to show."""

    title: str
    layers: list[Layer] = field(default_factory=list)
    message: str = ""


def _to_plot(p: np.ndarray) -> np.ndarray:
    """Camera frame -> Plotly axes ``(x, z, -y)``."""
    return np.stack([p[:, 0], p[:, 2], -p[:, 1]], -1)


def normalise(points: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Centre on the finite (masked) landmarks and scale to unit RMS radius, for side-by-side display."""
    p = np.asarray(points, dtype=np.float64)
    ok = np.isfinite(p).all(-1) if mask is None else (np.asarray(mask, bool) & np.isfinite(p).all(-1))
    if ok.sum() < 1:
        return p
    c = p[ok].mean(0)
    r = np.sqrt(((p[ok] - c) ** 2).sum(-1).mean())
    return (p - c) / (r if r > 0 else 1.0)


def _layer_traces(layer: Layer, category: str, scene: str, show_legend: bool, colorbar_x: float | None
                  ) -> list[go.Scatter3d]:
    cat = get_category(category)
    q = _to_plot(np.asarray(layer.points, dtype=np.float64))
    ok = np.isfinite(q).all(-1)
    traces = []
    by_colour: dict[str, list] = {}
    for (i, j), c in zip(cat.edges, cat.edge_colours()):
        if ok[i] and ok[j]:
            by_colour.setdefault(layer.colour or c, []).extend([q[i], q[j], [None] * 3])
    for c, seg in by_colour.items():
        seg = np.array(seg, dtype=object)
        traces.append(go.Scatter3d(x=seg[:, 0], y=seg[:, 1], z=seg[:, 2], mode="lines", scene=scene,
                                   line=dict(color=c, width=3 if cat.num_landmarks > 100 else 6,
                                             dash="dash" if layer.dash else "solid"),
                                   hoverinfo="skip", showlegend=False, legendgroup=layer.name))
    idx = np.flatnonzero(ok)
    text = [cat.landmarks[i] for i in idx]
    marker = dict(size=2 if cat.num_landmarks > 100 else 5)
    if layer.marker_values is not None:
        v = np.asarray(layer.marker_values, dtype=np.float64)[idx]
        marker.update(color=np.nan_to_num(v), colorscale="Viridis", showscale=colorbar_x is not None,
                      cmin=0, size=3 if cat.num_landmarks > 100 else 7)
        if colorbar_x is not None:
            marker["colorbar"] = dict(title=layer.values_label, x=colorbar_x, len=0.6, thickness=12)
        text = [f"{t}: {val:.1f} {layer.values_label}" for t, val in zip(text, v)]
    else:
        colours = np.array(cat.landmark_colours())[idx] if layer.colour is None else layer.colour
        marker["color"] = colours
    traces.append(go.Scatter3d(x=q[idx, 0], y=q[idx, 1], z=q[idx, 2], mode="markers", scene=scene, text=text,
                               hoverinfo="text", marker=marker, name=layer.name, legendgroup=layer.name,
                               showlegend=show_legend))
    return traces


def views_figure(panels: list[Panel], category: str, height: int = 484) -> go.Figure:
    """Side-by-side interactive 3D views (one scene per panel, one starting camera, kept in sync by JS). The top
    margin leaves the panels' titles clear of the label the app's plot box draws over its top-left corner."""
    n = max(1, len(panels))
    width = max(20, TITLE_CHARS // n)
    scaled = any(layer.marker_values is not None for p in panels for layer in p.layers)
    fig = make_subplots(rows=1, cols=n, specs=[[{"type": "scene"}] * n],
                        subplot_titles=[panel_title(p.title, width) for p in panels],
                        horizontal_spacing=0.06 if scaled else 0.02)   # colour scales sit in the gaps
    camera = dict(eye=DEFAULT_EYE, up=dict(x=0, y=0, z=1), center=dict(x=0, y=0, z=0))
    seen = set()
    for k, panel in enumerate(panels):
        scene = "scene" if k == 0 else f"scene{k + 1}"
        for layer in panel.layers:
            show = layer.name not in seen
            seen.add(layer.name)
            cbx = fig.layout[scene].domain.x[1] + 0.004 if layer.marker_values is not None else None
            for t in _layer_traces(layer, category, scene, show, cbx):
                fig.add_trace(t)
        axis = dict(showticklabels=False, title="", showbackground=True, backgroundcolor="#f4f4f4",
                    gridcolor="#dddddd", zeroline=False)
        fig.layout[scene].update(xaxis=dict(axis, title="x"), yaxis=dict(axis, title="depth"),
                                 zaxis=dict(axis, title="up"), aspectmode="data", camera=camera)
        if panel.message:
            x0 = (k + 0.5) / n
            fig.add_annotation(text=_wrap(panel.message), x=x0, y=0.5, xref="paper", yref="paper",
                               showarrow=False, align="center", font=dict(size=12, color="#444"),
                               bgcolor="rgba(255,255,240,0.95)", bordercolor="#bbb", borderwidth=1)
    fig.update_layout(height=height, margin=dict(l=0, r=48 if scaled else 0, t=64, b=0), uirevision="keep",
                      legend=dict(orientation="h", y=-0.02), paper_bgcolor="white")
    return fig


TITLE_CHARS = 120     # characters of panel titles across the whole views figure (16 px font, about 1,100 px wide)


def panel_title(title: str, width: int) -> str:
    """``title`` in lines of at most ``width`` characters (Plotly's ``<br>``) where it is longer: split after its
    last ": " when both halves fit (a method's name, then its error), else word by word. Neighbouring panels'
    titles ran into each other on one line (four panels: "depth baseline (AbsRel 0.00): 48.8 mm")."""
    if len(title) <= width:
        return title
    name, sep, value = title.rpartition(": ")
    if sep and len(name) + 1 <= width and len(value) <= width:
        return f"{name}:<br>{value}"
    return _wrap(title, width)


def _wrap(text: str, width: int = 38) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "<br>".join(lines)


def error_bar_figure(per_landmark: dict[str, np.ndarray], names: tuple[str, ...], units: str) -> go.Figure:
    """Per-landmark errors (one bar series per method); a NaN error (a landmark the subject lacks, e.g. a chair's
    armrests) is left without a bar, not drawn as 0."""
    fig = go.Figure()
    for label, v in per_landmark.items():
        y = [float(e) if np.isfinite(e) else None for e in np.asarray(v, dtype=np.float64)]
        fig.add_trace(go.Bar(x=list(names), y=y, name=label))
    fig.update_layout(height=300, margin=dict(l=40, r=10, t=30, b=80), yaxis_title=f"error ({units})",
                      barmode="group", title="Per-landmark error (strict)")
    return fig


# Kept in one place: the page script that links the cameras of the scenes of one figure. Gradio bundles
# plotly.js without a global, so it uses the graph div's own event emitter and each scene's setCamera.
SYNC_CAMERAS_JS = """
<script>
(() => {
  // Copy the source scene's live camera to the other scenes. The event's own camera can be one frame old: the
  // last mouse move of a drag is applied on the render after mouseup, when no event follows, so the copy is
  // repeated on the next frames and once more shortly after.
  const copyFrom = (gd, src) => {
    const source = gd._fullLayout && gd._fullLayout[src];
    if (!source || !source._scene || !source._scene.getCamera) return;
    const cam = JSON.parse(JSON.stringify(source._scene.getCamera()));
    for (const id of (gd._fullLayout._subplots.gl3d || [])) {
      const full = gd._fullLayout[id];
      if (id === src || !full || !full._scene || !full._scene.setViewport) continue;
      try {
        full.camera = Object.assign({}, full.camera, cam);
        if (gd.layout[id]) gd.layout[id].camera = full.camera;
        full._scene.setViewport(full);
      } catch (e) { /* a scene being rebuilt: skip */ }
    }
  };
  const sync = (gd, ev) => {
    const key = Object.keys(ev || {}).find((k) => /^scene\\d*\\.camera$/.test(k));
    if (!key) return;
    const src = key.split('.')[0];
    copyFrom(gd, src);
    requestAnimationFrame(() => requestAnimationFrame(() => copyFrom(gd, src)));
    setTimeout(() => copyFrom(gd, src), 150);
  };
  const link = (gd) => {
    if (gd.__camSync || !gd.on || !gd._fullLayout) return;
    gd.__camSync = true;
    gd.on('plotly_relayouting', (ev) => sync(gd, ev));
    gd.on('plotly_relayout', (ev) => sync(gd, ev));
  };
  new MutationObserver(() => document.querySelectorAll('.js-plotly-plot').forEach(link))
    .observe(document.documentElement, {childList: true, subtree: true});
})();
</script>
"""
