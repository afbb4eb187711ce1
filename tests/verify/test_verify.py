"""`specgen verify` on real packages: gcc-built libraries, rpmbuild with Azure Linux's macros
(zstd payloads, %_libdir /usr/lib), repodata from createrepo_c, libsolv for installability."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import require_tool

from specgen import elfstack
from specgen.build.rpmmacros import rpm_args
from specgen.cli.main import main
from specgen.mapping.pkgindex import PackageIndex
from specgen.mapping.snapshot import load_snapshot
from specgen.rpmread import FileEntry, RpmPackage, _elf_heads, read_repository, read_rpm
from specgen.verify.checks import (
    ERROR,
    NOTE,
    OK,
    WARNING,
    Finding,
    check_exec_stack,
    check_owners,
    check_paths,
    check_requires,
    check_symlinks,
    hinted_provides,
    load_policy,
    newest,
)
from specgen.verify.solve import resolve_installs

LIB_C = "int foo(void) { return 42; }\n"
MAIN_C = "int foo(void);\nint main(void) { return foo() == 42 ? 0 : 1; }\n"

# One source package, every case a subpackage: a runtime library and its -devel (sharing an
# identical license file), tritonserver linked against the library, a library with an
# executable stack, a -devel whose symlink dangles, two packages owning one file, one that
# requires a soname nobody provides, one with files under /opt and /usr/local, and the
# provider of that soname (only in the "extra" repository, an --azure-index REPO_URL).
SPEC = """\
Name:           foo
Version:        1.2
Release:        1%{?dist}
Summary:        verify test packages
License:        MIT
%global debug_package %{nil}

%description
Packages for specgen verify's tests.

%package devel
Summary:        headers
Requires:       foo = %{version}-%{release}
%description devel
Headers.

%package -n tritonserver
Summary:        server
%description -n tritonserver
Server.

%package -n stack
Summary:        exec stack
%description -n stack
Exec stack.

%package -n broken-devel
Summary:        dangling
%description -n broken-devel
Dangling.

%package -n clash-a
Summary:        clash
%description -n clash-a
Clash.

%package -n clash-b
Summary:        clash
%description -n clash-b
Clash.

%package -n needy
Summary:        needy
Requires:       libmissing.so.7()(64bit)
%description -n needy
Needy.

%package -n stray
Summary:        stray
%description -n stray
Stray.

%package -n missing-provider
Summary:        provides what needy lacks; kept out of the "all" repository
Provides:       libmissing.so.7()(64bit)
%description -n missing-provider
Provider.

%install
L=%{buildroot}%{_libdir}
mkdir -p $L %{buildroot}%{_bindir} %{buildroot}%{_includedir} %{buildroot}/usr/share/clash
mkdir -p %{buildroot}/usr/share/licenses/foo %{buildroot}/opt/stray %{buildroot}/usr/local/bin
install -m755 %{_sourcedir}/libfoo.so.1.2 %{_sourcedir}/libstack.so.1.0 $L/
install -m755 %{_sourcedir}/tritonserver %{buildroot}%{_bindir}/
ln -s libfoo.so.1.2 $L/libfoo.so.1
ln -s libfoo.so.1 $L/libfoo.so
ln -s libgone.so.3 $L/libgone.so
echo 'int foo(void);' > %{buildroot}%{_includedir}/foo.h
echo MIT > %{buildroot}/usr/share/licenses/foo/LICENSE
echo shared > %{buildroot}/usr/share/clash/common.conf
echo tool > %{buildroot}/opt/stray/tool
echo tool > %{buildroot}/usr/local/bin/tool

%files
%license /usr/share/licenses/foo/LICENSE
%{_libdir}/libfoo.so.1
%{_libdir}/libfoo.so.1.2

%files devel
%license /usr/share/licenses/foo/LICENSE
%{_libdir}/libfoo.so
%{_includedir}/foo.h

%files -n tritonserver
%{_bindir}/tritonserver

%files -n stack
%{_libdir}/libstack.so.1.0

%files -n broken-devel
%{_libdir}/libgone.so

%files -n clash-a
%dir /usr/share/clash
/usr/share/clash/common.conf

%files -n clash-b
%dir /usr/share/clash
/usr/share/clash/common.conf

%files -n needy

%files -n stray
/opt/stray/tool
/usr/local/bin/tool

