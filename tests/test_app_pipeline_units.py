"""The app pipeline's small functions against closed forms, without MediaPipe: the assumed camera, the depth
baseline's scale between the working copy and the original pixels, a zoomed detection's pixels, which hand is
taken, the face's focal length estimate, the orthographic re-projection's centre, the zoom box's floors, the page
copy's factor and the messages that depend on a count."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from app import pipeline
from app.config import CONFIG
from app.detect import Detection
from app.state import Session
from data_files import face_input
from lifter.geometry import project_perspective
from lifter.shape_basis import MIN_FIT_VISIBLE


def test_assumed_intrinsics_take_the_longer_side_and_the_centre() -> None:
    f = CONFIG.focal_factor
    assert pipeline.assumed_intrinsics((640, 480)) == pytest.approx((f * 640, f * 640, 320.0, 240.0))
    assert pipeline.assumed_intrinsics((480, 640)) == pytest.approx((f * 640, f * 640, 240.0, 320.0))   # portrait


def test_the_depth_baseline_reads_a_downscaled_working_copy_in_the_originals_pixels(monkeypatch) -> None:
    """A photo over ``max_side`` is detected and its depth estimated on a working copy: the landmarks (original
    px) and the assumed intrinsics (of the original) are both scaled to it, so that the back-projection is the
    original's: X = (u - cx) Z / f."""
    status = pipeline.depth_baseline()
    if status.module is None:
        pytest.skip(status.message)
    from lifter.baselines.networks import DepthEstimate

    monkeypatch.setattr(status.module, "estimate_depth",
                        lambda image, network=None: DepthEstimate(np.full(image.shape[:2], 2.0), "flat", False))
    s = Session(image=np.zeros((50, 100, 3), np.uint8), original_size=(200, 100))    # working copy at half size
    s.set_landmarks("human17", np.tile([[120.0, 60.0]], (17, 1)) + np.arange(17)[:, None] * [2.0, 1.0],
                    np.ones(17, bool), detected=True)
    out = pipeline.photo_depth_lift(s)
    f, _, cx, cy = pipeline.assumed_intrinsics((200, 100))
    expected = np.column_stack([(s.points[:, 0] - cx) * 2.0 / f, (s.points[:, 1] - cy) * 2.0 / f, np.full(17, 2.0)])
    np.testing.assert_allclose(out["points3d"], expected, rtol=1e-6, atol=1e-9)


def test_a_depth_module_still_being_written_is_named_not_used(monkeypatch) -> None:
    partial = types.ModuleType("lifter.baselines")
    partial.estimate_depth = lambda image: None
    monkeypatch.setitem(sys.modules, "lifter.baselines", partial)
    status = pipeline.depth_baseline()
    assert status.module is None
    assert "lacks backproject_landmarks, depth_lift, DepthUnavailable" in status.message


class _FakeDetectors:
    """Detections given in the crop's normalised coordinates, as MediaPipe returns them, scaled by the size the
    pipeline passes (:meth:`app.detect.Detectors.detect`)."""

    def __init__(self, found: list[tuple[np.ndarray, np.ndarray, str | None]]):
        self.found = found

    def detect(self, rgb, category, original_size, mirrored=False):
        size = np.asarray(original_size, dtype=np.float64)
        return [Detection(category, xy * size, vis.copy(), hand_side=side) for xy, vis, side in self.found]


def test_a_zoomed_detection_on_a_downscaled_copy_lands_in_the_originals_pixels(monkeypatch) -> None:
    centre = np.full((17, 2), 0.5)                          # every landmark at the middle of what the detector sees
    monkeypatch.setattr(pipeline, "get_detectors", lambda: _FakeDetectors([(centre, np.ones(17, bool), None)]))
    s = Session(image=np.zeros((100, 200, 3), np.uint8), original_size=(400, 200))  # working copy at half size
    s.view = (100.0, 50.0, 300.0, 150.0)
    pipeline.detect_session(s, "Body")
    np.testing.assert_allclose(s.points, np.tile([200.0, 100.0], (17, 1)))          # the view's centre


def test_the_hand_asked_for_is_taken_and_a_missing_one_said(monkeypatch) -> None:
    right = (np.linspace(0.1, 0.3, 42).reshape(21, 2), np.ones(21, bool), "right")
    left = (np.linspace(0.6, 0.9, 42).reshape(21, 2), np.ones(21, bool), "left")
    monkeypatch.setattr(pipeline, "get_detectors", lambda: _FakeDetectors([right, left]))
    s = Session(image=np.zeros((100, 100, 3), np.uint8), original_size=(100, 100))
    msg = pipeline.detect_session(s, "Hand", hand="left")
    assert s.hand_side == "left" and np.allclose(s.points, left[0] * 100)
    assert "2 found (right, left); using the left" in msg
    pipeline.detect_session(s, "Hand", hand="largest")
    assert s.hand_side == "right"                       # the first found (MediaPipe's order)
    monkeypatch.setattr(pipeline, "get_detectors", lambda: _FakeDetectors([right]))
    msg = pipeline.detect_session(s, "Hand", hand="left")
    assert s.hand_side == "right" and "(No left hand found; using the right one.)" in msg


