"""The scheduler of `specgen build`: which ready package to start next, and running the plan.

Packages are started critical-path first: a node's priority is the longest chain of build time
from it to the end of the build (its own duration and its dependents'), so what many things
wait on starts early. `simulate` plays that policy out on estimated durations, `lower_bound`
says how good any schedule could be, and `Executor` runs real builds on worker threads.

Edges u -> v mean u needs v (specgen.graph). External nodes are never built and take no time;
a need reached through an external still counts. Everything here is pure: the only effects are
the caller's `build_one` and `on_event`.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from queue import Empty, SimpleQueue
from typing import Literal

import networkx as nx

from specgen.graph.dependencies import EXTERNAL, check_acyclic

# The estimate of a node that has none: with no estimates at all, priority is chain length.
DEFAULT_DURATION = 1.0


class Status(StrEnum):
    """How a node of the plan ended."""

    BUILT = "built"
    UNCHANGED = "unchanged"  # build_one found it up to date
    FAILED = "failed"
    BLOCKED = "blocked"  # something it (transitively) needs failed: never started
    SKIPPED = "skipped"  # not started because the build stopped at a failure or interrupt


@dataclass(frozen=True)
class Slot:
    """Where and when `simulate` runs one node."""

    start: float
    end: float
    worker: int


@dataclass(frozen=True)
class Schedule:
    """A simulated build: each buildable node's slot, and when the last one ends."""

    slots: dict[str, Slot]
    makespan: float


@dataclass(frozen=True)
class Event:
    """A node started (status None, elapsed 0) or finished (its status and build seconds)."""

    kind: Literal["started", "finished"]
    node: str
    status: Status | None = None
    elapsed: float = 0.0
    error: BaseException | None = None  # what build_one raised, or why its answer was refused


# Seconds the scheduling thread waits for a build at a time: waking lets it see Ctrl-C soon.
_POLL = 0.1

# What a worker hands back: the node, its status, its build seconds, and the error if any.
_Result = tuple[str, Status, float, BaseException | None]


@dataclass(frozen=True)
class _Plan:
    """Buildable nodes needs first (ties by name), with their buildable needs and dependents."""

    order: list[str]
    needs: dict[str, list[str]]
    dependents: dict[str, list[str]]
    durations: dict[str, float]


def priorities(g: nx.DiGraph, durations: Mapping[str, float]) -> dict[str, float]:
    """Each buildable node's bottom level: its duration plus its longest chain of dependents."""
    return _priorities(_plan(g, durations))


def simulate(
    g: nx.DiGraph,
    durations: Mapping[str, float],
    jobs: int,
    priority: Mapping[str, float] | None = None,
) -> Schedule:
    """List scheduling on `jobs` workers: whenever workers are free, start the ready nodes of
    highest priority (default: critical path first; missing ones rank 0), ties by name, on the
    lowest-numbered free worker."""
    _check_jobs(jobs)
    plan = _plan(g, durations)
    rank = _priorities(plan) if priority is None else priority
    waiting = {n: len(plan.needs[n]) for n in plan.order}
    ready = [(-rank.get(n, 0.0), n) for n in plan.order if not waiting[n]]
    heapq.heapify(ready)
    free = list(range(min(jobs, len(plan.order))))
    running: list[tuple[float, int, str]] = []
    slots: dict[str, Slot] = {}
    now = 0.0
    while ready or running:
        while ready and free:
            node = heapq.heappop(ready)[1]
            worker = heapq.heappop(free)
            slots[node] = Slot(now, now + plan.durations[node], worker)
            heapq.heappush(running, (slots[node].end, worker, node))
        now = running[0][0]
        while running and running[0][0] == now:
            _, worker, node = heapq.heappop(running)
            heapq.heappush(free, worker)
            for user in plan.dependents[node]:
                waiting[user] -= 1
                if not waiting[user]:
                    heapq.heappush(ready, (-rank.get(user, 0.0), user))
    return Schedule(slots, max((s.end for s in slots.values()), default=0.0))


