"""The app's per-browser editing state (:class:`app.state.Session`): its edits in closed form, no page."""

from __future__ import annotations

import numpy as np
import pytest

from app.config import CONFIG
from app.state import Session


def hand_session(size: tuple[int, int] = (1000, 800)) -> Session:
    """A session of 21 detected hand landmarks on a diagonal, 30 px apart, landmark 4 missing."""
    s = Session(original_size=size)
    points = np.stack([100 + 30 * np.arange(21.0), 100 + 30 * np.arange(21.0)], -1)
    visible = np.ones(21, bool)
    visible[4] = False
    s.set_landmarks("hand21", points, visible, detected=True)
    return s


def test_landmarks_given_missing_lose_their_position() -> None:
    s = hand_session()
    assert np.isnan(s.points[4]).all() and not np.isnan(s.points[3]).any()
    assert s.nearest(tuple(100 + 30 * np.array([4.0, 4.0])), radius=5.0) is None     # a missing one is not picked


def test_undo_keeps_only_the_configured_number_of_edits() -> None:
    s = hand_session()
    for k in range(CONFIG.undo_depth + 5):
        s.move(0, (10.0 + k, 10.0))
    assert len(s.history) == CONFIG.undo_depth


def test_a_landmark_that_is_not_there_cannot_be_selected() -> None:
    s = hand_session()
    for index in (-1, 21):
        with pytest.raises(IndexError, match=f"no landmark {index}"):
            s.select(index)
    assert s.selected is None


def test_marking_the_selected_landmark_missing_clears_the_selection() -> None:
    s = hand_session()
    s.select(2)
    s.mark_missing(7)
    assert s.selected == 2                                             # another one: kept
    s.mark_missing(2)
    assert s.selected is None and not s.visible[2]


def test_a_click_selects_within_a_share_of_the_diagonal_shown() -> None:
    """The click radius is CONFIG.select_radius of the diagonal of the part shown: zoomed in, a click must be
    nearer (1000 x 800 px: 51 px whole, 5.1 px zoomed to a tenth)."""
    s = hand_session()
    near = (100 + 30 * 5 + 20.0, 100 + 30 * 5.0)                      # 20 px right of landmark 5
    assert "Selected" in s.click(near) and s.selected == 5
    s.select(None)
    s.view = (200.0, 200.0, 300.0, 280.0)                              # a tenth of the image, zoomed in
    assert "No landmark near" in s.click(near) and s.selected is None


def test_skipping_in_manual_mode_passes_over_landmarks_already_placed() -> None:
    s = Session(original_size=(1000, 800))
    s.set_landmarks("hand21", np.full((21, 2), np.nan), np.zeros(21, bool), detected=False)
    s.select(1)
    s.click((50.0, 50.0))                                             # landmark 1 placed out of order
    assert s.manual_next == 0
    assert "skipped" in s.skip() and s.manual_next == 2               # 0 skipped; 1 is placed already


def test_reset_returns_to_the_detection_each_time() -> None:
    s = hand_session()
    s.move(0, (5.0, 5.0))
    s.reset()
    s.move(0, (7.0, 7.0))                                             # an edit after the reset
    s.reset()
    np.testing.assert_array_equal(s.points[0], [100.0, 100.0])
    assert s.detected[0][0].tolist() == [100.0, 100.0]


def test_undo_drops_the_last_lift() -> None:
    s = hand_session()
    s.move(0, (5.0, 5.0))
    s.result = {"lift": np.zeros((21, 3))}
    assert s.undo() == "Undone."
    assert s.result is None and s.points[0].tolist() == [100.0, 100.0]


def test_nothing_is_left_to_skip_once_every_landmark_is_placed() -> None:
    s = Session(original_size=(1000, 800))
    s.set_landmarks("hand21", np.full((21, 2), np.nan), np.zeros(21, bool), detected=False)
    for k in range(21):
        s.click((10.0 + k, 10.0))
    assert s.manual_next == 21 and s.visible.all()
    assert s.skip() == "Nothing to skip." and s.visible.all()
