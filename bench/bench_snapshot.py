"""How long the offline snapshot takes to load, and to resolve every name of the mapping table.

`specgen map` without the network starts with load_snapshot(): it should stay well under 0.2 s.
Prints the first load (decompress, parse JSON, build the index), later loads (JSON cached, index
rebuilt), and resolving every apt entry of the curated table against it.

    .venv/bin/python bench/bench_snapshot.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from specgen.mapping.resolver import resolve
from specgen.mapping.snapshot import default_path, load_snapshot
from specgen.mapping.table import load_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    t0 = time.perf_counter()
    index = load_snapshot()
    first = time.perf_counter() - t0
    later = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        load_snapshot()
        later.append(time.perf_counter() - t0)

    table = load_table()
    t0 = time.perf_counter()
    results = [resolve(name, None, index, table) for name in table.apt]
    resolving = time.perf_counter() - t0

    size = default_path().stat().st_size
    print(f"snapshot: {default_path().name}, {size / 1024:.0f} KiB, {len(index)} packages")
    print(f"first load:  {first * 1000:.1f} ms")
    print(f"later loads: {statistics.median(later) * 1000:.1f} ms (median of {args.repeat})")
    print(f"resolve {len(results)} table names: {resolving * 1000:.1f} ms")


if __name__ == "__main__":
    main()
