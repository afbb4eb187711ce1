"""`specgen build`: every package of the plan in dependency order into the local repository.

For each package: skip it when its input digest matches the last good build and its RPMs are
in the repository; otherwise verify its Sources (size and sha256: a mismatch never reaches a
build), stage them, run the backend, put the RPMs into the repository and refresh its metadata
before anything that needs them starts, and record the build. A lock file refuses a second run
on the same work folder; a killed run leaves the state of every package it finished.

With `check_reproducible`, each package is then built a second time in another folder, a second
or more after the first build ended, and the two builds' RPMs are compared byte for byte
(rpmdiff.py); the RPMs in the repository stay those of the first build.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from specgen.build.localrepo import LocalRepo
from specgen.build.plan import Plan, PlanItem, PlanSource
from specgen.build.rpmbuilder import Backend, BuildJob
from specgen.build.rpmdiff import Comparison, compare_builds
from specgen.build.rpmmacros import REPRODUCIBLE_FILE
from specgen.build.scheduler import Event, Executor, Status
from specgen.build.state import BuildState, Built, input_digest
from specgen.errors import SpecgenError
from specgen.filehash import file_facts

STATE_FILE = "specgen-build-state.json"
LOCK_FILE = ".specgen-build.lock"


@dataclass
class Options:
    """How to build: work folder, repository, parallelism and what is allowed."""

    workdir: Path
    repo: Path
    backend: Backend
    jobs: int = 1
    keep_going: bool = False
    allow_unpinned: bool = False
    only: tuple[str, ...] = ()
    defines: tuple[tuple[str, str], ...] = ()
    switches: tuple[str, ...] = ()
    check_reproducible: bool = False


@dataclass
class Result:
    """One package's outcome for the final table."""

    name: str
    status: Status
    seconds: float = 0.0
    size: int = 0
    rpms: list[str] = field(default_factory=list)
    error: str = ""
    # --check-reproducible: the second build's comparison, or why there is none
    comparison: Comparison | None = None
    check_error: str = ""

    @property
    def reproducible(self) -> bool:
        return self.comparison is not None and self.comparison.reproducible


