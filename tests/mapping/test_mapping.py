"""Ubuntu -> Azure Linux 3.0 mapping: the curated table, the rules, the verification, the snapshot.

The central promise: every apt package of every shared dry-run variant resolves to something that
exists in Azure Linux 3.0, to a spec specgen generates, or to "not needed" with a reason; and the
resolver never returns a package name its index lacks.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specgen.errors import InputError
from specgen.mapping.pkgindex import PackageIndex, PackageInfo
from specgen.mapping.resolver import (
    KINDS,
    check_names,
    exit_code,
    match_download,
    match_pip,
    render_text,
    resolve,
    resolve_apt,
)
from specgen.mapping.snapshot import build_snapshot, default_path, load_snapshot, snapshot_payload
from specgen.mapping.table import load_table
from specgen.recipe.model import AptPackage, Origin
from specgen.rpmver import EVR, DebianPin, pin_to_constraint, rpmvercmp, satisfies

SEED_LINE = (
    "gcc gcc-c++ make kernel-headers kernel-devel python3 python3-pip python3-devel git binutils "
    "glibc-devel c-ares-devel abseil-cpp-devel cmake alib-devel openssl-devel libcurl-devel "
    "protobuf protobuf-devel libxml2 libxml2-devel re2 re2-devel rapidjson-devel boost-devel "
    "numactl-devel"
)


@pytest.fixture(scope="module")
def snapshot() -> PackageIndex:
    return load_snapshot()


@pytest.fixture(scope="module")
def table():
    return load_table()


def variants(dryrun_dir: Path) -> list[Path]:
    found = sorted(p for p in dryrun_dir.glob("*/*") if p.is_dir())
    assert found, f"no variants under {dryrun_dir}"
    return found


def dryrun_images(variant: Path):
    """The images of one dry-run variant, as the project's parser reads them (kept in one place:
    the mapping tests only need the parser's apt, download and pip lists)."""
    from specgen.recipe.dryrun import load_recipe

    return load_recipe([variant]).images


def tiny_index(
    *pkgs: tuple[str, str], provides: dict[str, list[str]] | None = None
) -> PackageIndex:
    index = PackageIndex(sources=["tiny test index"])
    for name, version in pkgs:
        index.add(PackageInfo(name, version, "1.azl3"), (provides or {}).get(name, ()))
    return index


# ---------------------------------------------------------------- the table and the snapshot


def test_table_loads_with_every_kind_of_entry(table) -> None:
    assert table.apt["build-essential"].packages == (
        "gcc",
        "gcc-c++",
        "make",
        "glibc-devel",
        "binutils",
    )
    assert table.apt["docker.io"].not_needed
    assert table.apt["libb64-dev"].spec == "libb64"
    assert table.apt["libre2-dev"].capability == "pkgconfig(re2)"
    assert table.rules and table.downloads and table.pip


def test_every_table_package_is_a_real_package_of_the_snapshot(table, snapshot) -> None:
    """Real binary packages, not Provides: the table must name what tdnf installs."""
    missing = []
    for section in (table.apt, table.pip):
        for entry in section.values():
            missing += [f"{entry.name} -> {p}" for p in entry.packages if not snapshot.has(p)]
    for d in table.downloads:
        missing += [f"{d.name} -> {p}" for p in d.packages if not snapshot.has(p)]
    for name, (fix, _) in table.known_mistakes.items():
        if not snapshot.has(fix):
            missing.append(f"{name} -> {fix}")
    assert missing == []


def test_every_table_package_is_in_packages_tsv(table, shared_dir: Path) -> None:
    rows = (shared_dir / "azurelinux-3.0" / "packages.tsv").read_text().splitlines()[1:]
    names = {r.split("\t", 1)[0] for r in rows}
    used = {p for e in (*table.apt.values(), *table.pip.values()) for p in e.packages}
    assert sorted(used - names) == []


def test_every_table_entry_resolves_against_the_snapshot(table, snapshot) -> None:
    bad = {n: r.reason for n in table.apt if not (r := resolve(n, None, snapshot, table)).ok}
    assert bad == {}


