"""``scripts/ensemble_check.py``: an ensemble's network lift is its members' mean, and the script measures the
lifters it is given on chairs the tests make."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from data_files import load_script, write_chair_data
from lifter import load_lifter
from lifter.api import DEFAULT_WEIGHTS

OTHER = DEFAULT_WEIGHTS.parent / "reference" / "face_steps_recipe.safetensors"


def test_an_ensembles_network_lift_is_the_members_mean() -> None:
    ec = load_script("ensemble_check")
    a, b = load_lifter(device="cpu"), load_lifter(OTHER, device="cpu")
    assert ec.ensemble([a]) is a
    rng = np.random.default_rng(3)
    pts = rng.normal(size=(4, 21, 2)) * 60 + 300
    raw = dict(mirror_average=False, complete_hidden=False, bone_lengths=False)    # the network's lift alone
    la, lb = a.lift(pts, "hand21", **raw), b.lift(pts, "hand21", **raw)
    assert np.abs(la - lb).max() > 1                                                # two different lifters
    both = ec.ensemble([a, b])
    np.testing.assert_allclose(both.lift(pts, "hand21", **raw), (la + lb) / 2, rtol=1e-6, atol=1e-4)
    # every pass of lift() averages (mirrored, completed), then the first member's refinements run once
    vis = np.ones((4, 21), bool)
    vis[:, 5:8] = False
    with torch.inference_mode():
        p = torch.as_tensor(np.where(vis[..., None], pts, 0.0))
        mean = (a._lift_valid(p, torch.as_tensor(vis), "hand21") + b._lift_valid(p, torch.as_tensor(vis), "hand21")) / 2
        np.testing.assert_allclose(both._lift_valid(p, torch.as_tensor(vis), "hand21"), mean, rtol=1e-6, atol=1e-4)
    np.testing.assert_array_equal(ec.ensemble([a, a]).lift(pts, "hand21", vis), a.lift(pts, "hand21", vis))
    assert both.proportions is a.proportions and a._lift_valid.__func__ is type(a)._lift_valid   # members untouched


def test_the_script_prints_members_and_ensembles(tmp_path: Path, capsys) -> None:
    ec = load_script("ensemble_check")
    data = write_chair_data(tmp_path)
    assert ec.main(["--data", str(data), "--views", "clean", "--categories", "chair",
                    "--model", f"a={DEFAULT_WEIGHTS}", "--model", f"b={OTHER}"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| chair |")]
    assert [r.split(" | ")[1] for r in rows] == ["a", "b", "a + b"]
    assert all(r.count("%") == 2 for r in rows)
    with pytest.raises(SystemExit):
        ec.main(["--data", str(data), "--views", "clean", "--ensemble", "a+c", "--model", f"a={DEFAULT_WEIGHTS}"])
