"""Where an nvcc.profile sends nvcc for headers and libraries, read as nvcc reads it: `$(X)`
holes filled from the profile's own `X = ...` lines and from what nvcc itself sets: _HERE_, the
profile's folder; for x86_64, _TARGET_DIR_ = targets/x86_64-linux and _TARGET_SIZE_ empty where
that folder exists beside bin/, else _TARGET_DIR_ empty and _TARGET_SIZE_ = 64 (so says nvcc
12.5's --dryrun)."""

from __future__ import annotations

import re
from pathlib import Path

_LINE = re.compile(r"(?P<name>\w+)\s*(?P<op>=\+|\+=|=)\s*(?P<value>.*)")
_HOLE = re.compile(r"\$\((\w+)\)")
TARGET_DIR = "targets/x86_64-linux"


def search_dirs(profile: Path) -> dict[str, list[str]]:
    """{"-I": [...], "-L": [...]}: the folders of the profile's INCLUDES and LIBRARIES."""
    has_target = (profile.parent.parent / TARGET_DIR).is_dir()
    known = {
        "_HERE_": str(profile.parent),
        "_SPACE_": " ",
        "_TARGET_DIR_": TARGET_DIR if has_target else "",
        "_TARGET_SIZE_": "" if has_target else "64",
    }
    found: dict[str, list[str]] = {"-I": [], "-L": []}
    for line in profile.read_text().splitlines():
        match = _LINE.fullmatch(line.strip())
        if match is None:
            continue
        value = match["value"]
        while _HOLE.search(value):
            value = _HOLE.sub(lambda m: known[m.group(1)], value)
        if match["op"] == "=":
            known[match["name"]] = value.strip()
        for flag in re.findall(r'"(-[IL][^"]+)"', value):
            found[flag[:2]].append(flag[2:])
    return found
