"""`specgen map --by-content`: Ubuntu names the table lacks, found by what their packages contain.

The Ubuntu side is a small dists tree this test writes (InRelease clear-signed by a throw-away
key, Contents-amd64.gz, Packages.xz and .gz), served on 127.0.0.1; the Azure Linux side is a real
repository: RPMs made by rpmbuild from tiny specs that provide a soname, a .pc and a CMake
config, indexed by createrepo_c. Nothing is mocked: gpgv, the HTTP client, the cache, the
Contents scan and the repodata reader all run for real.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import lzma
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aptsign import signed_inrelease
from click.testing import CliRunner, Result
from conftest import require_tool

from specgen.cli.main import main
from specgen.errors import SpecgenError
from specgen.mapping.bycontent import BY_SOURCE, MISSING, NOT_IN_UBUNTU, VERIFIED, source_names
from specgen.mapping.contentlookup import look_up
from specgen.mapping.debcontent import evidence_of
from specgen.mapping.debindex import read_contents
from specgen.mapping.snapshot import encode, load_snapshot, source_packages
from specgen.mapping.ubuntuarchive import ArchiveSource, load_settings

# ---------------------------------------------------------------- Azure Linux: a real repository

_SPEC = """\
Name:           {name}
Version:        {version}
Release:        1
Summary:        test package
License:        MIT
BuildArch:      noarch
{provides}
%description
A tiny package for specgen's by-content tests.
{sub}
%install
{install}
%files
{files}
{subfiles}
"""

# zed: a library whose runtime package provides its soname and whose -devel package owns the
# headers, the .so link, the .pc and the CMake config (declared Provides: what rpm's generators
# would add from real ELF, .pc and CMake files, and what createrepo_c then lists in primary).
ZED = dict(
    name="zed",
    version="2.1",
    provides="Provides:       libzed.so.1()(64bit)",
    sub="%package devel\nSummary: headers\nProvides:       pkgconfig(zed) = 2.1\n"
    "Provides:       cmake(Zed) = 2.1\n%description devel\nHeaders.",
    install="d=%{buildroot}; mkdir -p $d/usr/lib64/pkgconfig $d/usr/lib64/cmake/Zed "
    "$d/usr/include/zed\nfor f in /usr/lib64/libzed.so.1 /usr/lib64/libzed.so "
    "/usr/lib64/pkgconfig/zed.pc /usr/lib64/cmake/Zed/ZedConfig.cmake /usr/include/zed/zed.h;"
    " do echo x > $d$f; done",
    files="/usr/lib64/libzed.so.1",
    subfiles="%files devel\n/usr/lib64/libzed.so\n/usr/lib64/pkgconfig/zed.pc\n"
    "/usr/lib64/cmake/Zed/ZedConfig.cmake\n/usr/include/zed/zed.h",
)
# quux: a tool known only by the file it owns
QUUX = dict(
    name="quux",
    version="1.0",
    provides="",
    sub="",
    install="mkdir -p %{buildroot}/usr/bin; echo x > %{buildroot}/usr/bin/quux",
    files="/usr/bin/quux",
    subfiles="",
)


@pytest.fixture(scope="module")
def azl_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tool("rpmbuild", "createrepo_c")
    top = tmp_path_factory.mktemp("azl")
    repo = top / "repo"
    for pkg in (ZED, QUUX):
        spec = top / f"{pkg['name']}.spec"
        spec.write_text(_SPEC.format(**pkg))
        cmd = ["rpmbuild", "-bb", "--quiet", "--nodeps", str(spec)]
        for k, v in {"_topdir": top / "build", "_rpmdir": repo}.items():
            cmd += ["--define", f"{k} {v}"]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    subprocess.run(["createrepo_c", "--quiet", "--no-database", str(repo)], check=True)
    return repo


# ---------------------------------------------------------------- Ubuntu: a signed dists tree

# name -> (Packages fields, files as Contents lists them)
UBUNTU = {
    "libzedkit-dev": (
        {"Source": "zedkit (2.1-1)", "Section": "libdevel"},
        ["usr/include/zed/zed.h", "usr/lib/x86_64-linux-gnu/libzed.so",
         "usr/lib/x86_64-linux-gnu/pkgconfig/zed.pc",
         "usr/lib/x86_64-linux-gnu/cmake/zed/zed-config.cmake",
         "usr/share/doc/libzedkit-dev/copyright"],
    ),
    "libzedkit1": (
        {"Source": "zedkit", "Section": "libs"},
        ["usr/lib/x86_64-linux-gnu/libzed.so.1", "usr/lib/x86_64-linux-gnu/libzed.so.1.2.0"],
    ),
    "quux-utils": ({"Source": "quux", "Section": "utils"}, ["usr/bin/quux"]),
    "libmylib-dev": (
        {"Source": "mylib", "Section": "libdevel"},
        ["usr/include/mylib.h", "usr/lib/x86_64-linux-gnu/pkgconfig/mylib.pc"],
    ),
    "noise": ({"Section": "misc"}, ["usr/bin/noise", "usr/share/doc/noise/libzedkit-dev"]),
}  # fmt: skip


def _packages(names: list[str]) -> bytes:
    stanzas = []
    for name in names:
        fields, _ = UBUNTU[name]
        lines = [f"Package: {name}", "Architecture: amd64", "Version: 1.0-1"]
        lines += [f"{k}: {v}" for k, v in fields.items()]
        lines.append("Description: test\n a continuation line: Package: libzedkit1")
        stanzas.append("\n".join(lines) + "\n")
    return "\n".join(stanzas).encode()


def _contents() -> bytes:
    rows: dict[str, list[str]] = {}
    for name, (fields, files) in UBUNTU.items():
        for f in files:
            rows.setdefault(f, []).append(f"{fields['Section']}/{name}")
    # one file in two packages, and a path with a space in it
    rows["usr/share/doc/shared"] = ["utils/quux-utils", "libdevel/libzedkit-dev"]
    rows["usr/share/with space/x"] = ["utils/quux-utils"]
    return "".join(f"{p:<60} {','.join(o)}\n" for p, o in sorted(rows.items())).encode()


def write_dists(root: Path, keydir: Path, *, signed: bool = True) -> Path:
    """root/dists/noble with Contents, main (xz) and universe (gz) Packages, and InRelease."""
    suite = root / "dists" / "noble"
    files = {
        "Contents-amd64.gz": gzip.compress(_contents(), mtime=0),
        "main/binary-amd64/Packages.xz": lzma.compress(_packages(["libzedkit-dev", "noise"])),
        "universe/binary-amd64/Packages.gz": gzip.compress(
            _packages(["libzedkit1", "quux-utils", "libmylib-dev"]), mtime=0
        ),
    }
    for rel, data in files.items():
        (suite / rel).parent.mkdir(parents=True, exist_ok=True)
        (suite / rel).write_bytes(data)
    release = "Origin: Ubuntu\nSuite: noble\nCodename: noble\nSHA256:\n" + "".join(
        f" {hashlib.sha256(d).hexdigest()} {len(d):>16} {rel}\n" for rel, d in files.items()
    )
    if signed:
        text, _ = signed_inrelease(keydir, release)
    else:
        text = release.encode()
    (suite / "InRelease").write_bytes(text)
    return suite


@pytest.fixture
def serve() -> Iterator[partial[str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(root: Path) -> str:
        handler = partial(_Quiet, directory=str(root))
        srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/ubuntu"

    yield partial(start)
    for srv in servers:
        srv.shutdown()
        srv.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def ubuntu(tmp_path: Path, serve: partial[str]) -> tuple[str, Path, Path]:
    """(mirror URL, keyring, served root) of a signed noble tree."""
    require_tool("gpg", "gpgv")
    root = tmp_path / "www"
    write_dists(root / "ubuntu", tmp_path)
    return serve(root), tmp_path / "keyring.gpg", root


def _recipe(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "dryrun"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile.buildbase").write_text(
        "FROM ubuntu:24.04\nRUN apt-get update && apt-get install -y " + " ".join(names) + "\n"
    )
    return folder


def _map(*args: str) -> Result:
    return CliRunner().invoke(main, ["map", *args])


NAMES = ["libzedkit-dev", "libzedkit1", "quux-utils", "libmylib-dev", "ghost-tool"]


# ---------------------------------------------------------------- tests


def test_evidence_from_ubuntu_files() -> None:
    files = [
        "usr/lib/x86_64-linux-gnu/libzed.so.1.2.0", "usr/lib/x86_64-linux-gnu/libzed.so.1",
        "usr/lib/x86_64-linux-gnu/pkgconfig/zed.pc",
        "usr/lib/x86_64-linux-gnu/cmake/Boost-1.83.0/BoostConfig.cmake",
        "usr/lib/x86_64-linux-gnu/cmake/zed/zed-config-version.cmake",
        "usr/lib/python3/dist-packages/numpy-1.26.4.dist-info/METADATA", "bin/zed",
        "usr/share/doc/zed/README.h",
    ]  # fmt: skip
    got = [(e.kind, e.value) for e in evidence_of(files, load_settings())]
    assert got == [
        ("soname", "libzed.so.1()(64bit)"),
        ("pkgconfig", "pkgconfig(zed)"),
        ("cmake", "cmake(Boost)"),
        ("python", "python3dist(numpy)"),
        ("file", "/usr/bin/zed"),
        ("file", "/usr/lib64/cmake/Boost-1.83.0/BoostConfig.cmake"),
        ("file", "/usr/lib64/cmake/zed/zed-config-version.cmake"),
        ("file", "/usr/lib64/libzed.so.1"),
        ("file", "/usr/lib64/libzed.so.1.2.0"),
        ("file", "/usr/lib64/pkgconfig/zed.pc"),
    ]


def test_contents_keeps_only_the_wanted_packages(tmp_path: Path) -> None:
    contents = tmp_path / "Contents-amd64.gz"
    contents.write_bytes(gzip.compress(b"FILE LOCATION\n" + _contents(), mtime=0))
    got = read_contents(contents, {"libzedkit-dev", "quux-utils", "absent"})
    assert got["quux-utils"] == ["usr/bin/quux", "usr/share/doc/shared", "usr/share/with space/x"]
    # a file of `noise` named after the package is not the package's
    assert "usr/share/doc/noise/libzedkit-dev" not in got["libzedkit-dev"]
    assert got["libzedkit-dev"][-1] == "usr/share/doc/shared" and got["absent"] == []


def test_source_names_tried() -> None:
    assert source_names("re2", "libre2-dev") == ["re2"]
    assert source_names("boost1.83", "libboost-dev") == ["boost1.83", "boost"]
    assert source_names("gcc-14", "libgomp1") == ["gcc-14", "gcc"]
    assert source_names("python3-defaults", "python3") == ["python3-defaults", "python3"]
    assert source_names("wheel", "python3-wheel") == ["wheel", "python-wheel"]
    assert source_names("LLVM-17", "clang") == ["LLVM-17", "llvm-17", "LLVM"]


def test_verified_findings_against_real_repodata(
    azl_repo: Path, ubuntu: tuple[str, Path, Path], tmp_path: Path
) -> None:
    mirror, keyring, _ = ubuntu
    cache = tmp_path / "cache"
    args = ["--repo", f"azl={azl_repo}", "--cache-dir", str(cache), "--ubuntu-mirror", mirror]
    args += ["--ubuntu-keyring", str(keyring), "--by-content", "--format", "json"]
    result = _map(str(_recipe(tmp_path, NAMES)), *args)
    assert result.exit_code == 1, result.output  # libmylib-dev and ghost-tool stay unmapped
    data = json.loads(result.stdout)
    assert (
        "InRelease signature checked by gpgv; InRelease fetched, 3 of 3 indexes downloaded"
        in (data["ubuntu"])
    )
    found = {f["name"]: f for f in data["findings"]}
    assert sorted(found) == sorted(NAMES)
    dev = found["libzedkit-dev"]
    assert (dev["status"], dev["packages"], dev["ubuntu_source"]) == (
        VERIFIED,
        ["zed-devel"],
        "zedkit",
    )
    # cmake(zed) matches Azure Linux's cmake(Zed) as rpm's generator writes both spellings; the
    # config file itself is named differently there (Zed/ZedConfig.cmake): 3 of 4 files
    assert dev["candidates"][0]["evidence"] == ["pkgconfig(zed)", "cmake(zed)", "3 of 4 files"]
    lib = found["libzedkit1"]
    assert (lib["status"], lib["packages"]) == (VERIFIED, ["zed"])
    assert lib["candidates"][0]["evidence"] == ["soname libzed.so.1", "1 of 2 files"]
    assert (found["quux-utils"]["status"], found["quux-utils"]["packages"]) == (VERIFIED, ["quux"])
    assert found["libmylib-dev"]["status"] == MISSING and found["libmylib-dev"]["packages"] == []
    assert found["ghost-tool"]["status"] == NOT_IN_UBUNTU
    # every name returned exists in the repository: nothing invented
    repo_names = {"zed", "zed-devel", "quux"}
    for f in data["findings"]:
        assert set(f["packages"]) <= repo_names
        assert {c["package"] for c in f["candidates"]} <= repo_names
        assert set(f["suggestions"]) <= repo_names
    assert data["unmapped"] == 2

    # the table view and the entries to paste
    text = _map(str(_recipe(tmp_path, NAMES)), *args[:-2])
    assert text.exit_code == 1
    assert '[apt."libzedkit-dev"]\npackages = ["zed-devel"]\nwhy = "by content (Ubuntu noble ' in (
        text.stdout
    )
    assert "# libmylib-dev: missing: nothing in the index provides" in text.stdout
    assert "2 unmapped:" in text.stderr and "ghost-tool" in text.stderr

    # only verified names: exit code 0
    ok = _map(str(_recipe(tmp_path / "ok", ["libzedkit-dev", "quux-utils"])), *args)
    assert ok.exit_code == 0, ok.output


def test_offline_uses_the_cache_only(
    azl_repo: Path, ubuntu: tuple[str, Path, Path], tmp_path: Path
) -> None:
    mirror, keyring, root = ubuntu
    cache = tmp_path / "cache"
    recipe = str(_recipe(tmp_path, ["libzedkit1"]))
    args = ["--repo", f"azl={azl_repo}", "--cache-dir", str(cache), "--ubuntu-mirror", mirror]
    args += ["--ubuntu-keyring", str(keyring), "--by-content"]
    assert _map(recipe, *args).exit_code == 0
    again = _map(recipe, *args)  # InRelease again, the indexes from the cache
    assert again.exit_code == 0 and "0 of 3 indexes downloaded" in again.stderr
    offline_without_cache = _map(recipe, *args, "--offline", "--cache-dir", str(tmp_path / "x"))
    assert offline_without_cache.exit_code == 2
    for path in sorted(root.rglob("*"), reverse=True):  # the mirror is gone
        path.unlink() if path.is_file() else path.rmdir()
    offline = _map(recipe, *args, "--offline")
    assert offline.exit_code == 0, offline.output
    assert "cache, offline" in offline.stderr and "libzedkit1  verified" in offline.stdout


def test_a_tampered_index_is_refused_naming_it(
    azl_repo: Path, ubuntu: tuple[str, Path, Path], tmp_path: Path
) -> None:
    mirror, keyring, root = ubuntu
    packages = root / "ubuntu/dists/noble/main/binary-amd64/Packages.xz"
    packages.write_bytes(lzma.compress(_packages(["libzedkit-dev"])))  # not what InRelease says
    args = ["--repo", f"azl={azl_repo}", "--cache-dir", str(tmp_path / "c")]
    result = _map(str(_recipe(tmp_path, ["libzedkit-dev"])), *args, "--by-content",
                  "--ubuntu-mirror", mirror, "--ubuntu-keyring", str(keyring))  # fmt: skip
    assert result.exit_code == 2
    assert "main/binary-amd64/Packages.xz: does not match InRelease" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2  # "verified against" and the error


def test_signature_is_checked_and_unsigned_needs_consent(
    azl_repo: Path, ubuntu: tuple[str, Path, Path], tmp_path: Path
) -> None:
    mirror, keyring, root = ubuntu
    recipe = str(_recipe(tmp_path, ["quux-utils"]))
    base = ["--repo", f"azl={azl_repo}", "--cache-dir", str(tmp_path / "c"), "--by-content"]
    base += ["--ubuntu-mirror", mirror]
    missing = _map(recipe, *base, "--ubuntu-keyring", str(tmp_path / "none.gpg"))
    assert missing.exit_code == 2 and "no Ubuntu archive keyring at" in missing.stderr
    assert "--allow-unsigned" in missing.stderr
    inrelease = root / "ubuntu/dists/noble/InRelease"
    inrelease.write_bytes(inrelease.read_bytes().replace(b"Origin: Ubuntu", b"Origin: Evil"))
    forged = _map(recipe, *base, "--ubuntu-keyring", str(keyring))
    assert forged.exit_code == 2 and "InRelease: gpgv:" in forged.stderr
    write_dists(root / "ubuntu", tmp_path, signed=False)
    unsigned = _map(recipe, *base, "--ubuntu-keyring", str(keyring))
    assert unsigned.exit_code == 2 and "gpgv" in unsigned.stderr
    allowed = _map(recipe, *base, "--allow-unsigned")
    assert allowed.exit_code == 0, allowed.output
    assert "signature NOT checked" in allowed.stderr


def test_snapshot_gives_weaker_by_source_suggestions(
    ubuntu: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """With names and declared Provides only, the Ubuntu source name leads to the Azure Linux
    source spec's binaries: -devel for a -dev package, the library for a runtime one."""
    mirror, keyring, _ = ubuntu
    record = {"release": "1", "epoch": 0, "repo": "base", "arches": ["x86_64"], "provides": []}
    payload = {
        "format": 1, "distribution": "Azure Linux", "branch": "3.0", "date": "2026-01-01",
        "origin": "test", "inputs": {}, "provides": "declared only",
        "packages": {
            "mylib": {**record, "version": "3", "source": "mylib"},
            "mylib-devel": {**record, "version": "3", "source": "mylib"},
            "mylib-debuginfo": {**record, "version": "3", "source": "mylib"},
            "zedkit": {**record, "version": "2", "source": "zedkit"},
            "zedkit-devel": {**record, "version": "2", "source": "zedkit"},
        },
    }  # fmt: skip
    snap = tmp_path / "snap.json.gz"
    snap.write_bytes(encode(payload))
    index = load_snapshot(snap)
    archive = ArchiveSource(mirror, "noble", "amd64", ("main", "universe"), keyring)
    report = look_up(
        ["libmylib-dev", "libzedkit1", "ghost-tool"],
        archive,
        index,
        cache_dir=tmp_path / "cache",
        sources=source_packages(snap),
    )
    found = {f.name: f for f in report.findings}
    assert (found["libmylib-dev"].status, found["libmylib-dev"].packages) == (
        BY_SOURCE, ("mylib-devel",)
    )  # fmt: skip
    assert "by name, not by content" in found["libmylib-dev"].reason
    assert (found["libzedkit1"].status, found["libzedkit1"].packages) == (BY_SOURCE, ("zedkit",))
    assert not found["libzedkit1"].verified and found["ghost-tool"].status == NOT_IN_UBUNTU


