"""The `specgen` command line: thin wrappers that read input, call the core, print results."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from specgen import __version__
from specgen.cli_generate import generate_command
from specgen.cli_graph import graph_command
from specgen.cli_lint import lint_command
from specgen.cli_map import map_command
from specgen.cli_sources import sources_command
from specgen.errors import SpecgenError
from specgen.views import print_recipe, to_json


class _Group(click.Group):
    """Turns a SpecgenError anywhere below into one line on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SpecgenError as err:
            click.echo(f"specgen: error: {err}", err=True)
            sys.exit(err.exit_code)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="specgen")
def main() -> None:
    """Turn NVIDIA Triton Inference Server into native Azure Linux 3.0 RPM packages."""


@main.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "--arch",
    type=click.Choice(["auto", "x86_64", "aarch64"]),
    default="auto",
    help="Architecture the files were generated for (auto: from their download URLs).",
)
def parse(paths: tuple[str, ...], fmt: str, arch: str) -> None:
    """Read build.py --dryrun output (a folder or files) into a recipe.

    With no PATH, shows the embedded default release (Triton 25.03).
    """
    from specgen.dryrun import load_or_default

    recipe = load_or_default([Path(p) for p in paths], None if arch == "auto" else arch)
    if fmt == "json":
        click.echo(to_json(recipe.to_dict()), nl=False)
    else:
        print_recipe(recipe, Console())


main.add_command(generate_command)
main.add_command(graph_command)
main.add_command(lint_command)
main.add_command(map_command)
main.add_command(sources_command)