def test_bad_table_entries_are_input_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[apt."x"]\npackages = ["a"]\nspec = "b"\n')
    with pytest.raises(InputError, match="exclude each other"):
        load_table(path)
    path.write_text('[apt."x"]\nwhy = "nothing to map to"\n')
    with pytest.raises(InputError, match="needs packages"):
        load_table(path)
    path.write_text('[apt."x"]\npackages = ["a"]\npin = "loose"\n')
    with pytest.raises(InputError, match="pin must be"):
        load_table(path)
    path.write_text('[apt."x"]\npackages = ["a"]\npackage = ["typo"]\n')
    with pytest.raises(InputError, match="unknown keys package"):
        load_table(path)
    path.write_text('[pip."x"]\nupdate_spec = "x"\nwhy = "no packages to update"\n')
    with pytest.raises(InputError, match="update_spec replaces packages"):
        load_table(path)


def test_snapshot_says_it_is_an_offline_snapshot(snapshot) -> None:
    assert len(snapshot.sources) == 1
    line = snapshot.sources[0]
    assert "offline snapshot" in line and "2026-04-28" in line and "branch 3.0" in line
    assert "../shared/azurelinux-3.0" in line
    assert len(snapshot) > 8000


def test_snapshot_facts(snapshot) -> None:
    assert snapshot.whatprovides("libcurl-devel") == ["curl-devel"]
    assert snapshot.whatprovides("numactl-devel") == ["libnuma-devel"]
    assert snapshot.whatprovides("pkgconfig") == ["pkgconf-pkg-config"]
    assert snapshot.whatprovides("cmake(x86-64)") == ["cmake"]
    assert snapshot.whatprovides("cmake(aarch-64)") == []
    cmake = snapshot.packages["cmake"]
    assert (cmake.version, cmake.arch, cmake.repo) == ("3.30.3", "x86_64", "base")
    assert snapshot.packages["ca-certificates"].epoch == 1  # from its `name = 1:...` Provide
    assert snapshot.packages["golang"].version.startswith("1.26")  # highest of four golang specs
    assert snapshot.packages["glog-devel"].repo == "extended"
    assert not snapshot.has("alib-devel")


def test_snapshot_arch_selection() -> None:
    arm = load_snapshot(arch="aarch64")
    assert arm.whatprovides("cmake(aarch-64)") == ["cmake"]
    assert arm.packages["cmake"].arch == "aarch64"
    assert not arm.has("qemu-system-x86-core")  # x86_64-only per its ISA Provides
    with pytest.raises(ValueError):
        load_snapshot(arch="ppc64le")


def test_snapshot_build_is_deterministic(shared_dir: Path) -> None:
    assert build_snapshot(shared_dir) == build_snapshot(shared_dir / "azurelinux-3.0")


def test_shipped_snapshot_equals_a_fresh_build(shared_dir: Path) -> None:
    """Compared as data: gzip's deflate bytes may differ between zlib builds (zlib-ng on Fedora),
    the content may not. Rebuild with `python -m specgen.mapping.snapshot ../shared OUT`."""
    shipped = json.loads(gzip.decompress(default_path().read_bytes()))
    fresh = json.loads(json.dumps(snapshot_payload(shared_dir)))
    assert shipped == fresh


def test_snapshot_builder_rejects_a_wrong_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"packages\.tsv"):
        build_snapshot(tmp_path)


def test_snapshot_cli_writes_the_file(shared_dir: Path, tmp_path: Path) -> None:
    from specgen.mapping.snapshot import main

    out = tmp_path / "snap.json.gz"
    assert main([str(shared_dir), str(out)]) == 0
    assert out.read_bytes() == build_snapshot(shared_dir)
    assert main([]) == 2


# ---------------------------------------------------------------- the shared dry runs


def test_every_apt_package_of_every_variant_resolves(dryrun_dir: Path, snapshot, table) -> None:
    """Acceptance of issue 3: 100% of the apt names, each through the curated table itself."""
    seen = 0
    problems = []
    for variant in variants(dryrun_dir):
        for role, image in dryrun_images(variant).items():
            for res in resolve_apt(image.apt, snapshot, table):
                seen += 1
                if res.kind not in ("table", "spec", "not_needed"):
                    problems.append(f"{variant.name}/{role}: {res.name} -> {res.kind} {res.reason}")
                assert all(snapshot.has(p) for p in res.packages)
    assert seen > 100
    assert problems == []


