"""MediaPipe's results read into landmarks, with the results faked as MediaPipe returns them (normalised x, y, a
visibility, a handedness label): landmarks outside the image are not visible, the largest hand comes first, and
a face's depth is in pixels of the image's width, as Face Mesh scales it."""

from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np

from app.detect import Detectors


def _landmarks(xyz: np.ndarray, visibility: float = 1.0) -> NS:
    return NS(landmark=[NS(x=float(p[0]), y=float(p[1]), z=float(p[2]), visibility=visibility) for p in xyz])


class _Model:
    def __init__(self, result) -> None:
        self.result = result

    def process(self, rgb):
        return self.result


def _detectors(category: str, result) -> Detectors:
    d = Detectors()
    d._models[category] = _Model(result)            # what _model would create, created already
    return d


def test_pose_landmarks_outside_the_image_are_not_visible() -> None:
    xyz = np.column_stack([np.linspace(0.2, 0.8, 33), np.linspace(0.2, 0.8, 33), np.zeros(33)])
    xyz[15] = (1.2, 0.5, 0.0)                       # left wrist beyond the right edge
    xyz[16] = (0.5, -0.1, 0.0)                      # right wrist above the top
    result = NS(pose_landmarks=_landmarks(xyz), pose_world_landmarks=None)
    (det,) = _detectors("human17", result).detect(np.zeros((100, 200, 3), np.uint8), "human17", (400, 200))
    from lifter.skeletons import get_category

    names = get_category("human17").landmarks
    assert not det.visible[names.index("l_wrist")] and not det.visible[names.index("r_wrist")]
    assert det.visible[names.index("l_elbow")]
    np.testing.assert_allclose(det.points2d[names.index("l_elbow")], xyz[13, :2] * [400, 200])


def test_the_largest_hand_comes_first_and_a_hand_off_the_image_is_not_visible() -> None:
    small = np.column_stack([np.linspace(0.1, 0.15, 21), np.linspace(0.1, 0.15, 21), np.zeros(21)])
    large = np.column_stack([np.linspace(0.4, 0.9, 21), np.linspace(0.3, 0.8, 21), np.zeros(21)])
    large[20, 0] = -0.05                             # the pinky tip off the left edge
    handed = [NS(classification=[NS(label=label, score=0.9)]) for label in ("Left", "Right")]
    result = NS(multi_hand_landmarks=[_landmarks(small), _landmarks(large)], multi_handedness=handed,
                multi_hand_world_landmarks=None)
    found = _detectors("hand21", result).detect(np.zeros((100, 100, 3), np.uint8), "hand21", (100, 100))
    assert [d.hand_side for d in found] == ["left", "right"]     # the large one, "Right" in a non-mirrored photo
    assert not found[0].visible[20] and np.isnan(found[0].points2d[20]).all() and found[0].visible[:20].all()


def test_a_faces_depth_is_in_pixels_of_the_images_width() -> None:
    xyz = np.column_stack([np.full(478, 0.5), np.full(478, 0.5), np.linspace(-0.1, 0.1, 478)])
    result = NS(multi_face_landmarks=[_landmarks(xyz)])
    (det,) = _detectors("face468", result).detect(np.zeros((100, 200, 3), np.uint8), "face468", (800, 400))
    assert det.reference3d.shape == (468, 3)
    np.testing.assert_allclose(det.reference3d[:, 2], xyz[:468, 2] * 800)
    np.testing.assert_allclose(det.points2d[0], [400.0, 200.0])
