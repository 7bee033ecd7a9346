"""``lifter.bench`` runs end to end on tiny settings (its figures are measurements, not asserted here)."""

from __future__ import annotations

import os
from pathlib import Path

from data_files import interrupted_on_call
from lifter.api import DEFAULT_WEIGHTS
from lifter.bench import (BASELINE, GUESSED, NETWORK_ONLY, NO_BASIS, NO_BONES, NO_SYMMETRY, WHOLE_PASSES, bench,
                          to_markdown)


def test_bench_rows_and_ratios(tmp_path: Path) -> None:
    report = bench(DEFAULT_WEIGHTS, None, batch=4, repeats=3, devices=["cpu"])
    rows = report["results"]
    models = {"lifter", "lifter without mirror averaging", BASELINE, GUESSED, NETWORK_ONLY, WHOLE_PASSES}
    expected = {(c, m) for c in ("human17", "hand21", "face468", "chair") for m in models}
    expected |= {("face468", NO_SYMMETRY), ("chair", NO_SYMMETRY)}          # where the refinements apply
    expected |= {("face468", NO_BASIS), ("hand21", NO_BONES), ("human17", NO_BONES)}
    assert {(r["category"], r["model"]) for r in rows} == expected
    for r in rows:
        assert r["latency_p50_ms"] > 0 and r["throughput_poses_s"] > 0 and r["peak_rss_mib"] > 0
        if r["model"] == BASELINE:
            assert r["latency_ratio_vs_baseline"] == 1.0 and r["throughput_ratio_vs_baseline"] == 1.0
    assert 0 < report["cold_start_s"] < 60 and report["weights_mb"] < 50
    assert "| cpu | human17 | lifter without mirror averaging |" in to_markdown(report)
    assert report["cpu"] and to_markdown(report).startswith(f"CPU: {report['cpu']}; GPU: ")
    assert report["poses"] == {c: "random" for c in ("human17", "hand21", "face468", "chair")}


def test_bench_times_built_test_poses_and_refuses_a_missing_folder(tmp_path: Path, capsys) -> None:
    import numpy as np
    import pytest

    from lifter.bench import main, pose_source, sample_inputs

    pts = np.random.default_rng(0).normal(size=(3, 21, 2)).astype(np.float32)
    vis = np.ones((3, 21), bool)
    vis[0, 4] = False                                    # a partly hidden pose is left out of the timed ones
    np.savez(tmp_path / "hand21_test.npz", points2d=pts, visible=vis, category="hand21")
    assert pose_source("hand21", tmp_path) == tmp_path / "hand21_test.npz" and pose_source("chair", tmp_path) is None
    poses, visible = sample_inputs("hand21", 21, 4, tmp_path)
    np.testing.assert_array_equal(poses, np.stack([pts[1], pts[2], pts[1], pts[2]]))
    assert visible.all()
    chairs = np.random.default_rng(1).normal(size=(2, 21, 2)).astype(np.float32)
    present = np.ones((2, 21), bool)
    present[:, 6:10] = False                             # no chair view has every landmark: each keeps its own
    chairs[~present] = np.nan
    np.savez(tmp_path / "chair_test.npz", points2d=chairs, visible=present, category="chair")
    poses, visible = sample_inputs("chair", 21, 3, tmp_path)
    np.testing.assert_array_equal(visible, present[[0, 1, 0]])          # (they had been timed at pixel (0, 0))
    np.testing.assert_array_equal(poses[visible], chairs[[0, 1, 0]][present[[0, 1, 0]]])
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
    assert "--data" in capsys.readouterr().err and not (tmp_path / "out").exists()
    with pytest.raises(SystemExit) as stop:                             # a missing weights file is named
        main(["--weights", str(tmp_path / "nowhere.safetensors"), "--out", str(tmp_path / "out")])
    assert stop.value.code == 2 and "nowhere.safetensors is missing" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    for flag in ("--batch", "--repeats", "--threads"):                 # counts below one are refused up front
        with pytest.raises(SystemExit):
            main([flag, "0", "--out", str(tmp_path / "out")])
        assert f"{flag} must be at least 1" in capsys.readouterr().err and not (tmp_path / "out").exists()
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(SystemExit):                                     # before the timings, not after them
        main(["--out", str(blocker / "out"), "--categories", "hand21"])
    assert "is a file, not a folder" in capsys.readouterr().err
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if not os.access(locked, os.W_OK):                                  # (root may write anywhere)
        with pytest.raises(SystemExit):
            main(["--out", str(locked / "out"), "--categories", "hand21"])
        assert "cannot make the folder" in capsys.readouterr().err


