"""Where each Source's sha256 and size come from: manifests, release facts, the lock.

Order of trust: a pinned entry of the source lock (hashes `specgen sources --update` read from
NVIDIA's live manifests) wins over specgen's shipped manifest copies, which win over nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from specgen.generate.lock import SourceLock
from specgen.generate.redist import shipped_manifest
from specgen.generate.release import Release


@dataclass(frozen=True)
class KnownPin:
    """A known sha256 (and size, where the source recorded one)."""

    sha256: str
    size: int | None
    pinned_by: str


class PinBook:
    """Pins by URL for one release."""

    def __init__(self, release: Release, lock: SourceLock | None = None) -> None:
        self._pins: dict[str, KnownPin] = {}
        for file in sorted(release.manifests.values()):
            manifest = shipped_manifest(file, release.cuda_major)
            for component in manifest.components.values():
                for archive in component.archives.values():
                    self._pins[archive.url] = KnownPin(archive.sha256, archive.size, file)
        for pin in release.pins:
            self._pins[pin.url] = KnownPin(pin.sha256, pin.size, pin.pinned_by)
        for entry in lock.sources if lock else ():
            if entry.sha256 is not None:
                self._pins[entry.url] = KnownPin(
                    entry.sha256, entry.size, entry.pinned_by or "source lock"
                )

    def get(self, url: str) -> KnownPin | None:
        return self._pins.get(url)
