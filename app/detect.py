"""MediaPipe detection (legacy ``mediapipe.solutions`` API, models inside the wheel) and the Pose -> human17 map.

Detectors are created lazily, once per process, behind a lock each (a MediaPipe graph is not thread-safe), and
reused by every user. All coordinates returned are in the ORIGINAL image's pixels (MediaPipe's normalised
coordinates times the original width / height), x right, y down.

MediaPipe Pose (33 landmarks) -> ``human17`` (DESIGN.md order): :func:`lifter.keypoint_formats.pose33_to_human17`
(its docstring has the table: which joints are taken as they are and how pelvis, spine, thorax, neck and head are
derived; a derived joint is visible only when every landmark it is made of is). A Pose landmark counts as visible
when its visibility is >= ``min_visibility`` and it lies inside the image. Left/right are the PERSON's
(MediaPipe's convention too). The same map applied to ``pose_world_landmarks``
(metres, origin between the hips, x right, y down, z away from the camera) gives MediaPipe's own 3D estimate in
``human17`` order, the reference view of the app.

Hands: MediaPipe's handedness label assumes a MIRRORED (selfie) image (MediaPipe Hands documentation:
"handedness is determined assuming the input image is mirrored, i.e., taken with a front-facing/selfie camera
with images flipped horizontally. If it is not the case, please swap the handedness output"). For an ordinary
photo the label is therefore swapped: label "Left" is the person's right hand. :func:`detect` takes
``mirrored`` (True for a mirrored selfie/webcam image) and reports the true hand side.

Face Mesh with ``refine_landmarks=True`` gives 478 points; the iris points 468..477 are dropped (``face468``).
Its z "uses roughly the same scale as x" (normalised by the image width; smaller is closer), so
``(x W, y H, z W)`` is MediaPipe's 3D face in pixel units: the face reference view.
"""

from __future__ import annotations

import threading
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from app.config import CONFIG, AppConfig
from app.native_logs import filtered_stderr
from lifter.keypoint_formats import pose33_to_human17


#: The units of MediaPipe's own 3D (a :class:`Detection`'s ``reference3d``) per category: Pose and Hands world
#: landmarks in metres, Face Mesh's x, y, z in the image's pixels.
REFERENCE_UNITS = {"human17": "m", "hand21": "m", "face468": "px"}


@dataclass
class Detection:
    """One detected instance.

    Attributes:
        category: ``human17``, ``hand21`` or ``face468``.
        points2d: ``(N, 2)`` float64 original-image pixels; NaN where missing.
        visible: ``(N,)`` bool.
        reference3d: ``(N, 3)`` MediaPipe's own 3D estimate (Pose/Hands world landmarks in metres, Face Mesh in
            pixel units), camera axes (x right, y down, z away); NaN where unknown. None when not available.
        reference_name: what ``reference3d`` is, for the plot title.
        hand_side: ``"right"`` / ``"left"`` (the person's hand, after the mirror correction) for hands.
        score: detection confidence in 0..1 when MediaPipe gives one.
    """

    category: str
    points2d: np.ndarray
    visible: np.ndarray
    reference3d: np.ndarray | None = None
    reference_name: str = ""
    hand_side: str | None = None
    score: float | None = None
    extra: dict = field(default_factory=dict)


