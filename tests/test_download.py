"""``lifter.data.download`` against a local HTTP server (127.0.0.1, ephemeral port) serving files the tests write.

Nothing here touches the internet or copies the real data; the last tests check the packaged ``sources.json``
against ``../shared/data`` (skipped when that folder does not exist).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lifter.data import download as dl

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
TIMEOUT = 5


# ----------------------------------------------------------------------------------------------------- test server


class _State:
    """What the server serves and what it saw."""

    def __init__(self, root: Path):
        self.root = root
        self.base = ""
        self.requests: list[dict] = []  # {"path", "range", "status", "sent"}
        self.cut: dict[str, int] = {}  # url path -> bytes to send before dropping the connection (once)
        self.ignore_range = False
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    """GET of files under ``state.root`` with single ``Range: bytes=N-[M]`` support; can cut a body short."""

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def do_GET(self):
        state: _State = self.server.state
        rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        rng = self.headers.get("Range")
        rec = {"path": "/" + rel, "range": rng, "status": None, "sent": 0}
        with state.lock:
            state.requests.append(rec)
            cut = state.cut.pop("/" + rel, None)
        f = state.root / rel
        if ".." in Path(rel).parts or not f.is_file():
            rec["status"] = 404
            self.send_error(404, "Not Found")
            return
        data = f.read_bytes()
        status, start, end = 200, 0, len(data) - 1
        if rng and not state.ignore_range:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng)
            assert m, rng
            start = int(m.group(1))
            if start >= len(data):
                rec["status"] = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            end = min(int(m.group(2)), len(data) - 1) if m.group(2) else len(data) - 1
            status = 206
        body = data[start:end + 1]
        rec["status"] = status
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if cut is not None:
            body = body[:cut]
            self.close_connection = True
        rec["sent"] = len(body)  # recorded before sending: the client may finish before this thread resumes
        self.wfile.write(body)
        self.wfile.flush()


@pytest.fixture(autouse=True)
def _no_proxy_for_localhost(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(dl, "RETRY_BACKOFF_S", 0.0)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "server"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.state = _State(root)
    httpd.state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd.state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
        assert not thread.is_alive()


def _bytes(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _publish(state: _State, repo: str, upstream: str, data: bytes, dest: str, *, pin: bool = True,
             blob: bool = False) -> dl.RemoteFile:
    """Serve ``data`` at ``/<repo>/<COMMIT>/<upstream>``; return its manifest entry (a raw.githubusercontent URL)."""
    f = state.root / repo / COMMIT / upstream
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_bytes(data)
    git = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() if blob else None
    return dl.RemoteFile(url=f"{dl.GITHUB_RAW}/{repo}/{COMMIT}/{upstream}", dest=dest,
                         sha256=_sha(data) if pin else None, size=len(data) if pin else None, git_blob_sha1=git)


def _url_path(entry: dl.RemoteFile) -> str:
    return entry.url[len(dl.GITHUB_RAW):]


# ----------------------------------------------------------------------------------------------------- fake KeypointNet


def _chair(mid: str, cls: str = "03001627") -> dict:
    return {"class_id": cls, "model_id": mid,
            "keypoints": [{"xyz": [0.125, -0.5, 0.1 + len(mid) / 100], "rgb": [1, 2, 3], "semantic_id": 0,
                           "pcd_info": {"point_index": 7}, "mesh_info": {"face_index": 3, "face_uv": [0.2, 0.3, 0.5]}}],
            "symmetries": {"reflection": [], "rotation": []}}


FAKE_RECORDS = [_chair("c3"), _chair("a1"), _chair("zz"), _chair("b2"), _chair("d4")]  # zz: in no split
FAKE_TRAIN = "03001627-a1\n02691156-p1\n03001627-b2\n03001627-gone\n"  # gone: listed, not annotated
FAKE_VAL = "03001627-c3\n04379243-t9\n03001627-d4\n"
EXPECT_CHAIRS = [FAKE_RECORDS[0], FAKE_RECORDS[1], FAKE_RECORDS[3], FAKE_RECORDS[4]]  # upstream order
EXPECT_SPLITS = {"train": ["a1", "b2"], "val": ["c3", "d4"]}


def _canonical(obj) -> str:
    # written out here (not via the module) so that the checksum definition itself is pinned by the test
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _fake_spec(**over) -> dl.KeypointNetSpec:
    kw = dict(chair_content_sha256=_canonical(sorted(EXPECT_CHAIRS, key=lambda r: r["model_id"])),
              splits_content_sha256=_canonical({"train": ["a1", "b2"], "val": ["c3", "d4"]}),
              chair_sha256=_sha(json.dumps(EXPECT_CHAIRS).encode()),
              splits_sha256=_sha((json.dumps(EXPECT_SPLITS, indent=1) + "\n").encode()), num_train=2, num_val=2)
    kw.update(over)
    return dl.KeypointNetSpec(**kw)


def _fake_manifest(state: _State) -> list[dl.RemoteFile]:
    mv, kp, mp = "someone/motion-viewer", "someone/KeypointNet", "someone/mediapipe"
    return [
        _publish(state, mv, "data/01/01_01.bvh", _bytes(150_000, 1), "cmu-mocap/01/01_01.bvh"),
        _publish(state, mv, "data/01/01_02.bvh", _bytes(10, 2), "cmu-mocap/01/01_02.bvh"),
        _publish(state, mv, "data/09/09_01.bvh", _bytes(70_000, 3), "cmu-mocap/09/09_01.bvh"),
        _publish(state, kp, "annotations/chair.json", json.dumps(FAKE_RECORDS).encode(),
                 "keypointnet/upstream/chair.json", pin=False),
        _publish(state, kp, "splits/train.txt", FAKE_TRAIN.encode(), "keypointnet/upstream/train.txt", pin=False),
        _publish(state, kp, "splits/val.txt", FAKE_VAL.encode(), "keypointnet/upstream/val.txt", pin=False),
        _publish(state, kp, "LICENSE.md", b"MIT License\n", "keypointnet/LICENSE.md", pin=False),
        _publish(state, mp, "data/canonical_face_model.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",
                 "mediapipe-face/canonical_face_model.obj", blob=True),
    ]


# ----------------------------------------------------------------------------------------------------- tests


def test_full_download_into_build_layout_then_everything_skipped(server, tmp_path):
    manifest = _fake_manifest(server)
    out = tmp_path / "out"
    summary = dl.download_sources(out, manifest=manifest, keypointnet_spec=_fake_spec(),
                                  base_url_override=server.base + "/", progress=True, timeout=TIMEOUT)
    assert summary["downloaded"] == len(manifest) and summary["skipped"] == 0 and summary["failed"] == []
    assert summary["bytes"] == sum((server.root / _url_path(e).lstrip("/")).stat().st_size for e in manifest)
    assert sorted(summary["unverified"]) == sorted(e.dest for e in manifest if e.sha256 is None)
    for e in manifest:
        assert (out / e.dest).read_bytes() == (server.root / _url_path(e).lstrip("/")).read_bytes()
    assert {r["path"] for r in server.requests} == {_url_path(e) for e in manifest}
    assert all(r["range"] is None and r["status"] == 200 for r in server.requests)
    assert not list(out.rglob("*.part")) and not list(out.rglob("*.tmp"))
    # KeypointNet post-processing made the files `build --source` reads
    assert json.loads((out / "keypointnet/chair.json").read_text()) == EXPECT_CHAIRS
    assert json.loads((out / "keypointnet/splits.json").read_text()) == EXPECT_SPLITS
    assert summary["keypointnet"] == {"chairs": 4, "train": 2, "val": 2, "missing": ["gone"], "byte_identical": True}
    text = dl.format_download_summary(summary)
    assert "8 downloaded" in text and "content checksums verified" in text

    n = len(server.requests)
    again = dl.download_sources(out, manifest=manifest, keypointnet_spec=_fake_spec(),
                                base_url_override=server.base, progress=False, timeout=TIMEOUT)
    assert again["skipped"] == len(manifest) and again["downloaded"] == 0 and again["bytes"] == 0
    assert len(server.requests) == n  # no request at all

    only = dl.download_sources(tmp_path / "only", manifest=manifest, only=["mediapipe-face"],
                               base_url_override=server.base, progress=False, timeout=TIMEOUT)
    assert only["files"] == 1 and only["keypointnet"] is None
    assert [p.relative_to(tmp_path / "only").as_posix() for p in (tmp_path / "only").rglob("*") if p.is_file()] \
        == ["mediapipe-face/canonical_face_model.obj"]
    with pytest.raises(ValueError, match="unknown source group"):
        dl.download_sources(tmp_path / "x", manifest=manifest, only=["faces"], progress=False)


def test_resume_requests_only_the_missing_bytes(server, tmp_path):
    data = _bytes(200_000, 7)
    e = _publish(server, "o/r", "data/02/02_01.bvh", data, "cmu-mocap/02/02_01.bvh")
    part = tmp_path / "out" / "cmu-mocap/02/02_01.bvh.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:123_457])
    path = dl.download_file(e, tmp_path / "out", base_url_override=server.base, progress=True, timeout=TIMEOUT)
    assert path == tmp_path / "out" / e.dest and path.read_bytes() == data and not part.exists()
    assert [(r["range"], r["status"], r["sent"]) for r in server.requests] == \
        [("bytes=123457-", 206, 200_000 - 123_457)]


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    data = _bytes(90_000, 8)
    e = _publish(server, "o/r", "data/03/03_01.bvh", data, "cmu-mocap/03/03_01.bvh")
    server.ignore_range = True
    part = tmp_path / "cmu-mocap/03/03_01.bvh.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\0" * 40_000)  # wrong bytes: only a restart from zero gives the right file
    path = dl.download_file(e, tmp_path, base_url_override=server.base, progress=False, timeout=TIMEOUT)
    assert path.read_bytes() == data
    assert [(r["range"], r["status"]) for r in server.requests] == [("bytes=40000-", 200)]


def test_interrupted_transfer_is_completed_by_a_second_call(server, tmp_path):
    data = _bytes(180_000, 9)
    e = _publish(server, "o/r", "data/05/05_01.bvh", data, "cmu-mocap/05/05_01.bvh")
    server.cut[_url_path(e)] = 70_000
    with pytest.raises(dl.DownloadError, match="cut short") as info:
        dl.download_file(e, tmp_path, base_url_override=server.base, progress=False, retries=0, timeout=TIMEOUT)
    assert server.base + _url_path(e) in str(info.value)
    dest, part = tmp_path / e.dest, tmp_path / (e.dest + ".part")
    assert not dest.exists() and part.stat().st_size == 70_000
    dl.download_file(e, tmp_path, base_url_override=server.base, progress=False, retries=0, timeout=TIMEOUT)
    assert dest.read_bytes() == data and not part.exists()
    assert [(r["range"], r["sent"]) for r in server.requests] == [(None, 70_000), ("bytes=70000-", 110_000)]


def test_retries_resume_within_one_call(server, tmp_path):
    data = _bytes(100_000, 10)
    e = _publish(server, "o/r", "data/06/06_01.bvh", data, "cmu-mocap/06/06_01.bvh")
    server.cut[_url_path(e)] = 30_000
    path = dl.download_file(e, tmp_path, base_url_override=server.base, progress=False, retries=2, timeout=TIMEOUT)
    assert path.read_bytes() == data
    assert [r["range"] for r in server.requests] == [None, "bytes=30000-"]


def test_corrupted_file_on_server_is_rejected_and_removed(server, tmp_path):
    good = _bytes(80_000, 11)
    e = _publish(server, "o/r", "data/07/07_01.bvh", good, "cmu-mocap/07/07_01.bvh")
    bad = bytearray(good)
    bad[40_000] ^= 0xFF
    (server.root / _url_path(e).lstrip("/")).write_bytes(bytes(bad))
    out = tmp_path / "out"
    with pytest.raises(dl.ChecksumError) as info:
        dl.download_file(e, out, base_url_override=server.base, progress=False, timeout=TIMEOUT)
    err = info.value
    assert isinstance(err, ValueError) and err.kind == "sha256"
    assert err.expected == _sha(good) and err.actual == _sha(bytes(bad))
    for s in ("07_01.bvh", _sha(good), _sha(bytes(bad))):
        assert s in str(err)
    assert not (out / e.dest).exists() and not (out / (e.dest + ".part")).exists()
    assert len(server.requests) == 1  # a checksum error is not retried

    # a longer file fails on its size
    (server.root / _url_path(e).lstrip("/")).write_bytes(good + b"x")
    with pytest.raises(dl.ChecksumError, match="size mismatch: expected 80000, got 80001"):
        dl.download_file(e, out, base_url_override=server.base, progress=False, timeout=TIMEOUT)
    assert not list(out.rglob("07_01.bvh*"))


def test_git_blob_sha1_is_verified(server, tmp_path):
    data = b"v 1 2 3\n" * 100
    e = _publish(server, "o/r", "face.obj", data, "mediapipe-face/canonical_face_model.obj", blob=True)
    ok = dl.download_file(e, tmp_path / "a", base_url_override=server.base, progress=False, timeout=TIMEOUT)
    assert ok.read_bytes() == data
    e.git_blob_sha1 = "61399a60a13c26c73eadede1b530a869171edcd8"
    with pytest.raises(dl.ChecksumError, match="git blob sha1 mismatch"):
        dl.download_file(e, tmp_path / "b", base_url_override=server.base, progress=False, timeout=TIMEOUT)
    assert not (tmp_path / "b" / e.dest).exists()


def test_stale_partial_file_with_other_bytes_is_downloaded_again(server, tmp_path):
    data = _bytes(60_000, 12)
    e = _publish(server, "o/r", "data/08/08_01.bvh", data, "cmu-mocap/08/08_01.bvh")
    part = tmp_path / (e.dest + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\1" * 20_000)  # a .part from something else: the resumed file fails, one fresh download
    path = dl.download_file(e, tmp_path, base_url_override=server.base, progress=False, timeout=TIMEOUT)
    assert path.read_bytes() == data
    assert [r["range"] for r in server.requests] == ["bytes=20000-", None]


def test_complete_file_is_skipped_without_any_request(server, tmp_path):
    data = _bytes(5_000, 13)
    e = _publish(server, "o/r", "data/09/09_02.bvh", data, "cmu-mocap/09/09_02.bvh")
    dest = tmp_path / e.dest
    dest.parent.mkdir(parents=True)
    dest.write_bytes(data)
    mtime = dest.stat().st_mtime_ns
    assert dl.download_file(e, tmp_path, base_url_override=server.base, progress=False, timeout=TIMEOUT) == dest
    assert server.requests == [] and dest.stat().st_mtime_ns == mtime
    # a complete .part (e.g. killed before the rename) is verified and renamed, also without a request
    dest.rename(tmp_path / (e.dest + ".part"))
    assert dl.download_file(e, tmp_path, base_url_override=server.base, progress=False).read_bytes() == data
    assert server.requests == []
    # a present file with other bytes is fetched again
    dest.write_bytes(b"not it")
    assert dl.download_file(e, tmp_path, base_url_override=server.base, progress=False).read_bytes() == data
    assert len(server.requests) == 1


def test_http_404_names_the_url(server, tmp_path):
    e = dl.RemoteFile(url=f"{dl.GITHUB_RAW}/o/r/{COMMIT}/data/01/missing.bvh", dest="cmu-mocap/01/missing.bvh",
                      sha256="0" * 64, size=3)
    url = f"{server.base}/o/r/{COMMIT}/data/01/missing.bvh"
    with pytest.raises(dl.DownloadError, match="HTTP 404") as info:
        dl.download_file(e, tmp_path, base_url_override=server.base, progress=False, timeout=TIMEOUT)
    assert url in str(info.value) and info.value.url == url
    assert len(server.requests) == 1  # not retried
    assert not list(tmp_path.rglob("missing.bvh*"))
    with pytest.raises(dl.DownloadError, match="1 source file") as info:
        dl.download_sources(tmp_path, manifest=[e], base_url_override=server.base, progress=False)
    assert info.value.summary["failed"][0][0] == e.dest and url in info.value.summary["failed"][0][1]


def test_unreachable_host_is_a_clear_error(tmp_path):
    e = dl.RemoteFile(url="http://127.0.0.1:9/nothing", dest="cmu-mocap/01/x.bvh")  # port 9: nobody listens
    with pytest.raises(dl.DownloadError, match="cannot fetch http://127.0.0.1:9/nothing"):
        dl.download_file(e, tmp_path, progress=False, retries=1, timeout=TIMEOUT)


def test_an_unreachable_host_is_not_retried_and_stops_the_download_soon(tmp_path, capsys):
    """A refused connection (no network, a mirror down) is not retried; after UNREACHABLE_STOP files in a row the
    rest are not tried, and the command says so in one line, without the terms of files it does not have."""
    import time

    entries = [dl.RemoteFile(url=f"http://127.0.0.1:9/f{k}", dest=f"cmu-mocap/01/f{k}.bvh") for k in range(20)]
    started = time.perf_counter()
    summary = dl.download_sources(tmp_path, manifest=entries, progress=False, retries=3, timeout=TIMEOUT,
                                  raise_on_error=False)
    assert time.perf_counter() - started < 10                         # no 1 + 2 + 4 s waits per file
    assert len(summary["failed"]) == 20 and summary["unreachable"] == "127.0.0.1:9"
    assert sum("not tried" in msg for _, msg in summary["failed"]) == 20 - dl.UNREACHABLE_STOP
    text = dl.format_download_summary(summary)
    assert "20 failed" in text and "... and 10 more failed" in text and len(text.splitlines()) == 12
    manifest = tmp_path / "sources.json"
    manifest.write_text(json.dumps({"format": 1, "files": [vars(e) for e in entries]}))
    parser = argparse.ArgumentParser()
    dl.add_download_arguments(parser)
    assert dl.run_download(parser.parse_args(["--out", str(tmp_path / "out"), "--manifest", str(manifest),
                                              "--quiet", "--timeout", str(TIMEOUT)])) == 1
    captured = capsys.readouterr()
    assert "127.0.0.1:9 cannot be reached, so nothing was downloaded" in captured.err
    assert "Terms:" not in captured.out


def test_keypointnet_postprocessing_and_content_checksum(tmp_path):
    up = tmp_path / "keypointnet" / "upstream"
    up.mkdir(parents=True)
    (up / "chair.json").write_text(json.dumps(FAKE_RECORDS))
    (up / "train.txt").write_text(FAKE_TRAIN)
    (up / "val.txt").write_text(FAKE_VAL)
    res = dl.prepare_keypointnet(tmp_path, _fake_spec())
    assert res == {"chairs": 4, "train": 2, "val": 2, "missing": ["gone"], "byte_identical": True}
    assert json.loads((tmp_path / "keypointnet/chair.json").read_text()) == EXPECT_CHAIRS
    assert json.loads((tmp_path / "keypointnet/splits.json").read_text()) == EXPECT_SPLITS
    assert dl.chair_content_sha256(EXPECT_CHAIRS[::-1]) == _fake_spec().chair_content_sha256  # order-free
    # same content in another upstream order: accepted, reported as not byte-identical
    (up / "chair.json").write_text(json.dumps(FAKE_RECORDS[::-1]))
    assert dl.prepare_keypointnet(tmp_path, _fake_spec())["byte_identical"] is False

    # other content: rejected, nothing left at the outputs
    changed = json.loads(json.dumps(FAKE_RECORDS))
    changed[1]["keypoints"][0]["xyz"][0] = 0.126
    (up / "chair.json").write_text(json.dumps(changed))
    with pytest.raises(dl.ChecksumError, match="content sha256 mismatch") as info:
        dl.prepare_keypointnet(tmp_path, _fake_spec())
    assert "keypointnet/chair.json" in str(info.value) and _fake_spec().chair_content_sha256 in str(info.value)
    assert not (tmp_path / "keypointnet/chair.json").exists()
    (up / "chair.json").write_text(json.dumps(FAKE_RECORDS))
    with pytest.raises(dl.ChecksumError, match="splits.json"):
        dl.prepare_keypointnet(tmp_path, _fake_spec(splits_content_sha256="f" * 64))
    (up / "val.txt").write_text("03001627c3\n")
    with pytest.raises(ValueError, match="CLASSID-MODELID"):
        dl.prepare_keypointnet(tmp_path, _fake_spec())


def test_damaged_keypointnet_upstream_files_are_fetched_afresh_by_the_next_call(server, tmp_path):
    """The upstream KeypointNet files are not pinned, so a damaged one that is on disk would be skipped by every
    later call and the chairs never made; after a failed post-processing they are deleted, and the same call
    again fetches them and makes the chairs."""
    manifest = _fake_manifest(server)
    out = tmp_path / "out"
    upstream = out / "keypointnet/upstream/chair.json"
    upstream.parent.mkdir(parents=True)
    upstream.write_text(json.dumps(FAKE_RECORDS)[:-40])             # torn: an interrupted copy, say
    first = dl.download_sources(out, manifest=manifest, keypointnet_spec=_fake_spec(), base_url_override=server.base,
                                progress=False, timeout=TIMEOUT, raise_on_error=False)
    (dest, message), = first["failed"]
    assert dest == "keypointnet/chair.json" and "not valid JSON" in message
    assert "deleted keypointnet/upstream/chair.json, keypointnet/upstream/train.txt" in message
    assert not upstream.exists()
    again = dl.download_sources(out, manifest=manifest, keypointnet_spec=_fake_spec(), base_url_override=server.base,
                                progress=False, timeout=TIMEOUT, raise_on_error=False)
    assert again["failed"] == [] and again["keypointnet"]["chairs"] == 4
    assert json.loads((out / "keypointnet/chair.json").read_text()) == EXPECT_CHAIRS


def test_download_refuses_an_out_it_cannot_write_before_fetching(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    parser = argparse.ArgumentParser()
    dl.add_download_arguments(parser)
    for out in (a_file, a_file / "below"):
        assert dl.run_download(parser.parse_args(["--out", str(out), "--quiet"])) == 2
        err = capsys.readouterr().err
        assert f"error: --out {out}: cannot make the folder" in err and "Traceback" not in err


def test_mirror_url_rewriting_and_manifest_validation(tmp_path):
    url = f"{dl.GITHUB_RAW}/google/mediapipe/v0.10.21/LICENSE"
    assert dl.resolve_url(url, None) == url
    assert dl.resolve_url(url, "http://mirror.local/gh/") == "http://mirror.local/gh/google/mediapipe/v0.10.21/LICENSE"
    assert dl.resolve_url("https://example.org/x", "http://mirror.local") == "https://example.org/x"
    for bad in ("/etc/passwd", "cmu-mocap/../../x", "other/x.bvh", ""):
        p = tmp_path / "m.json"
        p.write_text(json.dumps({"format": 1, "files": [{"url": url, "dest": bad}]}))
        with pytest.raises(ValueError, match="bad dest"):
            dl.load_manifest(p)
    p.write_text(json.dumps({"format": 1, "files": [{"url": url, "dest": "mediapipe-face/L", "md5": "x"}]}))
    with pytest.raises(ValueError, match="entry 0"):
        dl.load_manifest(p)


def test_packaged_manifest_is_pinned():
    files = dl.load_manifest()
    assert len(files) == 98 + 4 + 2
    for e in files:
        m = re.fullmatch(r"https://raw\.githubusercontent\.com/([^/]+/[^/]+)/([^/]+)/(.+)", e.url)
        assert m, e.url
        assert m.group(2) in (dl.MOTION_VIEWER_COMMIT, dl.KEYPOINTNET_COMMIT, dl.MEDIAPIPE_TAG)
        assert re.fullmatch(r"[0-9a-f]{40}", m.group(2)) or m.group(2) == "v0.10.21"
        assert (e.sha256 is None) == (e.size is None)
        if e.group == "cmu-mocap":
            assert e.sha256 and e.url.endswith("/data/" + e.dest.removeprefix("cmu-mocap/"))
    face = {e.dest: e for e in files}["mediapipe-face/canonical_face_model.obj"]
    assert face.url == ("https://raw.githubusercontent.com/google/mediapipe/v0.10.21/mediapipe/modules/"
                        "face_geometry/data/canonical_face_model.obj")
    assert face.git_blob_sha1 == "61399a60a13c26c73eadede1b530a869171edcd8" and face.sha256 and face.size == 46056
    spec = dl.load_keypointnet_spec()
    assert spec.chair_content_sha256 and spec.splits_content_sha256 and (spec.num_train, spec.num_val) == (699, 100)


def test_cli_download_against_a_mirror(server, tmp_path, capsys):
    manifest = _fake_manifest(server)
    mpath = tmp_path / "sources.json"
    mpath.write_text(json.dumps({"format": 1, "files": [
        {k: v for k, v in vars(e).items() if v is not None or k in ("sha256", "size")} for e in manifest],
        "postprocess": {"keypointnet": vars(_fake_spec())}}))
    parser = argparse.ArgumentParser()
    dl.add_download_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path / "src"), "--mirror", server.base, "--manifest", str(mpath),
                              "--quiet", "--timeout", str(TIMEOUT)])
    assert dl.run_download(args) == 0
    out = capsys.readouterr().out
    assert "8 downloaded" in out and "mocap.cs.cmu.edu" in out and "NSF EIA-0196217" in out
    assert (tmp_path / "src/keypointnet/splits.json").is_file()
    args = parser.parse_args(["--out", str(tmp_path / "src2"), "--mirror", server.base + "/nope", "--manifest",
                              str(mpath), "--only", "mediapipe-face", "--quiet", "--retries", "0"])
    assert dl.run_download(args) == 1
    assert "HTTP 404" in capsys.readouterr().out


def test_no_network_activity_at_import():
    code = ("import socket\n"
            "def no(*a, **k): raise AssertionError('network used at import')\n"
            "socket.socket.connect = no; socket.getaddrinfo = no; socket.create_connection = no\n"
            "import lifter.data.download as d; d.load_manifest(); print('ok')\n")
    repo = Path(__file__).resolve().parents[1]
    res = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


# ----------------------------------------------------------------------------------------------------- real manifest


@pytest.fixture(scope="module")
def shared() -> Path:
    if not (SHARED_DATA / "cmu-mocap").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}: the manifest check needs the local copies there")
    return SHARED_DATA


@pytest.mark.shared_data
def test_manifest_matches_the_local_copies(shared):
    files = {e.dest: e for e in dl.load_manifest()}
    local = sorted(p.relative_to(shared).as_posix() for p in shared.glob("cmu-mocap/*/*.bvh"))
    assert len(local) == 98
    assert sorted(d for d in files if d.startswith("cmu-mocap/")) == local
    for dest in local + ["mediapipe-face/canonical_face_model.obj"]:
        e = files[dest]
        size, sha, blob = dl.hash_file(shared / dest, git_blob=e.git_blob_sha1 is not None)
        assert (size, sha) == (e.size, e.sha256), dest
        assert blob == e.git_blob_sha1, dest
    spec = dl.load_keypointnet_spec()
    chairs = json.loads((shared / "keypointnet/chair.json").read_text())
    splits = json.loads((shared / "keypointnet/splits.json").read_text())
    assert dl.chair_content_sha256(chairs) == spec.chair_content_sha256
    assert dl.splits_content_sha256(splits) == spec.splits_content_sha256
    assert dl.hash_file(shared / "keypointnet/chair.json")[1] == spec.chair_sha256


@pytest.mark.shared_data
def test_keypointnet_postprocessing_reproduces_the_local_files(shared, tmp_path):
    """Upstream-like inputs made from the local copy (split files with other classes mixed in, val first)."""
    splits = json.loads((shared / "keypointnet/splits.json").read_text())
    up = tmp_path / "keypointnet" / "upstream"
    up.mkdir(parents=True)
    (up / "chair.json").write_bytes((shared / "keypointnet/chair.json").read_bytes())
    (up / "train.txt").write_text("".join(f"02691156-x{i}\n03001627-{m}\n" for i, m in enumerate(splits["train"])))
    (up / "val.txt").write_text("".join(f"03001627-{m}\n" for m in reversed(splits["val"])) + "04379243-t\n")
    res = dl.prepare_keypointnet(tmp_path)
    assert res == {"chairs": 799, "train": 699, "val": 100, "missing": [], "byte_identical": True}
    for name in ("chair.json", "splits.json"):
        assert (tmp_path / "keypointnet" / name).read_bytes() == (shared / "keypointnet" / name).read_bytes()
