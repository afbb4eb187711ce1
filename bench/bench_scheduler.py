"""How close critical-path-first list scheduling gets to the lower bound (goal: within 5%).

Random layered DAGs (seeded) stand in for package graphs: a chain through every layer makes
long paths, layers of random width make wide levels, and build times are lognormal (median a
minute, from seconds to an hour). For each size and job count it prints the simulated
makespan, the lower bound max(critical path, work / jobs) and their ratio, a tighter head/tail
bound and the ratio to it (is a miss the schedule's fault or the bound's?), and the makespan
of starting ready packages by name instead. Then the same on more seeds, and the time one
simulation of 500 nodes takes. Usage: bench_scheduler.py [SEED [SEEDS]].
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import sys
import time

import networkx as nx

from specgen.build.scheduler import lower_bound, priorities, simulate
from specgen.graph.dependencies import EXTERNAL, levels
from specgen.graph.knowledge import BUILD

SIZES = (50, 100, 200, 500)
JOBS = (2, 4, 8, 16)
GOAL = 1.05


def layered_dag(nodes: int, seed: int) -> tuple[nx.DiGraph, dict[str, float]]:
    """Packages cut at random into about sqrt(2n) layers; each needs one package of the layer
    below (chains run through every layer) and up to three of any earlier layer; all need an
    external compiler. Build seconds: lognormal, median 60, clipped to [2, 3600]."""
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, nodes), max(2, round(math.sqrt(2 * nodes))) - 1))
    names = [f"p{i:03d}" for i in range(nodes)]
    layers = [names[lo:hi] for lo, hi in zip([0, *cuts], [*cuts, nodes], strict=True)]
    g = nx.DiGraph()
    g.add_node("ext:gcc", kind=EXTERNAL)
    times: dict[str, float] = {}
    for depth, layer in enumerate(layers):
        earlier = [n for below in layers[:depth] for n in below]
        for name in layer:
            g.add_node(name, kind=BUILD)
            g.add_edge(name, "ext:gcc")
            times[name] = min(3600.0, max(2.0, rng.lognormvariate(math.log(60), 1.3)))
            if depth:
                g.add_edge(name, rng.choice(layers[depth - 1]))
                for need in rng.sample(earlier, rng.randint(0, min(3, len(earlier)))):
                    g.add_edge(name, need)
    return g, times


def head_tail_bound(g: nx.DiGraph, times: dict[str, float], jobs: int) -> float:
    """A tighter bound, to tell a weak bound from a poor schedule: a package cannot start
    before its longest chain of needs (head) ends, so after any time t all the work not
    doable by t is still to do; likewise before the longest chain of dependents (tail)."""
    tails = {n: p - times[n] for n, p in priorities(g, times).items()}
    heads = {n: p - times[n] for n, p in priorities(g.reverse(copy=False), times).items()}
    best = lower_bound(g, times, jobs)
    for side in (heads, tails):
        # Work left after t: sum of max(0, end - t) - max(0, start - t) over packages.
        starts = _Excess(list(side.values()))
        ends = _Excess([s + times[n] for n, s in side.items()])
        for t in side.values():
            best = max(best, t + (ends.above(t) - starts.above(t)) / jobs)
    return best


class _Excess:
    """Sum of max(0, x - t) over some numbers x, for any t in O(log n)."""

    def __init__(self, values: list[float]) -> None:
        self.values = sorted(values)
        self.suffix = [*itertools.accumulate(reversed(self.values), initial=0.0)][::-1]

    def above(self, t: float) -> float:
        k = bisect.bisect_right(self.values, t)
        return self.suffix[k] - t * (len(self.values) - k)


def main() -> int:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    print(f"seed {seed}; ratio = makespan / bound, bound = max(critical path, work / jobs)")
    print(f"{'nodes':>5} {'levels':>6} {'jobs':>4} {'makespan':>9} {'bound':>9} {'ratio':>6}"
          f" {'bound is':>8} {'h/t bound':>9} {'ratio':>6} {'by name':>8}")  # fmt: skip
    worst = (0.0, 0, 0)
    for nodes in SIZES:
        g, times = layered_dag(nodes, seed + nodes)
        for jobs in JOBS:
            makespan = simulate(g, times, jobs).makespan
            bound = lower_bound(g, times, jobs)
            tight = head_tail_bound(g, times, jobs)
            kind = "path" if bound == lower_bound(g, times, 10**9) else "work"
            by_name = simulate(g, times, jobs, priority={}).makespan
            worst = max(worst, (makespan / bound, nodes, jobs))
            print(f"{nodes:>5} {len(levels(g)):>6} {jobs:>4} {makespan:>9.0f} {bound:>9.0f}"
                  f" {makespan / bound:>6.3f} {kind:>8} {tight:>9.0f} {makespan / tight:>6.3f}"
                  f" {by_name:>8.0f}{'  above 5%' if makespan / bound > GOAL else ''}")  # fmt: skip
    print(f"worst ratio {worst[0]:.3f} ({worst[1]} nodes, {worst[2]} jobs); goal <= {GOAL}: "
          f"{'met' if worst[0] <= GOAL else 'NOT met'}")  # fmt: skip
    sweep(range(seed, seed + seeds))
    g, times = layered_dag(500, seed + 500)
    for jobs in JOBS:
        runs = 20
        start = time.perf_counter()
        for _ in range(runs):
            simulate(g, times, jobs)
        each = (time.perf_counter() - start) / runs * 1000
        print(f"simulate, 500 nodes, {jobs:>2} jobs: {each:.1f} ms")
    return 0


def sweep(seeds: range) -> None:
    """The same cases on more graphs: one seed can hide the hard ones."""
    ratios, tight_ratios = [], []
    for seed in seeds:
        for nodes in SIZES:
            g, times = layered_dag(nodes, seed + nodes)
            for jobs in JOBS:
                makespan = simulate(g, times, jobs).makespan
                ratios.append((makespan / lower_bound(g, times, jobs), seed, nodes, jobs))
                tight_ratios.append(makespan / head_tail_bound(g, times, jobs))
    above = sum(r[0] > GOAL for r in ratios)
    ratio, seed, nodes, jobs = max(ratios)
    print(f"seeds {seeds.start}-{seeds.stop - 1} ({len(ratios)} cases): {above} above 5% of the "
          f"bound, worst {ratio:.3f} (seed {seed}, {nodes} nodes, {jobs} jobs); goal <= {GOAL}: "
          f"{'met' if not above else 'NOT met'}; against the head/tail bound worst "
          f"{max(tight_ratios):.3f}")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
