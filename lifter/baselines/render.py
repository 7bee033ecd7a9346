"""Rendered depth: the oracle depth source (the best any depth network could do).

:func:`render_depth` draws the depth map (camera ``z`` per pixel, ``inf`` where no surface) of a surface built
around a ground-truth sample under its pinhole camera:

- ``human17`` and ``hand21``: one capsule (a cylinder with hemispherical ends) around every skeleton edge, with
  the anthropometric radii below. The joints lie on the capsules' axes, i.e. *inside* the surface, as in a real
  body: the depth seen at a joint's pixel is the depth of the skin in front of it, and a joint hidden behind
  another limb takes that limb's front depth.
- ``face468``: the MediaPipe canonical face model's own triangle mesh (``face_mesh.TRIANGLES``) with the
  sample's 468 landmarks as vertices: landmarks lie *on* the surface. The mask is open (it ends at the face
  oval); by default it is closed into a head by sweeping the oval backwards (:func:`face_head`), so that the
  surface continues past the outline as on a real head (hair, ears: no false depth edge at the face oval) and a
  face seen from behind is hidden by the back of the head (``head=False``: the bare mask).
- ``chair``: KeypointNet gives keypoints only, no surface: not renderable (``ValueError``).

Pixel convention (shared with :mod:`lifter.baselines.backproject`): ``depth[j, i]`` is the depth along the ray
through the pixel coordinates ``(x, y) = (i, j)``, i.e. pixel centres at integer coordinates, like OpenCV and the
data files' ``points2d``.

Both rasterisers are vectorised numpy (no Python loop over pixels or primitives), with a z-buffer
(``np.minimum.at``) keeping the nearest surface:

- capsules in closed form: ray vs finite cylinder and the two end spheres, for all (capsule, pixel) pairs at
  once; the pairs are enumerated per capsule and image row over the band that can contain its silhouette;
- triangles by scanline: all (triangle, row) pairs, each row's span from the triangle's edges, then all pixel
  centres in the spans; depth interpolated perspective-correctly (``1/z`` is affine in the image of a plane).

Anthropometric radii (mm, capsule radius ``r = C / 2 pi`` from a circumference ``C``, or half a breadth), means
over adult men and women rounded to 5 mm (body) or 1 mm (hand):

| segment (human17)                  | r    | from                                                                |
|------------------------------------|------|---------------------------------------------------------------------|
| hip joint line (pelvis - hip)      | 100  | hip breadth ~ 360 mm: the two capsules span the pelvis              |
| thigh (hip - knee)                 | 80   | mid-thigh circumference ~ 500 mm                                    |
| shank (knee - ankle)               | 50   | calf ~ 375 mm and ankle ~ 230 mm circumference, mean ~ 310 mm      |
| trunk (pelvis - spine - thorax)    | 120  | chest ~ 320 x 250 mm: area-equivalent r ~ 140, less the shoulders' |
| neck (thorax - neck)               | 60   | neck circumference ~ 370 mm                                         |
| head (neck - head top)             | 85   | head breadth ~ 155 mm, length ~ 195 mm                              |
| shoulder girdle (thorax - shoulder)| 65   | shoulder (deltoid) depth ~ 130 mm                                   |
| upper arm (shoulder - elbow)       | 45   | relaxed biceps circumference ~ 300 mm                               |
| forearm (elbow - wrist)            | 35   | forearm ~ 270 mm and wrist ~ 170 mm circumference, mean ~ 220 mm   |

Source: ANSUR II summary statistics (Gordon et al., *2012 Anthropometric Survey of U.S. Army Personnel*,
NATICK/TR-15/007, 2014), the same tables as NASA-STD-3000 Vol. I Sec. 3 (Anthropometry and Biomechanics).

| segment (hand21)                         | r  | from                                                           |
|------------------------------------------|----|----------------------------------------------------------------|
| palm: wrist - MCPs / thumb CMC, MCP row  | 15 | hand thickness at the metacarpals ~ 30 mm                      |
| thumb metacarpal (CMC - MCP)             | 12 | thenar eminence                                                |
| thumb proximal, distal phalanx           | 11, 10 | thumb breadth at the IP joint ~ 21 mm                      |
| finger proximal phalanx (MCP - PIP)      | 10 (pinky 9) | finger breadth at the PIP joint ~ 19 mm (pinky ~ 17) |
| finger middle phalanx (PIP - DIP)        | 9 (pinky 8)  | breadth ~ 17 mm                                      |
| finger distal phalanx (DIP - tip)        | 8 (pinky 7)  | breadth at the DIP joint ~ 16 mm                     |

Source: Greiner, *Hand Anthropometry of U.S. Army Personnel* (NATICK/TR-92/011, 1991), adult means; the
skeleton's bone lengths follow Buchholz et al. (1992) (``lifter.data.hand``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from lifter.skeletons import get_category

SURFACE_CATEGORIES = ("human17", "hand21", "face468")

# Capsule radius (mm) per human17 edge, in the order of ``skeletons._human17`` edges (see the table above).
HUMAN17_RADII_MM: dict[tuple[str, str], float] = {
    ("pelvis", "r_hip"): 100.0, ("r_hip", "r_knee"): 80.0, ("r_knee", "r_ankle"): 50.0,
    ("pelvis", "l_hip"): 100.0, ("l_hip", "l_knee"): 80.0, ("l_knee", "l_ankle"): 50.0,
    ("pelvis", "spine"): 120.0, ("spine", "thorax"): 120.0, ("thorax", "neck"): 60.0, ("neck", "head"): 85.0,
    ("thorax", "l_shoulder"): 65.0, ("l_shoulder", "l_elbow"): 45.0, ("l_elbow", "l_wrist"): 35.0,
    ("thorax", "r_shoulder"): 65.0, ("r_shoulder", "r_elbow"): 45.0, ("r_elbow", "r_wrist"): 35.0,
}

# Capsule radius (mm) per hand21 bone, by the bone's distal landmark (see the table above).
HAND21_RADII_MM: dict[str, float] = {
    "thumb_cmc": 15.0, "thumb_mcp": 12.0, "thumb_ip": 11.0, "thumb_tip": 10.0,
    "index_mcp": 15.0, "index_pip": 10.0, "index_dip": 9.0, "index_tip": 8.0,
    "middle_mcp": 15.0, "middle_pip": 10.0, "middle_dip": 9.0, "middle_tip": 8.0,
    "ring_mcp": 15.0, "ring_pip": 10.0, "ring_dip": 9.0, "ring_tip": 8.0,
    "pinky_mcp": 15.0, "pinky_pip": 9.0, "pinky_dip": 8.0, "pinky_tip": 7.0,
}
HAND21_PALM_ROW_RADIUS_MM = 15.0   # the MCP row edges (index-middle, middle-ring, ring-pinky)


@dataclass(frozen=True)
class Capsules:
    """A capsule skeleton: ``edges (E, 2)`` landmark indices and ``radii (E,)`` in the data's units (mm)."""

    edges: np.ndarray
    radii: np.ndarray


