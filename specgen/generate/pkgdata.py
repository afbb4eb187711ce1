"""Package data files (`specgen/data/packages/*.toml`): what a spec says, with `{fact}` holes.

A value like `"libcudnn{cudnn_major}-cuda-{cuda_major}"` is filled from the release facts; rpm
macros (`%{_libdir}`, `%{?_isa}`) are left as they are. An unknown `{hole}` is an error naming
the file, so a typo never reaches a spec.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from typing import Any

from specgen.errors import InputError, SpecgenError

_HOLE = re.compile(r"(?<![%?{$])\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill(value: str, facts: dict[str, str], where: str) -> str:
    """Replace `{fact}` holes (not rpm's `%{macro}`) with their values."""

    def one(m: re.Match[str]) -> str:
        try:
            return facts[m.group(1)]
        except KeyError:
            raise SpecgenError(f"{where}: unknown fact {{{m.group(1)}}}") from None

    return _HOLE.sub(one, value)


def fill_all(value: Any, facts: dict[str, str], where: str) -> Any:
    """`fill` through lists and tables."""
    if isinstance(value, str):
        return fill(value, facts, where)
    if isinstance(value, list):
        return [fill_all(v, facts, where) for v in value]
    if isinstance(value, dict):
        return {k: fill_all(v, facts, where) for k, v in value.items()}
    return value


def has_package_data(name: str) -> bool:
    """Whether specgen carries `specgen/data/packages/<name>.toml`."""
    return resources.files("specgen.data").joinpath("packages", f"{name}.toml").is_file()


def load_package_data(name: str) -> dict[str, Any]:
    """The raw data of `specgen/data/packages/<name>.toml`."""
    where = f"specgen/data/packages/{name}.toml"
    ref = resources.files("specgen.data").joinpath("packages", f"{name}.toml")
    if not ref.is_file():
        raise SpecgenError(f"specgen has no package data for {name} ({where})")
    try:
        data = tomllib.loads(ref.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise InputError(where, str(err)) from None
    data["_where"] = where
    return data