%files -n missing-provider
"""

GOOD = ("foo", "foo-devel", "tritonserver", "stack")


def _run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Repositories from one rpmbuild: every case ("all"), the good packages ("good"), needy
    alone, and the provider of what needy lacks ("extra")."""
    require_tool("rpmbuild", "createrepo_c", "gcc")
    top = tmp_path_factory.mktemp("verify")
    src = top / "SOURCES"
    src.mkdir()
    (top / "foo.c").write_text(LIB_C)
    (top / "main.c").write_text(MAIN_C)
    shared = ("gcc", "-shared", "-fPIC", "-O2")
    _run(*shared, "-Wl,-soname,libfoo.so.1", "-o", src / "libfoo.so.1.2", top / "foo.c")
    _run(*shared, "-Wl,-soname,libstack.so.1", "-Wl,-z,execstack",
         "-o", src / "libstack.so.1.0", top / "foo.c")  # fmt: skip
    _run("gcc", "-o", src / "tritonserver", top / "main.c", src / "libfoo.so.1.2")
    spec = top / "foo.spec"
    spec.write_text(SPEC)
    out = top / "rpms"
    defines = {"_topdir": top / "build", "_sourcedir": src, "_rpmdir": out}
    args = [a for k, v in defines.items() for a in ("--define", f"{k} {v}")]
    _run(*rpm_args("rpmbuild", *args, "-bb", "--quiet", "--nodeps", str(spec)))
    built = sorted(out.rglob("*.rpm"))
    names = {rpm: read_rpm(rpm).name for rpm in built}
    every = set(names.values()) - {"missing-provider"}
    repos = {"all": every, "good": set(GOOD), "needy": {"needy"}, "extra": {"missing-provider"}}
    for label, wanted in repos.items():
        (top / label).mkdir()
        for rpm in built:
            if names[rpm] in wanted:
                shutil.copy(rpm, top / label)
        _run("createrepo_c", "--quiet", "--no-database", top / label)
    return {label: top / label for label in repos}


@pytest.fixture(scope="module")
def packages(repos: dict[str, Path]) -> dict[str, RpmPackage]:
    return {p.name: p for p in read_repository(repos["all"])}


@pytest.fixture(scope="module")
def index() -> PackageIndex:
    return load_snapshot()


def _only(findings: list[Finding], package: str, result: str | None = None) -> Finding:
    hits = [f for f in findings if f.package == package and result in (None, f.result)]
    assert len(hits) == 1, findings
    return hits[0]


def test_headers_are_read(packages: dict[str, RpmPackage]):
    foo = packages["foo"]
    assert (foo.name, foo.version, foo.release.startswith("1")) == ("foo", "1.2", True)
    files = {f.path: f for f in foo.files}
    assert files["/usr/lib/libfoo.so.1"].is_link
    assert files["/usr/lib/libfoo.so.1"].link == "libfoo.so.1.2"
    assert files["/usr/lib/libfoo.so.1.2"].is_file
    assert files["/usr/lib/libfoo.so.1.2"].user == "root"
    assert files["/usr/share/licenses/foo/LICENSE"].is_license
    assert "libfoo.so.1()(64bit)" in {d.name for d in foo.provides}
    server = {d.name for d in packages["tritonserver"].requires}
    assert {"libc.so.6()(64bit)", "libfoo.so.1()(64bit)"} <= server  # rpm's automatic Requires
    assert str(next(d for d in packages["foo-devel"].requires if d.name == "foo")).startswith(
        "foo = 1.2-1"
    )
    assert set(foo.elf_heads) == {"/usr/lib/libfoo.so.1.2"} and not foo.payload_error
    assert elfstack.stack_flag(foo.elf_heads["/usr/lib/libfoo.so.1.2"]) == "noexec"
    assert not packages["foo-devel"].elf_heads  # no library: the payload is never opened


def test_paths(packages: dict[str, RpmPackage]):
    findings = check_paths(packages.values(), load_policy())
    stray = [f for f in findings if f.package == "stray"]
    assert {f.result for f in stray} == {ERROR}
    text = " | ".join(f.detail for f in stray)
    assert "/opt/stray/tool" in text and "under /opt" in text
    assert "/usr/local/bin/tool" in text and "under /usr/local" in text
    assert _only(findings, "foo").result == OK


