"""The stand-in laid out from the verified downloads: the specs' Sources under their vendors'
names, a source lock that pins those files (and says where each pin came from), and the CUDA
tree of the GPU build root."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from specgen.atomic import write_atomic
from specgen.errors import SpecgenError
from specgen.filehash import file_facts
from specgen.generate.lock import LockedSource, SourceLock, read_lock
from specgen.generate.redist import shipped_manifest
from specgen.sources.overlay import UNPINNED, OverlaySource, read_overlay
from specgen.standin.components import StandinPlan
from specgen.standin.cudatree import COMPILER_FILES, CudaTree, add_compiler, cuda_tree
from specgen.standin.cudnn import cudnn_archive
from specgen.standin.onnxruntime import onnxruntime_archive
from specgen.standin.redist import Extra, redist_archive

# What a CUDA wheel lacks of NVIDIA's archive, taken from the CUDA tree, which holds it from
# Debian's packages of NVIDIA's binaries (another CUDA version; cudatree.add_compiler): archive
# path -> tree path. The tree's bin/nvcc.profile is the stand-in's own (cudatree.NVCC_PROFILE).
TREE_EXTRAS = {
    "cuda_nvcc": {rel: rel for rel in (*COMPILER_FILES.values(), "bin/nvcc.profile")},
    "cuda_cudart": {
        "lib/libcudart_static.a": "lib64/libcudart_static.a",
        "lib/libcudadevrt.a": "lib64/libcudadevrt.a",
    },
}
# Where those came from, for the overlay's `why` ({toolkit} and {dev}: Debian's .deb files).
TREE_EXTRAS_FROM = {
    "cuda_nvcc": "from {toolkit} (NVIDIA's compiler of another CUDA version) and an nvcc.profile "
    "written by the stand-in",
    "cuda_cudart": "from {dev} (NVIDIA's static runtime of another CUDA version)",
}


@dataclass(frozen=True)
class Layout:
    archives: dict[str, Path]  # spec name -> the stand-in Source
    inputs: dict[str, list[str]]  # spec name -> the registry files it was made from
    cuda: CudaTree
    overlay: Path


def _inputs(lock: SourceLock, feeds: str) -> list[LockedSource]:
    return [s for s in lock.sources if feeds in s.packages]


def _one(sources: list[LockedSource], suffix: str, feeds: str, prefix: str = "") -> LockedSource:
    found = [s for s in sources if s.file.endswith(suffix) and s.file.startswith(prefix)]
    if len(found) != 1:
        raise SpecgenError(
            f"the stand-in lock has {len(found)} {prefix}*{suffix} files for {feeds}"
        )
    return found[0]


def _version(plan: StandinPlan, name: str) -> str:
    for want in plan.wanted:
        if want.name == name:
            return want.version
    raise SpecgenError(f"the stand-in plan names no {name}")


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def overlay_entries(
    project: SourceLock, made: dict[str, Path], inputs: dict[str, list[str]]
) -> list[OverlaySource]:
    """One lock overlay entry per stand-in Source: the lock entry it stands in for (file, URL,
    the lock's pin), the local file with its own sha256 and size, and what it was made from."""
    by_file = {s.file: s for s in project.sources}
    entries = []
    for spec, path in sorted(made.items()):
        locked = by_file.get(path.name)
        if locked is None:
            raise SpecgenError(f"the project's lock has no entry for {path.name}")
        size, sha = file_facts(path)
        entries.append(OverlaySource(
            file=path.name, url=locked.url, lock_sha256=locked.sha256, path=path.resolve(),
            sha256=sha, size=size, listed_in=path,
            hash_from="computed by scripts/run standin nvidia layout, which made the file",
            why=f"STAND-IN made from {', '.join(inputs[spec])}; not the vendor's archive",
        ))  # fmt: skip
    return entries


def overlay_text(entries: list[OverlaySource], header: str) -> str:
    """The overlay file (docs/lock-overlay.md's format), absolute paths."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()] + ["format = 1"]
    for e in entries:
        lines += [
            "", "[[source]]", f"file = {_toml_string(e.file)}", f"url = {_toml_string(e.url)}",
            f"lock_sha256 = {_toml_string(e.lock_sha256 or UNPINNED)}",
            f"path = {_toml_string(str(e.path))}", f"sha256 = {_toml_string(e.sha256)}",
            f"size = {e.size}", f"hash_from = {_toml_string(e.hash_from)}",
            f"why = {_toml_string(e.why)}",
        ]  # fmt: skip
    return "\n".join(lines) + "\n"


def _cuda_archives(
    plan: StandinPlan,
    lock: SourceLock,
    downloads: Path,
    out_dir: Path,
    project: SourceLock,
    tree: Path,
    debs: dict[str, str],
) -> dict[str, tuple[Path, list[str]]]:
    """The redist archive of each CUDA component whose archive the project lock names (a lock
    of `specgen generate --cuda-from-redist`), keyed by the spec it feeds."""
    manifest = shipped_manifest(plan.cuda_manifest)
    wanted_files = {s.file: s for s in project.sources}
    made: dict[str, tuple[Path, list[str]]] = {}
    for want in plan.wanted:
        if not want.component or want.feeds not in ("cuda", "cuda-redist"):
            continue
        component = manifest.component(want.component)
        archive = component.archives.get("x86_64")
        if archive is None or archive.file not in wanted_files:
            continue
        wheel = _one(_inputs(lock, want.feeds), ".whl", want.name, want.name.replace("-", "_"))
        extras = tuple(
            Extra(rel, tree / from_tree, (tree / from_tree).stat().st_mode & 0o777)
            for rel, from_tree in sorted(TREE_EXTRAS.get(want.component, {}).items())
        )
        done = redist_archive(downloads / wheel.file, out_dir, archive.file, want.version, extras)
        made_from = [wheel.file]
        if extras:
            origin = TREE_EXTRAS_FROM[want.component].format(**debs)
            made_from.append(f"{', '.join(done.extras)} {origin}")
        spec = wanted_files[archive.file].packages[0]
        made[spec] = (done.archive, made_from)
    return made


def lay_out(
    plan: StandinPlan,
    lock: SourceLock,
    downloads: Path,
    dest: Path,
    project_lock: Path,
    base_overlay: Path | None = None,
) -> Layout:
    """dest/sources/* (the Sources), dest/cuda/ (the CUDA tree) and dest/standin-overlay.toml
    (a lock overlay of those Sources, plus base_overlay's entries: one file for the build)."""
    sources_dir = dest / "sources"
    made: dict[str, Path] = {}
    inputs: dict[str, list[str]] = {}

    cudnn_in = _one(_inputs(lock, "cudnn"), ".whl", "cudnn")
    repacked = cudnn_archive(
        downloads / cudnn_in.file, sources_dir, _version(plan, "nvidia-cudnn-cu12")
    )
    made["cudnn"], inputs["cudnn"] = repacked.archive, [cudnn_in.file]

    ort = _inputs(lock, "onnxruntime")
    npm, deb, whl = (_one(ort, suffix, "onnxruntime") for suffix in (".tgz", ".deb", ".whl"))
    made["onnxruntime"] = onnxruntime_archive(
        downloads / npm.file, downloads / deb.file, downloads / whl.file, sources_dir,
        _version(plan, "onnxruntime-node"),
    )  # fmt: skip
    inputs["onnxruntime"] = [npm.file, deb.file, whl.file]

    cuda_wheels = sorted(downloads / s.file for s in _inputs(lock, "cuda"))
    tree = cuda_tree(cuda_wheels, dest / "cuda")
    compiler = _inputs(lock, "cuda-compiler")
    toolkit = _one(compiler, "_amd64.deb", "the CUDA compiler", "nvidia-cuda-toolkit_")
    dev = _one(compiler, "_amd64.deb", "the CUDA compiler", "nvidia-cuda-dev_")
    add_compiler(tree.root, downloads / toolkit.file, downloads / dev.file)

    project = read_lock(project_lock)
    debs = {"toolkit": toolkit.file, "dev": dev.file}
    for spec, (path, made_from) in _cuda_archives(
        plan, lock, downloads, sources_dir, project, tree.root, debs
    ).items():
        made[spec], inputs[spec] = path, made_from
    entries = overlay_entries(project, made, inputs)
    base = read_overlay(base_overlay) if base_overlay else None
    if base is not None:
        base.check_against(project, project_lock)
        ours = {e.file for e in entries}
        entries += [e for name, e in sorted(base.sources.items()) if name not in ours]
    header = (
        "Lock overlay written by `scripts/run standin nvidia layout` (docs/gpu-build.md): the\n"
        "NVIDIA and Microsoft stand-in archives it made, pinned by their own sha256"
        + (f",\nand the entries of {base.path}." if base is not None else ".")
    )
    out = dest / "standin-overlay.toml"
    write_atomic(out, overlay_text(entries, header))
    read_overlay(out).check_against(project, project_lock)  # what specgen build will read
    return Layout(made, inputs, tree, out)
