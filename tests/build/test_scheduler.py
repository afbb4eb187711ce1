"""The build scheduler: critical-path priorities, the simulation and its bound, the executor."""

from __future__ import annotations

import _thread
import signal
import threading
import time
from collections.abc import Iterable

import networkx as nx
import pytest

from specgen.build.scheduler import (
    Event,
    Executor,
    Slot,
    Status,
    lower_bound,
    priorities,
    simulate,
)
from specgen.errors import CycleError
from specgen.graph.dependencies import EXTERNAL
from specgen.graph.knowledge import BUILD

WAIT = 2.0  # seconds a test thread waits for the others before the test fails


def _graph(edges: Iterable[tuple[str, str]], nodes: Iterable[str] = ()) -> nx.DiGraph:
    """u -> v means u needs v; names starting `ext:` are externals, the rest are built."""
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    for name in g.nodes:
        g.nodes[name]["kind"] = EXTERNAL if name.startswith("ext:") else BUILD
    return g


class Log:
    """Thread-safe record of what build_one saw, in the order it happened."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[tuple[str, str]] = []

    def add(self, what: str, node: str) -> None:
        with self.lock:
            self.entries.append((what, node))

    def index(self, what: str, node: str) -> int:
        return self.entries.index((what, node))

    def nodes(self, what: str) -> list[str]:
        return [n for w, n in self.entries if w == what]


# --------------------------------------------------------------------------------------------
# priorities, simulate, lower_bound

# app needs lib and tool, lib needs base; everything needs an external compiler.
APP = _graph(
    [("app", "lib"), ("app", "tool"), ("lib", "base"), ("lib", "ext:gcc"), ("tool", "ext:gcc")]
)
APP_TIMES = {"app": 3.0, "lib": 2.0, "tool": 4.0, "base": 1.0}


def test_priorities_are_bottom_levels() -> None:
    assert priorities(APP, APP_TIMES) == {"app": 3.0, "lib": 5.0, "tool": 7.0, "base": 6.0}


def test_priorities_default_to_one_and_look_through_externals() -> None:
    g = _graph([("plugin", "ext:sdk"), ("ext:sdk", "base"), ("base", "ext:gcc")])
    assert priorities(g, {}) == {"base": 2.0, "plugin": 1.0}


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="lib"):
        priorities(APP, {**APP_TIMES, "lib": -1.0})
    with pytest.raises(ValueError, match="jobs"):
        simulate(APP, APP_TIMES, 0)
    with pytest.raises(CycleError):
        priorities(_graph([("a", "b"), ("b", "a")]), {})


def test_simulate_places_every_node_after_its_needs() -> None:
    schedule = simulate(APP, APP_TIMES, 2)
    assert schedule.slots == {
        "tool": Slot(0.0, 4.0, 0),
        "base": Slot(0.0, 1.0, 1),
        "lib": Slot(1.0, 3.0, 1),
        "app": Slot(4.0, 7.0, 0),
    }
    assert schedule.makespan == 7.0 == lower_bound(APP, APP_TIMES, 2)


def test_simulate_meets_the_bound_on_a_chain() -> None:
    g = _graph([("d", "c"), ("c", "b"), ("b", "a")])
    times = {"a": 1.5, "b": 2.0, "c": 0.5, "d": 3.0}
    for jobs in (1, 2, 8):
        assert simulate(g, times, jobs).makespan == 7.0 == lower_bound(g, times, jobs)


def test_simulate_meets_the_bound_on_independent_equal_jobs() -> None:
    g = _graph([], nodes=[f"p{i}" for i in range(12)])
    for jobs, expected in ((1, 12.0), (3, 4.0), (4, 3.0), (12, 1.0), (20, 1.0)):
        assert simulate(g, {}, jobs).makespan == expected == lower_bound(g, {}, jobs)


def test_critical_path_first_beats_name_order() -> None:
    # Two quick independent packages sort before a chain of three: started by name they hold
    # both workers while the chain, the longest path, waits.
    g = _graph([("z_head", "z_mid"), ("z_mid", "z_root")], nodes=["a", "b"])
    times = dict.fromkeys(g, 2.0)
    by_name = simulate(g, times, 2, priority={}).makespan
    critical_first = simulate(g, times, 2).makespan
    assert (by_name, critical_first, lower_bound(g, times, 2)) == (8.0, 6.0, 6.0)


def test_simulate_of_nothing() -> None:
    g = _graph([], nodes=["ext:gcc"])
    assert simulate(g, {}, 4).makespan == 0.0 == lower_bound(g, {}, 4)


# --------------------------------------------------------------------------------------------
# Executor


def test_executor_starts_nodes_only_after_their_needs() -> None:
    g = _graph(
        [("app", "lib"), ("app", "tool"), ("lib", "base"), ("tool", "base"),
         ("lib", "ext:gcc"), ("extra", "ext:gcc")]
    )  # fmt: skip
    log = Log()

    def build(node: str) -> Status:
        log.add("start", node)
        time.sleep(0.01)
        log.add("end", node)
        return Status.BUILT

    result = Executor().run(g, 3, build)
    assert result == dict.fromkeys(["base", "extra", "lib", "tool", "app"], Status.BUILT)
    assert list(result) == ["base", "extra", "lib", "tool", "app"]  # needs first
    for u, v in g.edges:
        if not v.startswith("ext:"):
            assert log.index("end", v) < log.index("start", u), (u, v)


def test_executor_starts_the_critical_path_first() -> None:
    log = Log()
    result = Executor(durations=APP_TIMES).run(APP, 1, lambda n: log.add("start", n) is None)
    assert set(result.values()) == {Status.BUILT}
    assert log.nodes("start") == ["tool", "base", "lib", "app"]


def test_executor_runs_jobs_builds_at_once() -> None:
    g = _graph([], nodes=[f"p{i}" for i in range(8)])
    for jobs in (2, 4):
        barrier = threading.Barrier(jobs, timeout=WAIT)
        # Every build waits until `jobs` builds are inside it: fewer at once breaks the barrier.
        result = Executor().run(g, jobs, lambda _node, b=barrier: b.wait() >= 0)
        assert set(result.values()) == {Status.BUILT}


def test_executor_with_more_jobs_than_nodes_and_external_needs() -> None:
    g = _graph([("a", "ext:gcc"), ("b", "ext:gcc"), ("b", "a"), ("ext:gcc", "ext:glibc")])
    answers = {"a": Status.UNCHANGED, "b": True}
    assert Executor().run(g, 16, answers.__getitem__) == {
        "a": Status.UNCHANGED, "b": Status.BUILT,
    }  # fmt: skip


def test_executor_reports_events_with_clock_time() -> None:
    g = _graph([("b", "a")])
    ticks = iter([10.0, 15.0, 20.0, 22.5])
    events: list[Event] = []
    Executor(clock=lambda: next(ticks)).run(g, 1, lambda _n: True, on_event=events.append)
    assert events == [
        Event("started", "a"),
        Event("finished", "a", Status.BUILT, 5.0),
        Event("started", "b"),
        Event("finished", "b", Status.BUILT, 2.5),
    ]


# f fails; a needs f and b needs a; c and d (which needs c) are independent of f.
FAILING = _graph([("a", "f"), ("b", "a"), ("d", "c")])


def test_keep_going_builds_what_does_not_need_the_failure() -> None:
    log = Log()

    def build(node: str) -> bool:
        log.add("start", node)
        return node != "f"

    result = Executor().run(FAILING, 1, build, keep_going=True)
    assert result == {
        "c": Status.BUILT, "f": Status.FAILED, "a": Status.BLOCKED,
        "d": Status.BUILT, "b": Status.BLOCKED,
    }  # fmt: skip
    assert sorted(log.nodes("start")) == ["c", "d", "f"]


def test_failure_stops_new_starts_but_running_builds_finish() -> None:
    f_failed = threading.Event()
    log = Log()

    def build(node: str) -> bool:
        log.add("start", node)
        if node == "f":  # f has the longest chain: it starts first, beside c
            f_failed.set()
            return False
        assert f_failed.wait(WAIT)
        time.sleep(0.05)  # c is still running when f's failure is seen
        log.add("end", node)
        return True

    result = Executor().run(FAILING, 2, build)
    assert result == {
        "c": Status.BUILT, "f": Status.FAILED, "a": Status.BLOCKED,
        "d": Status.SKIPPED, "b": Status.BLOCKED,
    }  # fmt: skip
    assert log.entries == [("start", "f"), ("start", "c"), ("end", "c")] or log.entries == [
        ("start", "c"), ("start", "f"), ("end", "c"),
    ]  # fmt: skip


def test_an_exception_or_a_strange_answer_is_a_failure() -> None:
    g = _graph([("b", "a")], nodes=["c"])
    boom = RuntimeError("rpmbuild exploded")
    answers: dict[str, object] = {"a": boom, "c": "maybe"}
    events: list[Event] = []

    def build(node: str) -> Status:
        answer = answers[node]
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    result = Executor().run(g, 2, build, keep_going=True, on_event=events.append)
    assert result == {"a": Status.FAILED, "c": Status.FAILED, "b": Status.BLOCKED}
    errors = {e.node: e.error for e in events if e.kind == "finished"}
    assert errors["a"] is boom
    assert isinstance(errors["c"], ValueError)


def test_keyboard_interrupt_waits_for_running_builds_then_propagates() -> None:
    g = _graph([], nodes=["a", "b", "c"])
    both_running = threading.Barrier(2, timeout=WAIT)
    log = Log()
    events: list[Event] = []

    def build(node: str) -> bool:
        log.add("start", node)
        both_running.wait()
        if node == "a":
            raise KeyboardInterrupt
        time.sleep(0.05)  # b outlives a's interrupt
        log.add("end", node)
        return True

    with pytest.raises(KeyboardInterrupt):
        Executor().run(g, 2, build, on_event=events.append)
    assert sorted(log.nodes("start")) == ["a", "b"]  # c never starts
    assert log.nodes("end") == ["b"]
    finished = {e.node: e.status for e in events if e.kind == "finished"}
    assert finished == {"a": Status.FAILED, "b": Status.BUILT}


@pytest.fixture
def python_sigint_handler():
    """interrupt_main does nothing while SIGINT is ignored, and a process started in the
    background by a non-interactive shell (as CI may start the suite) inherits SIGINT ignored:
    install Python's own handler, as an interactive specgen has it, for the test's duration."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("python_sigint_handler")
def test_ctrl_c_while_waiting_lets_the_running_build_finish() -> None:
    g = _graph([("b", "a")], nodes=["c"])
    log = Log()
    events: list[Event] = []

    def build(node: str) -> bool:
        log.add("start", node)
        _thread.interrupt_main()  # as if the user pressed Ctrl-C while `a` builds
        time.sleep(0.2)
        log.add("end", node)
        return True

    with pytest.raises(KeyboardInterrupt):
        Executor().run(g, 1, build, on_event=events.append)
    assert log.entries == [("start", "a"), ("end", "a")]
    assert events[-1] == Event("finished", "a", Status.BUILT, events[-1].elapsed)
