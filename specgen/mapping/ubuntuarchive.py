"""Ubuntu's archive as `map --by-content` reads it: which suite, its signed InRelease, and the
Contents and Packages indexes, each verified by the sha256 InRelease lists and cached.

The InRelease signature is checked with gpgv against Ubuntu's archive keyring; without one the
read is refused unless the user allows an unsigned one, and then every answer says so. Index files
are cached by their sha256 (`~/.cache/specgen/ubuntu`, or `$SPECGEN_CACHE_DIR/ubuntu`), next to
the InRelease that names them, so a second run downloads only InRelease and `offline` none.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from specgen.errors import SpecgenError
from specgen.filehash import file_facts
from specgen.inrelease import sha256_entries, unsigned_text, verify_signature
from specgen.mapping.repocache import atomic_writer, cache_root
from specgen.mapping.repodata import Downloader
from specgen.recipe.model import Recipe

DATA_NAME = "ubuntu-archive.toml"
CONTENTS = "Contents-{arch}.gz"


@dataclass(frozen=True)
class ArchiveSettings:
    """data/ubuntu-archive.toml: the mirror, the releases it knows, and the path conventions."""

    mirror: str
    arch: str
    components: tuple[str, ...]
    keyring: Path
    releases: dict[str, str]  # "24.04" -> "noble"
    lib_dirs: tuple[str, ...]
    bin_dirs: tuple[str, ...]
    python_dirs: tuple[str, ...]
    translate: tuple[tuple[str, str], ...]  # Ubuntu prefix -> Azure Linux prefix, longest first


@lru_cache(maxsize=1)
def load_settings() -> ArchiveSettings:
    path = resources.files("specgen") / "data" / DATA_NAME
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    paths = data["paths"]
    translate = sorted(paths["translate"].items(), key=lambda kv: -len(kv[0]))
    return ArchiveSettings(
        mirror=data["mirror"],
        arch=data["arch"],
        components=tuple(data["components"]),
        keyring=Path(data["keyring"]),
        releases=dict(data["releases"]),
        lib_dirs=tuple(paths["lib_dirs"]),
        bin_dirs=tuple(paths["bin_dirs"]),
        python_dirs=tuple(paths["python_dirs"]),
        translate=tuple(translate),
    )


_VERSION_IN_RECIPE = (
    re.compile(r"\bubuntu:(\d\d\.\d\d)\b"),  # a base image
    re.compile(r"/ubuntu(\d\d)(\d\d)/"),  # NVIDIA's CUDA apt repository, repos/ubuntu2404/
)


def suite_for(release: str, settings: ArchiveSettings) -> str:
    """`24.04` or `noble` -> `noble`; an error naming the known ones otherwise."""
    if release in settings.releases.values():
        return release
    if release in settings.releases:
        return settings.releases[release]
    known = ", ".join(f"{v} ({c})" for v, c in sorted(settings.releases.items()))
    raise SpecgenError(f"Ubuntu release {release!r} is not known (known: {known})")


def recipe_ubuntu_version(recipe: Recipe) -> str | None:
    """The Ubuntu version the recipe's images are built on, from what its Dockerfiles name."""
    texts = [s.base_image for img in recipe.images.values() for s in img.stages]
    texts += [d.url for img in recipe.images.values() for d in img.downloads]
    found: set[str] = set()
    for text in texts:
        for pattern in _VERSION_IN_RECIPE:
            for m in pattern.finditer(text):
                found.add(".".join(m.groups()) if len(m.groups()) == 2 else m.group(1))
    if len(found) > 1:
        raise SpecgenError(
            f"the recipe names several Ubuntu releases ({', '.join(sorted(found))}): "
            "pass --ubuntu-release"
        )
    return found.pop() if found else None


def default_cache_dir() -> Path:
    """`$SPECGEN_CACHE_DIR/ubuntu`, else `$XDG_CACHE_HOME/specgen/ubuntu` (~/.cache)."""
    return cache_root() / "ubuntu"


@dataclass(frozen=True)
class SuiteIndexes:
    """The verified index files of one suite: Contents and each component's Packages."""

    suite: str
    contents: Path
    packages: tuple[Path, ...]
    description: str  # says where from, and whether the signature was checked