@lru_cache(maxsize=None)
def capsule_model(category: str) -> Capsules:
    """The capsules of ``human17`` or ``hand21`` (every skeleton edge, radii from the tables above).

    Raises:
        ValueError: a category without a capsule model.
    """
    cat = get_category(category)
    radii = []
    for i, j in cat.edges:
        a, b = cat.landmarks[i], cat.landmarks[j]
        if category == "human17":
            radii.append(HUMAN17_RADII_MM[(a, b)])
        elif category == "hand21":
            radii.append(HAND21_PALM_ROW_RADIUS_MM if a.endswith("_mcp") and b.endswith("_mcp")
                         else HAND21_RADII_MM[b])
        else:
            raise ValueError(f"no capsule model for {category!r} (capsules exist for human17 and hand21)")
    return Capsules(np.asarray(cat.edges, dtype=np.int64), np.asarray(radii, dtype=np.float64))


@lru_cache(maxsize=1)
def face_triangles() -> np.ndarray:
    """The canonical face model's triangles ``(898, 3)`` int64 (0-based landmark indices)."""
    from lifter.baselines.face_mesh import TRIANGLES

    return np.asarray(TRIANGLES, dtype=np.int64)


@lru_cache(maxsize=1)
def face_outline() -> np.ndarray:
    """The face mesh's boundary loop (the face oval), ordered: ``(L,)`` landmark indices (L = 36).

    The canonical mesh has exactly one boundary (eyes and mouth are closed surfaces): the edges that belong to
    a single triangle, chained into a loop.
    """
    tri = face_triangles()
    edges = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    uniq, counts = np.unique(edges, axis=0, return_counts=True)
    boundary = uniq[counts == 1]
    nxt: dict[int, list[int]] = {}
    for a, b in boundary.tolist():
        nxt.setdefault(a, []).append(b)
        nxt.setdefault(b, []).append(a)
    loop, prev = [int(boundary[0, 0])], -1
    while True:
        cand = [v for v in nxt[loop[-1]] if v != prev]
        if not cand or cand[0] == loop[0]:
            break
        prev = loop[-1]
        loop.append(cand[0])
    if len(loop) != len(boundary):
        raise RuntimeError(f"face mesh boundary is not one simple loop ({len(loop)} of {len(boundary)} edges)")
    return np.asarray(loop, dtype=np.int64)


