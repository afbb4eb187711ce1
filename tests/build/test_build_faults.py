"""`specgen build` under failure: a failing spec stops only what needs it (--keep-going), a
second concurrent run is refused, and a run killed with SIGKILL resumes into a consistent
repository. Tiny real specs built with rpmbuild."""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import require_tool
from tinyspec import specs_tree

from specgen.build.runner import exclusive
from specgen.cli.main import main


def build_args(root: Path, *extra: str) -> list[str]:
    return ["build", "--specs", str(root / "specs"), "--repo", str(root / "repo"),
            "--workdir", str(root / "work"), "--nodeps", "--no-space-check", *extra]  # fmt: skip


def rpm_names(repo: Path) -> set[str]:
    return {p.name.split("-1-1")[0] for p in repo.rglob("*.rpm")}


def primary_names(repo: Path) -> set[str]:
    """Package names the repository metadata lists."""
    repomd = (repo / "repodata" / "repomd.xml").read_text()
    href = re.search(r'<data type="primary">.*?<location href="([^"]+)"', repomd, re.S)
    assert href is not None
    text = gzip.decompress((repo / href.group(1)).read_bytes()).decode()
    return set(re.findall(r"<name>([^<]+)</name>", text))


@pytest.fixture(autouse=True)
def _tools() -> None:
    require_tool("rpmbuild", "createrepo_c")


def test_keep_going_builds_what_does_not_need_the_failure(tmp_path: Path) -> None:
    specs_tree(tmp_path, {"aaa": ("exit 1", []), "bbb": ("true", ["aaa"]), "ccc": ("true", [])})
    result = CliRunner().invoke(main, build_args(tmp_path, "--keep-going", "-j", "2"))
    assert result.exit_code == 2
    assert "aaa: aaa: rpmbuild failed" in result.output and "bbb: blocked" in result.output
    assert rpm_names(tmp_path / "repo") == {"ccc"}
    assert primary_names(tmp_path / "repo") == {"ccc"}
    assert (tmp_path / "work" / "logs" / "aaa.log").is_file()


def test_a_failed_build_names_the_failing_commands_words_not_rpms_summary(tmp_path: Path) -> None:
    specs_tree(tmp_path, {"aaa": ("cp no-such-file here", [])})
    result = CliRunner().invoke(main, build_args(tmp_path))
    assert result.exit_code == 2
    [line] = [ln for ln in result.output.splitlines() if ln.startswith("specgen: error:")]
    assert "aaa: rpmbuild failed (exit 1); last lines in " in line
    cp_said = "cp: cannot stat 'no-such-file': No such file or directory"
    assert f"{cp_said} | error: Bad exit status from " in line
    assert line.endswith("(%build)")


def test_without_keep_going_nothing_new_starts_after_a_failure(tmp_path: Path) -> None:
    specs_tree(tmp_path, {"aaa": ("exit 1", []), "bbb": ("true", ["aaa"]), "ccc": ("true", [])})
    result = CliRunner().invoke(main, build_args(tmp_path, "-j", "1"))
    assert result.exit_code == 2
    assert "skipped" in result.output
    assert rpm_names(tmp_path / "repo") == set()


def test_a_second_concurrent_run_is_refused(tmp_path: Path) -> None:
    specs_tree(tmp_path, {"aaa": ("true", [])})
    with exclusive(tmp_path / "work"):
        result = CliRunner().invoke(main, build_args(tmp_path))
    assert result.exit_code == 2
    assert "another specgen build is running" in result.output
    assert CliRunner().invoke(main, build_args(tmp_path)).exit_code == 0


def test_changed_spec_rebuilds_it_and_its_dependents_only(tmp_path: Path) -> None:
    specs = specs_tree(tmp_path, {"aaa": ("true", []), "bbb": ("true", ["aaa"]),
                                  "ccc": ("true", [])})  # fmt: skip
    assert CliRunner().invoke(main, build_args(tmp_path)).exit_code == 0
    spec = specs / "aaa" / "aaa.spec"
    spec.write_text(spec.read_text().replace("%build\ntrue", "%build\ntrue # changed"))
    result = CliRunner().invoke(main, build_args(tmp_path))
    assert result.exit_code == 0
    finished = dict(
        (m.group(2), m.group(1))
        for m in re.finditer(r"^\s*(built|unchanged) (\S+) \(", result.output, re.M)
    )
    assert finished == {"aaa": "built", "bbb": "built", "ccc": "unchanged"}


def test_sigkill_mid_build_then_rerun_gives_a_consistent_repository(tmp_path: Path) -> None:
    specs_tree(tmp_path, {
        "aaa": ("true", []),
        "bbb": ("sleep ${SPECGEN_TEST_SLEEP:-0}", ["aaa"]),
        "ccc": ("true", ["bbb"]),
    })  # fmt: skip
    cmd = [sys.executable, "-m", "specgen", *build_args(tmp_path)]
    env = {**os.environ, "SPECGEN_TEST_SLEEP": "60"}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    log = tmp_path / "work" / "logs" / "bbb.log"
    deadline = time.monotonic() + 60
    while not (log.exists() and "rpmbuild" in log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # inside bbb's %build sleep
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert rpm_names(tmp_path / "repo") == {"aaa"}  # aaa finished before the kill
    result = CliRunner().invoke(main, build_args(tmp_path))
    assert result.exit_code == 0, result.output
    assert rpm_names(tmp_path / "repo") == {"aaa", "bbb", "ccc"}
    assert primary_names(tmp_path / "repo") == {"aaa", "bbb", "ccc"}
    assert "unchanged aaa" in " ".join(result.output.split())


def test_repository_metadata_is_rewritten_only_when_the_rpms_change(tmp_path: Path) -> None:
    from specgen.build.localrepo import LocalRepo

    specs_tree(tmp_path, {"aaa": ("true", []), "bbb": ("true", [])})
    assert CliRunner().invoke(main, build_args(tmp_path)).exit_code == 0
    repo = LocalRepo(tmp_path / "repo")
    repomd = tmp_path / "repo" / "repodata" / "repomd.xml"
    before = repomd.stat().st_mtime_ns
    repo.refresh()
    assert repomd.stat().st_mtime_ns == before  # same RPMs: nothing rewritten
    (tmp_path / "repo" / "noarch" / "bbb-1-1.noarch.rpm").unlink()
    repo.refresh()
    assert primary_names(tmp_path / "repo") == {"aaa"}


def test_space_check_counts_only_what_will_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from specgen.cli import build as cli_build

    specs_tree(tmp_path, {"aaa": ("true", [])})
    args = [a for a in build_args(tmp_path) if a != "--no-space-check"]
    tiny = shutil.disk_usage(tmp_path)._replace(free=1000)
    monkeypatch.setattr(cli_build.shutil, "disk_usage", lambda _path: tiny)
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2 and "GB free, the build trees of 1 packages" in refused.output
    monkeypatch.undo()
    assert CliRunner().invoke(main, args).exit_code == 0
    monkeypatch.setattr(cli_build.shutil, "disk_usage", lambda _path: tiny)
    assert CliRunner().invoke(main, args).exit_code == 0  # up to date: nothing to hold
