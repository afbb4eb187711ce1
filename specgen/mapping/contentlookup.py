"""`map --by-content` end to end: Ubuntu's verified indexes in, one ContentFinding per name out.

Reads the suite (ubuntuarchive.py), keeps only the wanted packages of its Packages and Contents
(debindex.py), turns their files into evidence (debcontent.py) and looks that up in the Azure
Linux index (bycontent.py). Suggestions for a name nothing matches come from the resolver's
close-name search, so they too exist in the index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from specgen.mapping.bycontent import ContentFinding, find
from specgen.mapping.debcontent import evidence_of
from specgen.mapping.debindex import read_contents, read_packages
from specgen.mapping.pkgindex import PackageIndex
from specgen.mapping.repodata import Downloader
from specgen.mapping.resolver import suggest
from specgen.mapping.table import MappingTable
from specgen.mapping.ubuntuarchive import ArchiveSource, load_settings, load_suite


@dataclass(frozen=True)
class ContentReport:
    """The findings, and where the Ubuntu side was read (InRelease checked or not)."""

    ubuntu: str
    findings: tuple[ContentFinding, ...]


def look_up(
    names: Sequence[str],
    archive: ArchiveSource,
    index: PackageIndex,
    *,
    offline: bool = False,
    cache_dir: Path | None = None,
    sources: Mapping[str, Sequence[str]] | None = None,
    table: MappingTable | None = None,
    downloader: Downloader | None = None,
) -> ContentReport:
    """Each Ubuntu name's finding, in the order given (apt's `name:arch` read as `name`)."""
    settings = load_settings()
    suite = load_suite(archive, offline=offline, cache_dir=cache_dir, downloader=downloader)
    keys = {name: name.split(":", 1)[0].lower() for name in names}
    wanted = set(keys.values())
    debs = read_packages(suite.packages, wanted)
    files = read_contents(suite.contents, set(debs))
    findings = []
    for name, key in keys.items():
        evidence = evidence_of(files.get(key, []), settings)
        findings.append(
            find(
                name,
                debs.get(key),
                evidence,
                index,
                suite=archive.suite,
                sources=sources,
                suggestions=suggest(key, index, table),
            )
        )
    return ContentReport(ubuntu=suite.description, findings=tuple(findings))
