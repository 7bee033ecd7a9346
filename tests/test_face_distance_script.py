"""``scripts/face_distance_check.py``: its views project the basis's face through the camera it names, its
true-intrinsics column reads that face back, and a front-facing face from afar is read through the guessed camera
as well as the true one (the basis fit reaches the long focal length)."""

from __future__ import annotations

import numpy as np
import pytest

from data_files import load_script
from lifter.geometry import project_perspective


def test_views_rows_and_command(lifter, capsys) -> None:
    fd = load_script("face_distance_check")
    mean = lifter.bases["face468"].mean * np.array([1.0, -1.0, -1.0])
    pixels, cam, focal = fd.face_view(mean, 0.3, 20.0)
    assert focal == pytest.approx(4000.0)
    np.testing.assert_allclose(project_perspective(cam[None], np.array([focal]), np.array([[500.0, 500.0]]))[0],
                               pixels)
    (far,) = fd.readings(lifter, [0.0], [60.0])
    assert far["true intrinsics"] < 0.05
    assert far["guessed camera"] < 0.5 and far["lift()"] < 1.0          # 17.7 % each before the fit's ray terms
    assert fd.main(["--yaw", "0", "--distance", "6"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("| yaw (rad) | distance (radii) | lift() |") and out[2].startswith("| 0.0 | 6 | ")
    with pytest.raises(SystemExit):
        fd.main(["--distance", "1"])


def test_a_photographed_face_stays_near_a_face(lifter, capsys) -> None:
    """The bundled astronaut's face, read with the basis fit's coefficients held within the bound: each reading
    within a few points of MediaPipe's own 3D from the basis's mean face (a bent shape, 8 to 13 spreads along two
    modes, had put them 26-27 % away)."""
    from app.config import CONFIG

    fd = load_script("face_distance_check")
    rows = fd.photo_rows(lifter, CONFIG.examples_dir / "astronaut.png")
    assert rows["MediaPipe's own 3D"] < 15
    for name in ("lift()", "guessed camera", "guessed camera, the fitted shape"):
        assert rows[name] < rows["MediaPipe's own 3D"] + 5, rows
    with pytest.raises(SystemExit):
        fd.main(["--photo", str(CONFIG.examples_dir / "missing.png")])
    assert "--photo" in capsys.readouterr().err
