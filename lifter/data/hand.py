"""The synthetic hand model: anatomically proportioned 3D hands in the ``hand21`` landmark order.

How hands are made. A hand is a kinematic skeleton in millimetres. Its size is one number, the *hand length*
(distal wrist crease to the tip of the extended middle finger), drawn per hand from a 50/50 mixture of adult
men, N(189, 9) mm, and women, N(172, 8) mm, clipped to 150..220 mm; the palm width (hand breadth at the
metacarpal heads) is a sex-specific fraction of it (about 0.45). Every bone is a fixed fraction of the hand
length, taken from the joint-centre anthropometry of Buchholz, Armstrong & Goldstein (1992), and each bone and
each knuckle position then gets its own small random deviation (bones: SD 3.5 %, at most 8 %), so no two hands
have exactly the same proportions; a final rescaling (typically by 1-2 %) makes the flat hand's wrist to
middle-fingertip distance exactly the drawn hand length. The four finger knuckles (MCP joints) lie on a gently
curved arc across the palm, the middle one highest and the little finger's lowest, and the thumb's base (CMC
joint) sits near the wrist on the radial (thumb) side, slightly towards the palm. The pose is 20 joint angles
in degrees: for each finger, MCP flexion and abduction and PIP and DIP flexion; for the thumb, CMC flexion and
palmar abduction and MCP and IP flexion. Every angle has an anatomical range (``JOINT_LIMITS``, from clinical
range-of-motion data). ``sample_hands`` mixes *natural* poses (one of the gestures of ``NATURAL_POSES`` -
open, relaxed, fist, point, pinch, OK, V, thumbs up, grasp, ... - with a little per-joint noise, the DIP
following the usual DIP = 2/3 PIP coupling) and *random* poses (every angle uniform within its limits); every
angle always stays within its limits, and fingers are kept from crossing sideways. Forward kinematics
(``hand_joints``) turns shape and angles into the 21 landmarks. Left hands are right hands mirrored in X.

Hand frame (right hand, millimetres): the wrist landmark is the origin; +Y runs along the extended middle
finger (up); +Z is the palm normal, so the palm faces a camera on the +Z axis; +X completes a right-handed
frame. A right hand seen palm-on from +Z has its thumb on the viewer's right, i.e. on +X (hold your right
hand up with the palm towards your face: the thumb points right). So +X is radial (thumb side) and -X is
ulnar (little-finger side). Flexion curls fingers towards +Z. A left hand is the mirror image x -> -x
(thumb on -X, palm still facing +Z); the landmark order does not change.

Angle conventions (degrees, ``ANGLE_NAMES`` order, 4 per digit, thumb first):

- finger ``mcp_flex``: elevation of the proximal phalanx out of the palm plane towards the palm (+Z);
  negative = hyperextension. ``mcp_abd``: sideways angle in the palm plane, measured from the finger's rest
  direction (``FINGER_SPLAY_DEG``), positive = away from the middle finger (for the middle finger itself,
  positive = radial, towards the index). ``pip_flex`` / ``dip_flex``: hinge flexion, 0 = straight.
  The MCP is a Cardan joint (abduction about the palm normal, then flexion about the rotated hinge axis).
- thumb ``cmc_flex``: angle of the first metacarpal in the palm plane, positive = across the palm towards
  the little finger (flexion), negative = radial abduction/extension, 0 = ``THUMB_REST_AZIMUTH_DEG`` from
  +Y. ``cmc_abd``: palmar abduction, elevation of the metacarpal out of the palm plane towards +Z.
  ``mcp_flex`` / ``ip_flex``: hinge flexion of the thumb; the thumb's hinge axes are pronated about its
  own axis (``THUMB_PRONATION_DEG``, more when the thumb is abducted: opposition), so the thumb flexes
  across the palm rather than straight into it.
- The wrist is not articulated: ``hand21`` has no forearm landmark, so a wrist flexion or deviation would be
  a rigid motion of all 21 landmarks, which the benchmark's random cameras already cover.

Sources:

- Buchholz B, Armstrong TJ, Goldstein SA (1992). Anthropometric data for describing the kinematics of the
  human hand. Ergonomics 35(3):261-273 - segment lengths between joint centres as fractions of hand length
  (``SEGMENT_FRACTIONS``), the axial MCP locations and the 0.073 x hand length from the wrist crease to the
  CMC joints (``BASE_POSITIONS``); the same coefficients drive the kinematic hand model of Cobos et al.
  (2008) and Sancho-Bru et al. (2011).
- An KN, Chao EY, Cooney WP, Linscheid RL (1979). Normative model of human hand for biomechanical
  analysis. J Biomech 12(10):775-788 - proximal/middle phalanx ratios, giving the proximal phalanges.
- Buryanov A, Kotiuk V (2010). Proportions of hand segments. Int J Morphol 28(3):755-758 - radiographic
  phalanx lengths, a cross-check of the ratios: their middle/proximal phalanx ratios (about 0.56, 0.59,
  0.62, 0.56 for index..little) agree with ours (0.54, 0.61, 0.64, 0.57) within a few per cent.
- Ibeachu PC, Abu EC, Didia BC (2011). Anthropometric sexual dimorphism of hand length, breadth and hand
  indices. Asian J Med Sci 3(8):146-150 - hand length about 190 mm (men) / 176 mm (women) and hand index
  (breadth / length) 45.2 % / 43.7 %; our means (189 / 172 mm) follow the usual Western adult figures.
- Lin J, Wu Y, Huang TS (2000). Modeling the constraints of human hand motion. Proc. Workshop on Human
  Motion - finger ranges (MCP 0..90, PIP 0..110, DIP 0..90, abduction -15..15) and DIP = 2/3 PIP.
- Cobos S, Ferre M, Sanchez-Uran MA, Ortego J, Pena C (2008). Efficient human hand kinematics for
  manipulation tasks. IROS 2008 - thumb ranges (CMC -25..35 flexion, MCP -10..55, IP -15..80).
- American Academy of Orthopaedic Surgeons (1965). Joint motion: method of measuring and recording; and
  Hume MC et al. (1990). Functional range of motion of the joints of the hand. J Hand Surg Am 15(2):240-243
  - active ranges (MCP about 90-100, PIP 100-105, DIP 85-90, thumb MCP about 50-56, IP about 73-80,
  thumb palmar abduction up to about 70).
- Chatzioglou GN, Pinar Y, Govsa F (2024). Biometric analysis of hand parameters in young adults. Anat Cell
  Biol 57(2):172-182 - maximal angles between neighbouring fingers (index-middle 17 deg, middle-ring 14,
  ring-little 32, thumb-index 53), which bound our abduction ranges and thumb extension.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------------------

#: Digits in landmark order; digit ``d`` owns landmarks ``1 + 4 d .. 4 + 4 d``.
DIGITS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")

#: The 20 pose angles (degrees), 4 per digit, in the order of the angle vectors ``(..., A)``.
ANGLE_NAMES: tuple[str, ...] = (
    "thumb_cmc_flex", "thumb_cmc_abd", "thumb_mcp_flex", "thumb_ip_flex",
    "index_mcp_flex", "index_mcp_abd", "index_pip_flex", "index_dip_flex",
    "middle_mcp_flex", "middle_mcp_abd", "middle_pip_flex", "middle_dip_flex",
    "ring_mcp_flex", "ring_mcp_abd", "ring_pip_flex", "ring_dip_flex",
    "pinky_mcp_flex", "pinky_mcp_abd", "pinky_pip_flex", "pinky_dip_flex",
)

#: Number of pose angles ``A``.
NUM_ANGLES: int = 20

#: Anatomical range of each angle, ``name: (min, max)`` in degrees (conventions in the module docstring).
#: Fingers: MCP flexion -20 (active hyperextension) .. 90 (AAOS; Lin et al. 2000); PIP 0..110 (Lin et al.
#: 2000; AAOS 100, Hume 105); DIP -5..80 (AAOS 0..90 with a few degrees of hyperextension, capped at 80 so
#: that the DIP = 2/3 PIP coupling of natural poses always fits). Abduction about +-15 (Lin et al. 2000),
#: narrower for the middle finger, wider for the index and little finger, bounded by the maximal
#: inter-finger angles of Chatzioglou et al. (2024). Thumb: CMC flexion -25..35 (Cobos et al. 2008), palmar
#: abduction -10..70 (AAOS 0..70), MCP -10..60 and IP -15..80 (Cobos et al. 2008; AAOS; Hume et al. 1990).
JOINT_LIMITS: dict[str, tuple[float, float]] = {
    "thumb_cmc_flex": (-25.0, 35.0),
    "thumb_cmc_abd": (-10.0, 70.0),
    "thumb_mcp_flex": (-10.0, 60.0),
    "thumb_ip_flex": (-15.0, 80.0),
    "index_mcp_flex": (-20.0, 90.0),
    "index_mcp_abd": (-15.0, 20.0),
    "index_pip_flex": (0.0, 110.0),
    "index_dip_flex": (-5.0, 80.0),
    "middle_mcp_flex": (-20.0, 90.0),
    "middle_mcp_abd": (-10.0, 10.0),
    "middle_pip_flex": (0.0, 110.0),
    "middle_dip_flex": (-5.0, 80.0),
    "ring_mcp_flex": (-20.0, 90.0),
    "ring_mcp_abd": (-15.0, 15.0),
    "ring_pip_flex": (0.0, 110.0),
    "ring_dip_flex": (-5.0, 80.0),
    "pinky_mcp_flex": (-20.0, 90.0),
    "pinky_mcp_abd": (-15.0, 25.0),
    "pinky_pip_flex": (0.0, 110.0),
    "pinky_dip_flex": (-5.0, 80.0),
}

#: Hand length (wrist crease to middle fingertip, flat hand) per sex: ``(mean, sd)`` in mm. A hand is male
#: or female with probability 1/2 (see the module docstring for sources).
HAND_LENGTH_MM: dict[str, tuple[float, float]] = {"male": (189.0, 9.0), "female": (172.0, 8.0)}

#: Every sampled hand length lies in this range (mm): about +-2.5 to 3 SD around the two means.
HAND_LENGTH_RANGE_MM: tuple[float, float] = (150.0, 220.0)

#: Palm width (hand breadth at the metacarpal heads) as a fraction of hand length: ``(mean, sd)`` per sex
#: (Ibeachu et al. 2011 hand index 45.2 % / 43.7 %).
PALM_WIDTH_RATIO: dict[str, tuple[float, float]] = {"male": (0.452, 0.018), "female": (0.437, 0.018)}

#: Joint-centre segment lengths as fractions of hand length. Thumb: metacarpal (CMC -> MCP), proximal
#: phalanx (MCP -> IP), distal phalanx (IP -> tip), all from Buchholz et al. (1992). Fingers: proximal
#: (MCP -> PIP), middle (PIP -> DIP) and distal (DIP -> tip) phalanx; middle and distal from Buchholz et al.
#: (1992), proximal from An et al.'s (1979) proximal/middle ratios (1.85, 1.63, 1.57, 1.76) applied to them,
#: as in Cobos et al. (2008). Check: wrist crease -> middle MCP (0.446, ``BASE_POSITIONS``) plus the middle
#: finger's segments is 1.001 hand lengths. The finger metacarpals are the rigid palm (``BASE_POSITIONS``).
SEGMENT_FRACTIONS: dict[str, tuple[float, float, float]] = {
    "thumb": (0.251, 0.196, 0.158),
    "index": (0.265, 0.143, 0.097),
    "middle": (0.277, 0.170, 0.108),
    "ring": (0.259, 0.165, 0.107),
    "pinky": (0.206, 0.117, 0.093),
}

#: Position of each digit's base joint (thumb CMC, finger MCPs) in the hand frame of a right hand, as
#: ``(x / palm width, y / hand length, z / hand length)``. The y values are Buchholz et al.'s (1992) axial
#: MCP locations: 0.073 (wrist crease to the CMC joints) plus the metacarpal (index 0.374, middle 0.373,
#: ring 0.336, little 0.295), the index lowered a little so that the knuckles form a smooth arc highest at
#: the middle finger; x spaces the knuckles about 20 / 17 / 16 mm apart on an average hand (our choice);
#: z > 0 puts the outer knuckles slightly palmar of the middle one (the transverse metacarpal arch). The
#: thumb CMC (trapeziometacarpal joint) sits radial and a little distal of the wrist crease (Buchholz et
#: al.: 0.073 hand length distal, about 0.2 hand breadth radial), and slightly palmar (the trapezium).
BASE_POSITIONS: dict[str, tuple[float, float, float]] = {
    "thumb": (0.22, 0.08, 0.045),
    "index": (0.235, 0.440, 0.010),
    "middle": (0.0, 0.446, 0.0),
    "ring": (-0.205, 0.409, 0.008),
    "pinky": (-0.395, 0.368, 0.022),
}

#: Rest direction of each finger in the palm plane (degrees from +Y, positive towards +X = radial): the
#: slight fan of a relaxed flat hand. ``mcp_abd`` is measured from here.
FINGER_SPLAY_DEG: dict[str, float] = {"index": 4.0, "middle": 0.0, "ring": -4.0, "pinky": -9.0}

#: Sign that turns ``mcp_abd`` into a palm-plane angle towards +X (abduction = away from the middle finger).
ABDUCTION_SIGN: dict[str, float] = {"index": 1.0, "middle": 1.0, "ring": -1.0, "pinky": -1.0}

#: Direction of the thumb metacarpal at ``cmc_flex = cmc_abd = 0`` (degrees from +Y towards +X, in the palm
#: plane): the thumb lying beside the index in a flat hand, about 30 deg from the index.
THUMB_REST_AZIMUTH_DEG: float = 30.0

#: Axial pronation of the thumb's MCP/IP hinge (degrees, about the metacarpal): ``rest + per_abd x cmc_abd``.
#: 0 would make the thumb flex straight into the palm like a finger; 90 flexes it within the palm plane.
#: Opposition (palmar abduction) pronates the thumb further so that its pulp faces the fingers.
THUMB_PRONATION_DEG: tuple[float, float] = (65.0, 0.35)

#: Per-sample shape variation: relative SD of each bone length (clipped at +-``BONE_JITTER_CLIP``), SD of
#: the base joint positions (x in palm widths, y and z in hand lengths).
BONE_JITTER_SD: float = 0.035
BONE_JITTER_CLIP: float = 0.08
BASE_JITTER_SD: tuple[float, float, float] = (0.02, 0.01, 0.005)

#: Neighbouring fingers may converge (the more radial one pointing towards the more ulnar one) by at most
#: this many degrees in the palm plane; sampled abductions beyond it are shrunk towards neutral.
MAX_FINGER_CONVERGENCE_DEG: float = 6.0

#: Noise of natural poses (degrees, Gaussian SD): per flexion angle, per abduction angle, per thumb angle,
#: a curl shared by all finger flexions of a hand, and the DIP's deviation from its 2/3 PIP coupling.
NATURAL_NOISE_DEG: dict[str, float] = {"flex": 6.0, "abd": 3.0, "thumb": 5.0, "curl": 6.0, "dip": 3.0}

#: Named gestures, each an angle vector ``(A,)`` in ``ANGLE_NAMES`` order (degrees). Rows: thumb
#: (cmc_flex, cmc_abd, mcp_flex, ip_flex), then index, middle, ring, pinky (mcp_flex, mcp_abd, pip_flex,
#: dip_flex). DIP is about 2/3 of PIP throughout. In ``fist`` and the curled fingers of other gestures the
#: ring and little fingers adduct a little, as curled fingers converge towards the thenar.
NATURAL_POSES: dict[str, np.ndarray] = {
    # flat hand, fingers together, thumb beside the index
    "open": np.array((
        0.0, 0.0, 5.0, 5.0,
        0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0,
    )),
    # the resting posture: a cascade of flexion increasing from index to little finger
    "relaxed": np.array((
        5.0, 30.0, 15.0, 15.0,
        20.0, 2.0, 30.0, 20.0,
        25.0, 0.0, 38.0, 25.0,
        30.0, 2.0, 42.0, 28.0,
        35.0, 4.0, 45.0, 30.0,
    )),
    "fist": np.array((
        20.0, 30.0, 40.0, 35.0,
        85.0, 0.0, 100.0, 65.0,
        88.0, 0.0, 102.0, 68.0,
        88.0, -4.0, 100.0, 67.0,
        85.0, -8.0, 95.0, 63.0,
    )),
    # index extended, other fingers curled, thumb over the middle finger
    "point": np.array((
        20.0, 30.0, 35.0, 30.0,
        0.0, 0.0, 0.0, 0.0,
        85.0, 0.0, 100.0, 65.0,
        85.0, -4.0, 100.0, 67.0,
        82.0, -8.0, 95.0, 63.0,
    )),
    # precision pinch: thumb pulp meets index pulp, other fingers loosely flexed
    "pinch": np.array((
        14.0, 36.0, 14.0, 15.0,
        43.0, 0.0, 47.0, 31.0,
        40.0, 0.0, 50.0, 33.0,
        45.0, 0.0, 50.0, 33.0,
        50.0, 0.0, 50.0, 33.0,
    )),
    # all digits extended and spread
    "spread": np.array((
        -20.0, 10.0, 0.0, 0.0,
        0.0, 15.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0,
        0.0, 10.0, 0.0, 0.0,
        0.0, 18.0, 0.0, 0.0,
    )),
    # thumb and index form a ring, the other fingers extended and slightly spread
    "ok": np.array((
        10.0, 36.0, 20.0, 22.0,
        40.0, 0.0, 60.0, 40.0,
        10.0, 0.0, 10.0, 5.0,
        10.0, 5.0, 10.0, 5.0,
        10.0, 10.0, 10.0, 5.0,
    )),
    # V sign: index and middle extended and spread, ring and little curled under the thumb
    "peace": np.array((
        25.0, 30.0, 35.0, 30.0,
        0.0, 12.0, 0.0, 0.0,
        0.0, -8.0, 0.0, 0.0,
        85.0, -4.0, 100.0, 67.0,
        82.0, -8.0, 95.0, 63.0,
    )),
    # fist with the thumb extended
    "thumbs_up": np.array((
        15.0, 15.0, 0.0, -5.0,
        85.0, 0.0, 100.0, 65.0,
        88.0, 0.0, 102.0, 68.0,
        88.0, -4.0, 100.0, 67.0,
        85.0, -8.0, 95.0, 63.0,
    )),
    # power grasp of a cylinder about 40 mm across, thumb opposed
    "grasp": np.array((
        15.0, 50.0, 30.0, 30.0,
        45.0, 0.0, 70.0, 45.0,
        48.0, 0.0, 72.0, 48.0,
        50.0, -2.0, 70.0, 46.0,
        52.0, -5.0, 68.0, 45.0,
    )),
    # index and little finger extended, middle and ring curled under the thumb
    "rock": np.array((
        25.0, 30.0, 35.0, 30.0,
        0.0, 5.0, 0.0, 0.0,
        85.0, 0.0, 100.0, 65.0,
        85.0, -4.0, 100.0, 67.0,
        0.0, 10.0, 0.0, 0.0,
    )),
}


# ---------------------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandShape:
    """The bone geometry of a batch of B right hands (mm, hand frame of the module docstring).

    Attributes:
        hand_length: ``(B,)`` wrist crease to middle fingertip of the flat hand; it is exact: the sum of the
            middle MCP height and the middle finger's three segments.
        palm_width: ``(B,)`` hand breadth at the metacarpal heads (the scale of the knuckles' x positions).
        bases: ``(B, 5, 3)`` positions of the digits' base joints: thumb CMC, then index..pinky MCP.
        bone_lengths: ``(B, 5, 3)`` the three movable segments of each digit (thumb: CMC->MCP, MCP->IP,
            IP->tip; fingers: MCP->PIP, PIP->DIP, DIP->tip).
    """

    hand_length: np.ndarray
    palm_width: np.ndarray
    bases: np.ndarray
    bone_lengths: np.ndarray

    def __len__(self) -> int:
        return int(self.hand_length.shape[0])

    def __getitem__(self, index: int | slice | np.ndarray) -> HandShape:
        """A sub-batch (an integer index keeps a batch of one)."""
        if isinstance(index, (int, np.integer)):
            index = np.array([int(index)])
        return HandShape(self.hand_length[index], self.palm_width[index], self.bases[index],
                         self.bone_lengths[index])

    @classmethod
    def mean(cls, n: int = 1, hand_length: float | None = None) -> HandShape:
        """The average hand (no jitter) repeated ``n`` times; ``hand_length`` defaults to the mean of the
        two sexes' means (about 180.5 mm), with the average palm-width ratio."""
        if hand_length is None:
            hand_length = 0.5 * (HAND_LENGTH_MM["male"][0] + HAND_LENGTH_MM["female"][0])
        ratio = 0.5 * (PALM_WIDTH_RATIO["male"][0] + PALM_WIDTH_RATIO["female"][0])
        hl = np.full(n, float(hand_length))
        return _build_shape(hl, hl * ratio, np.zeros((n, 5, 3)), np.zeros((n, 5, 3)))


def _build_shape(hand_length: np.ndarray, palm_width: np.ndarray, base_jitter: np.ndarray,
                 bone_jitter: np.ndarray) -> HandShape:
    """Shape from ``(B,)`` hand lengths and palm widths and the ``(B, 5, 3)`` jitters (base positions in the
    units of ``BASE_POSITIONS``; bones relative), rescaled so that the flat middle finger ends exactly at
    ``hand_length``."""
    base_frac = np.array([BASE_POSITIONS[d] for d in DIGITS]) + base_jitter          # (B, 5, 3)
    seg_frac = np.array([SEGMENT_FRACTIONS[d] for d in DIGITS]) * (1.0 + bone_jitter)  # (B, 5, 3)
    # The flat middle finger runs straight up from its MCP at (x, y, z); its tip lies at distance
    # |(x, y + L, z)| from the wrist: solve for the scale s (in mm per hand-length unit) making it hand_length.
    xw = base_frac[:, 2, 0] * palm_width                                             # mm, not scaled by s
    y_unit = base_frac[:, 2, 1] + seg_frac[:, 2].sum(-1)                             # in units of s
    z_unit = base_frac[:, 2, 2]
    s = np.sqrt(np.maximum(hand_length ** 2 - xw ** 2, 1e-9) / (y_unit ** 2 + z_unit ** 2))
    bases = np.empty_like(base_frac)
    bases[..., 0] = base_frac[..., 0] * palm_width[:, None]
    bases[..., 1] = base_frac[..., 1] * s[:, None]
    bases[..., 2] = base_frac[..., 2] * s[:, None]
    return HandShape(hand_length.astype(np.float64), palm_width.astype(np.float64), bases,
                     seg_frac * s[:, None, None])


def sample_shapes(n: int, rng: np.random.Generator) -> HandShape:
    """``n`` random adult right hands: sex 50/50, hand length from ``HAND_LENGTH_MM`` clipped to
    ``HAND_LENGTH_RANGE_MM``, palm width from ``PALM_WIDTH_RATIO``, then per-bone length jitter
    (``BONE_JITTER_SD``, clipped at +-``BONE_JITTER_CLIP``) and base-joint jitter (``BASE_JITTER_SD``)."""
    male = rng.random(n) < 0.5
    mu = np.where(male, HAND_LENGTH_MM["male"][0], HAND_LENGTH_MM["female"][0])
    sd = np.where(male, HAND_LENGTH_MM["male"][1], HAND_LENGTH_MM["female"][1])
    hand_length = np.clip(mu + sd * rng.standard_normal(n), *HAND_LENGTH_RANGE_MM)
    r_mu = np.where(male, PALM_WIDTH_RATIO["male"][0], PALM_WIDTH_RATIO["female"][0])
    r_sd = np.where(male, PALM_WIDTH_RATIO["male"][1], PALM_WIDTH_RATIO["female"][1])
    ratio = r_mu + r_sd * np.clip(rng.standard_normal(n), -2.5, 2.5)
    base_jitter = np.clip(rng.standard_normal((n, 5, 3)), -2.5, 2.5) * np.array(BASE_JITTER_SD)
    base_jitter[:, 2, 0] = 0.0                      # the middle MCP defines the hand's long axis (x = 0)
    bone_jitter = np.clip(BONE_JITTER_SD * rng.standard_normal((n, 5, 3)), -BONE_JITTER_CLIP, BONE_JITTER_CLIP)
    return _build_shape(hand_length, hand_length * ratio, base_jitter, bone_jitter)


# ---------------------------------------------------------------------------------------------------------
# Angles
# ---------------------------------------------------------------------------------------------------------


def joint_limits() -> np.ndarray:
    """``JOINT_LIMITS`` as an ``(A, 2)`` array of (min, max) degrees in ``ANGLE_NAMES`` order."""
    return np.array([JOINT_LIMITS[name] for name in ANGLE_NAMES], dtype=np.float64)


def angle_index(name: str) -> int:
    """Position of an angle in the ``(..., A)`` vectors; raises ``KeyError`` listing the valid names."""
    try:
        return ANGLE_NAMES.index(name)
    except ValueError:
        raise KeyError(f"no hand angle {name!r}; the angles are {list(ANGLE_NAMES)}") from None


def clip_to_limits(angles: np.ndarray) -> np.ndarray:
    """``(..., A)`` angles clipped into ``JOINT_LIMITS`` (a new array)."""
    lim = joint_limits()
    return np.clip(np.asarray(angles, dtype=np.float64), lim[:, 0], lim[:, 1])


def _finger_azimuth(angles: np.ndarray) -> np.ndarray:
    """``(B, 4)`` palm-plane direction (degrees towards +X) of the index..pinky proximal phalanges."""
    splay = np.array([FINGER_SPLAY_DEG[d] for d in DIGITS[1:]])
    sign = np.array([ABDUCTION_SIGN[d] for d in DIGITS[1:]])
    return splay + sign * angles[:, 5::4]


def _limit_convergence(angles: np.ndarray, max_rounds: int = 20) -> np.ndarray:
    """Shrink the finger abductions of ``(B, A)`` angles (in place) towards neutral, hand by hand, until no
    finger points more than ``MAX_FINGER_CONVERGENCE_DEG`` towards its ulnar neighbour. Neutral (0) always
    satisfies the rule and lies within the limits, so the result does too."""
    for _ in range(max_rounds):
        az = _finger_azimuth(angles)
        bad = (np.diff(az, axis=1) > MAX_FINGER_CONVERGENCE_DEG).any(axis=1)   # az[j+1] - az[j]: ulnar - radial
        if not bad.any():
            return angles
        angles[np.ix_(bad, [5, 9, 13, 17])] *= 0.7
    az = _finger_azimuth(angles)
    bad = (np.diff(az, axis=1) > MAX_FINGER_CONVERGENCE_DEG).any(axis=1)
    angles[np.ix_(bad, [5, 9, 13, 17])] = 0.0
    return angles


# ---------------------------------------------------------------------------------------------------------
# Forward kinematics
# ---------------------------------------------------------------------------------------------------------


def _digit_directions(azimuth: np.ndarray, elevation: np.ndarray, roll: np.ndarray, flex1: np.ndarray,
                      flex2: np.ndarray) -> np.ndarray:
    """Unit directions ``(..., 3, 3)`` of a digit's three segments (all inputs ``(...)`` radians).

    The digit's base frame has x = (cos az, -sin az, 0) (hinge, radial), y = (sin az, cos az, 0) (rest
    direction, palm plane) and z = +Z (palmar). Segment 1 is ``Rx(elevation) y``; the distal hinge is rolled
    by ``roll`` about segment 1 (``Ry(-roll)``), then segments 2 and 3 flex by ``flex1`` and
    ``flex1 + flex2`` about it. Fingers: elevation = MCP flexion, roll = 0, flex = PIP, DIP. Thumb:
    elevation = CMC palmar abduction, roll = pronation, flex = MCP, IP.
    """
    ce, se = np.cos(elevation), np.sin(elevation)
    cr, sr = np.cos(roll), np.sin(roll)
    ca, sa = np.cos(azimuth), np.sin(azimuth)
    cum = np.stack([np.zeros_like(flex1), flex1, flex1 + flex2], -1)               # (..., 3)
    cf, sf = np.cos(cum), np.sin(cum)
    # local, after Ry(-roll) Rx(cum): (-sin(roll) sf, cf, cos(roll) sf); then Rx(elevation)
    lx = -sr[..., None] * sf
    ly = ce[..., None] * cf - se[..., None] * cr[..., None] * sf
    lz = se[..., None] * cf + ce[..., None] * cr[..., None] * sf
    gx = lx * ca[..., None] + ly * sa[..., None]
    gy = -lx * sa[..., None] + ly * ca[..., None]
    return np.stack([gx, gy, lz], -1)


def hand_joints(shape: HandShape, angles: np.ndarray, left: bool | np.ndarray = False) -> np.ndarray:
    """Forward kinematics: the 21 ``hand21`` landmarks ``(B, 21, 3)`` float64 mm in the hand frame.

    Args:
        shape: B hands (or 1, broadcast over the angles).
        angles: ``(B, A)`` or ``(A,)`` degrees in ``ANGLE_NAMES`` order; not clipped (clip with
            ``clip_to_limits`` if they may leave ``JOINT_LIMITS``).
        left: bool or ``(B,)`` bool: mirror those hands in X (a left hand).
    """
    a = np.atleast_2d(np.asarray(angles, dtype=np.float64))
    if a.shape[-1] != NUM_ANGLES:
        raise ValueError(f"angles must be (B, {NUM_ANGLES}); got {a.shape}")
    b = max(len(shape), a.shape[0])
    if len(shape) not in (1, b) or a.shape[0] not in (1, b):
        raise ValueError(f"{len(shape)} shapes do not match {a.shape[0]} angle vectors")
    a = np.broadcast_to(a, (b, NUM_ANGLES))
    bases = np.broadcast_to(shape.bases, (b, 5, 3))
    lengths = np.broadcast_to(shape.bone_lengths, (b, 5, 3))
    r = np.radians(a)
    thumb_az = np.radians(THUMB_REST_AZIMUTH_DEG) - r[:, 0]
    pron = np.radians(THUMB_PRONATION_DEG[0]) + THUMB_PRONATION_DEG[1] * r[:, 1]
    azimuth = np.concatenate([thumb_az[:, None], np.radians(_finger_azimuth(a))], 1)   # (B, 5)
    elevation = np.concatenate([r[:, 1:2], r[:, 4::4]], 1)
    roll = np.concatenate([pron[:, None], np.zeros((b, 4))], 1)
    flex1 = np.concatenate([r[:, 2:3], r[:, 6::4]], 1)
    flex2 = np.concatenate([r[:, 3:4], r[:, 7::4]], 1)
    dirs = _digit_directions(azimuth, elevation, roll, flex1, flex2)                   # (B, 5, 3, 3)
    chain = bases[:, :, None, :] + np.cumsum(lengths[..., None] * dirs, axis=2)       # (B, 5, 3, 3)
    out = np.zeros((b, 21, 3))
    out[:, 1::4] = bases
    out[:, 2::4] = chain[:, :, 0]
    out[:, 3::4] = chain[:, :, 1]
    out[:, 4::4] = chain[:, :, 2]
    return mirror_x(out, left)


def mirror_x(points: np.ndarray, left: bool | np.ndarray = True) -> np.ndarray:
    """``(B, N, 3)`` points with x negated where ``left`` (bool or ``(B,)``): right <-> left hand."""
    left = np.broadcast_to(np.asarray(left, dtype=bool), points.shape[:1])
    out = np.array(points, copy=True)
    out[left, :, 0] *= -1.0
    return out


# ---------------------------------------------------------------------------------------------------------
# Measuring angles back from landmarks
# ---------------------------------------------------------------------------------------------------------


def _signed_angle(u: np.ndarray, v: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Angle (degrees) from ``u`` to ``v`` (``(..., 3)``), positive when ``u x v`` points along
    ``reference`` (a vector on the hinge axis's positive side)."""
    cross = np.cross(u, v)
    mag = np.degrees(np.arctan2(np.linalg.norm(cross, axis=-1), (u * v).sum(-1)))
    return np.where((cross * reference).sum(-1) < 0.0, -mag, mag)


def measure_angles(points: np.ndarray, left: bool | np.ndarray = False) -> dict[str, np.ndarray]:
    """Recover all 20 pose angles (degrees, ``{name: (B,)}``) from ``(B, 21, 3)`` landmarks in the hand frame.

    The inverse of ``hand_joints`` for any shape (bone lengths and base positions do not matter): MCP
    flexion and thumb palmar abduction are elevations out of the palm plane, abductions and thumb CMC
    flexion are palm-plane directions relative to their rest directions, and the hinge flexions (PIP, DIP,
    thumb MCP and IP) are signed angles between consecutive bone vectors. The abduction of a finger whose
    MCP is flexed to 90 degrees (proximal phalanx along +Z) is undefined and comes out arbitrary.
    Points must be in the hand frame (as ``hand_joints`` / ``sample_hands`` return them); ``left`` says which
    hands are mirrored left hands.
    """
    p = mirror_x(np.asarray(points, dtype=np.float64), left)
    seg = p[:, 1:].reshape(-1, 5, 4, 3)                                   # (B, 5, 4, 3) base..tip per digit
    bones = np.diff(seg, axis=2)
    bones /= np.linalg.norm(bones, axis=-1, keepdims=True)                # (B, 5, 3, 3)
    b1 = bones[:, :, 0]
    elevation = np.degrees(np.arctan2(b1[..., 2], np.hypot(b1[..., 0], b1[..., 1])))   # (B, 5)
    azimuth = np.degrees(np.arctan2(b1[..., 0], b1[..., 1]))
    # Hinge axes: fingers (cos az, -sin az, 0) has x > 0; the pronated thumb hinge has z > 0.
    ref = np.zeros((1, 5, 3))
    ref[0, 0, 2] = 1.0
    ref[0, 1:, 0] = 1.0
    flex1 = _signed_angle(bones[:, :, 0], bones[:, :, 1], ref)
    flex2 = _signed_angle(bones[:, :, 1], bones[:, :, 2], ref)
    out: dict[str, np.ndarray] = {
        "thumb_cmc_flex": THUMB_REST_AZIMUTH_DEG - azimuth[:, 0],
        "thumb_cmc_abd": elevation[:, 0],
        "thumb_mcp_flex": flex1[:, 0],
        "thumb_ip_flex": flex2[:, 0],
    }
    for k, digit in enumerate(DIGITS[1:], start=1):
        out[f"{digit}_mcp_flex"] = elevation[:, k]
        out[f"{digit}_mcp_abd"] = ABDUCTION_SIGN[digit] * (azimuth[:, k] - FINGER_SPLAY_DEG[digit])
        out[f"{digit}_pip_flex"] = flex1[:, k]
        out[f"{digit}_dip_flex"] = flex2[:, k]
    return {name: out[name] for name in ANGLE_NAMES}


def measure_flexion(points: np.ndarray, left: bool | np.ndarray = False) -> dict[str, np.ndarray]:
    """The flexion angles only (degrees, ``{name: (B,)}``): every finger's MCP, PIP and DIP flexion and the
    thumb's MCP and IP flexion, measured from ``(B, 21, 3)`` hand-frame landmarks (see ``measure_angles``)."""
    angles = measure_angles(points, left)
    return {k: v for k, v in angles.items() if k.endswith("_flex") and k != "thumb_cmc_flex"}


# ---------------------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandSample:
    """A batch of n sampled hands.

    Attributes:
        points: ``(n, 21, 3)`` float32 mm, hand frame, left hands mirrored.
        angles: ``(n, A)`` float32 degrees, within ``JOINT_LIMITS``.
        shape: the n right-hand shapes (before mirroring).
        left: ``(n,)`` bool, the mirrored (left) hands.
        pose: ``(n,)`` int, index into ``list(NATURAL_POSES)`` of a natural pose, -1 for a random pose.
    """

    points: np.ndarray
    angles: np.ndarray
    shape: HandShape
    left: np.ndarray
    pose: np.ndarray


def sample_angles(n: int, rng: np.random.Generator, natural_fraction: float = 0.6
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pose angle vectors ``(n, A)`` float64 degrees and their pose ids ``(n,)`` (-1 = random).

    A hand is natural with probability ``natural_fraction``: a uniformly chosen gesture of ``NATURAL_POSES``
    plus Gaussian noise (``NATURAL_NOISE_DEG``: per joint, plus a curl shared by the finger flexions; the
    DIP follows its PIP's noise by 2/3). Otherwise every angle is uniform within ``JOINT_LIMITS``. All are
    then clipped to the limits and cleared of sideways finger crossings (``MAX_FINGER_CONVERGENCE_DEG``).
    """
    if not 0.0 <= natural_fraction <= 1.0:
        raise ValueError(f"natural_fraction must be in [0, 1]; got {natural_fraction}")
    lim = joint_limits()
    natural = rng.random(n) < natural_fraction
    table = np.stack(list(NATURAL_POSES.values()))                                    # (P, A)
    pose = np.where(natural, rng.integers(0, len(table), n), -1)
    uniform = lim[:, 0] + (lim[:, 1] - lim[:, 0]) * rng.random((n, NUM_ANGLES))
    noise = rng.standard_normal((n, NUM_ANGLES))
    curl = NATURAL_NOISE_DEG["curl"] * rng.standard_normal((n, 1))
    sd = np.full(NUM_ANGLES, NATURAL_NOISE_DEG["flex"])
    sd[:4] = NATURAL_NOISE_DEG["thumb"]
    sd[5::4] = NATURAL_NOISE_DEG["abd"]
    delta = sd * noise
    delta[:, 4::4] += curl                                                             # MCP
    delta[:, 6::4] += curl                                                             # PIP
    delta[:, 7::4] = 2.0 / 3.0 * delta[:, 6::4] + NATURAL_NOISE_DEG["dip"] * noise[:, 7::4]
    noisy = table[np.maximum(pose, 0)] + delta
    angles = np.where(natural[:, None], noisy, uniform)
    angles = np.clip(angles, lim[:, 0], lim[:, 1])
    return _limit_convergence(angles), pose


def sample_hand_batch(n: int, rng: np.random.Generator, natural_fraction: float = 0.6,
                      left_fraction: float = 0.0) -> HandSample:
    """``n`` random hands with everything that made them (see ``sample_hands``)."""
    if not 0.0 <= left_fraction <= 1.0:
        raise ValueError(f"left_fraction must be in [0, 1]; got {left_fraction}")
    shape = sample_shapes(n, rng)
    angles, pose = sample_angles(n, rng, natural_fraction)
    left = rng.random(n) < left_fraction
    points = hand_joints(shape, angles, left)
    return HandSample(points.astype(np.float32), angles.astype(np.float32), shape, left, pose)


def sample_hands(n: int, rng: np.random.Generator, natural_fraction: float = 0.6,
                 left_fraction: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random adult hands: ``(points (n, 21, 3) float32 mm, angles (n, A) float32 degrees)``.

    Shapes come from ``sample_shapes``; a fraction ``natural_fraction`` of the poses are noisy
    ``NATURAL_POSES`` and the rest uniform within ``JOINT_LIMITS`` (``sample_angles``); a fraction
    ``left_fraction`` of the hands are mirrored into left hands (x -> -x). Points are in the hand frame
    (wrist at the origin, fingers +Y, palm +Z). The same ``rng`` state gives the same hands.
    """
    batch = sample_hand_batch(n, rng, natural_fraction, left_fraction)
    return batch.points, batch.angles
