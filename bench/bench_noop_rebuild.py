"""Wall time of a no-op `specgen build` of the whole default release (goal: under 2 s).

The real release cannot be built here (GB-sized NVIDIA archives, Triton's sources), so the bench
sets up the no-op honestly in a scratch folder:

1. `specgen generate` the default specs; every x86_64 Source of the lock gets a file: cuDNN and
   TensorRT the small archives in NVIDIA's layout of tests/nvidia_fakes.py, the other Sources a
   one-line stand-in; all are pinned (sha256, size) in the lock and the specs regenerated.
2. For the six packages that cannot build here (onnxruntime, libb64, prometheus-cpp, dlpack,
   libevhtp, tritonserver) a "built" state is recorded with specgen's own code (Builder.digest,
   BuildState, LocalRepo.add), with one placeholder RPM each made by rpmbuild from a trivial spec.
3. One real `specgen build --nodeps`: cuDNN and TensorRT build with rpmbuild, the six are
   `unchanged`.
4. N timed runs of `specgen build` (a new process each) that must report all 8 `unchanged`.

Then where the time goes: each phase of the command timed in a fresh process, the slowest
imports (`python -X importtime`), and LocalRepo.refresh on a repository whose RPMs have the
real release's sizes (the bench's RPMs padded with zeros to the sizes of NVIDIA's archives:
createrepo_c hashes every byte of every RPM it has not seen).

    .venv/bin/python bench/bench_noop_rebuild.py [--runs 5] [--keep]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from specgen.build.plan import Plan
    from specgen.build.runner import Options

ROOT = Path(__file__).resolve().parents[1]
SPECGEN = Path(sys.executable).with_name("specgen")
PYTHON = "/usr/bin/python3"  # the TensorRT spec installs its wheel with %{python3}
ARCH = "x86_64"
GOAL_S = 2.0
# The real release's RPM sizes, for the createrepo_c measurement: cuDNN and TensorRT as their
# x86_64 archives in the lock (a zstd RPM of the same libraries is about as big), ONNX Runtime
# and tritonserver as the `source_gb` of specgen/data/build-estimates.toml.
REAL_SIZES = {"cudnn": 923_946_888, "tensorrt": 6_917_032_417,
              "onnxruntime": 500_000_000, "tritonserver": 500_000_000}  # fmt: skip
STATUSES = "built|unchanged|failed|blocked|skipped"
STATUS = re.compile(rf"^\W*([a-z0-9][a-z0-9_+.-]*)\s+\W\s*({STATUSES})\b")  # a summary row


def _run(*args: str | Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run a command, output captured as text."""
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=check)


def _python_tag() -> str:
    """cp tag of the python the TensorRT spec uses (its fake wheel must match)."""
    probe = _run(PYTHON, "-m", "pip", "--version")
    if probe.returncode != 0:
        raise SystemExit(f"{PYTHON} -m pip is needed (the TensorRT spec installs its wheel)")
    out = _run(PYTHON, "-c", "import sys; print('%d%d' % sys.version_info[:2])", check=True)
    return out.stdout.strip()


def _build_args(root: Path) -> list[str]:
    return [str(SPECGEN), "build", "--specs", str(root / "specs"), "--repo", str(root / "repo"),
            "--workdir", str(root / "work"), "--nodeps", "--arch", ARCH]  # fmt: skip


