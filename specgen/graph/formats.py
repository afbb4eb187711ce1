"""Writing a dependency graph out: node-link JSON, Graphviz DOT, a picture.

Every export is deterministic (sorted, canonical): the same graph gives byte-identical output
whatever order its nodes and edges were inserted in, and whatever the process's hash seed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import networkx as nx

from specgen.atomic import write_atomic
from specgen.errors import SpecgenError
from specgen.graph.dependencies import EXTERNAL, build_order, levels
from specgen.graph.knowledge import BUILD, RUN

RENDER_FORMATS = ("svg", "png", "pdf")


def to_json(g: nx.DiGraph) -> str:
    """Node-link JSON (networkx's), sorted, with build order and levels under "graph"."""
    data = _node_link(g)
    data["nodes"] = sorted(data["nodes"], key=lambda n: str(n["id"]))
    data["edges"] = sorted(data["edges"], key=lambda e: (str(e["source"]), str(e["target"])))
    data["graph"] = {**data["graph"], "build_order": build_order(g), "levels": levels(g)}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def from_json(text: str) -> nx.DiGraph:
    """The graph `to_json` wrote (any networkx >= 3.2)."""
    data = json.loads(text)
    try:
        g = nx.node_link_graph(data, edges="edges")
    except TypeError:  # networkx < 3.4
        data["links"] = data.pop("edges")
        g = nx.node_link_graph(data)
    return nx.DiGraph(g)


def _node_link(g: nx.DiGraph) -> dict[str, Any]:
    """node_link_data with an "edges" key on every networkx >= 3.2 (3.4 renamed "links")."""
    try:
        return nx.node_link_data(g, edges="edges")
    except TypeError:  # networkx < 3.4
        data = nx.node_link_data(g)
        data["edges"] = data.pop("links")
        return data


_DOT_STYLE = {
    "core": 'shape="box3d", style="filled", fillcolor="#9ecae1"',
    "backend": 'shape="box", style="rounded,filled", fillcolor="#deebf7"',
    "repoagent": 'shape="box", style="rounded,filled", fillcolor="#efedf5"',
    "cache": 'shape="box", style="rounded,filled", fillcolor="#fee6ce"',
    "package": 'shape="component", style="filled", fillcolor="#e5f5e0"',
    "extra": 'shape="box", style="filled", fillcolor="#fff7bc"',
    EXTERNAL: 'shape="ellipse", style="dashed", color="gray40", fontcolor="gray30"',
}
_DOT_EDGE = {
    (BUILD,): 'style="solid"',
    (RUN,): 'style="dashed", color="gray40"',
    (BUILD, RUN): 'style="bold"',
}


def to_dot(g: nx.DiGraph) -> str:
    """Graphviz DOT written by hand: sorted, every id quoted and escaped, no pydot needed."""
    lines = [
        "// specgen graph: u -> v means u needs v;",
        "// edges: solid = build time, dashed = run time, bold = both.",
        'digraph "specgen" {',
        '  graph [rankdir="LR", fontname="Helvetica"];',
        '  node [fontname="Helvetica", fontsize="10"];',
        '  edge [arrowsize="0.7"];',
    ]
    for name in sorted(g.nodes, key=str):
        attrs = g.nodes[name]
        key = EXTERNAL if attrs.get("kind") == EXTERNAL else attrs.get("role", "extra")
        style = _DOT_STYLE.get(key, _DOT_STYLE["extra"])
        parts = [str(name)]
        detail = attrs.get("version") or attrs.get("tag")
        if detail:
            parts.append(str(detail))
        label = "\\n".join(_dot_escape(p) for p in parts)
        lines.append(f'  {_dot_id(name)} [label="{label}", {style}];')
    for u, v in sorted(g.edges, key=lambda e: (str(e[0]), str(e[1]))):
        data = g.edges[u, v]
        needs = tuple(sorted(data.get("needs") or [data.get("kind", BUILD)]))
        style = _DOT_EDGE.get(needs, _DOT_EDGE[(BUILD,)])
        lines.append(f"  {_dot_id(u)} -> {_dot_id(v)} [{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_escape(text: str) -> str:
    """Escape for a DOT quoted string: backslash and quote, line breaks as \\n."""
    return (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _dot_id(name: object) -> str:
    return f'"{_dot_escape(str(name))}"'


def render(dot_text: str, path: str | Path, fmt: str | None = None) -> Path:
    """Draw DOT text to an SVG/PNG/PDF file with Graphviz's `dot`, written atomically."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in RENDER_FORMATS:
        raise SpecgenError(
            f"cannot render {path}: unknown picture format {fmt!r} "
            f"(use a file ending in {', '.join('.' + f for f in RENDER_FORMATS)})"
        )
    exe = shutil.which("dot")
    if exe is None:
        raise SpecgenError(
            f"cannot render {path}: Graphviz's `dot` is not on PATH (install graphviz: "
            "`tdnf install graphviz` or `apt-get install graphviz`); --format dot needs no tool"
        )
    try:
        proc = subprocess.run(
            [exe, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True,
            timeout=300, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SpecgenError(f"cannot render {path}: running {exe} failed: {err}") from err
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SpecgenError(f"cannot render {path}: dot exited {proc.returncode}: "
                           f"{detail[0] if detail else 'no message'}")  # fmt: skip
    write_atomic(path, proc.stdout)
    return path
