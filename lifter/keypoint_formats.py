"""Body keypoints of common 2D detectors mapped to ``human17`` (DESIGN.md order), for the app and the CLI.

Every source format is first laid out as MediaPipe Pose's 33 landmarks (only the ones the map uses), then mapped
to ``human17`` with the joint definitions of the CMU rig (``lifter/data/cmu.py``). ``mid(a, b)`` is the midpoint;
a derived joint is visible only when every landmark it is made of is visible. Left/right are the PERSON's in
every format.

| human17     | from MediaPipe Pose                                 | note                                       |
|-------------|-----------------------------------------------------|--------------------------------------------|
| pelvis      | mid(23 left_hip, 24 right_hip)                      | CMU ``Hips``                               |
| r_hip       | 24 right_hip                                        |                                            |
| r_knee      | 26 right_knee                                       |                                            |
| r_ankle     | 28 right_ankle                                      |                                            |
| l_hip       | 23 left_hip                                         |                                            |
| l_knee      | 25 left_knee                                        |                                            |
| l_ankle     | 27 left_ankle                                       |                                            |
| spine       | mid(pelvis, thorax)                                 | derived: mid-torso (CMU ``Spine``)         |
| thorax      | mid(11 left_shoulder, 12 right_shoulder)            | derived (CMU ``Spine1``, approx.)          |
| neck        | mid(thorax, mid(7 left_ear, 8 right_ear))           | derived: upper neck (CMU ``Neck1``)        |
| head        | mid_ears + 0.6 * (mid_ears - thorax)                | derived: top of the head (CMU ``Head`` end)|
| l_shoulder  | 11 left_shoulder                                    |                                            |
| l_elbow     | 13 left_elbow                                       |                                            |
| l_wrist     | 15 left_wrist                                       |                                            |
| r_shoulder  | 12 right_shoulder                                   |                                            |
| r_elbow     | 14 right_elbow                                      |                                            |
| r_wrist     | 16 right_wrist                                      |                                            |

The same map applied to MediaPipe's ``pose_world_landmarks`` (metres) gives its own 3D estimate in ``human17``
order (the app's reference view).

Source formats (:data:`FORMATS`), index in the source -> MediaPipe Pose index; landmarks not listed (nose, eyes,
mouth, hands' and feet's extra points, OpenPose's neck and mid-hip) are not used:

- ``mediapipe33``: MediaPipe Pose / BlazePose, 33 landmarks, used as they are.
- ``coco17``: the COCO keypoint order (0 nose, 1-2 left/right eye, 3-4 left/right ear, 5-6 shoulders, 7-8
  elbows, 9-10 wrists, 11-12 hips, 13-14 knees, 15-16 ankles, left before right), what most 2D pose detectors
  (OpenPose's COCO model, HRNet, ViTPose, RTMPose, Detectron2) output.
- ``body25``: OpenPose BODY_25 (0 nose, 1 neck, 2-4 right shoulder/elbow/wrist, 5-7 left, 8 mid-hip, 9-11 right
  hip/knee/ankle, 12-14 left, 15-16 right/left eye, 17-18 right/left ear, 19-24 feet).
"""

from __future__ import annotations

import numpy as np

#: human17 index -> MediaPipe Pose index, for the joints with a direct counterpart.
POSE_DIRECT: dict[int, int] = {1: 24, 2: 26, 3: 28, 4: 23, 5: 25, 6: 27,
                               11: 11, 12: 13, 13: 15, 14: 12, 15: 14, 16: 16}
#: head top = mid-ears + HEAD_EXTENSION * (mid-ears - thorax)
HEAD_EXTENSION = 0.6
#: MediaPipe Pose's visibility below which a landmark counts as missing (the app's detections and
#: ``python -m lifter.lift --from mediapipe33``): a landmark out of the frame still gets a position, with a
#: visibility of a few hundredths.
MEDIAPIPE_MIN_VISIBILITY = 0.5

