"""The category registry is consistent: edges in range, mirror pairs symmetric and meaningful."""

from __future__ import annotations

import numpy as np
import pytest

from lifter.skeletons import GROUP_COLOURS, categories, get_category


@pytest.mark.parametrize("name,n", [("human17", 17), ("hand21", 21), ("face468", 468), ("chair", 21)])
def test_counts(name: str, n: int) -> None:
    cat = get_category(name)
    assert cat.num_landmarks == n == len(cat.groups) == len(set(cat.landmarks))


@pytest.mark.parametrize("cat", list(categories().values()), ids=lambda c: c.name)
def test_edges_and_mirror_pairs(cat) -> None:
    n = cat.num_landmarks
    for i, j in cat.edges:
        assert 0 <= i < n and 0 <= j < n and i != j
    assert len(set(map(frozenset, cat.edges))) == len(cat.edges), "duplicate edge"
    seen = [k for pair in cat.mirror_pairs for k in pair]
    assert len(seen) == len(set(seen)), "a landmark in two mirror pairs"
    perm = np.array(cat.mirror_permutation())
    assert (perm[perm] == np.arange(n)).all(), "mirroring twice must give the identity"
    # Mirroring maps the skeleton onto itself: every edge's image is an edge.
    edges = set(map(frozenset, cat.edges))
    assert {frozenset((perm[i], perm[j])) for i, j in cat.edges} == edges
    # Mirror pairs swap left and right groups.
    for i, j in cat.mirror_pairs:
        gi, gj = cat.groups[i], cat.groups[j]
        assert gi.replace("left", "right") == gj or gi.replace("right", "left") == gj or gi == gj
    assert all(g in GROUP_COLOURS for g in cat.groups)
    assert len(cat.edge_colours()) == len(cat.edges)


def test_names_and_lookup() -> None:
    human = get_category("human17")
    assert human.landmarks[0] == "pelvis" and human.landmarks[10] == "head"
    assert human.index("r_wrist") == 16
    assert get_category("hand21").landmarks[4] == "thumb_tip"
    assert get_category("hand21").landmarks[20] == "pinky_tip"
    with pytest.raises(KeyError, match="no landmark"):
        human.index("tail")
    with pytest.raises(ValueError, match="unknown category 'cat'.*human17"):
        get_category("cat")


def test_face_mirror_pairs_match_template(shared_data) -> None:
    """The stored face mirror pairs are reflections of each other on the real canonical face model."""
    from lifter.data.face import read_face_template

    v, _ = read_face_template(shared_data)
    perm = np.array(get_category("face468").mirror_permutation())
    mirrored = v[perm] * np.array([-1.0, 1.0, 1.0])
    assert np.abs(mirrored - v).max() < 1.0          # within 1 mm on a 15 cm face
    assert len(get_category("face468").mirror_pairs) > 200


def _winding(feet_xz: np.ndarray) -> np.ndarray:
    """Winding number ``(C,)`` of the numbering of ``feet_xz (C, 5, 2)`` about their centre: +1 or -1."""
    v = feet_xz - feet_xz.mean(1, keepdims=True)
    ang = np.arctan2(v[..., 1], v[..., 0])
    steps = (np.diff(np.concatenate([ang, ang[:, :1]], 1), axis=1) + np.pi) % (2 * np.pi) - np.pi
    return np.round(steps.sum(1) / (2 * np.pi))


def test_reflection_keeps_the_swivel_feet_turning_the_same_way() -> None:
    """A chair's mirror image, relabelled by the mirror permutation, numbers its feet in the same sense."""
    chair = get_category("chair")
    feet = list(range(10, 15))
    assert all(chair.landmarks[k].startswith("swivel_foot") for k in feet)
    perm = np.array(chair.mirror_permutation())
    rng = np.random.default_rng(0)
    phase = rng.uniform(0, 2 * np.pi, size=(8, 1))
    angles = phase + 2 * np.pi * np.arange(5) / 5 + rng.normal(0, 0.1, (8, 5))   # numbered counter-clockwise
    shape = np.zeros((8, 21, 2))
    shape[:, feet] = np.stack([np.cos(angles), np.sin(angles)], -1)
    mirrored = shape * np.array([-1.0, 1.0])                                        # x -> -x
    assert (_winding(shape[:, feet]) == 1).all()
    assert (_winding(mirrored[:, feet]) == -1).all()                # a reflection alone reverses the sense
    assert (_winding(mirrored[:, perm][:, feet]) == 1).all()        # relabelled: the sense of a real chair


