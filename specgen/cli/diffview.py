"""What `specgen diff` shows on a terminal: the release facts side by side, then the changes."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from specgen.generate.releasediff import FACT_LABELS, Change, ReleaseDiff

_STYLE = {"added": "green", "removed": "red", "changed": "yellow"}


def print_diff(diff: ReleaseDiff, console: Console) -> None:
    """A facts table (changed rows marked), a table of the other changes, and the verdict."""
    a, b = diff.a.label, diff.b.label
    facts = Table(title=f"release facts: {a} -> {b}")
    for column in ("fact", a, b):
        facts.add_column(column, overflow="fold")
    for key, old, new in diff.fact_rows():
        facts.add_row(FACT_LABELS[key], old, new, style="yellow" if old != new else None)
    console.print(facts)
    rows = _grouped(c for c in diff.changes if c.section != "fact")
    if rows:
        table = Table(title=f"changes: {a} -> {b}")
        for column in ("where", "what", "item", a, b):
            table.add_column(column, overflow="fold")
        for change, scopes in rows:
            where = ", ".join(_place(change, s) for s in scopes)
            where += "" if change.feeds_specs else " (no spec reads it)"
            what = f"{change.section} [{_STYLE[change.kind]}]{change.kind}[/]"
            table.add_row(where, what, change.item, _shown(change, change.old),
                          _shown(change, change.new))  # fmt: skip
        console.print(table)
    counted = sum(1 for c in diff.changes if c.feeds_specs)
    if diff.specs_must_change:
        console.print(f"{counted} of {len(diff.changes)} changes feed the specs: they must change")
    else:
        n = len(diff.changes)
        extra = f" ({n} change{'s' if n != 1 else ''} in what no spec reads)" if n else ""
        console.print(f"nothing that feeds the specs differs{extra}")


def _grouped(changes: Iterable[Change]) -> list[tuple[Change, list[str]]]:
    """One row for the same change in several places (a repository tag in every project)."""
    rows: dict[tuple[object, ...], tuple[Change, list[str]]] = {}
    for c in changes:
        key = (c.section, c.item, c.old, c.new, c.feeds_specs)
        rows.setdefault(key, (c, []))[1].append(c.scope)
    return list(rows.values())


def _shown(change: Change, value: str | None) -> str:
    """A value as a cell: empty when absent; for a package the pin or specifier without its
    name (`yes` when unpinned); for a URL, `yes`."""
    if value is None:
        return ""
    if change.section in ("apt", "pip", "rpm", "download"):
        rest = " | ".join(_without_name(change, v) for v in value.split(" | "))
        return rest or "yes"
    return value


def _without_name(change: Change, value: str) -> str:
    """`cmake=3.28.3*` -> `3.28.3*` (apt), `cmake==4.0.3` -> `==4.0.3` (pip)."""
    if not value.startswith(change.item):
        return value
    rest = value[len(change.item) :]
    return rest.removeprefix("=") if change.section == "apt" else rest


def _place(change: Change, scope: str) -> str:
    """An option's project by name (`tritonserver`, `onnxruntime`); other scopes as they are."""
    return scope.partition(" ")[2] if change.section == "option" else scope
