"""What `specgen build` shows: a live status table while it runs, a summary table at the end."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from specgen.build.runner import Result
from specgen.build.scheduler import Event

_STYLE = {"built": "green", "unchanged": "cyan", "failed": "red", "blocked": "yellow",
          "skipped": "yellow", "working": "bold", "waiting": "dim"}  # fmt: skip


class BuildView:
    """Live table on a terminal; one line per event otherwise (logs, CI)."""

    def __init__(self, names: list[str], console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.status = dict.fromkeys(names, "waiting")
        self.started: dict[str, float] = {}
        self.live = Live(self._table(), console=self.console, transient=True,
                         auto_refresh=False) if self.console.is_terminal else None  # fmt: skip

    def __enter__(self) -> BuildView:
        if self.live:
            self.live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        if self.live:
            self.live.__exit__(kind, value, tb)

    def on_event(self, event: Event) -> None:
        if event.kind == "started":
            self.status[event.node] = "working"  # checking, or building if out of date
            self.started[event.node] = time.monotonic()
        else:
            self.status[event.node] = event.status.value if event.status else "failed"
        if self.live:
            self.live.update(self._table(), refresh=True)
        else:
            detail = f" ({event.elapsed:.1f} s)" if event.kind == "finished" else ""
            self.console.print(f"{self.status[event.node]:>9} {event.node}{detail}")

    def _table(self) -> Table:
        table = Table(title="specgen build")
        table.add_column("package")
        table.add_column("status")
        table.add_column("time", justify="right")
        now = time.monotonic()
        for name, status in self.status.items():
            elapsed = f"{now - self.started[name]:.0f} s" if status == "working" else ""
            table.add_row(name, f"[{_STYLE[status]}]{status}[/]", elapsed)
        return table

    def summary(self, results: dict[str, Result]) -> None:
        table = Table(title="specgen build: summary")
        for column in ("package", "status", "time", "size", "RPMs"):
            table.add_column(column, justify="right" if column in ("time", "size") else "left")
        for r in results.values():
            size = _size(r.size) if r.size else ""
            table.add_row(r.name, f"[{_STYLE.get(r.status.value, '')}]{r.status.value}[/]",
                          f"{r.seconds:.1f} s", size, str(len(r.rpms)))  # fmt: skip
        Console().print(table)

    def reproducibility(self, results: dict[str, Result]) -> None:
        """--check-reproducible: per package, the RPMs two builds made the same and what
        differs in the others."""
        table = Table(title="specgen build: reproducibility (two builds, byte for byte)")
        for column in ("package", "result", "identical", "what differs"):
            table.add_column(column, justify="right" if column == "identical" else "left")
        for r in results.values():
            c = r.comparison
            if c is None:
                why = r.check_error or f"not checked ({r.status.value})"
                table.add_row(r.name, "[red]no second build[/]", "", why)
                continue
            verdict = "[green]identical[/]" if c.reproducible else "[red]differs[/]"
            count = f"{len(c.identical)} of {len(c.identical) + len(c.differences)}"
            table.add_row(r.name, verdict, count, "\n".join(d.summary() for d in c.differences))
        Console().print(table)


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"
