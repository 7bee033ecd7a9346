"""The category registry: one source of truth for landmark names, skeleton edges, mirror pairs and colours.

Every category has a fixed landmark order (the public contract of DESIGN.md):

| category  | N   | order                                                                               |
|-----------|-----|-------------------------------------------------------------------------------------|
| human17   | 17  | pelvis, r_hip, r_knee, r_ankle, l_hip, l_knee, l_ankle, spine, thorax, neck, head,  |
|           |     | l_shoulder, l_elbow, l_wrist, r_shoulder, r_elbow, r_wrist (Human3.6M 17-joint)     |
| hand21    | 21  | MediaPipe Hands: 0 wrist, 1-4 thumb (CMC, MCP, IP, tip), 5-8 index, 9-12 middle,    |
|           |     | 13-16 ring, 17-20 pinky (MCP, PIP, DIP, tip)                                        |
| face468   | 468 | MediaPipe Face Mesh vertex indices 0..467                                           |
| chair     | 21  | KeypointNet chair ``semantic_id`` 0..20; a chair lacks some of them (masked)        |

``mirror_pairs`` list the landmarks that swap under a left/right reflection of the object (the performer's
left/right for bodies, the +X/-X sides for chairs and faces). A hand has none: a reflected right hand is a left
hand with the same landmark order. ``groups`` name each landmark's part; ``GROUP_COLOURS`` gives the colour
the app draws it with (and an edge takes the colour of its second landmark's group).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from lifter import face468_tables


@dataclass(frozen=True)
class Category:
    """A landmark category: names, skeleton and drawing scheme.

    Attributes:
        name: registry key, e.g. ``"human17"``.
        landmarks: landmark names in the contract order, length N.
        edges: skeleton edges as index pairs ``(i, j)`` with ``0 <= i, j < N``, drawn as lines.
        mirror_pairs: pairs ``(i, j)`` swapped by a left/right reflection; each index at most once. For
            :attr:`off_symmetry` landmarks the pairs are the relabelling that keeps their numbering's sense
            under a reflection (a swivel chair's feet, numbered around the column: foot k becomes foot 4 - k).
        groups: part name of each landmark, length N (a key of ``GROUP_COLOURS``).
        units: unit of the 3D ground truth in the data files (``"mm"`` or ``"shapenet"``).
        description: one line for the UI.
        symmetric_shape: the 3D shape itself is left/right symmetric (a face, a chair): every distance between
            two landmarks equals the distance between their mirrors. False for articulated objects (a body), where
            only the skeleton edges (bone lengths) are.
        off_symmetry: landmarks that a left/right reflection does not map onto their mirror partner in every
            object, and that need not lie on the symmetry plane either (a swivel chair's five feet): left out of
            the symmetric distances.
    """

    name: str
    landmarks: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    mirror_pairs: tuple[tuple[int, int], ...]
    groups: tuple[str, ...]
    units: str
    description: str = ""
    symmetric_shape: bool = False
    off_symmetry: tuple[int, ...] = ()
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def num_landmarks(self) -> int:
        return len(self.landmarks)

    def index(self, landmark: str) -> int:
        """Index of a landmark by name; raises ``KeyError`` listing the valid names."""
        if not self._index:
            object.__setattr__(self, "_index", {n: i for i, n in enumerate(self.landmarks)})
        try:
            return self._index[landmark]
        except KeyError:
            raise KeyError(f"{self.name} has no landmark {landmark!r}; it has {list(self.landmarks)}") from None

    def mirror_permutation(self) -> tuple[int, ...]:
        """Permutation ``p`` (length N) with ``p[i]`` the landmark that ``i`` becomes under reflection."""
        perm = list(range(self.num_landmarks))
        for i, j in self.mirror_pairs:
            perm[i], perm[j] = j, i
        return tuple(perm)

    def symmetric_distance_pairs(self) -> tuple[tuple[int, int], ...]:
        """Landmark pairs ``(i, j)`` whose 3D distance equals that of their mirrors ``(p[i], p[j])``: every pair
        for a :attr:`symmetric_shape`, else the skeleton edges; pairs that are their own mirror are left out."""
        if not self.mirror_pairs:
            return ()
        p = self.mirror_permutation()
        n = self.num_landmarks
        candidates = ([(i, j) for i in range(n) for j in range(i + 1, n)] if self.symmetric_shape
                      else list(self.edges))
        off = set(self.off_symmetry)
        return tuple((i, j) for i, j in candidates if {p[i], p[j]} != {i, j} and not off & {i, j})

    def landmark_colours(self) -> tuple[str, ...]:
        """Hex colour per landmark, length N."""
        return tuple(GROUP_COLOURS[g] for g in self.groups)

    def edge_colours(self) -> tuple[str, ...]:
        """Hex colour per edge (the colour of the edge's second landmark), length E."""
        return tuple(GROUP_COLOURS[self.groups[j]] for _, j in self.edges)


# Colours: left parts blue, right parts red-orange, midline grey (the usual convention of pose figures);
# fingers and face regions get distinct hues. One table, reused by every plot of the app.
GROUP_COLOURS: dict[str, str] = {
    "centre": "#7f7f7f",
    "left": "#1f77b4",
    "right": "#d62728",
    "palm": "#7f7f7f",
    "thumb": "#e377c2",
    "index": "#ff7f0e",
    "middle": "#2ca02c",
    "ring": "#17becf",
    "pinky": "#9467bd",
    "face_oval": "#7f7f7f",
    "left_eye": "#1f77b4",
    "right_eye": "#d62728",
    "left_eyebrow": "#aec7e8",
    "right_eyebrow": "#ff9896",
    "lips": "#e377c2",
    "nose": "#8c564b",
    "face": "#c7c7c7",
    "backrest": "#8c564b",
    "seat": "#ff7f0e",
    "armrest": "#2ca02c",
    "swivel_base": "#9467bd",
    "legs": "#17becf",
}


def _human17() -> Category:
    names = ("pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "spine", "thorax", "neck",
             "head", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist")
    edges = ((0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (9, 10),
             (8, 11), (11, 12), (12, 13), (8, 14), (14, 15), (15, 16))
    mirror = ((1, 4), (2, 5), (3, 6), (11, 14), (12, 15), (13, 16))
    groups = tuple("left" if n.startswith("l_") else "right" if n.startswith("r_") else "centre" for n in names)
    return Category("human17", names, edges, mirror, groups, "mm", "Human body, 17 joints (Human3.6M order)")


def _hand21() -> Category:
    fingers = ("thumb", "index", "middle", "ring", "pinky")
    joints = {"thumb": ("cmc", "mcp", "ip", "tip")}
    names = ["wrist"]
    groups = ["palm"]
    edges = []
    for f, finger in enumerate(fingers):
        base = 1 + 4 * f
        for k, joint in enumerate(joints.get(finger, ("mcp", "pip", "dip", "tip"))):
            names.append(f"{finger}_{joint}")
            groups.append(finger)
            edges.append((0 if k == 0 else base + k - 1, base + k))
    # The palm: MediaPipe's HAND_PALM_CONNECTIONS also link the finger bases (index-middle-ring-pinky MCPs).
    edges += [(5, 9), (9, 13), (13, 17)]
    return Category("hand21", tuple(names), tuple(edges), (), tuple(groups), "mm",
                    "Hand, 21 landmarks (MediaPipe Hands order)")


def _face468() -> Category:
    return Category("face468", tuple(f"face_{i}" for i in range(468)), face468_tables.EDGES,
                    face468_tables.MIRROR_PAIRS, face468_tables.GROUPS, "mm",
                    "Face, 468 landmarks (MediaPipe Face Mesh indices)", symmetric_shape=True)


def _chair() -> Category:
    # KeypointNet publishes no names: these follow the meanings documented in ../shared/data/README.md
    # (+X is the sitter's right).
    names = ("back_top_right", "back_top_left", "seat_rear_right", "seat_rear_left", "seat_front_right",
             "seat_front_left", "arm_front_right", "arm_rear_right", "arm_front_left", "arm_rear_left",
             "swivel_foot_0", "swivel_foot_1", "swivel_foot_2", "swivel_foot_3", "swivel_foot_4",
             "column_top", "column_bottom", "leg_front_right", "leg_back_right", "leg_back_left",
             "leg_front_left")
    groups = ("backrest", "backrest", "seat", "seat", "seat", "seat", "armrest", "armrest", "armrest", "armrest",
              "swivel_base", "swivel_base", "swivel_base", "swivel_base", "swivel_base", "swivel_base",
              "swivel_base", "legs", "legs", "legs", "legs")
    edges = ((0, 1), (0, 2), (1, 3),                        # backrest
             (2, 3), (2, 4), (3, 5), (4, 5),                # seat
             (6, 7), (8, 9), (6, 4), (8, 5), (7, 2), (9, 3),  # armrests and their supports
             (15, 16), (16, 10), (16, 11), (16, 12), (16, 13), (16, 14),  # swivel column and feet
             (17, 4), (18, 2), (19, 3), (20, 5))            # four legs
    # The five swivel feet are numbered around the column in one turning direction (KeypointNet's order, the
    # same in every chair; which foot is foot_0 varies). A reflection reverses that direction, so it relabels
    # foot k as foot 4 - k (0 <-> 4, 1 <-> 3, 2 stays): the mirrored chair's feet then turn the same way as a
    # real chair's. They are no geometric mirror partners in every chair (off_symmetry: no symmetry prior).
    mirror = ((0, 1), (2, 3), (4, 5), (6, 8), (7, 9), (10, 14), (11, 13), (17, 20), (18, 19))
    return Category("chair", names, edges, mirror, groups, "shapenet",
                    "Chair, 21 KeypointNet semantic keypoints (each chair has a subset)", symmetric_shape=True,
                    off_symmetry=(10, 11, 12, 13, 14))


@lru_cache(maxsize=1)
def categories() -> dict[str, Category]:
    """All registered categories by name, in a stable order."""
    cats = (_human17(), _hand21(), _face468(), _chair())
    return {c.name: c for c in cats}


def get_category(name: str) -> Category:
    """The category called ``name``; raises ``ValueError`` listing the known ones."""
    cats = categories()
    if name not in cats:
        raise ValueError(f"unknown category {name!r}; known categories: {', '.join(cats)}")
    return cats[name]
