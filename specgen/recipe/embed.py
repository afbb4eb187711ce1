"""The embedded recipes: for each release, the parser's output for its `container` dry-run.

`specgen generate --release R` (and parse, graph, map without a PATH) read them, so a release
needs no dry-run files at hand. `python -m specgen.recipe.embed DRYRUN_ROOT` rewrites them from
`DRYRUN_ROOT/r<YY.MM>/container/` (../shared/triton-dryrun, or folders made with
scripts/triton-dryrun); a test checks them against a fresh parse where ../shared has the files.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from importlib import resources
from pathlib import Path

from specgen.errors import SpecgenError
from specgen.recipe.model import Recipe

_FILE = re.compile(r"r(?P<name>\d\d\.\d\d)\.json\.gz")
VARIANT = "container"


def embedded_releases() -> list[str]:
    """Releases with an embedded recipe, sorted."""
    folder = resources.files("specgen.data").joinpath("recipes")
    return sorted(m.group("name") for p in folder.iterdir() if (m := _FILE.fullmatch(p.name)))


def embedded_recipe(name: str) -> Recipe:
    """The embedded recipe of release `name`; an error naming the known ones when absent."""
    ref = resources.files("specgen.data").joinpath("recipes", f"r{name}.json.gz")
    if not ref.is_file():
        known = ", ".join(embedded_releases())
        raise SpecgenError(
            f"no embedded recipe for Triton {name} (known: {known}): pass its dry-run with --from"
        )
    return Recipe.from_dict(json.loads(gzip.decompress(ref.read_bytes())))


def encode(recipe: Recipe) -> bytes:
    """The stored form: indented JSON, gzip with no timestamp (the same bytes each run)."""
    text = json.dumps(recipe.to_dict(), indent=1) + "\n"
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def main(argv: list[str]) -> int:
    from specgen.atomic import write_atomic
    from specgen.recipe.dryrun import load_recipe

    if len(argv) != 1:
        print("usage: python -m specgen.recipe.embed DRYRUN_ROOT", file=sys.stderr)
        return 2
    root = Path(argv[0])
    out = Path(str(resources.files("specgen.data").joinpath("recipes")))
    for folder in sorted(root.glob(f"r[0-9][0-9].[0-9][0-9]/{VARIANT}")):
        name = folder.parent.name
        write_atomic(out / f"{name}.json.gz", encode(load_recipe([folder])))
        print(f"{out / name}.json.gz")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
