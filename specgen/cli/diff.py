"""`specgen diff A B`: what changed between two releases or dry-runs, and whether the specs must."""

from __future__ import annotations

import sys

import click


@click.command("diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def diff_command(a: str, b: str, fmt: str) -> None:
    """Compare two releases (YY.MM, their embedded recipes and facts) or dry-run folders.

    Lists added, removed and changed packages per image, downloads, CMake options, backends,
    repository agents and caches, and the release facts. Exit code 0: nothing that feeds the
    specs differs; 1: the specs must change; 2: bad input.
    """
    from rich.console import Console

    from specgen.cli.diffview import print_diff
    from specgen.cli.views import to_json
    from specgen.generate.releasediff import diff_sides, load_side

    diff = diff_sides(load_side(a), load_side(b))
    if fmt == "json":
        click.echo(to_json(diff.to_dict()), nl=False)
    else:
        print_diff(diff, Console())
    sys.exit(1 if diff.specs_must_change else 0)
