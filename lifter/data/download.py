"""Fetch the public sources of the benchmark (``python -m lifter.data download --out <dir>``).

The sources are pinned in ``sources.json`` (next to this file): every file has a raw.githubusercontent.com URL
pinned to a full commit hash (or, for the MediaPipe face model, a release tag), the path it takes in the output
layout (the layout of ``../shared/data`` that ``python -m lifter.data build --source <dir>`` reads) and, where the
upstream bytes are known, its size, sha256 and (face model) git blob sha1:

    cmu-mocap/<subj>/<subj>_<take>.bvh       98 CMU takes, motion-viewer@6d7ca60c  (sha256 + size)
    mediapipe-face/canonical_face_model.obj  google/mediapipe@v0.10.21             (sha256 + size + git blob sha1)
    mediapipe-face/LICENSE                   google/mediapipe@v0.10.21 LICENSE     (Apache-2.0; not pinned: null)
    keypointnet/upstream/{chair.json,train.txt,val.txt}  KeypointNet@d8c97eb8      (not pinned: null)
    keypointnet/LICENSE.md                   KeypointNet@d8c97eb8 LICENSE.md       (MIT; not pinned: null)

The KeypointNet files are then post-processed into ``keypointnet/chair.json`` (the upstream records of the chairs
in the train + val splits, upstream order, records unchanged) and ``keypointnet/splits.json`` (``{"train": [...],
"val": [...]}`` model ids, in ``chair.json`` order), and those are checked against CONTENT checksums (sha256 of a
canonical serialisation, see :func:`chair_content_sha256` / :func:`splits_content_sha256`) because the upstream
bytes are not pinned here. A content mismatch raises :class:`ChecksumError`; a byte difference of the written
files with an equal content is only reported.

Downloads stream to ``<dest>.part``, resume an existing ``.part`` with an HTTP ``Range`` request (a server that
ignores it and answers 200 restarts the file from zero), are verified, then renamed into place. A file already
present whose checksum matches is skipped without any request. Mirrors: ``base_url_override`` (``--mirror``)
replaces the ``https://raw.githubusercontent.com`` prefix of every URL. Nothing touches the network at import.

Regenerate the manifest from byte-identical local copies (hashes only, no data is copied)::

    python -m lifter.data.download write-manifest ../shared/data
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

GITHUB_RAW = "https://raw.githubusercontent.com"
MANIFEST_PATH = Path(__file__).with_name("sources.json")
MANIFEST_FORMAT = 1

MOTION_VIEWER_REPO = "chrystianosaraujo/motion-viewer"
MOTION_VIEWER_COMMIT = "6d7ca60c300f123528be0fd0939cf7a584a13f65"
KEYPOINTNET_REPO = "qq456cvb/KeypointNet"
KEYPOINTNET_COMMIT = "d8c97eb8ce1a35b5df2724716b8a47b6216343f3"
MEDIAPIPE_REPO = "google/mediapipe"
MEDIAPIPE_TAG = "v0.10.21"
FACE_OBJ_UPSTREAM_PATH = "mediapipe/modules/face_geometry/data/canonical_face_model.obj"
FACE_OBJ_GIT_BLOB_SHA1 = "61399a60a13c26c73eadede1b530a869171edcd8"
CHAIR_CLASS_ID = "03001627"

GROUPS = ("cmu-mocap", "keypointnet", "mediapipe-face")
USER_AGENT = "lifter-data-download/1 (+python urllib)"
CHUNK = 1 << 16
RETRY_BACKOFF_S = 1.0  # sleep before retry k (1-based) is RETRY_BACKOFF_S * 2**(k-1), capped at 30 s

TERMS = {
    "cmu-mocap": (
        "CMU motion capture (cmu-mocap/): free for research and may be included in commercially-sold products, "
        "but it may NOT be resold directly, even in converted form. Publications should acknowledge: \"The data "
        "used in this project was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF "
        "EIA-0196217.\" (CMU asks that citations be sent to jkh+mocap@cs.cmu.edu.) Files: the cgspeed "
        "'MotionBuilder-friendly' BVH release, as redistributed unchanged by "
        "github.com/chrystianosaraujo/motion-viewer."
    ),
    "keypointnet": (
        "KeypointNet (keypointnet/): MIT licence, (c) 2021 Yang You, see keypointnet/LICENSE.md. Cite You et al., "
        "CVPR 2020. Only keypoint annotations are included; ShapeNet meshes have their own terms."
    ),
    "mediapipe-face": (
        "MediaPipe canonical face model (mediapipe-face/): Apache License 2.0, see mediapipe-face/LICENSE."
    ),
}


class ChecksumError(ValueError):
    """A file does not match its pinned size / sha256 / git blob sha1 / content checksum (the file was removed)."""

    def __init__(self, path: Path | str, kind: str, expected: object, actual: object, detail: str = ""):
        self.path, self.kind, self.expected, self.actual = Path(path), kind, expected, actual
        msg = f"{path}: {kind} mismatch: expected {expected}, got {actual}"
        super().__init__(msg + (f" ({detail})" if detail else ""))


class DownloadError(RuntimeError):
    """A transfer failed (HTTP error, unreachable host, connection cut short); the message names the URL."""

    def __init__(self, message: str, url: str = "", *, transient: bool = False, summary: dict | None = None,
                 unreachable: bool = False):
        super().__init__(message)
        self.url, self.transient, self.summary, self.unreachable = url, transient, summary, unreachable


#: After this many files in a row fail because their host cannot be reached (no name resolution, no route, refused),
#: :func:`download_sources` stops trying the rest: no network, or a mirror that is down.
UNREACHABLE_STOP = 3


def _unreachable(reason: object) -> bool:
    """Whether a URLError's ``reason`` says the host cannot be reached at all (not a slow or cut transfer)."""
    import errno
    import socket

    return isinstance(reason, socket.gaierror) or getattr(reason, "errno", None) in (
        errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED)


