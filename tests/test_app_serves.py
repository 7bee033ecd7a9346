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


def _launcher():
    """``app.py`` as a module (the name ``app`` is the package's)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("app_launcher", REPO / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_launcher_refuses_a_bad_port_or_host_in_one_line(tmp_path, capsys) -> None:
    import pytest

    launcher = _launcher()
    args = launcher.parse_args(["--port", str(_free_port()), "--data", str(tmp_path), "--no-warm-up"])
    assert args.data == tmp_path and not args.warm_up
    for argv, message in ((["--port", "abc"], "must be a whole number from 1 to 65535, got 'abc'"),
                          (["--port", "99999"], "got 99999"),
                          (["--data", str(tmp_path / "nowhere")], "is not a folder"),
                          (["--host", "no.such.host.invalid"], "cannot be resolved")):
        with pytest.raises(SystemExit):
            launcher.parse_args(argv)
        assert message in capsys.readouterr().err
    with socket.socket() as taken:                       # a port another app serves on
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SystemExit) as stop:
            launcher.parse_args(["--port", str(taken.getsockname()[1])])
    assert stop.value.code == 1 and "is taken" in capsys.readouterr().err
    done = subprocess.run([sys.executable, "app.py", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--port" in done.stdout and "LIFTER_APP_WARM_UP" in done.stdout
