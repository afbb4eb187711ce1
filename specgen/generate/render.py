"""Rendering package models into spec text with the jinja2 templates in templates/ beside it."""

from __future__ import annotations

from functools import cache

import jinja2

from specgen import __version__
from specgen.generate.package import DISTRIBUTION, VENDOR, PackageSpec


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("specgen.generate", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # spec text, not HTML: values are checked by speclang instead
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_spec(pkg: PackageSpec, release: str) -> str:
    """The spec file of one package: deterministic text ending in one newline."""
    template = _environment().get_template(pkg.template)
    text = template.render(
        pkg=pkg,
        release=release,
        vendor=VENDOR,
        distribution=DISTRIBUTION,
        specgen_version=__version__,
    )
    return text.rstrip("\n") + "\n"