def statuses(stdout: str) -> dict[str, str]:
    """Package -> status from the summary table `specgen build` prints."""
    found = {}
    for line in stdout.splitlines():
        m = STATUS.match(line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def pin_sources(root: Path) -> None:
    """Generate the specs, give every x86_64 Source a file and pin it in the lock."""
    sys.path.insert(0, str(ROOT / "tests"))
    from nvidia_fakes import cudnn_archive, pin_in_lock, tensorrt_archive

    from specgen.generate.lock import read_lock

    specs, downloads = root / "specs", root / "sources" / "downloads"
    downloads.mkdir(parents=True)
    _run(SPECGEN, "generate", "-o", specs, check=True)
    made = [cudnn_archive(root / "t1", downloads), tensorrt_archive(root / "t2", downloads,
                                                                    _python_tag())]  # fmt: skip
    lock_path = root / "sources" / "sources.lock.json"
    lock = read_lock(lock_path)
    for s in lock.sources:
        path = downloads / s.file
        if s.arch in (None, ARCH) and not path.exists():
            path.write_text(f"bench stand-in for {s.file}\n")
            made.append(path)
    pin_in_lock(lock_path, made, "bench")
    _run(SPECGEN, "generate", "-o", specs, check=True)  # the lock's pins reach the specs


def _options(root: Path) -> Options:
    """The options `specgen build --nodeps` gives the Builder (as cli_build.build_command)."""
    from specgen.build.rpmbuilder import Backend
    from specgen.build.runner import Options
    from specgen.cli.build import _is_azure_linux

    repo = root / "repo"
    backend = Backend(kind="rpmbuild", azure_macros=not _is_azure_linux(), nodeps=True,
                      mock_config=None, local_repo=repo)  # fmt: skip
    return Options(workdir=root / "work", repo=repo, backend=backend)


def _plan(root: Path) -> Plan:
    """The plan `specgen build --arch x86_64` loads (as cli_build.build_command)."""
    from specgen.build.plan import load_plan
    from specgen.generate.lock import read_lock

    lock = read_lock(root / "sources" / "sources.lock.json")
    return load_plan(root / "specs", lock, root / "sources" / "downloads", ARCH)


def placeholder_rpm(name: str, folder: Path) -> Path:
    """One small binary RPM called `name`, made by rpmbuild from a trivial spec."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / f"{name}.spec"
    spec.write_text(
        f"Name: {name}\nVersion: 0\nRelease: 0.placeholder\nSummary: placeholder\nLicense: MIT\n"
        f"%description\nbench placeholder: {name} cannot be built on this host.\n%files\n"
    )
    top = folder / "rpmbuild"
    _run("rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}", spec, check=True)
    return next(top.glob(f"RPMS/*/{name}-0-0.placeholder.*.rpm"))


def record_built(root: Path, real: tuple[str, ...]) -> list[str]:
    """Record every package but `real` as built, with the code `specgen build` uses."""
    from specgen.build.runner import Builder
    from specgen.build.state import Built
    from specgen.filehash import file_facts

    plan = _plan(root)
    builder = Builder(plan, _options(root))
    recorded = []
    for name in plan.order():  # needs first: a digest includes the digests of what it needs
        item = plan.items[name]
        if name in real:
            builder.state.packages[name] = Built(builder.digest(item), [])
            continue
        rpm = placeholder_rpm(name, root / "placeholders")
        placed = [builder.repo.relative(p) for p in builder.repo.add([rpm])]
        builder.state.packages[name] = Built(builder.digest(item), placed)
        for source in item.sources:  # as Builder._verify records a checked download
            st = source.path.stat()
            size, sha = file_facts(source.path)
            if sha != source.sha256 or size != st.st_size:
                raise SystemExit(f"{source.path}: does not match its pin")
            builder.state.verified[str(source.path.resolve())] = (size, st.st_mtime_ns, sha)
        recorded.append(name)
    for name in real:  # these must really build: their digests only served their dependents
        del builder.state.packages[name]
    builder.state.save()
    return recorded


def phases(root: Path) -> None:
    """In a fresh process: each step of `specgen build` (cli_build.build_command) timed."""
    marks: list[tuple[str, float]] = []
    last = time.perf_counter()

    def mark(label: str) -> None:
        nonlocal last
        now = time.perf_counter()
        marks.append((label, now - last))
        last = now

    import specgen.cli.main  # noqa: F401  click and the command group

    mark("import specgen.cli.main (click)")
    from specgen.build.runner import Builder, exclusive
    from specgen.cli.build import _space_check
    from specgen.cli.buildview import BuildView
    from specgen.generate.lock import read_lock

    mark("import the build modules (networkx, rich, ...)")
    read_lock(root / "sources" / "sources.lock.json")
    mark("read the source lock")
    plan = _plan(root)
    mark("load the plan (graph.json, signatures)")
    builder = Builder(plan, _options(root))
    mark("Builder: load the state, read the macro file")
    _space_check(plan, builder.pending(), root / "work")
    mark("space check of what will build (build-estimates.toml)")
    with exclusive(root / "work"):
        builder.repo.refresh()
        mark("createrepo_c refresh of the repository")
        digests = {n: builder.digest(builder.plan.items[n]) for n in plan.order()}
        ok = [
            n
            for n in digests
            if builder.state.packages[n].inputs == digests[n]
            and all((builder.repo.root / r).exists() for r in builder.state.packages[n].rpms)
        ]
        mark(f"input digests + RPM checks ({len(ok)} of {len(digests)} up to date)")
        builder.state.save()
        mark("save the state")
    results = builder.run()
    mark("Builder.run() once more (refresh + executor + 8 build_one)")
    with redirect_stdout(io.StringIO()):
        view = BuildView(list(plan.items))
        with view:
            pass
        view.summary(results)
    mark("summary table (rich)")
    print(json.dumps(marks))


def importtime(root: Path, top: int = 14) -> list[tuple[float, str]]:
    """The slowest imports of one `specgen build` run (-X importtime), two levels deep: a
    nested module's time is part of its parent's."""
    args = _build_args(root)
    proc = _run(sys.executable, "-X", "importtime", "-m", "specgen", *args[1:], check=True)
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if m and len(m.group(3)) <= 4:
            rows.append((int(m.group(2)) / 1e6, m.group(3) + m.group(4)))
    total = sum(t for t, name in rows if not name.startswith(" "))
    return [(total, "all imports"), *sorted(rows, reverse=True)[:top]]


def _pad(path: Path, size: int) -> None:
    """Grow a file to `size` with written zeros (real blocks: holes read faster than data)."""
    block = bytes(8 << 20)
    with path.open("ab") as fh:
        left = size - fh.tell()
        while left > 0:
            left -= fh.write(block[: min(left, len(block))])


def refresh_scaling(root: Path) -> list[tuple[str, float]]:
    """LocalRepo.refresh, which every `specgen build` runs first, on a copy of the bench's
    repository with RPMs padded to the real release's sizes: the first metadata (createrepo_c
    hashes every byte), a refresh with nothing changed (what a no-op build pays), and one after
    a single RPM changed (createrepo_c --update reuses the rest)."""
    from specgen.build.localrepo import LocalRepo

    padded = root / "repo-real-size"
    shutil.copytree(root / "repo", padded, ignore=shutil.ignore_patterns("repodata"))
    for package, real in REAL_SIZES.items():
        rpms = sorted(padded.rglob(f"{package}-*.rpm"), key=lambda p: p.stat().st_size)
        if rpms:  # the package's biggest RPM gets its size (rpm reads the header, not the tail)
            _pad(rpms[-1], real)
    size = sum(p.stat().st_size for p in padded.rglob("*.rpm"))
    repo, out = LocalRepo(padded), []

    def timed(label: str) -> None:
        start = time.perf_counter()
        repo.refresh()
        out.append((label, time.perf_counter() - start))

    timed(f"first metadata ({size / 1e9:.1f} GB of RPMs, page cache warm)")
    timed("refresh, RPMs unchanged (a no-op build)")
    smallest = min(padded.rglob("*.rpm"), key=lambda p: p.stat().st_size)
    os.utime(smallest)
    timed(f"refresh after one RPM changed ({smallest.name})")
    shutil.rmtree(padded)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--phases", type=Path, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    if args.phases:
        phases(args.phases)
        return 0
    for tool in ("rpmbuild", "createrepo_c", "gcc"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed")
    root = Path(tempfile.mkdtemp(prefix="specgen-noop-"))
    try:
        return bench(root, args.runs)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def bench(root: Path, runs: int) -> int:
    """Set up the release in `root`, time the no-op runs, show where their time goes."""
    print(f"scratch folder {root}; {os.cpu_count()} cores; {SPECGEN}")
    start = time.perf_counter()
    pin_sources(root)
    real = ("cudnn", "tensorrt")
    recorded = record_built(root, real)
    print(f"set-up: specs generated, {len(list((root / 'sources/downloads').iterdir()))} Sources "
          f"pinned, built state recorded for {', '.join(recorded)} "
          f"({time.perf_counter() - start:.1f} s)")  # fmt: skip
    start = time.perf_counter()
    first = _run(*_build_args(root), "-j", "2")
    got = statuses(first.stdout)
    print(f"first build ({time.perf_counter() - start:.1f} s): "
          + ", ".join(f"{n} {s}" for n, s in sorted(got.items())))  # fmt: skip
    want_first = {n: "built" if n in real else "unchanged" for n in [*real, *recorded]}
    if first.returncode != 0 or got != want_first:
        print(first.stdout + first.stderr, file=sys.stderr)
        print(f"expected {want_first}", file=sys.stderr)
        return 1

    times = []
    for i in range(runs):
        start = time.perf_counter()
        proc = _run(*_build_args(root))
        times.append(time.perf_counter() - start)
        got = statuses(proc.stdout)
        unchanged = sorted(n for n, s in got.items() if s == "unchanged")
        print(f"run {i + 1}: {times[-1]:.3f} s, {len(unchanged)} of {len(got)} unchanged")
        if proc.returncode != 0 or len(unchanged) != 8 or len(got) != 8:
            print(proc.stdout + proc.stderr, file=sys.stderr)
            return 1
    median = statistics.median(times)
    verdict = "met" if median < GOAL_S else "NOT met"
    print(f"no-op specgen build of the default release (8 specs): median {median:.3f} s, best "
          f"{min(times):.3f} s (goal < {GOAL_S:.0f} s: {verdict})")  # fmt: skip

    print("\nwhere the time goes (each step of `specgen build`, one fresh process):")
    child = _run(sys.executable, __file__, "--phases", root, check=True)
    marks = json.loads(child.stdout)
    for label, seconds in marks:
        print(f"  {seconds * 1000:8.1f} ms  {label}")
    print(
        "\nslowest imports (python -X importtime, which adds overhead; cumulative times, an"
        " indented module's\ntime is also in the time of the module that imported it):"
    )
    for seconds, name in importtime(root):
        print(f"  {seconds * 1000:8.1f} ms  {name}")
    print("\nLocalRepo.refresh with the real release's RPM sizes (every `specgen build` runs it):")
    scaling = refresh_scaling(root)
    for label, seconds in scaling:
        print(f"  {seconds * 1000:8.1f} ms  {label}")
    estimate = median + scaling[1][1]
    verdict = "met" if estimate < GOAL_S else "NOT met"
    print(
        f"estimated no-op with the real release's RPMs: {median:.2f} + {scaling[1][1]:.2f} = "
        f"{estimate:.2f} s (goal < {GOAL_S:.0f} s: {verdict})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
