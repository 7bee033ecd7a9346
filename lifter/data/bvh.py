"""A strict, fast BVH (Biovision Hierarchy) reader and vectorised forward kinematics.

Format (one file = one skeleton + one motion)::

    HIERARCHY
    ROOT Hips
    {
        OFFSET x y z
        CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
        JOINT Child
        {
            OFFSET x y z
            CHANNELS 3 Zrotation Yrotation Xrotation
            End Site
            {
                OFFSET x y z
            }
        }
    }
    MOTION
    Frames: F
    Frame Time: dt
    <F rows of C whitespace-separated numbers, C = total channel count, in joint order>

Conventions used here:

* Joints are numbered depth-first in file order (a parent always precedes its children); an ``End Site``
  becomes a joint named ``f"{parent}_End"`` with no channels (``is_end_site`` True).
* Each joint's local transform is ``T(t) @ R``: ``t = OFFSET`` plus the joint's ``X/Y/Zposition`` channel
  values when it has any (on any joint, not only the root), and ``R`` the product of its elemental
  rotations in the listed order (``Zrotation Yrotation Xrotation`` gives ``R = Rz @ Ry @ Rx``) acting on
  column vectors, angles in degrees.
* Positions come out in the file's units (no scaling, no axis change).

Any malformed input raises :class:`BVHError` naming the file, the problem and (where it applies) the line.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "BVHError",
    "BVHSkeleton",
    "BVHMotion",
    "POSITION_CHANNELS",
    "ROTATION_CHANNELS",
    "parse_bvh",
    "read_bvh",
    "forward_kinematics",
]

POSITION_CHANNELS: tuple[str, ...] = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS: tuple[str, ...] = ("Xrotation", "Yrotation", "Zrotation")
_CANONICAL_CHANNEL = {c.lower(): c for c in POSITION_CHANNELS + ROTATION_CHANNELS}
_AXIS = {"X": 0, "Y": 1, "Z": 2}
_MOTION_LINE = re.compile(r"^[ \t]*MOTION[ \t]*$", re.MULTILINE)


class BVHError(ValueError):
    """A malformed BVH file; the message names the file, the problem and the line where it applies."""


@dataclass(frozen=True, eq=False)
class BVHSkeleton:
    """The joint hierarchy of a BVH file (``J`` joints, end sites included, depth-first file order).

    Attributes:
        names: joint names, length J; an end site is ``f"{parent_name}_End"``.
        parents: ``(J,)`` int, parent index of each joint, ``-1`` for a root; ``parents[j] < j``.
        offsets: ``(J, 3)`` float64, OFFSET of each joint relative to its parent, file units.
        channels: per joint, the tuple of its channel names in file order (empty for end sites).
        is_end_site: per joint, True for an ``End Site``.
    """

    names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    is_end_site: tuple[bool, ...]

    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def num_channels(self) -> int:
        """Total channel count C (values per motion row)."""
        return sum(len(c) for c in self.channels)

    @property
    def channel_starts(self) -> np.ndarray:
        """``(J,)`` int: column of each joint's first channel in a motion row."""
        counts = np.array([len(c) for c in self.channels], dtype=np.int64)
        return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)

    def index(self, name: str) -> int:
        """Index of a joint by name; raises ``KeyError`` listing the joint names."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no joint {name!r}; joints are {list(self.names)}") from None


@dataclass(frozen=True, eq=False)
class BVHMotion:
    """A parsed BVH file.

    Attributes:
        skeleton: the hierarchy.
        frame_time: seconds per frame (``Frame Time:``).
        channels: ``(F, C)`` float64 channel values, one row per frame, columns in skeleton channel order.
        source: where it came from (file name, or ``"<string>"``).
    """

    skeleton: BVHSkeleton
    frame_time: float
    channels: np.ndarray
    source: str

    @property
    def num_frames(self) -> int:
        return int(self.channels.shape[0])


# ----------------------------------------------------------------------------------------------- parsing


class _Tokens:
    """Whitespace tokens of the HIERARCHY block with their 1-based line numbers (braces split off)."""

    def __init__(self, lines: list[str], source: str) -> None:
        self.source = source
        self.toks: list[tuple[str, int]] = []
        for lineno, line in enumerate(lines, start=1):
            for tok in line.replace("{", " { ").replace("}", " } ").split():
                self.toks.append((tok, lineno))
        self.pos = 0
        self.last_line = len(lines)

    def error(self, msg: str, lineno: int | None = None) -> BVHError:
        where = f", line {lineno}" if lineno is not None else ""
        return BVHError(f"{self.source}{where}: {msg}")

    def peek(self) -> tuple[str, int] | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def next(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.toks):
            raise self.error(f"unexpected end of HIERARCHY, expected {what} (unbalanced braces?)", self.last_line)
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def expect(self, keyword: str) -> int:
        tok, lineno = self.next(repr(keyword))
        if tok != keyword:
            raise self.error(f"expected {keyword!r}, found {tok!r}", lineno)
        return lineno

    def number(self, what: str) -> float:
        tok, lineno = self.next(what)
        try:
            value = float(tok)
        except ValueError:
            raise self.error(f"{what} must be a number, found {tok!r}", lineno) from None
        if not np.isfinite(value):
            raise self.error(f"{what} must be finite, found {tok!r}", lineno)
        return value


class _HierarchyBuilder:
    def __init__(self, toks: _Tokens) -> None:
        self.t = toks
        self.names: list[str] = []
        self.parents: list[int] = []
        self.offsets: list[tuple[float, float, float]] = []
        self.channels: list[tuple[str, ...]] = []
        self.end: list[bool] = []

    def _add(self, name: str, parent: int, end: bool, lineno: int) -> int:
        if end:   # a second end site under the same joint gets a number
            base, k = name, 2
            while name in self.names:
                name, k = f"{base}{k}", k + 1
        elif name in self.names:
            raise self.t.error(f"duplicate joint name {name!r}", lineno)
        self.names.append(name)
        self.parents.append(parent)
        self.offsets.append((0.0, 0.0, 0.0))
        self.channels.append(())
        self.end.append(end)
        return len(self.names) - 1

    def joint(self, name: str, parent: int, end: bool, lineno: int) -> None:
        """Parse ``{ OFFSET ... [CHANNELS ...] children }`` of one joint (the name is already consumed)."""
        t = self.t
        j = self._add(name, parent, end, lineno)
        t.expect("{")
        t.expect("OFFSET")
        self.offsets[j] = tuple(t.number(f"OFFSET {axis} of {self.names[j]!r}")  # type: ignore[assignment]
                                for axis in "xyz")
        if end:
            t.expect("}")
            return
        nxt = t.peek()
        if nxt is not None and nxt[0] == "CHANNELS":
            t.next("CHANNELS")
            tok, ln = t.next("channel count")
            try:
                count = int(tok)
            except ValueError:
                raise t.error(f"CHANNELS count of {name!r} must be an integer, found {tok!r}", ln) from None
            if not 0 <= count <= 6:
                raise t.error(f"CHANNELS count of {name!r} must be 0..6, found {count}", ln)
            chans: list[str] = []
            for _ in range(count):
                tok, cl = t.next(f"channel name of {name!r}")
                if tok in ("JOINT", "End", "}", "{", "OFFSET", "CHANNELS"):
                    raise t.error(
                        f"CHANNELS of {name!r} declares {count} channels but lists {len(chans)}", ln
                    )
                canon = _CANONICAL_CHANNEL.get(tok.lower())
                if canon is None:
                    raise t.error(
                        f"unknown channel name {tok!r} of {name!r} "
                        f"(expected one of {list(POSITION_CHANNELS + ROTATION_CHANNELS)})", cl)
                if canon in chans:
                    raise t.error(f"channel {canon!r} listed twice for {name!r}", cl)
                chans.append(canon)
            nxt2 = t.peek()
            if nxt2 is not None and nxt2[1] == ln and nxt2[0].lower() in _CANONICAL_CHANNEL:
                raise t.error(f"CHANNELS of {name!r} declares {count} channels but lists more", ln)
            self.channels[j] = tuple(chans)
        while True:
            tok, ln = t.next(f"'}}' closing joint {name!r}")
            if tok == "}":
                return
            if tok == "JOINT":
                child, cl = t.next("joint name")
                if child in ("{", "}"):
                    raise t.error("JOINT without a name", cl)
                self.joint(child, j, False, cl)
            elif tok == "End":
                site, sl = t.next("'Site'")
                if site.lower() != "site":
                    raise t.error(f"expected 'End Site', found 'End {site}'", sl)
                self.joint(f"{name}_End", j, True, sl)
            elif tok == "{":
                raise t.error(f"unexpected '{{' in joint {name!r} (unbalanced braces?)", ln)
            else:
                raise t.error(f"unexpected {tok!r} in joint {name!r}", ln)

    def skeleton(self) -> BVHSkeleton:
        return BVHSkeleton(
            names=tuple(self.names),
            parents=np.array(self.parents, dtype=np.int64),
            offsets=np.array(self.offsets, dtype=np.float64).reshape(-1, 3),
            channels=tuple(self.channels),
            is_end_site=tuple(self.end),
        )


def _parse_hierarchy(lines: list[str], source: str) -> BVHSkeleton:
    header = "\n".join(lines)
    n_open, n_close = header.count("{"), header.count("}")
    if n_open != n_close:
        raise BVHError(f"{source}: unbalanced braces in HIERARCHY: {n_open} '{{' but {n_close} '}}'")
    t = _Tokens(lines, source)
    first = t.peek()
    if first is None or first[0] != "HIERARCHY":
        raise t.error("missing HIERARCHY keyword at the start of the file",
                      first[1] if first else 1)
    t.next("HIERARCHY")
    b = _HierarchyBuilder(t)
    if t.peek() is None:
        raise t.error("missing ROOT joint after HIERARCHY", t.last_line)
    while t.peek() is not None:
        word, ln = t.next("ROOT")
        if word != "ROOT":
            raise t.error(f"expected ROOT, found {word!r}", ln)
        name, nl = t.next("root name")
        if name in ("{", "}"):
            raise t.error("ROOT without a name", nl)
        try:
            b.joint(name, -1, False, nl)
        except RecursionError:
            raise t.error("joint hierarchy nested too deeply", nl) from None
    skel = b.skeleton()
    if skel.num_channels == 0:
        raise BVHError(f"{source}: the skeleton declares no CHANNELS")
    return skel


def _header_value(line: str, keyword: str, lineno: int, source: str) -> str:
    """The value after ``keyword`` (e.g. ``"Frames:"``) on a MOTION header line."""
    stripped = line.strip()
    if not stripped.startswith(keyword):
        raise BVHError(f"{source}, line {lineno}: expected {keyword!r} after MOTION, found {stripped[:40]!r}")
    value = stripped[len(keyword):].strip()
    if not value or len(value.split()) != 1:
        raise BVHError(f"{source}, line {lineno}: {keyword!r} needs exactly one value, found {value!r}")
    return value


def _diagnose_rows(body: str, first_line: int, n_channels: int, source: str) -> BVHError:
    """Find the first bad data row (slow path, only run once the fast parse failed)."""
    for k, line in enumerate(body.split("\n")):
        vals = line.split()
        if not vals:
            continue
        if len(vals) != n_channels:
            return BVHError(f"{source}, line {first_line + k}: motion row has {len(vals)} values, "
                            f"expected {n_channels} (one per channel)")
        for v in vals:
            try:
                float(v)
            except ValueError:
                return BVHError(f"{source}, line {first_line + k}: non-numeric motion value {v[:40]!r}")
    return BVHError(f"{source}: could not parse the motion data starting at line {first_line}")


def _parse_rows(body: str, first_line: int, n_channels: int, source: str) -> np.ndarray:
    """``(F, C)`` float64 from the data rows (blank lines ignored); fast C parser, exact diagnostics on error."""
    if not body.strip():
        return np.zeros((0, n_channels), dtype=np.float64)
    try:
        data = np.loadtxt(io.StringIO(body), dtype=np.float64, comments=None, ndmin=2)
    except ValueError:
        raise _diagnose_rows(body, first_line, n_channels, source) from None
    if data.shape[1] != n_channels:
        raise _diagnose_rows(body, first_line, n_channels, source)
    bad = ~np.isfinite(data)
    if bad.any():
        row = int(np.argmax(bad.any(axis=1)))
        nonblank = [k for k, ln in enumerate(body.split("\n")) if ln.strip()]
        lineno = first_line + nonblank[row]
        raise BVHError(f"{source}, line {lineno}: non-finite motion value {data[row][bad[row]][0]!r}")
    return data


def parse_bvh(text: str, source: str = "<string>") -> BVHMotion:
    """Parse BVH text.

    Args:
        text: whole file content.
        source: name used in error messages and stored in ``BVHMotion.source``.
    Returns:
        the motion, with ``channels`` ``(F, C)`` float64.
    Raises:
        BVHError: naming ``source`` and the problem (missing HIERARCHY/ROOT/MOTION, unbalanced braces,
            bad CHANNELS, ``Frames:`` not matching the row count, a row with the wrong value count,
            a non-numeric or non-finite value, ...).
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    match = _MOTION_LINE.search(text)
    if match is None:
        raise BVHError(f"{source}: missing MOTION section")
    head_text = text[: match.start()]
    head_lines = head_text.split("\n")
    if head_lines and head_lines[-1] == "":
        head_lines.pop()
    skel = _parse_hierarchy(head_lines, source)
    motion_line = head_text.count("\n") + 1        # 1-based line number of "MOTION"

    rest = text[match.end():]
    rest = rest[1:] if rest.startswith("\n") else rest
    parts = rest.split("\n", 2)
    if len(parts) < 2:
        raise BVHError(f"{source}, line {motion_line}: MOTION needs 'Frames:' and 'Frame Time:' lines")
    frames_txt = _header_value(parts[0], "Frames:", motion_line + 1, source)
    try:
        n_frames = int(frames_txt)
    except ValueError:
        raise BVHError(f"{source}, line {motion_line + 1}: Frames: must be an integer, found {frames_txt!r}") from None
    if n_frames < 0:
        raise BVHError(f"{source}, line {motion_line + 1}: Frames: must be >= 0, found {n_frames}")
    ft_txt = _header_value(parts[1], "Frame Time:", motion_line + 2, source)
    try:
        frame_time = float(ft_txt)
    except ValueError:
        raise BVHError(f"{source}, line {motion_line + 2}: Frame Time: must be a number, found {ft_txt!r}") from None
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise BVHError(f"{source}, line {motion_line + 2}: Frame Time: must be positive, found {ft_txt!r}")

    body = parts[2] if len(parts) > 2 else ""
    data = _parse_rows(body, motion_line + 3, skel.num_channels, source)
    if data.shape[0] != n_frames:
        raise BVHError(f"{source}: 'Frames: {n_frames}' but the MOTION block has {data.shape[0]} data rows"
                       + (" (truncated file?)" if data.shape[0] < n_frames else ""))
    return BVHMotion(skeleton=skel, frame_time=frame_time, channels=data, source=source)


