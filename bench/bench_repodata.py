"""How long reading repository metadata takes at Azure Linux's size (base + extended).

Writes a synthetic primary.xml.gz of about 8,400 packages (like the real one: descriptions,
requires, a few provides and primary's file entries each) and its repomd.xml into a temporary
folder, then prints: parsing alone, the first load (verify, parse, index, write the cache) and
loads from the cache. Goals: under 1 s for the first, under 0.2 s from the cache.

    .venv/bin/python bench/bench_repodata.py [--packages 8400] [--versions 1] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from specgen.mapping.repodata import (
    RepoConfig,
    load_repository,
    open_decompressed,
    parse_primary,
)

WORDS = [
    "library",
    "runtime",
    "development",
    "files",
    "headers",
    "tools",
    "python",
    "bindings",
    "data",
    "shared",
    "static",
    "documentation",
    "utilities",
    "server",
    "client",
    "plugin",
    "module",
    "extension",
    "support",
    "compression",
    "network",
    "crypto",
    "parser",
    "codec",
    "daemon",
    "kernel",
    "fonts",
    "locale",
    "protocol",
    "interface",
]


def _package(rng: random.Random, i: int, version: int) -> str:
    naming = random.Random(i)  # the same name for every version of package i
    name = f"{naming.choice(WORDS)}-{naming.choice(WORDS)}-{i}"
    ver, rel = f"{rng.randint(0, 30)}.{rng.randint(0, 99)}.{version}", f"{rng.randint(1, 20)}.azl3"
    provides = [f'<rpm:entry name="{name}" flags="EQ" epoch="0" ver="{ver}" rel="{rel}"/>']
    provides += [f'<rpm:entry name="{name}(x86-64)" flags="EQ" epoch="0" ver="{ver}"/>']
    for k in range(rng.randint(0, 8)):
        cap = rng.choice([f"lib{name}.so.{k}()(64bit)", f"pkgconfig({name}{k})", f"{name}-c{k}"])
        provides.append(f'<rpm:entry name="{escape(cap)}"/>')
    requires = "".join(
        f'<rpm:entry name="lib{rng.choice(WORDS)}.so.{k}()(64bit)"/>'
        for k in range(rng.randint(2, 20))
    )
    files = "".join(
        f"<file>/usr/bin/{name}-{k}</file>" for k in range(rng.choice([0, 0, 0, 1, 2, 5]))
    )
    desc = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 120)))
    arch = rng.choice(["x86_64", "x86_64", "noarch"])
    digest = hashlib.sha256(f"{name}{ver}".encode()).hexdigest()
    return (
        f'<package type="rpm"><name>{name}</name><arch>{arch}</arch>'
        f'<version epoch="0" ver="{ver}" rel="{rel}"/>'
        f'<checksum type="sha256" pkgid="YES">{digest}</checksum>'
        f"<summary>{name} {rng.choice(WORDS)}</summary><description>{desc}</description>"
        f"<packager>Microsoft</packager><url>https://example.org/{name}</url>"
        f'<time file="1712345678" build="1712345678"/>'
        f'<size package="123456" installed="654321" archive="654999"/>'
        f'<location href="Packages/{name[0]}/{name}-{ver}-{rel}.{arch}.rpm"/>'
        f"<format><rpm:license>MIT</rpm:license><rpm:vendor>Microsoft Corporation</rpm:vendor>"
        f"<rpm:group>Unspecified</rpm:group><rpm:buildhost>build</rpm:buildhost>"
        f"<rpm:sourcerpm>{name}-{ver}-{rel}.src.rpm</rpm:sourcerpm>"
        f'<rpm:header-range start="4504" end="23456"/>'
        f"<rpm:provides>{''.join(provides)}</rpm:provides>"
        f"<rpm:requires>{requires}</rpm:requires>{files}</format></package>\n"
    )


def make_repo(root: Path, packages: int, versions: int) -> Path:
    """A repository folder with repodata/repomd.xml and a gzip primary.xml."""
    body = "".join(
        _package(random.Random(i * 1000 + v), i, v) for i in range(packages)
        for v in range(versions)
    )  # fmt: skip
    count = packages * versions
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<metadata xmlns="http://linux.duke.edu/metadata/common" '
        f'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="{count}">\n{body}</metadata>\n'
    ).encode()
    payload = gzip.compress(xml, compresslevel=6)
    digest = hashlib.sha256(payload).hexdigest()
    repodata = root / "repodata"
    repodata.mkdir(parents=True)
    (repodata / f"{digest}-primary.xml.gz").write_bytes(payload)
    (repodata / "repomd.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<repomd xmlns="http://linux.duke.edu/metadata/repo">'
        "<revision>1712345678</revision>"
        f'<data type="primary"><checksum type="sha256">{digest}</checksum>'
        f'<location href="repodata/{digest}-primary.xml.gz"/><size>{len(payload)}</size>'
        "</data></repomd>\n"
    )
    print(
        f"primary.xml: {count:,} package entries, {len(xml) / 1e6:.1f} MB "
        f"({len(payload) / 1e6:.1f} MB gzip)"
    )
    return root


def _time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    runs, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=8400)
    parser.add_argument("--versions", type=int, default=1, help="versions of each name")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="specgen-bench-") as tmp:
        repo_dir = make_repo(Path(tmp) / "repo", args.packages, args.versions)
        repo = RepoConfig("bench", str(repo_dir))
        primary = next((repo_dir / "repodata").glob("*-primary.xml.gz"))

        def parse() -> object:
            with primary.open("rb") as fh:
                return parse_primary(open_decompressed(fh, primary.name), primary.name)

        t_parse, best = _time(parse, args.repeat)
        caches = iter(range(args.repeat))

        def cold() -> object:
            return load_repository(repo, cache_dir=Path(tmp) / f"cache{next(caches)}")

        t_cold, index = _time(cold, args.repeat)
        cache = Path(tmp) / "cache0"
        t_warm, _ = _time(lambda: load_repository(repo, cache_dir=cache), args.repeat)
        t_off, _ = _time(lambda: load_repository(repo, cache_dir=cache, offline=True), args.repeat)
        size = sum(p.stat().st_size for p in cache.rglob("index-*"))
        caps = len(index.provides)  # type: ignore[attr-defined]
        print(f"indexed: {len(best):,} packages, {caps:,} capabilities")  # type: ignore[arg-type]
        print(f"parse primary.xml.gz (stream, newest per name)  {t_parse:6.3f} s")
        print(f"first load: verify+parse+index+write cache      {t_cold:6.3f} s   (goal < 1 s)")
        print(f"second load, online (repomd.xml, then cache)    {t_warm:6.3f} s   (goal < 0.2 s)")
        print(f"load offline from the cache                     {t_off:6.3f} s   (goal < 0.2 s)")
        print(f"cache index size                                {size / 1e6:6.2f} MB")
        print(f"(median of {args.repeat} runs each)")


if __name__ == "__main__":
    main()
