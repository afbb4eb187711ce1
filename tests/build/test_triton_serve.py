"""Serve models with tritonserver RPMs already built by `specgen build` (issue 7 acceptance).

Runs only where built RPMs are present: the repository is $SPECGEN_TRITON_REPO, or repo/ under
the checkout (what `specgen build` fills by default); without a tritonserver RPM there the test
is skipped. tests/build/test_triton_build.py builds the RPMs itself and serves them the same way
(tests/triton_serving.py): an identity and a python model, over HTTP/REST and gRPC.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import REPO, require_tool
from triton_serving import find_rpm, install, serve_and_check, skip_without_system_python

REPO_ENV = "SPECGEN_TRITON_REPO"


def test_serve_identity_and_python_models(tmp_path: Path) -> None:
    repo = Path(os.environ.get(REPO_ENV) or REPO / "repo")
    if not repo.is_dir() or find_rpm(repo, "tritonserver") is None:
        pytest.skip(
            f"no tritonserver RPM in {repo}: build it with specgen build "
            "(see docs/building-triton.md); tests/build/test_triton_build.py builds its own"
        )
    require_tool("rpm")
    skip_without_system_python()
    pytest.importorskip("tritonclient.grpc", reason="the gRPC checks use tritonclient[grpc]")
    install(repo, tmp_path / "root")
    serve_and_check(tmp_path / "root", tmp_path)
