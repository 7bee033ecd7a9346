"""``python app.py`` starts and serves the page on the port GRADIO_SERVER_PORT names."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

from conftest import REPO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_app_serves_a_page() -> None:
    port = _free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        body = ""
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"app.py exited early:\n{proc.stdout.read()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert "<html" in body.lower() and "gradio" in body.lower(), "no Gradio page served"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=5) as r:
            config = r.read().decode()
        assert "landmark lifting workbench" in config and "human17" in config
    finally:
        proc.terminate()
        proc.wait(timeout=20)
