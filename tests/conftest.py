"""Shared test fixtures: where the real data lives, and a skip when it does not exist."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout, or a skip saying how to get it."""
    if not (SHARED_DATA / "cmu-mocap").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}: run `python -m lifter.data download --out "
                    f"{SHARED_DATA}` (or place the data there) to run this test")
    return SHARED_DATA


@pytest.fixture(scope="session")
def lifter():
    """The bundled lifter on the CPU, loaded once for the session (test modules may define their own)."""
    from lifter import load_lifter

    return load_lifter(device="cpu")