# The head behind the face (HEAD_RINGS): the face oval is swept backwards, away from the face, to close the
# canonical mask into a head, so that the surface continues past the face's outline (hair, ears) as on a real
# head, and a face seen from behind is hidden by the back of the head. Each ring: (distance behind the oval
# along the face's backward axis, scale of the oval about its centroid), distances in units of the oval's
# width (~155 mm on the template, the head breadth); the back is closed by a fan to a point at HEAD_BACK. The
# result is ~190 mm from nose tip to back, about an adult head's length (ANSUR II: ~195 mm).
HEAD_RINGS: tuple[tuple[float, float], ...] = ((0.30, 1.0), (0.55, 0.7))
HEAD_BACK = 0.70


@lru_cache(maxsize=1)
def _head_topology() -> np.ndarray:
    """Triangles ``(M, 3)`` of the head closure, indexing ``[468 landmarks, ring 1 (L), ring 2 (L), back]``."""
    loop = face_outline()
    L, n = len(loop), 468
    rings = [loop] + [n + i * L + np.arange(L) for i in range(len(HEAD_RINGS))]
    tris = []
    for r0, r1 in zip(rings[:-1], rings[1:]):
        for j in range(L):
            k = (j + 1) % L
            tris += [(r0[j], r0[k], r1[k]), (r0[j], r1[k], r1[j])]
    back = n + len(HEAD_RINGS) * L
    tris += [(rings[-1][j], rings[-1][(j + 1) % L], back) for j in range(L)]
    return np.asarray(tris, dtype=np.int64)


