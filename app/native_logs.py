"""Keep MediaPipe's start-up chatter out of the app's terminal, and nothing else.

MediaPipe's graphs write to file descriptor 2 from C++ (TensorFlow Lite's "Created TensorFlow Lite XNNPACK
delegate", absl's "All log messages before absl::InitializeLog() ...", one "Feedback manager requires a model with
a single signature inference" warning per graph): about eight lines each time the app starts, none of them
actionable, and no environment variable silences them (GLOG_minloglevel and TF_CPP_MIN_LOG_LEVEL were tried: absl
logs to stderr before it reads any setting). :func:`filtered_stderr` sends descriptor 2 to a temporary file while
the graphs are created and first run, then writes back every line that is not one of :data:`NOISE`, so an error
printed meanwhile (by MediaPipe or by another thread of the server) is delayed, never lost.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Substrings of the lines dropped: MediaPipe's and TensorFlow Lite's start-up notices, seen with mediapipe 0.10.
NOISE = ("Created TensorFlow Lite XNNPACK delegate for CPU",
         "All log messages before absl::InitializeLog() is called are written to STDERR",
         "inference_feedback_manager.cc",
         "Feedback manager requires a model with a single signature inference")

_LOCK = threading.RLock()          # one redirection at a time: descriptor 2 is the process's, not a thread's


def kept_lines(text: str, noise: tuple[str, ...] = NOISE) -> str:
    """``text`` without its lines that contain one of ``noise`` (line ends kept)."""
    return "".join(line for line in text.splitlines(keepends=True) if not any(n in line for n in noise))


@contextmanager
def filtered_stderr(noise: tuple[str, ...] = NOISE) -> Iterator[None]:
    """Within the block, what is written to file descriptor 2 (C or C++ code, and Python's ``sys.stderr``) is
    held; at its end, every held line without one of ``noise`` is written to the real descriptor 2. Where the
    descriptor cannot be redirected (no descriptor 2), the block runs unfiltered. Blocks of other threads wait
    for this one to end; a block within a block of the same thread redirects into the outer one's file, which the
    outer block filters in turn."""
    with _LOCK, _redirected(noise):
        yield


@contextmanager
def _redirected(noise: tuple[str, ...]) -> Iterator[None]:
    """:func:`filtered_stderr`'s redirection of descriptor 2 to a temporary file and back."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    held = tempfile.TemporaryFile()
    try:
        sys.stderr.flush()
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            held.seek(0)
            rest = kept_lines(held.read().decode("utf-8", errors="replace"), noise)
            if rest:
                os.write(2, rest.encode("utf-8"))
    finally:
        os.close(saved)
        held.close()
