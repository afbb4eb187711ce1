"""`specgen lint`: Azure Linux 3.0 spec rules, `rpmspec -P` with its macros, rpmlint on SRPMs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click

from specgen.build.rpmmacros import build_srpm, rpmspec_parse
from specgen.errors import InputError, SpecgenError
from specgen.lint.rules import Finding, SpecInput, lint_spec

# rpmlint checks that do not apply to Azure Linux 3.0 SRPMs. Filtered here rather than in an
# rpmlint config file because rpmlint 1.x (Azure Linux 3.0 ships 1.11) and 2.x (Debian 12: 2.4)
# read different config formats; both print `<pkg>: E: <check-id> ...`.
RPMLINT_IGNORED = frozenset(
    {
        "no-signature",  # packages are signed when published, not when built
        "no-packager-tag",  # Azure Linux specs carry Vendor and Distribution instead
        "no-group-tag",  # Group is obsolete
        "no-buildroot-tag",  # rpm sets the buildroot itself
        "lib-package-without-%mklibname",  # a Mageia naming macro; Azure Linux names as Fedora
    }
)
_RPMLINT_LINE = re.compile(r": ([EW]): (\S+)")


def _warn(message: str) -> None:
    click.echo(f"specgen lint: warning: {message}", err=True)


def _specs_in(folder: Path) -> list[Path]:
    return sorted({*folder.glob("*.spec"), *folder.glob("*/*.spec")})


def _find_specs(paths: tuple[str, ...]) -> list[Path]:
    """The PATHs (a folder means its *.spec and */*.spec), or specs/*/*.spec here."""
    if not paths:
        found = sorted(Path("specs").glob("*/*.spec"))
        if not found:
            raise SpecgenError(f"no specs/*/*.spec under {Path.cwd()}: name the specs to lint")
        return found
    specs: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = _specs_in(path)
            if not found:
                raise InputError(path, "no .spec files in this folder")
            specs += found
        elif path.is_file():
            specs.append(path)
        else:
            raise InputError(path, "no such file or folder")
    return specs


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"cannot read: {err}") from err


def lint_file(spec: Path, run_rpmspec: bool) -> list[Finding]:
    """Read the spec and its signatures file, run rpmspec -P if asked, apply every rule."""
    text = _read(spec)
    source = SpecInput(str(spec), text)
    sig = Path(source.signatures_path)
    signatures = _read(sig) if sig.exists() else None
    expanded = error = None
    if run_rpmspec:
        try:
            parsed = rpmspec_parse(spec)
            expanded, error = (parsed.stdout, None) if parsed.ok else (None, parsed.stderr)
        except subprocess.TimeoutExpired:
            error = "error: rpmspec -P timed out"
    return lint_spec(SpecInput(str(spec), text, signatures, expanded, error))


@dataclass(frozen=True)
class RpmlintResult:
    """rpmlint's E: and W: lines for one SRPM; failed when any error or a bad exit status."""

    errors: list[str]
    warnings: list[str]
    failed: bool


def run_rpmlint(srpm: Path) -> RpmlintResult:
    """rpmlint less RPMLINT_IGNORED; only E: lines fail, or an exit status with none printed.

    rpmlint's own exit status (64: errors) counts the ignored checks too, so it only decides
    when rpmlint printed no E: line at all (a crash or a usage error).
    """
    done = subprocess.run(
        ["rpmlint", str(srpm)], capture_output=True, text=True, timeout=600, check=False
    )
    found: dict[str, list[str]] = {"E": [], "W": []}
    for line in done.stdout.splitlines():
        if (m := _RPMLINT_LINE.search(line)) and m[2] not in RPMLINT_IGNORED:
            found[m[1]].append(line.strip())
    printed_errors = any(": E: " in line for line in done.stdout.splitlines())
    if done.returncode != 0 and not printed_errors:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        found["E"].append(f"rpmlint exited {done.returncode}: {tail}")
    return RpmlintResult(found["E"], found["W"], bool(found["E"]))


def _srpms(raw: str, workdir: Path) -> list[Path]:
    """An SRPM; a .spec built into one; a folder's *.src.rpm, else SRPMs of its specs."""
    path = Path(raw)
    if path.is_file():
        return [build_srpm(path, workdir) if path.suffix == ".spec" else path]
    if not path.is_dir():
        raise InputError(path, "no such file or folder")
    found = sorted(path.rglob("*.src.rpm"))
    if not found:
        found = [build_srpm(spec, workdir) for spec in _specs_in(path)]
    if not found:
        raise InputError(path, "no .src.rpm or .spec files in this folder")
    return found


def _rpmlint_all(targets: tuple[str, ...]) -> int:
    """Print rpmlint's errors and warnings for every target; the number of failed SRPMs."""
    if shutil.which("rpmlint") is None:
        _warn("rpmlint not installed: skipped the SRPM checks (apt-get/dnf/tdnf install rpmlint)")
        return 0
    failed = 0
    with tempfile.TemporaryDirectory(prefix="specgen-lint-") as tmp:
        for raw in targets:
            for srpm in _srpms(raw, Path(tmp)):
                shown = srpm.name if srpm.is_relative_to(tmp) else str(srpm)
                result = run_rpmlint(srpm)
                for line in result.errors:
                    click.echo(f"{shown}: [rpmlint] {line}")
                for line in result.warnings:
                    click.echo(f"{shown}: warning: [rpmlint] {line}")
                failed += result.failed
    return failed


@click.command("lint")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option(
    "--no-rpmspec",
    is_flag=True,
    help="Skip `rpmspec -P` (then only %{name} and %{version} expand in Source URLs).",
)
@click.option(
    "--rpmlint",
    "rpmlint_targets",
    multiple=True,
    metavar="DIR_OR_SRPM",
    help="Run rpmlint on an SRPM, a folder's *.src.rpm (or its specs' SRPMs), or a .spec's "
    "SRPM; its errors fail the run. Repeatable.",
)
def lint_command(
    paths: tuple[str, ...], no_rpmspec: bool, rpmlint_targets: tuple[str, ...]
) -> None:
    """Check specs against Azure Linux 3.0 rules (default: specs/*/*.spec here).

    Prints `path:line: [rule] message` per finding. Exit 1 on any error, 0 when clean (warnings
    do not count), 2 when a spec cannot be read. With only --rpmlint, no specs are linted.
    """
    specs = _find_specs(paths) if paths or not rpmlint_targets else []
    run_rpmspec = not no_rpmspec and bool(specs)
    if run_rpmspec and shutil.which("rpmspec") is None:
        _warn(
            "rpmspec not installed: skipped `rpmspec -P` (install rpm); "
            "Source URLs expand only %{name} and %{version}"
        )
        run_rpmspec = False
    findings = [f for spec in specs for f in lint_file(spec, run_rpmspec)]
    for finding in findings:
        click.echo(str(finding))
    failed = _rpmlint_all(rpmlint_targets) if rpmlint_targets else 0
    errors = sum(not f.warning for f in findings)
    if specs:
        click.echo(
            f"{len(specs)} spec(s): {errors} error(s), {len(findings) - errors} warning(s)",
            err=True,
        )
    sys.exit(1 if errors or failed else 0)
