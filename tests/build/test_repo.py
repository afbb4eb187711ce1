"""`specgen repo`: metadata refreshed, a .repo file tdnf can use, and RPMs signed with a key
that a fresh rpm database accepts, once. Tiny real RPMs built with rpmbuild; a throw-away gpg
key generated per module."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from click.testing import CliRunner
from conftest import require_tool
from tinyspec import tiny_spec

from specgen.build import repofile
from specgen.cli.main import main
from specgen.errors import SpecgenError

UID = "specgen test <t@example.invalid>"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """aaa and bbb: two noarch RPMs and their SRPMs, built once for the module."""
    require_tool("rpmbuild", "createrepo_c")
    top = tmp_path_factory.mktemp("rpmbuild")
    for name in ("aaa", "bbb"):
        spec = top / f"{name}.spec"
        spec.write_text(tiny_spec(name))
        subprocess.run(["rpmbuild", "-ba", "--define", f"_topdir {top}", str(spec)],
                       check=True, capture_output=True)  # fmt: skip
    return sorted(top.glob("RPMS/noarch/*.rpm")) + sorted(top.glob("SRPMS/*.rpm"))


@pytest.fixture
def repo(tmp_path: Path, built: list[Path]) -> Path:
    """A LocalRepo layout: repo/noarch/*.rpm and repo/SRPMS/*.src.rpm, no metadata yet."""
    root = tmp_path / "repo"
    for rpm in built:
        folder = root / ("SRPMS" if rpm.name.endswith(".src.rpm") else "noarch")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(rpm, folder)
    return root


@pytest.fixture(scope="module")
def keyring() -> Iterator[tuple[Path, str]]:
    """A GNUPGHOME (short path: gpg-agent's socket lives in it) with one passphrase-less
    signing key; its fingerprint."""
    require_tool("gpg", "rpmsign")
    home = Path(tempfile.mkdtemp(prefix="sg-gpg-"))
    env = {"GNUPGHOME": str(home), "PATH": os.environ["PATH"]}
    try:
        subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", UID,
                        "rsa2048", "sign", "never"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        listing = subprocess.run(
            ["gpg", "--batch", "--with-colons", "--list-secret-keys"],
            env=env, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        fpr = re.search(r"^fpr:+([0-9A-F]{40}):", listing, re.M)
        assert fpr is not None
        yield home, fpr.group(1)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False,
                       capture_output=True)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def gnupghome(keyring: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GNUPGHOME", str(keyring[0]))
    return keyring[1]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["repo", *args])
    return result.exit_code, result.output


def primary(root: Path) -> dict[str, str]:
    """location href -> sha256 the repository metadata records."""
    repomd = (root / "repodata" / "repomd.xml").read_text()
    href = re.search(r'<data type="primary">.*?<location href="([^"]+)"', repomd, re.S)
    assert href is not None
    text = gzip.decompress((root / href.group(1)).read_bytes()).decode()
    return {
        m.group(2): m.group(1)
        for m in re.finditer(
            r'<checksum type="sha256" pkgid="YES">(\w+)</checksum>.*?<location href="([^"]+)"',
            text,
            re.S,
        )
    }


def sha256s(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.glob("*/*.rpm"))
    }


def test_default_repo_file_points_at_the_root_and_metadata_is_written(repo: Path) -> None:
    code, out = run(str(repo))
    assert code == 0, out
    text = (repo / "specgen-triton.repo").read_text()
    assert text == repofile.render("specgen-triton", repo.resolve().as_uri(), signed=False)
    assert "[specgen-triton]\n" in text
    assert f"baseurl=file://{repo.resolve()}\n" in text  # the root: metadata covers REPO/<arch>/
    assert "enabled=1\n" in text and "gpgcheck=0\n" in text and "gpgkey" not in text
    assert text in out and "tdnf install tritonserver" in out
    assert f"cp {(repo / 'specgen-triton.repo').resolve()} /etc/yum.repos.d/" in out
    assert primary(repo) == {k: v for k, v in sha256s(repo).items() if k.startswith("noarch/")}
    assert set(primary(repo)) == {"noarch/aaa-1-1.noarch.rpm", "noarch/bbb-1-1.noarch.rpm"}


def test_baseurl_name_and_output(repo: Path, tmp_path: Path) -> None:
    code, out = run(str(repo), "--baseurl", "https://host/triton/", "--name", "triton-local")
    assert code == 0, out
    text = (repo / "triton-local.repo").read_text()
    assert "[triton-local]\n" in text and "baseurl=https://host/triton/\n" in text
    fetch = "curl -fsSL -o /etc/yum.repos.d/triton-local.repo https://host/triton/triton-local.repo"
    assert fetch in out

    elsewhere = tmp_path / "out.repo"
    code, out = run(str(repo), "--baseurl", "https://host/triton", "--output", str(elsewhere))
    assert code == 0, out
    assert "baseurl=https://host/triton\n" in elsewhere.read_text()
    assert f"cp {elsewhere} /etc/yum.repos.d/specgen-triton.repo" in out  # not served: copy it


