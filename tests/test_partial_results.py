"""The benchmark's partial results (``python -m lifter.evaluate --resume``) are resumed only by a run with the same
inputs: a change in a weights file's or a data file's bytes at the same path, in the lifter's code, or a key only
one side has, is refused naming it; a file that is not one is refused too."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from lifter import partial_results
from lifter.partial_results import PartialMismatch, load_blocks, run_key, save_blocks


def test_the_code_hash_follows_the_sources_contents(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    shutil.copy(partial_results.__file__, package / "partial_results.py")
    (package / "other.py").write_text("X = 1\n")
    spec = importlib.util.spec_from_file_location("copied_partial_results", package / "partial_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    before = module.code_sha256()
    (package / "other.py").write_text("X = 2\n")                  # same files, other contents
    assert module.code_sha256() != before


def test_other_bytes_at_the_same_paths_are_other_inputs(tmp_path: Path) -> None:
    data, weights = tmp_path / "data", tmp_path / "w.safetensors"
    data.mkdir()
    (data / "hand21_test.npz").write_bytes(b"one")
    weights.write_bytes(b"weights one")
    key = run_key(data, {"lifter": weights}, ("hand21",), ablations=True)
    path = tmp_path / "evaluate.partial.json"
    save_blocks(path, key, {("hand21", "clean"): [{"method": "lifter", "strict": 5.0}]})
    assert load_blocks(path, key) == {("hand21", "clean"): [{"method": "lifter", "strict": 5.0}]}
    (data / "hand21_test.npz").write_bytes(b"two")
    with pytest.raises(PartialMismatch, match="the data files"):
        load_blocks(path, run_key(data, {"lifter": weights}, ("hand21",), ablations=True))
    (data / "hand21_test.npz").write_bytes(b"one")
    weights.write_bytes(b"weights two")
    with pytest.raises(PartialMismatch, match=r"the weights \(labels or files\)"):
        load_blocks(path, run_key(data, {"lifter": weights}, ("hand21",), ablations=True))
    with pytest.raises(PartialMismatch, match="the lifter's code"):
        load_blocks(path, {**key, "code": "0" * 64})
    with pytest.raises(PartialMismatch, match="future_option"):               # a key only the file has
        save_blocks(path, {**key, "future_option": True}, {})
        load_blocks(path, key)


def test_a_file_that_is_not_partial_results_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evaluate.partial.json"
    for text in ("[1, 2]", "{}", "not json", '{"key": {}, "blocks": [3]}'):
        path.write_text(text)
        with pytest.raises(PartialMismatch, match="is not a partial-results file"):
            load_blocks(path, {})
