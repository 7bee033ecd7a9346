"""lifter.devices.resolve_device: the device asked for, checked, with a clear error where it cannot be used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from data_files import write_all_categories
from lifter import load_lifter
from lifter.devices import resolve_device

ROOT = Path(__file__).resolve().parents[1]


def test_auto_picks_cuda_only_where_present() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device(None).type == expected and resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu") and resolve_device(torch.device("cpu")).type == "cpu"


@pytest.mark.parametrize("name", ["gpu", "cuda:x", ""])
def test_unknown_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device(name)


def test_a_cuda_device_torch_cannot_use_is_refused() -> None:
    past = f"cuda:{torch.cuda.device_count()}"                                  # one past the last GPU, or 0
    with pytest.raises(ValueError, match="CUDA device"):
        resolve_device(past)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="torch sees no CUDA device here"):
            load_lifter(device="cuda")


def test_the_commands_refuse_a_bad_device_before_they_start(tmp_path: Path) -> None:
    data = write_all_categories(tmp_path / "data")
    for command in (["lifter.train", "--data", str(data), "--out", str(tmp_path / "run")],
                    ["lifter.evaluate", "--data", str(data), "--out", str(tmp_path / "results")],
                    ["lifter.bone_lengths", "--data", str(data), "--out", str(tmp_path / "bones.safetensors")],
                    ["lifter.lift", str(data / "hand21_test.npz"), "--category", "hand21", "--out",
                     str(tmp_path / "lifted.npz")]):
        done = subprocess.run([sys.executable, "-m", *command, "--device", "gpu"], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 2 and "unknown device 'gpu'" in done.stderr, done.stderr
    assert not any((tmp_path / name).exists() for name in ("run", "results", "bones.safetensors", "lifted.npz"))
