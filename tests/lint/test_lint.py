"""`specgen lint`: every Azure Linux rule on its own bad fixture, the macro file, rpmlint, exits."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, require_tool

from specgen.build.rpmmacros import MACRO_FILE, build_srpm, rpm_args, rpmspec_parse
from specgen.cli import lint as cli_lint
from specgen.cli.lint import lint_file, run_rpmlint
from specgen.cli.main import main
from specgen.lint.rules import RULES, SpecInput, lint_spec, source_basename
from specgen.lint.spdx import spdx_problem

LINT = FIXTURES / "lint"
GOOD = LINT / "good" / "azl-hello.spec"
GOOD_SIGNATURES = GOOD.with_name("azl-hello.signatures.json")
HAVE_RPMSPEC = shutil.which("rpmspec") is not None

# Each bad fixture breaks one rule; its finding points at the first line holding this text
# (None: line 1, where missing things are reported).
EXPECTED = {
    "vendor": "Vendor:",
    "distribution": "Distribution:",
    "release-dist": "Release:",
    "name-file": "Name:",
    "license-spdx": "License:",
    "tag-align": "URL:",
    "no-clean": "%clean",
    "no-patchn": "%patch0",
    "no-weak-deps": "Recommends:",
    "changelog": None,
    "changelog-dist": "* ",
    "changelog-license-verified": "* ",
    "changelog-attribution": "* ",
    "license-file": "%files devel",
    "hardcoded-path": "/usr/lib64",
    "signatures": "Source2:",
    "rpmspec": "Frobnicate:",
}


def run(*args: str):
    return CliRunner().invoke(main, ["lint", *args])


def line_of(path: Path, needle: str | None) -> int:
    if needle is None:
        return 1
    return next(n for n, t in enumerate(path.read_text().splitlines(), 1) if t.startswith(needle))


def beside_good_signatures(spec: Path, tmp_path: Path) -> Path:
    """A copy of the spec in tmp_path with the good fixture's signatures file beside it."""
    copy = tmp_path / spec.name
    shutil.copy(spec, copy)
    shutil.copy(GOOD_SIGNATURES, tmp_path / f"{spec.stem}.signatures.json")
    return copy


def test_every_rule_has_one_bad_fixture() -> None:
    assert set(EXPECTED) == set(RULES)
    assert {p.stem for p in (LINT / "bad").glob("*.spec")} == set(RULES)


@pytest.mark.parametrize("use_rpmspec", [False, True])
def test_good_spec_is_clean(use_rpmspec: bool) -> None:
    if use_rpmspec:
        require_tool("rpmspec")
    assert lint_file(GOOD, use_rpmspec) == []


@pytest.mark.parametrize("use_rpmspec", [False, True])
@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_bad_fixture_breaks_exactly_its_rule(rule: str, use_rpmspec: bool, tmp_path: Path) -> None:
    if use_rpmspec:
        require_tool("rpmspec")
    spec = beside_good_signatures(LINT / "bad" / f"{rule}.spec", tmp_path)
    found = [(f.rule, f.line, f.warning) for f in lint_file(spec, use_rpmspec)]
    if rule == "rpmspec" and not use_rpmspec:
        assert found == []  # only rpm knows its tags
    else:
        assert found == [(rule, line_of(spec, EXPECTED[rule]), False)]


def test_rpmspec_error_line_comes_from_rpm() -> None:
    err = "error: line 15: Unknown tag: Frobnicate: yes\n"
    text = GOOD.read_text()
    found = lint_spec(SpecInput(str(GOOD), text, GOOD_SIGNATURES.read_text(), None, err))
    assert [(f.rule, f.line, f.message) for f in found] == [
        ("rpmspec", 15, "rpmspec -P: Unknown tag: Frobnicate: yes")
    ]


def test_unpinned_source_is_only_a_warning() -> None:
    spec = LINT / "warn" / "signatures-unpinned.spec"
    found = lint_file(spec, HAVE_RPMSPEC)
    assert [(f.rule, f.line, f.warning) for f in found] == [
        ("signatures", line_of(spec, "Source2:"), True)
    ]
    assert str(found[0]).startswith(f"{spec}:{found[0].line}: warning: [signatures] ")
    assert run("--no-rpmspec", str(spec)).exit_code == 0


def good_input(**changes: str | None) -> SpecInput:
    fields = {
        "path": str(GOOD),
        "text": GOOD.read_text(),
        "signatures": GOOD_SIGNATURES.read_text(),
    }
    return SpecInput(**{**fields, **changes})


def test_signatures_file_missing_invalid_or_malformed() -> None:
    missing = lint_spec(good_input(signatures=None))
    assert [(f.path, f.line, f.rule) for f in missing] == [(str(GOOD), 1, "signatures")]
    broken = lint_spec(good_input(signatures='{\n  "Signatures": {\n    "a": 1,\n}'))
    assert [(f.path, f.line) for f in broken] == [(str(GOOD_SIGNATURES), 4)]
    digest = GOOD_SIGNATURES.read_text().replace('"b1c1', '"B1C1')
    found = lint_spec(good_input(signatures=digest))
    assert [(f.path, f.line, f.rule) for f in found] == [(str(GOOD_SIGNATURES), 4, "signatures")]


def test_main_package_without_license_fails_it_and_the_subpackage_requiring_it() -> None:
    text = GOOD.read_text().replace("%license LICENSE", "%doc LICENSE")
    found = lint_spec(good_input(text=text))
    lines = [n for n, t in enumerate(text.splitlines(), 1) if t.startswith("%files")]
    assert [(f.rule, f.line) for f in found] == [("license-file", n) for n in lines]


