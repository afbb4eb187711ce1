"""Human-readable views of results (rich tables); JSON views live with each model's to_dict."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from specgen.recipe.model import Recipe


def to_json(data: Any) -> str:
    """Deterministic JSON text: fixed indentation, insertion order, trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def print_recipe(recipe: Recipe, console: Console) -> None:
    """A summary table, then one table per image and one for the CMake build."""
    summary = Table(title="Triton build recipe", show_header=False)
    summary.add_row("Triton version", recipe.triton_version or "?")
    summary.add_row("container version", recipe.container_version or "?")
    summary.add_row("base image", recipe.base_image or "(none: --no-container-build)")
    summary.add_row("architecture", recipe.arch)
    summary.add_row("files", ", ".join(recipe.files))
    console.print(summary)
    for role, image in recipe.images.items():
        table = Table(title=f"{role} image ({image.file})")
        table.add_column("kind")
        table.add_column("item")
        table.add_column("detail")
        table.add_column("line")
        for pkg in image.apt:
            table.add_row("apt", pkg.name, pkg.pin or "", str(pkg.origin.line))
        for rpm in image.rpm:
            table.add_row("rpm", rpm.name, "", str(rpm.origin.line))
        for req in image.pip:
            detail = req.kind + (f" from {req.index_url}" if req.index_url else "")
            table.add_row("pip", req.requirement, detail, str(req.origin.line))
        for dl in image.downloads:
            dest = dl.destination or f"| {dl.piped_to or 'stdout'}"
            detail = dest + (f" sha256:{dl.sha256[:12]}" if dl.sha256 else "")
            table.add_row("download", dl.url, detail, str(dl.origin.line))
        for repo in image.repositories:
            detail = " ".join(filter(None, [repo.suite, *repo.components]))
            table.add_row(f"{repo.kind} repo", repo.url, detail, str(repo.origin.line))
        if table.row_count:
            console.print(table)
    if recipe.cmake is not None:
        table = Table(title=f"CMake build ({recipe.cmake.file})")
        table.add_column("component")
        table.add_column("kind")
        table.add_column("tag")
        table.add_column("options")
        for project in [recipe.cmake.core, *recipe.cmake.components]:
            if project is None:
                continue
            enabled = sum(1 for v in project.options.values() if v == "ON")
            table.add_row(
                project.name,
                project.kind,
                project.tag or ", ".join(f"{k}:{v}" for k, v in recipe.cmake.repo_tags.items()),
                f"{len(project.options)} ({enabled} ON)",
            )
        console.print(table)
