"""``scripts/refinement_speed.py``: every torch refinement gives the numpy one of the commit it replaced (float32
rounding), for one pose and a few; needs the repository's git history (skips without it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from data_files import load_script

ROOT = Path(__file__).resolve().parents[1]


def _has_commit(revision: str) -> bool:
    try:
        return subprocess.run(["git", "cat-file", "-e", f"{revision}^{{commit}}"], cwd=ROOT,
                              capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.mark.skipif(not (_has_commit("f0a3431") and _has_commit("35db066")),
                    reason="needs the git history holding the numpy refinements (f0a3431, 35db066)")
def test_torch_refinements_match_the_numpy_ones_they_replaced(capsys) -> None:
    rs = load_script("refinement_speed")
    assert rs.main(["--repeats", "1", "--poses", "1", "5"]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()
            if line.startswith("| ") and "ms" in line]
    seen = {(r[0].lstrip("| "), r[1], r[2]) for r in rows}
    assert seen == {(name, category, poses) for name, category in
                    [("bone lengths", "human17"), ("bone lengths", "hand21"), ("symmetry", "chair"),
                     ("symmetry", "face468"), ("shape basis", "face468")] for poses in ("1", "5")}
    for r in rows:                                # random lifts of about 100 units: float32 rounding at most
        assert float(r[-1].rstrip(" |")) < 1e-3, r