def test_every_download_of_every_variant_is_matched(dryrun_dir: Path, snapshot, table) -> None:
    problems = []
    for variant in variants(dryrun_dir):
        for image in dryrun_images(variant).values():
            for d in image.downloads:
                res = match_download(d.url, snapshot, table)
                if res is None or not res.ok:
                    problems.append(f"{variant.name}: {d.url}: {res}")
    assert problems == []


def test_build_image_pip_tools_are_matched(dryrun_dir: Path, snapshot, table) -> None:
    problems = []
    for variant in variants(dryrun_dir):
        image = dryrun_images(variant).get("buildbase")
        for req in image.pip_requirements() if image else ():
            res = match_pip(req, snapshot, table)
            if res is None or not res.ok:
                problems.append(f"{variant.name}: {req}: {res}")
    assert problems == []


def test_resolutions_of_the_default_release(snapshot, table) -> None:
    def r(name: str, pin: str | None = None):
        return resolve(name, pin, snapshot, table)

    assert r("libcurl4-openssl-dev").packages == ("curl-devel",)
    assert r("pkg-config").packages == ("pkgconf-pkg-config",)
    assert r("libnuma-dev").packages == ("libnuma-devel",)
    assert r("zlib1g-dev").packages == ("zlib-devel",)
    assert r("build-essential").requires == ("gcc", "gcc-c++", "make", "glibc-devel", "binutils")
    cmake = r("cmake", "3.28.3*")
    assert (cmake.kind, cmake.constraint, cmake.found) == (
        "table",
        "cmake >= 3.28.3",
        "3.30.3-13.azl3",
    )
    assert cmake.requires == ("cmake >= 3.28.3",)
    assert r("cmake-data", "3.27.7*").requires == ("cmake >= 3.27.7",)
    dcgm = r("datacenter-gpu-manager", "1:3.3.6")
    assert (dcgm.kind, dcgm.spec, dcgm.constraint) == ("spec", "dcgm", "dcgm = 1:3.3.6")
    assert r("libb64-dev").kind == "spec" and r("libb64-0d").spec == "libb64"
    for name in ("docker.io", "software-properties-common", "docker-buildx-plugin"):
        res = r(name)
        assert res.kind == "not_needed" and res.reason and res.packages == ()


def test_cuda_13_era_names(snapshot, table) -> None:
    """DCGM 4's split packages stand for the dcgm spec (epoch kept, Debian revision dropped);
    NVSHMEM, which Azure Linux lacks, for a spec of its own."""
    for part in ("core", "dev"):
        res = resolve(f"datacenter-gpu-manager-4-{part}", "1:4.4.0-1", snapshot, table)
        assert (res.kind, res.spec, res.constraint) == ("spec", "dcgm", "dcgm = 1:4.4.0")
    nvshmem = resolve("libnvshmem3-cuda-13", None, snapshot, table)
    assert (nvshmem.kind, nvshmem.spec, nvshmem.packages) == ("spec", "nvshmem", ())


def test_a_pin_the_index_cannot_satisfy_is_unmapped(snapshot, table) -> None:
    res = resolve("cmake", "3.31.0*", snapshot, table)
    assert res.kind == "unmapped"
    assert "cmake >= 3.31.0" in res.reason and "3.30.3" in res.reason
    assert res.packages == () and res.suggestions == ("cmake",)


# ---------------------------------------------------------------- verification against the index


def test_table_entry_whose_package_is_missing_becomes_unmapped(table) -> None:
    index = tiny_index(("gcc", "13.2.0"), ("make", "4.4"))
    res = resolve("build-essential", None, index, table)
    assert res.kind == "unmapped" and res.packages == ()
    assert "gcc-c++ is not in the index" in res.reason