def test_guessed_camera_row_times_lift_with_camera_without_intrinsics() -> None:
    import numpy as np

    from lifter.api import load_lifter
    from lifter.bench import _Options

    lifter = load_lifter(device="cpu")
    pose = np.random.default_rng(1).normal(size=(17, 2)).astype(np.float32) * 80 + 400
    np.testing.assert_array_equal(_Options(lifter, "lift_with_camera").lift(pose, "human17"),
                                  lifter.lift_with_camera(pose, "human17"))
    assert not np.allclose(lifter.lift(pose, "human17"), lifter.lift_with_camera(pose, "human17"))


def test_bench_on_chosen_categories_and_devices(tmp_path: Path, capsys) -> None:
    import pytest
    import torch

    from lifter.bench import main

    report = bench(DEFAULT_WEIGHTS, None, batch=2, repeats=2, devices=["cpu"], categories=["human17"])
    assert {r["category"] for r in report["results"]} == {"human17"} and set(report["poses"]) == {"human17"}
    assert {r["model"] for r in report["results"]} == {"lifter", "lifter without mirror averaging", BASELINE,
                                                        GUESSED, NETWORK_ONLY, NO_BONES, WHOLE_PASSES}
    with pytest.raises(SystemExit):
        main(["--categories", "human17", "dragon", "--out", str(tmp_path / "out")])
    assert "unknown dragon" in capsys.readouterr().err
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            main(["--devices", "cuda", "--out", str(tmp_path / "out")])
        assert "no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bench_checks_its_paths_and_data_before_timing_and_keeps_rows_when_interrupted(
        tmp_path: Path, capsys, monkeypatch) -> None:
    """A file as --out, an explicit --data without the categories' test files and a damaged test file are refused
    before any timing; relative --weights work from another folder (the cold start runs from the repository);
    Ctrl-C keeps the rows timed so far in OUT/bench.partial.json."""
    import json
    import shutil

    import pytest

    import lifter.bench as bench_module
    from lifter.bench import cold_start_seconds, main

    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for argv, message in ((["--out", str(a_file)], "is a file, not a folder"),
                          (["--out", str(a_file / "sub")], "is a file, not a folder"),
                          (["--data", str(tmp_path), "--categories", "hand21", "--out", str(tmp_path / "o")],
                           "has no test file of hand21")):
        with pytest.raises(SystemExit):
            main(argv)
        assert message in capsys.readouterr().err
    (tmp_path / "hand21_test.npz").write_bytes(b"not an npz")
    with pytest.raises(SystemExit) as stop:
        main(["--data", str(tmp_path), "--categories", "hand21", "--repeats", "2", "--batch", "2", "--out",
              str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert stop.value.code == 1 and "hand21_test.npz cannot be read as a data file" in err and "Traceback" not in err
    folder = tmp_path / "elsewhere"
    (folder / "w").mkdir(parents=True)
    for suffix in (".safetensors", ".json"):
        shutil.copy(DEFAULT_WEIGHTS.with_suffix(suffix), folder / "w" / f"lifter{suffix}")
    monkeypatch.chdir(folder)
    assert cold_start_seconds(Path("w/lifter.safetensors")) > 0
    monkeypatch.setattr(bench_module, "latency_ms", interrupted_on_call(bench_module.latency_ms, 3))
    assert main(["--categories", "hand21", "--repeats", "2", "--batch", "2", "--out", str(tmp_path / "out")]) == 130
    partial = json.loads((tmp_path / "out" / "bench.partial.json").read_text())
    assert partial["interrupted"] and len(partial["results"]) == 2 and not (tmp_path / "out" / "bench.json").exists()
    assert "the 2 rows timed so far" in capsys.readouterr().err