@dataclass
class RemoteFile:
    """One pinned file of the manifest.

    Attributes:
        url: pinned upstream URL (raw.githubusercontent.com/<owner>/<repo>/<commit or tag>/<path>).
        dest: POSIX path relative to the output folder, e.g. ``cmu-mocap/01/01_01.bvh``.
        sha256: hex digest of the upstream bytes, or None when they are not pinned (not verified then).
        size: size in bytes, or None when unknown.
        git_blob_sha1: optional git blob id (sha1 of ``b"blob <size>\\0" + content``), verified when given.
    """

    url: str
    dest: str
    sha256: str | None = None
    size: int | None = None
    git_blob_sha1: str | None = None

    @property
    def group(self) -> str:
        """First folder of ``dest``: ``cmu-mocap``, ``keypointnet`` or ``mediapipe-face``."""
        return PurePosixPath(self.dest).parts[0]


@dataclass
class KeypointNetSpec:
    """How to turn the upstream KeypointNet files into ``keypointnet/chair.json`` + ``splits.json``.

    ``*_content_sha256`` are the required content checksums (None: not checked); ``*_sha256`` the expected bytes of
    the written files (a difference with equal content is only reported: e.g. another record order upstream).
    """

    chair_content_sha256: str | None = None
    splits_content_sha256: str | None = None
    chair_sha256: str | None = None
    splits_sha256: str | None = None
    num_train: int | None = None
    num_val: int | None = None
    class_id: str = CHAIR_CLASS_ID
    chair_src: str = "keypointnet/upstream/chair.json"
    train_src: str = "keypointnet/upstream/train.txt"
    val_src: str = "keypointnet/upstream/val.txt"
    chair_dest: str = "keypointnet/chair.json"
    splits_dest: str = "keypointnet/splits.json"


# ----------------------------------------------------------------------------------------------------- manifest


def _check_dest(dest: str) -> str:
    p = PurePosixPath(dest)
    if not dest or p.is_absolute() or ".." in p.parts or "\\" in dest or p.parts[0] not in GROUPS:
        raise ValueError(f"manifest: bad dest {dest!r} (want a relative path under one of {', '.join(GROUPS)})")
    return dest


def _read_manifest_doc(path: Path | str | None) -> dict:
    path = MANIFEST_PATH if path is None else Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read the source manifest {path}: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise ValueError(f"{path}: not a source manifest (expected an object with a 'files' list)")
    if doc.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{path}: manifest format {doc.get('format')!r}, this code reads {MANIFEST_FORMAT}")
    return doc


def load_manifest(path: Path | str | None = None) -> list[RemoteFile]:
    """The pinned files of ``path`` (default: the packaged ``sources.json``).

    Raises:
        ValueError: unreadable manifest, unknown keys, a ``dest`` outside the layout, duplicate dests.
    """
    doc = _read_manifest_doc(path)
    fields = {"url", "dest", "sha256", "size", "git_blob_sha1"}
    files, seen = [], set()
    for k, rec in enumerate(doc["files"]):
        if not isinstance(rec, dict) or not {"url", "dest"} <= rec.keys() or rec.keys() - fields:
            raise ValueError(f"manifest entry {k}: want keys url, dest [, sha256, size, git_blob_sha1], got {rec}")
        entry = RemoteFile(**rec)
        _check_dest(entry.dest)
        if entry.dest in seen:
            raise ValueError(f"manifest: duplicate dest {entry.dest}")
        seen.add(entry.dest)
        files.append(entry)
    return files


