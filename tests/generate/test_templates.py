"""Golden files per template: a small data file rendered must equal the expected spec exactly.

Set SPECGEN_UPDATE_GOLDEN=1 to rewrite the expected files after an intended template change
(then read the diff before committing it).
"""

from __future__ import annotations

import os
import tomllib

import pytest
from conftest import FIXTURES

from specgen.generate.context import BuildContext
from specgen.generate.cudaprovider import cuda_provider
from specgen.generate.pins import PinBook
from specgen.generate.prebuilt import build_prebuilt
from specgen.generate.release import load_release
from specgen.generate.render import render_spec
from specgen.generate.sourcebuild import build_source
from specgen.recipe.dryrun import default_recipe

GOLDEN = FIXTURES / "golden"


def _check(kind: str, text: str) -> None:
    expected = GOLDEN / kind / "expected.spec"
    if os.environ.get("SPECGEN_UPDATE_GOLDEN") == "1":
        expected.write_text(text)
    assert expected.exists(), f"no golden file {expected}; run with SPECGEN_UPDATE_GOLDEN=1"
    assert text == expected.read_text()


def _data(kind: str) -> dict:
    path = GOLDEN / kind / "package.toml"
    data = tomllib.loads(path.read_text())
    data["_where"] = str(path)
    return data


@pytest.mark.parametrize("from_redist", [False, True])
def test_prebuilt_template_golden(from_redist: bool) -> None:
    release = load_release("25.03")
    cuda = cuda_provider(release, from_redist)
    ctx = BuildContext(release, default_recipe(), cuda, PinBook(release))
    pkg = build_prebuilt(_data("prebuilt"), ctx)
    text = render_spec(pkg, release.name)
    if from_redist:
        # the same spec, but the dlopened component is our own cuda-nvrtc spec
        assert "Requires:       cuda-nvrtc\n" in text
        assert "cuda-nvrtc-12-8" not in text
        return
    _check("prebuilt", text)


def test_source_template_golden() -> None:
    release = load_release("25.03")
    ctx = BuildContext(release, default_recipe(), cuda_provider(release, False), PinBook(release))
    text = render_spec(build_source(_data("source"), ctx), release.name)
    _check("source", text)


def test_tritonserver_template_golden() -> None:
    from specgen.generate.generation import generate
    from specgen.recipe.dryrun import load_recipe

    recipe = load_recipe([GOLDEN / "tritonserver" / "cmake_build"])
    gen = generate(recipe, load_release("25.03"))
    text = gen.specs["tritonserver"]
    # what the fixture is about, before the byte-for-byte comparison
    assert "%bcond gpu 0\n" in text and "%bcond backend_identity 1\n" in text
    assert "%bcond backend_tensorrt 0\n" in text and "needs the GPU build" in text
    assert "%bcond backend_fancy 0\n" in text and "no data for it yet" in text
    _check("tritonserver", text)
