"""Checked files and run records: a written record's SHA-256 is the file's own even when the record handed in
carries a stale one, a record that is not a JSON object is refused naming the file, and a run's wall time sums
its stretches, a resumed stretch told apart by its repeated steps when its clock does not start lower."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lifter.checked_files import WeightsError, read_checked_tensors, record_path, sha256_file, write_checked_tensors
from lifter.export import log_segments, run_segments, wall_seconds

ARGS = ("test tensors", "make them again", "tensors")


def test_a_written_records_sha256_is_the_files_own(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    write_checked_tensors(path, {"a": np.arange(6.0).reshape(2, 3)}, {"sha256": "stale", "made_by": "a test"})
    record = json.loads(record_path(path).read_text())
    assert record["sha256"] == sha256_file(path) and record["made_by"] == "a test"
    np.testing.assert_array_equal(read_checked_tensors(path, *ARGS)["a"], np.arange(6.0).reshape(2, 3))


def test_a_record_that_is_not_a_json_object_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    write_checked_tensors(path, {"a": np.zeros(3)}, {})
    for text in ("[1, 2]", '"a string"', "{}", "not json"):
        record_path(path).write_text(text)
        with pytest.raises(WeightsError, match=r"t\.json is not a valid tensors record"):
            read_checked_tensors(path, *ARGS)


def test_a_resumed_stretch_is_told_apart_by_its_repeated_steps() -> None:
    """Stopped after step 100 (50 s), resumed from the checkpoint of step 80: its clock starts again, and its
    first logged step, 90, came at 60 s, later than the stretch before ended; the steps say it is a new one."""
    log = [{"step": 50, "seconds": 25.0}, {"step": 100, "seconds": 50.0},
           {"step": 90, "seconds": 60.0}, {"step": 150, "seconds": 90.0}]
    assert log_segments(log) == [{"first_step": 50, "last_step": 100, "seconds": 50.0},
                                 {"first_step": 90, "last_step": 150, "seconds": 90.0}]
    assert wall_seconds(log_segments(log)) == 140.0 and wall_seconds([]) is None


def test_recorded_stretches_are_used_only_when_they_cover_the_run_from_its_start() -> None:
    log = [{"step": 10, "seconds": 5.0}, {"step": 20, "seconds": 10.0}]
    whole = [{"first_step": 1, "last_step": 20, "seconds": 11.0}]
    assert run_segments({"segments": whole}, log) == whole
    late = [{"first_step": 15, "last_step": 20, "seconds": 3.0}]
    assert run_segments({"segments": late}, log) == log_segments(log)
    assert run_segments({}, log) == log_segments(log)