def load_keypointnet_spec(path: Path | str | None = None) -> KeypointNetSpec | None:
    """The KeypointNet post-processing spec of the manifest (``postprocess.keypointnet``), or None when absent."""
    spec = _read_manifest_doc(path).get("postprocess", {}).get("keypointnet")
    return None if spec is None else KeypointNetSpec(**spec)


def github_raw_url(repo: str, ref: str, path: str) -> str:
    return f"{GITHUB_RAW}/{repo}/{ref}/{path}"


def resolve_url(url: str, base_url_override: str | None = None) -> str:
    """``url`` with its ``https://raw.githubusercontent.com`` prefix replaced by ``base_url_override`` (if any)."""
    if base_url_override and url.startswith(GITHUB_RAW + "/"):
        return base_url_override.rstrip("/") + url[len(GITHUB_RAW):]
    return url


# ----------------------------------------------------------------------------------------------------- hashing


def hash_file(path: Path | str, *, git_blob: bool = False) -> tuple[int, str, str | None]:
    """``(size, sha256 hex, git blob sha1 hex or None)`` of a file, in one pass."""
    path = Path(path)
    size = path.stat().st_size
    sha = hashlib.sha256()
    blob = hashlib.sha1(b"blob %d\0" % size) if git_blob else None
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
            if blob is not None:
                blob.update(chunk)
    return size, sha.hexdigest(), None if blob is None else blob.hexdigest()


def _canonical_sha256(obj: object) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def chair_content_sha256(records: list[dict]) -> str:
    """Content checksum of chair records: sha256 of
    ``json.dumps(sorted(records, key=model_id), sort_keys=True, separators=(",", ":"), ensure_ascii=True)``."""
    return _canonical_sha256(sorted(records, key=lambda r: r["model_id"]))


def splits_content_sha256(splits: dict[str, list[str]]) -> str:
    """Content checksum of splits: the same canonical JSON of ``{"train": sorted ids, "val": sorted ids}``."""
    return _canonical_sha256({name: sorted(ids) for name, ids in splits.items()})


def _verify(entry: RemoteFile, path: Path, dest: Path, url: str) -> None:
    """Raise ChecksumError naming ``dest`` (after deleting ``path``) unless ``path`` matches the entry."""
    size, sha, blob = hash_file(path, git_blob=entry.git_blob_sha1 is not None)
    for kind, expected, actual in (("size", entry.size, size), ("sha256", entry.sha256, sha),
                                   ("git blob sha1", entry.git_blob_sha1, blob)):
        if expected is not None and expected != actual:
            path.unlink(missing_ok=True)
            raise ChecksumError(dest, kind, expected, actual, f"downloaded from {url}; the bad file was deleted")


def _matches(entry: RemoteFile, path: Path) -> bool:
    if entry.size is not None and path.stat().st_size != entry.size:
        return False
    if entry.sha256 is None and entry.git_blob_sha1 is None:
        return True
    _, sha, blob = hash_file(path, git_blob=entry.git_blob_sha1 is not None)
    return entry.sha256 in (None, sha) and entry.git_blob_sha1 in (None, blob)


# ----------------------------------------------------------------------------------------------------- transfer


