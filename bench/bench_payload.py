"""Payload packaging time for about 1 GB of libraries vs `tar | zstd -T0` (goal: within 1.5x).

Makes a cuDNN archive in NVIDIA's layout (as tests/nvidia_fakes.py lays it out) whose four big
libraries are real gcc-built shared objects (soname libcudnn_*.so.9) grown to SIZE/4 each by an
added `.nv_fatbin` section, as CUDA libraries carry their kernels; the section is 64 KiB blocks
of random bytes (15 %), bytes of 4-bit entropy (30 %) and sparse tables (55 %: one random byte
in 16, zeros between), which zstd packs about 2.65x, like real CUDA libraries (2-3x). The small
libcudnn.so.9 (cudnnGetVersion), a static library, headers and LICENSE complete it. The archive
is written as a plain tar under NVIDIA's .tar.xz name (GNU tar reads it by its content; xz of
1 GB takes minutes here) and pinned in a scratch lock as tests/build/test_build.py pins its fakes.

Then, on this machine:
- `specgen build --only cudnn --nodeps` end to end (a new process, as a user runs it);
- specgen's own work around rpmbuild: the Source's sha256 check, RPMs into the repository and
  createrepo_c (timed in this process with specgen's functions);
- rpmbuild with the command specgen runs (specgen.build.rpmbuilder.Backend): `-bi` (%prep,
  %install), then the packaging stage alone over that buildroot, `-bb --short-circuit
  --noclean`, with Azure Linux's payload (`%_binary_payload w7T0.zstdio`), with zstd levels 3 and
  1 (what a spec could choose instead) and uncompressed (`w.ufdio`), which separates compression
  from the rest of packaging (file digests, dependencies, headers);
- `tar -cf - -C BUILDROOT . | zstd -T0 -LEVEL` over the same installed tree (page cache warm for
  both), at level 3 (zstd's default) and 7 (rpm's level).

The goal compares rpmbuild's packaging stage (Azure Linux's payload) with `tar | zstd -T0 -3`.
Both use every core (rpm's T0 and zstd's -T0); the page cache is warm for both, and `sync` runs
before each timing. The scratch folder (about 5x SIZE) is removed at the end.

    .venv/bin/python bench/bench_payload.py [--mib 1024] [--levels 3,7] [--repeat 2] [--keep]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from nvidia_fakes import CUDNN_VERSION, pin_in_lock  # noqa: E402

SPECGEN = Path(sys.executable).with_name("specgen")
ARCH = "x86_64"
GOAL = 1.5
BLOCK = 64 << 10
WEIGHTS = (15, 30, 55)  # random, 4-bit entropy, sparse: about 2.65x with zstd -3 or -7
_NIBBLE = bytes(i & 0x0F for i in range(256))
BIG = ("libcudnn_engines_precompiled", "libcudnn_adv", "libcudnn_ops",
       "libcudnn_engines_runtime_compiled")  # fmt: skip


@dataclasses.dataclass
class Timing:
    """Wall and CPU (user + system, all child processes) seconds of one command."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:7.2f} s (CPU {self.cpu:6.2f} s, {self.cpu / self.wall:.1f} cores)"


