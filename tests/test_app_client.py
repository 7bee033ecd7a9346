"""The named API endpoints through ``gradio_client`` against a running ``python app.py``; several clients at
once; a bad upload leaves the server usable."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app_server import REPO, running_app

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
EXAMPLES = REPO / "assets" / "examples"


@pytest.fixture(scope="module")
def client():
    from gradio_client import Client

    with running_app() as url:
        yield Client(url, verbose=False)


def test_only_the_two_endpoints_are_public(client) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/lift_image", "/lift_points"}


def test_lift_image(client) -> None:
    from gradio_client import handle_file

    r = client.predict(handle_file(str(EXAMPLES / "cameraman.png")), "human17", api_name="/lift_image")
    assert r["category"] == "human17" and r["image_size"] == [512, 512] and r["image"] == "cameraman.png"
    assert len(r["landmarks"]) == 17 and sum(r["visible"]) >= 10
    p3 = np.array(r["points3d_lifter"], dtype=float)
    assert p3.shape == (17, 3) and np.isfinite(p3).all()
    assert r["intrinsics_assumed"] == {"fx": 614.4, "fy": 614.4, "cx": 256.0, "cy": 256.0}   # 1.2 x 512 px
    assert p3[:, 2].min() > 0                                         # on the rays of the assumed pinhole
    assert np.array(r["points3d_mediapipe"], dtype=float).shape == (17, 3)
    face = client.predict(handle_file(str(EXAMPLES / "astronaut_face.jpg")), "face468", api_name="/lift_image")
    assert len(face["points3d_lifter"]) == 468


def test_lift_points(client) -> None:
    rng = np.random.default_rng(0)
    pts = (rng.normal(size=(17, 2)) * 80 + 500).tolist()
    pts[3] = None                                                         # a missing landmark
    r = client.predict(pts, "human17", None, api_name="/lift_points")
    p3 = np.array(r["points3d"], dtype=float)
    assert p3.shape == (17, 3) and np.isfinite(p3).all() and r["visible"][3] is False
    hand = (rng.normal(size=(21, 2)) * 40 + 500).tolist()              # a hand: its side is a fourth input
    right = np.array(client.predict(hand, "hand21", None, api_name="/lift_points")["points3d"], dtype=float)
    named = np.array(client.predict(hand, "hand21", None, "right", api_name="/lift_points")["points3d"], dtype=float)
    left = client.predict(hand, "hand21", None, "left", api_name="/lift_points")
    np.testing.assert_allclose(named, right, atol=1e-4)                 # right is the default
    assert left["hand_side"] == "left" and np.abs(np.array(left["points3d"], dtype=float) - right).max() > 1e-3


def test_errors_are_messages_and_the_server_survives(client, tmp_path) -> None:
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"\x00\x01not a jpeg at all")
    with pytest.raises(AppError, match="not an image Pillow can read"):
        client.predict(handle_file(str(bad)), "human17", api_name="/lift_image")
    with pytest.raises(AppError, match="17 landmarks"):
        client.predict([[1, 2]], "human17", None, api_name="/lift_points")
    with pytest.raises(AppError, match="No hand found"):
        client.predict(handle_file(str(EXAMPLES / "cameraman.png")), "hand21", api_name="/lift_image")
    r = client.predict(handle_file(str(EXAMPLES / "astronaut.png")), "human17", api_name="/lift_image")
    assert r["category"] == "human17"


def test_several_clients_at_once(client) -> None:
    from gradio_client import Client, handle_file

    url = client.src

    def one(k: int) -> int:
        c = Client(url, verbose=False)
        name = ("cameraman.png", "astronaut.png")[k % 2]
        r = c.predict(handle_file(str(EXAMPLES / name)), "human17", api_name="/lift_image")
        return sum(r["visible"])

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(one, range(4)))
    assert counts[0] == counts[2] and counts[1] == counts[3]              # same image, same answer
