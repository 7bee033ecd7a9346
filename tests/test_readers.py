"""KeypointNet and OBJ readers on tiny files the tests write, and the face template on the real file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from lifter.data.face import read_face_template, sample_faces
from lifter.data.keypointnet import read_chairs, read_splits
from lifter.data.obj import read_obj


def _kp(sid: int, xyz: list[float]) -> dict:
    return {"xyz": xyz, "rgb": [0, 0, 0], "semantic_id": sid, "pcd_info": {"point_index": 0}}


def test_keypointnet_indexes_by_semantic_id(tmp_path: Path) -> None:
    records = [
        {"class_id": "03001627", "model_id": "a", "keypoints": [_kp(5, [1, 2, 3]), _kp(0, [4, 5, 6])]},
        {"class_id": "03001627", "model_id": "b", "keypoints": [_kp(20, [7, 8, 9]), _kp(3, [0, 0, 1]),
                                                                 _kp(1, [1, 1, 1])]},
    ]
    (tmp_path / "chair.json").write_text(json.dumps(records))
    chairs = read_chairs(tmp_path / "chair.json", ["b", "a"])
    assert chairs.model_ids == ["b", "a"] and chairs.points3d.shape == (2, 21, 3)
    np.testing.assert_array_equal(chairs.points3d[1, 5], [1, 2, 3])      # list position 0, semantic id 5
    np.testing.assert_array_equal(chairs.points3d[0, 20], [7, 8, 9])
    assert chairs.present.sum() == 5 and chairs.present[0, [1, 3, 20]].all()
    assert np.isnan(chairs.points3d[~chairs.present]).all()
    (tmp_path / "splits.json").write_text(json.dumps({"train": ["a"], "val": ["b"]}))
    assert read_splits(tmp_path / "splits.json") == {"train": ["a"], "val": ["b"]}


@pytest.mark.parametrize("text, message", [
    ('{"train": ["a"]', "splits.json: not valid JSON"),
    ('{"train": ["a"]}', "splits.json: no val split (it has: 'train')"),
    ('{"train": ["a", "b"], "val": ["b"]}', "splits.json: 1 model id(s) in both train and val, e.g. ['b']"),
    ('["a"]', "splits.json: expected {split name: [model ids]}"),
])
def test_a_broken_splits_file_is_named_before_the_build_writes_anything(tmp_path: Path, capsys, text: str,
                                                                         message: str) -> None:
    """A chairs' splits file that is not JSON, lacks a split or shares a chair between train and test is refused,
    naming the file, by the source check: nothing written. A missing ``val`` had been a KeyError traceback after
    ``chair_train.npz`` was written; shared ids went unnoticed (test chairs trained on). The command's note of
    the files a build replaces waits for the check."""
    from lifter.data.__main__ import main
    from lifter.data.build import BuildConfig, check_sources

    src = tmp_path / "src"
    (src / "keypointnet").mkdir(parents=True)
    (src / "keypointnet" / "chair.json").write_text("[]")
    (src / "keypointnet" / "splits.json").write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)):
        read_splits(src / "keypointnet" / "splits.json")
    with pytest.raises(ValueError, match=re.escape(message)):
        check_sources(src, ("chair",), BuildConfig())
    out = tmp_path / "out"
    out.mkdir()
    (out / "chair_train.npz").write_bytes(b"an earlier build's")
    assert main(["build", "--source", str(src), "--out", str(out), "--categories", "chair", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "note: replacing" not in err            # no note of a replacement that never came
    assert (out / "chair_train.npz").read_bytes() == b"an earlier build's" and not (out / "build.json").exists()


def test_keypointnet_errors(tmp_path: Path) -> None:
    p = tmp_path / "chair.json"
    p.write_text(json.dumps([{"model_id": "a", "keypoints": [_kp(2, [0, 0, 0]), _kp(2, [1, 1, 1])]}]))
    with pytest.raises(ValueError, match="chair.json.*semantic_id 2 appears twice"):
        read_chairs(p)
    p.write_text(json.dumps([{"model_id": "a", "keypoints": [_kp(40, [0, 0, 0])]}]))
    with pytest.raises(ValueError, match="bad keypoint"):
        read_chairs(p)
    p.write_text("[{")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_chairs(p)
    p.write_text(json.dumps([{"model_id": "a", "keypoints": []}]))
    with pytest.raises(ValueError, match="not in the file"):
        read_chairs(p, ["zzz"])


def test_obj_reader(tmp_path: Path) -> None:
    p = tmp_path / "quad.obj"
    p.write_text("# a unit square\nmtllib x.mtl\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\n"
                 "f 1/1 2/1 3/1 4/1\n")
    v, f = read_obj(p)
    np.testing.assert_array_equal(v[2], [1, 1, 0])
    np.testing.assert_array_equal(f, [[0, 1, 2], [0, 2, 3]])               # fan triangulation, 0-based
    p.write_text("v 0 0\n")
    with pytest.raises(ValueError, match=r"quad.obj:1: malformed 'v'"):
        read_obj(p)
    p.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n")
    with pytest.raises(ValueError, match="outside 1..3"):
        read_obj(p)


def test_face_template_and_draws(shared_data: Path) -> None:
    v, f = read_face_template(shared_data)
    assert v.shape == (468, 3) and f.shape == (898, 3)
    extent = v.max(0) - v.min(0)                                          # README: 15.5 x 17.7 x 10.0 cm
    np.testing.assert_allclose(extent, [155, 177, 100], rtol=0.03)
    assert v[4, 2] == v[:, 2].max()                                       # nose tip nearest the viewer
    faces = sample_faces(v, 200, np.random.default_rng(0))
    ratio = (faces.max(1) - faces.min(1)) / extent
    assert 0.7 < ratio.min() and ratio.max() < 1.35 and ratio.std() > 0.03
