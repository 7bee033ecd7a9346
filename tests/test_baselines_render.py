"""The oracle depth renderer: capsules in closed form, the face mesh, occlusion, categories and speed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifter.baselines import backproject_landmarks, render_depth
from lifter.baselines.render import capsule_model, face_triangles, render_capsules, render_mesh
from lifter.skeletons import get_category

SHARED_FACE = Path(__file__).resolve().parents[2] / "shared" / "data" / "mediapipe-face" / "canonical_face_model.obj"
F, C, SIZE = 500.0, (100.0, 100.0), (201, 201)


def test_capsule_head_on_gives_front_depth() -> None:
    # A capsule along the optical axis, seen end-on: the centre pixel sees the near hemisphere's pole at z0 - r.
    r = 40.0
    depth = render_capsules(np.array([[0.0, 0.0, 1000.0]]), np.array([[0.0, 0.0, 1300.0]]), np.array([r]),
                            F, C, SIZE)
    assert depth[100, 100] == pytest.approx(1000.0 - r, rel=1e-5)
    # Off-centre pixels on the cap: z of the sphere |X - a| = r along that ray.
    for dx in (5, 12, 18):
        ray = np.array([dx / F, 0.0, 1.0])
        u = ray / np.linalg.norm(ray)
        t = u @ np.array([0, 0, 1000.0]) - np.sqrt((u @ np.array([0, 0, 1000.0])) ** 2 - 1000.0 ** 2 + r * r)
        assert depth[100, 100 + dx] == pytest.approx(t * u[2], rel=1e-5)
    # The silhouette is the near sphere's: radius f r / sqrt(z^2 - r^2) px.
    rad = F * r / np.sqrt(1000.0 ** 2 - r ** 2)
    row = np.isfinite(depth[100])
    assert abs(row.sum() - (2 * np.floor(rad) + 1)) <= 1


def test_capsule_side_on_gives_cylinder_front() -> None:
    # A horizontal capsule across the view at depth 800: the front line of the cylinder is at z = 800 - r.
    r = 30.0
    depth = render_capsules(np.array([[-100.0, 0.0, 800.0]]), np.array([[100.0, 0.0, 800.0]]), np.array([r]),
                            F, C, SIZE)
    xs = np.arange(60, 141)
    # Along the image row through the axis, the ray hits the cylinder at z solving x^2 + ... : the nearest
    # surface point along each ray; at the centre column exactly 800 - r.
    assert depth[100, 100] == pytest.approx(800.0 - r, rel=1e-5)
    assert np.isfinite(depth[100, xs]).all()
    ray_y = (np.arange(201) - 100) / F
    expected = []                        # column 100: rays in the y-z plane vs the circle (y, z - 800) = r
    for ty in ray_y:
        u = np.array([0.0, ty, 1.0]) / np.sqrt(1 + ty * ty)
        b = u[2] * 800.0
        h = b * b - 800.0 ** 2 + r * r
        expected.append((b - np.sqrt(h)) * u[2] if h >= 0 else np.inf)
    np.testing.assert_allclose(depth[:, 100], np.array(expected, dtype=np.float32), rtol=1e-5)


def test_front_capsule_hides_the_one_behind() -> None:
    # Two parallel horizontal capsules, the back one (landmarks on its axis) hidden behind the front one.
    front_a, front_b, back_a, back_b = [np.array(p, dtype=np.float64) for p in
                                       ([-80, 0, 600], [80, 0, 600], [-80, 0, 900], [80, 0, 900])]
    radii = np.array([40.0, 40.0])
    depth = render_capsules(np.stack([front_a, back_a]), np.stack([front_b, back_b]), radii, F, C, SIZE)
    back_mid = (back_a + back_b) / 2
    pix = F * back_mid[:2] / back_mid[2] + np.array(C)
    bp = backproject_landmarks(pix[None], depth, (F, F, *C))
    assert bp.valid[0]
    # The hidden landmark takes the front capsule's front depth (600 - 40), not its own (900).
    assert bp.depth[0] == pytest.approx(560.0, rel=1e-4)
    # Rendering the back capsule alone gives its own front depth (900 - 40).
    alone = render_capsules(back_a[None], back_b[None], radii[:1], F, C, SIZE)
    assert backproject_landmarks(pix[None], alone, (F, F, *C)).depth[0] == pytest.approx(860.0, rel=1e-4)


def test_capsules_behind_the_camera_are_skipped() -> None:
    depth = render_capsules(np.array([[0.0, 0, -500]]), np.array([[0.0, 0, -100]]), np.array([20.0]), F, C, SIZE)
    assert np.isinf(depth).all()


def test_mesh_zbuffer_keeps_the_nearest_triangle() -> None:
    near = np.array([[-50, -50, 500], [50, -50, 500], [0, 50, 500]], dtype=np.float64)
    far = near * np.array([3, 3, 1]) + np.array([0, 0, 400])
    v = np.concatenate([far, near])
    for tri in (np.array([[0, 1, 2], [3, 4, 5]]), np.array([[3, 4, 5], [0, 1, 2]])):   # order must not matter
        depth = render_mesh(v, tri, F, C, SIZE)
        assert depth[100, 100] == pytest.approx(500.0)
        assert depth[100, 100 + 30] == pytest.approx(900.0)      # only the far, larger triangle covers it
        assert np.isinf(depth[5, 5])


def test_categories_and_bad_inputs() -> None:
    with pytest.raises(ValueError, match="no surface model for chairs"):
        render_depth("chair", np.zeros((21, 3)), np.ones(21, bool), F, C, SIZE)
    with pytest.raises(ValueError, match="unknown category"):
        render_depth("dog", np.zeros((5, 3)), np.ones(5, bool), F, C, SIZE)
    with pytest.raises(ValueError, match=r"points3d \(17, 3\)"):
        render_depth("human17", np.zeros((16, 3)), np.ones(16, bool), F, C, SIZE)
    with pytest.raises(ValueError, match="focal"):
        render_depth("hand21", np.zeros((21, 3)) + [0, 0, 500], np.ones(21, bool), -1.0, C, SIZE)


def test_capsule_models_cover_every_edge_with_documented_radii() -> None:
    for name in ("human17", "hand21"):
        caps = capsule_model(name)
        assert caps.edges.tolist() == [list(e) for e in get_category(name).edges]
        assert (caps.radii > 0).all()
    human = capsule_model("human17")
    assert human.radii.max() <= 120 and human.radii.min() >= 35      # mm, anthropometric range
    hand = capsule_model("hand21")
    assert hand.radii.max() <= 15 and hand.radii.min() >= 7


def test_absent_landmarks_drop_their_capsules() -> None:
    pts = np.zeros((21, 3)) + [0, 0, 400]
    pts[:, 1] = np.linspace(-60, 60, 21)
    present = np.ones(21, bool)
    full = render_depth("hand21", pts, present, F, C, SIZE)
    present[0] = False
    pts_nan = pts.copy()
    pts_nan[0] = np.nan                         # absent landmarks may be NaN: never propagated
    part = render_depth("hand21", pts_nan, present, F, C, SIZE)
    assert np.isfinite(full).sum() > np.isfinite(part).sum() > 0
    assert not np.isnan(part).any()


def test_face_triangles_match_the_template_file() -> None:
    tri = face_triangles()
    assert tri.shape == (898, 3) and tri.min() == 0 and tri.max() == 467
    if not SHARED_FACE.exists():
        pytest.skip(f"{SHARED_FACE} not found: the table is checked against the OBJ when the data is present")
    from lifter.data.obj import read_obj

    _, faces = read_obj(SHARED_FACE)
    np.testing.assert_array_equal(tri, faces)


def _sample(category: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """A real-sized sample in front of a 512 px camera: the synthetic hand, or a stick body / face blob."""
    from lifter.data.cameras import render_views

    if category == "hand21":
        from lifter.data.hand import sample_hands

        shapes, _ = sample_hands(1, rng)
    elif category == "human17":
        shapes = np.array([[0, 950, 0], [-100, 900, 0], [-110, 500, 20], [-110, 80, 0], [100, 900, 0],
                           [110, 500, 20], [110, 80, 0], [0, 1150, 0], [0, 1400, 0], [0, 1530, 0], [0, 1700, 0],
                           [170, 1420, 0], [300, 1150, 50], [380, 900, 100], [-170, 1420, 0], [-300, 1150, 50],
                           [-380, 900, 100]], dtype=np.float32)[None]
    else:
        if not SHARED_FACE.exists():
            pytest.skip(f"{SHARED_FACE} not found: the face timing needs the canonical face model")
        from lifter.data.face import read_face_template

        shapes = read_face_template(SHARED_FACE)[0][None].astype(np.float32)
    v = render_views(shapes, None, rng)
    s = 512 / 1000
    return v.points3d[0], v.present[0], float(v.focal[0]) * s, (v.principal[0] + 0.5) * s - 0.5


@pytest.mark.parametrize("category", ["human17", "hand21", "face468"])
def test_render_sees_the_subject(category: str) -> None:
    """(Speed is measured by ``python -m lifter.baselines.timing``, not asserted here.)"""
    rng = np.random.default_rng(3)
    pts, present, f, c = _sample(category, rng)
    depth = render_depth(category, pts, present, f, c, (512, 512))
    assert depth.shape == (512, 512) and depth.dtype == np.float32
    assert 0.02 < np.isfinite(depth).mean() < 0.9
    if category != "face468":
        # Joints are inside the capsules: the depth at a joint's pixel is in front of the joint.
        uv = f * pts[:, :2] / pts[:, 2:] + c
        bp = backproject_landmarks(uv, depth, (f, f, c[0], c[1]))
        assert bp.valid.all() and (bp.depth < pts[:, 2]).all()


def test_face_head_closure_hides_the_face_from_behind() -> None:
    from lifter.baselines.render import face_head, face_outline
    from lifter.geometry import rotation_y

    assert len(face_outline()) == 36
    if not SHARED_FACE.exists():
        pytest.skip(f"{SHARED_FACE} not found: the head closure is checked on the canonical face model")
    from lifter.data.face import read_face_template

    face = read_face_template(SHARED_FACE)[0]                    # (468, 3) mm, +Y up, +Z out of the face
    flip = np.diag([1.0, -1.0, -1.0])                            # camera: y down, z forward; face looks at camera
    present = np.ones(468, bool)
    for yaw, hidden_min, hidden_max in ((0.0, 0.0, 0.15), (180.0, 0.95, 1.0)):
        pts = (face @ rotation_y(np.radians(yaw)).T) @ flip.T + [0, 0, 600]
        uv = F * pts[:, :2] / pts[:, 2:] + np.array(C)
        for head in (True, False):
            depth = render_depth("face468", pts, present, F, C, SIZE, head=head)
            bp = backproject_landmarks(uv, depth, (F, F, *C))
            assert bp.valid.all()
            hidden = np.mean(bp.depth < pts[:, 2] - 2.0)        # read a surface > 2 mm in front of the landmark
            if head or yaw == 0.0:
                assert hidden_min <= hidden <= hidden_max, (yaw, head, hidden)
            else:
                assert hidden < 0.15                           # the bare mask seen from behind: its inside
    # The closure is a head of adult size: ~16-22 cm from the nose tip to the back.
    vertices, tri = face_head(face)
    assert tri.shape[0] > 898 and vertices.shape == (468 + 2 * 36 + 1, 3)
    assert 160 < face[:, 2].max() - vertices[:, 2].min() < 220