def test_capability_only_entry_needs_a_declared_capability(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[apt."libfoo-dev"]\ncapability = "pkgconfig(foo)"\n')
    table = load_table(path)
    bare = tiny_index(("foo-devel", "1.0"))
    assert resolve("libfoo-dev", None, bare, table).kind == "unmapped"
    declared = tiny_index(("foo-devel", "1.0"), provides={"foo-devel": ["pkgconfig(foo)"]})
    res = resolve("libfoo-dev", None, declared, table)
    assert (res.kind, res.packages, res.capability) == (
        "capability",
        ("foo-devel",),
        "pkgconfig(foo)",
    )


def test_rules_return_only_names_the_index_has(table) -> None:
    index = tiny_index(
        ("foo-devel", "1.0"),
        ("libbar-devel", "2.0"),
        ("baz", "3.0"),
        ("python3-qux", "1.0"),
        ("gnupg2", "2.4"),
        provides={"gnupg2": ["gnupg"]},
    )

    def r(name: str):
        return resolve(name, None, index, table)

    assert (r("libfoo-dev").packages, r("libfoo-dev").kind) == (("foo-devel",), "rule")
    assert r("libbar-dev").packages == ("libbar-devel",)
    assert r("libfoo2-dev").packages == ("foo-devel",)
    assert r("libbaz3").packages == ("baz",)
    assert r("libbaz3t64").packages == ("baz",)
    assert r("python3-qux").packages == ("python3-qux",)
    assert r("libnothere-dev").kind == "unmapped"
    assert r("libnothere-dev").packages == ()


def test_rule_by_provide_records_the_capability() -> None:
    table = load_table()
    index = tiny_index(("gnupg2", "2.4"), provides={"gnupg2": ["gpg-agent"]})
    res = resolve("gpg-agent", None, index, table)
    assert (res.kind, res.packages, res.capability) == ("rule", ("gnupg2",), "gpg-agent")


_NAMES = st.from_regex(r"\A(lib)?[a-z][a-z0-9+.-]{0,12}(-dev|[0-9]{1,2}(t64)?|-devel)?\Z")


@settings(max_examples=200, deadline=None)
@given(name=_NAMES, pin=st.none() | st.sampled_from(["1.0*", "2:3.4-1", "0.1"]))
def test_resolver_never_returns_a_name_absent_from_the_index(name: str, pin: str | None) -> None:
    index = tiny_index(
        ("gcc", "13.2.0"),
        ("zlib-devel", "1.3"),
        ("foo-devel", "1.0"),
        ("libbar", "2.0"),
        ("cmake", "3.30.3"),
        ("python3-numpy", "1.26.3"),
        provides={"zlib-devel": ["pkgconfig(zlib)"]},
    )
    res = resolve(name, pin, index, load_table())
    assert res.kind in KINDS
    assert all(index.has(p) for p in res.packages)
    assert all(index.has(s) for s in res.suggestions)
    if res.kind in ("table", "rule", "capability"):
        assert res.packages
    if res.kind == "unmapped":
        assert res.reason and res.packages == ()


def test_resolve_apt_dedups_and_sorts(snapshot) -> None:
    o = Origin("Dockerfile", 1)
    pkgs = [AptPackage("wget", None, o), AptPackage("curl", None, o), AptPackage("wget", None, o)]
    assert [r.name for r in resolve_apt(pkgs, snapshot)] == ["curl", "wget"]


# ---------------------------------------------------------------- --check-names


def test_check_names_flags_exactly_alib_devel(snapshot, table) -> None:
    checks = check_names(SEED_LINE.split(), snapshot, table)
    bad = [c for c in checks if not c.ok]
    assert [c.name for c in bad] == ["alib-devel"]
    assert bad[0].suggestions[0] == "zlib-devel"
    assert "zlib-devel" in bad[0].note
    by_name = {c.name: c for c in checks}
    assert (by_name["libcurl-devel"].how, by_name["libcurl-devel"].packages) == (
        "provide",
        ("curl-devel",),
    )
    assert (by_name["numactl-devel"].how, by_name["numactl-devel"].packages) == (
        "provide",
        ("libnuma-devel",),
    )
    assert by_name["gcc"].how == "package"
    assert exit_code(checks) == 1
    assert exit_code([c for c in checks if c.ok]) == 0


def test_check_names_suggests_zlib_devel_without_the_known_mistake(
    tmp_path: Path, snapshot
) -> None:
    """The ranking alone (edit distance, then names the table uses) puts zlib-devel first."""
    path = tmp_path / "t.toml"
    path.write_text('[apt."zlib1g-dev"]\npackages = ["zlib-devel"]\n')
    (check,) = check_names(["alib-devel"], snapshot, load_table(path))
    assert check.suggestions[0] == "zlib-devel"


def test_check_names_accepts_name_version_forms(snapshot) -> None:
    checks = check_names(["cmake-3.30.3", "cmake-3.30.3-13.azl3.x86_64", "cmake-3.28.1"], snapshot)
    assert [c.ok for c in checks] == [True, True, False]
    assert checks[2].suggestions == ("cmake",)


# ---------------------------------------------------------------- downloads and pip


BOOST_URL = "https://archives.boost.io/release/1.80.0/source/boost_1_80_0.tar.gz"
KITWARE_URL = (
    "https://github.com/Kitware/CMake/releases/download/v3.28.3/cmake-3.28.3-linux-x86_64.tar.gz"
)


def test_boost_tarball_becomes_boost_devel_when_new_enough(snapshot) -> None:
    res = match_download(BOOST_URL, snapshot)
    assert res is not None
    assert (res.kind, res.packages, res.constraint) == (
        "table",
        ("boost-devel",),
        "boost-devel >= 1.78",
    )
    old = match_download(BOOST_URL, tiny_index(("boost-devel", "1.74.0")))
    assert old is not None and old.kind == "unmapped" and "1.78" in old.reason


def test_kitware_cmake_download_and_pip_cmake(snapshot) -> None:
    res = match_download(KITWARE_URL, snapshot)
    assert res is not None and res.packages == ("cmake",) and res.constraint == "cmake >= 3.24"
    assert match_download("https://example.com/model.onnx", snapshot) is None
    key = match_download("https://apt.kitware.com/keys/kitware-archive-latest.asc", snapshot)
    assert key is not None and key.kind == "not_needed"
    pinned = match_pip("cmake==3.28.3", snapshot)
    assert pinned is not None and pinned.constraint == "cmake >= 3.28.3"
    assert match_pip("cmake>=3.18,<4", snapshot).constraint == "(cmake >= 3.18 with cmake < 4)"
    # Newer than Azure Linux's 3.30.3: the table's update_spec says specgen builds cmake itself.
    newer = match_pip("cmake==3.31.*", snapshot)
    assert (newer.kind, newer.spec, newer.constraint) == ("spec", "cmake", "cmake >= 3.31")
    r25_10 = match_pip("cmake==4.0.3", snapshot)
    assert (r25_10.kind, r25_10.constraint) == ("spec", "cmake >= 4.0.3")
    assert r25_10.found == "3.30.3-13.azl3"
    assert "3.30.3" in r25_10.reason and r25_10.requires == ("cmake >= 4.0.3",)
    # An upper bound the index misses is not something a newer build fixes.
    assert match_pip("cmake<3.20", snapshot).kind == "unmapped"
    assert match_pip("numpy<2", snapshot).packages == ("python3-numpy",)
    assert match_pip("numpy>=2", snapshot).kind == "unmapped"
    assert match_pip("docker", snapshot).kind == "not_needed"
    assert match_pip("vllm==0.7.3", snapshot) is None


# ---------------------------------------------------------------- report


def test_render_text_and_exit_code(snapshot) -> None:
    results = [resolve("cmake", "3.28.3*", snapshot), resolve("no-such-thing-dev", None, snapshot)]
    text = render_text(results)
    assert text.splitlines()[0].split() == [
        "UBUNTU",
        "KIND",
        "AZURE",
        "LINUX",
        "CONSTRAINT",
        "FOUND",
        "WHY",
    ]
    assert "cmake=3.28.3*" in text and "cmake >= 3.28.3" in text and "unmapped" in text
    assert exit_code(results) == 1
    assert json.dumps([r.to_dict() for r in results])  # JSON-ready


# ---------------------------------------------------------------- rpm version order and pins


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # from rpm's own test suite (tests/rpmvercmp.at)
        ("1.0", "1.0", 0),
        ("1.0", "2.0", -1),
        ("2.0", "1.0", 1),
        ("2.0.1", "2.0.1", 0),
        ("2.0", "2.0.1", -1),
        ("2.0.1a", "2.0.1a", 0),
        ("2.0.1a", "2.0.1", 1),
        ("5.5p1", "5.5p2", -1),
        ("5.5p10", "5.5p1", 1),
        ("10xyz", "10.1xyz", -1),
        ("xyz10", "xyz10.1", -1),
        ("xyz.4", "8", -1),
        ("8", "xyz.4", 1),
        ("5.5p1", "5.5.p1", 0),
        ("5.5p10", "5.5.p10", 0),
        ("10b2", "10a1", 1),
        ("10a2", "10b2", -1),
        ("1.0aa", "1.0a", 1),
        ("6.0.rc1", "6.0", 1),
        ("10.0001", "10.1", 0),
        ("10.0039", "10.39", 0),
        ("4.999.9", "5.0", -1),
        ("20101121", "20101122", -1),
        ("2_0", "2_0", 0),
        ("2.0", "2_0", 0),
        ("a", "a", 0),
        ("a+", "a+", 0),
        ("a+", "a_", 0),
        ("+a", "_a", 0),
        ("+_", "_+", 0),
        ("1.0~rc1", "1.0~rc1", 0),
        ("1.0~rc1", "1.0", -1),
        ("1.0", "1.0~rc1", 1),
        ("1.0~rc1", "1.0~rc2", -1),
        ("1.0~rc1~git123", "1.0~rc1", -1),
        ("1.0^", "1.0^", 0),
        ("1.0^", "1.0", 1),
        ("1.0^git1", "1.0^git2", -1),
        ("1.0^git1", "1.01", -1),
        ("1.0^20160101", "1.0.1", -1),
        ("1.0~rc1^git1", "1.0~rc1", 1),
        ("1.0^git1~pre", "1.0^git1", -1),
        ("3.30.3", "3.28.3", 1),
        ("1.83.0", "1.78", 1),
    ],
)
def test_rpmvercmp(a: str, b: str, expected: int) -> None:
    assert rpmvercmp(a, b) == expected
    assert rpmvercmp(b, a) == -expected


