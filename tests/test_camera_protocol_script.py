"""scripts/camera_protocol_check.py: the built views' framing against the camera protocol, on hands the tests build."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_files import load_script, write_hand_data


def test_framing_is_read_from_the_noise_free_projection() -> None:
    """A square of side 400 px at depth f, centred on the principal point, spans 40 % of a 1000 px image at offset
    0; moved 30 px right it sits 30 px off centre; an absent landmark far away is not counted."""
    check = load_script("camera_protocol_check")
    focal, principal = np.array([1000.0, 1000.0]), np.array([[500.0, 500.0], [500.0, 500.0]])
    square = np.array([[-200, -200, 1000], [200, -200, 1000], [200, 200, 1000], [-200, 200, 1000],
                       [5000, 0, 1000]], float)
    points = np.stack([square, square + [30, 0, 0]])
    present = np.array([[True] * 4 + [False]] * 2)
    span, offset = check.framing(points, present, focal, principal, (1000, 1000))
    np.testing.assert_allclose(span, [0.4, 0.4])
    np.testing.assert_allclose(offset, [0.0, 30.0])


def test_the_script_counts_the_views_off_the_protocol(tmp_path: Path, capsys) -> None:
    check = load_script("camera_protocol_check")
    data = write_hand_data(tmp_path, train=60, test=10)
    assert check.main(["--data", str(data), "--files", "hand21_test"]) == 0
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| hand21_test |")]
    assert row and "| 10 | 0 | 0 | 0 (0.00 %) |" in row[0]                     # the builder's own views: framed
    before = check.check_file(data / "hand21_train.npz", "hand21", check.CameraProtocol(), 0.005, 5.0)
    with np.load(data / "hand21_train.npz") as f:
        arrays = {k: f[k] for k in f.files}
    moved = arrays["points3d"][[3, 7]]
    moved[..., 0] += 0.04 * moved[..., 2]                 # two views turned sideways: 0.04 f (40-60 px) off centre
    arrays["points3d"][[3, 7]] = moved
    np.savez(data / "hand21_train.npz", **arrays)
    result = check.check_file(data / "hand21_train.npz", "hand21", check.CameraProtocol(), 0.005, 5.0)
    assert result["off_centre"] == before["off_centre"] + 2 and result["offset_max"] > 30
    with pytest.raises(SystemExit):
        check.main(["--data", str(tmp_path / "none")])
    assert "no data files" in capsys.readouterr().err
