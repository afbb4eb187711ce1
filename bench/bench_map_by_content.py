"""What `specgen map --by-content` finds when the table knows nothing, against the real archive.

Every `[apt]` entry of the table is left out, and every apt name of a release's recipe is looked
up by content in Ubuntu's real archive (the suite the recipe names) against the shipped Azure
Linux snapshot. Prints the time of the look-up (the Contents scan; downloads are cached after the
first run), the count of each status, and how often the package found agrees with the curated
table's answer. Needs archive.ubuntu.com (or the cache) and Ubuntu's archive keyring.

    .venv/bin/python bench/bench_map_by_content.py [--release 25.03] [--keyring FILE] [--list]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from specgen.mapping.contentlookup import look_up
from specgen.mapping.snapshot import load_snapshot, source_packages
from specgen.mapping.table import Entry, load_table
from specgen.mapping.ubuntuarchive import (
    ArchiveSource,
    load_settings,
    recipe_ubuntu_version,
    suite_for,
)
from specgen.recipe.dryrun import load_or_default


def _curated(entry: Entry | None) -> tuple[str, ...]:
    if entry is None:
        return ()
    if entry.spec:
        return (f"spec {entry.spec}",)
    if entry.not_needed:
        return ("not_needed",)
    return entry.packages or ((entry.capability,) if entry.capability else ())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--release", default="25.03")
    parser.add_argument("--keyring", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--list", action="store_true", help="print every name's finding")
    args = parser.parse_args()

    settings = load_settings()
    recipe = load_or_default([], release=args.release)
    version = recipe_ubuntu_version(recipe)
    if version is None:
        raise SystemExit(f"the recipe of {args.release} names no Ubuntu release")
    suite = suite_for(version, settings)
    names = sorted(
        {p.name for role in ("buildbase", "runtime") if role in recipe.images
         for p in recipe.images[role].apt}
    )  # fmt: skip
    archive = ArchiveSource(
        settings.mirror, suite, settings.arch, settings.components, args.keyring or settings.keyring
    )
    table = load_table()
    start = time.perf_counter()
    report = look_up(
        names,
        archive,
        load_snapshot(),
        cache_dir=args.cache_dir,
        sources=source_packages(),
        table=table,
    )
    seconds = time.perf_counter() - start
    statuses = Counter(f.status for f in report.findings)
    agree = differ = 0
    for f in report.findings:
        curated = _curated(table.apt.get(f.name))
        same = bool(set(f.packages) & set(curated))
        if f.packages:
            agree, differ = agree + same, differ + (not same)
        if args.list:
            found = ", ".join(f.packages) or "-"
            print(f"{f.name:32} {f.status:13} {found:32} table: {', '.join(curated) or '-'}")
    print(report.ubuntu)
    print(
        f"{args.release} ({suite}): {len(names)} apt names looked up in {seconds:.1f} s; "
        + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
        + f"; a package found for {agree + differ}: the table's own answer for {agree}, "
        f"another for {differ}"
    )


if __name__ == "__main__":
    main()