def test_evr_and_satisfies() -> None:
    assert EVR.parse("1:3.3.6") == EVR(1, "3.3.6", None)
    assert EVR.parse("3.30.3-13.azl3") == EVR(0, "3.30.3", "13.azl3")
    assert str(EVR.parse("1:3.0.0-14.azl3")) == "1:3.0.0-14.azl3"
    have = EVR(0, "3.30.3", "13.azl3")
    assert satisfies(have, ">=", EVR.parse("3.28.3"))
    assert satisfies(have, "=", EVR.parse("3.30.3"))  # no release asked: any release matches
    assert not satisfies(have, "=", EVR.parse("3.30.3-1.azl3"))
    assert not satisfies(have, ">=", EVR.parse("1:3.0"))  # an epoch outranks any version


@pytest.mark.parametrize(
    ("pin", "policy", "keep_epoch", "expected"),
    [
        ("3.28.3*", "auto", False, "cmake >= 3.28.3"),
        ("3.28.3*", "minimum", False, "cmake >= 3.28.3"),
        ("3.28.3-0kitware1ubuntu24.04.1", "minimum", False, "cmake >= 3.28.3"),
        ("3.28.3-0kitware1ubuntu24.04.1", "auto", False, "cmake = 3.28.3"),
        ("3.28.*", "auto", False, "cmake >= 3.28"),
        ("1:3.3.6", "auto", True, "cmake = 1:3.3.6"),
        ("1:3.3.6", "auto", False, "cmake = 3.3.6"),
        ("1:3.3.6*", "minimum", True, "cmake >= 1:3.3.6"),
        ("3.3.6", "exact", False, "cmake = 3.3.6"),
        ("3.28.3*", "ignore", False, None),
    ],
)
def test_pin_to_constraint(pin: str, policy: str, keep_epoch: bool, expected: str | None) -> None:
    assert pin_to_constraint("cmake", pin, policy, keep_epoch) == expected


def test_debian_pin_parse() -> None:
    assert DebianPin.parse("1:3.3.6") == DebianPin(1, "3.3.6", None, False)
    assert DebianPin.parse("3.28.3*") == DebianPin(0, "3.28.3", None, True)
    assert DebianPin.parse("2.1-1ubuntu2") == DebianPin(0, "2.1", "1ubuntu2", False)
    with pytest.raises(ValueError):
        pin_to_constraint("x", "1", "loose")
