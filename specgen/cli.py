"""The `specgen` command line: thin wrappers that read input, call the core, print results."""

from __future__ import annotations

import sys

import click

from specgen import __version__
from specgen.errors import SpecgenError


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