def test_render_signed_and_deterministic() -> None:
    text = repofile.render("r", "https://h/t/", signed=True)
    assert text == repofile.render("r", "https://h/t/", signed=True)
    lines = text.splitlines()
    assert "gpgcheck=1" in lines and "repo_gpgcheck=0" in lines
    assert "gpgkey=https://h/t/RPM-GPG-KEY-specgen" in lines
    assert lines.index("[r]") < lines.index("gpgcheck=1")
    commands = repofile.target_commands("r", "file:///srv/t", Path("/srv/t/r.repo"),
                                        PurePosixPath("r.repo"))  # fmt: skip
    assert commands == ["cp /srv/t/r.repo /etc/yum.repos.d/r.repo", "tdnf install tritonserver"]
    with pytest.raises(SpecgenError):
        repofile.check_baseurl("https://host/with space")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "bad id"], "--name 'bad id'"),
        (["--baseurl", "/srv/triton"], "--baseurl '/srv/triton'"),
    ],
)
def test_bad_name_or_baseurl(repo: Path, args: list[str], message: str) -> None:
    code, out = run(str(repo), *args)
    assert code == 2 and message in out


def test_missing_repo_folder(tmp_path: Path) -> None:
    code, out = run(str(tmp_path / "nope"))
    assert code == 2
    assert f"{tmp_path / 'nope'}: no such folder" in out


def rpm_check(root: Path, key: Path, rpm: Path) -> str:
    """`rpm -K` in a fresh rpm database that trusts only `key`."""
    subprocess.run(["rpm", "--root", str(root), "--import", str(key)], check=True,
                   capture_output=True)  # fmt: skip
    return subprocess.run(["rpm", "--root", str(root), "-K", str(rpm)], capture_output=True,
                          text=True, check=False).stdout  # fmt: skip


def test_gpg_key_signs_every_rpm_once(repo: Path, tmp_path: Path, gnupghome: str) -> None:
    code, out = run(str(repo), "--gpg-key", UID, "--baseurl", "https://host/triton/")
    assert code == 0, out
    assert f"signed 4 RPMs with {gnupghome}" in out
    key = repo / repofile.KEY_NAME
    assert key.read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    text = (repo / "specgen-triton.repo").read_text()
    assert "gpgcheck=1\n" in text and "repo_gpgcheck=0\n" in text
    assert "gpgkey=https://host/triton/RPM-GPG-KEY-specgen\n" in text
    rpms = sorted(repo.glob("*/*.rpm"))
    assert len(rpms) == 4
    for rpm in rpms:
        assert "digests signatures OK" in rpm_check(tmp_path / "rpmroot", key, rpm), rpm
    hashes = sha256s(repo)
    assert primary(repo) == {k: v for k, v in hashes.items() if k.startswith("noarch/")}

    code, out = run(str(repo), "--gpg-key", gnupghome)  # by fingerprint this time
    assert code == 0, out
    assert "signed 0 RPMs" in out and "4 already signed by it" in out
    assert sha256s(repo) == hashes


def test_gpg_key_file_is_imported_into_a_temporary_keyring(
    repo: Path, tmp_path: Path, keyring: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "key.asc"
    secret.write_bytes(subprocess.run(
        ["gpg", "--batch", "--armor", "--export-secret-keys", keyring[1]],
        env={**os.environ, "GNUPGHOME": str(keyring[0])}, check=True, capture_output=True,
    ).stdout)  # fmt: skip
    empty = Path(tempfile.mkdtemp(prefix="sg-empty-"))
    monkeypatch.setenv("GNUPGHOME", str(empty))  # the caller's keyring holds nothing
    try:
        code, out = run(str(repo), "--gpg-key", str(secret))
    finally:
        shutil.rmtree(empty, ignore_errors=True)
    assert code == 0, out
    assert "signed 4 RPMs" in out
    rpm = repo / "noarch" / "aaa-1-1.noarch.rpm"
    assert "signatures OK" in rpm_check(tmp_path / "r", repo / repofile.KEY_NAME, rpm)


def test_unknown_key(repo: Path, gnupghome: str) -> None:
    code, out = run(str(repo), "--gpg-key", "nobody@nowhere.invalid")
    assert code == 2 and "no secret key 'nobody@nowhere.invalid'" in out


def test_signing_failure_names_the_rpm_and_keeps_metadata_true(
    repo: Path, tmp_path: Path, gnupghome: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "rpmsign").write_text("#!/bin/sh\necho 'gpg: signing failed: test' >&2\nexit 1\n")
    (fake / "rpmsign").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    code, out = run(str(repo), "--gpg-key", gnupghome)
    assert code == 2
    assert f"rpmsign failed on {repo / 'SRPMS' / 'aaa-1-1.src.rpm'}: gpg: signing failed" in out
    assert (repo / "repodata" / "repomd.xml").is_file()


def test_missing_gpg(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code, out = run(str(repo), "--gpg-key", "anything")
    assert code == 2 and "gpg is not on PATH" in out and "apt-get install gpg" in out