#: source format -> (landmark count, {source index: MediaPipe Pose index} for the landmarks the map uses).
FORMATS: dict[str, tuple[int, dict[int, int]]] = {
    "mediapipe33": (33, {k: k for k in (7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)}),
    "coco17": (17, {3: 7, 4: 8, 5: 11, 6: 12, 7: 13, 8: 14, 9: 15, 10: 16, 11: 23, 12: 24, 13: 25, 14: 26,
                    15: 27, 16: 28}),
    "body25": (25, {18: 7, 17: 8, 5: 11, 2: 12, 6: 13, 3: 14, 7: 15, 4: 16, 12: 23, 9: 24, 13: 25, 10: 26,
                    14: 27, 11: 28}),
}


def pose33_to_human17(points: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map MediaPipe Pose landmarks to ``human17`` (the module docstring's table).

    Args:
        points: ``(..., 33, D)`` (D = 2 image pixels or 3 world metres).
        visible: ``(..., 33)`` bool.
    Returns:
        ``(..., 17, D)`` float64 (NaN where not visible) and ``(..., 17)`` bool.
    """
    p = np.asarray(points, dtype=np.float64)
    v = np.asarray(visible, dtype=bool)
    out = np.full(p.shape[:-2] + (17, p.shape[-1]), np.nan)
    vis = np.zeros(p.shape[:-2] + (17,), dtype=bool)
    for j, k in POSE_DIRECT.items():
        out[..., j, :], vis[..., j] = p[..., k, :], v[..., k]

    def mid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a + b) / 2

    pelvis, v_pelvis = mid(p[..., 23, :], p[..., 24, :]), v[..., 23] & v[..., 24]
    thorax, v_thorax = mid(p[..., 11, :], p[..., 12, :]), v[..., 11] & v[..., 12]
    ears, v_ears = mid(p[..., 7, :], p[..., 8, :]), v[..., 7] & v[..., 8]
    derived = {0: (pelvis, v_pelvis), 8: (thorax, v_thorax),
               7: (mid(pelvis, thorax), v_pelvis & v_thorax),
               9: (mid(thorax, ears), v_thorax & v_ears),
               10: (ears + HEAD_EXTENSION * (ears - thorax), v_thorax & v_ears)}
    for j, (value, ok) in derived.items():
        out[..., j, :], vis[..., j] = value, ok
    out[~vis] = np.nan
    return out, vis


def to_human17(points: np.ndarray, visible: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints of a detector's format mapped to ``human17``.

    Args:
        points: ``(..., K, D)`` in ``source``'s order (K its landmark count).
        visible: ``(..., K)`` bool.
        source: a key of :data:`FORMATS` (``mediapipe33``, ``coco17``, ``body25``).
    Returns:
        ``(..., 17, D)`` float64 (NaN where not visible) and ``(..., 17)`` bool.
    Raises:
        ValueError: an unknown format, or a landmark count that is not the format's.
    """
    if source not in FORMATS:
        raise ValueError(f"unknown keypoint format {source!r}; known: {', '.join(FORMATS)}")
    count, table = FORMATS[source]
    p = np.asarray(points, dtype=np.float64)
    v = np.asarray(visible, dtype=bool)
    if p.ndim < 2 or p.shape[-2] != count or v.shape != p.shape[:-1]:
        raise ValueError(f"{source} has {count} keypoints a frame: points (..., {count}, D) with visible "
                         f"(..., {count}), got points {p.shape} and visible {v.shape}")
    pose = np.full(p.shape[:-2] + (33, p.shape[-1]), np.nan)
    pose_vis = np.zeros(p.shape[:-2] + (33,), dtype=bool)
    src, dst = list(table), list(table.values())
    pose[..., dst, :], pose_vis[..., dst] = p[..., src, :], v[..., src]
    return pose33_to_human17(pose, pose_vis)
