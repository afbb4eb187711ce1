"""Shared fixtures: where ../shared is, and skips with a reason when a tool or data is absent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
HYPOTHESIS_DB = Path(__file__).resolve().parent / "hypothesis-db"

# The fuzz tests replay the examples saved in tests/hypothesis-db first, and never delete them.
# In CI (CI=true) they then search from a fixed seed (tests/fuzzing.py), so a red CI is never a
# new random find; locally they search at random and save new failing examples under
# .hypothesis/, from where a fix's commit copies them into tests/hypothesis-db (see its README).
_SAVED = ReadOnlyDatabase(DirectoryBasedExampleDatabase(HYPOTHESIS_DB))
settings.register_profile("ci", database=_SAVED, print_blob=True)
settings.register_profile(
    "dev",
    database=MultiplexedDatabase(_SAVED, DirectoryBasedExampleDatabase(".hypothesis/examples")),
    print_blob=True,
)
settings.load_profile(
    os.environ.get("SPECGEN_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


# Figures tests measure (build and serve times), printed after the run's summary: speed targets
# are benches' business, but a test that builds Triton says how long it took.
_FIGURES: list[str] = []


def report_figure(line: str) -> None:
    """Print `line` in the "figures" section at the end of the run."""
    _FIGURES.append(line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run opt-in slow tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow, opt-in: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the checkout (CI has it); tests that need it skip where it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED}: reference data absent")
    return SHARED


@pytest.fixture(scope="session")
def dryrun_dir(shared_dir: Path) -> Path:
    path = shared_dir / "triton-dryrun"
    if not path.is_dir():
        pytest.skip(f"{path} not found: dry-run reference data absent")
    return path


def require_tool(*names: str) -> None:
    """Skip the calling test, naming the missing tool, unless every tool is on PATH."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} on PATH (scripts/run test installs it as root)")
