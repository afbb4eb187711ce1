"""Time to parse every dry-run variant under ../shared in one process (goal: under 0.5 s)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from specgen.recipe.dryrun import load_recipe


def main() -> int:
    default = Path(__file__).resolve().parents[2] / "shared"
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    variants = sorted(p for p in (root / "triton-dryrun").glob("*/*") if p.is_dir())
    if not variants:
        print(f"no dry-run variants under {root}/triton-dryrun", file=sys.stderr)
        return 2
    load_recipe([variants[0]])  # warm-up: imports and the parser's grammar
    start = time.perf_counter()
    for folder in variants:
        load_recipe([folder])
    elapsed = time.perf_counter() - start
    each = elapsed / len(variants) * 1000
    print(f"parsed {len(variants)} variants in {elapsed:.3f} s ({each:.1f} ms each; goal < 0.5 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