def test_owners(packages: dict[str, RpmPackage]):
    findings = check_owners(packages.values())
    clash = _only(findings, "clash-a, clash-b")
    assert clash.result == ERROR
    assert clash.detail == "/usr/share/clash/common.conf is packaged by clash-a and clash-b"
    # /usr/share/clash (a directory) and the identical LICENSE of foo and foo-devel are allowed.
    summary = _only(findings, "(repository)")
    assert summary.result == NOTE
    assert "1 shared directory" in summary.detail
    assert "1 identical license file under /usr/share/licenses" in summary.detail


def test_devel_symlinks(packages: dict[str, RpmPackage]):
    findings = check_symlinks(list(packages.values()))
    devel = _only(findings, "foo-devel")
    assert devel.result == OK
    assert "/usr/lib/libfoo.so -> libfoo.so.1 -> libfoo.so.1.2 (foo)" in devel.detail
    broken = _only(findings, "broken-devel")
    assert broken.result == ERROR
    assert "/usr/lib/libgone.so.3 is shipped by no package" in broken.detail
    assert {f.package for f in findings} == {"foo-devel", "broken-devel"}  # -devel only


def test_requires(packages: dict[str, RpmPackage], index: PackageIndex):
    pkgs = list(packages.values())
    hints = hinted_provides(pkgs, index, load_policy())
    assert "libc.so.6()(64bit)" in hints["glibc"]  # the snapshot has no soname Provides
    findings = check_requires(pkgs, index, hints)
    needy = _only(findings, "needy")
    assert needy.result == ERROR and needy.detail == "unresolved: libmissing.so.7()(64bit)"
    server = _only(findings, "tritonserver")
    assert server.result == OK and "in the repository" in server.detail  # libfoo.so.1
    assert not [f for f in findings if f.result == ERROR and f.package != "needy"]
    # Without the tables, libc's soname is unresolved against the snapshot.
    bare = _only(check_requires(pkgs, index), "tritonserver")
    assert bare.result == ERROR and "libc.so.6()(64bit)" in bare.detail


def test_exec_stack(packages: dict[str, RpmPackage]):
    findings = check_exec_stack(packages.values())
    stack = _only(findings, "stack")
    assert stack.result == WARNING
    assert stack.detail.startswith("/usr/lib/libstack.so.1.0: executable stack")
    assert _only(findings, "foo").result == OK


def test_libsolv_installability(packages: dict[str, RpmPackage], index: PackageIndex):
    pkgs, _ = newest(packages.values())
    hints = hinted_provides(pkgs, index, load_policy())
    results = resolve_installs(pkgs, index, hints)
    assert results[0].package == "tritonserver"  # resolved first
    by_name = {r.package: r for r in results}
    needy = by_name["needy"]
    assert not needy.ok
    assert any("nothing provides libmissing.so.7()(64bit)" in p for p in needy.problems)
    for name in GOOD:
        assert by_name[name].ok, by_name[name].problems
    assert by_name["tritonserver"].from_local == 2  # itself and foo (libfoo.so.1)
    assert by_name["tritonserver"].from_azure >= 1  # glibc