def test_keypointnet_swivel_feet_are_numbered_in_one_sense(shared_data) -> None:
    """Why the feet are relabelled under reflection: every KeypointNet swivel chair numbers them the same way."""
    from lifter.data.keypointnet import read_chairs

    chairs = read_chairs(shared_data / "keypointnet" / "chair.json")
    swivel = chairs.present[:, 10:15].all(1)
    assert swivel.sum() >= 50
    top_view = chairs.points3d[swivel][:, 10:15][..., [0, 2]]           # x, z: Y is up in ShapeNet space
    assert (_winding(top_view) == 1).all()


def test_hand_edges_are_mediapipes_connections_and_the_wrist_to_every_finger_base() -> None:
    """The hand skeleton is MediaPipe Hands' HAND_CONNECTIONS (the source of the landmark order) plus the wrist's
    links to the middle and ring bases, so that every finger hangs from the wrist."""
    import mediapipe as mp

    ours = set(map(frozenset, get_category("hand21").edges))
    theirs = set(map(frozenset, mp.solutions.hands.HAND_CONNECTIONS))
    assert theirs <= ours and ours - theirs == {frozenset((0, 9)), frozenset((0, 13))}


def test_drawing_colours_follow_the_groups_left_blue_right_red() -> None:
    human = get_category("human17")
    assert human.groups[human.index("l_knee")] == "left" and human.groups[human.index("r_elbow")] == "right"
    assert human.groups[human.index("pelvis")] == "centre"
    assert human.landmark_colours() == tuple(GROUP_COLOURS[g] for g in human.groups)
    rgb = {side: [int(GROUP_COLOURS[side][k:k + 2], 16) for k in (1, 3, 5)] for side in ("left", "right")}
    assert rgb["left"][2] > rgb["left"][0] and rgb["right"][0] > rgb["right"][2]      # blue left, red right
    hand = get_category("hand21")
    colours = dict(zip(hand.edges, hand.edge_colours()))
    assert colours[(0, 1)] == GROUP_COLOURS["thumb"] and colours[(0, 17)] == GROUP_COLOURS["pinky"]   # the second's


def test_symmetric_distance_pairs_of_each_kind_of_category() -> None:
    """A body's are its edges that a reflection moves (the spine's map onto themselves); a face's and a chair's
    every pair of landmarks a reflection moves, the chair's swivel feet left out; a hand has none."""
    human = get_category("human17")
    spine = {(0, 7), (7, 8), (8, 9), (9, 10)}
    assert set(human.symmetric_distance_pairs()) == set(human.edges) - spine
    assert get_category("hand21").symmetric_distance_pairs() == ()
    face = get_category("face468")
    pairs = set(face.symmetric_distance_pairs())
    perm = face.mirror_permutation()
    left, right = face.mirror_pairs[0]
    midline = [i for i in range(468) if perm[i] == i][:2]
    far = next(tuple(sorted((i, j))) for (i, _), (j, _) in zip(face.mirror_pairs[1:], face.mirror_pairs[2:])
               if tuple(sorted((i, j))) not in face.edges)                  # two sided landmarks, no skeleton edge
    assert (min(left, midline[0]), max(left, midline[0])) in pairs and far in pairs
    assert tuple(midline) not in pairs and (min(left, right), max(left, right)) not in pairs
    chair = get_category("chair")
    pairs = set(chair.symmetric_distance_pairs())
    assert (0, 2) in pairs and (0, 17) in pairs and (15, 16) not in pairs and (0, 1) not in pairs
    assert not any({i, j} & set(range(10, 15)) for i, j in pairs) and len(pairs) > len(chair.edges)
