"""Signing RPMs with gpg and rpmsign: the only place `specgen repo` runs either tool.

A key is named by id or user id in the caller's keyring (GNUPGHOME or ~/.gnupg), or given as a
file that is imported into a throw-away GNUPGHOME so the caller's keyring is never touched. The
key is resolved to one fingerprint up front: rpmsign then signs with exactly that key, and an RPM
already signed by it (or one of its subkeys) is left alone, so a re-run rewrites no file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from specgen.atomic import write_atomic
from specgen.errors import SpecgenError

_INSTALL = {
    "gpg": "`tdnf install gnupg2` or `apt-get install gpg gpg-agent`",
    "rpmsign": "`tdnf install rpm-build`, `dnf install rpm-sign` or `apt-get install rpm`",
    "rpm": "`tdnf install rpm` or `apt-get install rpm`",
}
# The signature of either header-signature tag (RSA keys use one, DSA/ECDSA/EdDSA the other).
_SIG_QUERY = "%|DSAHEADER?{%{DSAHEADER:pgpsig}}:{%|RSAHEADER?{%{RSAHEADER:pgpsig}}:{(none)}|}|"
_KEY_ID = re.compile(r"Key ID ([0-9A-Fa-f]+)")


@dataclass(frozen=True)
class SigningKey:
    """One secret key, pinned by fingerprint, and the keyring it lives in."""

    fingerprint: str
    key_ids: frozenset[str]  # long ids (lower case) of the primary key and its subkeys
    uid: str
    gnupghome: Path | None  # None: the caller's own keyring
    gpg_name: str  # what rpmsign's gpg -u gets

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.gnupghome is not None:
            env["GNUPGHOME"] = str(self.gnupghome)
        return env

    def label(self) -> str:
        return f"{self.fingerprint} ({self.uid})" if self.uid else self.fingerprint


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise SpecgenError(
            f"{name} is not on PATH, needed to sign RPMs (install it: {_INSTALL[name]})"
        )
    return exe


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def _gpg(args: list[str], home: Path | None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    if home is not None:
        env["GNUPGHOME"] = str(home)
    return subprocess.run(
        [_tool("gpg"), "--batch", "--no-tty", *args],
        capture_output=True, env=env, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


@dataclass
class _Listed:
    fingerprint: str = ""
    key_ids: set[str] = field(default_factory=set)
    uid: str = ""
    caps: str = ""


def parse_secret_keys(colons: str) -> list[_Listed]:
    """One entry per primary key in `gpg --with-colons --list-secret-keys` output."""
    keys: list[_Listed] = []
    primary_fpr_next = False
    for line in colons.splitlines():
        f = line.split(":")
        if f[0] == "sec" and len(f) > 11:
            keys.append(_Listed(key_ids={f[4].lower()}, caps=f[11]))
            primary_fpr_next = True
        elif f[0] == "ssb" and keys:
            keys[-1].key_ids.add(f[4].lower())
            primary_fpr_next = False
        elif f[0] == "fpr" and keys and primary_fpr_next:
            keys[-1].fingerprint = f[9]
            primary_fpr_next = False
        elif f[0] == "uid" and keys and not keys[-1].uid:
            keys[-1].uid = f[9].replace("\\x3a", ":")
    return keys


def _resolve(spec: str, home: Path | None, where: str) -> SigningKey:
    proc = _gpg(["--with-colons", "--list-secret-keys", *([] if home else ["--", spec])], home)
    keys = parse_secret_keys(proc.stdout.decode("utf-8", "replace"))
    if not keys and home is not None:
        raise SpecgenError(
            f"the key file {spec} holds no secret key (rpmsign needs the private key: "
            "`gpg --armor --export-secret-keys KEYID > FILE`)"
        )
    if not keys:
        raise SpecgenError(
            f"no secret key {spec!r} in {where} (rpmsign needs the private key; "
            "list them with `gpg --list-secret-keys`)"
        )
    if len(keys) > 1:
        raise SpecgenError(
            f"{spec!r} matches {len(keys)} secret keys in {where} "
            f"({', '.join(k.fingerprint for k in keys)}): give one fingerprint"
        )
    key = keys[0]
    if "S" not in key.caps:
        raise SpecgenError(
            f"key {key.fingerprint} ({key.uid}) cannot sign (expired, revoked or no signing key)"
        )
    # A hex id ending in "!" asks gpg for that exact (sub)key: pass it through.
    name = spec if home is None and spec.endswith("!") else key.fingerprint
    return SigningKey(key.fingerprint, frozenset(key.key_ids), key.uid, home, name)


@contextmanager
def signing_key(spec: str) -> Iterator[SigningKey]:
    """The key `spec` names: a key id or user id in the caller's keyring, or a key file
    (imported into a temporary GNUPGHOME that is removed, agent included, on exit)."""
    for name in ("gpg", "rpmsign", "rpm"):
        _tool(name)
    path = Path(spec)
    if not path.is_file():
        yield _resolve(spec, None, "the gpg keyring (GNUPGHOME or ~/.gnupg)")
        return
    home = Path(tempfile.mkdtemp(prefix="specgen-gpg-"))  # short: gpg-agent's socket lives here
    try:
        proc = _gpg(["--import", str(path)], home)
        if proc.returncode != 0:
            detail = _last_line(proc.stderr.decode("utf-8", "replace"))
            raise SpecgenError(f"cannot import the key file {path}: {detail}")
        yield _resolve(str(path), home, f"the key file {path}")
    finally:
        gpgconf = shutil.which("gpgconf")
        if gpgconf:
            subprocess.run([gpgconf, "--homedir", str(home), "--kill", "all"],
                           capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


def export_public_key(key: SigningKey, dest: Path) -> None:
    """Write the armored public key where clients fetch it (the .repo file's gpgkey=)."""
    proc = _gpg(["--armor", "--export", key.fingerprint], key.gnupghome)
    if proc.returncode != 0 or b"BEGIN PGP PUBLIC KEY BLOCK" not in proc.stdout:
        detail = _last_line(proc.stderr.decode("utf-8", "replace"))
        raise SpecgenError(f"gpg could not export the public key {key.fingerprint}: {detail}")
    write_atomic(dest, proc.stdout)


def signer_key_id(rpm: Path) -> str | None:
    """Long id (lower case) of the key whose header signature the RPM carries; None if none."""
    proc = subprocess.run(
        [_tool("rpm"), "-qp", "--nosignature", "--nodigest", "--qf", _SIG_QUERY, str(rpm)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SpecgenError(f"cannot read {rpm}: {_last_line(proc.stderr)}")
    found = _KEY_ID.search(proc.stdout)
    return found.group(1).lower() if found else None


def _rpmsign_detail(stderr: str) -> str:
    """gpg's own complaint when there is one (rpmsign's last line only says gpg failed)."""
    gpg_lines = [ln.strip() for ln in stderr.splitlines() if ln.startswith("gpg: ")]
    if not gpg_lines:
        return _last_line(stderr)
    hint = ""
    if "signing failed" in gpg_lines[-1]:
        hint = " (a key with a passphrase needs a terminal for pinentry or gpg-agent to hold it)"
    return gpg_lines[-1] + hint


def _signed_by(rpm: Path, key: SigningKey) -> bool:
    signer = signer_key_id(rpm)
    return signer is not None and any(k.endswith(signer) for k in key.key_ids)


def sign_rpms(key: SigningKey, rpms: list[Path]) -> tuple[list[Path], list[Path]]:
    """Sign each RPM not yet signed by `key` (rpmsign rewrites it through a temporary file
    beside it); (signed, already signed). Any other signature is replaced."""
    rpmsign = _tool("rpmsign")
    signed, skipped = [], []
    for rpm in rpms:
        if _signed_by(rpm, key):
            skipped.append(rpm)
            continue
        # stdin stays the caller's: rpmsign points pinentry at that tty for a passphrase.
        proc = subprocess.run(
            [rpmsign, "--addsign", "--define", f"_gpg_name {key.gpg_name}",
             "--define", f"__gpg {_tool('gpg')}", str(rpm)],
            capture_output=True, text=True, env=key.env(), check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise SpecgenError(f"rpmsign failed on {rpm}: {_rpmsign_detail(proc.stderr)}")
        if not _signed_by(rpm, key):
            raise SpecgenError(f"rpmsign left {rpm} without a signature by {key.fingerprint}")
        signed.append(rpm)
    return signed, skipped
