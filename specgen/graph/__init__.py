"""Stage 2, graph: a Recipe in, the dependency graph (networkx) out.

In: the Recipe, and what needs what (data/components.toml, plus a user's extra-needs TOML, read
by knowledge.py). Out: the graph of what must be built and what each part needs to build and to
run (dependencies.py), its build order and levels, and the graph written as JSON, DOT or a
picture (formats.py). A cycle is an error that names it.
"""