def lower_bound(g: nx.DiGraph, durations: Mapping[str, float], jobs: int) -> float:
    """No schedule beats the critical path, nor the total work shared evenly by all workers."""
    _check_jobs(jobs)
    plan = _plan(g, durations)
    critical = max(_priorities(plan).values(), default=0.0)
    return max(critical, sum(plan.durations.values()) / jobs)


@dataclass
class Executor:
    """Runs `build_one` for every buildable node on `jobs` worker threads, critical path first.

    All bookkeeping and every `on_event` call happen in the thread that called `run`; the
    workers only call `build_one` and `clock` (so both must be thread-safe).
    """

    durations: Mapping[str, float] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic

    def run(
        self,
        g: nx.DiGraph,
        jobs: int,
        build_one: Callable[[str], Status | bool],
        keep_going: bool = False,
        on_event: Callable[[Event], None] | None = None,
    ) -> dict[str, Status]:
        """Each buildable node's status, needs first.

        build_one answers BUILT, UNCHANGED or FAILED (True and False mean BUILT and FAILED); an
        exception counts as FAILED. What needs a failed node is BLOCKED; without keep_going
        nothing new starts after a failure and whatever did not start is SKIPPED. On
        KeyboardInterrupt (in this thread or from build_one) nothing new starts, the running
        builds finish, and the interrupt is raised again.
        """
        _check_jobs(jobs)
        plan = _plan(g, self.durations)
        run = _Run(plan, _priorities(plan), keep_going, on_event or _ignore)
        tasks: SimpleQueue[str | None] = SimpleQueue()
        results: SimpleQueue[_Result] = SimpleQueue()
        workers = min(jobs, len(plan.order))
        threads: list[threading.Thread] = []
        try:
            for i in range(workers):
                # Daemons: a second Ctrl-C, which stops the wait below, ends the process.
                thread = threading.Thread(target=self._work, args=(build_one, tasks, results),
                                          name=f"specgen-build-{i}", daemon=True)  # fmt: skip
                thread.start()
                threads.append(thread)
            run.loop(tasks.put, results, jobs)
        except KeyboardInterrupt as interrupt:  # Ctrl-C here: let the running builds finish
            run.interrupt = run.interrupt or interrupt
        finally:
            for _ in range(workers):  # one stop per worker, even one a Ctrl-C left untracked
                tasks.put(None)
            for thread in threads:
                thread.join()
        run.drain(results)
        if run.interrupt is not None:
            raise run.interrupt
        return run.statuses()

    def _work(
        self,
        build_one: Callable[[str], Status | bool],
        tasks: SimpleQueue[str | None],
        results: SimpleQueue[_Result],
    ) -> None:
        """A worker thread: build what `tasks` names until it reads None, timing each build."""
        while (node := tasks.get()) is not None:
            start = self.clock()
            error: BaseException | None
            try:
                status, error = _outcome(build_one(node))
            except BaseException as err:  # an Exception fails the node; _Run re-raises the rest
                status, error = Status.FAILED, err
            results.put((node, status, self.clock() - start, error))


