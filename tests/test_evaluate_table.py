"""The benchmark table's Markdown (:func:`lifter.evaluate.to_markdown`), the ``--model`` words, the notes on what a
run leaves out and what it would replace, in closed form (no lifter runs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lifter.evaluate import parse_models, rows_replaced, skipped_notes, to_markdown


def row(method: str, category: str, setting: str, **values) -> dict:
    base = {"method": method, "category": category, "setting": setting, "strict": 5.0, "flip_best": 4.0,
            "units": "mm", "mirrored_share": 0.25, "per_landmark": [1.0] * 21, "cross_view": None}
    return {**base, **values}


def table_line(md: str, category: str, method: str) -> list[str]:
    [line] = [x for x in md.splitlines() if x.startswith(f"| {category} | {method} |")]
    return [c.strip() for c in line.strip("|").split("|")]


def test_each_method_is_one_line_with_its_clean_and_occluded_figures() -> None:
    rows = [row("bundled", "hand21", "clean", strict=5.04, flip_best=4.96, cross_view=2.0),
            row("bundled", "hand21", "occluded", strict=7.5, flip_best=None, cross_view=3.25)]
    md = to_markdown({"models": {"bundled": "x"}, "results": rows})
    assert sum(x.startswith("| hand21 | bundled |") for x in md.splitlines()) == 1
    assert table_line(md, "hand21", "bundled") == ["hand21", "bundled", "5.0 mm", "5.0 mm", "7.5 mm", "n/a",
                                                   "25.0 %", "2.0 mm / 3.2 mm"]


def test_a_method_measured_only_occluded_takes_its_units_from_that_row() -> None:
    rows = [row("flat (zero depth)", "chair", "occluded", units="%", strict=12.5, mirrored_share=None)]
    md = to_markdown({"models": {}, "results": rows})
    assert table_line(md, "chair", "flat (zero depth)") == ["chair", "flat (zero depth)", "—", "—", "12.5 %",
                                                            "4.0 %", "", "— / —"]


def test_per_landmark_errors_are_given_for_every_category_but_faces() -> None:
    rows = [row("bundled", "hand21", "clean"), row("bundled", "face468", "clean", per_landmark=[2.0] * 468)]
    md = to_markdown({"models": {"bundled": "x"}, "results": rows})
    assert "Per-landmark strict error, hand21, clean, bundled (mm):" in md
    assert "face468, clean" not in md                                    # 468 columns: left to the JSON


def test_a_label_holding_equals_signs_splits_where_the_rest_names_a_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("w", "B=w"):
        Path(name).write_bytes(b"")
    assert parse_models(["A=B=w"]) == {"A=B": Path("w")}                 # the last cut that names a file
    assert parse_models(["A=C=w"]) == {"A=C": Path("w")}
    with pytest.raises(ValueError, match="--out WEIGHTS.safetensors, and give"):     # how to make one, named
        parse_models(["lab=missing"])
    with pytest.raises(ValueError, match="--out runs/x.safetensors, and give"):
        parse_models(["lab=runs/x.safetensors"])


def test_the_notes_name_missing_categories_settings_and_training_files(tmp_path: Path) -> None:
    np.savez(tmp_path / "hand21_test.npz", a=1)
    np.savez(tmp_path / "hand21_train.npz", a=1)
    np.savez(tmp_path / "chair_test.npz", a=1)
    notes = skipped_notes(tmp_path, ("hand21", "chair", "face468"), references=True)
    assert notes == [f"no hand21_test_occluded.npz in {tmp_path}: no occluded hand21 rows",
                     f"no chair_test_occluded.npz in {tmp_path}: no occluded chair rows",
                     f"no chair_train.npz in {tmp_path}: no mean-shape or rigid-template rows for chair",
                     f"no test files of face468 in {tmp_path}: face468 is left out"]
    assert skipped_notes(tmp_path, ("chair",), references=False) == [
        f"no chair_test_occluded.npz in {tmp_path}: no occluded chair rows"]


def test_a_table_without_variant_rows_loses_none_and_a_foreign_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "evaluate.json"
    rows = [row("bundled", "hand21", "clean"), row("bundled", "hand21", "occluded")]
    path.write_text(json.dumps({"models": {"bundled": "x"}, "results": rows}))
    assert rows_replaced(path, ["hand21"], {"bundled": 1}, False, False, False) == []
    for foreign in ([1, 2], {"models": {}, "results": [3]}, "text"):
        path.write_text(json.dumps(foreign))
        assert rows_replaced(path, ["hand21"], {"bundled": 1}, True, True, True) == [
            f"{path} is not a table of this command"]