class Detectors:
    """MediaPipe Pose, Hands and Face Mesh, each created on first use and guarded by its own lock."""

    def __init__(self, config: AppConfig = CONFIG) -> None:
        self.config = config
        self._models: dict[str, object] = {}
        self._locks = {k: threading.Lock() for k in ("human17", "hand21", "face468")}
        self._create_lock = threading.Lock()

    def _model(self, category: str):
        with self._create_lock:
            if category not in self._models:
                import mediapipe as mp  # heavy: imported on first use only

                if category == "human17":
                    m = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1,
                                               enable_segmentation=False)
                elif category == "hand21":
                    m = mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2, model_complexity=1)
                else:
                    m = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True,
                                                        max_num_faces=1)
                self._models[category] = m
            return self._models[category]

    def warm_up(self) -> None:
        """Create every detector and run it once (the first call of a MediaPipe graph is slow)."""
        blank = np.zeros((64, 64, 3), dtype=np.uint8)
        for category in self._locks:
            self.detect(blank, category, (64, 64))

    def detect(self, rgb: np.ndarray, category: str, original_size: tuple[int, int], mirrored: bool = False
               ) -> list[Detection]:
        """Find every instance of ``category`` in ``rgb (h, w, 3) uint8``; best first, [] when none.

        ``original_size`` ``(W, H)`` gives the pixels the coordinates are returned in; ``mirrored`` says the
        image is a mirrored selfie (only changes the reported hand side).
        """
        if category not in self._locks:
            raise ValueError(f"MediaPipe detects human17, hand21 and face468, not {category!r}")
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        with filtered_stderr() if category not in self._models else nullcontext():   # MediaPipe's start-up lines
            model = self._model(category)
            with self._locks[category]:
                result = model.process(rgb)
        W, H = original_size
        size = np.array([W, H], dtype=np.float64)
        if category == "human17":
            return self._pose(result, size)
        if category == "hand21":
            return self._hands(result, size, mirrored)
        return self._face(result, size, W)

    def _pose(self, result, size: np.ndarray) -> list[Detection]:
        if result.pose_landmarks is None:
            return []
        lm = result.pose_landmarks.landmark
        xy = np.array([[p.x, p.y] for p in lm]) * size
        vis = np.array([p.visibility for p in lm]) >= self.config.min_visibility
        vis &= _inside(xy, size)
        pts, v = pose33_to_human17(xy, vis)
        ref = None
        if result.pose_world_landmarks is not None:
            world = np.array([[p.x, p.y, p.z] for p in result.pose_world_landmarks.landmark])
            ref, _ = pose33_to_human17(world, np.ones(33, dtype=bool))
        return [Detection("human17", pts, v, ref, "MediaPipe Pose world landmarks (m)",
                          score=float(np.mean([p.visibility for p in lm])))]

    def _hands(self, result, size: np.ndarray, mirrored: bool) -> list[Detection]:
        if not result.multi_hand_landmarks:
            return []
        out = []
        worlds = result.multi_hand_world_landmarks or [None] * len(result.multi_hand_landmarks)
        for lms, handed, world in zip(result.multi_hand_landmarks, result.multi_handedness, worlds):
            xy = np.array([[p.x, p.y] for p in lms.landmark]) * size
            label = handed.classification[0].label          # "Left" / "Right", assuming a mirrored image
            side = label.lower() if mirrored else {"Left": "right", "Right": "left"}[label]
            ref = None if world is None else np.array([[p.x, p.y, p.z] for p in world.landmark])
            vis = _inside(xy, size)
            out.append(Detection("hand21", np.where(vis[:, None], xy, np.nan), vis, ref,
                                 "MediaPipe Hands world landmarks (m)", side, float(handed.classification[0].score)))
        # largest hand first
        out.sort(key=lambda d: -np.nanprod(np.nanmax(d.points2d, 0) - np.nanmin(d.points2d, 0)))
        return out

    def _face(self, result, size: np.ndarray, width: int) -> list[Detection]:
        if not result.multi_face_landmarks:
            return []
        out = []
        for face in result.multi_face_landmarks:
            a = np.array([[p.x, p.y, p.z] for p in face.landmark[:468]])
            xy = a[:, :2] * size
            ref = np.concatenate([xy, a[:, 2:] * width], 1)
            vis = _inside(xy, size)
            out.append(Detection("face468", np.where(vis[:, None], xy, np.nan), vis, ref,
                                 "MediaPipe Face Mesh (x, y, z in px)"))
        return out


def _inside(xy: np.ndarray, size: np.ndarray) -> np.ndarray:
    return np.isfinite(xy).all(-1) & (xy >= 0).all(-1) & (xy <= size).all(-1)


_DETECTORS: Detectors | None = None
_DETECTORS_LOCK = threading.Lock()


def get_detectors() -> Detectors:
    """The process-wide :class:`Detectors` (created once)."""
    global _DETECTORS
    with _DETECTORS_LOCK:
        if _DETECTORS is None:
            _DETECTORS = Detectors()
        return _DETECTORS
