"""Repository metadata: real RPMs (rpmbuild), real repodata (createrepo_c), served on 127.0.0.1.

The server can inject the faults a mirror really shows: a 500 before success, an answer slower
than the client's timeout, and a file that does not match repomd.xml's checksum.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import zstandard
from conftest import require_tool

from specgen.errors import SpecgenError
from specgen.mapping.repocache import default_cache_dir
from specgen.mapping.repodata import (
    DEFAULT_REPOSITORIES,
    Downloader,
    RepoConfig,
    load_repositories,
    load_repository,
    parse_repo_option,
)

REPO_NS = "http://linux.duke.edu/metadata/repo"

SPEC = """\
Name:           {name}
Version:        {version}
Release:        {release}
Epoch:          {epoch}
Summary:        test package
License:        MIT
BuildArch:      noarch
{extra}
%description
A tiny package for specgen's repository tests.

{body}
"""

# alpha twice (1.9 and 1.10: the newer must win, by rpm's order, not by string order), and
# gamma, whose source package name has no binary package of the same name.
PACKAGES = [
    dict(
        name="alpha", version="1.9", release="1", epoch=0,
        extra="Provides:       pkgconfig(alpha) = 1.9\nProvides:       libalpha.so.0()(64bit)",
        body="%install\nmkdir -p %{buildroot}/usr/bin\necho old > %{buildroot}/usr/bin/alpha\n"
        "%files\n/usr/bin/alpha",
    ),
    dict(
        name="alpha", version="1.10", release="1", epoch=0,
        extra="Provides:       pkgconfig(alpha) = 1.10\nProvides:       libalpha.so.1()(64bit)",
        body="%install\nmkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/alpha\n"
        "echo new > %{buildroot}/usr/bin/alpha\necho doc > %{buildroot}/usr/share/alpha/README\n"
        "%files\n/usr/bin/alpha\n/usr/share/alpha/README",
    ),
    dict(
        name="gamma", version="0.5", release="2", epoch=1,
        extra="%package -n gamma-devel\nSummary: headers\nProvides:       libgamma-devel\n"
        "%description -n gamma-devel\nHeaders.",
        body="%install\nmkdir -p %{buildroot}/usr/include\n"
        "echo > %{buildroot}/usr/include/gamma.h\n%files -n gamma-devel\n/usr/include/gamma.h",
    ),
]  # fmt: skip


@pytest.fixture(scope="session")
def rpms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Binary and source RPMs built once with rpmbuild."""
    require_tool("rpmbuild", "createrepo_c")
    top = tmp_path_factory.mktemp("rpmbuild")
    out = top / "rpms"
    for i, pkg in enumerate(PACKAGES):
        spec = top / f"{pkg['name']}-{i}.spec"
        spec.write_text(SPEC.format(**pkg))
        defines = {"_topdir": top, "_rpmdir": out, "_srcrpmdir": out / "src"}
        cmd = ["rpmbuild", "-ba", "--quiet", "--nodeps", str(spec)]
        cmd += [arg for k, v in defines.items() for arg in ("--define", f"{k} {v}")]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


def _createrepo(rpms: Path, dest: Path, compress: str) -> Path:
    """A repository at `dest` with primary/filelists compressed as `compress`.

    Debian 12's createrepo_c 0.17 writes gz, xz and bz2 but not zstd; there the gz files it
    made are recompressed with zstd and repomd.xml is updated, as newer createrepo_c would.
    """
    shutil.copytree(rpms, dest)
    cmd = ["createrepo_c", "--quiet", "--no-database", f"--general-compress-type={compress}"]
    native = subprocess.run([*cmd, str(dest)], capture_output=True, text=True)
    if native.returncode == 0:
        return dest
    if compress != "zstd":
        raise AssertionError(native.stderr)
    subprocess.run(
        ["createrepo_c", "--quiet", "--no-database", "--general-compress-type=gz", str(dest)],
        check=True,
    )
    _recompress_zstd(dest / "repodata")
    return dest


