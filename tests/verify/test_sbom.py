"""The SBOM's core on RPM facts made here (no rpmbuild): licenses that are not SPDX, Sources
shipped beside a spec, a document the validator refuses, and what the command says when the
repository is missing. The SBOM of a real built repository is tested in test_build.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from specgen.cli.main import main
from specgen.errors import SpecgenError
from specgen.rpmread import Dependency, RpmPackage
from specgen.verify.sbom import (
    RepoRpm,
    SbomInputs,
    SourceFile,
    build_document,
    created_time,
    to_json,
)

WHEN = datetime(2025, 3, 26, tzinfo=UTC)


def _rpm(name: str, license: str = "MIT", **kw: object) -> RepoRpm:
    rpm = RpmPackage(name=name, version="1.0", release="1.azl3", arch="x86_64",
                     file=f"x86_64/{name}-1.0-1.azl3.x86_64.rpm", license=license,
                     sourcerpm="demo-1.0-1.azl3.src.rpm", **kw)  # type: ignore[arg-type]  # fmt: skip
    return RepoRpm(rpm, "ab" * 32)


def _doc(*rpms: RepoRpm, sources: dict | None = None, base: str | None = None) -> dict:
    inputs = SbomInputs(list(rpms), sources or {}, "25.03")
    document = build_document(inputs, WHEN, *([base] if base else []))
    return json.loads(to_json(document))


def test_a_license_that_is_not_spdx_is_noassertion_with_the_reason() -> None:
    doc = _doc(_rpm("demo", "GPLv2+"), _rpm("demo-libs", "MIT AND Apache-2.0"))
    main_pkg, libs = doc["packages"][:2]
    assert main_pkg["licenseDeclared"] == "NOASSERTION"
    assert "GPLv2+" in main_pkg["licenseComments"]
    assert libs["licenseDeclared"] == "MIT AND Apache-2.0"


def test_sources_beside_the_spec_and_unpinned_downloads_are_named_as_such() -> None:
    sources = {"demo": [
        SourceFile("demo-1.0.tar.gz", "https://example.com/demo-1.0.tar.gz", None),
        SourceFile("demo.cmake", None, "cd" * 32),
    ]}  # fmt: skip
    doc = _doc(_rpm("demo"), sources=sources)
    by_name = {p["name"]: p for p in doc["packages"]}
    tarball, shim = by_name["demo-1.0.tar.gz"], by_name["demo.cmake"]
    assert tarball["downloadLocation"] == "https://example.com/demo-1.0.tar.gz"
    assert "checksums" not in tarball and "unpinned" in tarball["comment"]
    assert tarball["primaryPackagePurpose"] == "ARCHIVE"
    assert shim["downloadLocation"] == "NOASSERTION" and "specs/demo/demo.cmake" in shim["comment"]
    assert shim["checksums"] == [{"algorithm": "SHA256", "checksumValue": "cd" * 32}]


def test_depends_on_follows_provides_and_files_inside_the_repository_only() -> None:
    libs = _rpm("demo-libs", provides=(Dependency("libdemo.so.1()(64bit)"),))
    tool = _rpm("demo-tool", requires=(Dependency("libdemo.so.1()(64bit)"), Dependency("bash"),
                                       Dependency("rpmlib(CompressedFileNames)", 1 << 24)))
    doc = _doc(libs, tool)
    relations = {(r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"])
                 for r in doc["relationships"]}  # fmt: skip
    assert ("SPDXRef-RPM-demo-tool-1.0-1.azl3.x86-64", "DEPENDS_ON",
            "SPDXRef-RPM-demo-libs-1.0-1.azl3.x86-64") in relations  # fmt: skip
    comment = next(p["comment"] for p in doc["packages"] if p["name"] == "demo-tool")
    assert comment == "Requires from outside this repository: bash"


def test_the_namespace_follows_the_content() -> None:
    one = _doc(_rpm("demo"))["documentNamespace"]
    assert one == _doc(_rpm("demo"))["documentNamespace"]
    changed = _rpm("demo")
    changed = RepoRpm(changed.rpm, "ef" * 32)
    assert _doc(changed)["documentNamespace"] != one
    assert one.startswith("https://specgen.invalid/spdxdocs/triton-25.03-rpm-repository-")


def test_a_document_the_validator_refuses_is_an_error_not_a_file() -> None:
    with pytest.raises(SpecgenError, match=r"does not validate.*document_namespace"):
        _doc(_rpm("demo"), base="not a uri")


def test_created_is_source_date_epoch_or_the_newest_changelog_date() -> None:
    rpms = [_rpm(n, changelog_time=t).rpm for n, t in (("a", 1_700_000_000), ("b", 1_600_000_000))]
    assert created_time(rpms, None) == datetime.fromtimestamp(1_700_000_000, UTC)
    assert created_time(rpms, "1") == datetime.fromtimestamp(1, UTC)
    with pytest.raises(SpecgenError, match="SOURCE_DATE_EPOCH"):
        created_time(rpms, "yesterday")


def test_sbom_of_a_missing_repository_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["sbom", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert "nope: no such folder" in result.output
    assert not (tmp_path / "nope").exists()


def test_a_source_rpm_in_the_repository_gets_its_file_and_checksum() -> None:
    srpm = RpmPackage(name="demo", version="1.0", release="1.azl3", arch="x86_64", source=True,
                      file="SRPMS/demo-1.0-1.azl3.src.rpm", license="MIT")  # fmt: skip
    doc = _doc(_rpm("demo"), RepoRpm(srpm, "12" * 32))
    source = next(p for p in doc["packages"] if p["SPDXID"] == "SPDXRef-SRPM-demo-1.0-1.azl3")
    assert source["packageFileName"] == "SRPMS/demo-1.0-1.azl3.src.rpm"
    assert source["checksums"] == [{"algorithm": "SHA256", "checksumValue": "12" * 32}]
    assert "comment" not in source and source["primaryPackagePurpose"] == "SOURCE"
    assert len(doc["packages"]) == 2  # the SRPM is not described twice
