"""lifter.bench's measuring helpers in closed form: a stand-in lifter and a clock that advances a known time per
call give the exact latencies, rates and percentiles; the peak-memory reading follows an allocation and its reset;
the bench's rows compare each model with the baseline of the same device and category."""

from __future__ import annotations

import os

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
    """Records each lift's arguments and advances the clock by 0.25 s per lift of one pose, 2 s per batch."""

    device = torch.device("cpu")

    def __init__(self, clock: _Clock) -> None:
        self.clock, self.calls = clock, []

    def lift(self, points2d, category, visible=None):
        self.calls.append((np.asarray(points2d).shape, category, visible))
        self.clock.now += 0.25 if np.asarray(points2d).ndim == 2 else 2.0
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
    assert throughput(clocked, poses, "human17", 3, visible) == 8 / 2.0     # poses per second
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
