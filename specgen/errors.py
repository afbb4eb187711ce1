"""Errors a user can act on: each prints as one line and exits with code 2."""

from __future__ import annotations

from pathlib import Path


class SpecgenError(Exception):
    """A problem with the user's input or environment, reported without a traceback."""

    exit_code = 2


class InputError(SpecgenError):
    """Bad input, located at a file and (when known) a line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


class CycleError(SpecgenError):
    """A dependency cycle: nothing on it can be built first."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__("dependency cycle: " + " -> ".join([*cycle, cycle[0]]))