def test_cli_json_fails_on_the_bad_repository(repos: dict[str, Path]):
    result = CliRunner().invoke(main, ["verify", str(repos["all"]), "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert sorted(report) == [
        "azure_index", "findings", "packages", "passed", "repository", "skipped", "summary",
    ]  # fmt: skip
    assert report["passed"] is False and report["skipped"] == []
    assert "offline snapshot" in report["azure_index"][0]
    assert [p["name"] for p in report["packages"]] == sorted(p["name"] for p in report["packages"])
    rows = {(f["check"], f["package"], f["result"]) for f in report["findings"]}
    assert {
        ("paths", "stray", "error"),
        ("owners", "clash-a, clash-b", "error"),
        ("symlinks", "broken-devel", "error"),
        ("requires", "needy", "error"),
        ("execstack", "stack", "warning"),
        ("install", "needy", "error"),
        ("install", "tritonserver", "ok"),
    } <= rows
    assert all(sorted(f) == ["check", "detail", "package", "result"] for f in report["findings"])
    assert report["summary"]["error"] == sum(f["result"] == "error" for f in report["findings"])
    again = CliRunner().invoke(main, ["verify", str(repos["all"]), "--format", "json"])
    assert again.stdout == result.stdout  # stable


def test_cli_passes_with_warnings(repos: dict[str, Path]):
    result = CliRunner().invoke(main, ["verify", str(repos["good"])])
    assert result.exit_code == 0, result.output
    assert "execstack" in result.stdout and "warning" in result.stdout
    assert "offline snapshot" in result.stderr


def test_cli_azure_index_repo_url(
    repos: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A repository URL beside the snapshot supplies what the snapshot lacks."""
    monkeypatch.setenv("SPECGEN_CACHE_DIR", str(tmp_path))
    args = ["verify", str(repos["needy"]), "--format", "json"]
    alone = CliRunner().invoke(main, args)
    assert alone.exit_code == 1
    extra = CliRunner().invoke(main, [*args, "--azure-index", "snapshot",
                                      "--azure-index", f"extra={repos['extra']}"])  # fmt: skip
    assert extra.exit_code == 0, extra.output
    report = json.loads(extra.stdout)
    assert [s.split(":")[0] for s in report["azure_index"]][1:] == ["extra"]
    rows = {(f["check"], f["result"]) for f in report["findings"]}
    assert ("requires", "ok") in rows and ("install", "ok") in rows


def test_cli_unreadable_input(tmp_path: Path):
    missing = CliRunner().invoke(main, ["verify", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such folder" in missing.stderr
    empty = CliRunner().invoke(main, ["verify", str(tmp_path)])
    assert empty.exit_code == 2 and "no *.rpm files" in empty.stderr
    (tmp_path / "fake-1-1.x86_64.rpm").write_text("not an rpm\n")
    fake = CliRunner().invoke(main, ["verify", str(tmp_path)])
    assert fake.exit_code == 2 and "not an RPM package" in fake.stderr


def test_newest_build_of_a_name_is_checked():
    old = RpmPackage("a", "1.9", "1", "x86_64", file="a-1.9-1.x86_64.rpm")
    new = RpmPackage("a", "1.10", "1", "x86_64", file="a-1.10-1.x86_64.rpm")
    src = RpmPackage("a", "1.10", "1", "src", file="a-1.10-1.src.rpm", source=True)
    kept, rest = newest([new, src, old])
    assert kept == [new] and [p.file for p in rest] == [src.file, old.file]


def _newc(name: str, data: bytes) -> bytes:
    fields = [0, 0o100644, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
    head = b"070701" + b"".join(b"%08x" % v for v in fields) + name.encode() + b"\0"
    pad = b"\0" * (-len(head) % 4)
    return head + pad + data + b"\0" * (-len(data) % 4)


def _elf(phdrs: list[tuple[int, int]]) -> bytes:
    """A minimal ELF64 LE shared object header with the given (p_type, p_flags) entries."""
    ehdr = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + b"\0" * 9,
                       3, 62, 1, 0, 64, 0, 0, 64, 56, len(phdrs), 64, 0, 0)  # fmt: skip
    return ehdr + b"".join(struct.pack("<IIQQQQQQ", t, f, 0, 0, 0, 0, 0, 0) for t, f in phdrs)


def test_payload_formats_and_stack_flags():
    """newc and rpm's stripped 07070X entries; stack flags of hand-made ELF headers."""
    lib = _elf([(1, 5), (elfstack.PT_GNU_STACK, 6)])
    bare = _elf([(1, 5)])
    files = (
        FileEntry("/usr/share/doc/x", 0o100644, 5),
        FileEntry("/usr/lib/libx.so.1", 0o100755, len(lib)),
        FileEntry("/usr/lib/liby.so.1", 0o100755, len(bare)),
    )
    newc = _newc("./usr/share/doc/x", b"hello") + _newc("./usr/lib/libx.so.1", lib)
    newc += _newc("./usr/lib/liby.so.1", bare) + _newc("TRAILER!!!", b"")
    heads = _elf_heads(io.BytesIO(newc), files)
    assert elfstack.stack_flag(heads["/usr/lib/libx.so.1"]) == "noexec"
    assert elfstack.stack_flag(heads["/usr/lib/liby.so.1"]) == "absent"
    stripped = b""
    for i, data in enumerate((b"hello", lib)):
        stripped += b"07070X" + b"%08x" % i + b"\0\0" + data + b"\0" * (-len(data) % 4)
    heads = _elf_heads(io.BytesIO(stripped + _newc("TRAILER!!!", b"")), files[:2])
    assert elfstack.stack_flag(heads["/usr/lib/libx.so.1"]) == "noexec"
    assert elfstack.stack_flag(_elf([(elfstack.PT_GNU_STACK, 7)])) == "exec"
    assert elfstack.stack_flag(b"!<arch>\n" + b"\0" * 80) is None
    assert elfstack.stack_flag(lib[:70]) is None  # cut short before the program headers end
