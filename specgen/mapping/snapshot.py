"""The offline snapshot of Azure Linux 3.0: a PackageIndex that works without the network.

Built from ../shared/azurelinux-3.0/ (packages.tsv: every binary package of branch 3.0;
provides.tsv: the Provides rpmspec can see) into a small gzipped JSON file shipped with specgen.
Its `sources` line says it is a snapshot, and of what date, so an answer given from it is never
mistaken for one checked against the live repositories. Declared Provides only: automatic
`pkgconfig(...)`, soname and `cmake(...)` Provides are made at build time and are absent.

Rebuild with
`python -m specgen.mapping.snapshot ../shared specgen/data/azurelinux-3.0-snapshot.json.gz`;
the bytes are deterministic (sorted keys, gzip mtime 0).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from specgen.errors import InputError
from specgen.mapping.pkgindex import PackageIndex, PackageInfo
from specgen.rpmver import EVR, compare_evr

FORMAT = 1
DEFAULT_BRANCH = "3.0"
DEFAULT_DATE = "2026-04-28"
SNAPSHOT_NAME = "azurelinux-3.0-snapshot.json.gz"

# specs dir -> the PMC repository its RPMs are published in
_REPO_OF_SPECS_DIR = {"SPECS": "base", "SPECS-SIGNED": "base", "SPECS-EXTENDED": "extended"}
# preference among duplicate rows of one name with equal EVR
_SPECS_DIR_RANK = {"SPECS": 0, "SPECS-SIGNED": 1, "SPECS-EXTENDED": 2}
# rpm's ISA suffix -> RPM arch
_ISA_ARCH = {"x86-64": "x86_64", "aarch-64": "aarch64"}
_ARCH_ISA = {v: k for k, v in _ISA_ARCH.items()}
_PROVIDE = re.compile(r"^(?P<cap>.+?)(?:\s+(?P<op>[<>=]=?)\s+(?P<evr>\S+))?$")
_ISA = re.compile(r"^(?P<name>.+)\((?P<isa>x86-64|aarch-64)\)$")


def default_path() -> Path:
    """The snapshot shipped in specgen/data."""
    return Path(str(resources.files("specgen") / "data" / SNAPSHOT_NAME))


def _input_dir(shared_dir: Path) -> Path:
    """Accept ../shared or ../shared/azurelinux-3.0 itself."""
    for candidate in (shared_dir / "azurelinux-3.0", shared_dir):
        if (candidate / "packages.tsv").is_file() and (candidate / "provides.tsv").is_file():
            return candidate
    raise InputError(shared_dir, "no azurelinux-3.0/packages.tsv and provides.tsv here")


def _rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in columns if c not in (reader.fieldnames or ())]
        if missing:
            raise InputError(path, f"missing columns: {', '.join(missing)}")
        return list(reader)


def snapshot_payload(
    shared_dir: Path, *, branch: str = DEFAULT_BRANCH, date: str = DEFAULT_DATE
) -> dict[str, Any]:
    """The snapshot as plain data: one record per binary package name.

    A name built by several specs (golang-1.23 ... golang, rdma-core in SPECS and SPECS-EXTENDED)
    keeps the highest EVR, as tdnf would install; its Provides are the union over all rows.
    """
    src = _input_dir(shared_dir)
    packages_tsv, provides_tsv = src / "packages.tsv", src / "provides.tsv"
    pkg_rows = _rows(
        packages_tsv, ("binary_package_name", "source_spec_name", "version", "release", "specs_dir")
    )
    prov_rows = _rows(provides_tsv, ("provide", "binary_package_name", "kind"))

    epochs: dict[tuple[str, str, str], int] = {}
    arches: dict[str, set[str]] = {}
    provides: dict[str, set[str]] = {}
    for row in prov_rows:
        name = row["binary_package_name"]
        m = _PROVIDE.match(row["provide"].strip())
        if not m:
            continue
        cap, evr = m.group("cap"), m.group("evr")
        isa = _ISA.match(cap)
        if cap == name and evr:
            parsed = EVR.parse(evr)
            epochs[(name, parsed.version, parsed.release or "")] = parsed.epoch
            continue
        if isa and isa.group("name") == name:
            arches.setdefault(name, set()).add(_ISA_ARCH[isa.group("isa")])
            continue
        provides.setdefault(name, set()).add(cap)

    chosen: dict[str, dict[str, str]] = {}
    for row in pkg_rows:
        name = row["binary_package_name"]
        old = chosen.get(name)
        if old is None or _better(row, old):
            chosen[name] = row

    records: dict[str, Any] = {}
    for name, row in chosen.items():
        epoch = epochs.get((name, row["version"], row["release"]), 0)
        records[name] = {
            "version": row["version"],
            "release": row["release"],
            "epoch": epoch,
            "source": row["source_spec_name"],
            "repo": _REPO_OF_SPECS_DIR.get(row["specs_dir"], row["specs_dir"]),
            "arches": sorted(arches.get(name, ())) or ["noarch"],
            "provides": sorted(provides.get(name, ())),
        }
    return {
        "format": FORMAT,
        "distribution": "Azure Linux",
        "branch": branch,
        "date": date,
        "origin": "../shared/azurelinux-3.0 (packages.tsv, provides.tsv)",
        "inputs": {p.name: _sha256(p) for p in (packages_tsv, provides_tsv)},
        "provides": "declared only: no automatic pkgconfig(), soname or cmake() Provides",
        "packages": records,
    }


def _better(row: dict[str, str], old: dict[str, str]) -> bool:
    new_evr = EVR(0, row["version"], row["release"])
    old_evr = EVR(0, old["version"], old["release"])
    rc = compare_evr(new_evr, old_evr)
    if rc:
        return rc > 0
    return _SPECS_DIR_RANK.get(row["specs_dir"], 9) < _SPECS_DIR_RANK.get(old["specs_dir"], 9)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def encode(payload: dict[str, Any]) -> bytes:
    """Deterministic bytes: sorted keys, compact separators, gzip with mtime 0."""
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return gzip.compress((raw + "\n").encode("ascii"), compresslevel=9, mtime=0)


def build_snapshot(
    shared_dir: Path, *, branch: str = DEFAULT_BRANCH, date: str = DEFAULT_DATE
) -> bytes:
    """The shipped file's bytes, from ../shared (or ../shared/azurelinux-3.0)."""
    return encode(snapshot_payload(shared_dir, branch=branch, date=date))


