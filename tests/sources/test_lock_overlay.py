"""Lock overlays: local files standing in for the lock's downloads, with their own pins.

A Source whose bytes differ from the lock's pin fails the build with one line naming it; the
same file given through an overlay builds, and the run, the summary and the build log say so.
The overlay in the repository (sources/overlay-shared-r25.03.toml) is checked against the lock
and against the hashes ../shared/triton-sources/SOURCES.md records.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import REPO, require_tool
from tinyspec import specs_tree, tiny_spec

from specgen.cli.main import main
from specgen.errors import InputError
from specgen.generate.lock import LockedSource, SourceLock, read_lock, write_lock
from specgen.sources.overlay import read_overlay

PUBLISHED = b"the archive upstream publishes\n"
LOCAL = b"the same tree, archived here: other bytes\n"
URL = "https://example.org/aaa/archive/v1.tar.gz"
FILE = "aaa-1.tar.gz"
SHARED_OVERLAY = REPO / "sources" / "overlay-shared-r25.03.toml"
SHARED_PACKAGES = {"tritonserver", "libevhtp", "prometheus-cpp", "dlpack", "libb64"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sourced_spec() -> str:
    """Package aaa, which installs its Source0 as /usr/share/aaa/source."""
    text = tiny_spec("aaa", install="install -pm 0644 %{SOURCE0} %{buildroot}/usr/share/aaa/source")
    text = text.replace("License:", f"Source0:        {URL}#/{FILE}\nLicense:", 1)
    return text.replace("%files\n", "%files\n/usr/share/aaa/source\n")


def build_args(root: Path, *extra: str) -> list[str]:
    return ["build", "--specs", str(root / "specs"), "--repo", str(root / "repo"),
            "--workdir", str(root / "work"), "--nodeps", "--no-space-check", *extra]  # fmt: skip


def overlay_text(path: str, data: bytes, lock_sha: str, **changes: str) -> str:
    fields = {
        "file": f'"{FILE}"',
        "url": f'"{URL}"',
        "lock_sha256": f'"{lock_sha}"',
        "path": f'"{path}"',
        "sha256": f'"{sha(data)}"',
        "size": str(len(data)),
        "hash_from": '"a record kept beside the archive"',
        **changes,
    }
    body = "".join(f"{k} = {v}\n" for k, v in fields.items() if v)
    return f"format = 1\n\n[[source]]\n{body}"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """One package whose Source the lock pins at the published bytes; the download folder
    holds other bytes, as a local archive of the same commit would."""
    require_tool("rpmbuild", "createrepo_c", "rpm2cpio", "cpio")
    locked = LockedSource(FILE, URL, sha(PUBLISHED), len(PUBLISHED), "upstream", ("aaa",))
    specs_tree(tmp_path, {"aaa": ("true", [])}, {"aaa": sourced_spec()})
    write_lock(tmp_path / "sources" / "sources.lock.json", SourceLock("25.03", (locked,)))
    downloads = tmp_path / "sources" / "downloads"
    downloads.mkdir()
    (downloads / FILE).write_bytes(LOCAL)
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / FILE).write_bytes(LOCAL)
    return tmp_path


def build(root: Path, *extra: str) -> Result:
    return CliRunner().invoke(main, build_args(root, *extra))


def error_lines(result: Result) -> list[str]:
    return [ln for ln in result.output.splitlines() if ln.startswith("specgen: error:")]


def installed_source(root: Path) -> bytes:
    """What the built RPM installs as /usr/share/aaa/source."""
    rpm = next((root / "repo").rglob("aaa-1-1.noarch.rpm"))
    out = root / "unpacked"
    out.mkdir(exist_ok=True)
    subprocess.run(f"rpm2cpio {rpm} | cpio -idm --quiet", shell=True, cwd=out, check=True)
    return (out / "usr" / "share" / "aaa" / "source").read_bytes()


def test_without_an_overlay_a_source_unlike_its_pin_fails_in_one_line_naming_it(tree: Path):
    result = build(tree)
    assert result.exit_code == 2
    [line] = error_lines(result)
    assert f"aaa: Source {FILE} does not match its pin: sha256 {sha(LOCAL)}, " in line
    assert f"expected {sha(PUBLISHED)}" in line
    assert not list((tree / "repo").rglob("*.rpm"))


def test_with_an_overlay_it_builds_and_every_report_says_where_it_came_from(tree: Path):
    overlay = tree / "overlay.toml"
    overlay.write_text(overlay_text("local/aaa-1.tar.gz", LOCAL, sha(PUBLISHED)))
    result = build(tree, "--lock-overlay", str(overlay))
    assert result.exit_code == 0, result.output
    local = (tree / "local" / FILE).resolve()
    announced = f"  aaa: {FILE}: local file {local}, sha256 {sha(LOCAL)}, {len(LOCAL)} bytes"
    assert f"lock overlay {overlay}: these Sources are local files" in result.output
    assert announced in result.output
    assert "(hash from a record kept beside the archive; the lock's pin: " in result.output
    summary = result.output[result.output.index("specgen build: summary") :]
    assert f"from the lock overlay {overlay}, not the lock's pins (1 Source):\n" in summary
    assert f"  aaa: {FILE}\n" in summary
    log = (tree / "work" / "logs" / "aaa.log").read_text().splitlines()
    assert log[0].startswith(f"# Source {FILE} from the lock overlay {overlay}: local file {local}")
    assert log[1].startswith("$ ")
    assert installed_source(tree) == LOCAL

    again = build(tree, "--lock-overlay", str(overlay))
    assert again.exit_code == 0, again.output
    assert re.search(r"^\s*unchanged aaa ", again.output, re.M)
    # The overlay is part of the inputs: without it the same package is out of date again.
    assert build(tree).exit_code == 2


def test_an_overlay_file_changed_after_its_pin_was_written_is_refused(tree: Path):
    overlay = tree / "overlay.toml"
    overlay.write_text(overlay_text("local/aaa-1.tar.gz", LOCAL, sha(PUBLISHED)))
    (tree / "local" / FILE).write_bytes(LOCAL + b"tampered")
    result = build(tree, "--lock-overlay", str(overlay))
    assert result.exit_code == 2
    [line] = error_lines(result)
    assert f"Source {FILE} at {(tree / 'local' / FILE).resolve()} does not match its pin " in line
    assert f"in the lock overlay {overlay}: sha256 " in line


def test_an_overlay_written_against_another_lock_pin_is_refused(tree: Path):
    overlay = tree / "overlay.toml"
    overlay.write_text(overlay_text("local/aaa-1.tar.gz", LOCAL, "unpinned"))
    result = build(tree, "--lock-overlay", str(overlay))
    assert result.exit_code == 2
    [line] = error_lines(result)
    assert f"{overlay}: source {FILE}: written against the lock's pin unpinned, but " in line
    assert f"now pins {sha(PUBLISHED)}" in line


def test_sources_checks_overlay_files_in_place_and_reports_them(tree: Path):
    overlay = tree / "overlay.toml"
    overlay.write_text(overlay_text("local/aaa-1.tar.gz", LOCAL, sha(PUBLISHED)))
    dest = tree / "fresh-downloads"
    args = ["sources", "--lock", str(tree / "sources" / "sources.lock.json"), "--dest", str(dest)]
    result = CliRunner().invoke(main, [*args, "--lock-overlay", str(overlay)])
    assert result.exit_code == 0, result.output
    assert re.search(rf"{re.escape(FILE)} .* overlay \(", result.output)
    assert not dest.exists()  # nothing downloaded, nothing copied
    (tree / "local" / FILE).write_bytes(b"changed")
    result = CliRunner().invoke(main, [*args, "--lock-overlay", str(overlay)])
    assert result.exit_code == 2
    assert "does not match its pin in the lock overlay" in error_lines(result)[0]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sha256": '"ABC"'}, "sha256 'ABC' is not 64 lowercase hex digits"),
        ({"hash_from": ""}, "missing hash_from"),
        ({"hash_from": '" "'}, "hash_from must say where the sha256 was recorded"),
        ({"lock_sha256": '"none"'}, "lock_sha256 'none' is neither a sha256 nor 'unpinned'"),
        ({"size": "-1"}, "size -1 is not a byte count"),
        ({"url": '"ftp://x/y"'}, "url 'ftp://x/y' is not an http(s) URL"),
        ({"file": '"../etc/passwd"'}, "file '../etc/passwd' is not a plain file name"),
        ({"mirror": '"x"'}, "unknown key mirror"),
    ],
)
def test_a_bad_entry_is_one_error_naming_the_file_and_entry(
    tmp_path: Path, changes: dict[str, str], message: str
) -> None:
    path = tmp_path / "overlay.toml"
    path.write_text(overlay_text("x", LOCAL, "unpinned", **changes))
    with pytest.raises(InputError) as err:
        read_overlay(path)
    assert str(err.value).startswith(f"{path}: source[0]")
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("format = 2\n", "not a lock overlay of format 1"),
        ("format = 1\n", "no [[source]] entries"),
        ("format = 1\n[[source]\n", "not a lock overlay: "),
        (overlay_text("x", LOCAL, "unpinned") * 1 + "\n[[source]]\nfile = \"aaa-1.tar.gz\"\n"
         + overlay_text("x", LOCAL, "unpinned").split("file = \"aaa-1.tar.gz\"\n", 1)[1],
         "source[1] (aaa-1.tar.gz): listed twice"),
    ],
)  # fmt: skip
def test_a_bad_overlay_file_is_one_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "overlay.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=re.escape(message)):
        read_overlay(path)


def test_an_entry_for_a_source_the_lock_lacks_or_downloads_elsewhere_is_refused(tmp_path: Path):
    path = tmp_path / "overlay.toml"
    path.write_text(overlay_text("x", LOCAL, "unpinned"))
    overlay = read_overlay(path)
    with pytest.raises(InputError, match=f"source {FILE}: not in the lock lock.json"):
        overlay.check_against(SourceLock("25.03", ()), "lock.json")
    elsewhere = LockedSource(FILE, "https://example.org/mirror/aaa-1.tar.gz", packages=("aaa",))
    with pytest.raises(InputError, match=f"stands in for {URL}, but the lock lock.json"):
        overlay.check_against(SourceLock("25.03", (elsewhere,)), "lock.json")


def test_the_shared_overlay_covers_the_five_specs_and_matches_the_lock() -> None:
    overlay = read_overlay(SHARED_OVERLAY)
    lock_path = REPO / "sources" / "sources.lock.json"
    lock = read_lock(lock_path)
    overlay.check_against(lock, lock_path)
    wanted = {s.file for s in lock.sources if SHARED_PACKAGES & set(s.packages)}
    assert set(overlay.sources) == wanted
    assert {s.hash_from for s in overlay.sources.values()} == {
        "../shared/triton-sources/SOURCES.md"
    }


def test_the_shared_overlay_hashes_are_the_ones_shared_records(shared_dir: Path) -> None:
    """hash_from is true: every pin is the one SOURCES.md lists for that file, and the file
    there has it."""
    record = shared_dir / "triton-sources" / "SOURCES.md"
    if not record.is_file():
        pytest.skip(f"{record} not found: the local Triton archives are absent")
    listed = dict(
        (m.group(2), m.group(1))
        for m in re.finditer(r"^([0-9a-f]{64})  (\S+)$", record.read_text(), re.M)
    )
    for entry in read_overlay(SHARED_OVERLAY).sources.values():
        assert listed.get(entry.file) == entry.sha256, entry.file
        assert entry.path == (shared_dir / "triton-sources" / "r25.03" / entry.file).resolve()
        assert entry.path.stat().st_size == entry.size, entry.file
