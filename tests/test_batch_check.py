"""Batch sizes larger than the training files or than the memory are said before the first step."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_files import write_hand_data
from lifter.batch_check import TRAIN_BYTES_PER_TOKEN, available_memory, batch_problems, batch_size
from lifter.train import main as train_main
from lifter.train_config import TrainConfig


def test_batch_size_clamps_the_tokens_a_batch_to_the_pose_limits() -> None:
    cfg = TrainConfig(batch_tokens=8192, max_batch=1024, min_batch=8)
    assert batch_size(cfg, 17) == 8192 // 17
    assert batch_size(cfg, 468) == 17                                          # whole faces: 8192 // 468
    assert batch_size(TrainConfig(batch_tokens=8192, max_batch=1024, batch_on_subset=True), 468) == 8192 // 128
    assert batch_size(TrainConfig(batch_tokens=10 ** 9, max_batch=300), 17) == 300
    assert batch_size(TrainConfig(batch_tokens=1, min_batch=5), 17) == 5
    assert batch_size(TrainConfig(batch_tokens=4096, category_batch_tokens=(("chair", 840),)), 21, "chair") == 40


def test_batches_larger_than_a_file_are_noted_and_memory_is_checked_on_the_largest_batch() -> None:
    cfg = TrainConfig(batch_tokens=21 * 1000, max_batch=5000, category_batch_tokens=(("chair", 21 * 10),))
    sizes = {"hand21": (400, 21), "chair": (50, 21)}
    notes, error = batch_problems(cfg, sizes, None)
    assert notes == ["hand21: batches of 1000 poses, but its training file holds 400: each batch is the whole file"]
    assert error is None
    # The hands' batch is capped by their file: 400 poses of 21 tokens, the largest batch.
    need = 400 * 21 * TRAIN_BYTES_PER_TOKEN
    assert batch_problems(cfg, sizes, need)[1] is None
    notes, error = batch_problems(cfg, sizes, need - 1)
    assert error is not None and error.startswith("hand21 batches of 400 poses (8,400 tokens) need at least")
    assert "lower --batch-tokens (21000) or --max-batch (5000)" in error
    # A category whose batch comes from --category-batch-tokens is told so.
    cfg = TrainConfig(batch_tokens=21, category_batch_tokens=(("chair", 21 * 40),))
    error = batch_problems(cfg, sizes, 10)[1]
    assert error is not None and error.startswith("chair batches of 40 poses")
    assert "--category-batch-tokens (840)" in error


def test_available_memory_reads_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       32000000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\n")
    assert available_memory(meminfo) == 20000000 * 1024
    meminfo.write_text("MemTotal: 5 kB\n")
    assert available_memory(meminfo) is None
    assert available_memory(tmp_path / "absent") is None
    here = available_memory()
    assert here is None or here > 0


def test_train_refuses_a_batch_beyond_the_memory_before_writing_anything(tmp_path: Path, capsys,
                                                                         monkeypatch) -> None:
    data = write_hand_data(tmp_path / "data", 300, 20)
    tiny = ["--data", str(data), "--categories", "hand21", "--dim", "32", "--depth", "2", "--heads", "2",
            "--steps", "1", "--quiet"]
    monkeypatch.setattr("lifter.train.available_memory", lambda: 100 * 21 * TRAIN_BYTES_PER_TOKEN)
    with pytest.raises(SystemExit) as stop:
        train_main(tiny + ["--out", str(tmp_path / "big"), "--batch-tokens", str(10 ** 8), "--max-batch", "10000"])
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "note: hand21: batches of 10000 poses, but its training file holds 300" in err
    assert "error: hand21 batches of 300 poses (6,300 tokens) need at least" in err and "--max-batch (10000)" in err
    assert not (tmp_path / "big").exists()
    # Within the memory, the run trains and only notes the file's size.
    assert train_main(tiny + ["--out", str(tmp_path / "fits"), "--batch-tokens", str(21 * 50)]) == 0
    assert "note" not in capsys.readouterr().err
    assert (tmp_path / "fits" / "checkpoint.safetensors").exists()