@contextmanager
def exclusive(workdir: Path) -> Iterator[None]:
    """Hold the work folder's lock: a second concurrent run is refused, not interleaved."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / LOCK_FILE
    fh = path.open("a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "unknown"
        fh.close()
        raise SpecgenError(
            f"another specgen build is running on {workdir} (pid {holder}); wait for it"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


class Builder:
    """Builds a plan with one backend; `run` returns every package's result."""

    def __init__(self, plan: Plan, options: Options) -> None:
        self.plan = plan
        self.opt = options
        self.repo = LocalRepo(options.repo)
        self.state = BuildState.load(options.workdir / STATE_FILE)
        self.results: dict[str, Result] = {}
        self._repo_lock = threading.Lock()
        self._settings = {
            "backend": options.backend.kind,
            "azure_macros": options.backend.azure_macros,
            "macros": _macro_text() if options.backend.azure_macros else "",
            "reproducible": REPRODUCIBLE_FILE.read_text(encoding="utf-8"),
            "defines": list(options.defines),
            "switches": list(options.switches),
        }

    def run(self, on_event: Callable[[Event], None] | None = None) -> dict[str, Result]:
        unknown = sorted(set(self.opt.only) - set(self.plan.items))
        if unknown:
            known = ", ".join(sorted(self.plan.items))
            raise SpecgenError(f"--only {', '.join(unknown)}: not in the plan ({known})")
        with exclusive(self.opt.workdir):
            self.repo.refresh()  # metadata matching the files, whatever a killed run left
            graph = self.plan.graph
            if self.opt.only:
                graph = graph.subgraph(self.opt.only).copy()
            statuses = Executor().run(
                graph, self.opt.jobs, self.build_one, self.opt.keep_going, on_event
            )
            self.state.save()  # sources verified by failed builds too
        for name, status in statuses.items():
            self.results.setdefault(name, Result(name, status))
            self.results[name].status = status
        return dict(sorted(self.results.items()))

    def pending(self) -> list[str]:
        """Packages this run would build: out of date, RPMs missing, or needing one of those."""
        names = list(self.opt.only) or self.plan.order()
        stale: set[str] = set()
        for name in self.plan.order():
            item = self.plan.items[name]
            done = self.state.packages.get(name)
            if (
                done is None
                or stale & set(item.needs)
                or done.inputs != self.digest(item)
                or not all((self.repo.root / r).exists() for r in done.rpms)
            ):
                stale.add(name)
        return [n for n in names if n in stale]

    def digest(self, item: PlanItem) -> str:
        needed = {n: self.state.packages[n].inputs for n in item.needs if n in self.state.packages}
        return input_digest(item, self._settings, needed)

    def build_one(self, name: str) -> Status:
        item = self.plan.items[name]
        started = time.monotonic()
        digest = self.digest(item)
        done = self.state.packages.get(name)
        if done and done.inputs == digest and all((self.repo.root / r).exists() for r in done.rpms):
            self.results[name] = Result(
                name, Status.UNCHANGED, 0.0, self._size(done.rpms), done.rpms
            )
            self._check_reproducible(item, done.rpms, first_ended=None)
            return Status.UNCHANGED
        try:
            job = self._job(item, self.opt.workdir / "rpmbuild" / name, "")
            rpms = self.opt.backend.build(job)
            if not rpms:
                raise SpecgenError(f"{name}: the build made no RPM (log: {job.log})")
            with self._repo_lock:
                placed = [self.repo.relative(p) for p in self.repo.add(rpms)]
                stale = [r for r in (done.rpms if done else []) if r not in placed]
                self.repo.remove(stale)
                self.repo.refresh()
                self.state.packages[name] = Built(digest, placed)
                self.state.save()
            # The RPMs are in the repository now: the build tree (GBs for NVIDIA's archives)
            # goes; a failed one stays for inspection.
            shutil.rmtree(job.topdir, ignore_errors=True)
        except SpecgenError as err:
            elapsed = time.monotonic() - started
            self.results[name] = Result(name, Status.FAILED, elapsed, error=str(err))
            return Status.FAILED
        self.results[name] = Result(
            name, Status.BUILT, time.monotonic() - started, self._size(placed), placed
        )
        self._check_reproducible(item, placed, first_ended=time.time())
        return Status.BUILT

    def _job(self, item: PlanItem, folder: Path, tag: str) -> BuildJob:
        """A fresh build of `item` under `folder` (its rpmbuild top folder), Sources staged."""
        topdir = folder.resolve()
        suffix = f".{tag}" if tag else ""
        job = BuildJob(
            name=item.name,
            spec=item.spec.resolve(),
            sources=self._stage(item, f"{item.name}{suffix}"),
            topdir=topdir,
            log=(self.opt.workdir / "logs" / f"{item.name}{suffix}.log").resolve(),
            defines=self.opt.defines,
            switches=self.opt.switches,
        )
        shutil.rmtree(job.topdir, ignore_errors=True)
        job.log.unlink(missing_ok=True)
        _log_overlay(job.log, item)
        return job

    def _check_reproducible(
        self, item: PlanItem, rpms: list[str], first_ended: float | None
    ) -> None:
        """Build `item` again elsewhere, a clock second or more after the first build ended, and
        compare the RPMs with the repository's; a report stays in the folder when they differ."""
        if not self.opt.check_reproducible:
            return
        result = self.results[item.name]
        folder = (self.opt.workdir / "reproducible" / item.name).resolve()
        if first_ended is not None:
            # rpm's build time and mtimes count whole seconds: a later second must show
            time.sleep(max(0.0, first_ended + 1.0 - time.time()))
        try:
            job = self._job(item, folder, "second")
            second = self.opt.backend.build(job)
            first = [self.repo.root / r for r in rpms]
            result.comparison = compare_builds(first, second, folder / "diffoscope")
        except SpecgenError as err:
            result.check_error = str(err)
            return
        if result.comparison.reproducible:
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(job.sources, ignore_errors=True)
        else:
            (folder / "report.txt").write_text(result.comparison.report(), encoding="utf-8")

    def _size(self, rpms: list[str]) -> int:
        paths = [self.repo.root / r for r in rpms]
        return sum(p.stat().st_size for p in paths if p.exists())

    def _stage(self, item: PlanItem, label: str) -> Path:
        """SOURCES for one build: links to verified downloads, copies of local files."""
        folder = (self.opt.workdir / "sources" / label).resolve()
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for source in item.sources:
            self._verify(item.name, source)
            target = folder / source.file
            if source.local:
                shutil.copyfile(source.path, target)
            else:
                target.symlink_to(source.path.resolve())
        return folder

    def _verify(self, name: str, source: PlanSource) -> None:
        """The file is there and is the one pinned; known-good (size, mtime) skip re-hashing."""
        if source.sha256 is None and not self.opt.allow_unpinned:
            raise SpecgenError(
                f"{name}: Source {source.file} is unpinned (no known sha256); pin it in the "
                "source lock or pass --allow-unpinned"
            )
        if not source.path.is_file():
            where = (
                f"(named by the lock overlay {source.overlay.listed_in})"
                if source.overlay else "(run `specgen sources`)"
            )  # fmt: skip
            raise SpecgenError(f"{name}: Source {source.file} is missing at {source.path} {where}")
        if source.sha256 is None:
            return
        st = source.path.stat()
        key = str(source.path.resolve())
        with self._repo_lock:
            known = self.state.verified.get(key)
        if known == (st.st_size, st.st_mtime_ns, source.sha256):
            return
        size, sha = file_facts(source.path)
        if sha != source.sha256 or (source.size is not None and size != source.size):
            if source.overlay:
                raise SpecgenError(
                    f"{name}: Source {source.file} at {source.path} does not match its pin in the "
                    f"lock overlay {source.overlay.listed_in}: sha256 {sha}, expected "
                    f"{source.sha256}"
                )
            raise SpecgenError(
                f"{name}: Source {source.file} does not match its pin: sha256 {sha}, expected "
                f"{source.sha256}; delete it and run `specgen sources` (a local archive of the "
                "same Source needs a pin of its own: --lock-overlay)"
            )
        with self._repo_lock:
            self.state.verified[key] = (st.st_size, st.st_mtime_ns, source.sha256)


def _log_overlay(log: Path, item: PlanItem) -> None:
    """Head the build log with every Source a lock overlay supplied: nothing hidden."""
    overlays = [s.overlay for s in item.from_overlay() if s.overlay]
    if not overlays:
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as fh:
        for overlay in overlays:
            fh.write(
                f"# Source {overlay.file} from the lock overlay {overlay.listed_in}: "
                f"{overlay.describe()}\n"
            )


def _macro_text() -> str:
    from specgen.build.rpmmacros import MACRO_FILE

    return Path(MACRO_FILE).read_text(encoding="utf-8")
