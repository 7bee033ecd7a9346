"""Stopping a training run (:mod:`lifter.stopping`): which losses end it, and the signals asking it to stop."""

from __future__ import annotations

import math
import signal
import threading

import pytest

from lifter.stopping import non_finite_losses, stop_requests


def test_losses_that_are_infinite_or_nan_are_named_and_others_are_not() -> None:
    bad = non_finite_losses({"adv": math.inf, "cycle": math.nan, "hidden": -math.inf, "total": 1.5, "name": "x",
                             "count": 3})
    assert sorted(bad) == ["adv", "cycle", "hidden"]


def test_a_first_sigint_asks_to_stop_a_second_stops_at_once_and_sigterm_only_asks() -> None:
    before = signal.getsignal(signal.SIGINT)
    with stop_requests() as received:
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGTERM)
        assert received == ["SIGTERM", "SIGTERM"]                      # asked twice, no more
        with pytest.raises(KeyboardInterrupt):                         # asked already: a SIGINT stops at once
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before
    with stop_requests() as received:
        signal.raise_signal(signal.SIGINT)
        assert received == ["SIGINT"]                                  # the first one only asks


def test_outside_the_main_thread_the_signals_are_left_alone() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    seen: list = []

    def run() -> None:
        try:
            with stop_requests() as received:
                seen.append(({s: signal.getsignal(s) for s in before}, list(received)))
        except Exception as e:  # noqa: BLE001  (what the thread met, for the assertion below)
            seen.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [(before, [])]