def test_a_detection_with_two_visible_landmarks_asks_for_more(monkeypatch) -> None:
    vis = np.zeros(17, bool)
    vis[:3] = True
    pts = np.random.default_rng(0).uniform(0.2, 0.8, (17, 2))
    monkeypatch.setattr(pipeline, "get_detectors", lambda: _FakeDetectors([(pts, vis, None)]))
    s = Session(image=np.zeros((100, 100, 3), np.uint8), original_size=(100, 100))
    assert "Fewer than 3" not in pipeline.detect_session(s, "Body")
    vis[2] = False
    msg = pipeline.detect_session(s, "Body")
    assert "2 of 17 landmarks visible" in msg and "Fewer than 3 landmarks are visible" in msg
    with pytest.raises(ValueError, match="At least 3 visible landmarks are needed to lift; 2 are"):
        pipeline.lift_session(s)


def _basis_face(hidden: int) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """:func:`data_files.face_input`'s first view (the face basis's mean through a pinhole), its ``hidden``
    leftmost landmarks hidden: ``(pixels (468, 2), visible (468,), focal, principal (2,))``."""
    px, cam, focal, principal = face_input(1)
    vis = np.ones(468, bool)
    vis[np.argsort(cam[0, :, 0])[:hidden]] = False
    return px[0], vis, focal, principal


def test_a_faces_focal_length_is_recovered_from_its_visible_landmarks() -> None:
    """The basis's own shape seen through a pinhole: its focal length comes back (the fit is exact), on the
    rays, and for the fitted shape the focal length is the visible landmarks' mean depth, not all of them."""
    px, vis, focal, principal = _basis_face(hidden=100)
    lift = pipeline.lift_points(np.where(vis[:, None], px, np.nan), "face468", vis)
    on_rays, f = pipeline.estimated_focal_reading(lift, px, "face468", vis, tuple(principal))
    assert f == pytest.approx(focal, rel=1e-4)
    np.testing.assert_allclose(project_perspective(on_rays, f, principal)[vis], px[vis], atol=1e-3)
    fitted, f2 = pipeline.estimated_focal_reading(lift, px, "face468", vis, tuple(principal), fitted_shape=True)
    assert f2 == pytest.approx(fitted[vis, 2].mean()) and f2 == pytest.approx(focal, rel=1e-4)
    assert abs(fitted[:, 2].mean() - f2) > 1.0          # the hidden side's depths are not in it


def test_a_face_says_its_focal_length_was_fitted_from_exactly_enough_landmarks() -> None:
    px, vis, _, principal = _basis_face(hidden=468 - MIN_FIT_VISIBLE)
    s = Session(image=np.zeros((1000, 1000, 3), np.uint8), original_size=(1000, 1000))
    assert pipeline.assumed_intrinsics(s.original_size)[2:] == tuple(principal)
    s.set_landmarks("face468", np.where(vis[:, None], px, np.nan), vis, detected=True)
    assert "estimated by fitting the face's shape basis" in pipeline.lift_session(s)["reading"]
    vis[np.flatnonzero(vis)[0]] = False
    s.set_landmarks("face468", np.where(vis[:, None], px, np.nan), vis, detected=True)
    assert f"{MIN_FIT_VISIBLE - 1} visible landmarks are too few" in pipeline.lift_session(s)["reading"]


def test_the_orthographic_reprojection_is_centred_on_the_visible_landmarks_only() -> None:
    pts = np.array([[10.0, 20.0], [30.0, 40.0], [50.0, 0.0], [500.0, 500.0]])   # the last: finite, not visible
    vis = np.array([True, True, True, False])
    lifted = np.array([[-20.0, 0.0, 1.0], [0.0, 20.0, 2.0], [20.0, -20.0, 3.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(pipeline.reproject(lifted, pts, vis), lifted[:, :2] + [30.0, 20.0])


def test_the_zoom_box_is_at_least_64_px_and_at_most_the_images_shorter_side() -> None:
    box = pipeline.zoom_box(np.array([[150.0, 100.0]]), np.array([True]), (300, 200))
    assert box == pytest.approx((118.0, 68.0, 182.0, 132.0))         # a tenth of 300 px is under the 64 px floor
    box = pipeline.zoom_box(np.array([[50.0, 25.0]]), np.array([True]), (100, 50))
    assert box == pytest.approx((25.0, 0.0, 75.0, 50.0))             # a square of the image's height, not 64 px


def test_the_page_copy_of_a_downscaled_image_maps_original_pixels() -> None:
    s = Session(image=np.zeros((300, 400, 3), np.uint8), original_size=(800, 600))    # working copy at half size
    pipeline.show_view(s, None)
    assert s.display.shape[:2] == (300, 400) and s.display_factor == pytest.approx(0.5)   # display px / original


def test_manual_mode_warns_of_many_landmarks_and_gives_hands_alone_a_side() -> None:
    s = Session(image=np.zeros((100, 100, 3), np.uint8), original_size=(100, 100))
    assert "(468 landmarks: this takes a while.)" in pipeline.start_manual(s, "face468")
    assert "takes a while" not in pipeline.start_manual(s, "hand21")
    assert pipeline.chosen_hand_side("human17", "left") is None
    assert pipeline.chosen_hand_side("hand21", None) == "right"
    assert pipeline.chosen_hand_side("hand21", "left") == "left"


def test_the_points_endpoint_drops_a_missing_landmark_marked_visible() -> None:
    from lifter.data.cameras import render_views
    from lifter.data.hand import sample_hands

    rng = np.random.default_rng(3)
    hands, _ = sample_hands(1, rng)
    pts = render_views(hands, None, rng).points2d[0].tolist()
    pts[4] = None
    out = pipeline.api_lift_points(pts, "hand21", visible=[True] * 21)
    assert out["visible"][4] is False and sum(out["visible"]) == 20
    assert len(out["points3d"]) == 21 and all(np.isfinite(row).all() for row in out["points3d"])  # 4 completed
