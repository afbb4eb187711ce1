"""Which packages stand for a CUDA component: NVIDIA's azl3 repository, or specs of our own.

By default CUDA comes from NVIDIA's CUDA repository for Azure Linux 3 (`cuda-nvrtc-12-8`, ...);
with --cuda-from-redist specgen writes a spec per component from `redistrib_<cuda>.json` and
dependencies name those (`cuda-nvrtc`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from specgen.errors import SpecgenError
from specgen.generate.pkgdata import fill_all, load_package_data
from specgen.generate.release import Release


@dataclass(frozen=True)
class CudaProvider:
    """Names of CUDA packages for one release and one source of CUDA."""

    from_redist: bool
    components: dict[str, dict[str, Any]]
    triton_build: tuple[str, ...]
    home: str

    def runtime(self, key: str) -> str:
        c = self._component(key)
        return c["spec"] if self.from_redist else c["azl3"]

    def devel(self, key: str) -> str:
        c = self._component(key)
        if not self.from_redist:
            return str(c["azl3_devel"])
        if "devel" in c.get("redist", {}):
            return str(c["redist"]["devel"])
        # a component without libraries is one -devel-like package named as the spec
        return f"{c['spec']}-devel" if c.get("libraries") else str(c["spec"])

    def _component(self, key: str) -> dict[str, Any]:
        try:
            return self.components[key]
        except KeyError:
            raise SpecgenError(f"cuda.toml: no CUDA component {key}") from None


def cuda_provider(release: Release, from_redist: bool) -> CudaProvider:
    """The CUDA names for `release`, filled from cuda.toml."""
    data = load_package_data("cuda")
    comps = fill_all(data["components"], release.facts(), data["_where"])
    homes = fill_all(data["home"], release.facts(), data["_where"])
    home = homes["redist" if from_redist else "azl3"]
    return CudaProvider(from_redist, comps, tuple(data["triton"]["build"]), home)
