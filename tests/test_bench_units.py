"""lifter.bench's measuring helpers in closed form: a stand-in lifter and a clock that advances a known time per
call give the exact latencies, rates and percentiles; the peak-memory reading follows an allocation and its reset;
the bench's rows compare each model with the baseline of the same device and category."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

import lifter.bench as bench_module
from lifter.bench import latency_ms, peak_rss_mib, percentile, reset_peak_rss, sample_inputs, throughput


class _Clock:
    """``time.perf_counter`` stand-in, advanced by the stand-in lifter."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Lifter:
    """Records each lift's arguments and advances the clock by 0.25 s per lift of one pose and, per batch, by the
    next of 9, 2, 1, 4 s (the first: the warm-up)."""

    device = torch.device("cpu")

    def __init__(self, clock: _Clock) -> None:
        self.clock, self.calls, self.batch_seconds = clock, [], [9.0, 2.0, 1.0, 4.0]

    def lift(self, points2d, category, visible=None):
        self.calls.append((np.asarray(points2d).shape, category, visible))
        self.clock.now += 0.25 if np.asarray(points2d).ndim == 2 else self.batch_seconds.pop(0)
        return np.zeros(np.asarray(points2d).shape[:-1] + (3,))


@pytest.fixture
def clocked(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(bench_module.time, "perf_counter", clock)
    return _Lifter(clock)


def test_latency_warms_up_ten_lifts_then_times_each_of_the_repeats(clocked) -> None:
    pose, visible = np.zeros((17, 2), np.float32), np.ones(17, bool)
    times = latency_ms(clocked, pose, "human17", 4, visible)
    assert times == [250.0] * 4                                         # milliseconds
    assert len(clocked.calls) == 10 + 4
    assert all(c[:2] == ((17, 2), "human17") and c[2] is visible for c in clocked.calls)


def test_throughput_is_the_median_rate_of_whole_batches(clocked) -> None:
    poses, visible = np.zeros((8, 17, 2), np.float32), np.ones((8, 17), bool)
    assert throughput(clocked, poses, "human17", 3, visible) == 8 / 2.0     # the median of 4, 8 and 2 poses/s
    assert len(clocked.calls) == 1 + 3 and all(c[0] == (8, 17, 2) and c[2] is visible for c in clocked.calls)


def test_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5) and percentile(values, 90) == pytest.approx(90.1)


def test_random_poses_stand_in_the_image_when_no_test_file_is_built(tmp_path) -> None:
    poses, visible = sample_inputs("hand21", 21, 64, None, seed=3)
    assert poses.shape == (64, 21, 2) and poses.dtype == np.float32 and visible.all()
    assert 300 < np.median(poses) < 700 and np.ptp(poses) > 200                 # pixels of a 1000 px image
    again, _ = sample_inputs("hand21", 21, 64, tmp_path, seed=3)                 # a folder without the file
    np.testing.assert_array_equal(again, poses)


def _vm(field: str) -> float:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status here")


