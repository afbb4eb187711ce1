"""The `specgen` command line: thin wrappers that read input, call the core, print results."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from specgen import __version__
from specgen.errors import SpecgenError

# Subcommands by name -> "module:attribute", imported only when run (or listed in --help), so
# `specgen generate` does not pay for rich, the mapping tables or the linter at start-up.
_COMMANDS = {
    "build": "specgen.cli.build:build_command",
    "diff": "specgen.cli.diff:diff_command",
    "doctor": "specgen.cli.doctor:doctor_command",
    "generate": "specgen.cli.generate:generate_command",
    "graph": "specgen.cli.graph:graph_command",
    "lint": "specgen.cli.lint:lint_command",
    "map": "specgen.cli.map:map_command",
    "repo": "specgen.cli.repo:repo_command",
    "sbom": "specgen.cli.sbom:sbom_command",
    "sources": "specgen.cli.sources:sources_command",
    "verify": "specgen.cli.verify:verify_command",
}


class _Group(click.Group):
    """Turns a SpecgenError anywhere below into one line on stderr and its exit code, and
    loads subcommands lazily."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            module, _, attr = _COMMANDS[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)

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
    from rich.console import Console

    from specgen.cli.views import print_recipe, to_json
    from specgen.recipe.dryrun import load_or_default

    recipe = load_or_default([Path(p) for p in paths], None if arch == "auto" else arch)
    if fmt == "json":
        click.echo(to_json(recipe.to_dict()), nl=False)
    else:
        print_recipe(recipe, Console())

