"""``python -m app.bench`` runs what the Image tab runs, once per mode to warm up and then ``--repeats`` times,
and prints each mode's median and worst time and whether the worst meets the target (the figures themselves are
measurements, not asserted here)."""

from __future__ import annotations

import re

import pytest


def test_app_bench_times_the_image_tab_path_per_mode(monkeypatch, capsys) -> None:
    from app import bench, handlers

    calls = {"on_image": [], "on_detect": [], "on_lift": []}
    for name, seen in calls.items():
        real = getattr(handlers, name)
        monkeypatch.setattr(handlers, name, lambda *a, _real=real, _seen=seen: _seen.append(a[1:]) or _real(*a))
    assert bench.main(["--size", "256", "--repeats", "2"]) == 0
    out = capsys.readouterr().out
    assert len(calls["on_image"]) == len(calls["on_detect"]) == len(calls["on_lift"]) == 2 * 3   # 1 + 2 per mode
    assert [a[0] for a in calls["on_detect"]] == ["Body"] * 3 + ["Face"] * 3
    rows = re.findall(r"^(Body|Face)\s+256 x 256: .* median ([0-9.]+) s, worst ([0-9.]+) s over 2 runs$", out, re.M)
    assert [r[0] for r in rows] == ["Body", "Face"]
    assert all(0 < float(median) <= float(worst) for _, median, worst in rows)
    worst = max(float(w) for _, _, w in rows)
    verdict = "met" if worst <= bench.TARGET_S else "NOT met"
    assert f"target {bench.TARGET_S} s: {verdict} (worst {worst:.3f} s)" in out


@pytest.mark.parametrize("args,message", [(["--repeats", "0"], "--repeats must be at least 1"),
                                          (["--size", "10"], "--size must be at least 64")])
def test_app_bench_refuses_settings_it_cannot_time(args, message, capsys) -> None:
    from app import bench

    with pytest.raises(SystemExit):
        bench.main(args)
    assert message in capsys.readouterr().err