@dataclass(frozen=True)
class ArchiveSource:
    """One suite to read: the mirror's dists URL, the keyring (None: unsigned allowed)."""

    mirror: str
    suite: str
    arch: str
    components: tuple[str, ...]
    keyring: Path | None

    @property
    def dists(self) -> str:
        return f"{self.mirror.rstrip('/')}/dists/{self.suite}"

    def wanted(self, listed: dict[str, tuple[str, int]]) -> list[str]:
        """The index files to read: Contents, and each component's Packages (xz before gz)."""
        names = [CONTENTS.format(arch=self.arch)]
        for comp in self.components:
            for ext in (".xz", ".gz"):
                name = f"{comp}/binary-{self.arch}/Packages{ext}"
                if name in listed:
                    names.append(name)
                    break
        missing = [n for n in names[:1] if n not in listed]
        if missing:
            raise SpecgenError(f"{self.dists}/InRelease lists no {missing[0]}")
        return names


class _SuiteCache:
    """InRelease and the index files it names (by sha256) of one suite of one mirror."""

    def __init__(self, root: Path, source: ArchiveSource) -> None:
        key = hashlib.sha256(source.dists.encode()).hexdigest()[:24]
        self.dir = root / f"{source.suite}-{key}"

    @property
    def inrelease(self) -> Path:
        return self.dir / "InRelease"

    def blob(self, sha256: str) -> Path:
        return self.dir / "by-hash" / sha256

    def commit(self, inrelease: bytes, keep: set[str]) -> None:
        """Save InRelease (the commit point) and drop index files it no longer names."""
        with atomic_writer(self.inrelease) as fh:
            fh.write(inrelease)
        for old in (self.dir / "by-hash").glob("*"):
            if old.name not in keep:
                old.unlink(missing_ok=True)


def _read_inrelease(raw: bytes, path: Path, source: ArchiveSource, where: str) -> bytes:
    if source.keyring is None:
        return unsigned_text(raw)
    return verify_signature(path, source.keyring, where)


def _fetch_verified(
    url: str, sha256: str, size: int, dest: Path, downloader: Downloader, name: str
) -> None:
    """Download `url` to `dest` only if its sha256 and size are what InRelease says."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        with tmp.open("wb") as fh:
            got = downloader.fetch(url, fh, "sha256")
        have = tmp.stat().st_size
        if (got, have) != (sha256, size):
            raise SpecgenError(
                f"{url}: does not match InRelease, refusing it: InRelease lists {name} with "
                f"sha256 {sha256} and {size} bytes, the download has {got} and {have} bytes"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def load_suite(
    source: ArchiveSource,
    *,
    offline: bool = False,
    cache_dir: Path | None = None,
    downloader: Downloader | None = None,
) -> SuiteIndexes:
    """The suite's verified Contents and Packages files, from the cache when InRelease still
    names them; `offline` reads the cache only (and checks the cached InRelease again)."""
    cache = _SuiteCache(cache_dir or default_cache_dir(), source)
    where = f"{source.dists}/InRelease"
    if offline:
        if not cache.inrelease.is_file():
            raise SpecgenError(
                f"offline: no cached InRelease of {source.dists} in {cache.dir}; "
                "run once online first"
            )
        raw = cache.inrelease.read_bytes()
        listed = sha256_entries(_read_inrelease(raw, cache.inrelease, source, where))
        how = "cache, offline"
    else:
        downloader = downloader or Downloader()
        raw = downloader.get(where)
        cache.dir.mkdir(parents=True, exist_ok=True)
        scratch = cache.dir / ".InRelease.part"
        scratch.write_bytes(raw)
        try:
            listed = sha256_entries(_read_inrelease(raw, scratch, source, where))
        finally:
            scratch.unlink(missing_ok=True)
    names = source.wanted(listed)
    paths: list[Path] = []
    fetched = 0
    for name in names:
        sha, size = listed[name]
        blob = cache.blob(sha)
        if blob.is_file() and file_facts(blob) == (size, sha):
            paths.append(blob)
            continue
        if offline:
            raise SpecgenError(
                f"offline: {source.dists}/{name} is not in the cache {cache.dir}; "
                "run once online first"
            )
        assert downloader is not None
        _fetch_verified(f"{source.dists}/{name}", sha, size, blob, downloader, name)
        paths.append(blob)
        fetched += 1
    if not offline:
        how = f"InRelease fetched, {fetched} of {len(names)} indexes downloaded, the rest cached"
    if not offline:
        cache.commit(raw, {listed[n][0] for n in names})
    signed = "signature checked by gpgv" if source.keyring else "signature NOT checked (unsigned)"
    return SuiteIndexes(
        suite=source.suite,
        contents=paths[0],
        packages=tuple(paths[1:]),
        description=f"Ubuntu {source.suite}: {source.dists} (InRelease {signed}; {how})",
    )