def read_bvh(path: Path | str) -> BVHMotion:
    """Read and parse a BVH file (``source`` = the file's path). Raises :class:`BVHError` if malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise BVHError(f"{path}: not a text file ({exc})") from None
    return parse_bvh(text, source=str(path))


# ------------------------------------------------------------------------------------- forward kinematics


def _elemental(axis: int, degrees: np.ndarray) -> np.ndarray:
    """``(F, 3, 3)`` rotation about axis 0/1/2 (x/y/z) by ``degrees`` ``(F,)``, acting on column vectors."""
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros((a.shape[0], 3, 3), dtype=np.float64)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]          # the plane rotated: x->(y,z), y->(z,x), z->(x,y)
    m[:, axis, axis] = 1.0
    m[:, i, i] = c
    m[:, j, j] = c
    m[:, i, j] = -s
    m[:, j, i] = s
    return m


def forward_kinematics(motion: BVHMotion, frames: slice | np.ndarray | None = None) -> np.ndarray:
    """Global joint positions.

    Args:
        motion: a parsed BVH.
        frames: which frames to compute (a slice, an int index array or a bool mask over ``F``); all if None.
    Returns:
        ``(F', J, 3)`` float64 positions in file units, ``J`` = all joints including end sites, for the
        ``F'`` selected frames.
    """
    skel = motion.skeleton
    ch = motion.channels if frames is None else motion.channels[frames]
    if ch.ndim != 2:
        raise ValueError(f"{motion.source}: frames must select a 2D block of channels, got shape {ch.shape}")
    n = ch.shape[0]
    J = skel.num_joints
    pos = np.empty((n, J, 3), dtype=np.float64)
    rot: list[np.ndarray | None] = [None] * J       # global rotation (F, 3, 3); None for end sites
    starts = skel.channel_starts
    for j in range(J):
        names = skel.channels[j]
        t_local: np.ndarray = skel.offsets[j]
        r_local: np.ndarray | None = None
        if names:
            col = int(starts[j])
            trans = None
            for k, name in enumerate(names):
                axis = _AXIS[name[0]]
                if name.endswith("position"):
                    if trans is None:
                        trans = np.zeros((n, 3), dtype=np.float64)
                    trans[:, axis] = ch[:, col + k]
                else:
                    e = _elemental(axis, ch[:, col + k])
                    r_local = e if r_local is None else r_local @ e
            if trans is not None:
                t_local = skel.offsets[j] + trans
        p = int(skel.parents[j])
        if p < 0:
            pos[:, j] = t_local
            glob = r_local if r_local is not None else np.broadcast_to(np.eye(3), (n, 3, 3))
        else:
            rp = rot[p]
            assert rp is not None, "a joint's parent is never an end site"
            if t_local.ndim == 1:
                pos[:, j] = pos[:, p] + rp @ t_local
            else:
                pos[:, j] = pos[:, p] + np.einsum("fij,fj->fi", rp, t_local)
            glob = rp if r_local is None else rp @ r_local
        rot[j] = None if skel.is_end_site[j] else glob
    return pos
