"""The import direction between specgen's stage packages (docs/architecture.md).

A stage imports only the shared top-level modules and the stages before it, never one after it,
so that the folders read in the order the data flows. Every import counts: module-level,
function-level (the lazy ones that keep start-up fast), and the "module:attribute" strings that
the command line loads subcommands from.
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "specgen"

# The stages in pipeline order: each may import the ones before it.
STAGES = (
    "recipe",
    "graph",
    "mapping",
    "generate",
    "sources",
    "build",
    "host",
    "verify",
    "lint",
    "cli",
)
# Tools beside the pipeline: they may import the shared modules and any stage but the command
# line, and nothing outside the tool imports them.
TOOLS = ("standin",)
# Folders of specgen that hold no code.
NOT_CODE = ("data",)

_TARGET = re.compile(r"^specgen(\.[A-Za-z_]\w*)+:[A-Za-z_]\w*$")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module's path, relative to the package's parent
    line: int
    target: str  # the imported module, dotted


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(path: Path, root: Path) -> list[Import]:
    """Every import of a `specgen` module in one file, wherever it is in the file."""
    module = _module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    source = str(path.relative_to(root.parent))
    found: list[Import] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, path.name == "__init__.py", node)
            # `from specgen import graph` imports the package specgen.graph
            top = base == root.name
            targets = [f"{base}.{alias.name}" for alias in node.names] if top else [base]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _TARGET.match(node.value):
                targets = [node.value.partition(":")[0]]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            == "import_module"
        ):
            targets = [node.args[0].value]
        found += [
            Import(source, node.lineno, t)
            for t in targets
            if t == root.name or t.startswith(root.name + ".")
        ]
    return sorted(found, key=lambda imp: (imp.line, imp.target))


def layer(module: str, root: Path) -> str:
    """The stage or tool a dotted module belongs to; "shared" for the top-level modules."""
    parts = module.split(".")
    if parts[1:] == ["__main__"]:
        return "cli"  # `python -m specgen`: the command line's other door
    if len(parts) >= 2 and (root / parts[1]).is_dir():
        return parts[1]
    return "shared"


def problem(imp: Import, root: Path) -> str | None:
    """Why this import breaks the direction between stages, or None where it is allowed."""
    src = layer(_module_name(root.parent / imp.source, root), root)
    dst = layer(imp.target, root)
    if dst not in ("shared", *STAGES, *TOOLS):
        return None  # specgen.data: files, not code
    where = f"{imp.source}:{imp.line} imports {imp.target}"
    if src == dst or dst == "shared":
        return None
    if dst in TOOLS:
        return f"{where}: only {dst} itself may import the tool {dst}"
    if src == "shared":
        return f"{where}: a shared top-level module may import no stage ({dst})"
    if src in TOOLS:
        return f"{where}: the tool {src} may not import the command line" if dst == "cli" else None
    if STAGES.index(dst) > STAGES.index(src):
        return (
            f"{where}: stage {src} ({STAGES.index(src) + 1}) may not import the later stage "
            f"{dst} ({STAGES.index(dst) + 1})"
        )
    return None


def problems(root: Path) -> list[str]:
    """Every import of the package at `root` that goes against the stage order, in file order."""
    files = sorted(root.rglob("*.py"))
    found = [problem(imp, root) for path in files for imp in imports_of(path, root)]
    return [p for p in found if p]


def test_every_package_of_specgen_has_a_place_in_the_order() -> None:
    folders = {p.parent.name for p in PACKAGE.glob("*/__init__.py")} - set(NOT_CODE)
    assert folders == set(STAGES) | set(TOOLS), "add the new package to STAGES or TOOLS"


def test_no_stage_imports_a_later_one() -> None:
    assert problems(PACKAGE) == []


def test_lazy_subcommands_name_modules_that_exist() -> None:
    from specgen.cli.main import _COMMANDS

    for name, target in _COMMANDS.items():
        module, _, attr = target.partition(":")
        assert hasattr(importlib.import_module(module), attr), (name, target)


_LATE_IMPORTS = {  # how: (code in specgen/mapping/resolver.py, the import found, its line)
    "module level": ("from specgen.generate.lock import read_lock\n", "specgen.generate.lock", 1),
    "in a function": ("def f():\n    from specgen.generate import lock\n", "specgen.generate", 2),
    "from the top": ("from specgen import generate\n", "specgen.generate", 1),
    "relative": ("from ..generate import lock\n", "specgen.generate", 1),
    "plain import": ("import specgen.generate.lock\n", "specgen.generate.lock", 1),
    "lazy command": ('C = {"x": "specgen.generate.lock:read_lock"}\n', "specgen.generate.lock", 1),
    "importlib": (
        'import importlib\n\nimportlib.import_module("specgen.generate.lock")\n',
        "specgen.generate.lock",
        3,
    ),
}


@pytest.mark.parametrize(("code", "target", "line"), _LATE_IMPORTS.values(), ids=_LATE_IMPORTS)
def test_the_check_names_a_backward_import(
    tmp_path: Path, code: str, target: str, line: int
) -> None:
    """The check itself, on a small package whose mapping stage imports generate."""
    root = tmp_path / "specgen"
    for folder in ("mapping", "generate"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text('"""A stage."""\n')
    (root / "__init__.py").write_text("")
    (root / "generate" / "lock.py").write_text("def read_lock(): ...\n")
    (root / "mapping" / "resolver.py").write_text(code)
    assert problems(root) == [
        f"specgen/mapping/resolver.py:{line} imports {target}: "
        "stage mapping (3) may not import the later stage generate (4)"
    ]


def test_the_check_allows_earlier_stages_and_shared_modules_and_keeps_tools_apart(
    tmp_path: Path,
) -> None:
    root = tmp_path / "specgen"
    for folder in ("recipe", "build", "cli", "standin"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text('__version__ = "0"\n')
    (root / "errors.py").write_text("def f():\n    from specgen.recipe import model\n")
    (root / "recipe" / "model.py").write_text("from specgen import errors\n")
    (root / "build" / "runner.py").write_text(
        "from specgen import __version__, errors\nfrom specgen.recipe import model\n"
    )
    (root / "standin" / "pin.py").write_text(
        "from specgen.build import runner\nfrom specgen.cli import main\n"
    )
    (root / "cli" / "main.py").write_text(
        "from specgen.build import runner\nimport specgen.standin\n"
    )
    assert problems(root) == [
        "specgen/cli/main.py:2 imports specgen.standin: only standin itself may import the tool "
        "standin",
        "specgen/errors.py:2 imports specgen.recipe: a shared top-level module may import no stage "
        "(recipe)",
        "specgen/standin/pin.py:2 imports specgen.cli: the tool standin may not import the command "
        "line",
    ]
