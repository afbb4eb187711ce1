"""`specgen parse` from the command line: output formats and one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from specgen.cli.main import main

MINI = FIXTURES / "dryrun-mini"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_default_release_table_and_json() -> None:
    code, out, _ = run("parse")
    assert code == 0 and "2.56.0" in out and "libre2-dev" in out
    code, out, _ = run("parse", "--format", "json")
    data = json.loads(out)
    assert data["triton_version"] == "2.56.0"
    assert data["images"]["buildbase"]["apt"][0]["name"] == "ca-certificates"


def test_json_is_byte_identical_across_runs() -> None:
    assert (
        run("parse", str(MINI), "--format", "json")[1]
        == run("parse", str(MINI), "--format", "json")[1]
    )


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (None, "missing", "no such file or folder"),
        (b"", "Dockerfile", "Dockerfile: empty file"),
        (b"\x7fELF\x00\x01binary", "Dockerfile", "Dockerfile: binary file, expected text"),
        (b'FROM a\nRUN echo "open\n', "Dockerfile", "Dockerfile:2: unterminated quote"),
        (b"FROM a\nBOGUS x\n", "Dockerfile", "Dockerfile:2: unknown instruction 'BOGUS'"),
        (b"\xff\xfe\xfa", "Dockerfile", "Dockerfile:1: not UTF-8 text"),
        (b"#!/bin/bash\necho hi\n", "cmake_build", "cmake_build: no CMake configure command"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, content: bytes | None, name: str, expected: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    code, out, err = run("parse", str(path))
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert expected in lines[0]
    assert str(tmp_path) in lines[0]


def test_folder_without_dryrun_files(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("nothing here")
    code, _, err = run("parse", str(tmp_path))
    assert code == 2 and "no dry-run files in this folder" in err


def test_no_container_build_folder_is_valid(tmp_path: Path) -> None:
    script = (
        "#!/usr/bin/env bash\nset -e\nmkdir -p /b && cd /b\n"
        'cmake "-DTRITON_VERSION:STRING=9.9.0" "-DTRITON_ENABLE_GPU:BOOL=OFF" /src\n'
        "cmake --build . -j2 -t install\n"
        "git clone --depth=1 -b r99.01 https://example.invalid/x/identity_backend.git identity\n"
        'cd identity && cmake "-DTRITON_ENABLE_GPU:BOOL=OFF" ..\n'
    )
    (tmp_path / "cmake_build").write_text(script)
    code, out, err = run("parse", str(tmp_path), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["images"] == {} and data["triton_version"] == "9.9.0"
    assert data["cmake_build"]["backends"][0]["name"] == "identity"
    assert data["cmake_build"]["backends"][0]["tag"] == "r99.01"
