"""``scripts/recipe_time.py``: the recipe's time extrapolated from short runs of its recorded commands (a stand-in
for the runs gives logs of known step times, so the arithmetic and the commands are checked, not this machine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_files import load_script


@pytest.fixture(scope="module")
def script():
    return load_script("recipe_time")


def test_rate_takes_the_second_half_and_the_start_before_it(script) -> None:
    log = {50: 13 + 50 * 0.3 + 2.0, 100: 13 + 100 * 0.3, 150: 13 + 150 * 0.3, 200: 13 + 200 * 0.3}
    per_step, start = script.rate(log, 200)                 # the first half ran slower: not counted in the rate
    assert per_step == pytest.approx(0.3) and start == pytest.approx(13.0)
    assert script.recorded_steps(["--data", "d", "--steps", "1200", "--quiet"]) == 1200


def test_estimate_is_the_recorded_steps_at_the_measured_rates(script, tmp_path: Path, monkeypatch, capsys) -> None:
    runs = []

    def stand_in(args: list[str], preload: str, out: Path) -> tuple[dict[int, float], float]:
        runs.append((args, preload))
        steps = int(args[args.index("--steps") + 1])
        per_step, start, other = (0.3, 13.0, 4.0) if "--finetune-3d-aware" in args else (0.2, 0.0, 6.0)
        log = {s: start + s * per_step for s in range(50, steps + 1, 50)}
        return log, log[steps] + other

    monkeypatch.setattr(script, "log_seconds", stand_in)
    times = tmp_path / "times.txt"
    times.write_text("# allocator x\n2d 1206\nr1 383\nr2 383\ntotal 1972\n")
    assert script.main(["--data", "somewhere", "--steps", "100", "--rounds", "2", "--allocator", "system",
                        "--precision", "fp32", "--recorded", str(times)]) == 0
    out = capsys.readouterr().out
    # 2D-only stage: 6,000 recorded steps at 0.2 s + 6 s; each round: 13 s + 1,200 at 0.3 s + 4 s
    assert "| 2D-only stage | 6000 | 0.200 | — | 6 | 1206 |" in out
    assert "| each round (x2) | 1200 | 0.300 | 13 | 4 | 377 |" in out
    assert "| 1960 s = 32.7 min |" in out and "estimate / recorded 0.994" in out
    (two_d, preload_2d), (round_, _) = runs
    assert preload_2d == "" and "--finetune-3d-aware" not in two_d and "--finetune-3d-aware" in round_
    for args in (two_d, round_):                             # the recorded commands, cut short, as asked
        assert args[args.index("--steps") + 1] == "100" and args[args.index("--data") + 1] == "somewhere"
        assert args[args.index("--precision") + 1] == "fp32"
    assert "--teacher-bones" in round_ and "--init" in round_


def test_bad_counts_are_refused(script, capsys) -> None:
    for argv in (["--steps", "150"], ["--steps", "50"], ["--rounds", "0"]):
        with pytest.raises(SystemExit):
            script.main(argv)
        assert "--steps takes a multiple of 100" in capsys.readouterr().err
    with pytest.raises(SystemExit):                                       # a named library that is not there
        script.main(["--allocator", "/no/such/library.so"])
    assert "--allocator: /no/such/library.so: no such library" in capsys.readouterr().err


def test_two_precisions_are_each_estimated_and_the_faster_named(script, monkeypatch, capsys) -> None:
    def stand_in(args: list[str], preload: str, out: Path) -> tuple[dict[int, float], float]:
        steps = int(args[args.index("--steps") + 1])
        per_step = 0.4 if args[args.index("--precision") + 1] == "bf16" else 0.3     # emulated bf16: slower
        log = {s: s * per_step for s in range(50, steps + 1, 50)}
        return log, log[steps]

    monkeypatch.setattr(script, "log_seconds", stand_in)
    assert script.main(["--data", "d", "--steps", "100", "--rounds", "1", "--allocator", "system",
                        "--precision", "bf16", "fp32"]) == 0
    out = capsys.readouterr().out
    # bf16: 6,000 steps at 0.4 s + 1,200 at 0.4 s = 2880 s; fp32: at 0.3 s, 2160 s
    assert "; bf16; 100 steps" in out and "; fp32; 100 steps" in out
    assert "| 2880 s = 48.0 min |" in out and "| 2160 s = 36.0 min |" in out
    assert "fastest here: fp32 (bf16 48.0 min, fp32 36.0 min); PRECISION=fp32 sh scripts/cpu_recipe.sh" in out
    with pytest.raises(SystemExit):
        script.main(["--precision", "fp32", "fp32"])
    assert "--precision names each precision once" in capsys.readouterr().err
