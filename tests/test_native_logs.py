"""MediaPipe's start-up chatter is dropped from the terminal; every other line written meanwhile is kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.native_logs import NOISE, kept_lines

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_kept_lines_drops_only_the_known_notices() -> None:
    text = ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nreal error\n"
            "W0000 00:00:1.2 10619 inference_feedback_manager.cc:114] Feedback manager requires ...\nlast")
    assert kept_lines(text) == "real error\nlast"
    assert kept_lines("") == ""


def test_filtered_stderr_holds_descriptor_2_and_writes_back_all_but_the_noise() -> None:
    code = f"""
import os, sys, threading
from app.native_logs import filtered_stderr
print("before", file=sys.stderr, flush=True)
with filtered_stderr():
    os.write(2, b"{NOISE[0]}\\nan error from C\\n")
    print("from python", file=sys.stderr)
    with filtered_stderr():                          # nested in the same thread: filtered as well
        os.write(2, b"{NOISE[2]} nested\\ninner kept\\n")
    t = threading.Thread(target=lambda: os.write(2, b"from a thread\\n"))
    t.start(); t.join()
print("after", file=sys.stderr)
os.write(2, b"{NOISE[1]} outside\\n")                # outside the block nothing is filtered
"""
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["before", "an error from C", "from python", "inner kept", "from a thread",
                                        "after", f"{NOISE[1]} outside"]


def test_detectors_start_without_mediapipe_notices() -> None:
    code = """
import numpy as np
from app.detect import Detectors
d = Detectors()
d.warm_up()
d.detect(np.zeros((32, 32, 3), np.uint8), "hand21", (32, 32))
print("detected")
"""
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "detected"
    assert not any(n in done.stderr for n in NOISE), done.stderr
