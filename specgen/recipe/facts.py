"""Release facts the dry-run files state themselves: Triton's version and branch, the ONNX
Runtime and OpenVINO versions build.py passes to the backends, the DCGM version of the images.

For a release specgen carries a facts file for, these fill only what the file leaves out (and a
test checks that both agree on every shipped dry-run); for a new month, or main, they are all
specgen knows until `--fact` supplies CUDA, cuDNN, TensorRT, Python and the date.
"""

from __future__ import annotations

import re
from typing import Any

from specgen.recipe.model import Recipe

# Options of the backends' configure lines that carry a version, by fact, first found wins.
_OPTION_FACTS = {
    "onnxruntime": ("TRITON_BUILD_ONNXRUNTIME_VERSION",),
    "openvino": ("TRITON_BUILD_OPENVINO_VERSION", "TRITON_BUILD_ONNXRUNTIME_OPENVINO_VERSION"),
}
# build.py pins DCGM as `1:4.4.0-1` (apt) and sets ENV DCGM_VERSION 4.4.0-1: the upstream part.
_DEBIAN_VERSION = re.compile(r"^(?:\d+:)?(?P<upstream>[0-9][0-9A-Za-z.]*?)(?:-[0-9A-Za-z.+~]+)?$")


def recipe_facts(recipe: Recipe) -> dict[str, Any]:
    """Fact name -> value for every fact the recipe states (absent ones are left out)."""
    facts: dict[str, Any] = {}
    if recipe.triton_version:
        facts["triton_version"] = recipe.triton_version
    tag = recipe.cmake.repo_tags.get("core", "") if recipe.cmake else ""
    if re.fullmatch(r"r\d\d\.\d\d", tag):
        facts["triton_tag"] = tag
    options = _component_options(recipe)
    for fact, keys in _OPTION_FACTS.items():
        value = next((options[k] for k in keys if options.get(k)), None)
        if value:
            facts[fact] = value
    dcgm = _dcgm(recipe)
    if dcgm:
        facts["dcgm"] = dcgm
    return facts


def _component_options(recipe: Recipe) -> dict[str, str]:
    """Every backend's options merged, sorted by component so the result is stable."""
    merged: dict[str, str] = {}
    if recipe.cmake is None:
        return merged
    for comp in sorted(recipe.cmake.components, key=lambda c: (c.kind, c.name)):
        for key, value in comp.options.items():
            merged.setdefault(key, value)
    return merged


def _dcgm(recipe: Recipe) -> str | None:
    for _role, image in sorted(recipe.images.items()):
        value = image.env.get("DCGM_VERSION")
        m = _DEBIAN_VERSION.match(value or "")
        if m:
            return m.group("upstream")
    return None
