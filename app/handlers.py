"""Event handlers: the glue between Gradio components and the pure functions of :mod:`app.pipeline`.

Each handler takes the session (a ``gr.State`` value, one per browser) and component values, calls pure
functions, and returns new component values. Expected problems become ``gr.Error`` (shown to the user, the
session left as it was) or ``gr.Warning``; nothing here keeps state between users.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from pathlib import Path

import gradio as gr
import numpy as np

from app import pipeline, samples
from app.config import MANUAL, MODES
from app.figures import Layer, Panel, draw_landmarks, normalise, views_figure
from app.io import load_image, write_exports
from app.state import Session

log = logging.getLogger("app")


def user_errors(fn):
    """Turn the expected exceptions of a handler into ``gr.Error`` (message only: no traceback in the page, nor in
    the server's log, where they are an INFO line: they are the user's input, not the app's faults); an unexpected
    one is logged with its traceback, once."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error as e:
            e.print_exception = False
            log.info("%s: %s", fn.__name__, e.message)
            raise
        except (ValueError, IndexError, KeyError) as e:    # ImageError, NotFound and lifter errors are ValueErrors
            message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)   # a KeyError's str is a repr
            log.info("%s: %s", fn.__name__, message)
            raise gr.Error(str(message), print_exception=False) from None
        except Exception as e:  # noqa: BLE001  (the server must stay usable whatever happens)
            log.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(f"Something went wrong ({type(e).__name__}: {e}). The app is still running: "
                           f"try again or with another image.", print_exception=False) from None
    return wrapped


def keeps_canvas(extra: int = 0):
    """:func:`user_errors` for the Image tab's handlers whose outputs start with :func:`render`'s
    ``[session, canvas, status, landmark list]`` (``extra`` more outputs after them, left as they are): an expected
    problem is a warning toast and the message in the status line, with the session, the annotated image and the
    rest as they were. (A ``gr.Error`` puts every output in an error state: the image went blank and took no clicks
    until the next event that worked.)"""
    def decorate(fn):
        checked = user_errors(fn)

        @functools.wraps(fn)
        def wrapped(session: Session, *args, **kwargs):
            try:
                return checked(session, *args, **kwargs)
            except gr.Error as e:
                gr.Warning(e.message)
                return (*render(session, status_text(session, e.message)), *(gr.update(),) * extra)
        return wrapped
    return decorate


# ------------------------------------------------------------------------------------------------ Image tab


def render(session: Session, message: str) -> tuple:
    """Outputs ``[session, canvas, status, landmark list]`` for the current session."""
    if session.display is None:
        return session, None, message, gr.update(choices=[], value=None)
    origin = np.asarray(session.display_origin, dtype=np.float64)      # (2,): zoomed, the view's corner
    reprojected = (session.result or {}).get("reprojected")
    canvas = draw_landmarks(session.display, None if session.points is None else session.points - origin,
                            session.visible, session.category, session.display_factor, session.selected,
                            reprojected=None if reprojected is None else reprojected - origin,
                            next_index=session.manual_next)
    names = list(session.names)
    value = names[session.selected] if session.selected is not None else None
    return session, canvas, message, gr.update(choices=names, value=value)


def status_text(session: Session, message: str) -> str:
    lines = [message] if message else []
    if session.image is not None:
        W, H = session.original_size
        lines.append(f"<small>{session.image_name}: {W} x {H} px"
                     + (f"; {'; '.join(session.image_notes)}" if session.image_notes else "") + "</small>")
    if session.zoom_next:
        lines.append("<small>the next click on the image zooms in around it</small>")
    if session.view is not None:
        x0, y0, x1, y1 = session.view
        lines.append(f"<small>zoomed to x {x0:.0f}-{x1:.0f}, y {y0:.0f}-{y1:.0f} px (**Whole image** to see it "
                     f"all)</small>")
        if session.points is not None:
            p = session.points[session.visible]
            outside = int((~((p >= [x0, y0]) & (p <= [x1, y1])).all(-1)).sum())
            if outside:
                lines.append(f"<small>{outside} visible landmark{'s' * (outside > 1)} outside the zoomed part: "
                             f"**Whole image** or **Zoom to landmarks** shows them</small>")
    if session.points is not None:
        missing = [n for n, v in zip(session.names, session.visible) if not v]
        if missing and len(missing) <= 20:
            lines.append(f"<small>missing/occluded: {', '.join(missing)}</small>")
        elif missing:
            lines.append(f"<small>{len(missing)} landmarks missing/occluded</small>")
    return "\n\n".join(lines)