def face_head(points3d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face mesh closed into a head: vertices ``(468 + 2L + 1, 3)`` and triangles ``(898 + M, 3)``.

    The backward axis is minus the face mesh's area-weighted normal (the vector area of the open mask), its sign
    set so that the nose tip (landmark 1) lies in front of the oval's centroid. ``points3d (468, 3)`` must be
    finite.
    """
    pts = np.asarray(points3d, dtype=np.float64)
    tri = face_triangles()
    loop = face_outline()
    normal = np.cross(pts[tri[:, 1]] - pts[tri[:, 0]], pts[tri[:, 2]] - pts[tri[:, 0]]).sum(0)
    normal /= max(np.linalg.norm(normal), 1e-12)
    oval = pts[loop]
    centre = oval.mean(0)
    if normal @ (pts[1] - centre) < 0:
        normal = -normal
    width = float(np.max(np.linalg.norm(oval[:, None] - oval[None], axis=-1)))
    rings = [centre + scale * (oval - centre) - dist * width * normal for dist, scale in HEAD_RINGS]
    back = centre - HEAD_BACK * width * normal
    vertices = np.concatenate([pts] + rings + [back[None]])
    return vertices, np.concatenate([tri, _head_topology()])


def _check_camera(focal: float, principal, image_size) -> tuple[float, float, float, int, int]:
    f = float(focal)
    cx, cy = (float(v) for v in np.asarray(principal, dtype=np.float64).reshape(2))
    w, h = (int(v) for v in np.asarray(image_size).reshape(2))
    if not (np.isfinite(f) and f > 0) or not (np.isfinite(cx) and np.isfinite(cy)):
        raise ValueError(f"bad camera: focal {focal!r} must be finite and > 0, principal {principal!r} finite")
    if w < 1 or h < 1:
        raise ValueError(f"bad image_size {image_size!r}: (width, height) must be >= 1")
    return f, cx, cy, w, h


def render_capsules(a: np.ndarray, b: np.ndarray, radii: np.ndarray, focal: float, principal, image_size
                    ) -> np.ndarray:
    """Depth map of a union of capsules (segment ``a[k] b[k]`` thickened by ``radii[k]``).

    Args:
        a, b: ``(C, 3)`` capsule end points, camera frame (x right, y down, z forward).
        radii: ``(C,)`` radii (> 0), same units.
        focal: px; principal: ``(2,)`` px; image_size: ``(W, H)`` px.
    Returns:
        ``(H, W)`` float32 camera ``z`` of the nearest surface in front of the camera; ``inf`` where none.
        Capsules that contain the camera centre or lie wholly behind it are skipped.
    """
    f, cx, cy, w, h = _check_camera(focal, principal, image_size)
    depth = np.full((h, w), np.inf, dtype=np.float32)
    a = np.asarray(a, dtype=np.float64).reshape(-1, 3)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 3)
    r = np.asarray(radii, dtype=np.float64).reshape(-1)
    keep = (np.isfinite(a).all(1) & np.isfinite(b).all(1) & (r > 0)
            & (np.minimum(a[:, 2], b[:, 2]) - r > 1e-6 * np.maximum(np.abs(a[:, 2]), 1.0)))
    a, b, r = a[keep], b[keep], r[keep]
    if len(r) == 0:
        return depth
    # 2D bounding box of every capsule: a sphere of radius r at depth z spans at most f r / (z - r) px around
    # its centre's projection; the capsule lies in the hull of its end spheres.
    ends = np.stack([a, b], 1)                                               # (C, 2, 3)
    uv = f * ends[..., :2] / ends[..., 2:3] + np.array([cx, cy])             # (C, 2, 2)
    reach = f * r[:, None] / (ends[..., 2] - r[:, None])                     # (C, 2)
    lo = (uv - reach[..., None]).min(1)                                      # (C, 2)
    hi = (uv + reach[..., None]).max(1)
    # (capsule, pixel) pairs: for each capsule and image row, the pixels within reach R of the projected axis
    # segment lie between the segment's x over the rows [y - R, y + R], widened by R (a band that contains the
    # silhouette: tighter than the capsule's bounding box for slanted limbs).
    reach_max = reach.max(1) + 1.5                                           # (C,) px
    y0 = np.clip(np.floor(lo[:, 1]), 0, h).astype(np.int64)
    y1 = np.clip(np.ceil(hi[:, 1]) + 1, 0, h).astype(np.int64)
    rows = np.maximum(y1 - y0, 0)
    kr = np.repeat(np.arange(len(r)), rows)                                  # (R,) capsule of each (capsule, row)
    yr = (y0[kr] + np.arange(len(kr)) - np.repeat(np.cumsum(rows) - rows, rows)).astype(np.float64)
    ax, ay, bx, by = uv[kr, 0, 0], uv[kr, 0, 1], uv[kr, 1, 0], uv[kr, 1, 1]
    dyab = by - ay
    rr = reach_max[kr]
    with np.errstate(divide="ignore", invalid="ignore"):
        s_lo = np.where(np.abs(dyab) > 1e-9, (yr - rr - ay) / dyab, -np.inf)
        s_hi = np.where(np.abs(dyab) > 1e-9, (yr + rr - ay) / dyab, np.inf)
    s0 = np.clip(np.minimum(s_lo, s_hi), 0.0, 1.0)
    s1 = np.clip(np.maximum(s_lo, s_hi), 0.0, 1.0)
    xa, xb = ax + s0 * (bx - ax), ax + s1 * (bx - ax)
    xl = np.clip(np.floor(np.minimum(xa, xb) - rr), 0, w).astype(np.int64)
    xr = np.clip(np.ceil(np.maximum(xa, xb) + rr) + 1, 0, w).astype(np.int64)
    cols = np.maximum(xr - xl, 0)
    ir = np.repeat(np.arange(len(kr)), cols)                                 # (Q,) row pair of each pixel pair
    k = kr[ir]
    qx = (xl[ir] + np.arange(len(ir)) - np.repeat(np.cumsum(cols) - cols, cols)).astype(np.float32)
    qy = yr[ir].astype(np.float32)
    if len(k) == 0:
        return depth
    dx, dy = (qx - np.float32(cx)) / np.float32(f), (qy - np.float32(cy)) / np.float32(f)
    norm = np.sqrt(dx * dx + dy * dy + 1.0)                                  # (Q,) |(dx, dy, 1)|
    # Closed-form ray (origin 0, unit direction d) vs capsule, after Quilez's capsule intersection: with
    # ba = b - a, oa = -a: the infinite cylinder's first hit t solves (baba - bard^2) t^2 + 2 (baba rdoa -
    # baoa bard) t + (baba oaoa - baoa^2 - r^2 baba) = 0, valid where the hit's axial coordinate lies on the
    # segment; each end sphere's first hit is d.c - sqrt((d.c)^2 - |c|^2 + r^2). The union's first hit is the
    # smallest of the three. Per-capsule constants in float64, per-pair terms in float32, gathered at once.
    ba = b - a                                                               # (C, 3)
    baba = (ba * ba).sum(1)
    baoa = -(ba * a).sum(1)
    r2 = r * r
    c_cyl = baba * (a * a).sum(1) - baoa * baoa - r2 * baba
    table = np.concatenate([a, b, np.stack([baba, baoa, c_cyl, (a * a).sum(1) - r2, (b * b).sum(1) - r2], 1)],
                           1).astype(np.float32)                             # (C, 11)
    g = table[k].T                                                           # (11, Q) contiguous rows
    da = (dx * g[0] + dy * g[1] + g[2]) / norm                               # (Q,) d . a
    db = (dx * g[3] + dy * g[4] + g[5]) / norm                               # (Q,) d . b
    baba32, baoa32 = g[6], g[7]
    bard = db - da
    qa = baba32 - bard * bard
    qb = -baba32 * da - baoa32 * bard
    hh = qb * qb - qa * g[8]
    with np.errstate(invalid="ignore", divide="ignore"):
        t_cyl = (-qb - np.sqrt(hh)) / qa
        yax = baoa32 + t_cyl * bard
        t_cyl = np.where((hh >= 0) & (qa > 0) & (yax > 0) & (yax < baba32), t_cyl, np.inf)
        ha = da * da - g[9]
        t_a = np.where(ha >= 0, da - np.sqrt(ha), np.inf)
        hb = db * db - g[10]
        t_b = np.where(hb >= 0, db - np.sqrt(hb), np.inf)
    t = np.minimum(np.minimum(t_cyl, t_a), t_b)
    hit = np.isfinite(t) & (t > 0)
    flat = depth.reshape(-1)
    np.minimum.at(flat, qy[hit].astype(np.int64) * w + qx[hit].astype(np.int64), (t / norm)[hit])
    return depth


def render_mesh(vertices: np.ndarray, triangles: np.ndarray, focal: float, principal, image_size) -> np.ndarray:
    """Depth map of a triangle mesh (z-buffered, perspective-correct depth).

    Args:
        vertices: ``(V, 3)`` camera frame; triangles: ``(T, 3)`` vertex indices. Triangles with a non-finite
            vertex or a vertex at ``z <= 0`` are skipped (no near-plane clipping).
        focal: px; principal: ``(2,)`` px; image_size: ``(W, H)`` px.
    Returns:
        ``(H, W)`` float32 camera ``z``; ``inf`` where no triangle covers the pixel centre.
    """
    f, cx, cy, w, h = _check_camera(focal, principal, image_size)
    depth = np.full(h * w, np.inf, dtype=np.float32)
    v = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    tri = np.asarray(triangles, dtype=np.int64).reshape(-1, 3)
    ok_v = np.isfinite(v).all(1) & (v[:, 2] > 0)
    tri = tri[ok_v[tri].all(1)]
    if len(tri) == 0:
        return depth.reshape(h, w)
    uv = np.full((len(v), 2), np.nan)
    uv[ok_v] = f * v[ok_v, :2] / v[ok_v, 2:3] + np.array([cx, cy])
    p = uv[tri]                                                              # (T, 3, 2) corners, px
    inv_z = 1.0 / v[tri, 2]                                                  # (T, 3)
    area2 = ((p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1])
             - (p[:, 2, 0] - p[:, 0, 0]) * (p[:, 1, 1] - p[:, 0, 1]))          # (T,) twice the signed area
    y0 = np.clip(np.ceil(p[..., 1].min(1)), 0, h).astype(np.int64)          # rows of pixel centres inside
    y1 = np.clip(np.floor(p[..., 1].max(1)) + 1, 0, h).astype(np.int64)
    keep = (y1 > y0) & (np.abs(area2) > 1e-12)
    if not keep.any():
        return depth.reshape(h, w)
    p, inv_z, y0, y1, area2 = p[keep], inv_z[keep], y0[keep], y1[keep], area2[keep]
    # 1/z is affine in the image of a planar triangle: inv_z(x, y) = A x + B y + C, solved per triangle.
    m = np.concatenate([p, np.ones(p.shape[:2] + (1,))], -1)                 # (T, 3, 3) rows (x, y, 1)
    plane = np.linalg.solve(m, inv_z[..., None])[..., 0]                     # (T, 3) A, B, C
    # (triangle, row) pairs, then the row's span: the x where the row crosses the triangle's edges.
    rows = y1 - y0
    tr = np.repeat(np.arange(len(rows)), rows)
    yr = (y0[tr] + np.arange(len(tr)) - np.repeat(np.cumsum(rows) - rows, rows)).astype(np.float64)
    xs_lo = np.full(len(tr), np.inf)
    xs_hi = np.full(len(tr), -np.inf)
    for i, j in ((0, 1), (1, 2), (2, 0)):
        ya, yb, xa, xb = p[tr, i, 1], p[tr, j, 1], p[tr, i, 0], p[tr, j, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (yr - ya) / (yb - ya)
        ok = (np.minimum(ya, yb) <= yr) & (yr <= np.maximum(ya, yb)) & (ya != yb)
        x = np.where(ok, xa + t * (xb - xa), np.nan)
        xs_lo = np.where(ok, np.minimum(xs_lo, x), xs_lo)
        xs_hi = np.where(ok, np.maximum(xs_hi, x), xs_hi)
    xl = np.clip(np.ceil(xs_lo - 1e-9), 0, w)
    xr = np.clip(np.floor(xs_hi + 1e-9) + 1, 0, w)
    good = np.isfinite(xl) & np.isfinite(xr) & (xr > xl)
    tr, yr, xl, xr = tr[good], yr[good], xl[good].astype(np.int64), xr[good].astype(np.int64)
    cols = xr - xl
    ir = np.repeat(np.arange(len(tr)), cols)                                 # (Q,) pixel pairs
    qx = xl[ir] + np.arange(len(ir)) - np.repeat(np.cumsum(cols) - cols, cols)
    qy = yr[ir].astype(np.int64)
    g = plane[tr[ir]]                                                        # (Q, 3)
    iz = g[:, 0] * qx + g[:, 1] * qy + g[:, 2]
    pos = iz > 0
    pix, iz = (qy * w + qx)[pos], iz[pos]
    np.minimum.at(depth, pix, (1.0 / iz).astype(np.float32))
    return depth.reshape(h, w)


def render_depth(category: str, points3d: np.ndarray, present: np.ndarray, focal: float, principal,
                 image_size, head: bool = True) -> np.ndarray:
    """Depth map of the surface around one ground-truth sample (the oracle depth source).

    Args:
        category: ``human17``, ``hand21`` (capsules) or ``face468`` (the canonical face mesh).
        points3d: ``(N, 3)`` ground-truth landmarks, camera frame, the data's units (mm).
        present: ``(N,)`` bool; capsules or triangles touching an absent landmark are left out.
        focal: focal length, px; principal: ``(2,)`` principal point, px; image_size: ``(W, H)`` px.
        head: ``face468`` only: close the face mask into a head (:func:`face_head`; needs every landmark
            present); False renders the bare canonical mesh.
    Returns:
        ``(H, W)`` float32 camera ``z`` (same units as ``points3d``), ``inf`` where there is no surface.
    Raises:
        ValueError: ``chair`` ("no surface model for chairs"), an unknown category, or wrong shapes.
    """
    if category == "chair":
        raise ValueError("no surface model for chairs: KeypointNet gives keypoints only, so there is no depth "
                         "map to render (depth-based lifting is not applicable to the chair benchmark)")
    if category not in SURFACE_CATEGORIES:
        get_category(category)                                   # unknown name: its own clear ValueError
        raise ValueError(f"no surface model for {category!r}; renderable: {', '.join(SURFACE_CATEGORIES)}")
    n = get_category(category).num_landmarks
    pts = np.asarray(points3d, dtype=np.float64)
    pres = np.asarray(present, dtype=bool)
    if pts.shape != (n, 3) or pres.shape != (n,):
        raise ValueError(f"{category} needs points3d ({n}, 3) and present ({n},); got {pts.shape} and {pres.shape}")
    pres = pres & np.isfinite(pts).all(1)
    if category == "face468":
        if head and pres.all():
            vertices, tri = face_head(pts)
            return render_mesh(vertices, tri, focal, principal, image_size)
        tri = face_triangles()
        return render_mesh(pts, tri[pres[tri].all(1)], focal, principal, image_size)
    caps = capsule_model(category)
    use = pres[caps.edges].all(1)
    e = caps.edges[use]
    return render_capsules(pts[e[:, 0]], pts[e[:, 1]], caps.radii[use], focal, principal, image_size)
