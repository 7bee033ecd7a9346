"""``python -m lifter.data build`` over the real sources (when present) writes the data contract's files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from data_files import interrupted_on_call
from lifter.data.build import BuildConfig, build, format_summary
from lifter.skeletons import get_category

SMALL = BuildConfig(cmu_train_subjects=("07",), cmu_test_subjects=("08",), human_train_views=1,
                    chair_train_views=2, chair_test_views=2, face_train=50, face_test=20, hand_train=50,
                    hand_test=20)


@pytest.fixture(scope="module")
def built(shared_data: Path, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("built")
    return out, build(shared_data, out, cfg=SMALL, progress=False)


def test_every_category_and_split_is_written(built) -> None:
    out, summary = built
    for c in ("human17", "hand21", "face468", "chair"):
        for split in ("train", "test", "test_occluded"):
            assert f"{c}_{split}.npz" in summary
    record = json.loads((out / "build.json").read_text())
    assert record["config"]["seed"] == 0 and set(record["files"]) == set(summary)
    assert "human17_test_occluded.npz" in format_summary(summary)


@pytest.mark.parametrize("category", ["human17", "hand21", "face468", "chair"])
def test_files_follow_the_data_contract(built, category: str) -> None:
    out, _ = built
    n = get_category(category).num_landmarks
    with np.load(out / f"{category}_test.npz") as clean, np.load(out / f"{category}_test_occluded.npz") as occ:
        B = len(clean["points2d"])
        assert clean["points2d"].shape == (B, n, 2) and clean["points2d"].dtype == np.float32
        assert clean["points3d"].shape == (B, n, 3) and clean["visible"].dtype == bool
        assert str(clean["category"]) == category and str(occ["split"]) == "test_occluded"
        vis, present = clean["visible"], clean["present"]
        assert (vis == present).all()                                      # clean: every present one visible
        assert np.isfinite(clean["points2d"][vis]).all() and np.isnan(clean["points2d"][~vis]).all()
        assert np.isfinite(clean["points3d"][present]).all() and (clean["points3d"][present][:, 2] > 0).all()
        # The occluded file shows the same views with about 20 % of the present landmarks hidden.
        np.testing.assert_array_equal(occ["points3d"], clean["points3d"])
        hidden = present & ~occ["visible"]
        assert not (occ["visible"] & ~present).any()
        assert 0.1 < hidden.sum() / present.sum() < 0.3
        # 2D = perspective projection of the camera-frame 3D (plus at most a few px of noise).
        f, c = clean["camera_focal"][:, None, None], clean["camera_principal"][:, None]
        uv = f * clean["points3d"][..., :2] / clean["points3d"][..., 2:] + c
        assert np.nanmax(np.abs(uv - clean["points2d"])) < 10


def test_real_sources_give_real_shapes(built) -> None:
    out, summary = built
    with np.load(out / "human17_train.npz") as f:
        p = f["points3d"]
        thigh = np.linalg.norm(p[:, 1] - p[:, 2], axis=-1)                   # r_hip - r_knee, mm
    assert 330 < np.median(thigh) < 450                                    # README: thigh 0.37-0.43 m
    assert summary["chair_test.npz"]["shapes"] == 100                      # KeypointNet val chairs
    assert 0.3 < summary["chair_train.npz"]["absent_rate"] < 0.6           # chairs lack some ids


def test_cli_reports_a_missing_source(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "lifter.data", "build", "--source", str(tmp_path / "nope"),
                        "--out", str(tmp_path / "out"), "--categories", "human17"], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "does not exist" in r.stderr and "download" in r.stderr
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    r = subprocess.run([sys.executable, "-m", "lifter.data", "build", "--source", str(tmp_path), "--out",
                        str(a_file), "--categories", "human17"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "is a file: give the folder" in r.stderr and "Traceback" not in r.stderr


def test_sources_are_checked_before_anything_is_written_and_a_second_build_keeps_the_others_recorded(
        tmp_path: Path) -> None:
    """A source folder without what a category needs is refused, naming it and the download, before any file is
    written; a build of some categories into a folder of others replaces only theirs and build.json goes on
    recording the others (with the source and config that made them, where those differ)."""
    import json

    from lifter.data.build import BuildConfig, build, check_sources

    src = tmp_path / "src"
    (src / "keypointnet").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"lacks what chair, face468 need.*--only keypointnet mediapipe-face"):
        check_sources(src, ("hand21", "face468", "chair"), BuildConfig())
    r = subprocess.run([sys.executable, "-m", "lifter.data", "build", "--source", str(src), "--out",
                        str(tmp_path / "out"), "--categories", "hand21", "chair"], cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "keypointnet/splits.json" in r.stderr and not (tmp_path / "out").exists()
    out = tmp_path / "data"
    small = BuildConfig(hand_train=20, hand_test=10)
    build(src, out, ("hand21",), small, progress=False, check_source=False)
    first = json.loads((out / "build.json").read_text())
    (out / "face468_test.npz").write_bytes(b"")                     # a file of another build, recorded below
    first["files"]["face468_test.npz"] = {"category": "face468", "split": "test"}
    (out / "build.json").write_text(json.dumps(first))
    build(src, out, ("hand21",), BuildConfig(hand_train=20, hand_test=10, seed=7), progress=False,
          check_source=False)
    second = json.loads((out / "build.json").read_text())
    assert second["config"]["seed"] == 7 and set(second["files"]) == set(first["files"])
    assert second["files"]["face468_test.npz"]["built_with"]["config"]["seed"] == 0
    assert "built_with" not in second["files"]["hand21_train.npz"]


def test_an_interrupted_build_leaves_whole_files_and_a_true_record(tmp_path: Path, monkeypatch, capsys) -> None:
    """Ctrl-C while a rebuild with another seed renders its test split: the training file already rewritten is
    recorded with the new seed, the test files keep their earlier build and are recorded with it (build.json had
    said seed 0 for all), no half-written file is left, and the command says so in a line, not a traceback."""
    import json

    import lifter.data.build as build_module
    from lifter.data.__main__ import main
    from lifter.data.build import BuildConfig, build

    out = tmp_path / "data"
    build(tmp_path, out, ("hand21",), BuildConfig(hand_train=20, hand_test=10), progress=False, check_source=False)
    before = (out / "hand21_test.npz").read_bytes()
    monkeypatch.setattr(build_module, "render_views", interrupted_on_call(build_module.render_views, 2))  # test split
    monkeypatch.setattr(build_module, "BuildConfig", lambda seed: BuildConfig(hand_train=20, hand_test=10, seed=seed))
    assert main(["build", "--source", str(tmp_path), "--out", str(out), "--categories", "hand21", "--seed", "5",
                 "--quiet"]) == 130
    assert "interrupted: the files finished so far are written whole" in capsys.readouterr().err
    record = json.loads((out / "build.json").read_text())
    assert record["config"]["seed"] == 5 and "built_with" not in record["files"]["hand21_train.npz"]
    assert record["files"]["hand21_test.npz"]["built_with"]["config"]["seed"] == 0
    assert (out / "hand21_test.npz").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["build.json", "hand21_test.npz", "hand21_test_occluded.npz",
                                                     "hand21_train.npz"]
    assert main(["build", "--source", str(tmp_path), "--out", str(out), "--seed", "-1"]) == 2
    assert "--seed must be >= 0" in capsys.readouterr().err