#: Gradio's image fires its change event twice for one upload that replaces a shown image (its front end sets the
#: value twice); :func:`on_image` drops a call for the same file, in the same browser session, within this many
#: seconds of the last call's start or end (the second event may run beside the first, or read the session State
#: from before it).
REPEAT_WINDOW_S = 3.0


class RecentUploads:
    """The last file :func:`on_image` took in each browser session, and when it finished (thread-safe)."""

    def __init__(self, window_s: float = REPEAT_WINDOW_S) -> None:
        self.window_s = window_s
        self._last: dict[str, tuple[str | None, float]] = {}
        self._lock = threading.Lock()

    def repeats(self, key: str | None, path: str | None, now: float | None = None) -> bool:
        """Whether a call for ``path`` in session ``key`` repeats the last one (same file, within the window)."""
        if key is None or path is None:
            return False
        now = time.monotonic() if now is None else now
        with self._lock:
            last = self._last.get(key)
        return last is not None and last[0] == str(path) and now - last[1] <= self.window_s

    def taken(self, key: str | None, path: str | None, now: float | None = None) -> None:
        """Record that session ``key`` has just taken ``path`` (forgetting sessions idle past the window)."""
        if key is None:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            for k in [k for k, (_, t) in self._last.items() if now - t > self.window_s]:
                del self._last[k]
            self._last[key] = (None if path is None else str(path), now)


RECENT_UPLOADS = RecentUploads()


@user_errors
def on_image(path: str | None, mirrored: bool, request: gr.Request | None = None) -> tuple:
    """A new image (upload, webcam, clipboard or example): load it into a fresh session. One that cannot be read
    leaves a fresh, empty session (not the previous image's) and says why. A repeated event for the same upload
    (:data:`REPEAT_WINDOW_S`) changes nothing and repeats no warning."""
    key = getattr(request, "session_hash", None)
    if RECENT_UPLOADS.repeats(key, path):
        return tuple(gr.skip() for _ in range(4))
    RECENT_UPLOADS.taken(key, path)             # at the start too: the repeat may run while this call still does
    try:
        return _new_image(path, mirrored)
    finally:
        RECENT_UPLOADS.taken(key, path)


def _new_image(path: str | None, mirrored: bool) -> tuple:
    session = Session(mirrored=bool(mirrored))
    if path is None:
        return render(session, "Upload an image, use the webcam, or pick an example.")
    try:
        loaded = load_image(path)
    except ValueError as e:                              # ImageError: not an image, corrupt, too small or too large
        gr.Warning(str(e))
        return render(session, f"{e} Upload another image, use the webcam, or pick an example.")
    session.image, session.original_size, session.image_notes = loaded.rgb, loaded.original_size, loaded.notes
    session.image_name = Path(str(path)).name
    pipeline.show_view(session, None)
    return render(session, status_text(session, "Image loaded: choose a mode and press **Detect** (in Manual mode, "
                                                "**Start manual**, then click the landmarks in order)."))


def _need_image(session: Session) -> None:
    if session.image is None:
        raise gr.Error("Upload an image, use the webcam, or pick an example first.")


@keeps_canvas(2)
def on_detect(session: Session, mode: str, manual_category: str, mirrored: bool, hand: str = "largest",
              manual_hand: str = "right") -> tuple:
    """Outputs ``[session, canvas, status, landmark list, mode, manual category]``: when nothing is found, the
    mode switches to Manual (same category) so the user can click the landmarks in. ``manual_hand``: the side of a
    hand entered in Manual mode."""
    _need_image(session)
    session = session.copy()
    session.mirrored = bool(mirrored)
    had = session.has_landmarks()
    if mode == MANUAL:
        msg = pipeline.start_manual(session, manual_category, manual_hand)
    else:
        try:
            msg = pipeline.detect_session(session, mode, hand)
        except pipeline.NotFound as e:
            gr.Warning(str(e).replace("**", ""))
            kept = (f" The {pipeline.what_name(session.category)}'s landmarks shown are the ones from before, kept"
                    f"{' with their lift' if session.result is not None else ''}."
                    if session.has_landmarks() else "")
            message = f"{e}{kept} (Mode switched to Manual: press Start manual.)"
            return (*render(session, status_text(session, message)),
                    gr.update(value=MANUAL), gr.update(value=MODES[mode]))
    if had:
        msg += " (**Undo** brings back the landmarks from before.)"
    return (*render(session, status_text(session, msg)), gr.update(), gr.update())


