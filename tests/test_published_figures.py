"""The benchmark and speed figures the README and docs/benchmark.md print are the measured ones: they agree with
``results/evaluate.json`` / ``.md`` (``python -m lifter.evaluate --data data --out results``, 22-29 min here) and
``results/bench.json`` / ``.md`` (``python -m lifter.bench --data data``, 15 min). Nothing is re-measured here; a
table edited by hand, or a rerun that was not carried into the docs, fails."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from data_files import load_script
from lifter.evaluate import SHIPPED, with_guessed_camera_label, with_intrinsics_label
from lifter.views import CATEGORY_ORDER

ROOT = Path(__file__).resolve().parents[1]
TWIN = "3D-supervised (upper bound, 6,000 steps at four-times batches, Laplacian + Fourier code)"
#: The README's at-a-glance columns after category and target, and the full table's row each one prints.
GLANCE_COLUMNS = (SHIPPED, with_intrinsics_label(SHIPPED), with_guessed_camera_label(SHIPPED), TWIN)
#: "40.0 / 50.3 mm", "5.05 / 6.09 mm = 9.93 / 12.0 %", "4.9 mm = 9.6 %", "4.73 / 3.83 %": clean [/ occluded] in
#: the row's units, then optionally the same as % of the RMS radius.
FIGURES = re.compile(r"^(?P<clean>\d+\.\d+)(?: / (?P<occluded>\d+\.\d+))? (?P<units>mm|%)"
                     r"(?: = (?P<clean_pct>\d+\.\d+)(?: / (?P<occluded_pct>\d+\.\d+))? %)?")


@pytest.fixture(scope="module")
def results() -> list[dict]:
    return json.loads((ROOT / "results" / "evaluate.json").read_text())["results"]


def row(results: list[dict], category: str, method: str, setting: str) -> dict:
    found = [r for r in results if (r["category"], r["method"], r["setting"]) == (category, method, setting)]
    assert len(found) == 1, f"{category} / {setting}: {len(found)} rows of {method!r}"
    return found[0]


def shown_as(value: float, shown: str) -> bool:
    """Whether ``value`` rounds to ``shown`` at ``shown``'s decimals."""
    decimals = len(shown.split(".")[1])
    return f"{value:.{decimals}f}" == shown


def mismatches(cell: str, results: list[dict], category: str, method: str) -> list[str]:
    """What in an at-a-glance ``cell`` (``FIGURES`` at its start) differs from the full table's rows."""
    m = FIGURES.match(cell)
    assert m, f"{category}: no figures at the start of {cell!r}"
    wrong = []
    for setting in ("clean", "occluded"):
        r = None
        for key, field in ((setting, "strict"), (f"{setting}_pct", "strict_pct_radius")):
            if m.group(key) is None:
                continue
            r = r or row(results, category, method, setting)
            if not shown_as(float(r[field]), m.group(key)):
                wrong.append(f"{category} {setting} {field}: README {m.group(key)}, measured "
                             f"{float(r[field]):.4f} ({method[:60]}...)")
    return wrong


def test_the_compact_table_is_the_measured_one(results) -> None:
    table = "\n".join(load_script("benchmark_summary").summary_rows(results))
    assert table in (ROOT / "README.md").read_text()


def test_the_at_a_glance_figures_are_the_measured_ones(results) -> None:
    readme = (ROOT / "README.md").read_text().splitlines()
    wrong, seen = [], []
    for line in readme:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        category = cells[0].strip("`")
        if category not in CATEGORY_ORDER or len(cells) != 7 or seen.count(category):
            continue
        seen.append(category)
        for cell, method in zip(cells[2:6], GLANCE_COLUMNS):
            wrong += mismatches(cell, results, category, method)
    assert seen == list(CATEGORY_ORDER), f"the at-a-glance table's rows: {seen}"
    assert not wrong, "\n".join(wrong)


def test_docs_benchmark_holds_the_whole_measured_table() -> None:
    measured = [line for line in (ROOT / "results" / "evaluate.md").read_text().splitlines()
                if any(line.startswith(f"| {c} | ") for c in CATEGORY_ORDER)]
    assert len(measured) > 50
    shown = set((ROOT / "docs" / "benchmark.md").read_text().splitlines())
    assert [line for line in measured if line not in shown] == []


def test_a_figure_that_differs_is_named(results) -> None:
    r = row(results, "hand21", SHIPPED, "clean")
    good = f"{r['strict']:.2f} / 6.09 mm = {r['strict_pct_radius']:.2f} / 12.0 %"
    assert mismatches(good, results, "hand21", SHIPPED) == []
    bad = f"{r['strict'] + 0.01:.2f} / 6.09 mm = {r['strict_pct_radius']:.2f} / 12.0 %"
    assert [w.split(":")[0] for w in mismatches(bad, results, "hand21", SHIPPED)] == ["hand21 clean strict"]


def bench_row(bench: dict, category: str, model: str) -> dict:
    found = [r for r in bench["results"] if (r["device"], r["category"], r["model"]) == ("cpu", category, model)]
    assert len(found) == 1, f"{category}: {len(found)} CPU rows of {model!r} in results/bench.json"
    return found[0]


def test_the_speed_table_is_the_measured_one() -> None:
    bench = json.loads((ROOT / "results" / "bench.json").read_text())
    readme = (ROOT / "README.md").read_text()
    for category in CATEGORY_ORDER:
        lifter = bench_row(bench, category, "lifter")
        network = bench_row(bench, category, "network only (no mirror averaging, completion or refinement)")
        expected = (f"| `{category}` | {lifter['latency_p50_ms']:.2f} / {lifter['latency_p90_ms']:.2f} | "
                    f"{lifter['throughput_poses_s']:,.0f} | {network['latency_p50_ms']:.2f}, "
                    f"{network['throughput_poses_s']:,.0f} | {lifter['peak_rss_mib']:.0f} |")
        assert expected in readme.splitlines(), f"README's speed table, {category}: expected {expected}"
    body = bench_row(bench, "human17", "lifter")
    targets = (f"Targets: one body **{body['latency_p50_ms']:.2f} ms p50** (≤ 10 ms), "
               f"**{body['throughput_poses_s']:,.0f} bodies/s** batched (≥ 1,000), load + first lift in a fresh\n"
               f"process **{bench['cold_start_s']:.2f} s** (≤ 3 s), weights {bench['weights_mb']:.1f} MB")
    assert targets in readme
    measured = [line for line in (ROOT / "results" / "bench.md").read_text().splitlines() if line.startswith("| cpu |")]
    assert len(measured) >= 4 * 5
    shown = set((ROOT / "docs" / "benchmark.md").read_text().splitlines())
    assert [line for line in measured if line not in shown] == []
