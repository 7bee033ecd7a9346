"""``pip install -e .`` makes the lifter importable from anywhere: a researcher's own environment and scripts use
``from lifter import load_lifter`` without PYTHONPATH, and the bundled weights load from this checkout."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_project_declares_how_to_build_it_and_what_the_lifter_needs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"
    needed = {d.split(">")[0].split("=")[0] for d in project["project"]["dependencies"]}
    pinned = {line.split("==")[0] for line in (ROOT / "requirements.txt").read_text().splitlines()
              if "==" in line and not line.startswith("#")}
    assert needed == {"numpy", "torch", "safetensors", "tqdm"} and needed <= pinned     # all in the pinned set


def test_an_editable_install_lifts_from_another_folder(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                              "--no-index", "-q", "-e", str(ROOT), "--prefix", str(prefix)],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    site = next(prefix.glob("lib/python*/site-packages"))
    code = ("import site, sys; sys.path = [p for p in sys.path if p not in ('', '.')]; "
            f"site.addsitedir({str(site)!r}); import numpy as np, lifter; "
            "pose = lifter.load_lifter(device='cpu').lift(np.random.default_rng(0).random((17, 2)) * 100, 'human17'); "
            "print(lifter.__file__, pose.shape)")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == [str(ROOT / "lifter" / "__init__.py"), "(17,", "3)"]
    assert not list(ROOT.glob("*.egg-info")) and not (ROOT / "build").exists()    # nothing left in the checkout
