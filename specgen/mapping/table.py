"""The mapping table (data/ubuntu-to-azurelinux.toml): entries, rules and download matches,
read and checked once. mapping.py applies it."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from specgen.errors import InputError
from specgen.rpmver import PIN_POLICIES

TABLE_NAME = "ubuntu-to-azurelinux.toml"


@dataclass(frozen=True)
class Entry:
    """One curated answer: `[apt."name"]` or `[pip."name"]` of the data file."""

    name: str
    packages: tuple[str, ...] = ()
    capability: str | None = None
    spec: str | None = None
    not_needed: str | None = None
    why: str = ""
    pin: str = "auto"
    minimum: str | None = None
    update_spec: str | None = None


@dataclass(frozen=True)
class Rule:
    """A fallback for names absent from the table: regex -> candidate names, tried in order."""

    name: str
    pattern: re.Pattern[str]
    candidates: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class DownloadRule:
    """A file fetched by the Dockerfile, matched to a package when its version is good enough."""

    name: str
    pattern: re.Pattern[str]
    packages: tuple[str, ...] = ()
    minimum: str | None = None
    not_needed: str | None = None
    why: str = ""


@dataclass(frozen=True)
class MappingTable:
    path: str
    apt: dict[str, Entry]
    rules: tuple[Rule, ...]
    downloads: tuple[DownloadRule, ...]
    pip: dict[str, Entry]
    known_mistakes: dict[str, tuple[str, str]]  # name -> (suggestion, why)

    def curated_packages(self) -> set[str]:
        """Every Azure Linux name the table uses: preferred when ranking suggestions."""
        names = {p for e in (*self.apt.values(), *self.pip.values()) for p in e.packages}
        names.update(p for d in self.downloads for p in d.packages)
        names.update(s for s, _ in self.known_mistakes.values())
        return names


def default_table_path() -> Path:
    return Path(str(resources.files("specgen") / "data" / TABLE_NAME))


_ENTRY_KEYS = {
    "packages", "capability", "spec", "not_needed", "why", "pin", "minimum", "update_spec",
}  # fmt: skip


def _entry(path: Path, section: str, name: str, raw: Any) -> Entry:
    where = f'[{section}."{name}"]'
    if not isinstance(raw, dict):
        raise InputError(path, f"{where} must be a table")
    unknown = set(raw) - _ENTRY_KEYS
    if unknown:
        raise InputError(path, f"{where}: unknown keys {', '.join(sorted(unknown))}")
    if raw.get("update_spec") and not raw.get("packages"):
        raise InputError(path, f"{where}: update_spec replaces packages too old: name them")
    targets = [k for k in ("packages", "spec", "not_needed") if raw.get(k)]
    if not targets and not raw.get("capability"):
        raise InputError(path, f"{where} needs packages, capability, spec or not_needed")
    if len(targets) > 1:
        raise InputError(path, f"{where}: {' and '.join(targets)} exclude each other")
    packages = raw.get("packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise InputError(path, f"{where}: packages must be a list of names")
    pin = raw.get("pin", "auto")
    if pin not in PIN_POLICIES:
        raise InputError(path, f"{where}: pin must be one of {', '.join(PIN_POLICIES)}")
    return Entry(
        name=name,
        packages=tuple(packages),
        capability=raw.get("capability"),
        spec=raw.get("spec"),
        not_needed=raw.get("not_needed"),
        why=raw.get("why", ""),
        pin=pin,
        minimum=raw.get("minimum"),
        update_spec=raw.get("update_spec"),
    )


def _regex(path: Path, where: str, text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise InputError(path, f"{where}: bad regex {text!r}: {exc}") from exc


def load_table(path: Path | None = None) -> MappingTable:
    """Read and validate the curated table (the shipped one unless a path is given)."""
    return _load_table(str(path or default_table_path()))


@lru_cache(maxsize=4)
def _load_table(path_str: str) -> MappingTable:
    path = Path(path_str)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(path, f"cannot read mapping table: {exc}") from exc
    apt = {name: _entry(path, "apt", name, raw) for name, raw in data.get("apt", {}).items()}
    pip = {name: _entry(path, "pip", name, raw) for name, raw in data.get("pip", {}).items()}
    rules = tuple(
        Rule(
            name=r["name"],
            pattern=_regex(path, f"rule {r['name']}", r["match"]),
            candidates=tuple(r["candidates"]),
            why=r.get("why", ""),
        )
        for r in data.get("rules", [])
    )
    downloads = tuple(
        DownloadRule(
            name=d["name"],
            pattern=_regex(path, f"download {d['name']}", d["url"]),
            packages=tuple(d.get("packages", [])),
            minimum=d.get("minimum"),
            not_needed=d.get("not_needed"),
            why=d.get("why", ""),
        )
        for d in data.get("downloads", [])
    )
    mistakes = {
        name: (raw["suggest"], raw.get("why", ""))
        for name, raw in data.get("check_names", {}).items()
    }
    return MappingTable(
        path=path_str, apt=apt, rules=rules, downloads=downloads, pip=pip, known_mistakes=mistakes
    )


