"""Wall time of `specgen generate --release R` for every embedded release, each in a new process.

Two passes: each release into a new folder, then every release in order into one folder (the
monthly bump: each run reads the previous specs and carries their changelogs over). Facts a
release's data does not know (cuDNN and TensorRT for most releases, CUDA for some, one date) are
supplied with --fact stand-ins: the value of the nearest release that knows it, the first of the
month for a date. The output lists every stand-in, so no figure passes for a real release's facts.
Usage: python bench/bench_generate_all.py
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from specgen.generate.release import facts_for
from specgen.recipe.embed import embedded_recipe, embedded_releases


def stand_ins(releases: list[str]) -> dict[str, dict[str, str]]:
    """Per release, `--fact` values for what its facts lack: the nearest release's value (the
    earlier one on a tie), the first of its month for a date."""
    known = {name: facts_for(embedded_recipe(name), name) for name in releases}
    out: dict[str, dict[str, str]] = {}
    for i, name in enumerate(releases):
        supplied = {}
        for fact in known[name].missing():
            if fact == "date":
                yy, mm = name.split(".")
                supplied[fact] = f"20{yy}-{mm}-01"
                continue
            nearest = sorted(
                (abs(j - i), j) for j, other in enumerate(releases) if fact in known[other].facts
            )
            if not nearest:
                raise SystemExit(f"no release knows {fact}: nothing to stand in for it")
            supplied[fact] = str(known[releases[nearest[0][1]]].facts[fact])
        out[name] = supplied
    return out


def run(exe: str, release: str, facts: dict[str, str], out: Path) -> float:
    args = [exe, "generate", "--release", release, "-o", str(out)]
    for key, value in sorted(facts.items()):
        args += ["--fact", f"{key}={value}"]
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    exe = shutil.which("specgen") or str(Path(sys.executable).with_name("specgen"))
    releases = embedded_releases()
    supplied = stand_ins(releases)
    print(f"{len(releases)} embedded releases, {releases[0]} to {releases[-1]}")
    print("stand-in facts (not the releases' own; only for timing):")
    for name in releases:
        if supplied[name]:
            print(f"  {name}: " + ", ".join(f"{k}={v}" for k, v in sorted(supplied[name].items())))
    with tempfile.TemporaryDirectory() as tmp:
        fresh = [run(exe, r, supplied[r], Path(tmp) / "each" / r / "specs") for r in releases]
        chained = [run(exe, r, supplied[r], Path(tmp) / "chain" / "specs") for r in releases]
        specs = len([p for p in (Path(tmp) / "chain" / "specs").iterdir() if p.is_dir()])
    print(f"{'release':8} {'new folder':>11} {'over previous':>14}")
    for name, a, b in zip(releases, fresh, chained, strict=True):
        print(f"{name:8} {a:10.3f}s {b:13.3f}s")
    for label, times in (("each into a new folder", fresh), ("in order into one", chained)):
        print(
            f"all {len(releases)} releases, {label}: total {sum(times):.2f} s, "
            f"median {statistics.median(times):.3f} s, slowest {max(times):.3f} s"
        )
    print(f"({specs} specs in the chained folder after {releases[-1]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
