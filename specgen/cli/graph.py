"""`specgen graph`: the dependency graph of a recipe as text, JSON or DOT, and as a picture."""

from __future__ import annotations

from pathlib import Path

import click
import networkx as nx

from specgen.atomic import write_atomic
from specgen.graph import formats as graphio
from specgen.graph.dependencies import EXTERNAL, build_graph, build_order, levels
from specgen.graph.knowledge import load_extra_deps


@click.command("graph")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "dot"]), default="text",
    show_default=True, help="text: build order and levels; json: node-link; dot: Graphviz.",
)  # fmt: skip
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE (atomically) instead of standard output.",
)  # fmt: skip
@click.option(
    "--render", "render_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw the graph to FILE.svg or FILE.png (needs Graphviz's `dot`).",
)  # fmt: skip
@click.option("--no-external", is_flag=True, help="Leave out system (external) packages.")
@click.option(
    "--extra-deps", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='TOML of extra needs: [needs] "a" = ["b"] (build), [run_needs] (run).',
)  # fmt: skip
def graph_command(
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    render_path: Path | None,
    no_external: bool,
    extra_deps: Path | None,
) -> None:
    """Show what must be built for a recipe, what each part needs, and in which order.

    PATH is build.py --dryrun output (files or folders); without one, the embedded default
    release is used. A dependency cycle is an error that names it.
    """
    from specgen.recipe.dryrun import load_or_default  # lazy: the parser is heavy

    suffixes = tuple(f".{f}" for f in graphio.RENDER_FORMATS)
    if render_path is not None and render_path.suffix.lower() not in suffixes:
        raise click.BadParameter("must end in .svg, .png or .pdf", param_hint="--render")
    recipe = load_or_default(list(paths))
    extra = load_extra_deps(extra_deps) if extra_deps else None
    g = build_graph(recipe, include_external=not no_external, extra=extra)
    text = {"json": graphio.to_json, "dot": graphio.to_dot, "text": format_text}[fmt](g)
    if output is not None:
        write_atomic(output, text)
    else:
        click.echo(text, nl=False)
    if render_path is not None:
        graphio.render(graphio.to_dot(g), render_path)
        click.echo(f"specgen: drew {render_path}", err=True)


def format_text(g: nx.DiGraph) -> str:
    """Build order and parallel levels, one line each, for people."""
    order = build_order(g)
    external = sum(1 for _, a in g.nodes(data=True) if a.get("kind") == EXTERNAL)
    lines = [
        f"{len(order)} to build, {external} external, {g.number_of_edges()} needs",
        "",
        "build order:",
    ]
    width = len(str(len(order)))
    for i, name in enumerate(order, start=1):
        attrs = g.nodes[name]
        detail = attrs.get("version") or attrs.get("tag") or ""
        lines.append(f"  {i:>{width}}. {name}" + (f" ({detail})" if detail else ""))
    lines += ["", "parallel levels:"]
    for i, names in enumerate(levels(g)):
        lines.append(f"  {i}: {' '.join(names)}")
    return "\n".join(lines) + "\n"


__all__ = ["format_text", "graph_command"]
