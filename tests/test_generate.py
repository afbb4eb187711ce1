"""`specgen generate`: committed specs equal a fresh generation, output is deterministic,
hostile values never reach a spec, and a failed generation leaves the old specs alone."""

from __future__ import annotations

import dataclasses
import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from specgen import speclang
from specgen.cli import main
from specgen.dryrun import default_recipe
from specgen.generate import generate, write_generation
from specgen.release import load_release

ROOT = Path(__file__).resolve().parents[1]


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_committed_specs_equal_a_fresh_generation(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["generate", "-o", str(tmp_path / "specs")])
    assert result.exit_code == 0, result.output
    fresh, committed = _tree(tmp_path / "specs"), _tree(ROOT / "specs")
    assert sorted(fresh) == sorted(committed)
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert changed == [], f"regenerate with `specgen generate`: {changed} differ"
    lock = tmp_path / "sources" / "sources.lock.json"
    assert filecmp.cmp(lock, ROOT / "sources" / "sources.lock.json", shallow=False)


def test_generation_is_identical_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "4242"):
        out = tmp_path / seed / "specs"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-m", "specgen.cli", "generate", "-o", str(out)],
            check=True, env=env, cwd=tmp_path, capture_output=True,
        )  # fmt: skip
        outputs.append(_tree(out))
    assert outputs[0] == outputs[1]


def test_cudnn_spec_follows_nvidia_layout_and_azure_conventions() -> None:
    spec = (ROOT / "specs" / "cudnn" / "cudnn.spec").read_text()
    assert "Version:        9.8.0.87\n" in spec
    assert "Release:        1%{?dist}\n" in spec
    assert "Vendor:         Microsoft Corporation\n" in spec
    assert "Provides:       libcudnn9-cuda-12 = %{version}-%{release}\n" in spec
    assert "Provides:       libcudnn9-devel-cuda-12 = %{version}-%{release}\n" in spec
    # dlopened by cuDNN, so explicit; the driver's libcuda is never required
    assert "Requires:       cuda-nvrtc-12-8\n" in spec
    assert "Requires:       libcublas-12-8\n" in spec
    assert "%global __requires_exclude ^libcuda\\\\.so.*$\n" in spec
    assert "%global debug_package %{nil}\n" in spec
    assert "%ifarch aarch64\ntar -xf %{SOURCE1} --strip-components=1\n%endif" in spec
    assert "cp -a lib/libcudnn*.so* %{buildroot}%{_libdir}/" in spec
    assert "- License verified.\n" in spec
    assert "/usr/lib64" not in spec and "/usr/local" not in spec


def test_signatures_carry_the_manifest_hashes() -> None:
    sigs = json.loads((ROOT / "specs" / "cudnn" / "cudnn.signatures.json").read_text())
    assert sigs == {
        "Signatures": {
            "cudnn-linux-sbsa-9.8.0.87_cuda12-archive.tar.xz":
                "22f62f474f0cbb35bef540adb1d841da63c9cd3df76b3c4e43010f436b2cd85c",
            "cudnn-linux-x86_64-9.8.0.87_cuda12-archive.tar.xz":
                "321b9b33bb1287404d93d5672d352f16feabc4b220ac6ae0b86e4b27f257dcf4",
        }
    }  # fmt: skip


def test_tensorrt_has_a_package_per_library_and_drops_the_windows_resource() -> None:
    spec = (ROOT / "specs" / "tensorrt" / "tensorrt.spec").read_text()
    for sub in ("libnvinfer10", "libnvinfer-plugin10", "libnvonnxparsers10", "libnvinfer-lean10",
                "libnvinfer-dispatch10", "libnvinfer-vc-plugin10", "libnvinfer-bin"):  # fmt: skip
        assert f"\n%package -n {sub}\n" in spec
        assert f"\n%files -n {sub}\n" in spec
    assert "\n%package -n python3-tensorrt\n" in spec
    assert "\n%package devel\n" in spec
    assert "rm -f %{buildroot}%{_libdir}/libnvinfer_builder_resource_win.so*" in spec
    assert "stubs" not in spec


def test_r24_06_generates_with_unpinned_sources(dryrun_dir: Path, tmp_path: Path) -> None:
    folder = dryrun_dir / "r24.06" / "container"
    out = tmp_path / "specs"
    result = CliRunner().invoke(main, ["generate", "--from", str(folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    spec = (out / "cudnn" / "cudnn.spec").read_text()
    assert "Version:        9.1.0.70\n" in spec
    assert "# unpinned: cudnn-linux-x86_64-9.1.0.70_cuda12-archive.tar.xz\n" in spec
    assert json.loads((out / "cudnn" / "cudnn.signatures.json").read_text()) == {"Signatures": {}}
    lock = json.loads((tmp_path / "sources" / "sources.lock.json").read_text())
    assert lock["release"] == "24.06"
    assert all(s["sha256"] is None for s in lock["sources"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cudnn", "9.8.0.87%{lua:os.execute('id')}"),
        ("cudnn", "9.8.0\nRequires: evil"),
        ("tensorrt", "10.9;rm -rf /"),
        ("tensorrt", "10.9-1"),
    ],
)
def test_hostile_version_is_refused_naming_the_package(field: str, value: str) -> None:
    release = dataclasses.replace(load_release("25.03"), **{field: value})
    with pytest.raises(speclang.SpecValueError) as err:
        generate(default_recipe(), release)
    assert f"package {field}:" in str(err.value)
    assert "not a valid RPM version" in str(err.value)


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (speclang.name, "foo;rm -rf ~"),
        (speclang.name, "foo%{lua:x}"),
        (speclang.name, "foo\nRequires: bar"),
        (speclang.name, "$(id)"),
        (speclang.version, "1.0 2"),
        (speclang.dependency, "foo >= %{lua:x}"),
        (speclang.dependency, "foo; bar"),
        (speclang.dependency, "foo\nbar"),
        (speclang.url, "https://x.org/a b.tar.gz"),
        (speclang.url, "https://x.org/%{lua:x}.tar.gz"),
        (speclang.url, "https://x.org/a`id`.tar.gz"),
        (speclang.line, "two\nlines"),
        (speclang.path, "/usr/lib/$(id)"),
    ],
)
def test_speclang_refuses_macros_shell_and_newlines(check: object, value: str) -> None:
    with pytest.raises(speclang.SpecValueError):
        check("pkg", "field", value)  # type: ignore[operator]


def test_speclang_escapes_percent_in_free_text() -> None:
    assert speclang.line("pkg", "Summary", "100% fast") == "100%% fast"
    assert speclang.text("pkg", "d", "uses %{x}\nmore") == "uses %%{x}\nmore"
    assert speclang.cmake_option("pkg", "TRITON_ENABLE_GPU", "ON") == "-DTRITON_ENABLE_GPU=ON"
    with pytest.raises(speclang.SpecValueError):
        speclang.cmake_option("pkg", "X", "ON; curl evil | sh")


def test_failed_generation_leaves_previous_specs_untouched(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    write_generation(generate(default_recipe(), load_release("25.03")), out, None)
    before = _tree(out)
    result = CliRunner().invoke(main, ["generate", "-o", str(out), "--release", "99.99"])
    assert result.exit_code == 2
    assert "no release facts for Triton 99.99" in result.output
    assert _tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["specs"]