def _recompress_zstd(repodata: Path) -> None:
    """Replace every .xml.gz createrepo_c wrote by .xml.zst, with repomd.xml to match."""
    ET.register_namespace("", REPO_NS)
    ET.register_namespace("rpm", "http://linux.duke.edu/metadata/rpm")
    repomd_path = repodata / "repomd.xml"
    tree = ET.parse(repomd_path)
    for data in tree.getroot().iterfind(f"{{{REPO_NS}}}data"):
        location = data.find(f"{{{REPO_NS}}}location")
        assert location is not None
        href = location.get("href", "")
        if not href.endswith(".xml.gz"):
            continue
        old = repodata.parent / href
        payload = zstandard.ZstdCompressor().compress(gzip.decompress(old.read_bytes()))
        digest = hashlib.sha256(payload).hexdigest()
        new_name = f"{digest}-{data.get('type')}.xml.zst"
        (repodata / new_name).write_bytes(payload)
        old.unlink()
        location.set("href", f"repodata/{new_name}")
        checksum = data.find(f"{{{REPO_NS}}}checksum")
        size = data.find(f"{{{REPO_NS}}}size")
        assert checksum is not None and size is not None
        checksum.text = digest
        size.text = str(len(payload))
    tree.write(repomd_path, xml_declaration=True, encoding="UTF-8")


