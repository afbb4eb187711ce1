"""The stand-in's lock, from what the registries publish: PyPI's simple index (PEP 691 JSON,
with each file's sha256), npm's registry (dist.integrity, a sha512 the file is checked against
before its sha256 is taken) and Debian's Packages index (its sha256, reached through the
suite's InRelease, whose signature gpgv checks with Debian's archive keyring)."""

from __future__ import annotations

import base64
import hashlib
import lzma
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from specgen.errors import SpecgenError
from specgen.generate.lock import LockedSource, SourceLock
from specgen.inrelease import sha256_entry, stanzas, verify_signature
from specgen.sources.download import Fetcher
from specgen.standin.components import StandinPlan, Wanted

_PEP691 = {"Accept": "application/vnd.pypi.simple.v1+json"}


@dataclass(frozen=True)
class Registries:
    """Where each registry answers, and the keyring Debian's InRelease must be signed with."""

    pypi_simple: str = "https://pypi.org/simple"
    npm: str = "https://registry.npmjs.org"
    debian: str = "https://deb.debian.org/debian"
    debian_keyring: Path = Path("/usr/share/keyrings/debian-archive-keyring.gpg")


@dataclass(frozen=True)
class Pin:
    url: str
    file: str
    sha256: str
    size: int
    pinned_by: str


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _wheel_matches(filename: str, want: Wanted) -> bool:
    """A wheel of this name, version, Python tag and (one of its) platform tags."""
    if not filename.endswith(".whl"):
        return False
    parts = filename[:-4].split("-")
    if len(parts) not in (5, 6):
        return False
    name, version, python, platforms = parts[0], parts[1], parts[-3], parts[-1]
    return (
        _normalize(name) == _normalize(want.name)
        and version == want.version
        and python == want.python
        and want.platform in platforms.split(".")
    )


def pin_pypi(fetcher: Fetcher, want: Wanted, where: Registries) -> Pin:
    url = f"{where.pypi_simple}/{_normalize(want.name)}/"
    resp = fetcher.session.get(url, headers=_PEP691, timeout=fetcher.timeout)
    if resp.status_code != 200:
        raise SpecgenError(f"PyPI: {want.name}: HTTP {resp.status_code} for {url}")
    found = [f for f in resp.json()["files"] if _wheel_matches(f["filename"], want)]
    if len(found) != 1:
        names = sorted(f["filename"] for f in found)
        raise SpecgenError(
            f"PyPI: {want.name}=={want.version} ({want.python}, {want.platform}): "
            f"{len(found)} wheels match {names or ''}".rstrip()
        )
    entry = found[0]
    return Pin(entry["url"].split("#", 1)[0], entry["filename"], entry["hashes"]["sha256"],
               int(entry["size"]), f"PyPI simple index ({want.name} {want.version})")  # fmt: skip


def pin_npm(fetcher: Fetcher, want: Wanted, where: Registries, scratch: Path) -> Pin:
    """npm publishes sha512 only: download, check it, and take the sha256 of those bytes."""
    meta = fetcher.session.get(f"{where.npm}/{want.name}/{want.version}", timeout=fetcher.timeout)
    if meta.status_code != 200:
        raise SpecgenError(f"npm: {want.name}@{want.version}: HTTP {meta.status_code}")
    dist = meta.json()["dist"]
    algo, _, b64 = str(dist["integrity"]).partition("-")
    if algo != "sha512":
        raise SpecgenError(f"npm: {want.name}@{want.version}: integrity is {algo}, not sha512")
    tarball = str(dist["tarball"])
    part = scratch / tarball.rsplit("/", 1)[1]
    fetcher.to_part(tarball, part, part.name, None)
    data = part.read_bytes()
    if hashlib.sha512(data).digest() != base64.b64decode(b64):
        raise SpecgenError(f"npm: {tarball}: its sha512 differs from the registry's integrity")
    return Pin(tarball, part.name, hashlib.sha256(data).hexdigest(), len(data),
               f"npm registry {want.name}@{want.version}: sha512 matched dist.integrity, "
               "sha256 computed from the same bytes")  # fmt: skip


def pin_deb(fetcher: Fetcher, want: Wanted, where: Registries, scratch: Path) -> Pin:
    dists = f"{where.debian}/dists/{want.suite}"
    inrelease = scratch / f"{want.suite}-InRelease"
    inrelease.write_bytes(fetcher.get_bytes(f"{dists}/InRelease"))
    signed = verify_signature(inrelease, where.debian_keyring, f"Debian: {dists}/InRelease")
    index = f"{want.area}/binary-amd64/Packages.xz"
    sha, size = sha256_entry(signed, index, "Debian")
    packed = fetcher.get_bytes(f"{dists}/{index}")
    if (hashlib.sha256(packed).hexdigest(), len(packed)) != (sha, size):
        raise SpecgenError(f"Debian: {dists}/{index} does not match its InRelease")
    for fields in stanzas(lzma.decompress(packed).decode()):
        if fields.get("Package") == want.name and fields.get("Version") == want.version:
            filename = fields["Filename"]
            return Pin(f"{where.debian}/{filename}", filename.rsplit("/", 1)[1], fields["SHA256"],
                       int(fields["Size"]), f"Debian {want.suite} {want.area} amd64 Packages "
                       "(InRelease checked by gpgv)")  # fmt: skip
    raise SpecgenError(f"Debian {want.suite}: no {want.name} {want.version} in {index}")


def locked_entry(want: Wanted, lock: SourceLock) -> LockedSource | None:
    """The lock's file for a plan entry: registries name files <name>[-_]<version>..."""
    stem = f"{want.name}_{want.version}".replace("-", "_")
    found = [s for s in lock.sources if s.file.replace("-", "_").startswith(stem)]
    return found[0] if len(found) == 1 else None


def pin_all(
    fetcher: Fetcher,
    plan: StandinPlan,
    where: Registries | None = None,
    only: frozenset[str] = frozenset(),
    keep: SourceLock | None = None,
) -> SourceLock:
    """A lock pinning every file the plan names, each with its registry's hash. With `only`,
    just those names are asked for; every other entry is taken from `keep`, unchanged (an
    entry `keep` lacks is an error: nothing goes unpinned)."""
    where = where or Registries()
    unknown = sorted(only - {w.name for w in plan.wanted})
    if unknown:
        raise SpecgenError(f"the stand-in plan names no {', '.join(unknown)}")
    sources: list[LockedSource] = []
    with tempfile.TemporaryDirectory(prefix="standin-pin-") as tmp:
        scratch = Path(tmp)
        for want in plan.wanted:
            if only and want.name not in only:
                kept = locked_entry(want, keep) if keep is not None else None
                if kept is None or kept.packages != (want.feeds,):
                    raise SpecgenError(
                        f"the stand-in lock has no pin of {want.name} {want.version} for "
                        f"{want.feeds}: pin it too"
                    )
                sources.append(kept)
                continue
            if want.kind == "pypi":
                pin = pin_pypi(fetcher, want, where)
            elif want.kind == "npm":
                pin = pin_npm(fetcher, want, where, scratch)
            else:
                pin = pin_deb(fetcher, want, where, scratch)
            sources.append(LockedSource(file=pin.file, url=pin.url, sha256=pin.sha256,
                                        size=pin.size, pinned_by=pin.pinned_by,
                                        packages=(want.feeds,), arch="x86_64"))  # fmt: skip
    return SourceLock(release=plan.release, sources=tuple(sources))
