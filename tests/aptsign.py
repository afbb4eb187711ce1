"""A throw-away OpenPGP key in a temporary GNUPGHOME: clear-signs an InRelease the way an apt
archive does, and exports the keyring gpgv checks it with (tests skip without gpg)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def signed_inrelease(tmp_path: Path, text: str) -> tuple[bytes, Path]:
    """InRelease clear-signed by a throw-away key, and a keyring gpgv can check it with."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700, exist_ok=True)
    gpg = [
        "gpg",
        "--homedir",
        str(home),
        "--batch",
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
    ]
    keyring = tmp_path / "keyring.gpg"
    if not keyring.exists():
        subprocess.run([*gpg, "--quick-gen-key", "test <t@example.org>", "ed25519", "sign", "1d"],
                       check=True, capture_output=True)  # fmt: skip
        exported = subprocess.run([*gpg, "--export"], capture_output=True, check=True).stdout
        keyring.write_bytes(exported)
    signed = subprocess.run(
        [*gpg, "--clearsign"], input=text.encode(), capture_output=True, check=True
    ).stdout
    return signed, keyring