class _Run:
    """The state of one `Executor.run`, touched only by the thread that called it."""

    def __init__(
        self,
        plan: _Plan,
        rank: Mapping[str, float],
        keep_going: bool,
        on_event: Callable[[Event], None],
    ) -> None:
        self.plan = plan
        self.rank = rank
        self.keep_going = keep_going
        self.on_event = on_event
        self.waiting = {n: len(plan.needs[n]) for n in plan.order}
        self.ready = [(-rank[n], n) for n in plan.order if not self.waiting[n]]
        heapq.heapify(self.ready)
        self.running: set[str] = set()
        self.status: dict[str, Status] = {}
        self.failed = False
        self.interrupt: BaseException | None = None

    def loop(self, start: Callable[[str], None], results: SimpleQueue[_Result], jobs: int) -> None:
        """Start what may start, collect what finished, until nothing runs."""
        while True:
            while self.ready and len(self.running) < jobs and self._may_start():
                node = heapq.heappop(self.ready)[1]
                self.on_event(Event("started", node))
                self.running.add(node)
                start(node)
            if not self.running:
                return
            try:
                result = results.get(timeout=_POLL)
            except Empty:
                continue
            self._finish(result)

    def drain(self, results: SimpleQueue[_Result]) -> None:
        """Collect what finished after an interrupt, once every worker has stopped."""
        while not results.empty():
            self._finish(results.get())

    def _may_start(self) -> bool:
        return self.interrupt is None and (self.keep_going or not self.failed)

    def _finish(self, result: _Result) -> None:
        node, status, elapsed, error = result
        self.running.discard(node)
        if error is not None and not isinstance(error, Exception):  # KeyboardInterrupt & co
            self.interrupt = self.interrupt or error
        self.status[node] = status
        self.on_event(Event("finished", node, status, elapsed, error))
        if status == Status.FAILED:
            self.failed = True
            self._block(node)
            return
        for user in self.plan.dependents[node]:
            self.waiting[user] -= 1
            if not self.waiting[user]:
                heapq.heappush(self.ready, (-self.rank[user], user))

    def _block(self, node: str) -> None:
        """Everything that transitively needs `node`: none of it can have started."""
        stack = list(self.plan.dependents[node])
        while stack:
            user = stack.pop()
            if user not in self.status:
                self.status[user] = Status.BLOCKED
                stack.extend(self.plan.dependents[user])

    def statuses(self) -> dict[str, Status]:
        return {n: self.status.get(n, Status.SKIPPED) for n in self.plan.order}


def _outcome(answer: object) -> tuple[Status, Exception | None]:
    """build_one's answer as a status; anything but BUILT/UNCHANGED/FAILED or a bool fails."""
    if answer is True or answer is False:
        return (Status.BUILT if answer else Status.FAILED), None
    if answer in (Status.BUILT, Status.UNCHANGED, Status.FAILED):
        return Status(answer), None
    return Status.FAILED, ValueError(f"build_one returned {answer!r}, not a build status")


def _plan(g: nx.DiGraph, durations: Mapping[str, float]) -> _Plan:
    """Buildable needs looked up through externals (a need of an external is a need of its
    users); raises CycleError on a cycle and ValueError on a negative or NaN duration."""
    if not nx.is_directed_acyclic_graph(g):  # linear; graph.check_acyclic is not, on DAGs
        check_acyclic(g)
    # build_order's order (needs first, ties by name), without its slow check.
    everything = list(nx.lexicographical_topological_sort(g.reverse(copy=False), key=str))
    order = [n for n in everything if not _external(g, n)]
    through: dict[str, set[str]] = {}
    for node in everything:
        through[node] = set()
        for need in g.successors(node):
            through[node] |= through[need] if _external(g, need) else {need}
    needs = {n: sorted(through[n]) for n in order}
    dependents: dict[str, list[str]] = {n: [] for n in order}
    for node in order:
        for need in needs[node]:
            dependents[need].append(node)
    estimates = {n: float(durations.get(n, DEFAULT_DURATION)) for n in order}
    bad = sorted(n for n, d in estimates.items() if not d >= 0)
    if bad:
        raise ValueError(f"durations must be >= 0 seconds: {', '.join(bad)}")
    return _Plan(order, needs, dependents, estimates)


def _priorities(plan: _Plan) -> dict[str, float]:
    rank: dict[str, float] = {}
    for node in reversed(plan.order):
        later = max((rank[u] for u in plan.dependents[node]), default=0.0)
        rank[node] = plan.durations[node] + later
    return {n: rank[n] for n in plan.order}


def _external(g: nx.DiGraph, node: str) -> bool:
    return g.nodes[node].get("kind") == EXTERNAL


def _check_jobs(jobs: int) -> None:
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")


def _ignore(_event: Event) -> None:
    """The default on_event."""
