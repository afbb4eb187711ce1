"""An SPDX 2.3 document of a built repository: what is in it, under which license, from where.

Every RPM is a package (version, declared license, sha256 of the file, build date), GENERATED_FROM
its source package (the spec's SRPM, whether or not the repository holds it), which CONTAINS the
spec's Sources (download URL and sha256 from the source lock; files shipped beside the spec by
their signature); an RPM DEPENDS_ON each RPM of the repository that provides what it requires,
and its comment names what it requires from outside. spdx-tools builds and validates the
document. The output is the same bytes for the same repository and inputs: the namespace is
derived from the content and the creation time is SOURCE_DATE_EPOCH or the newest changelog
date, never the clock unless asked.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from license_expression import ExpressionError, LicenseExpression
from spdx_tools.common.spdx_licensing import spdx_licensing
from spdx_tools.spdx.model import (
    Actor,
    ActorType,
    Checksum,
    ChecksumAlgorithm,
    CreationInfo,
    Document,
    ExtractedLicensingInfo,
    Package,
    PackagePurpose,
    Relationship,
    RelationshipType,
    SpdxNoAssertion,
)
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

from specgen import __version__
from specgen.errors import SpecgenError
from specgen.rpmread import RpmPackage

SPDX_VERSION = "SPDX-2.3"
DOCUMENT_ID = "SPDXRef-DOCUMENT"
# .invalid never resolves (RFC 2606): a namespace names the document, it is not a download.
DEFAULT_NAMESPACE_BASE = "https://specgen.invalid/spdxdocs"
_ARCHIVE = re.compile(r"\.(tar(\.\w+)?|tgz|zip|whl|tbz2|txz)$")
_NOT_ID = re.compile(r"[^A-Za-z0-9.-]+")


@dataclass(frozen=True)
class SourceFile:
    """One Source of a spec: where it is downloaded from (None: shipped beside the spec)."""

    file: str
    url: str | None
    sha256: str | None
    arch: str | None = None
    pinned_by: str | None = None


@dataclass(frozen=True)
class RepoRpm:
    """An RPM of the repository, its path there and the sha256 of the file."""

    rpm: RpmPackage
    sha256: str


def _spdx_id(kind: str, name: str) -> str:
    return f"SPDXRef-{kind}-{_NOT_ID.sub('-', name)}"


def _srpm_file(rpm: RpmPackage) -> str:
    return rpm.sourcerpm or f"{rpm.name}-{rpm.version}-{rpm.release}.src.rpm"


def spec_name(rpm: RpmPackage) -> str:
    """The source package (spec) an RPM was built from: `cudnn-9.8.0.87-1.azl3.src.rpm` ->
    `cudnn` (version and release hold no dash)."""
    return rpm.name if rpm.source else _srpm_file(rpm).removesuffix(".src.rpm").rsplit("-", 2)[0]


def _license(text: str) -> tuple[LicenseExpression | SpdxNoAssertion, str | None, list[str]]:
    """The declared license, a comment when the tag is not SPDX, and its LicenseRef- ids."""
    if not text.strip():
        return SpdxNoAssertion(), "the RPM has no License tag", []
    try:
        expression = spdx_licensing.parse(text)
    except ExpressionError as err:
        return SpdxNoAssertion(), f"License tag {text!r} is not an SPDX expression: {err}", []
    refs = sorted({str(s) for s in expression.symbols if str(s).startswith("LicenseRef-")})
    unknown = [s for s in spdx_licensing.validate(text).invalid_symbols if s not in refs]
    if unknown:
        return SpdxNoAssertion(), f"License tag {text!r} names unknown licenses: {unknown}", []
    return expression, None, refs


def _checksums(sha256: str | None) -> list[Checksum]:
    return [Checksum(ChecksumAlgorithm.SHA256, sha256)] if sha256 else []


def _requires_outside(rpm: RpmPackage, provided: set[str]) -> list[str]:
    return sorted({str(d) for d in rpm.requires if not d.is_rpmlib and d.name not in provided})


def _providers(rpms: Sequence[RepoRpm]) -> dict[str, list[str]]:
    """Capability (package name, Provides, file path) -> ids of the binary RPMs giving it."""
    out: dict[str, list[str]] = {}
    for r in rpms:
        rid = _spdx_id("RPM", r.rpm.nevra)
        caps = {r.rpm.name, *(d.name for d in r.rpm.provides), *(f.path for f in r.rpm.files)}
        for cap in caps:
            out.setdefault(cap, []).append(rid)
    return out


def _rpm_package(r: RepoRpm, license_note: tuple[LicenseExpression | SpdxNoAssertion, str | None],
                 outside: list[str]) -> Package:  # fmt: skip
    rpm = r.rpm
    return Package(
        spdx_id=_spdx_id("RPM", rpm.nevra),
        name=rpm.name,
        download_location=SpdxNoAssertion(),
        version=rpm.evr,
        file_name=rpm.file,
        supplier=Actor(ActorType.ORGANIZATION, rpm.vendor) if rpm.vendor else None,
        files_analyzed=False,
        checksums=_checksums(r.sha256),
        homepage=rpm.url or None,
        license_concluded=SpdxNoAssertion(),
        license_declared=license_note[0],
        license_comment=license_note[1],
        copyright_text=SpdxNoAssertion(),
        summary=rpm.summary or None,
        comment="Requires from outside this repository: " + ", ".join(outside) if outside else None,
        primary_package_purpose=PackagePurpose.INSTALL,
        built_date=datetime.fromtimestamp(rpm.buildtime, UTC) if rpm.buildtime else None,
    )


def _source_package(s: SourceFile, spec: str) -> Package:
    if s.url is None:
        where = f"shipped beside the spec (specs/{spec}/{s.file}), hashed in its signatures"
    elif s.sha256 is None:
        where = "unpinned: no sha256 is known for this download"
    else:
        where = f"sha256 pinned by {s.pinned_by or 'the source lock'}"
    arch = f"; used by {s.arch} builds only" if s.arch else ""
    return Package(
        spdx_id=_spdx_id("Source", s.file),
        name=s.file,
        download_location=s.url or SpdxNoAssertion(),
        file_name=s.file,
        files_analyzed=False,
        checksums=_checksums(s.sha256),
        license_concluded=SpdxNoAssertion(),
        license_declared=SpdxNoAssertion(),
        copyright_text=SpdxNoAssertion(),
        comment=f"Source of {spec}: {where}{arch}",
        primary_package_purpose=PackagePurpose.ARCHIVE if _ARCHIVE.search(s.file)
        else PackagePurpose.FILE,
    )  # fmt: skip


def created_time(rpms: Iterable[RpmPackage], source_date_epoch: str | None) -> datetime:
    """SOURCE_DATE_EPOCH when set, else the newest changelog date (else build time) of the RPMs."""
    if source_date_epoch:
        try:
            return datetime.fromtimestamp(int(source_date_epoch), UTC)
        except ValueError:
            raise SpecgenError(
                f"SOURCE_DATE_EPOCH={source_date_epoch!r} is not a number of seconds"
            ) from None
    newest = max((r.changelog_time or r.buildtime for r in rpms), default=0)
    return datetime.fromtimestamp(newest, UTC)


@dataclass(frozen=True)
class SbomInputs:
    """What the document describes: the repository's RPMs and each spec's Sources."""

    rpms: Sequence[RepoRpm]
    sources: Mapping[str, Sequence[SourceFile]]  # spec (source package) name -> its Sources
    release: str | None = None


def build_document(
    inputs: SbomInputs, created: datetime, namespace_base: str = DEFAULT_NAMESPACE_BASE
) -> Document:
    """The SPDX document of the repository (not yet validated)."""
    binaries = sorted((r for r in inputs.rpms if not r.rpm.source), key=lambda r: r.rpm.file)
    if not binaries:
        raise SpecgenError("the repository holds no binary RPM to describe")
    repo_srpms = {Path(r.rpm.file).name: r for r in inputs.rpms if r.rpm.source}
    providers = _providers(binaries)
    provided = set(providers)
    packages: list[Package] = []
    relationships: list[Relationship] = []
    license_refs: dict[str, set[str]] = {}
    srpms: dict[str, list[RepoRpm]] = {}

    for r in binaries:
        expression, note, refs = _license(r.rpm.license)
        for ref in refs:
            license_refs.setdefault(ref, set()).update(
                f.path for f in r.rpm.files if f.is_license
            )
        outside = _requires_outside(r.rpm, provided)
        packages.append(_rpm_package(r, (expression, note), outside))
        rid = _spdx_id("RPM", r.rpm.nevra)
        relationships.append(Relationship(DOCUMENT_ID, RelationshipType.DESCRIBES, rid))
        needed = {p for d in r.rpm.requires if not d.is_rpmlib for p in providers.get(d.name, ())}
        relationships += [Relationship(rid, RelationshipType.DEPENDS_ON, p)
                          for p in sorted(needed - {rid})]  # fmt: skip
        srpm_file = _srpm_file(r.rpm)
        srpms.setdefault(srpm_file, []).append(r)
        relationships.append(Relationship(rid, RelationshipType.GENERATED_FROM,
                                          _spdx_id("SRPM", srpm_file.removesuffix(".src.rpm"))))

    source_packages: dict[str, Package] = {}
    for srpm_file, built in sorted(srpms.items()):
        spec = spec_name(built[0].rpm)
        main = next((b for b in built if b.rpm.name == spec), built[0])
        expression, note, _ = _license(main.rpm.license)
        in_repo = repo_srpms.get(srpm_file)
        sid = _spdx_id("SRPM", srpm_file.removesuffix(".src.rpm"))
        packages.append(Package(
            spdx_id=sid,
            name=spec,
            download_location=SpdxNoAssertion(),
            version=main.rpm.evr,
            file_name=in_repo.rpm.file if in_repo else srpm_file,
            files_analyzed=False,
            checksums=_checksums(in_repo.sha256 if in_repo else None),
            homepage=main.rpm.url or None,
            license_concluded=SpdxNoAssertion(),
            license_declared=expression,
            license_comment=note,
            copyright_text=SpdxNoAssertion(),
            comment=None if in_repo else "The source package (spec and Sources) the RPMs were "
            "built from; the repository does not hold it.",
            primary_package_purpose=PackagePurpose.SOURCE,
        ))  # fmt: skip
        for s in sorted(inputs.sources.get(spec, ()), key=lambda s: s.file):
            pkg = source_packages.setdefault(s.file, _source_package(s, spec))
            relationships.append(Relationship(sid, RelationshipType.CONTAINS, pkg.spdx_id))
    packages += [source_packages[f] for f in sorted(source_packages)]

    extracted = [
        ExtractedLicensingInfo(
            license_id=ref,
            extracted_text="The terms ship with the packages, in their %license files: "
            + (", ".join(sorted(paths)) or "none listed"),
            license_name=ref.removeprefix("LicenseRef-"),
        )
        for ref, paths in sorted(license_refs.items())
    ]
    name = f"Triton {inputs.release} RPM repository" if inputs.release else "RPM repository"
    key = "\n".join(
        [f"{r.rpm.file} {r.sha256}" for r in sorted(inputs.rpms, key=lambda r: r.rpm.file)]
        + [f"{p.spdx_id} {p.checksums[0].value if p.checksums else ''}"
           for p in source_packages.values()]
    )  # fmt: skip
    namespace = f"{namespace_base.rstrip('/')}/{_NOT_ID.sub('-', name.lower())}-" + str(
        uuid.uuid5(uuid.NAMESPACE_URL, key)
    )
    creation = CreationInfo(
        spdx_version=SPDX_VERSION,
        spdx_id=DOCUMENT_ID,
        name=name,
        document_namespace=namespace,
        creators=[Actor(ActorType.TOOL, f"specgen-{__version__}")],
        created=created,
        document_comment="Made by `specgen sbom` from the RPMs of a repository that `specgen "
        "build` filled, the source lock and the specs' signatures.",
    )
    return Document(creation, packages=packages, relationships=sorted(relationships, key=_order),
                    extracted_licensing_info=extracted)  # fmt: skip


def _order(r: Relationship) -> tuple[str, str, str]:
    return (r.spdx_element_id, r.relationship_type.name, str(r.related_spdx_element_id))


def to_json(document: Document) -> str:
    """The document as SPDX JSON, after spdx-tools' validator found nothing wrong."""
    problems = validate_full_spdx_document(document)
    if problems:
        detail = "; ".join(m.validation_message for m in problems[:5])
        raise SpecgenError(f"the SBOM does not validate ({len(problems)} problems): {detail}")
    out = io.StringIO()
    write_document_to_stream(document, out, validate=False)
    return out.getvalue() + "\n"
