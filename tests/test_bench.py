"""``lifter.bench`` runs end to end on tiny settings (its figures are measurements, not asserted here)."""

from __future__ import annotations

from pathlib import Path

from lifter.api import DEFAULT_WEIGHTS
from lifter.bench import BASELINE, bench, to_markdown


def test_bench_rows_and_ratios(tmp_path: Path) -> None:
    report = bench(DEFAULT_WEIGHTS, None, batch=4, repeats=3, devices=["cpu"])
    rows = report["results"]
    models = {"lifter", "lifter without mirror averaging", BASELINE}
    assert {(r["category"], r["model"]) for r in rows} == {(c, m) for c in ("human17", "hand21", "face468", "chair")
                                                           for m in models}
    for r in rows:
        assert r["latency_p50_ms"] > 0 and r["throughput_poses_s"] > 0 and r["peak_rss_mib"] > 0
        if r["model"] == BASELINE:
            assert r["latency_ratio_vs_baseline"] == 1.0 and r["throughput_ratio_vs_baseline"] == 1.0
    assert 0 < report["cold_start_s"] < 60 and report["weights_mb"] < 50
    assert "| cpu | human17 | lifter without mirror averaging |" in to_markdown(report)
