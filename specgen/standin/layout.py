"""The stand-in laid out from the verified downloads: the specs' Sources under their vendors'
names, a source lock that pins those files (and says where each pin came from), and the CUDA
tree of the GPU build root."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from specgen.errors import SpecgenError
from specgen.filehash import file_facts
from specgen.lock import LockedSource, SourceLock, read_lock, write_lock
from specgen.standin.components import StandinPlan
from specgen.standin.cudatree import CudaTree, add_compiler, cuda_tree
from specgen.standin.cudnn import cudnn_archive
from specgen.standin.onnxruntime import onnxruntime_archive


@dataclass(frozen=True)
class Layout:
    archives: dict[str, Path]  # spec name -> the stand-in Source
    inputs: dict[str, list[str]]  # spec name -> the registry files it was made from
    cuda: CudaTree
    lock: Path


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


def standin_lock(
    project: SourceLock, made: dict[str, Path], inputs: dict[str, list[str]]
) -> SourceLock:
    """The project's lock with each stand-in Source pinned by its own sha256 and size; every
    other entry as it was. pinned_by says the file is a stand-in, what it was made from, and
    which published pin it replaces."""
    by_file = {path.name: spec for spec, path in made.items()}
    sources = []
    for source in project.sources:
        spec = by_file.get(source.file)
        if spec is None:
            sources.append(source)
            continue
        size, sha = file_facts(made[spec])
        note = (
            f"STAND-IN made by scripts/standin-nvidia from {', '.join(inputs[spec])}; "
            f"not the vendor's file (published pin: {source.sha256 or 'none'})"
        )
        sources.append(dataclasses.replace(source, sha256=sha, size=size, pinned_by=note))
    missing = sorted(set(by_file) - {s.file for s in project.sources})
    if missing:
        raise SpecgenError(f"the project's lock has no entry for {', '.join(missing)}")
    return dataclasses.replace(project, sources=tuple(sources))


def lay_out(
    plan: StandinPlan, lock: SourceLock, downloads: Path, dest: Path, project_lock: Path
) -> Layout:
    """dest/sources/* (the Sources), dest/cuda-<ver>/ (the CUDA tree), dest/standin.lock.json."""
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
    out_lock = dest / "standin.lock.json"
    write_lock(out_lock, standin_lock(project, made, inputs))
    return Layout(made, inputs, tree, out_lock)
