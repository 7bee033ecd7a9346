"""Stopping a training run cleanly (:func:`lifter.train.train`): the errors that end a run as one line on the command
line, and SIGINT / SIGTERM turned into a stop after the step in progress, so that the checkpoint written then is a
whole step's and ``--resume`` continues from it.
"""

from __future__ import annotations

import math
import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class TrainingError(ValueError):
    """A run that cannot start or go on as asked (unreadable training data, a loss that is no longer finite, a
    ``--resume`` that does not match its run); :mod:`lifter.train_cli` prints its message as one line."""


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT (Ctrl-C) or SIGTERM stopped a run after a whole step.

    Attributes:
        step: the step the run stopped at; ``steps``: the steps it was asked for.
        signal_name: ``"SIGINT"`` or ``"SIGTERM"``.
        saved: whether a checkpoint of ``step`` was written (not during the critics' warm-up, before step 1).
    """

    def __init__(self, step: int, steps: int, signal_name: str, saved: bool) -> None:
        super().__init__(f"{signal_name} at step {step} of {steps}")
        self.step, self.steps, self.signal_name, self.saved = step, steps, signal_name, saved


def non_finite_losses(losses: dict) -> dict[str, float]:
    """The entries of a step's ``losses`` (:meth:`lifter.train.Trainer.step`) that are numbers but not finite."""
    return {k: v for k, v in losses.items() if isinstance(v, float) and not math.isfinite(v)}


@contextmanager
def stop_requests() -> Iterator[list[str]]:
    """Inside it, SIGINT and SIGTERM ask the run to stop: their names are appended to the list it yields, which the
    training loop reads between steps. A second SIGINT stops at once (``KeyboardInterrupt``), for a step that hangs.
    The previous handlers come back on leaving. Outside the main thread (where Python cannot set handlers) the
    list stays empty and the signals keep their usual effect."""
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def ask(signum: int, frame) -> None:
        if received and signum == signal.SIGINT:
            raise KeyboardInterrupt
        received.append(signal.Signals(signum).name)

    previous = {s: signal.signal(s, ask) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