def test_peak_memory_follows_an_allocation_and_its_reset() -> None:
    """MiB of the peak resident set (VmHWM): at least the current one (VmRSS), raised by 200 MiB held for a moment,
    and back near the current size once reset after it is freed."""
    reset_peak_rss()
    before = peak_rss_mib()
    assert before >= _vm("VmRSS") - 1 and before == pytest.approx(_vm("VmHWM"), abs=1)
    block = np.ones(200 * 2 ** 20 // 8)                                           # 200 MiB, touched
    assert peak_rss_mib() > before + 150
    del block
    assert peak_rss_mib() > before + 150 and _vm("VmRSS") < before + 100     # the peak, not the current size
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("/proc/self/clear_refs cannot be written here: the peak is the process's so far")
    reset_peak_rss()
    assert peak_rss_mib() < before + 100


def test_each_row_is_compared_with_the_baseline_of_its_device_and_category(monkeypatch) -> None:
    """bench()'s ratios: a row's p50 latency over its baseline's, and its throughput over the baseline's, the
    baseline being the one of the same device and category."""
    from lifter.bench import BASELINE, bench

    timed = [("cpu", "hand21", BASELINE, 2.0, 100.0), ("cpu", "hand21", "lifter", 5.0, 40.0),
             ("cpu", "chair", BASELINE, 4.0, 10.0), ("cpu", "chair", "lifter", 6.0, 5.0),
             ("cuda", "hand21", BASELINE, 1.0, 1000.0), ("cuda", "hand21", "lifter", 3.0, 250.0)]

    def fake_rows(weights, data, batch, repeats, devices, categories, results):
        results += [{"device": d, "category": c, "model": m, "batch": batch, "latency_p50_ms": p50,
                     "latency_p90_ms": p50, "throughput_poses_s": rate} for d, c, m, p50, rate in timed]
        return type("Loaded", (), {"categories": {"hand21": 21, "chair": 21, "human17": 17}})()

    monkeypatch.setattr(bench_module, "_timed_rows", fake_rows)
    monkeypatch.setattr(bench_module, "cold_start_seconds", lambda weights: 1.5)
    report = bench(bench_module.DEFAULT_WEIGHTS, None, 8, 2, ["cpu", "cuda"], categories=["hand21", "chair"])
    ratios = [(r["latency_ratio_vs_baseline"], r["throughput_ratio_vs_baseline"]) for r in report["results"]]
    assert ratios == [(1.0, 1.0), (2.5, 0.4), (1.0, 1.0), (1.5, 0.5), (1.0, 1.0), (3.0, 0.25)]
    assert set(report["poses"]) == {"hand21", "chair"} and report["cold_start_s"] == 1.5
    assert report["weights_mb"] == round(bench_module.DEFAULT_WEIGHTS.stat().st_size / 1e6, 2)


def test_the_timed_rows_time_what_their_labels_say(monkeypatch, capsys) -> None:
    """_timed_rows with the timing helpers replaced by recorders: each label is timed on what it names (the
    baseline's network has the identity at the input only and the lifter's width; the whole-pass row has no token
    budget; the option rows set their options), with the sampled poses' visibility, and each row carries the 50th
    and 90th percentiles of its latencies."""
    from lifter.api import DEFAULT_WEIGHTS
    from lifter.bench import BASELINE, NETWORK_ONLY, NO_BASIS, NO_BONES, NO_SYMMETRY, WHOLE_PASSES, _timed_rows

    timed, rated = [], []

    def fake_latency(model, pose, category, repeats, visible=None):
        timed.append((model, pose.shape, visible))
        return [float(v) for v in range(1, 11)]

    def fake_throughput(model, poses, category, repeats, visible=None):
        rated.append((model, poses.shape, visible))
        return 1e3

    monkeypatch.setattr(bench_module, "latency_ms", fake_latency)
    monkeypatch.setattr(bench_module, "throughput", fake_throughput)
    results: list[dict] = []
    main = _timed_rows(DEFAULT_WEIGHTS, None, 4, 5, ["cpu"], ["face468"], results)
    capsys.readouterr()
    model = {r["model"]: m for r, (m, _, _) in zip(results, timed)}
    assert len(timed) == len(rated) == len(results) and [m for m, _, _ in rated] == [m for m, _, _ in timed]
    assert NO_BONES not in model and {NO_SYMMETRY, NO_BASIS} <= set(model)     # faces: no bone refinement
    assert model["lifter"] is main and main.model.cfg.identity == "every_layer" and main.token_budget
    base = model[BASELINE].model.cfg
    assert base.identity == "input_only" and base.dim == main.model.cfg.dim and base.depth == main.model.cfg.depth
    assert model[WHOLE_PASSES].model is main.model and model[WHOLE_PASSES].token_budget == 0
    assert model[NO_BASIS].options == {"shape_basis": False}
    assert model["lifter without mirror averaging"].options == {"mirror_average": False}
    assert model[NETWORK_ONLY].options == {"mirror_average": False, "complete_hidden": False, "symmetrize": False,
                                           "shape_basis": False, "bone_lengths": False}
    assert all(shape == (468, 2) and v is not None and v.shape == (468,) for _, shape, v in timed)
    assert all(shape == (4, 468, 2) and v is not None and v.shape == (4, 468) for _, shape, v in rated)
    assert {(r["latency_p50_ms"], r["latency_p90_ms"], r["throughput_poses_s"]) for r in results} == {(5.5, 9.1, 1e3)}


def test_a_cold_start_that_fails_says_so(tmp_path) -> None:
    from lifter.bench import cold_start_seconds

    broken = tmp_path / "lifter.safetensors"
    broken.write_bytes(b"not weights")
    with pytest.raises(RuntimeError, match="the cold-start process failed: .*lifter.safetensors"):
        cold_start_seconds(broken)


def test_the_command_passes_its_settings_to_the_bench_and_writes_both_files(tmp_path, monkeypatch, capsys) -> None:
    """main() with the bench replaced by a recorder: --threads is applied, --devices, --batch, --repeats and
    --categories reach the bench, data/ is timed when built there and nothing otherwise, and bench.json and
    bench.md replace an earlier interrupted run's partial file."""
    import json

    from lifter.bench import main, to_markdown

    asked = []
    report = {"weights": "w", "threads": 1, "torch": "x", "poses": {"hand21": "random"}, "cpu": "a CPU",
              "cuda": None, "weights_mb": 1.0, "cold_start_s": 2.0,
              "results": [{"device": "cpu", "category": "hand21", "model": "lifter", "batch": 3, "latency_p50_ms": 1.0,
                           "latency_p90_ms": 2.0, "throughput_poses_s": 30.0, "latency_ratio_vs_baseline": 1.5,
                           "throughput_ratio_vs_baseline": 0.5, "peak_rss_mib": 100.0}]}
    monkeypatch.setattr(bench_module, "bench", lambda *a: asked.append(a) or report)
    threads = torch.get_num_threads()
    out = tmp_path / "out"
    out.mkdir()
    (out / "bench.partial.json").write_text("{}")
    monkeypatch.chdir(tmp_path)                                          # no data/ here
    try:
        assert main(["--threads", "1", "--devices", "cpu", "--batch", "3", "--repeats", "7", "--categories",
                     "hand21", "--out", str(out)]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    assert asked[-1][1:] == (None, 3, 7, ["cpu"], ["hand21"])
    assert json.loads((out / "bench.json").read_text()) == report
    assert (out / "bench.md").read_text() == to_markdown(report) and not (out / "bench.partial.json").exists()
    assert to_markdown(report) in capsys.readouterr().out
    (tmp_path / "data").mkdir()                                          # built data/ is timed by default
    assert main(["--categories", "hand21", "--out", str(out)]) == 0
    assert asked[-1][1] == Path("data")


def test_a_data_folder_that_is_not_there_is_named_as_such(tmp_path, capsys) -> None:
    from lifter.bench import main

    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path / "nowhere"), "--categories", "hand21", "--out", str(tmp_path / "out")])
    assert f"--data {tmp_path / 'nowhere'}: no such folder" in capsys.readouterr().err