def _say(msg: str) -> None:
    try:
        from tqdm import tqdm

        tqdm.write(msg, file=sys.stderr)
    except ImportError:  # pragma: no cover
        print(msg, file=sys.stderr)


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def _transfer(url: str, part: Path, *, timeout: float, bar) -> int:
    """Append the missing bytes of ``url`` to ``part`` (resuming with Range); returns the bytes received.

    Raises DownloadError (``transient`` for cut connections, timeouts, 5xx / 429)."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    req = urllib.request.Request(url, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to send: the .part may already be complete
            m = re.search(r"/(\d+)", e.headers.get("Content-Range", "") or "")
            e.close()
            if m and int(m.group(1)) == have:
                return 0
            part.unlink()  # inconsistent with the server's file: start again
            raise DownloadError(f"HTTP 416 for {url} (stale partial file removed; retrying from zero)", url,
                                transient=True) from None
        transient = e.code >= 500 or e.code in (408, 429)
        hint = " (not found: is the pinned commit/tag still published? try --mirror)" if e.code == 404 else ""
        e.close()
        raise DownloadError(f"HTTP {e.code} {e.reason} for {url}{hint}", url, transient=transient) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", e)
        unreachable = _unreachable(reason)
        raise DownloadError(f"cannot fetch {url}: {reason}", url, transient=not unreachable,
                            unreachable=unreachable) from None

    received = 0
    with resp:
        status = resp.status
        length = resp.headers.get("Content-Length")
        expected = int(length) if length is not None and length.isdigit() else None
        mode = "ab"
        if have and status == 206:
            m = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != have:
                raise DownloadError(f"bad Content-Range {resp.headers.get('Content-Range')!r} from {url} "
                                    f"(asked for bytes={have}-)", url, transient=False)
        elif status == 200:
            if have:  # the server ignored Range: start from zero
                if bar is not None:
                    bar.update(-have)
                have = 0
            mode = "wb"
        else:
            raise DownloadError(f"unexpected HTTP {status} for {url}", url)
        try:
            with part.open(mode) as f:
                while chunk := resp.read(CHUNK):
                    f.write(chunk)
                    received += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as e:  # timeouts, resets, IncompleteRead
            raise DownloadError(f"transfer of {url} interrupted after {have + received} bytes: {e}", url,
                                transient=True) from None
    if expected is not None and received < expected:
        raise DownloadError(f"transfer of {url} cut short: got {received} of {expected} bytes "
                            f"({have + received} in {part.name}; run again to resume)", url, transient=True)
    return received


def _fetch(entry: RemoteFile, out_dir: Path, *, base_url_override: str | None, progress: bool, retries: int,
           timeout: float, bar=None) -> tuple[Path, str, int]:
    """Download one file; returns ``(path, "downloaded" | "skipped", bytes received)``."""
    dest = Path(out_dir) / _check_dest(entry.dest)
    url = resolve_url(entry.url, base_url_override)
    if dest.exists():
        if _matches(entry, dest):
            return dest, "skipped", 0
        _say(f"{entry.dest}: present but does not match the manifest; downloading it again")
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if part.exists() and entry.size is not None and part.stat().st_size > entry.size:
        part.unlink()

    had = part.stat().st_size if part.exists() else 0  # bytes from an earlier, interrupted call
    own_bar = None
    if bar is None and progress:
        from tqdm import tqdm

        own_bar = bar = tqdm(total=entry.size, initial=had, unit="B", unit_scale=True, unit_divisor=1024,
                             desc=entry.dest, leave=False, file=sys.stderr)
    elif bar is not None and had:
        bar.update(had)
    received = 0
    try:
        attempt = 0
        while True:
            try:
                if entry.size is None or not part.exists() or part.stat().st_size < entry.size:
                    received += _transfer(url, part, timeout=timeout, bar=bar)
                break
            except DownloadError as e:
                if not e.transient or attempt >= retries:
                    raise
                attempt += 1
                wait = min(RETRY_BACKOFF_S * 2 ** (attempt - 1), 30.0)
                _say(f"{e}; retry {attempt}/{retries} in {wait:.0f} s")
                time.sleep(wait)
        try:
            _verify(entry, part, dest, url)
        except ChecksumError:
            if not had:
                raise
            # the start of the file came from an earlier .part (deleted by _verify): one fresh full download
            _say(f"{entry.dest}: resumed file failed verification; downloading it again from zero")
            if bar is not None:
                bar.update(-had)
            received += _transfer(url, part, timeout=timeout, bar=bar)
            _verify(entry, part, dest, url)
    finally:
        if own_bar is not None:
            own_bar.close()
    os.replace(part, dest)
    return dest, "downloaded", received


def download_file(entry: RemoteFile, out_dir: Path | str, *, base_url_override: str | None = None,
                  progress: bool = True, retries: int = 3, timeout: float = 60) -> Path:
    """Fetch ``entry`` into ``out_dir / entry.dest`` (see the module doc) and return that path.

    Args:
        base_url_override: mirror replacing the ``https://raw.githubusercontent.com`` prefix of the URL.
        progress: show a tqdm progress bar (bytes).
        retries: further attempts after a transient failure (cut connection, timeout, HTTP 5xx/429); each resumes.
        timeout: socket timeout in seconds.

    Raises:
        ChecksumError: the downloaded bytes do not match size / sha256 / git blob sha1 (nothing is left at dest).
        DownloadError: HTTP error or unreachable host (the message names the URL); a partial ``.part`` is kept.
    """
    path, _, _ = _fetch(entry, Path(out_dir), base_url_override=base_url_override, progress=progress,
                        retries=retries, timeout=timeout)
    return path


# ----------------------------------------------------------------------------------------------------- KeypointNet


def _split_ids(path: Path, class_id: str) -> list[str]:
    ids = []
    for k, line in enumerate(path.read_text().splitlines()):
        line = line.strip()
        if not line:
            continue
        cls, sep, mid = line.partition("-")
        if not sep or not mid:
            raise ValueError(f"{path}: line {k + 1} is not CLASSID-MODELID: {line!r}")
        if cls == class_id:
            ids.append(mid)
    return ids


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def prepare_keypointnet(out_dir: Path | str, spec: KeypointNetSpec | None = None) -> dict:
    """Write ``keypointnet/chair.json`` (upstream records of the chairs in train + val, upstream order) and
    ``keypointnet/splits.json`` (``{"train": [...], "val": [...]}``, ids in chair.json order) from the downloaded
    upstream files, after checking their content checksums.

    Returns:
        ``{"chairs": n, "train": n, "val": n, "missing": ids in the splits without annotations, "byte_identical":
        whether both files equal the pinned bytes (None when not pinned)}``.

    Raises:
        ChecksumError: content checksum mismatch (nothing is written; the message names the file and hashes).
        FileNotFoundError / ValueError: missing or malformed upstream files.
    """
    out_dir = Path(out_dir)
    spec = load_keypointnet_spec() if spec is None else spec
    if spec is None:
        raise ValueError("no KeypointNet post-processing spec in the manifest")
    chair_src = out_dir / spec.chair_src
    try:
        records = json.loads(chair_src.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{chair_src}: not valid JSON ({e})") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) and "model_id" in r for r in records):
        raise ValueError(f"{chair_src}: expected a list of records with 'model_id'")
    train = _split_ids(out_dir / spec.train_src, spec.class_id)
    val = _split_ids(out_dir / spec.val_src, spec.class_id)
    wanted = {**{m: "train" for m in train}, **{m: "val" for m in val}}
    if len(wanted) != len(train) + len(val):
        raise ValueError(f"{spec.train_src} / {spec.val_src}: a model id appears twice")
    kept = [r for r in records if r["model_id"] in wanted
            and str(r.get("class_id", spec.class_id)) == spec.class_id]
    order = [r["model_id"] for r in kept]
    if len(set(order)) != len(order):
        raise ValueError(f"{chair_src}: a kept model id appears twice")
    splits = {name: [m for m in order if wanted[m] == name] for name in ("train", "val")}
    missing = sorted(set(wanted) - set(order))

    checks = ((spec.chair_dest, spec.chair_content_sha256, chair_content_sha256(kept)),
              (spec.splits_dest, spec.splits_content_sha256, splits_content_sha256(splits)))
    for dest, expected, actual in checks:
        if expected is not None and expected != actual:
            (out_dir / dest).unlink(missing_ok=True)
            raise ChecksumError(dest, "content sha256", expected, actual,
                                f"made from {spec.chair_src}, {spec.train_src}, {spec.val_src}; "
                                "the upstream files differ from the pinned ones; nothing was written")
    for name, want in (("train", spec.num_train), ("val", spec.num_val)):
        if want is not None and len(splits[name]) != want:  # implied by the checksum; a clearer message
            raise ValueError(f"KeypointNet {name}: {len(splits[name])} chairs, expected {want}")

    chair_text = json.dumps(kept)
    splits_text = json.dumps(splits, indent=1) + "\n"
    byte_identical = None
    for dest, text, want in ((spec.chair_dest, chair_text, spec.chair_sha256),
                             (spec.splits_dest, splits_text, spec.splits_sha256)):
        path = out_dir / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, text)
        if want is not None:
            same = hashlib.sha256(text.encode()).hexdigest() == want
            byte_identical = same and byte_identical is not False
            if not same:
                _say(f"note: {dest} has the pinned content but not the pinned bytes (record order or "
                     "formatting differs upstream); the built data may list chairs in another order")
    if missing:
        _say(f"note: {len(missing)} split ids have no annotation in {spec.chair_src} (skipped), e.g. {missing[:3]}")
    return {"chairs": len(kept), "train": len(splits["train"]), "val": len(splits["val"]), "missing": missing,
            "byte_identical": byte_identical}


# ----------------------------------------------------------------------------------------------------- all sources


def download_sources(out_dir: Path | str, *, manifest: list[RemoteFile] | None = None,
                     only: Sequence[str] | None = None, progress: bool = True, base_url_override: str | None = None,
                     retries: int = 3, timeout: float = 60, keypointnet_spec: KeypointNetSpec | None = None,
                     raise_on_error: bool = True) -> dict:
    """Fetch every file of ``manifest`` (default: the packaged one) whose group is in ``only`` (default: all),
    then post-process KeypointNet (with ``keypointnet_spec``; by default the packaged manifest's spec when
    ``manifest`` is None, none otherwise).

    Returns:
        summary ``{"files", "downloaded", "skipped", "bytes", "unverified": [dests without a pinned checksum that
        were downloaded], "failed": [(dest, message)], "keypointnet": prepare_keypointnet's summary or None,
        "groups": [...]}``.

    Raises:
        ValueError: unknown group in ``only``.
        DownloadError: some files failed (after trying all; ``err.summary`` holds the summary) when
            ``raise_on_error``; a ChecksumError is reported as a failure too.
    """
    out_dir = Path(out_dir)
    if manifest is None:
        manifest = load_manifest()
        if keypointnet_spec is None:
            keypointnet_spec = load_keypointnet_spec()
    groups = list(GROUPS) if only is None else list(dict.fromkeys(only))
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ValueError(f"unknown source group(s) {unknown}; choose from {', '.join(GROUPS)}")
    entries = [e for e in manifest if e.group in groups]
    summary: dict = {"files": len(entries), "downloaded": 0, "skipped": 0, "bytes": 0, "unverified": [],
                     "failed": [], "keypointnet": None, "groups": groups}
    out_dir.mkdir(parents=True, exist_ok=True)

    bar = None
    if progress and entries:
        from tqdm import tqdm

        known = sum(e.size or 0 for e in entries)
        bar = tqdm(total=known or None, unit="B", unit_scale=True, unit_divisor=1024, desc="download",
                   file=sys.stderr)
    unreachable = 0                                   # files in a row whose host could not be reached
    try:
        for k, e in enumerate(entries):
            if unreachable >= UNREACHABLE_STOP:
                host = urllib.parse.urlsplit(resolve_url(e.url, base_url_override)).netloc
                why = f"not tried: {host} could not be reached for {UNREACHABLE_STOP} files in a row"
                summary["failed"] += [(rest.dest, why) for rest in entries[k:]]
                summary["unreachable"] = host
                _say(f"stopping: {host} cannot be reached (no network, or try --mirror); "
                     f"{len(entries) - k} files not tried")
                break
            if bar is not None:
                bar.set_postfix_str(e.dest, refresh=False)
            try:
                _, status, nbytes = _fetch(e, out_dir, base_url_override=base_url_override, progress=False,
                                           retries=retries, timeout=timeout, bar=bar)
            except (DownloadError, ChecksumError) as err:
                summary["failed"].append((e.dest, str(err)))
                unreachable = unreachable + 1 if getattr(err, "unreachable", False) else 0
                if progress:
                    _say(f"FAILED {e.dest}: {err}")
                continue
            unreachable = 0
            summary[status] += 1
            summary["bytes"] += nbytes
            if status == "skipped" and bar is not None and e.size:
                bar.update(e.size)
            if status == "downloaded" and e.sha256 is None:
                summary["unverified"].append(e.dest)
    finally:
        if bar is not None:
            bar.close()

    kp_inputs = {keypointnet_spec.chair_src, keypointnet_spec.train_src, keypointnet_spec.val_src} \
        if keypointnet_spec is not None else set()
    if keypointnet_spec is not None and "keypointnet" in groups:
        if any(dest in kp_inputs for dest, _ in summary["failed"]):
            summary["failed"].append((keypointnet_spec.chair_dest, "not made: an upstream KeypointNet file failed"))
            summary["failed_derived"] = 1
        else:
            try:
                summary["keypointnet"] = prepare_keypointnet(out_dir, keypointnet_spec)
            except (ChecksumError, ValueError, OSError) as err:
                message = str(err)
                if isinstance(err, ValueError):      # ChecksumError too: the upstream files' content is wrong
                    unpinned = [p for p in sorted(kp_inputs) if (out_dir / p).exists()]
                    for dest in unpinned:            # unpinned, so a rerun would keep them: fetched afresh instead
                        (out_dir / dest).unlink()
                    if unpinned:
                        message += f" (deleted {', '.join(unpinned)}: the same command fetches them again)"
                summary["failed"].append((keypointnet_spec.chair_dest, message))
                summary["failed_derived"] = 1
                _say(f"FAILED {keypointnet_spec.chair_dest}: {message}")
    if summary["failed"] and raise_on_error:
        lines = "\n".join(f"  {d}: {m}" for d, m in summary["failed"])
        raise DownloadError(f"{len(summary['failed'])} source file(s) failed:\n{lines}", summary=summary)
    return summary


#: :func:`format_download_summary` lists at most this many failed files, then how many more.
SHOWN_FAILURES = 10


def format_download_summary(summary: dict) -> str:
    mb = summary["bytes"] / 1e6
    size = f"{mb:.1f} MB" if mb >= 0.1 or not summary["bytes"] else f"{summary['bytes'] / 1e3:.0f} kB"
    failed = summary["failed"]
    derived = summary.get("failed_derived", 0)          # keypointnet's chair file, made from downloaded ones
    lines = [f"{summary['files']} files ({', '.join(summary['groups'])}): {summary['downloaded']} downloaded "
             f"({size}), {summary['skipped']} already present (verified where pinned), "
             f"{len(failed) - derived} failed" + (" (and the chair file made from them)" if derived else "")]
    kp = summary.get("keypointnet")
    if kp:
        same = {True: "byte-identical to the pinned files", False: "same content, other bytes",
                None: "bytes not pinned"}[kp["byte_identical"]]
        lines.append(f"keypointnet: {kp['chairs']} chairs (train {kp['train']}, val {kp['val']}), content "
                     f"checksums verified, {same}")
    if summary["unverified"]:
        lines.append("not pinned by checksum (licence texts / inputs checked after post-processing): "
                     + ", ".join(summary["unverified"]))
    for dest, msg in failed[:SHOWN_FAILURES]:
        lines.append(f"FAILED {dest}: {msg}")
    if len(failed) > SHOWN_FAILURES:
        lines.append(f"... and {len(failed) - SHOWN_FAILURES} more failed")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------- CLI


def add_download_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m lifter.data download``."""
    parser.add_argument("--out", type=Path, required=True,
                        help="output folder; gets the layout that `build --source` reads")
    parser.add_argument("--only", nargs="+", choices=GROUPS, default=None, metavar="GROUP",
                        help=f"fetch only these sources ({', '.join(GROUPS)}); default: all")
    parser.add_argument("--mirror", default=os.environ.get("LIFTER_DATA_MIRROR") or None, metavar="URL",
                        help=f"replace the {GITHUB_RAW} prefix of every URL by URL (default: $LIFTER_DATA_MIRROR)")
    parser.add_argument("--manifest", type=Path, default=None, help="source manifest (default: the packaged one)")
    parser.add_argument("--retries", type=int, default=3, help="retries per file after a transient error")
    parser.add_argument("--timeout", type=float, default=60, help="socket timeout in seconds")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run_download(args: argparse.Namespace) -> int:
    """Run ``download`` with parsed ``args``; prints a summary and the terms of use. Returns the exit status."""
    from lifter.checked_files import made_writable

    unwritable = made_writable(Path(args.out))
    if unwritable:                                    # a file in the way, or a folder not writable: before any fetch
        print(f"error: --out {args.out}: {unwritable}", file=sys.stderr)
        return 2
    try:
        manifest = load_manifest(args.manifest)
        spec = load_keypointnet_spec(args.manifest)
        summary = download_sources(args.out, manifest=manifest, only=args.only, progress=not args.quiet,
                                   base_url_override=args.mirror, retries=args.retries, timeout=args.timeout,
                                   keypointnet_spec=spec, raise_on_error=False)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(format_download_summary(summary))
    if summary["downloaded"] or summary["skipped"]:              # terms of what is on disk, not of nothing
        for group in summary["groups"]:
            print(f"\nTerms: {TERMS[group]}")
    if summary.get("unreachable") and not (summary["downloaded"] or summary["skipped"]):
        print(f"\nerror: {summary['unreachable']} cannot be reached, so nothing was downloaded: check the network, "
              f"or give --mirror URL (a copy of the sources); the same command resumes later", file=sys.stderr)
        return 1
    if summary["failed"]:
        print("\nsome files failed; run the same command again to resume", file=sys.stderr)
        return 1
    print(f"\nnext: python -m lifter.data build --source {args.out} --out data/")
    return 0