def timed(cmd: list[str], log: Path | None = None) -> Timing:
    """Run a command (output to `log`, or discarded) and time it; raise when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with log.open("a") if log else open(os.devnull, "w") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"failed (exit {proc.returncode}): {' '.join(cmd)}" +
                         (f"; see {log}" if log else ""))  # fmt: skip
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall, cpu)


def best(runs: list[Timing]) -> Timing:
    """The fastest run (the machine is shared: the others waited for a core)."""
    return min(runs, key=lambda t: t.wall)


def _block(kind: int) -> bytes:
    if kind == 0:
        return os.urandom(BLOCK)
    if kind == 1:
        return os.urandom(BLOCK).translate(_NIBBLE)
    sparse = bytearray(BLOCK)
    sparse[0::16] = os.urandom(BLOCK // 16)
    return bytes(sparse)


def _blob(path: Path, size: int, seed: int) -> None:
    pick = random.Random(seed)
    with path.open("wb") as fh:
        for _ in range(size // BLOCK):
            fh.write(_block(pick.choices(range(3), WEIGHTS)[0]))


def _gcc_so(out: Path, soname: str, source: str) -> None:
    src = out.with_suffix(".c")
    src.write_text(source)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", f"-Wl,-soname,{soname}", "-o", str(out),
                    str(src)], check=True)  # fmt: skip
    src.unlink()


def _versioned(lib: Path, stem: str, source: str, fatbin: int, seed: int) -> None:
    """stem.so.9.8.0 (soname stem.so.9, `fatbin` bytes of .nv_fatbin) and its two links."""
    full = lib / f"{stem}.so.{'.'.join(CUDNN_VERSION.split('.')[:3])}"
    _gcc_so(full, f"{stem}.so.9", source)
    if fatbin:
        blob = lib / f"{stem}.fatbin"
        _blob(blob, fatbin, seed)
        subprocess.run(["objcopy", "--add-section", f".nv_fatbin={blob}", str(full)], check=True)
        blob.unlink()
    (lib / f"{stem}.so.9").symlink_to(full.name)
    (lib / f"{stem}.so").symlink_to(f"{stem}.so.9")


def make_archive(work: Path, downloads: Path, size: int) -> Path:
    """cudnn-linux-x86_64-<ver>_cuda12-archive.tar.xz (a plain tar) with `size` bytes of libs."""
    top = work / f"cudnn-linux-x86_64-{CUDNN_VERSION}_cuda12-archive"
    lib, include = top / "lib", top / "include"
    lib.mkdir(parents=True)
    include.mkdir()
    (top / "LICENSE").write_text("NVIDIA cuDNN license (bench fixture)\n")
    (include / "cudnn.h").write_text("#include <stddef.h>\nsize_t cudnnGetVersion(void);\n")
    (include / "cudnn_version.h").write_text(f"#define CUDNN_MAJOR {CUDNN_VERSION[0]}\n")
    _versioned(lib, "libcudnn", "unsigned long cudnnGetVersion(void) { return 90800; }\n", 0, 0)
    for seed, stem in enumerate(BIG, 1):
        _versioned(lib, stem, f"int {stem}_marker(void) {{ return {seed}; }}\n",
                   size // len(BIG), seed)  # fmt: skip
    obj, src = lib / "static.o", lib / "static.c"
    src.write_text("int cudnn_static_marker(void) { return 1; }\n")
    subprocess.run(["gcc", "-c", "-fPIC", "-o", str(obj), str(src)], check=True)
    subprocess.run(["ar", "rcs", str(lib / "libcudnn_ops_static_v9.a"), str(obj)], check=True)
    obj.unlink()
    src.unlink()
    out = downloads / f"{top.name}.tar.xz"
    subprocess.run(["tar", "-cf", str(out), "-C", str(work), top.name], check=True)
    shutil.rmtree(top)
    return out


def pin(root: Path, archive: Path) -> Path:
    """Generate the specs with the archive pinned in a scratch lock; the specs folder."""
    specs = root / "specs"
    subprocess.run([str(SPECGEN), "generate", "-o", str(specs)], check=True, capture_output=True)
    pin_in_lock(root / "sources" / "sources.lock.json", [archive], "bench")
    subprocess.run([str(SPECGEN), "generate", "-o", str(specs)], check=True, capture_output=True)
    return specs


def rpmbuild(specs: Path, staged: Path, topdir: Path, mode: str, *extra: str) -> list[str]:
    """The rpmbuild command specgen runs for cudnn (same macros, defines), in `mode`."""
    from specgen.build.rpmbuilder import Backend, BuildJob

    job = BuildJob("cudnn", (specs / "cudnn" / "cudnn.spec").resolve(), staged, topdir,
                   topdir / "log")  # fmt: skip
    cmd = Backend(kind="rpmbuild", azure_macros=True, nodeps=True)._rpmbuild(job, mode)
    return [*cmd[:-1], *extra, cmd[-1]]


def _mb(paths: list[Path]) -> float:
    """Total size in MB."""
    return sum(p.stat().st_size for p in paths) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="library bytes in MiB")
    parser.add_argument("--levels", default="3,7", help="zstd levels to compare (19: minutes)")
    parser.add_argument("--repeat", type=int, default=2, help="best of N for each timing")
    parser.add_argument("--tmp", type=Path, default=None, help="scratch parent folder")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    for tool in ("rpmbuild", "createrepo_c", "gcc", "objcopy", "zstd", "tar"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed")
    size = args.mib << 20
    root = Path(tempfile.mkdtemp(prefix="specgen-payload-", dir=args.tmp))
    free = shutil.disk_usage(root).free
    if free < 6 * size:
        shutil.rmtree(root)
        raise SystemExit(f"{root.parent}: {free / 1e9:.1f} GB free, needs {6 * size / 1e9:.1f}")
    try:
        return bench(root, size, [int(v) for v in args.levels.split(",")], args.repeat)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def _specgen_parts(archive: Path, rpms: list[Path], scratch: Path) -> tuple[float, float]:
    """specgen's own work around rpmbuild, in this process: the Source's sha256 check (the
    first build of a download), and copying the RPMs into a repository plus createrepo_c."""
    from specgen.build.localrepo import LocalRepo
    from specgen.filehash import file_facts

    os.sync()
    start = time.perf_counter()
    file_facts(archive)
    verify = time.perf_counter() - start
    repo = LocalRepo(scratch)
    start = time.perf_counter()
    repo.add(rpms)
    repo.refresh()
    publish = time.perf_counter() - start
    shutil.rmtree(scratch)
    return verify, publish


def bench(root: Path, size: int, levels: list[int], repeat: int) -> int:
    """Set up in `root`, time everything, print the figures and the goal's verdict."""
    cores = len(os.sched_getaffinity(0))
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"{cores} cores (rpm's T0 and zstd's -T0 both use {cores} threads), load average "
          f"{load}; scratch {root}")  # fmt: skip
    start = time.perf_counter()
    downloads = root / "sources" / "downloads"
    downloads.mkdir(parents=True)
    archive = make_archive(root / "t", downloads, size)
    specs = pin(root, archive)
    print(f"set-up: {archive.name}: {archive.stat().st_size / 1e6:.0f} MB "
          f"(plain tar; {len(BIG)} libraries of {size // len(BIG) / 1e6:.0f} MB), specs "
          f"generated and pinned ({time.perf_counter() - start:.1f} s)")  # fmt: skip
    print(f"timings: best of {repeat}, `sync` before each (the set-up leaves GBs to write back)\n")

    repo, work = root / "repo", root / "work"
    runs = []
    for _ in range(repeat):
        shutil.rmtree(repo, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        os.sync()
        runs.append(timed([str(SPECGEN), "build", "--specs", str(specs), "--repo", str(repo),
                           "--workdir", str(work), "--only", "cudnn", "--nodeps", "--arch", ARCH],
                          root / "e2e.log"))  # fmt: skip
    e2e = best(runs)
    rpms = sorted(repo.rglob("*.rpm"))
    print(f"{'specgen build --only cudnn --nodeps, end to end':<58}{e2e}; {len(rpms)} RPMs, "
          f"{_mb(rpms):.0f} MB")  # fmt: skip
    verify, publish = _specgen_parts(archive, rpms, root / "repo-check")
    print(f"  specgen's own part (timed apart): sha256 of the Source {verify:.2f} s, RPMs into the "
          f"repository + createrepo_c {publish:.2f} s")  # fmt: skip
    print("  rpmbuild as specgen runs it (first line of build/logs/cudnn.log):\n  "
          + (work / "logs" / "cudnn.log").read_text().splitlines()[0])  # fmt: skip

    staged, topdir = work / "sources" / "cudnn", root / "rpmbuild"
    os.sync()
    install = timed(rpmbuild(specs, staged, topdir, "-bi"), root / "bi.log")
    buildroot = next((topdir / "BUILDROOT").iterdir())
    files = [p for p in buildroot.rglob("*") if p.is_file() and not p.is_symlink()]
    tree_mb = _mb(files)
    print(f"\n{'rpmbuild -bi (%prep untar, %install copy, brp scripts)':<58}{install}")
    print(f"installed tree (the buildroot): {len(files)} files, {tree_mb:.0f} MB\n")

    payloads = {"w7T0.zstdio": "(Azure Linux's)", "w3T0.zstdio": "(zstd level 3)",
                "w1T0.zstdio": "(zstd level 1)", "w.ufdio": "(no compression)"}  # fmt: skip
    packs: dict[str, list[Timing]] = {p: [] for p in payloads}
    sizes: dict[str, float] = {}
    for _ in range(repeat):
        for payload, runs in packs.items():
            shutil.rmtree(topdir / "RPMS", ignore_errors=True)
            cmd = rpmbuild(specs, staged, topdir, "-bb", "--short-circuit", "--noclean",
                           "--define", f"_binary_payload {payload}")  # fmt: skip
            os.sync()
            runs.append(timed(cmd, root / "bb.log"))
            sizes[payload] = _mb(sorted((topdir / "RPMS").rglob("*.rpm")))
    rows = [
        (f"rpmbuild -bb --short-circuit, {p} {n}", best(packs[p]), sizes[p])
        for p, n in payloads.items()
    ]
    zstd: dict[int, Timing] = {}
    out = root / "tree.tar.zst"
    for level in levels:
        cmd = f"set -o pipefail; tar -cf - -C {buildroot} . | zstd -q -T0 -{level} -c > {out}"
        runs = []
        for _ in range(repeat):
            os.sync()
            runs.append(timed(["bash", "-c", cmd]))
        zstd[level] = best(runs)
        rows.append((f"tar -cf - | zstd -T0 -{level}", zstd[level], out.stat().st_size / 1e6))
        out.unlink()
    for label, t, mb in rows:
        print(f"{label:<58}{t}, {mb:5.0f} MB ({tree_mb / mb:.2f}x)")

    pack, plain = best(packs["w7T0.zstdio"]), best(packs["w.ufdio"])
    print(f"\nrpmbuild's packaging stage (w7T0.zstdio): compression (zstdio - ufdio) about "
          f"{pack.wall - plain.wall:.1f} s, the rest (reading the files, file digests, "
          f"dependencies, headers, writing) {plain.wall:.1f} s")  # fmt: skip
    for payload in (p for p in payloads if p.endswith("zstdio")):
        ratios = ", ".join(f"{best(packs[payload]).wall / t.wall:.2f}x tar | zstd -T0 -{level}"
                           for level, t in zstd.items())  # fmt: skip
        print(f"rpmbuild packaging with {payload}: {ratios}")
    level = 3 if 3 in zstd else next(iter(zstd))
    ratio = pack.wall / zstd[level].wall
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"goal: rpmbuild packaging (Azure Linux payload) <= {GOAL}x tar | zstd -T0 -{level}: "
          f"{ratio:.2f}x, {verdict}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
