"""CMU motion capture (cgspeed "MotionBuilder-friendly" BVH release) to ``human17`` 3D poses in millimetres.

Data layout: ``<root>/<subject>/<subject>_<take>.bvh`` (see ``../shared/data/README.md`` section 1):
120 fps, Y up, one BVH unit = 0.056444 m, frame 0 of every take is a T-pose (not motion).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lifter.data.bvh import BVHMotion, forward_kinematics, read_bvh

__all__ = ["CMU_UNIT_MM", "HUMAN17_FROM_CMU", "human17_from_motion", "load_cmu_takes"]

CMU_UNIT_MM: float = 56.444
"""One CMU BVH unit in millimetres ((1/0.45) * 2.54 cm = 0.056444 m)."""

# human17 landmark  <- CMU BVH joint
# ----------------------------------------------------------------
#  0 pelvis         <- Hips
#  1 r_hip          <- RightUpLeg
#  2 r_knee         <- RightLeg
#  3 r_ankle        <- RightFoot
#  4 l_hip          <- LeftUpLeg
#  5 l_knee         <- LeftLeg
#  6 l_ankle        <- LeftFoot
#  7 spine          <- Spine
#  8 thorax         <- Spine1
#  9 neck           <- Neck1
# 10 head           <- Head_End   (End Site of Head = top of the head)
# 11 l_shoulder     <- LeftArm
# 12 l_elbow        <- LeftForeArm
# 13 l_wrist        <- LeftHand
# 14 r_shoulder     <- RightArm
# 15 r_elbow        <- RightForeArm
# 16 r_wrist        <- RightHand
# "Left/Right" are the performer's left/right in both conventions.
HUMAN17_FROM_CMU: tuple[str, ...] = (
    "Hips",
    "RightUpLeg", "RightLeg", "RightFoot",
    "LeftUpLeg", "LeftLeg", "LeftFoot",
    "Spine", "Spine1", "Neck1", "Head_End",
    "LeftArm", "LeftForeArm", "LeftHand",
    "RightArm", "RightForeArm", "RightHand",
)


def human17_from_motion(motion: BVHMotion, stride: int = 4, drop_tpose: bool = True) -> np.ndarray:
    """``human17`` joint positions of a CMU take.

    Args:
        motion: a parsed CMU BVH (any rig that has every joint of ``HUMAN17_FROM_CMU``).
        stride: keep every ``stride``-th frame (4: 120 fps -> 30 fps).
        drop_tpose: drop frame 0 (the T-pose) before subsampling.
    Returns:
        ``(F, 17, 3)`` float32 world positions in millimetres, Y up as in the file; ``F`` is
        ``len(range(1 if drop_tpose else 0, num_frames, stride))``. Forward kinematics runs only on those frames.
    Raises:
        ValueError: ``stride < 1``, or the rig lacks required joints (the message names the file and lists
            every missing joint).
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    names = motion.skeleton.names
    missing = [n for n in HUMAN17_FROM_CMU if n not in names]
    if missing:
        raise ValueError(f"{motion.source}: not a CMU rig, missing joints {missing}")
    idx = np.array([names.index(n) for n in HUMAN17_FROM_CMU], dtype=np.int64)
    pos = forward_kinematics(motion, slice(1 if drop_tpose else 0, None, stride))
    return (pos[:, idx] * CMU_UNIT_MM).astype(np.float32)


def load_cmu_takes(
    root: Path, subjects: Sequence[str], stride: int = 4, progress: bool = True
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Load every take ``root/<subject>/*.bvh`` (sorted) of the given subjects as ``human17`` poses.

    Args:
        root: the ``cmu-mocap`` folder.
        subjects: subject folder names, e.g. ``["01", "02"]``, loaded in this order.
        stride: frame subsampling (T-pose frame 0 always dropped), see :func:`human17_from_motion`.
        progress: show a tqdm progress bar over files.
    Returns:
        poses ``(F, 17, 3)`` float32 mm, take ``(F,)`` int64 index into ``names``, and ``names`` the take
        names (file stems, e.g. ``"01_01"``) in load order.
    Raises:
        FileNotFoundError: a subject folder is missing or holds no ``.bvh`` file (message gives the path).
        BVHError / ValueError: a malformed file or a non-CMU rig (message names the file).
    """
    from tqdm import tqdm

    root = Path(root)
    files: list[Path] = []
    for subject in subjects:
        folder = root / subject
        if not folder.is_dir():
            raise FileNotFoundError(f"CMU subject folder not found: {folder}")
        found = sorted(folder.glob("*.bvh"))
        if not found:
            raise FileNotFoundError(f"no .bvh files in CMU subject folder {folder}")
        files.extend(found)
    poses: list[np.ndarray] = []
    takes: list[np.ndarray] = []
    names: list[str] = []
    for k, path in enumerate(tqdm(files, desc="CMU BVH", unit="file", disable=not progress)):
        p = human17_from_motion(read_bvh(path), stride=stride, drop_tpose=True)
        poses.append(p)
        takes.append(np.full(p.shape[0], k, dtype=np.int64))
        names.append(path.stem)
    if not poses:
        return np.zeros((0, 17, 3), np.float32), np.zeros((0,), np.int64), names
    return np.concatenate(poses), np.concatenate(takes), names