def click_to_original(session: Session, index) -> tuple[float, float] | None:
    """Display-pixel click ``index = [x, y]`` -> original pixels, or None when outside the image shown."""
    try:
        x, y = float(index[0]), float(index[1])
    except (TypeError, ValueError, IndexError):
        return None
    h, w = session.display.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        return None
    x0, y0 = session.display_origin
    return x / session.display_factor + x0, y / session.display_factor + y0


@keeps_canvas()
def on_click(session: Session, evt: gr.SelectData) -> tuple:
    _need_image(session)
    if session.zoom_next:                                    # Zoom in: this click says where
        xy = click_to_original(session, evt.index)
        if xy is None:
            return render(session, status_text(session, "Click inside the image to zoom in there."))
        session = session.copy()
        session.zoom_next = False                            # one click zooms, once: clicks edit again after it
        try:
            box = pipeline.zoom_at(session, xy)
        except ValueError as e:                              # as close as it goes: the view stays
            gr.Warning(str(e))
            return render(session, status_text(session, str(e)))
        pipeline.show_view(session, box)
        return render(session, status_text(session, "Zoomed in: click and edit as before, or Detect in this part."))
    if session.points is None:
        raise gr.Error("Press Detect (or choose Manual and press Start) before clicking landmarks.")
    xy = click_to_original(session, evt.index)
    if xy is None:
        gr.Warning("That click is outside the image: click on the image itself.")
        return render(session, status_text(session, "Click inside the image."))
    session = session.copy()
    msg = session.click(xy)
    if session.result is None and session.manual_next is None:
        msg += " Press **Lift** to update the 3D."
    return render(session, status_text(session, msg))


@keeps_canvas()
def on_pick(session: Session, name: str | None) -> tuple:
    if session.points is None or not name:
        return render(session, status_text(session, ""))
    session = session.copy()
    msg = session.select(list(session.names).index(name))
    return render(session, status_text(session, msg))


@keeps_canvas()
def on_edit(session: Session, action: str) -> tuple:
    if session.points is None:
        raise gr.Error("Nothing to edit yet: press Detect (or start Manual mode) first.")
    session = session.copy()
    if action == "missing":
        if session.selected is None:
            raise gr.Error("Select a landmark first (click near it or pick it from the list).")
        msg = session.mark_missing(session.selected)
    elif action == "undo":
        msg = session.undo()
    elif action == "reset":
        msg = session.reset()
    elif action == "skip":
        msg = session.skip()
    else:
        raise ValueError(f"unknown edit {action!r}")
    return render(session, status_text(session, msg))


def controls(session: Session) -> tuple:
    """``[mode, manual category, manual hand]`` updates that show how the session's landmarks were made, after an
    Undo or Reset may have brought back others (a Manual hand21's side then comes back with them, and Lift reads
    the side from the radio): Manual, the category and the side for landmarks clicked in; the detection's mode for
    detected ones; nothing changed before any landmarks."""
    keep = gr.update()
    if session.category is None:
        return keep, keep, keep
    if session.detected is None:
        side = gr.update(value=session.hand_side) if session.category == "hand21" and session.hand_side else keep
        return gr.update(value=MANUAL), gr.update(value=session.category), side
    mode = next((m for m, c in MODES.items() if c == session.category), None)
    return (gr.update(value=mode) if mode else keep), keep, keep


@keeps_canvas()
def on_manual_hand(session: Session, side: str | None) -> tuple:
    """The Manual-hand radio changed: a hand clicked in takes the new side now, and a lift of the other side is
    dropped (the 3D views and downloads go with it), as after an edit. Nothing changes for other landmarks, or when
    the side is the session's already."""
    if session.category != "hand21" or session.detected is not None or session.points is None:
        return render(session, status_text(session, ""))
    new = pipeline.chosen_hand_side("hand21", side)
    if new == session.hand_side:
        return render(session, status_text(session, ""))
    session = session.copy()
    session.hand_side, session.result = new, None
    return render(session, status_text(session, f"The hand is now read as a **{new}** hand: press **Lift** to lift "
                                                f"it as one."))