# ----------------------------------------------------------------------------------------------------- manifest maker


def write_manifest_from_local(source_dir: Path | str, path: Path | str | None = None) -> dict:
    """Write the manifest (default: the packaged ``sources.json``) from byte-identical local copies in
    ``source_dir`` (the layout of ``../shared/data``): hashes only, nothing is copied. Returns the document.

    Raises:
        ValueError: a local copy contradicts a documented checksum, or its content checksum is not stable.
    """
    src = Path(source_dir)
    path = MANIFEST_PATH if path is None else Path(path)
    files: list[dict] = []
    bvhs = sorted(src.glob("cmu-mocap/*/*.bvh"))
    if not bvhs:
        raise ValueError(f"{src}: no cmu-mocap/<subject>/*.bvh files")
    for f in bvhs:
        size, sha, _ = hash_file(f)
        subject = f.parent.name
        files.append(asdict(RemoteFile(github_raw_url(MOTION_VIEWER_REPO, MOTION_VIEWER_COMMIT,
                                                      f"data/{subject}/{f.name}"),
                                       f"cmu-mocap/{subject}/{f.name}", sha, size)))
        files[-1].pop("git_blob_sha1")

    kp = [("annotations/chair.json", "keypointnet/upstream/chair.json"),
          ("splits/train.txt", "keypointnet/upstream/train.txt"),
          ("splits/val.txt", "keypointnet/upstream/val.txt"),
          ("LICENSE.md", "keypointnet/LICENSE.md")]
    for upstream, dest in kp:
        files.append({"url": github_raw_url(KEYPOINTNET_REPO, KEYPOINTNET_COMMIT, upstream), "dest": dest,
                      "sha256": None, "size": None})

    obj = src / "mediapipe-face" / "canonical_face_model.obj"
    size, sha, blob = hash_file(obj, git_blob=True)
    if blob != FACE_OBJ_GIT_BLOB_SHA1:
        raise ValueError(f"{obj}: git blob sha1 {blob}, documented {FACE_OBJ_GIT_BLOB_SHA1}: not the upstream bytes")
    files.append({"url": github_raw_url(MEDIAPIPE_REPO, MEDIAPIPE_TAG, FACE_OBJ_UPSTREAM_PATH),
                  "dest": "mediapipe-face/canonical_face_model.obj", "sha256": sha, "size": size,
                  "git_blob_sha1": blob})
    files.append({"url": github_raw_url(MEDIAPIPE_REPO, MEDIAPIPE_TAG, "LICENSE"), "dest": "mediapipe-face/LICENSE",
                  "sha256": None, "size": None})

    chair_path, splits_path = src / "keypointnet" / "chair.json", src / "keypointnet" / "splits.json"
    c1 = chair_content_sha256(json.loads(chair_path.read_text()))
    c2 = chair_content_sha256(json.loads(chair_path.read_bytes().decode()))
    if c1 != c2:
        raise ValueError(f"{chair_path}: canonical content checksum is not stable ({c1} vs {c2})")
    splits = json.loads(splits_path.read_text())
    spec = KeypointNetSpec(chair_content_sha256=c1, splits_content_sha256=splits_content_sha256(splits),
                           chair_sha256=hash_file(chair_path)[1], splits_sha256=hash_file(splits_path)[1],
                           num_train=len(splits["train"]), num_val=len(splits["val"]))
    doc = {
        "format": MANIFEST_FORMAT,
        "about": "Pinned public sources of the benchmark; `python -m lifter.data download --out DIR` fetches them "
                 "into the layout read by `python -m lifter.data build --source DIR`. Generated by "
                 "lifter.data.download.write_manifest_from_local from byte-identical local copies. sha256/size "
                 "null: upstream bytes not pinned (not verified; the KeypointNet inputs are verified after "
                 "post-processing by the content checksums under postprocess.keypointnet: sha256 of "
                 "json.dumps(obj, sort_keys=True, separators=(',', ':'), ensure_ascii=True) with chair records "
                 "sorted by model_id and split id lists sorted).",
        "sources": {
            "cmu-mocap": {"repo": MOTION_VIEWER_REPO, "ref": MOTION_VIEWER_COMMIT, "license": "CMU mocap terms"},
            "keypointnet": {"repo": KEYPOINTNET_REPO, "ref": KEYPOINTNET_COMMIT, "license": "MIT"},
            "mediapipe-face": {"repo": MEDIAPIPE_REPO, "ref": MEDIAPIPE_TAG, "license": "Apache-2.0"},
        },
        "files": files,
        "postprocess": {"keypointnet": asdict(spec)},
    }
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return doc


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifter.data.download", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write-manifest", help="regenerate sources.json from byte-identical local copies")
    w.add_argument("source", type=Path, help="folder in the layout of ../shared/data")
    w.add_argument("--out", type=Path, default=None, help=f"manifest to write (default: {MANIFEST_PATH})")
    add_download_arguments(sub.add_parser("fetch", help="same as `python -m lifter.data download`"))
    args = parser.parse_args(argv)
    if args.command == "fetch":
        return run_download(args)
    doc = write_manifest_from_local(args.source, args.out)
    print(f"wrote {args.out or MANIFEST_PATH}: {len(doc['files'])} files")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
