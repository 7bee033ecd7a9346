"""scripts/face_basis_rows.py: the face rows through the API for the bundled basis and another file."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_files import load_script, write_face_data
from lifter.shape_basis import DEFAULT_BASES


def test_rows_of_the_bundled_basis_given_twice_agree(tmp_path: Path, capsys) -> None:
    fr = load_script("face_basis_rows")
    (tmp_path / "data").mkdir()
    data = write_face_data(tmp_path / "data", train=2, test=4)
    assert fr.main(["--data", str(data), "--bases", str(DEFAULT_BASES)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"| reading, clean / occluded | bundled | {DEFAULT_BASES} |" and len(out) == 2 + 5
    for line in out[2:]:
        cells = line.strip("|").split("|")
        assert cells[1].strip() == cells[2].strip() and "%" in cells[1]       # the same file, the same figures
    assert out[3].startswith("| with intrinsics | ") and float(out[3].split("|")[2].split("/")[0]) < 5
    with pytest.raises(SystemExit):
        fr.main(["--data", str(tmp_path / "none"), "--bases", str(DEFAULT_BASES)])
    assert "no face468 test files" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        fr.main(["--data", str(data), "--bases", str(tmp_path / "missing.safetensors")])
    assert "missing.safetensors" in capsys.readouterr().err
