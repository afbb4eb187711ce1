"""The stand-in's command line: `pin` writes the lock from the registries, `fetch` downloads and
verifies every file of it into a cache, `layout` makes the specs' Sources and the CUDA tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import requests

from specgen.errors import SpecgenError
from specgen.generate.lock import read_lock, write_lock
from specgen.sources.download import Fetcher, fetch_all
from specgen.standin.components import LOCK, data_path, load_plan

# ../shared beside the checkout (docs/gpu-build.md).
BASE_OVERLAY = Path("sources/overlay-shared-r25.03.toml")
TENSORRT_HEADERS = Path("../shared/triton-sources/tensorrt-10.9.0-headers.tar.gz")
DEFAULT_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "specgen" / "standin"
)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SpecgenError as err:
            click.echo(f"standin nvidia: error: {err}", err=True)
            sys.exit(err.exit_code)


@click.group(cls=_Group)
def standin() -> None:
    """NVIDIA's and Microsoft's archives stood in for by the same binaries from PyPI, npm and
    Debian (docs/gpu-build.md)."""


@standin.command("pin")
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the lock [default: specgen/data/standin/nvidia.lock.json].",
)
@click.option(
    "--only",
    "only",
    multiple=True,
    help="Ask the registries for this plan entry only (repeatable); keep the lock's other pins.",
)
def pin_command(lock_path: Path | None, only: tuple[str, ...]) -> None:
    """Pin every file in the lock with the hash its registry publishes."""
    from specgen.standin.pin import pin_all

    target = lock_path or data_path(LOCK)
    keep = read_lock(target) if only and target.is_file() else None
    lock = pin_all(Fetcher(requests.Session()), load_plan(), only=frozenset(only), keep=keep)
    write_lock(target, lock)
    for source in lock.sources:
        click.echo(f"{source.sha256}  {source.size:>11}  {source.file}")
    click.echo(f"wrote {target} ({len(lock.sources)} files)")


_cache_option = click.option(
    "--cache", type=click.Path(path_type=Path), default=DEFAULT_CACHE, show_default=True,
    help="The stand-in's folder: downloads/ (fetch), and beside it what layout makes.",
)  # fmt: skip


@standin.command("fetch")
@_cache_option
def fetch_command(cache: Path) -> None:
    """Download every file of the lock into the cache, each checked against its pin."""
    lock = read_lock(data_path(LOCK))
    outcomes = fetch_all(Fetcher(requests.Session()), lock.sources, cache / "downloads", None)
    for outcome in outcomes:
        click.echo(f"{outcome.status:>10}  {outcome.source.file}")


@standin.command("layout")
@_cache_option
@click.option(
    "--project-lock",
    type=click.Path(path_type=Path, exists=True),
    default=Path("sources/sources.lock.json"),
    show_default=True,
    help="The project's source lock, whose entries the overlay stands in for; a lock of "
    "`specgen generate --cuda-from-redist` also gets the CUDA components' redist archives.",
)
@click.option(
    "--tensorrt-headers",
    type=click.Path(path_type=Path),
    default=TENSORRT_HEADERS,
    show_default=True,
    help="TensorRT's public headers, for the build root's link stubs.",
)
@click.option(
    "--base-overlay",
    type=click.Path(path_type=Path),
    default=BASE_OVERLAY,
    show_default=True,
    help="A lock overlay whose entries the written one carries too "
    "(the Triton Sources' local archives); '' for none.",
)
def layout_command(cache: Path, project_lock: Path, tensorrt_headers: Path,
                   base_overlay: Path) -> None:  # fmt: skip
    """Lay out the specs' Sources (cuDNN, ONNX Runtime and, for a --cuda-from-redist lock, the
    CUDA components), their lock overlay, the CUDA tree and TensorRT's link stubs."""
    from specgen.standin.cudatree import missing_for_cuda_code
    from specgen.standin.layout import lay_out
    from specgen.standin.tensorrt import link_stubs

    lock = read_lock(data_path(LOCK))
    base = base_overlay if str(base_overlay) not in ("", ".") else None
    done = lay_out(load_plan(), lock, cache / "downloads", cache, project_lock, base)
    for spec, path in sorted(done.archives.items()):
        click.echo(
            f"{spec}: {path} ({path.stat().st_size:,} bytes) from {', '.join(done.inputs[spec])}"
        )
    click.echo(
        f"cuda: {done.cuda.root} ({done.cuda.files} files, {done.cuda.bytes:,} bytes; "
        f"libraries {', '.join(done.cuda.libraries)})"
    )
    missing = missing_for_cuda_code(done.cuda.root)
    if missing:
        click.echo(f"cuda: missing, needed to compile CUDA code: {', '.join(missing)}")
    nvcc = subprocess.run([str(done.cuda.root / "bin" / "nvcc"), "--version"], capture_output=True,
                          text=True, check=False)  # fmt: skip
    click.echo(
        f"cuda: compiler {nvcc.stdout.strip().splitlines()[-1] if nvcc.stdout else nvcc.stderr}"
    )
    if tensorrt_headers.is_file():
        stubs = link_stubs(tensorrt_headers, cache / "tensorrt-stubs")
        exported = "; ".join(f"lib{k}.so.10: {', '.join(v)}" for k, v in stubs.symbols.items())
        click.echo(
            f"tensorrt: headers in {stubs.include}, LINK-ONLY stubs in {stubs.lib} ({exported})"
        )
    else:
        click.echo(f"tensorrt: no {tensorrt_headers}: no headers or link stubs for the build root")
    click.echo(f"overlay: {done.overlay} (build with --lock-overlay {done.overlay})")
