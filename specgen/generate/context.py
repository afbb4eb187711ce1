"""What every package builder may read: release, recipe, pins, CUDA names, its graph node."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from specgen.generate.cudaprovider import CudaProvider
from specgen.generate.pins import PinBook
from specgen.generate.release import Release
from specgen.recipe.model import Recipe


@dataclass(frozen=True)
class BuildContext:
    """Inputs shared by the builders of one generation; `node` is the package's graph node."""

    release: Release
    recipe: Recipe
    cuda: CudaProvider
    pins: PinBook
    node: dict[str, Any] = field(default_factory=dict)

    def facts(self, **extra: str) -> dict[str, str]:
        """Release facts plus the graph's version/tag of this package (`{graph_version}`)."""
        facts = self.release.facts()
        if self.node.get("version"):
            facts["graph_version"] = str(self.node["version"])
        if self.node.get("tag"):
            facts["graph_tag"] = str(self.node["tag"])
        return {**facts, **extra}
