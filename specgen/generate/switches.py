"""%bcond switches whose defaults follow the recipe: on when the recipe's CMake option asks for
the feature and what the feature needs has a spec in this generation (or comes from outside)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from specgen.generate import speclang

# Needs met outside specgen's specs: NVIDIA's CUDA repository, Azure Linux packages.
EXTERNAL_NEEDS = {"cuda"}


@dataclass(frozen=True)
class Switch:
    """One %bcond: its default and the reason written above it in the spec."""

    name: str
    on: bool
    why: str
    build_requires: tuple[str, ...] = ()


def is_on(value: str | None) -> bool:
    """A CMake boolean as cmake_build writes it."""
    return (value or "").upper() in ("ON", "TRUE", "1", "YES")


def recipe_switches(
    owner: str, data: dict[str, Any], options: dict[str, str], generated: set[str]
) -> list[Switch]:
    """The `[bconds.<name>]` tables of a package data file, decided against the recipe's options.

    A table has `option` (the recipe's CMake option), `why`, and optionally `needs` (a spec or
    external name) and `build_requires` (written under `%if %{with <name>}`).
    """
    out = []
    for name, raw in data.get("bconds", {}).items():
        speclang.name(owner, "bcond", name)
        wanted = is_on(options.get(raw["option"]))
        need = raw.get("needs")
        met = need is None or need in EXTERNAL_NEEDS or need in generated
        why = raw["why"]
        if not wanted:
            why += f"; off because the recipe sets {raw['option']}=OFF"
        elif not met:
            why += f"; off because specgen writes no spec for {need} yet"
        out.append(Switch(name, wanted and met, why, tuple(raw.get("build_requires", ()))))
    return out
