"""Read only the wanted packages out of an Ubuntu suite's Packages and Contents indexes.

Contents-amd64.gz is about 51 MB packed and 800 MB unpacked: it is streamed in blocks, and a
regular expression finds the few lines that end in a wanted package's name, so neither the whole
file nor a line per file of the archive is ever held in Python.
"""

from __future__ import annotations

import io
import lzma
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from specgen.errors import SpecgenError
from specgen.mapping.repodata import open_decompressed

BLOCK = 8 << 20
_LINE = re.compile(r"^(?P<path>.*\S)\s+(?P<owners>\S+)\s*$")  # spaces or tabs between


@dataclass(frozen=True)
class DebPackage:
    """What the Packages index says of one binary package."""

    name: str
    version: str
    source: str  # the Source: field without its version, else the package's own name
    section: str
    depends: str


def read_packages(files: Iterable[Path], wanted: set[str]) -> dict[str, DebPackage]:
    """The stanzas of the wanted packages; the first index that has a name wins. Streamed line
    by line: only a wanted package's stanza is kept."""
    found: dict[str, DebPackage] = {}
    for path in files:
        try:
            with path.open("rb") as raw:
                text = io.TextIOWrapper(open_decompressed(raw, str(path)), "utf-8", "replace")
                for fields in _wanted_stanzas(text, wanted):
                    name = fields["Package"]
                    if name not in found:
                        found[name] = DebPackage(
                            name=name,
                            version=fields.get("Version", ""),
                            source=fields.get("Source", name).split(" ", 1)[0],
                            section=fields.get("Section", ""),
                            depends=fields.get("Depends", ""),
                        )
        except (OSError, EOFError, ValueError, lzma.LZMAError) as err:
            raise SpecgenError(f"{path}: unreadable Packages index ({err})") from None
    return found


def _wanted_stanzas(lines: Iterable[str], wanted: set[str]) -> Iterator[dict[str, str]]:
    fields: dict[str, str] | None = None
    for line in lines:
        if line.startswith("Package:"):
            name = line[8:].strip()
            fields = {"Package": name} if name in wanted else None
        elif line == "\n":
            if fields is not None:
                yield fields
            fields = None
        elif fields is not None and line[:1].strip() and ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    if fields is not None:
        yield fields


def _line_owners(line: str) -> tuple[str, list[str]]:
    """`path   sec/pkg1,sec/pkg2` -> (path, [pkg1, pkg2]); the path may hold spaces."""
    m = _LINE.match(line)
    if not m:
        return line, []
    owners = m.group("owners").split(",")
    return m.group("path"), [loc.rsplit("/", 1)[-1] for loc in owners if loc]


def read_contents(path: Path, wanted: set[str]) -> dict[str, list[str]]:
    """Every file path (as Contents writes it, without a leading /) of the wanted packages."""
    files: dict[str, list[str]] = {name: [] for name in wanted}
    if not wanted:
        return files
    names = b"|".join(re.escape(n.encode()) for n in sorted(wanted, key=len, reverse=True))
    hit = re.compile(rb"/(?:" + names + rb")(?=[,\n])")
    carry = b""
    try:
        with path.open("rb") as raw:
            stream = open_decompressed(raw, str(path))
            while True:
                block = stream.read(BLOCK)
                data = carry + block
                end = data.rfind(b"\n") + 1 if block else len(data)
                if not block and data and not data.endswith(b"\n"):
                    data += b"\n"
                    end = len(data)
                carry = data[end:]
                _collect(data[:end], hit, wanted, files)
                if not block:
                    break
    except (OSError, EOFError, ValueError) as err:
        raise SpecgenError(f"{path}: unreadable Contents index ({err})") from None
    return {name: sorted(set(paths)) for name, paths in files.items()}


def _collect(
    data: bytes, hit: re.Pattern[bytes], wanted: set[str], out: dict[str, list[str]]
) -> None:
    last = -1
    for m in hit.finditer(data):
        start = data.rfind(b"\n", 0, m.start()) + 1
        if start == last:
            continue  # two wanted names on one line: read once
        last = start
        stop = data.find(b"\n", m.end())
        line = data[start:stop].decode("utf-8", errors="replace")
        if line.startswith("FILE ") and "LOCATION" in line:
            continue  # the header older Contents files have
        path, owners = _line_owners(line)
        for owner in owners:
            if owner in wanted:
                out[owner].append(path)