@keeps_canvas()
def on_view(session: Session, action: str) -> tuple:
    """Zoom buttons, for a large photo or a small subject: ``action`` "zoom" shows the part of the image around the
    visible landmarks, enlarged, so that they can be clicked; "zoom_in" makes the next click on the image zoom in
    twice as close around it (no landmarks needed: Detect then searches the part shown, where MediaPipe finds a
    subject too small in the whole image); "whole" shows the whole image. Landmarks, lift and history are kept.
    Outputs ``[session, canvas, status, landmark list]``."""
    _need_image(session)
    session = session.copy()
    session.zoom_next = False
    if action == "whole":
        pipeline.show_view(session, None)
        return render(session, status_text(session, "Showing the whole image."))
    if action == "zoom_in":
        session.zoom_next = True
        return render(session, status_text(session, "Click where to zoom in (twice as close)."))
    if action != "zoom":
        raise ValueError(f"unknown view {action!r}")
    if session.points is None or not session.visible.any():
        raise gr.Error("Nothing to zoom to yet: detect landmarks or place some in Manual mode first.")
    box = pipeline.zoom_box(session.points, session.visible, session.original_size)
    if box is None:
        pipeline.show_view(session, None)
        return render(session, status_text(session, "The landmarks fill the image: it is shown whole."))
    pipeline.show_view(session, box)
    return render(session, status_text(session, "Zoomed to the landmarks: click and edit as before."))


def image_panels(session: Session) -> list[Panel]:
    """The three 3D views of a lifted session: the lifter, the depth baseline, MediaPipe's own 3D."""
    r = session.result
    vis = session.visible
    lifter = Panel("Lifter (bundled weights)", [Layer(normalise(r["points3d"], vis), "lifter 3D")])
    depth = r["depth"]
    read = 0 if depth["points3d"] is None else int(np.isfinite(depth["points3d"]).all(-1).sum())
    if read >= 2:
        dpanel = Panel(f"Depth baseline: {depth['name']}", [Layer(normalise(depth["points3d"]), "depth baseline")])
    elif depth["points3d"] is not None:        # a depth map, but (almost) no landmark on it
        dpanel = Panel("Depth baseline", message=f"{read} landmark{'s' * (read != 1)} got a depth from "
                                                 f"{depth['name']}: too few to show. Details below the views.")
    else:
        dpanel = Panel("Depth baseline", message=panel_note(depth["message"]))
    ref = r["reference3d"]
    if ref is not None:
        mp = Panel("MediaPipe 3D (reference)", [Layer(normalise(ref), "MediaPipe 3D")])
    else:
        mp = Panel("MediaPipe 3D (reference)", message="No MediaPipe 3D for manual landmarks.")
    return [lifter, dpanel, mp]


def panel_note(message: str) -> str:
    """A 3D panel's short form of a depth-baseline ``message``: its first clause (up to the first ": "), the whole
    message being in the note below the views ("No depth source available for photos: ...": the reason and the way
    to add one filled the panel, and the note repeated them)."""
    head, sep, _ = message.partition(": ")
    return f"{head}. Details below the views." if sep else message


@keeps_canvas(4)
def on_lift(session: Session, fitted_shape: bool = False, manual_hand: str | None = None) -> tuple:
    """Outputs ``[session, canvas, status, landmark list, 3D figure, depth note, json file, csv file]``;
    ``fitted_shape``: a face is returned as its shape basis's fit (:func:`app.pipeline.lift_session`);
    ``manual_hand``: the side of a hand entered in Manual mode, as chosen now (it can change after the clicks)."""
    _need_image(session)
    if session.points is None:
        raise gr.Error("Press Detect (or enter landmarks in Manual mode) before lifting.")
    session = session.copy()
    if session.detected is None and manual_hand is not None:          # entered by hand: the side chosen
        session.hand_side = pipeline.chosen_hand_side(session.category, manual_hand)
    result = pipeline.lift_session(session, fitted_shape)
    fig = views_figure(image_panels(session), session.category)
    depth_msg = result["depth"]["message"]
    note = (f"**Depth baseline:** {depth_msg}" +
            ("" if result["depth"]["points3d"] is not None or pipeline.depth_baseline().module is not None else
             " To enable one, install the depth baseline (`lifter.baselines`) and put a depth network's weights "
             "where `lifter.baselines.estimate_depth` finds them (see the README); the Benchmark tab's depth "
             "baseline works from rendered depth without any network."))
    side = f" ({session.hand_side} hand)" if session.hand_side else ""
    msg = (f"Lifted {session.category}{side}, {result['reading']}. Each 3D view is centred and scaled to unit "
           f"size; drag one to rotate all. Cyan circles: the lifted 3D re-projected over the image.")
    json_path, csv_path = write_exports(pipeline.result_record(session), list(session.names),
                                        stem=f"{Path(session.image_name).stem}_{session.category}")
    return (*render(session, status_text(session, msg)), fig, note, json_path, csv_path)


# ------------------------------------------------------------------------------------------------ Benchmark