def test_ubuntu_release_comes_from_the_recipe(ubuntu: tuple[str, Path, Path], tmp_path: Path):
    mirror, keyring, _ = ubuntu
    folder = tmp_path / "dryrun"
    folder.mkdir()
    (folder / "Dockerfile.buildbase").write_text(
        "FROM debian:12\nRUN apt-get install -y ghost-tool\n"
    )
    result = _map(str(folder), "--by-content", "--ubuntu-mirror", mirror,
                  "--ubuntu-keyring", str(keyring))  # fmt: skip
    assert result.exit_code == 2 and "pass --ubuntu-release" in result.stderr
    jammy = _map(str(folder), "--by-content", "--ubuntu-release", "22.04",
                 "--ubuntu-mirror", mirror, "--ubuntu-keyring", str(keyring))  # fmt: skip
    assert jammy.exit_code == 2 and "/dists/jammy/InRelease" in jammy.stderr  # not served
    with pytest.raises(SpecgenError, match=r"Ubuntu release '23\.99' is not known"):
        from specgen.mapping.ubuntuarchive import suite_for

        suite_for("23.99", load_settings())


def test_cache_follows_specgen_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from specgen.mapping.ubuntuarchive import default_cache_dir

    monkeypatch.setenv("SPECGEN_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / "ubuntu"
    monkeypatch.delenv("SPECGEN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "specgen" / "ubuntu"