@pytest.fixture(scope="session")
def repos(rpms: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("repos")
    return {c: _createrepo(rpms, root / c, c) for c in ("gz", "xz", "zstd")}


class _FaultyHandler(SimpleHTTPRequestHandler):
    """Serves a folder; the server's sets say which paths fail once, stall or come corrupted."""

    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        srv = self.server
        srv.requests.append(self.path)
        if any(self.path.endswith(s) for s in srv.slow):
            time.sleep(srv.slow_seconds)
        if any(self.path.endswith(s) for s in srv.fail_once) and self.path not in srv.failed:
            srv.failed.add(self.path)
            self.send_error(500, "injected failure")
            return
        if any(self.path.endswith(s) for s in srv.corrupt):
            body = bytearray((srv.root / self.path.lstrip("/")).read_bytes())
            body[len(body) // 2] ^= 0xFF
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        if self.server.gz_encoding and self.path.endswith(".gz"):
            self.send_header("Content-Encoding", "gzip")  # a common Apache misconfiguration
        super().end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        self.fail_once: set[str] = set()
        self.failed: set[str] = set()
        self.slow: set[str] = set()
        self.slow_seconds = 2.0
        self.corrupt: set[str] = set()
        self.gz_encoding = False

        def handler(*args: object) -> _FaultyHandler:
            return _FaultyHandler(*args, directory=str(root))  # type: ignore[arg-type]

        super().__init__(("127.0.0.1", 0), handler)  # type: ignore[arg-type]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a stalled answer hits a closed socket: expected here

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def hits(self, suffix: str) -> int:
        return sum(p.endswith(suffix) for p in self.requests)


Serve = Callable[[Path], "_Server"]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start servers on 127.0.0.1 (a random port each); all stop when the test ends."""
    started: list[_Server] = []

    def start(root: Path) -> _Server:
        srv = _Server(root)
        threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.shutdown()
        srv.server_close()


def _downloader(**kw: float) -> Downloader:
    opts = {"connect_timeout": 1.0, "read_timeout": 1.0, "retries": 2, "backoff": 0.01, **kw}
    return Downloader(**opts)  # type: ignore[arg-type]


@pytest.mark.parametrize("compress", ["gz", "xz", "zstd"])
def test_reads_createrepo_metadata(
    repos: dict[str, Path], serve: Serve, tmp_path: Path, compress: str
):
    srv = serve(repos[compress])
    suffix = {"gz": ".gz", "xz": ".xz", "zstd": ".zst"}[compress]
    assert any(srv.root.joinpath("repodata").glob(f"*primary.xml{suffix}"))
    index = load_repository(
        RepoConfig("test", srv.url), cache_dir=tmp_path, downloader=_downloader()
    )
    assert srv.hits(f"primary.xml{suffix}") == 1
    assert sorted(index.packages) == ["alpha", "gamma-devel"]  # no src package "gamma"
    alpha = index.packages["alpha"]
    assert (alpha.version, alpha.release, alpha.arch, alpha.repo) == ("1.10", "1", "noarch", "test")
    assert index.packages["gamma-devel"].evr == "1:0.5-2"
    assert index.whatprovides("pkgconfig(alpha)") == ["alpha"]
    assert index.whatprovides("libalpha.so.1()(64bit)") == ["alpha"]
    assert index.whatprovides("libalpha.so.0()(64bit)") == []  # only the newest alpha counts
    assert index.whatprovides("libgamma-devel") == ["gamma-devel"]
    assert index.whatprovides("/usr/bin/alpha") == ["alpha"]  # primary lists /usr/bin
    assert index.whatprovides("/usr/share/alpha/README") == []  # only filelists has it
    assert "downloaded" in index.sources[0] and srv.url in index.sources[0]


def test_filelists_only_when_asked(repos: dict[str, Path], serve: Serve, tmp_path: Path):
    srv = serve(repos["gz"])
    index = load_repository(
        RepoConfig("test", srv.url), cache_dir=tmp_path, filelists=True, downloader=_downloader()
    )
    assert index.whatprovides("/usr/share/alpha/README") == ["alpha"]
    assert index.whatprovides("/usr/include/gamma.h") == ["gamma-devel"]
    assert srv.hits("filelists.xml.gz") == 1
    # The primary-only index was stored too: no filelists needed offline without the flag.
    plain = load_repository(RepoConfig("test", srv.url), cache_dir=tmp_path, offline=True)
    assert plain.whatprovides("/usr/share/alpha/README") == []


def test_checksum_mismatch_is_refused(repos: dict[str, Path], serve: Serve, tmp_path: Path):
    srv = serve(repos["gz"])
    srv.corrupt.add("primary.xml.gz")
    with pytest.raises(SpecgenError, match=r"primary\.xml\.gz: checksum mismatch, refusing it"):
        load_repository(RepoConfig("test", srv.url), cache_dir=tmp_path, downloader=_downloader())
    cached = list(tmp_path.rglob("*"))
    assert not [p for p in cached if p.is_file()], "nothing may be cached from a bad download"


def test_server_error_is_retried(repos: dict[str, Path], serve: Serve, tmp_path: Path):
    srv = serve(repos["gz"])
    srv.fail_once |= {"repomd.xml", "primary.xml.gz"}
    index = load_repository(
        RepoConfig("test", srv.url), cache_dir=tmp_path, downloader=_downloader()
    )
    assert "alpha" in index.packages
    assert (srv.hits("repomd.xml"), srv.hits("primary.xml.gz")) == (2, 2)


def test_gz_labelled_content_encoding_is_not_decoded(
    repos: dict[str, Path], serve: Serve, tmp_path: Path
):
    srv = serve(repos["gz"])
    srv.gz_encoding = True
    index = load_repository(RepoConfig("test", srv.url), cache_dir=tmp_path)
    assert "alpha" in index.packages


def test_missing_repository_fails_at_once(repos: dict[str, Path], serve: Serve, tmp_path: Path):
    srv = serve(repos["gz"])
    with pytest.raises(SpecgenError, match=r"/nothing/repodata/repomd\.xml: HTTP 404"):
        load_repository(
            RepoConfig("test", srv.url + "nothing"), cache_dir=tmp_path, downloader=_downloader()
        )
    assert srv.hits("repomd.xml") == 1


def test_persistent_server_error_names_url(repos: dict[str, Path], serve: Serve, tmp_path: Path):
    srv = serve(repos["gz"])
    srv.fail_once.add("repomd.xml")
    with pytest.raises(SpecgenError, match=r"repodata/repomd\.xml: HTTP 500 .*\(1 attempt\)"):
        load_repository(
            RepoConfig("test", srv.url), cache_dir=tmp_path, downloader=_downloader(retries=0)
        )


def test_timeout_is_a_clear_error(repos: dict[str, Path], serve: Serve, tmp_path: Path):
    srv = serve(repos["gz"])
    srv.slow.add("repomd.xml")
    started = time.monotonic()
    expected = (
        r"cannot download http://127\.0\.0\.1:\d+/repodata/repomd\.xml: timed out .* \(2 attempts\)"
    )
    with pytest.raises(SpecgenError, match=expected):
        load_repository(
            RepoConfig("test", srv.url),
            cache_dir=tmp_path,
            downloader=_downloader(read_timeout=0.2, retries=1),
        )
    assert time.monotonic() - started < srv.slow_seconds


def test_connection_refused_is_a_clear_error(tmp_path: Path):
    srv = _Server(tmp_path)  # bound, then closed: nothing listens on its port
    url = srv.url
    srv.server_close()
    with pytest.raises(SpecgenError, match=r"repomd\.xml: connection failed"):
        load_repository(RepoConfig("gone", url), cache_dir=tmp_path, downloader=_downloader())


def test_second_run_uses_cache_and_offline_needs_no_server(
    repos: dict[str, Path], serve: Serve, tmp_path: Path
):
    srv = serve(repos["zstd"])
    repo = RepoConfig("test", srv.url)
    first = load_repository(repo, cache_dir=tmp_path, downloader=_downloader())
    second = load_repository(repo, cache_dir=tmp_path, downloader=_downloader())
    assert srv.hits("primary.xml.zst") == 1 and srv.hits("repomd.xml") == 2
    assert "(revision" in second.sources[0] and second.sources[0].endswith(", cache)")
    srv.shutdown()
    srv.server_close()
    offline = load_repository(repo, cache_dir=tmp_path, offline=True)
    assert offline.packages == first.packages and offline.provides == first.provides
    assert "cache, offline" in offline.sources[0]
    with pytest.raises(SpecgenError, match="no filelists index; run once online with filelists"):
        load_repository(repo, cache_dir=tmp_path, offline=True, filelists=True)
    with pytest.raises(SpecgenError, match="could be used offline"):
        load_repository(repo, cache_dir=tmp_path, downloader=_downloader(retries=0))


def test_offline_without_cache_is_a_clear_error(tmp_path: Path):
    expected = (
        r"offline: no cached metadata for repository base \(https://example\.invalid/base/\) "
        r"in .*; run once online first"
    )
    with pytest.raises(SpecgenError, match=expected):
        load_repository(
            RepoConfig("base", "https://example.invalid/base/"), cache_dir=tmp_path, offline=True
        )


def test_changed_repository_is_reindexed(rpms: Path, serve: Serve, tmp_path: Path):
    repo_dir = _createrepo(rpms, tmp_path / "repo", "gz")
    srv = serve(repo_dir)
    cache = tmp_path / "cache"
    load_repository(RepoConfig("test", srv.url), cache_dir=cache, downloader=_downloader())
    for old in repo_dir.rglob("alpha-1.10-*.rpm"):
        old.unlink()
    subprocess.run(["createrepo_c", "--quiet", "--no-database", str(repo_dir)], check=True)
    index = load_repository(RepoConfig("test", srv.url), cache_dir=cache, downloader=_downloader())
    assert index.packages["alpha"].version == "1.9" and "downloaded" in index.sources[0]
    assert len(list(cache.rglob("index-*.json.gz"))) == 1, "the stale index is dropped"


def test_load_repositories_merges_in_order(repos: dict[str, Path], tmp_path: Path):
    first = tmp_path / "first"
    shutil.copytree(repos["gz"], first)
    for rpm in first.rglob("gamma-devel-*.rpm"):
        rpm.unlink()
    for rpm in first.rglob("alpha-1.10-*.rpm"):
        rpm.unlink()
    subprocess.run(["createrepo_c", "--quiet", "--no-database", str(first)], check=True)
    index = load_repositories(
        [RepoConfig("one", str(first)), RepoConfig("two", repos["xz"].as_uri())],
        cache_dir=tmp_path / "cache",
    )
    assert index.packages["alpha"].version == "1.9"  # the first repository's alpha wins
    assert index.packages["gamma-devel"].repo == "two"
    assert index.whatprovides("libalpha.so.1()(64bit)") == ["alpha"]  # provides are merged
    assert [s.split(":")[0] for s in index.sources] == ["one", "two"]


def test_repository_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    assert [r.name for r in DEFAULT_REPOSITORIES] == [
        "azurelinux-base", "azurelinux-extended", "nvidia-cuda-azl3",
    ]  # fmt: skip
    assert all(r.baseurl.startswith("https://") for r in DEFAULT_REPOSITORIES)
    assert parse_repo_option("local=file:///srv/repo") == RepoConfig("local", "file:///srv/repo")
    assert parse_repo_option("https://h/x/y/").name == "x-y"
    monkeypatch.setenv("SPECGEN_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / "repodata"


def test_map_cli_verifies_against_a_served_repository(
    repos: dict[str, Path], serve: Serve, tmp_path: Path
):
    """`specgen map --check-names --repo URL`: served metadata first, then the cache offline."""
    from click.testing import CliRunner

    from specgen.cli.main import main

    srv = serve(repos["gz"])
    args = ["map", "--check-names", "--repo", f"local={srv.url}", "--cache-dir", str(tmp_path)]
    result = CliRunner().invoke(main, [*args, "alpha", "libgamma-devel", "zlib-devel"])
    assert result.exit_code == 1  # zlib-devel is not in this tiny repository
    assert "ok       alpha: package" in result.stdout
    assert "ok       libgamma-devel: provide [gamma-devel]" in result.stdout
    assert "MISSING  zlib-devel" in result.stdout
    assert "local: " in result.stderr and "downloaded" in result.stderr
    srv.shutdown()
    offline = CliRunner().invoke(main, [*args, "--offline", "alpha"])
    assert offline.exit_code == 0 and "cache" in offline.stderr