#: The Benchmark tab's depth-noise range (its slider's): AbsRel from 0 to this.
MAX_ABSREL = 0.2


@user_errors
def on_bench_category(category: str, setting: str, index: float | None = None) -> tuple:
    """Category or setting changed: the sample range (the sample ``index`` kept where the new range has it), where
    samples come from, the split's summary, and the shown sample's outputs cleared (they were another category's or
    setting's: ``[2D image, 3D figure, error table, per-landmark figure, json file, csv file]``)."""
    src = samples.sample_source(category, setting)
    summary, chart, note = samples.summary_for(category)
    keep = int(index) if index is not None and 0 <= index < src.count else 0
    return (gr.update(maximum=max(0, src.count - 1), value=keep), src.description,
            shown_table(summary, samples.SUMMARY_COLUMNS), gr.update(value=chart, visible=chart is not None), note,
            None, None, None, None, None, None)


@user_errors
def on_bench_sample(category: str, setting: str, index: float, absrel: float) -> tuple:
    """Outputs ``[2D image, 3D figure, error table, per-landmark figure, json file, csv file, index, absrel]``: a
    sample number or noise level outside the range (or not whole) is brought into it, with a warning, and the
    controls show the values used."""
    count = samples.sample_source(category, setting).count
    asked, used = float(index or 0), int(min(max(round(float(index or 0)), 0), count - 1))
    if asked != used:
        gr.Warning(f"Test sample {asked:g} is not one of 0..{count - 1}: showing sample {used}.")
    noise = float(absrel or 0.0)
    level = min(max(noise, 0.0), MAX_ABSREL)
    if level != noise:
        gr.Warning(f"Depth noise {noise:g} is outside 0..{MAX_ABSREL:g}: using {level:g}.")
    view = samples.evaluate_sample(category, setting, used, level)
    image, fig, rows, bars, json_path, csv_path = samples.sample_outputs(view)
    return image, fig, shown_table(rows, samples.ERROR_COLUMNS), bars, json_path, csv_path, used, level


def shown_table(rows: list[list], columns: tuple[str, ...]):
    """``rows`` under ``columns`` for a read-only ``gr.Dataframe``: a pandas ``Styler`` that shows each figure
    column of :data:`app.samples.DECIMALS` with its fixed digits (40.00 beside 40.34, not 40), the values kept
    numbers (the table sorts them as numbers)."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(columns))
    return frame.style.format({c: f"{{:.{d}f}}" for c, d in samples.DECIMALS.items() if c in frame.columns},
                              na_rep="n/a")


# ------------------------------------------------------------------------------------------------ API


@user_errors
def api_lift_image(image: str, category: str) -> dict:
    """Image + category -> 2D landmarks, visibility and 3D (JSON). Errors come back as messages."""
    try:
        return pipeline.api_lift_image(image, category)
    except pipeline.NotFound as e:
        raise gr.Error(str(e).replace("**", "")) from None


def api_example_points(category: str, human17_example: list) -> tuple:
    """The API tab's example input when its category changes (its JSON boxes cannot be edited in the page):
    ``(points update, visible update)``. ``human17_example`` for bodies; else the Benchmark tab's first clean test
    sample of ``category``, its 2D rounded to 0.1 px and None where a landmark is not visible; where the category has
    no samples here, the boxes are left as they are (``lift_points`` then says what is wrong)."""
    if category == "human17":
        return gr.update(value=human17_example), gr.update(value=None)
    try:
        view = samples.load_sample(category, "clean", 0)
    except ValueError:
        return gr.update(), gr.update()
    pts = [[round(float(x), 1), round(float(y), 1)] if seen else None
           for (x, y), seen in zip(view.points2d, view.visible)]
    return gr.update(value=pts), gr.update(value=None)


def lift_outputs(session: Session) -> tuple:
    """``[3D figure, depth note, json file, csv file]`` after an event that may have changed the landmarks or the
    image: left as they are while the session's lift stands, cleared once it is gone (a new image, an edit, a new
    detection), so the views and the downloads never show a lift of other landmarks."""
    if session.result is not None:
        return gr.update(), gr.update(), gr.update(), gr.update()
    return None, "", None, None


@user_errors
def api_lift_points(points: list | dict, category: str, visible: list | None = None,
                    hand_side: str | None = None) -> dict:
    """2D landmarks (N [x, y] pairs, null where missing) + category (+ ``hand_side`` "left" or "right" for hands:
    a left hand is mirrored before and after lifting) -> 3D (JSON)."""
    return pipeline.api_lift_points(points, category, visible, hand_side)
