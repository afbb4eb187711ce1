"""A Debian-style archive's InRelease: its signature checked with gpgv against a keyring, and the
sha256 and size it records for each index file. Debian's archive (the stand-in's pins) and
Ubuntu's (`specgen map --by-content`) are both read through it, so an index file is only ever
trusted through a signature that gpgv checked."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from specgen.errors import SpecgenError

_BEGIN = "-----BEGIN PGP SIGNED MESSAGE-----"
_SIGNATURE = "-----BEGIN PGP SIGNATURE-----"


def verify_signature(inrelease: Path, keyring: Path, where: str) -> bytes:
    """The signed text of `inrelease` once gpgv has checked it against `keyring`.

    `where` names the file in errors (its URL). A missing keyring or gpgv is an error, never a
    silent pass: the caller decides whether an unsigned read is allowed (`unsigned_text`).
    """
    if shutil.which("gpgv") is None:
        raise SpecgenError(f"{where}: gpgv is not installed, so its signature cannot be checked")
    if not keyring.is_file():
        raise SpecgenError(f"{where}: no keyring at {keyring} to check its signature with")
    checked = subprocess.run(
        ["gpgv", "--keyring", str(keyring.resolve()), "--output", "-", str(inrelease)],
        capture_output=True,
        check=False,
    )
    if checked.returncode != 0:
        tail = " ".join(checked.stderr.decode(errors="replace").split())[-300:]
        raise SpecgenError(f"{where}: gpgv: {tail}")
    return checked.stdout


def unsigned_text(data: bytes) -> bytes:
    """The text of an InRelease without checking its signature (only when a user allows it)."""
    text = data.decode(errors="replace")
    if text.startswith(_BEGIN):
        body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
        text = body.split(_SIGNATURE, 1)[0]
        text = re.sub(r"(?m)^- ", "", text)  # clear-signing's dash escaping
    return text.encode()


def sha256_entries(signed: bytes) -> dict[str, tuple[str, int]]:
    """Index file path (relative to the suite) -> (sha256, size), from the SHA256 field."""
    entries: dict[str, tuple[str, int]] = {}
    in_sha256 = False
    for line in signed.decode(errors="replace").splitlines():
        if line.startswith("SHA256:"):
            in_sha256 = True
        elif in_sha256 and line.startswith(" "):
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit():
                entries[parts[2]] = (parts[0].lower(), int(parts[1]))
        else:
            in_sha256 = False
    return entries


def sha256_entry(signed: bytes, path: str, where: str) -> tuple[str, int]:
    """The (sha256, size) InRelease records for one index file; an error naming it if none."""
    try:
        return sha256_entries(signed)[path]
    except KeyError:
        raise SpecgenError(f"{where}: InRelease lists no {path}") from None


def stanzas(text: str) -> Iterator[dict[str, str]]:
    """The stanzas of a Packages (or Release) text: field -> value of its first line."""
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields:
            yield fields
