"""`specgen sources`: downloads from a real HTTP server on 127.0.0.1 that can misbehave.

The server honours Range (or ignores it on request), fails once with 500, or cuts a body in
the middle, as real mirrors do; every request is recorded with its Range and the bytes sent.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from specgen.cli import sources as cli_sources
from specgen.cli.main import main
from specgen.generate.lock import LockedSource, SourceLock, read_lock, write_lock
from specgen.generate.redist import REDIST_ROOT

ALPHA = bytes(range(256)) * 40  # 10 KiB
BETA = b"beta archive " * 500
GAMMA = b"gamma for arm " * 300


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Hit:
    path: str
    range: str | None
    sent: int


@dataclass
class _State:
    files: dict[str, bytes] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    ignore_range: set[str] = field(default_factory=set)
    fail_once: set[str] = field(default_factory=set)
    cut_once: set[str] = field(default_factory=set)  # send half the body, then close
    always_fail: set[str] = field(default_factory=set)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, hit: Hit, code: int, body: bytes, headers: dict[str, str],
              limit: int | None = None) -> None:  # fmt: skip
        """Answer, counting the body bytes in `hit` before they go out: the client may finish
        and the test read the count before this thread returns."""
        self.send_response(code)
        for k, v in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(k, v)
        self.end_headers()
        out = body if limit is None else body[:limit]
        hit.sent = len(out)
        self.wfile.write(out)

    def do_GET(self) -> None:
        st = self.server.state
        path, rng = self.path, self.headers.get("Range")
        hit = Hit(path, rng, 0)
        st.hits.append(hit)
        body = st.files.get(path)
        if path in st.always_fail or path in st.fail_once:
            st.fail_once.discard(path)
            self._send(hit, 500, b"injected", {})
            return
        if body is None:
            self._send(hit, 404, b"no such file", {})
            return
        if rng and path not in st.ignore_range:
            start = int(rng.removeprefix("bytes=").rstrip("-"))
            if start >= len(body):
                self._send(hit, 416, b"", {"Content-Range": f"bytes */{len(body)}"})
                return
            part = body[start:]
            cr = f"bytes {start}-{len(body) - 1}/{len(body)}"
            self._send(hit, 206, part, {"Content-Range": cr})
            return
        if path in st.cut_once:
            st.cut_once.discard(path)
            self._send(hit, 200, body, {}, limit=len(body) // 2)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self._send(hit, 200, body, {})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        self.state = _State()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a cut body hits a closed socket: expected here

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def hits(self, path: str) -> list[Hit]:
        return [h for h in self.state.hits if h.path == path]


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True).start()
    srv.state.files.update(
        {"/a/alpha.tar.xz": ALPHA, "/b/beta.tar.gz": BETA, "/g/gamma.zip": GAMMA}
    )
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_sources, "BACKOFF_S", 0.001)


def entry(srv: _Server, path: str, body: bytes | None = None, **kw: object) -> LockedSource:
    """A lock entry for a served file, pinned to `body` (default: what the server has)."""
    data = srv.state.files[path] if body is None else body
    fields: dict[str, object] = {"sha256": sha(data), "size": len(data), "packages": ("pkg",)}
    fields.update(kw)
    return LockedSource(file=path.rsplit("/", 1)[1], url=srv.url(path), **fields)  # type: ignore[arg-type]


def run(tmp_path: Path, sources: list[LockedSource], *args: str) -> Result:
    lock = tmp_path / "sources.lock.json"
    write_lock(lock, SourceLock("25.03", tuple(sources)))
    argv = ["sources", "--lock", str(lock), "--dest", str(tmp_path / "dl"), *args]
    return CliRunner().invoke(main, argv)


def error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_downloads_and_verifies(server: _Server, tmp_path: Path):
    sources = [entry(server, "/a/alpha.tar.xz"), entry(server, "/b/beta.tar.gz")]
    result = run(tmp_path, sources, "--arch", "x86_64")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "dl/alpha.tar.xz").read_bytes() == ALPHA
    assert (tmp_path / "dl/beta.tar.gz").read_bytes() == BETA
    assert not list((tmp_path / "dl").glob("*.part"))
    assert result.stdout.count("downloaded") == 2
    assert f"{len(ALPHA):,}" in result.stdout
    assert "\x1b[" not in result.output  # no progress bar or colour when not a terminal


def test_resumes_from_part(server: _Server, tmp_path: Path):
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl/alpha.tar.xz.part").write_bytes(ALPHA[:4000])
    result = run(tmp_path, [entry(server, "/a/alpha.tar.xz")], "--arch", "x86_64")
    assert result.exit_code == 0, result.output
    [hit] = server.hits("/a/alpha.tar.xz")
    assert hit.range == "bytes=4000-"
    assert hit.sent == len(ALPHA) - 4000
    assert (tmp_path / "dl/alpha.tar.xz").read_bytes() == ALPHA
    assert not (tmp_path / "dl/alpha.tar.xz.part").exists()


def test_complete_part_answered_416_is_verified(server: _Server, tmp_path: Path):
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl/alpha.tar.xz.part").write_bytes(ALPHA)
    result = run(tmp_path, [entry(server, "/a/alpha.tar.xz")], "--arch", "x86_64")
    assert result.exit_code == 0, result.output
    assert [h.sent for h in server.hits("/a/alpha.tar.xz")] == [0]
    assert (tmp_path / "dl/alpha.tar.xz").read_bytes() == ALPHA


def test_server_ignoring_range_starts_over(server: _Server, tmp_path: Path):
    server.state.ignore_range.add("/a/alpha.tar.xz")
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl/alpha.tar.xz.part").write_bytes(b"\xff" * 4000)  # would corrupt if appended to
    result = run(tmp_path, [entry(server, "/a/alpha.tar.xz")], "--arch", "x86_64")
    assert result.exit_code == 0, result.output
    [hit] = server.hits("/a/alpha.tar.xz")
    assert hit.range == "bytes=4000-" and hit.sent == len(ALPHA)
    assert (tmp_path / "dl/alpha.tar.xz").read_bytes() == ALPHA


def test_retries_a_500(server: _Server, tmp_path: Path):
    server.state.fail_once.add("/a/alpha.tar.xz")
    result = run(tmp_path, [entry(server, "/a/alpha.tar.xz")], "--arch", "x86_64")
    assert result.exit_code == 0, result.output
    assert len(server.hits("/a/alpha.tar.xz")) == 2
    assert (tmp_path / "dl/alpha.tar.xz").read_bytes() == ALPHA


def test_cut_body_resumes(server: _Server, tmp_path: Path):
    server.state.cut_once.add("/a/alpha.tar.xz")
    result = run(tmp_path, [entry(server, "/a/alpha.tar.xz")], "--arch", "x86_64")
    assert result.exit_code == 0, result.output
    first, second = server.hits("/a/alpha.tar.xz")
    assert first.range is None and first.sent == len(ALPHA) // 2
    assert second.range == f"bytes={len(ALPHA) // 2}-"
    assert second.sent == len(ALPHA) - len(ALPHA) // 2
    assert (tmp_path / "dl/alpha.tar.xz").read_bytes() == ALPHA


def test_persistent_500_fails_naming_url(server: _Server, tmp_path: Path):
    server.state.always_fail.add("/a/alpha.tar.xz")
    result = run(tmp_path, [entry(server, "/a/alpha.tar.xz")], "--arch", "x86_64")
    assert result.exit_code == 2
    line = error_line(result)
    assert server.url("/a/alpha.tar.xz") in line and "HTTP 500" in line and "4 attempts" in line
    assert len(server.hits("/a/alpha.tar.xz")) == 4


def test_404_fails_at_once(server: _Server, tmp_path: Path):
    gone = LockedSource("gone.tar.xz", server.url("/gone.tar.xz"), sha(b"x"), 1)
    result = run(tmp_path, [gone], "--arch", "x86_64")
    assert result.exit_code == 2
    assert "HTTP 404" in error_line(result)
    assert len(server.hits("/gone.tar.xz")) == 1


def test_sha256_mismatch_deletes_and_fails(server: _Server, tmp_path: Path):
    wrong = entry(server, "/a/alpha.tar.xz", body=ALPHA[:-1] + b"\x00")
    result = run(tmp_path, [wrong], "--arch", "x86_64")
    assert result.exit_code == 2
    line = error_line(result)
    assert line.startswith("specgen: error: alpha.tar.xz: sha256 mismatch")
    assert wrong.sha256 in line and sha(ALPHA) in line  # type: ignore[operator]
    assert not list((tmp_path / "dl").iterdir())  # neither the file nor its .part


def test_wrong_size_deletes_and_fails(server: _Server, tmp_path: Path):
    wrong = entry(server, "/a/alpha.tar.xz", size=len(ALPHA) + 1)
    result = run(tmp_path, [wrong], "--arch", "x86_64")
    assert result.exit_code == 2
    line = error_line(result)
    assert "alpha.tar.xz: size mismatch" in line
    assert f"expected {len(ALPHA) + 1} bytes, got {len(ALPHA)}" in line
    assert not list((tmp_path / "dl").iterdir())


def test_unpinned_is_refused_after_the_rest(server: _Server, tmp_path: Path):
    loose = entry(server, "/b/beta.tar.gz", sha256=None, size=None, packages=("beta-pkg",))
    result = run(tmp_path, [entry(server, "/a/alpha.tar.xz"), loose], "--arch", "x86_64")
    assert result.exit_code == 1
    assert "beta.tar.gz (beta-pkg): unpinned" in result.stderr
    assert "--allow-unpinned" in result.stderr
    assert server.hits("/b/beta.tar.gz") == []
    assert not (tmp_path / "dl/beta.tar.gz").exists()
    assert (tmp_path / "dl/alpha.tar.xz").read_bytes() == ALPHA


def test_allow_unpinned_prints_computed_pin(server: _Server, tmp_path: Path):
    loose = entry(server, "/b/beta.tar.gz", sha256=None, size=None)
    result = run(tmp_path, [loose], "--arch", "x86_64", "--allow-unpinned")
    assert result.exit_code == 0, result.output
    assert f"beta.tar.gz: unpinned; computed sha256 {sha(BETA)} size {len(BETA)}" in result.stdout
    assert (tmp_path / "dl/beta.tar.gz").read_bytes() == BETA
    assert read_lock(tmp_path / "sources.lock.json").sources[0].sha256 is None  # not written


def test_present_file_is_not_fetched(server: _Server, tmp_path: Path):
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl/alpha.tar.xz").write_bytes(ALPHA)
    result = run(tmp_path, [entry(server, "/a/alpha.tar.xz")], "--arch", "x86_64")
    assert result.exit_code == 0, result.output
    assert server.state.hits == []
    assert "present" in result.stdout


def test_bad_present_file_is_replaced(server: _Server, tmp_path: Path):
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl/alpha.tar.xz").write_bytes(b"stale")
    result = run(tmp_path, [entry(server, "/a/alpha.tar.xz")], "--arch", "x86_64")
    assert result.exit_code == 0, result.output
    assert len(server.hits("/a/alpha.tar.xz")) == 1
    assert (tmp_path / "dl/alpha.tar.xz").read_bytes() == ALPHA
    assert "replaced a file that did not match" in result.stdout


def _mixed(srv: _Server) -> list[LockedSource]:
    return [
        entry(srv, "/a/alpha.tar.xz", arch="x86_64", packages=("cudnn",)),
        entry(srv, "/g/gamma.zip", arch="aarch64", packages=("cudnn",)),
        entry(srv, "/b/beta.tar.gz", arch=None, packages=("triton",)),
    ]


def _downloaded(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "dl").iterdir())


def test_arch_filter(server: _Server, tmp_path: Path):
    result = run(tmp_path, _mixed(server), "--arch", "aarch64")
    assert result.exit_code == 0, result.output
    assert _downloaded(tmp_path) == ["beta.tar.gz", "gamma.zip"]
    assert "skipped-arch" in result.stdout and server.hits("/a/alpha.tar.xz") == []


def test_arch_all_and_only(server: _Server, tmp_path: Path):
    result = run(tmp_path, _mixed(server), "--arch", "all", "--only", "cudnn")
    assert result.exit_code == 0, result.output
    assert _downloaded(tmp_path) == ["alpha.tar.xz", "gamma.zip"]
    assert "beta.tar.gz" not in result.stdout


def test_default_arch_is_the_host(server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cli_sources.platform, "machine", lambda: "arm64")
    result = run(tmp_path, _mixed(server), "--only", "cudnn")
    assert result.exit_code == 0, result.output
    assert _downloaded(tmp_path) == ["gamma.zip"]


def test_unknown_only_package(server: _Server, tmp_path: Path):
    result = run(tmp_path, _mixed(server), "--arch", "all", "--only", "cudnnn")
    assert result.exit_code == 2
    assert "--only cudnnn" in error_line(result) and "cudnn, triton" in result.stderr
    assert server.state.hits == []


CUDNN = f"{REDIST_ROOT}/cudnn/redist/cudnn/linux-x86_64"


def test_update_rewrites_pins_from_manifest(server: _Server, tmp_path: Path):
    new12, new11 = "1" * 64, "2" * 64
    manifest = {
        "release_product": "cudnn",
        "release_label": "9.8.0",
        "cudnn": {
            "version": "9.8.0.87",
            "linux-x86_64": {
                "cuda11": {"relative_path": "cudnn/linux-x86_64/c-cuda11.tar.xz",
                           "sha256": new11, "size": "111"},
                "cuda12": {"relative_path": "cudnn/linux-x86_64/c-cuda12.tar.xz",
                           "sha256": new12, "size": "1212"},
            },
        },
    }  # fmt: skip
    server.state.files["/cudnn/redist/redistrib_9.8.0.json"] = json.dumps(manifest).encode()
    pinned_by = "redistrib_9.8.0.json"
    stale = LockedSource("c-cuda12.tar.xz", f"{CUDNN}/c-cuda12.tar.xz", "a" * 64, 5, pinned_by)
    same = LockedSource("c-cuda11.tar.xz", f"{CUDNN}/c-cuda11.tar.xz", new11, 111, pinned_by)
    gone = LockedSource("c-old.tar.xz", f"{CUDNN}/c-old.tar.xz", "c" * 64, 7, pinned_by)
    other = LockedSource(
        "triton.tar.gz", "https://github.com/x/triton.tar.gz", "b" * 64, 9, "facts"
    )
    result = run(
        tmp_path, [stale, same, gone, other], "--update", "--manifest-base", server.url("")
    )
    assert result.exit_code == 0, result.output
    assert [h.path for h in server.state.hits] == ["/cudnn/redist/redistrib_9.8.0.json"]
    lock = {s.file: s for s in read_lock(tmp_path / "sources.lock.json").sources}
    assert (lock["c-cuda12.tar.xz"].sha256, lock["c-cuda12.tar.xz"].size) == (new12, 1212)
    assert lock["c-cuda11.tar.xz"] == same
    assert lock["c-old.tar.xz"] == gone and lock["triton.tar.gz"] == other
    assert f"{'a' * 64} -> {new12}" in result.stdout and "5 -> 1,212" in result.stdout
    assert "c-cuda11.tar.xz" not in result.stdout  # unchanged: not reported
    assert "triton.tar.gz: no manifest: left as is" in result.stdout
    assert "c-old.tar.xz: not in redistrib_9.8.0.json: left as is" in result.stdout


def test_update_with_a_missing_manifest_fails(server: _Server, tmp_path: Path):
    src = LockedSource("c.tar.xz", f"{CUDNN}/c.tar.xz", "a" * 64, 5, "redistrib_0.0.json")
    result = run(tmp_path, [src], "--update", "--manifest-base", server.url(""))
    assert result.exit_code == 2
    assert "redistrib_0.0.json: HTTP 404" in error_line(result)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no source lock here"), ("{nope", "not a source lock"), ('{"format": 9}', "format 1")],
)
def test_bad_lock_is_one_line(tmp_path: Path, content: str | None, message: str):
    lock = tmp_path / "bad.lock.json"
    if content is not None:
        lock.write_text(content)
    result = CliRunner().invoke(main, ["sources", "--lock", str(lock), "--arch", "x86_64"])
    assert result.exit_code == 2
    line = error_line(result)
    assert line.startswith(f"specgen: error: {lock}: ") and message in line
