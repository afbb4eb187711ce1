"""`specgen diff`: neighbouring releases, a dry-run against itself and against a copy with one
change, what is not compared, deterministic JSON and bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from specgen.cli.main import main
from specgen.generate.release import FACT_KEYS
from specgen.generate.releasediff import FACT_LABELS, pip_name


def _diff(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["diff", *args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output)


def _changes(data: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {(c["section"], c["scope"], c["item"], c["change"], c["a"], c["b"])
            for c in data["changes"]}  # fmt: skip


def _mini(folder: Path) -> Path:
    """A small dry-run of specgen's own fixtures: a build image and a cmake_build."""
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "dryrun-mini" / "Dockerfile.buildbase", folder)
    shutil.copy(FIXTURES / "golden" / "tritonserver" / "cmake_build", folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_neighbouring_releases_25_06_to_25_10() -> None:
    code, data = _diff("25.06", "25.10")
    assert code == 1 and data["specs_must_change"] is True
    facts = data["facts"]
    assert facts["cuda"] == {"a": "12.9.1", "b": "13.0.2"}
    assert facts["onnxruntime"] == {"a": "1.22.0", "b": "1.23.1"}
    assert facts["dcgm"] == {"a": "3.3.6", "b": "4.4.0"}
    assert facts["triton_version"] == {"a": "2.59.0", "b": "2.62.0"}
    # neither release's facts file knows cuDNN or TensorRT: shown, not invented, not a change
    assert facts["cudnn"] == {"a": "unknown", "b": "unknown"}
    assert facts["python"] == {"a": "3.12", "b": "3.12"}
    changes = _changes(data)
    for role in ("buildbase", "runtime"):
        # the DCGM 4 split: one package with an epoch pin becomes core and dev
        assert ("apt", role, "datacenter-gpu-manager", "removed",
                "datacenter-gpu-manager=1:3.3.6", None) in changes  # fmt: skip
        for part in ("core", "dev"):
            name = f"datacenter-gpu-manager-4-{part}"
            assert ("apt", role, name, "added", None, f"{name}=1:4.4.0-1") in changes
    nvshmem = "libnvshmem3-cuda-13"
    assert ("apt", "runtime", nvshmem, "added", None, nvshmem) in changes
    # Kitware's apt cmake gives way to a pip-pinned one
    assert ("apt", "buildbase", "cmake", "removed", "cmake=3.28.3*", None) in changes
    assert ("pip", "buildbase", "cmake", "added", None, "cmake==4.0.3") in changes
    assert ("option", "backend onnxruntime", "TRITON_BUILD_ONNXRUNTIME_VERSION", "changed",
            "1.22.0", "1.23.1") in changes  # fmt: skip
    assert ("component", "backend", "python", "changed", "r25.06", "r25.10") in changes
    assert ("fact", "", "cuda", "changed", "12.9.1", "13.0.2") in changes
    # build.py's install folders (absolute paths) are never compared
    assert not any(c["item"] == "CMAKE_INSTALL_PREFIX" for c in data["changes"])
    result = CliRunner().invoke(main, ["diff", "25.06", "25.10"], env={"COLUMNS": "160"})
    assert result.exit_code == 1
    for text in ("13.0.2", "datacenter-gpu-manager-4-core", nvshmem, "they must change"):
        assert text in result.output


def test_dryrun_folders_diff_like_their_releases(dryrun_dir: Path) -> None:
    folders = [str(dryrun_dir / r / "container") for r in ("r25.06", "r25.10")]
    _, from_folders = _diff(*folders)
    _, from_releases = _diff("25.06", "25.10")
    assert from_folders["a"]["label"] == folders[0]
    assert from_folders["a"]["release"] == "25.06"
    for key in ("facts", "changes", "specs_must_change"):
        assert from_folders[key] == from_releases[key]


def test_a_release_against_itself_is_empty() -> None:
    result = CliRunner().invoke(main, ["diff", "25.03", "25.03"])
    assert result.exit_code == 0, result.output
    assert "nothing that feeds the specs differs" in result.output


def test_a_dryrun_against_itself_and_a_copy_with_one_option_changed(tmp_path: Path) -> None:
    a = _mini(tmp_path / "a")
    code, data = _diff(str(a), str(a))
    assert (code, data["changes"], data["specs_must_change"]) == (0, [], False)
    b = tmp_path / "b"
    shutil.copytree(a, b)
    _edit(b / "cmake_build", '"-DTRITON_ENABLE_GRPC:BOOL=OFF"', '"-DTRITON_ENABLE_GRPC:BOOL=ON"')
    code, data = _diff(str(a), str(b))
    assert code == 1
    assert data["changes"] == [{
        "section": "option", "scope": "core tritonserver", "item": "TRITON_ENABLE_GRPC",
        "change": "changed", "a": "OFF", "b": "ON", "feeds_specs": True,
    }]  # fmt: skip


def test_shared_dryrun_against_itself_and_one_change(dryrun_dir: Path, tmp_path: Path) -> None:
    a = dryrun_dir / "r25.10" / "container"
    code, data = _diff(str(a), str(a))
    assert (code, data["changes"]) == (0, [])
    b = tmp_path / "container"
    shutil.copytree(a, b)
    option = '"-DTRITON_ENABLE_TRACING:BOOL={}"'
    _edit(b / "cmake_build", option.format("ON"), option.format("OFF"))
    code, data = _diff(str(a), str(b))
    assert code == 1
    assert _changes(data) == {
        ("option", "core tritonserver", "TRITON_ENABLE_TRACING", "changed", "ON", "OFF")
    }


def test_what_no_spec_reads_is_ignored_or_not_counted(tmp_path: Path) -> None:
    """Moved lines, build.py's build folder and -j, COMMAND.txt: no change. The CI image: shown,
    but the specs need not change."""
    a = _mini(tmp_path / "a")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    _edit(b / "Dockerfile.buildbase", "\nFROM ", "\n# a comment moves every line below\n\nFROM ")
    for folder, build in ((a, "/tmp/tritonbuild"), (b, "/scratch/elsewhere")):
        prefix = f'"-DCMAKE_INSTALL_PREFIX:PATH={build}/install"'
        _edit(folder / "cmake_build", '"-DCMAKE_BUILD_TYPE=Release"',
              f'"-DCMAKE_BUILD_TYPE=Release" {prefix}')  # fmt: skip
    _edit(b / "cmake_build", "--config Release", "--config Release -j64")
    (b / "COMMAND.txt").write_text("python3 build.py --dryrun --build-dir=/scratch/elsewhere\n")
    code, data = _diff(str(a), str(b))
    assert (code, data["changes"]) == (0, [])
    (b / "Dockerfile.cibase").write_text(
        "FROM example.invalid/base:99.01\nRUN apt-get install -y ci-only-tool\n"
    )
    code, data = _diff(str(a), str(b))
    assert code == 0 and data["specs_must_change"] is False
    assert _changes(data) == {("apt", "cibase", "ci-only-tool", "added", None, "ci-only-tool")}
    assert data["changes"][0]["feeds_specs"] is False
    table = CliRunner().invoke(main, ["diff", str(a), str(b)], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "cibase (no spec reads it)" in table.output
    assert "nothing that feeds the specs differs (1 change in what no spec reads)" in table.output


def test_json_is_deterministic_and_sorted(tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "777"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-m", "specgen", "diff", "24.06", "26.08", "--format", "json"],
            env=env, cwd=tmp_path, capture_output=True, check=False,
        )  # fmt: skip
        assert run.returncode == 1, run.stderr
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1]
    data = json.loads(outputs[0])
    sections = ["fact", "recipe", "apt", "rpm", "pip", "download", "component", "option"]
    ranks = [sections.index(c["section"]) for c in data["changes"]]
    assert ranks == sorted(ranks)
    apt = [(c["scope"], c["item"]) for c in data["changes"] if c["section"] == "apt"]
    assert apt == sorted(apt, key=lambda s: (["buildbase", "runtime", "cibase"].index(s[0]), s[1]))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["99.99", "25.03"], "99.99: no embedded recipe for Triton 99.99"),
        (["25.03", "no/such/folder"], "no/such/folder: neither a release"),
        (["25.03", "{tmp}"], "{tmp}: no dry-run files in this folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(main, ["diff", *args])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1, result.output
    assert message.replace("{tmp}", str(tmp_path)) in result.output


def test_a_broken_dockerfile_names_its_file(tmp_path: Path) -> None:
    a = _mini(tmp_path / "a")
    (a / "Dockerfile.buildbase").write_bytes(b"FROM x\nRUN \xff\xfe apt-get install\n")
    result = CliRunner().invoke(main, ["diff", str(a), "25.03"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1, result.output
    assert "Dockerfile.buildbase" in result.output


def test_pip_names_are_normalised() -> None:
    assert pip_name("PyBind11[global]>=2.10") == "pybind11"
    assert pip_name("typing_extensions==4.1") == "typing-extensions"
    assert pip_name("cmake==4.0.3") == "cmake"


def test_every_release_fact_has_a_label() -> None:
    assert sorted(FACT_LABELS) == sorted(FACT_KEYS)
