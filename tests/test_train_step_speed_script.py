"""``scripts/train_step_speed.py``: both stages' steps run at both precisions (bf16 with each attention setting)
and the table reads back."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from data_files import load_script, write_hand_data
from lifter.devices import cpu_bf16_units, cpu_description


@pytest.fixture(scope="module")
def hand_data(tmp_path_factory) -> Path:
    return write_hand_data(tmp_path_factory.mktemp("data"), 400, 20)


@pytest.mark.parametrize("stage", ["2d", "round"])
def test_step_speed_table_has_both_precisions(stage: str, hand_data: Path, capsys) -> None:
    script = load_script("train_step_speed")
    assert script.main(["--data", str(hand_data), "--stage", stage, "--categories", "hand21", "--steps", "2",
                        "--repeats", "1", "--bf16-attention", "matmul", "fp32"]) == 0
    out = capsys.readouterr().out
    rows = {line.split(" | ")[0].lstrip("| "): line for line in out.splitlines() if line.startswith("| fp")
            or line.startswith("| bf")}
    assert set(rows) == {"fp32", "bf16, attention matmul", "bf16, attention fp32"}
    for line in rows.values():
        median, mean, steps = (c.strip(" |") for c in line.split(" | ")[1:])
        assert float(median) > 0 and float(mean) > 0 and steps == "2"
    assert "fp32 / bf16, attention matmul (means):" in out and "fp32 / bf16, attention fp32 (means):" in out


def test_bad_counts_are_refused(hand_data: Path, capsys) -> None:
    script = load_script("train_step_speed")
    with pytest.raises(SystemExit):
        script.main(["--data", str(hand_data), "--steps", "0"])
    assert "--steps" in capsys.readouterr().err


def test_stages_run_the_recorded_recipe() -> None:
    """The defaults read the recorded recipes: the four-times batches and identity code of the 2D-only stage shipped
    before, the bundled weights' last round's 3D-aware settings (the one-hour recipe's: 1,200 steps, hands three
    times and faces twice as often), with the script's start and teacher file in place of the run's own."""
    script = load_script("train_step_speed")
    two_d = script.stage_config("2d", script.DEFAULT_RECORDS["2d"], ("human17", "hand21", "face468", "chair"),
                                script.DEFAULT_INIT, script.DEFAULT_TEACHER_BONES)
    assert (two_d.steps, two_d.batch_tokens, two_d.max_batch, two_d.batch_on_subset) == (6000, 8192, 1024, True)
    assert two_d.model.identity_code == "laplacian+fourier" and two_d.learned_elevation
    assert not two_d.finetune_3d_aware and two_d.precision == "fp32"
    round_ = script.stage_config("round", script.DEFAULT_RECORDS["round"], ("hand21", "face468"),
                                 script.DEFAULT_INIT, script.DEFAULT_TEACHER_BONES)
    assert round_.finetune_3d_aware and (round_.steps, round_.lr, round_.warmup) == (1200, 3e-4, 50)
    assert round_.categories == ("hand21", "face468") and round_.precision == "bf16"
    assert round_.template_weights == (("face468", 100.0),)
    assert round_.category_weights == (("face468", 2), ("hand21", 3))
    assert round_.symmetry_weight == 5.0 and round_.finetune.block_prob == 0.5
    assert round_.finetune.teacher_reading == "perspective" and round_.finetune.distill_weight == 5.0
    assert round_.init_from == str(script.DEFAULT_INIT)
    assert round_.finetune.teacher_bones == str(script.DEFAULT_TEACHER_BONES)


def test_narrowed_drops_the_other_categories_settings() -> None:
    script = load_script("train_step_speed")
    from lifter.train_config import TrainConfig

    cfg = TrainConfig(category_weights=(("face468", 2), ("hand21", 3)), template_weights=(("face468", 100.0),),
                      flow_weights=(("human17", 0.1),), symmetry_weight=5.0, symmetry_categories=("human17", "chair"))
    small = script.narrowed(cfg, ("chair", "hand21"))
    assert small.categories == ("hand21", "chair")                   # the recipe's order, not the caller's
    assert small.category_weights == (("hand21", 3),) and small.template_weights == () and small.flow_weights == ()
    assert small.symmetry_categories == ("chair",)
    with pytest.raises(ValueError, match="not trained"):
        script.narrowed(small, ("face468",))


def test_bad_records_are_refused(hand_data: Path, tmp_path: Path, capsys) -> None:
    script = load_script("train_step_speed")
    with pytest.raises(SystemExit):                                  # a 2D-only stage's record for a round
        script.main(["--data", str(hand_data), "--stage", "round", "--categories", "hand21",
                     "--record", str(script.DEFAULT_RECORDS["2d"])])
    assert "records a 2D-only stage, not the round stage" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text('{"label": "not a weights record"}')
    with pytest.raises(SystemExit):
        script.main(["--data", str(hand_data), "--record", str(other)])
    assert "records no train_config" in capsys.readouterr().err


@pytest.mark.parametrize("flags, expected", [("fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile", "AMX and AVX-512"),
                                             ("fpu avx2 avx512f avx512_bf16", "AVX-512"), ("fpu avx2", "none")])
def test_cpu_description_names_the_bf16_instructions(flags: str, expected: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The table's first line (and every training record's ``processor``) names the CPU and its bf16 units."""
    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n")
    assert cpu_description(info, {}) == f"Some CPU, bf16 instructions: {expected}"
    # no cpuinfo (not Linux): what the platform module names, else "unknown CPU"
    monkeypatch.setattr(platform, "processor", lambda: "arm")
    assert cpu_description(tmp_path / "none", {}) == "arm"
    monkeypatch.setattr(platform, "processor", lambda: "")
    monkeypatch.setattr(platform, "machine", lambda: "")
    assert cpu_description(tmp_path / "none", {}) == "unknown CPU"
    capped = cpu_description(tmp_path / "none", {"ONEDNN_MAX_CPU_ISA": "AVX2"})
    assert capped == "unknown CPU, limited by ONEDNN_MAX_CPU_ISA=AVX2"
    # a cap on the instructions oneDNN or MKL may use is named: the CPU's flags alone would overstate the run
    limited = {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "OTHER": "x"}
    assert cpu_description(info, limited) == (f"Some CPU, bf16 instructions: {expected}, limited by "
                                              f"ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 and MKL_ENABLE_INSTRUCTIONS=AVX2")
    assert cpu_description(info, {"ONEDNN_MAX_CPU_ISA": ""}) == f"Some CPU, bf16 instructions: {expected}"


def test_cpu_bf16_units_drop_what_onednn_is_capped_away_from(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("model name\t: Some CPU\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    assert cpu_bf16_units(info, {}) == ["AMX", "AVX-512"]
    for cap, units in (("AVX512_CORE_AMX", ["AMX", "AVX-512"]), ("avx512_core_bf16", ["AVX-512"]),
                       ("AVX10_1_512", ["AVX-512"]), ("AVX512_CORE", []), ("AVX2", []), ("ALL", ["AMX", "AVX-512"])):
        assert cpu_bf16_units(info, {"ONEDNN_MAX_CPU_ISA": cap}) == units, cap
    assert cpu_bf16_units(info, {"DNNL_MAX_CPU_ISA": "AVX2"}) == []
    info.write_text("model name\t: Old CPU\nflags\t\t: fpu avx2\n")
    assert cpu_bf16_units(info, {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX"}) == []    # a cap adds nothing
    assert cpu_bf16_units(tmp_path / "none", {}) is None
    info.write_text("processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n")            # an Arm CPU with BF16
    assert cpu_bf16_units(info, {}) == ["Arm BF16"]
    info.write_text("processor\t: 0\nFeatures\t: fp asimd\n")
    assert cpu_bf16_units(info, {}) == []