@pytest.mark.parametrize(
    ("old", "new", "ok"),
    [
        ("Requires(post): systemd", "Requires(postun): systemd", True),  # 16+ chars: one space
        ("Requires(post): systemd", "Requires(postun):  systemd", False),
        ("Name:           azl-hello", "Name:          azl-hello", False),
        ("Name:           azl-hello", "Name:\t\tazl-hello", False),
    ],
)
def test_tag_alignment(old: str, new: str, ok: bool) -> None:
    text = GOOD.read_text().replace(old, new)
    assert [f.rule for f in lint_spec(good_input(text=text))] == ([] if ok else ["tag-align"])


@pytest.mark.parametrize(
    "expr",
    [
        "MIT",
        "MIT AND (Apache-2.0 WITH LLVM-exception)",
        "BSD-3-Clause OR GPL-2.0-or-later",
        "LicenseRef-NVIDIA-Software-License AND Apache-2.0",
    ],
)
def test_spdx_accepts(expr: str) -> None:
    assert spdx_problem(expr) is None


@pytest.mark.parametrize(
    ("expr", "says"),
    [
        ("ASL 2.0", "Apache-2.0"),
        ("BSD", "BSD-3-Clause"),
        ("GPLv2+", "GPL-2.0-or-later"),
        ("MIT and BSD-3-Clause", "upper-case"),
        ("(MIT OR Zlib", "parenthesis"),
        ("Apache-2.0 WITH MIT", "exception"),
        ("LLVM-exception", "unknown license identifier"),
        ("", "ends early"),
    ],
)
def test_spdx_rejects(expr: str, says: str) -> None:
    problem = spdx_problem(expr)
    assert problem is not None and says in problem


def test_source_basename_prefers_the_fragment() -> None:
    assert source_basename("https://h/o/r/archive/v1.tar.gz#/r-1.tar.gz") == "r-1.tar.gz"
    assert source_basename("https://h/o/r-1.tar.gz") == "r-1.tar.gz"
    assert source_basename("local.service") == "local.service"


def test_rpmspec_uses_azure_linux_macros() -> None:
    require_tool("rpmspec")
    assert rpm_args("rpmspec", "-P", "x.spec")[:3] == ["rpmspec", "--load", str(MACRO_FILE)]
    parsed = rpmspec_parse(GOOD)
    assert parsed.ok, parsed.stderr
    out = parsed.stdout
    assert "Release:        1.azl3\n" in out
    assert "/usr/lib/libhello.so\n" in out and "lib64" not in out
    assert "/usr/lib/systemd/system/hello.service" in out
    assert '-B "redhat-linux-build"' in out and "-DCMAKE_INSTALL_LIBDIR:PATH=lib " in out


def test_srpm_of_good_fixture_passes_rpmlint(tmp_path: Path) -> None:
    require_tool("rpmbuild", "rpmlint")
    srpm = build_srpm(GOOD, tmp_path)
    assert srpm.name == "azl-hello-1.2.0-1.azl3.src.rpm"
    result = run_rpmlint(srpm)
    assert not result.failed and result.errors == [], result.errors


def test_rpmlint_errors_fail_the_run() -> None:
    require_tool("rpmbuild", "rpmlint")
    result = run("--rpmlint", str(LINT / "bad" / "changelog.spec"))
    assert result.exit_code == 1
    assert "[rpmlint] changelog.src: E: no-changelogname-tag" in result.stdout


def test_rpmlint_absent_is_skipped_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_lint.shutil, "which", lambda name: None)
    result = run("--rpmlint", str(GOOD))
    assert result.exit_code == 0
    assert "rpmlint not installed" in result.stderr


def test_cli_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(str(GOOD)).exit_code == 0
    bad = run("--no-rpmspec", str(LINT / "bad"))
    assert bad.exit_code == 1
    assert f"{LINT / 'bad' / 'vendor.spec'}:7: [vendor] " in bad.stdout
    assert run(str(tmp_path / "absent.spec")).exit_code == 2
    unreadable = tmp_path / "binary.spec"
    unreadable.write_bytes(b"\xff\xfe\x00")
    result = run(str(unreadable))
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_default_is_every_spec_under_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run().exit_code == 2  # nothing to lint
    folder = tmp_path / "specs" / "azl-hello"
    folder.mkdir(parents=True)
    for name in ("azl-hello.spec", "azl-hello.signatures.json", "hello.service"):
        shutil.copy(GOOD.with_name(name), folder / name)
    result = run("--no-rpmspec")
    assert result.exit_code == 0, result.stdout
    assert "1 spec(s): 0 error(s)" in result.stderr


def test_vendor_path_in_a_global_is_a_warning_elsewhere_an_error(tmp_path: Path) -> None:
    text = GOOD.read_text()
    head, _, rest = text.partition("Summary:")
    spec = tmp_path / GOOD.name
    shutil.copy(GOOD_SIGNATURES, tmp_path / GOOD_SIGNATURES.name)
    spec.write_text(head + "%global cuda_home /usr/local/cuda-12.8\n\nSummary:" + rest)
    found = lint_file(spec, False)
    assert [(f.rule, f.warning) for f in found] == [("hardcoded-path", True)]
    spec.write_text(text.replace("%install\n", "%install\ncp x /usr/local/bin/x\n", 1))
    found = lint_file(spec, False)
    assert [(f.rule, f.warning) for f in found] == [("hardcoded-path", False)]
