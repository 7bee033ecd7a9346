"""Per-browser editing state (kept in a ``gr.State``; each session has its own copy, nothing is shared).

:class:`Session` holds the image, the current landmarks and their edit history. Its methods are pure edits
(they mutate the session and return a short message); the UI calls them and redraws.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from app.config import CONFIG
from lifter.skeletons import get_category


@dataclass(frozen=True)
class Snapshot:
    """What an edit, a detection or a Manual start changes, kept for Undo: the category, ``points (N, 2)``,
    ``visible (N,)``, Manual mode's next index, the detection Reset returns to, the hand's side and MediaPipe's 3D
    (see :class:`Session`'s attributes of the same names). The arrays are copies nobody edits."""

    category: str | None
    points: np.ndarray | None
    visible: np.ndarray | None
    manual_next: int | None
    detected: tuple[np.ndarray, np.ndarray] | None
    hand_side: str | None
    reference3d: np.ndarray | None
    reference_name: str
    started: bool = False       # kept as new landmarks began (a detection, a Manual start), not by an edit of them


@dataclass
class Session:
    """One user's work on one image.

    Attributes:
        image: ``(h, w, 3)`` uint8 working copy (downscaled when the original was over ``max_side``), or None.
        original_size: ``(W, H)`` px of the original image: landmarks are in these pixels.
        image_notes: what loading did to the image.
        display / display_factor / display_origin: the copy shown in the page, its pixels per original pixel
            and the original pixel at its top-left corner (clicks come back in display pixels).
        view: the part of the image shown, ``(x0, y0, x1, y1)`` original px, when zoomed; None: the whole image.
        zoom_next: the next click on the image zooms in around it (**Zoom in**) instead of editing.
        category: the landmark category being edited, or None before detection / manual start.
        points: ``(N, 2)`` float64 px, NaN where missing.
        visible: ``(N,)`` bool.
        detected: ``(points, visible)`` as detected, for Reset; None for manual entry.
        history: earlier states (:class:`Snapshot`) for Undo, oldest first: every edit, and every detection or
            Manual start that replaced landmarks, so a new detection's Undo brings the landmarks before it back.
        selected: index of the selected landmark, or None.
        manual_next: in Manual mode, the index of the next landmark to click; None when not in Manual mode.
        hand_side: ``"right"`` / ``"left"`` for a hand (the lifter expects right hands), else None.
        mirrored: the image is a mirrored selfie (webcam).
        reference3d / reference_name: MediaPipe's own 3D estimate, ``(N, 3)``, or None.
        result: the last lift's arrays (see :func:`app.pipeline.lift_session`), or None.
    """

    image: np.ndarray | None = None
    original_size: tuple[int, int] = (0, 0)
    image_notes: list[str] = field(default_factory=list)
    image_name: str = "image"
    display: np.ndarray | None = None          # (h, w, 3) uint8 copy shown in the page (at most display_side)
    display_factor: float = 1.0                # display px per original px
    display_origin: tuple[float, float] = (0.0, 0.0)   # original px at the display's top-left corner
    view: tuple[float, float, float, float] | None = None   # zoomed part (x0, y0, x1, y1) original px, or None
    zoom_next: bool = False                    # the next click zooms in around it
    category: str | None = None
    points: np.ndarray | None = None
    visible: np.ndarray | None = None
    detected: tuple[np.ndarray, np.ndarray] | None = None
    history: list[Snapshot] = field(default_factory=list)
    selected: int | None = None
    manual_next: int | None = None
    hand_side: str | None = None
    mirrored: bool = False
    reference3d: np.ndarray | None = None
    reference_name: str = ""
    result: dict | None = None

    # ------------------------------------------------------------------------------------------ queries

    @property
    def names(self) -> tuple[str, ...]:
        return get_category(self.category).landmarks if self.category else ()

    def has_landmarks(self) -> bool:
        return self.points is not None

    def copy(self) -> "Session":
        """A copy to edit: the image arrays are shared (never modified), the landmarks copied."""
        new = dataclasses.replace(self)
        new.points = None if self.points is None else self.points.copy()
        new.visible = None if self.visible is None else self.visible.copy()
        new.history = list(self.history)
        new.image_notes = list(self.image_notes)
        return new

    # ------------------------------------------------------------------------------------------ edits

    def set_landmarks(self, category: str, points: np.ndarray, visible: np.ndarray, *, detected: bool) -> None:
        """Start editing ``category`` with ``points (N, 2)`` / ``visible (N,)``; clears the result and the
        selection. Landmarks shown before (of any category) stay in the history: Undo brings them back. The
        caller sets ``hand_side`` and ``reference3d`` after this call (the history holds the ones before)."""
        n = get_category(category).num_landmarks
        points = np.asarray(points, dtype=np.float64).reshape(n, 2).copy()
        visible = np.asarray(visible, dtype=bool).reshape(n).copy()
        points[~visible] = np.nan
        if self.points is not None:
            self._push(started=True)
        self.category, self.points, self.visible = category, points, visible
        self.detected = (points.copy(), visible.copy()) if detected else None
        self.selected, self.result = None, None
        self.manual_next = None if detected else 0

    def _push(self, started: bool = False) -> None:
        """Keep the current state for Undo (``started``: new landmarks begin after it)."""
        self.history.append(Snapshot(self.category, self.points.copy(), self.visible.copy(), self.manual_next,
                                     self.detected, self.hand_side, self.reference3d, self.reference_name, started))
        del self.history[:-CONFIG.undo_depth]
        self.result = None

    def nearest(self, xy: tuple[float, float], radius: float) -> int | None:
        """Index of the visible landmark nearest ``xy`` within ``radius`` px, else None."""
        if self.points is None or not self.visible.any():
            return None
        d = np.linalg.norm(self.points - np.asarray(xy, dtype=np.float64), axis=-1)
        d = np.where(self.visible, d, np.inf)
        i = int(np.argmin(d))
        return i if d[i] <= radius else None

    def select(self, index: int | None) -> str:
        if index is None:
            self.selected = None
            return "Selection cleared."
        if self.points is None or not 0 <= index < len(self.points):
            raise IndexError(f"no landmark {index}")
        self.selected = int(index)
        return f"Selected {self.names[index]}: click its new position in the image."

    def move(self, index: int, xy: tuple[float, float]) -> str:
        """Put landmark ``index`` at ``xy`` (original px) and mark it visible: "Placed" where it was missing (Manual
        mode's clicks, a missing landmark given a position), "Moved" where it was shown."""
        self._push()
        verb = "Moved {} to" if self.visible[index] else "Placed {} at"
        self.points[index] = xy
        self.visible[index] = True
        return f"{verb.format(self.names[index])} ({xy[0]:.0f}, {xy[1]:.0f})."

    def mark_missing(self, index: int) -> str:
        self._push()
        self.points[index] = np.nan
        self.visible[index] = False
        if self.selected == index:
            self.selected = None
        return f"{self.names[index]} marked missing/occluded (the lifter still predicts it in 3D)."

    def click(self, xy: tuple[float, float]) -> str:
        """A click on the image at ``xy`` (original px, inside the image): the editing rules.

        With a landmark selected (clicked, or picked from the list), move it there, in Manual mode too (the next
        landmark to place stays the next, unless it was the one placed). Otherwise, in Manual mode, place the next
        landmark and advance; the order passes over landmarks already placed. Else select the nearest visible
        landmark within the click radius (a fraction of the diagonal of the part of the image shown).
        """
        if self.points is None:
            raise ValueError("Detect landmarks or start Manual mode first.")
        if self.selected is not None:
            i, self.selected = self.selected, None
            msg = self.move(i, xy)
            if self.manual_next is not None:
                self.manual_next = self.next_unplaced(self.manual_next)
            return msg + self.manual_prompt()
        if self.manual_next is not None and self.manual_next < len(self.points):
            i = self.manual_next
            msg = self.move(i, xy)
            self.manual_next = self.next_unplaced(i + 1)
            return msg + self.manual_prompt()
        x0, y0, x1, y1 = self.view or (0, 0, *self.original_size)
        radius = CONFIG.select_radius * float(np.hypot(x1 - x0, y1 - y0))   # of the part shown: zoomed, finer
        i = self.nearest(xy, radius)
        if i is None:
            return "No landmark near that point: click closer to one, or pick it from the list."
        return self.select(i)

    def skip(self) -> str:
        """Manual mode: mark the next landmark missing and advance."""
        if self.manual_next is None or self.points is None or self.manual_next >= len(self.points):
            return "Nothing to skip."
        i = self.manual_next
        self._push()
        self.points[i], self.visible[i] = np.nan, False
        self.manual_next = self.next_unplaced(i + 1)
        return f"{self.names[i]} skipped (missing)." + self.manual_prompt()

    def next_unplaced(self, start: int) -> int:
        """Manual mode's next landmark from ``start`` on: the first not placed yet (``len(points)`` when none is
        left), so that one picked from the list and placed out of order is not asked for again."""
        i = start
        while i < len(self.points) and self.visible[i]:
            i += 1
        return i

    def manual_prompt(self) -> str:
        if self.manual_next is None:
            return ""
        if self.manual_next >= len(self.points):
            return " All landmarks placed: press Lift (or edit by clicking)."
        return f" Next: click **{self.names[self.manual_next]}** ({self.manual_next + 1}/{len(self.points)})."

    def undo(self) -> str:
        if not self.history:
            return "Nothing to undo."
        before, side, last = self.category, self.hand_side, self.history.pop()
        self.category, self.manual_next, self.detected = last.category, last.manual_next, last.detected
        self.points, self.visible = last.points.copy(), last.visible.copy()
        self.hand_side, self.reference3d, self.reference_name = last.hand_side, last.reference3d, last.reference_name
        if not last.started and last.detected is None:
            self.hand_side = side       # a hand clicked in keeps the side chosen on its radio: undo takes back clicks
        self.result, self.selected = None, None
        if self.category != before:
            return f"Undone: back to the {self.category} landmarks from before." + self.manual_prompt()
        return "Undone." + self.manual_prompt()

    def reset(self) -> str:
        if self.detected is None:
            if self.category is None:
                return "Nothing to reset."
            self._push()                                  # undoable: a misclick on Reset loses no clicks
            self.points, self.visible = np.full_like(self.points, np.nan), np.zeros_like(self.visible)
            self.manual_next, self.selected = 0, None
            return "Manual entry restarted (Undo brings the landmarks back)." + self.manual_prompt()
        self._push()
        self.points, self.visible = self.detected[0].copy(), self.detected[1].copy()
        self.selected = None
        return "Reset to the detection."
