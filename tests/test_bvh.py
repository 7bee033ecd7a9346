"""BVH reader, forward kinematics and the CMU -> human17 conversion."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from lifter.data.bvh import BVHError, BVHMotion, forward_kinematics, parse_bvh, read_bvh
from lifter.data.cmu import CMU_UNIT_MM, HUMAN17_FROM_CMU, human17_from_motion, load_cmu_takes

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CMU_ROOT = SHARED_DATA / "cmu-mocap"

ZYX = "Zrotation Yrotation Xrotation"
POS = "Xposition Yposition Zposition"


def chain_bvh(root_channels: str, child_channels: str, rows: list[list[float]],
              root_offset: str = "0 0 0", child_offset: str = "1 2 3", end_offset: str = "0 2 0") -> str:
    """A 3-joint chain A > B > B_End with the given channels and motion rows."""
    n_root, n_child = len(root_channels.split()), len(child_channels.split())
    body = "\n".join(" ".join(f"{v:g}" for v in r) for r in rows)
    return (
        "HIERARCHY\n"
        "ROOT A\n{\n"
        f"  OFFSET {root_offset}\n"
        f"  CHANNELS {n_root} {root_channels}\n"
        "  JOINT B\n  {\n"
        f"    OFFSET {child_offset}\n"
        f"    CHANNELS {n_child} {child_channels}\n"
        "    End Site\n    {\n"
        f"      OFFSET {end_offset}\n"
        "    }\n  }\n}\n"
        "MOTION\n"
        f"Frames: {len(rows)}\n"
        "Frame Time: 0.0083333\n"
        f"{body}\n"
    )


def fk1(text: str) -> np.ndarray:
    """``(J, 3)`` positions of the single frame of a BVH text."""
    pos = forward_kinematics(parse_bvh(text))
    assert pos.shape[0] == 1
    return pos[0]


# ------------------------------------------------------------------------------------------- structure


def test_skeleton_structure_and_end_site_naming() -> None:
    m = parse_bvh(chain_bvh(f"{POS} {ZYX}", ZYX, [[0] * 9, [1] * 9]), source="chain.bvh")
    s = m.skeleton
    assert s.names == ("A", "B", "B_End")
    assert s.parents.tolist() == [-1, 0, 1]
    assert s.is_end_site == (False, False, True)
    assert s.channels == (tuple(POS.split() + ZYX.split()), tuple(ZYX.split()), ())
    np.testing.assert_array_equal(s.offsets, [[0, 0, 0], [1, 2, 3], [0, 2, 0]])
    assert s.num_channels == 9
    assert m.channels.shape == (2, 9) and m.channels.dtype == np.float64
    assert m.frame_time == pytest.approx(0.0083333)
    assert m.source == "chain.bvh"


# ------------------------------------------------------------------------------------ forward kinematics


def test_fk_zyx_root_position_and_end_site() -> None:
    # root at (10, 20, 30), Rz(90) maps x->y, y->-x; child offset (1, 0, 0), end site offset (0, 2, 0)
    text = chain_bvh(f"{POS} {ZYX}", ZYX, [[10, 20, 30, 90, 0, 0, 0, 0, 0]], child_offset="1 0 0")
    np.testing.assert_allclose(fk1(text), [[10, 20, 30], [10, 21, 30], [8, 21, 30]], atol=1e-12)
    # child additionally rotated Xrotation 90 (maps y->z): end = B + Rz Rx (0, 2, 0) = B + (0, 0, 2)
    text = chain_bvh(f"{POS} {ZYX}", ZYX, [[10, 20, 30, 90, 0, 0, 0, 0, 90]], child_offset="1 0 0")
    np.testing.assert_allclose(fk1(text), [[10, 20, 30], [10, 21, 30], [10, 21, 32]], atol=1e-12)


def test_fk_root_offset_plus_position() -> None:
    text = chain_bvh(f"{POS} {ZYX}", ZYX, [[10, 20, 30, 0, 0, 0, 0, 0, 0]], root_offset="1 1 1")
    np.testing.assert_allclose(fk1(text)[0], [11, 21, 31], atol=1e-12)


def test_fk_xyz_order_matters() -> None:
    # R = Rx(90) Ry(90): Ry maps (1,2,3) -> (3,2,-1), then Rx maps it -> (3,1,2)
    xyz = fk1(chain_bvh("Xrotation Yrotation Zrotation", ZYX, [[90, 90, 0, 0, 0, 0]]))
    np.testing.assert_allclose(xyz[1], [3, 1, 2], atol=1e-12)
    # same angles, ZYX file order: R = Rz(0) Ry(90) Rx(90): (1,2,3) -> (1,-3,2) -> (2,-3,-1)
    zyx = fk1(chain_bvh(ZYX, ZYX, [[0, 90, 90, 0, 0, 0]]))
    np.testing.assert_allclose(zyx[1], [2, -3, -1], atol=1e-12)
    assert not np.allclose(xyz[1], zyx[1])


def test_fk_yxz_order_matters() -> None:
    # R = Ry(90) Rx(90) Rz(90): (1,2,3) -Rz-> (-2,1,3) -Rx-> (-2,-3,1) -Ry-> (1,-3,2)
    yxz = fk1(chain_bvh("Yrotation Xrotation Zrotation", ZYX, [[90, 90, 90, 0, 0, 0]]))
    np.testing.assert_allclose(yxz[1], [1, -3, 2], atol=1e-12)
    # ZYX with all 90: (1,2,3) -Rx-> (1,-3,2) -Ry-> (2,-3,-1) -Rz-> (3,2,-1)
    zyx = fk1(chain_bvh(ZYX, ZYX, [[90, 90, 90, 0, 0, 0]]))
    np.testing.assert_allclose(zyx[1], [3, 2, -1], atol=1e-12)
    assert not np.allclose(yxz[1], zyx[1])
    # end site (0,2,0) is rotated by the composed global rotation: B's own rotation is identity here
    np.testing.assert_allclose(yxz[2] - yxz[1], [0, 0, 2], atol=1e-12)  # Ry Rx Rz (0,2,0) = Ry Rx (-2,0,0)


def test_fk_position_channels_on_child_and_after_rotations() -> None:
    # root: rotations listed before positions; child: 6 channels, translated by (0.5, 0, 0) on top of OFFSET
    root = f"{ZYX} {POS}"
    child = f"Xrotation Yrotation Zrotation {POS}"
    row = [90, 0, 0, 10, 20, 30,   0, 0, 0, 0.5, 0, 0]
    pos = fk1(chain_bvh(root, child, [row], child_offset="1 0 0"))
    # B = root + Rz(90) (1.5, 0, 0) = (10, 21.5, 30); end = B + Rz(90) (0, 2, 0) = B + (-2, 0, 0)
    np.testing.assert_allclose(pos, [[10, 20, 30], [10, 21.5, 30], [8, 21.5, 30]], atol=1e-12)


def _reference_fk(motion: BVHMotion) -> np.ndarray:
    """Per-frame, per-joint 4x4 homogeneous-matrix FK, written independently of the vectorised code."""
    s = motion.skeleton

    def rot(axis: str, deg: float) -> np.ndarray:
        c, si = np.cos(np.radians(deg)), np.sin(np.radians(deg))
        return {"X": np.array([[1, 0, 0], [0, c, -si], [0, si, c]]),
                "Y": np.array([[c, 0, si], [0, 1, 0], [-si, 0, c]]),
                "Z": np.array([[c, -si, 0], [si, c, 0], [0, 0, 1]])}[axis]

    out = np.zeros((motion.num_frames, s.num_joints, 3))
    for f in range(motion.num_frames):
        col, glob = 0, []
        for j in range(s.num_joints):
            m = np.eye(4)
            m[:3, 3] = s.offsets[j]
            for name in s.channels[j]:
                v = motion.channels[f, col]
                col += 1
                if name.endswith("position"):
                    m[:3, 3] += v * np.eye(3)["XYZ".index(name[0])]
                else:
                    m[:3, :3] = m[:3, :3] @ rot(name[0], v)
            g = m if s.parents[j] < 0 else glob[s.parents[j]] @ m
            glob.append(g)
            out[f, j] = g[:3, 3]
    return out


@pytest.mark.parametrize("order", ["".join(p) for p in itertools.permutations("XYZ")])
def test_fk_all_orders_match_reference_over_frames(order: str) -> None:
    rng = np.random.default_rng(0)
    rot = " ".join(f"{a}rotation" for a in order)
    rows = np.concatenate([rng.normal(size=(5, 3)), rng.uniform(-180, 180, size=(5, 3)),
                           rng.uniform(-180, 180, size=(5, 3)), rng.normal(size=(5, 3))], axis=1)
    m = parse_bvh(chain_bvh(f"{POS} {rot}", f"{rot} {POS}", rows.tolist()))
    pos = forward_kinematics(m)
    assert pos.shape == (5, 3, 3)
    np.testing.assert_allclose(pos, _reference_fk(m), atol=1e-9)
    # frame selection: slice, index array and boolean mask give the matching rows
    np.testing.assert_allclose(forward_kinematics(m, slice(1, None, 2)), pos[1::2])
    np.testing.assert_allclose(forward_kinematics(m, np.array([4, 0])), pos[[4, 0]])
    mask = np.array([True, False, False, True, False])
    np.testing.assert_allclose(forward_kinematics(m, mask), pos[mask])


# ---------------------------------------------------------------------------------------- CMU -> human17

_CMU_TREE = {  # joint -> (parent, offset) for a minimal rig with every required joint name
    "Hips": (None, (0, 0, 0)),
    "LeftUpLeg": ("Hips", (1, -1, 0)), "LeftLeg": ("LeftUpLeg", (0, -4, 0)), "LeftFoot": ("LeftLeg", (0, -4, 0)),
    "RightUpLeg": ("Hips", (-1, -1, 0)), "RightLeg": ("RightUpLeg", (0, -4, 0)),
    "RightFoot": ("RightLeg", (0, -4, 0)),
    "Spine": ("Hips", (0, 2, 0)), "Spine1": ("Spine", (0, 2, 0)), "Neck1": ("Spine1", (0, 2, 0)),
    "Head": ("Neck1", (0, 1, 0)),
    "LeftArm": ("Spine1", (2, 1, 0)), "LeftForeArm": ("LeftArm", (3, 0, 0)), "LeftHand": ("LeftForeArm", (2, 0, 0)),
    "RightArm": ("Spine1", (-2, 1, 0)), "RightForeArm": ("RightArm", (-3, 0, 0)),
    "RightHand": ("RightForeArm", (-2, 0, 0)),
}


def cmu_like_bvh(n_frames: int, rename: dict[str, str] | None = None) -> str:
    """A minimal CMU-named rig (Head has an End Site 2 units up); frame i has Hips Yposition = i."""
    rename = rename or {}
    children: dict[str | None, list[str]] = {}
    for name, (parent, _) in _CMU_TREE.items():
        children.setdefault(parent, []).append(name)

    def block(name: str, depth: int) -> list[str]:
        ind = "  " * depth
        off = " ".join(str(v) for v in _CMU_TREE[name][1])
        chans = f"6 {POS} {ZYX}" if name == "Hips" else f"3 {ZYX}"
        head = f"ROOT {rename.get(name, name)}" if depth == 0 else f"{ind}JOINT {rename.get(name, name)}"
        lines = [head, f"{ind}{{", f"{ind}  OFFSET {off}", f"{ind}  CHANNELS {chans}"]
        for c in children.get(name, []):
            lines += block(c, depth + 1)
        if name == "Head":
            lines += [f"{ind}  End Site", f"{ind}  {{", f"{ind}    OFFSET 0 2 0", f"{ind}  }}"]
        return lines + [f"{ind}}}"]

    n_ch = 6 + 3 * (len(_CMU_TREE) - 1)
    rows = []
    for i in range(n_frames):
        r = [0.0] * n_ch
        r[1] = float(i)
        rows.append(" ".join(f"{v:g}" for v in r))
    return "\n".join(["HIERARCHY", *block("Hips", 0), "MOTION", f"Frames: {n_frames}",
                      "Frame Time: 0.0083333", *rows]) + "\n"


def test_human17_drops_tpose_and_strides(tmp_path: Path) -> None:
    path = tmp_path / "01_99.bvh"
    path.write_text(cmu_like_bvh(10))
    m = read_bvh(path)
    out = human17_from_motion(m, stride=4)
    assert out.shape == (3, 17, 3) and out.dtype == np.float32       # frames 1, 5, 9
    np.testing.assert_allclose(out[:, 0, 1], np.array([1, 5, 9]) * CMU_UNIT_MM, rtol=1e-6)
    full = human17_from_motion(m, stride=1, drop_tpose=False)
    assert full.shape == (10, 17, 3)
    np.testing.assert_allclose(full[:, 0, 1], np.arange(10) * CMU_UNIT_MM, rtol=1e-6)
    # landmark order follows HUMAN17_FROM_CMU and is in millimetres
    fk = forward_kinematics(m, slice(0, 1))[0] * CMU_UNIT_MM
    for k, name in enumerate(HUMAN17_FROM_CMU):
        np.testing.assert_allclose(full[0, k], fk[m.skeleton.index(name)], rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(full[0, 10], [0, 9 * CMU_UNIT_MM, 0], rtol=1e-6)    # Head_End: 2+2+2+1+2 up
    np.testing.assert_allclose(full[0, 6], [CMU_UNIT_MM, -9 * CMU_UNIT_MM, 0], rtol=1e-6)  # l_ankle


def test_load_cmu_takes_from_folder(tmp_path: Path) -> None:
    (tmp_path / "01").mkdir()
    (tmp_path / "01" / "01_02.bvh").write_text(cmu_like_bvh(9))   # frames 1, 5
    (tmp_path / "01" / "01_01.bvh").write_text(cmu_like_bvh(6))   # frames 1, 5
    (tmp_path / "02").mkdir()
    (tmp_path / "02" / "02_01.bvh").write_text(cmu_like_bvh(3))   # frame 1
    poses, take, names = load_cmu_takes(tmp_path, ["01", "02"], stride=4, progress=False)
    assert names == ["01_01", "01_02", "02_01"]
    assert poses.shape == (5, 17, 3) and poses.dtype == np.float32
    assert take.tolist() == [0, 0, 1, 1, 2]
    with pytest.raises(FileNotFoundError, match="03"):
        load_cmu_takes(tmp_path, ["01", "03"], progress=False)


def test_unknown_rig_lists_missing_joints(tmp_path: Path) -> None:
    path = tmp_path / "odd_rig.bvh"
    path.write_text(cmu_like_bvh(3, rename={"LeftFoot": "LeftAnkle", "Head": "Skull"}))
    with pytest.raises(ValueError) as exc:
        human17_from_motion(read_bvh(path))
    msg = str(exc.value)
    assert "odd_rig.bvh" in msg and "LeftFoot" in msg and "Head_End" in msg
    assert "RightFoot" not in msg


# ------------------------------------------------------------------------------------------ malformed files

GOOD = chain_bvh(f"{POS} {ZYX}", ZYX, [[0] * 9, [1] * 9, [2] * 9])


def _bad(tmp_path: Path, text: str, *needles: str) -> str:
    path = tmp_path / "broken_take.bvh"
    path.write_text(text)
    with pytest.raises(BVHError) as exc:
        read_bvh(path)
    msg = str(exc.value)
    assert "broken_take.bvh" in msg, msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_good_text_parses() -> None:
    assert parse_bvh(GOOD).channels.shape == (3, 9)
    assert issubclass(BVHError, ValueError)


def test_truncated_motion(tmp_path: Path) -> None:
    _bad(tmp_path, GOOD.replace("Frames: 3", "Frames: 5"), "Frames: 5", "3 data rows")


def test_too_many_rows(tmp_path: Path) -> None:
    _bad(tmp_path, GOOD.replace("Frames: 3", "Frames: 2"), "Frames: 2", "3 data rows")


def test_row_with_wrong_value_count(tmp_path: Path) -> None:
    lines = GOOD.splitlines()
    lines[-2] += " 7"                          # second data row gets a 10th value
    msg = _bad(tmp_path, "\n".join(lines) + "\n", "10 values", "expected 9")
    assert f"line {len(lines) - 1}" in msg
    lines = GOOD.splitlines()
    lines[-1] = lines[-1].rsplit(" ", 1)[0]    # last row loses a value
    _bad(tmp_path, "\n".join(lines) + "\n", "8 values", f"line {len(lines)}")


def test_non_numeric_value(tmp_path: Path) -> None:
    lines = GOOD.splitlines()
    lines[-1] = lines[-1].replace("2", "abc", 1)
    _bad(tmp_path, "\n".join(lines) + "\n", "non-numeric", "'abc'", f"line {len(lines)}")


def test_non_finite_value(tmp_path: Path) -> None:
    lines = GOOD.splitlines()
    lines[-1] = lines[-1].replace("2", "nan", 1)
    _bad(tmp_path, "\n".join(lines) + "\n", "non-finite", f"line {len(lines)}")


def test_missing_motion(tmp_path: Path) -> None:
    _bad(tmp_path, GOOD.split("MOTION")[0], "missing MOTION")


def test_unbalanced_braces(tmp_path: Path) -> None:
    _bad(tmp_path, GOOD.replace("    }\n  }\n}", "    }\n}", 1), "unbalanced braces")
    _bad(tmp_path, GOOD.replace("ROOT A\n{", "ROOT A\n{\n{", 1), "unbalanced braces")


def test_hierarchy_problems(tmp_path: Path) -> None:
    _bad(tmp_path, GOOD.replace("HIERARCHY\n", ""), "missing HIERARCHY")
    _bad(tmp_path, GOOD.replace("ROOT A", "JOINT A"), "expected ROOT")
    _bad(tmp_path, GOOD.replace(f"CHANNELS 3 {ZYX}", "CHANNELS 3 Zrotation Yrotation"), "declares 3", "line 9")
    _bad(tmp_path, GOOD.replace(f"CHANNELS 3 {ZYX}", f"CHANNELS 2 {ZYX}"), "declares 2", "line 9")
    _bad(tmp_path, GOOD.replace(f"CHANNELS 3 {ZYX}", "CHANNELS 3 Zrotation Yrotation Wrotation"),
         "unknown channel", "'Wrotation'")
    _bad(tmp_path, GOOD.replace("OFFSET 1 2 3", "OFFSET 1 x 3"), "OFFSET", "line 8")
    _bad(tmp_path, GOOD.replace("Frames: 3", "Frames: three"), "Frames:")
    _bad(tmp_path, GOOD.replace("Frame Time: 0.0083333", "Frame Time:"), "Frame Time:")


# ------------------------------------------------------------------------------------------------ real data


@pytest.mark.shared_data
@pytest.mark.skipif(not CMU_ROOT.is_dir(), reason=f"CMU mocap data not found at {CMU_ROOT}")
@pytest.mark.parametrize("subject", ["08", "09"])
def test_real_cmu_take(subject: str) -> None:
    path = sorted((CMU_ROOT / subject).glob("*.bvh"))[0]
    m = read_bvh(path)
    names = set(m.skeleton.names)
    assert all(n in names for n in HUMAN17_FROM_CMU)
    assert m.channels.shape[1] == 96 and m.frame_time == pytest.approx(1 / 120, rel=1e-3)
    # frame 0 = T-pose: 1.40-1.50 m from the ankle joints to the head top
    tpose = human17_from_motion(m, stride=1, drop_tpose=False)[0]
    extent = tpose[10, 1] - min(tpose[3, 1], tpose[6, 1])
    assert 1400.0 <= extent <= 1500.0, extent
    poses = human17_from_motion(m, stride=1, drop_tpose=True)
    assert poses.shape == (m.num_frames - 1, 17, 3)
    assert np.isfinite(poses).all()
    # rigid bones: shin (l_knee - l_ankle) and forearm (r_elbow - r_wrist) lengths constant over frames
    for a, b in [(5, 6), (15, 16), (1, 2)]:
        length = np.linalg.norm(poses[:, a] - poses[:, b], axis=-1)
        assert length.mean() > 100.0
        assert length.std() / length.mean() < 1e-3