@lru_cache(maxsize=4)
def _read(path: str) -> dict[str, Any]:
    try:
        data = json.loads(gzip.decompress(Path(path).read_bytes()))
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a readable specgen snapshot: {exc}") from exc
    if data.get("format") != FORMAT:
        raise InputError(path, f"snapshot format {data.get('format')!r}, expected {FORMAT}")
    return data


def describe(data: dict[str, Any], arch: str) -> str:
    """The `sources` line: says plainly that this is an offline snapshot, and of when."""
    return (
        f"offline snapshot of {data['distribution']} {data['branch']} "
        f"(branch {data['branch']}, dated {data['date']}, {arch}) from {data['origin']}; "
        f"Provides {data['provides']}"
    )


def load_snapshot(path: Path | None = None, arch: str = "x86_64") -> PackageIndex:
    """A fresh PackageIndex of the packages built for `arch` (noarch included)."""
    if arch not in _ARCH_ISA:
        raise ValueError(f"unknown arch {arch!r}; expected one of {sorted(_ARCH_ISA)}")
    data = _read(str(path or default_path()))
    other_isa = tuple(f"({isa})" for a, isa in _ARCH_ISA.items() if a != arch)
    index = PackageIndex(sources=[describe(data, arch)])
    for name, rec in data["packages"].items():
        pkg_arches = rec["arches"]
        if arch not in pkg_arches and "noarch" not in pkg_arches:
            continue
        pkg_arch = arch if arch in pkg_arches else "noarch"
        caps = [c for c in rec["provides"] if not c.endswith(other_isa)]
        if pkg_arch != "noarch":
            caps.append(f"{name}({_ARCH_ISA[arch]})")
        index.add(
            PackageInfo(
                name=name,
                version=rec["version"],
                release=rec["release"],
                epoch=rec["epoch"],
                arch=pkg_arch,
                repo=rec["repo"],
            ),
            caps,
        )
    return index


def source_packages(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Azure Linux source spec name -> the binary packages it builds, sorted (the snapshot keeps
    each binary package's `source_spec_name`; repodata's primary index is not read for it)."""
    data = _read(str(path or default_path()))
    by_source: dict[str, list[str]] = {}
    for name, rec in data["packages"].items():
        by_source.setdefault(rec["source"], []).append(name)
    return {src: tuple(sorted(names)) for src, names in by_source.items()}


def main(argv: list[str] | None = None) -> int:
    """`python -m specgen.mapping.snapshot SHARED_DIR OUT`: (re)build the shipped snapshot."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m specgen.mapping.snapshot SHARED_DIR OUT", file=sys.stderr)
        return 2
    out = Path(args[1])
    data = build_snapshot(Path(args[0]))
    out.write_bytes(data)
    print(f"wrote {out} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
