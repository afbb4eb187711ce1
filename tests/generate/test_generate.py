"""`specgen generate`: committed specs equal a fresh generation, output is deterministic,
hostile values never reach a spec, and a failed generation leaves the old specs alone."""

from __future__ import annotations

import dataclasses
import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, require_tool

from specgen.cli.main import main
from specgen.errors import SpecgenError
from specgen.generate import speclang
from specgen.generate.generation import generate, write_generation
from specgen.generate.release import load_release
from specgen.recipe.dryrun import default_recipe

ROOT = Path(__file__).resolve().parents[2]


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
            [sys.executable, "-m", "specgen", "generate", "-o", str(out)],
            check=True, env=env, cwd=tmp_path, capture_output=True,
        )  # fmt: skip
        outputs.append(_tree(out))
    assert "tritonserver/tritonserver.spec" in outputs[0]
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
    # no manifest or pin for 24.06's versions: only libb64 (pinned in its own data) is known
    pinned = {s["file"] for s in lock["sources"] if s["sha256"] is not None}
    assert pinned == {"libb64-1.2.1.zip"}


def test_r25_10_writes_the_newer_cmake_its_sources_need(dryrun_dir: Path, tmp_path: Path) -> None:
    """r25.10 pip-installs cmake==4.0.3 (its CMakeLists need 3.31.8; Azure Linux has 3.30.3):
    specgen writes a cmake 4.0.3 spec, pinned by its data, and tritonserver builds with it.
    r25.03 (Kitware's cmake 3.28.3, which Azure Linux's satisfies) gets no cmake spec."""
    out = tmp_path / "specs"
    folder = dryrun_dir / "r25.10" / "container"
    args = ["generate", "--from", str(folder), "-o", str(out), *STAND_IN_FACTS]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    cmake = _spec(out, "cmake")
    assert "Version:        4.0.3\n" in cmake
    assert "Source1:        macros.cmake\n" in cmake
    assert "%{_rpmmacrodir}/macros.cmake\n" in cmake
    sigs = json.loads((out / "cmake" / "cmake.signatures.json").read_text())["Signatures"]
    assert sigs["cmake-4.0.3.tar.gz"].startswith("8d3537b7b773")
    assert "%cmake " in (out / "cmake" / "macros.cmake").read_text()
    assert "BuildRequires:  cmake >= 4.0.3\n" in _spec(out, "tritonserver")
    order = json.loads((out / "build-order.json").read_text())["build_order"]
    assert order.index("cmake") < order.index("tritonserver")
    assert not (Path(REPO) / "specs" / "cmake").exists()


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
    assert speclang.text("pkg", "d", "uses %{x}\nmore") == "uses %%{x} more"
    # paragraphs are kept and re-flowed to 79 columns (rpmlint's description-line-too-long)
    flowed = speclang.text("pkg", "d", "word " * 40 + "\n\nnext")
    assert all(len(line) <= 79 for line in flowed.splitlines())
    assert flowed.endswith("\n\nnext")
    assert speclang.cmake_option("pkg", "TRITON_ENABLE_GPU", "ON") == "-DTRITON_ENABLE_GPU=ON"
    with pytest.raises(speclang.SpecValueError):
        speclang.cmake_option("pkg", "X", "ON; curl evil | sh")


def test_failed_generation_leaves_previous_specs_untouched(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    write_generation(generate(default_recipe(), load_release("25.03")), out, None)
    before = _tree(out)
    result = CliRunner().invoke(main, ["generate", "-o", str(out), "--release", "99.99"])
    assert result.exit_code == 2
    assert "no embedded recipe for Triton 99.99" in result.output
    assert _tree(out) == before
    # A known release whose facts file lacks facts stops before writing, naming each --fact.
    result = CliRunner().invoke(main, ["generate", "-o", str(out), "--release", "25.10"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1, result.output
    assert "Triton 25.10: cudnn, tensorrt not known" in result.output
    assert "--fact cudnn=VERSION --fact tensorrt=VERSION" in result.output
    assert _tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["specs"]


# Versions a test supplies with --fact where a release's facts file has none: any real pair.
STAND_IN_FACTS = ["--fact", "cudnn=9.8.0.87", "--fact", "tensorrt=10.9.0.34"]

SPECS = ["cudnn", "dlpack", "libb64", "libevhtp", "onnxruntime", "prometheus-cpp", "tensorrt",
         "tritonserver"]  # fmt: skip


def test_default_release_has_a_spec_for_every_missing_dependency() -> None:
    folders = sorted(p.name for p in (ROOT / "specs").iterdir() if p.is_dir())
    assert folders == SPECS
    order = json.loads((ROOT / "specs" / "build-order.json").read_text())["build_order"]
    assert order[-1] == "tritonserver"
    assert order.index("tensorrt") < order.index("onnxruntime")


def test_every_committed_spec_passes_lint_and_rpmspec() -> None:
    require_tool("rpmspec")
    specs = [str(ROOT / "specs" / n / f"{n}.spec") for n in SPECS]
    result = CliRunner().invoke(main, ["lint", *specs])
    assert result.exit_code == 0, result.output
    assert f"{len(SPECS)} spec(s): 0 error(s)" in result.output


def test_srpms_of_committed_specs_have_no_rpmlint_errors() -> None:
    require_tool("rpmspec", "rpmbuild", "rpmlint")
    result = CliRunner().invoke(main, ["lint", "--rpmlint", str(ROOT / "specs")])
    assert result.exit_code == 0, result.output
    assert " E: " not in result.output


def _azure_names() -> set[str]:
    from specgen.mapping.snapshot import load_snapshot

    index = load_snapshot()
    return set(index.packages) | {c for p in index.packages for c in index.whatprovides(p)}


def test_every_dependency_is_azure_linux_cuda_or_one_of_ours() -> None:
    from specgen.generate.cudaprovider import cuda_provider
    from specgen.mapping.snapshot import load_snapshot

    release = load_release("25.03")
    gen = generate(default_recipe(), release)
    ours = set().union(*(p.provided_names() for p in gen.packages))
    cuda = cuda_provider(release, from_redist=False)
    nvidia = {cuda.runtime(k) for k in cuda.components} | {cuda.devel(k) for k in cuda.components}
    index = load_snapshot()
    missing = []
    for pkg in gen.packages:
        for dep in pkg.needed_names():
            name = dep.replace("%{?_isa}", "").replace("%{name}", pkg.name)
            if name in ours or name in nvidia or index.has(name) or index.whatprovides(name):
                continue
            missing.append(f"{pkg.name}: {dep}")
    assert missing == []


def _spec(out: Path, name: str = "tritonserver") -> str:
    return (out / name / f"{name}.spec").read_text()


def test_tritonserver_follows_the_recipe_and_the_offline_build_notes() -> None:
    spec = _spec(ROOT / "specs")
    # the recipe's backends each get a switch, a Source and a subpackage
    for be in ("identity", "onnxruntime", "python", "tensorrt"):
        assert f"%bcond backend_{be} 1\n" in spec
        assert f"\n%package backend-{be}\n" in spec
        assert f"triton_project {be} triton/{be}_backend" in spec
    # DCGM has no spec yet: GPU metrics follow a switch that is off, and say why
    assert "%bcond dcgm 0\n" in spec and "no spec for dcgm yet" in spec
    assert "-DTRITON_ENABLE_METRICS_GPU=%{?with_dcgm:ON}%{!?with_dcgm:OFF}" in spec
    # offline: no superbuild, every FetchContent pointed at a local tree
    assert "-DFETCHCONTENT_FULLY_DISCONNECTED=ON" in spec
    assert '-DFETCHCONTENT_SOURCE_DIR_REPO-COMMON="$PWD/triton/common"' in spec
    assert "FETCHCONTENT_SOURCE_DIR_DLPACK=" in spec and "FETCHCONTENT_SOURCE_DIR_PYBIND11=" in spec
    assert "proto-library SHARED" in spec  # the shared-protobuf trap
    assert "-DBUILD_SHARED_LIBS=OFF" in spec  # the %cmake trap
    assert "s|/opt/tritonserver/|%{_libdir}/tritonserver/|g" in spec
    # FHS paths and the service user of the runtime image
    assert "%{_bindir}/tritonserver\n" in spec
    assert "%{_libdir}/tritonserver/backends/python/\n" in spec
    assert "useradd -r -g triton-server" in spec
    assert "Source20:       tritonserver.service\n" in spec
    # the runtime image's libb64 becomes a Requires on our spec; its build tools and what
    # nothing built links (libgomp) do not
    assert "Requires:       libb64\n" in spec
    assert "libgomp" not in spec
    assert "Requires:       clang" not in spec and "BuildRequires:  git\n" not in spec
    # libevhtp's tracing fields: a switch following the recipe's TRITON_ENABLE_TRACING, and the
    # server's tracing build requires a libevhtp built that way
    libevhtp = _spec(ROOT / "specs", "libevhtp")
    assert "%bcond tracing 1\n" in libevhtp
    assert "-DEVHTP_TRITON_ENABLE_TRACING=%{?with_tracing:ON}%{!?with_tracing:OFF}" in libevhtp
    assert "%bcond tracing 1\n" in spec
    assert "%if %{with tracing}\nBuildRequires:  opentelemetry-cpp-devel\n" in spec
    assert "BuildRequires:  libevhtp(triton-tracing) = 1\n" in spec


def test_tritonserver_switches_evaluate_with_rpmspec() -> None:
    require_tool("rpmspec")
    from specgen.build.rpmmacros import rpm_args

    spec = str(ROOT / "specs" / "tritonserver" / "tritonserver.spec")

    def packages(*switches: str) -> set[str]:
        args = rpm_args("rpmspec", "-q", "--qf", "%{NAME}\\n", *switches, spec)
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        return set(out.split())

    assert "tritonserver-backend-tensorrt" in packages()
    cpu = packages("--without", "gpu")
    assert "tritonserver-backend-tensorrt" not in cpu
    assert {"tritonserver", "tritonserver-backend-python"} <= cpu
    assert "tritonserver-backend-python" not in packages("--without", "backend_python")


def test_cpu_only_recipe_turns_the_gpu_switch_off(dryrun_dir: Path, tmp_path: Path) -> None:
    folder = dryrun_dir / "r25.03" / "cpu-only-container"
    out = tmp_path / "specs"
    result = CliRunner().invoke(main, ["generate", "--from", str(folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    spec = _spec(out)
    assert "%bcond gpu 0\n" in spec
    assert "TRITON_ENABLE_GPU=OFF" in spec


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        ("backend", "identity;curl evil|sh", "backend name"),
        ("backend", "identity%{lua:os.exit()}", "backend name"),
        ("option", "ON $(curl evil)", "CMake option TRITON_ENABLE_LOGGING"),
        ("option", "ON\n%post\nrm -rf /", "CMake option TRITON_ENABLE_LOGGING"),
        ("tag", "r25.03;id", "tag"),
    ],
)
def test_hostile_recipe_values_are_refused_naming_tritonserver(
    where: str, value: str, message: str
) -> None:
    recipe = default_recipe()
    assert recipe.cmake is not None and recipe.cmake.core is not None
    if where == "backend":
        first = recipe.cmake.components[0]
        recipe.cmake.components[0] = dataclasses.replace(first, name=value)
    elif where == "option":
        recipe.cmake.core.options["TRITON_ENABLE_LOGGING"] = value
    else:
        recipe.cmake.core.options["TRITON_COMMON_REPO_TAG"] = value
    with pytest.raises(speclang.SpecValueError) as err:
        generate(recipe, load_release("25.03"))
    assert str(err.value).startswith("package tritonserver:")
    assert message in str(err.value)


def test_cuda_from_redist_pins_every_component_from_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    result = CliRunner().invoke(main, ["generate", "--cuda-from-redist", "-o", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("cuda-cudart", "cuda-nvrtc", "libcublas", "cuda-nvcc", "cuda-cccl", "cuda-nvml"):
        assert (out / name / f"{name}.spec").exists()
    sigs = json.loads((out / "libcublas" / "libcublas.signatures.json").read_text())
    assert sigs["Signatures"]["libcublas-linux-x86_64-12.8.4.1-archive.tar.xz"] == (
        "21718957c2cf000bacd69d36c95708a2319199e39e056f8b4f0f68e3b9f323bb"
    )
    libcublas = _spec(out, "libcublas")
    assert "Version:        12.8.4.1\n" in libcublas
    assert "%{_libdir}/libcublasLt.so.*\n" in libcublas
    # the same dependency now names our spec, and the order follows it
    assert "Requires:       cuda-nvrtc\n" in _spec(out, "cudnn")
    order = json.loads((out / "build-order.json").read_text())["build_order"]
    assert order.index("libcublas") < order.index("cudnn") < order.index("tritonserver")
    triton = _spec(out, "tritonserver")
    assert "%global cuda_home %{_libdir}/cuda\n" in triton
    assert "BuildRequires:  cuda-nvcc\n" in triton
    lint = CliRunner().invoke(main, ["lint", "--no-rpmspec", *map(str, out.glob("*/*.spec"))])
    assert lint.exit_code == 0, lint.output


def test_cuda_from_redist_without_a_shipped_manifest_names_what_to_add(tmp_path: Path) -> None:
    """CUDA 13's redist manifests are not shipped: one line says which file is missing and where it
    goes, and nothing is written."""
    out = tmp_path / "specs"
    facts = ["--fact", "cudnn=9.14.0.64", "--fact", "tensorrt=10.13.3.9"]
    facts += ["--fact", "date=2025-10-28"]
    args = ["generate", "--release", "25.10", *facts, "--cuda-from-redist", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "CUDA 13.0.2" in result.output
    assert "redistrib_13.0.2.json" in result.output
    assert "specgen/data/releases/25.10.toml" in result.output
    assert not out.exists()


def test_every_shared_variant_generates_lint_clean_specs(dryrun_dir: Path, tmp_path: Path) -> None:
    """The whole matrix: each release x each variant. Where the facts are incomplete, generation
    stops naming exactly the missing facts; given them, it writes lint-clean specs."""
    from specgen.cli.lint import lint_file
    from specgen.generate.release import facts_for, parse_fact_overrides
    from specgen.recipe.dryrun import load_recipe

    stand_ins = parse_fact_overrides(STAND_IN_FACTS[1::2])
    variants = sorted(p for p in dryrun_dir.glob("*/*") if p.is_dir())
    assert len(variants) >= 40
    completed = 0
    for folder in variants:
        recipe = load_recipe([folder])
        known = facts_for(recipe)
        missing = known.missing()
        if missing:
            with pytest.raises(SpecgenError, match=f"{', '.join(missing)} not known"):
                known.complete()
        else:
            completed += 1
        release = known.complete({k: stand_ins[k] for k in missing})
        out = tmp_path / folder.parent.name / folder.name
        write_generation(generate(recipe, release), out, None)
        assert (out / "tritonserver" / "tritonserver.spec").exists(), folder
        assert f"Version:        {recipe.triton_version}\n" in _spec(out, "tritonserver")
        for spec in out.glob("*/*.spec"):
            errors = [f for f in lint_file(spec, False) if not f.warning]
            assert errors == [], f"{folder}: {errors}"
    assert completed >= 10  # 24.06 and 25.03, every variant


def test_release_and_from_give_the_same_specs(dryrun_dir: Path, tmp_path: Path) -> None:
    """`generate --release R` (the embedded recipe) equals `generate --from <R's container>`."""
    for folder in sorted(dryrun_dir.glob("*/container")):
        name = folder.parent.name.removeprefix("r")
        by_release, by_dryrun = tmp_path / name / "release", tmp_path / name / "from"
        common = ["--lock", str(tmp_path / name / "lock.json"), *STAND_IN_FACTS]
        for out, how in ((by_release, ["--release", name]), (by_dryrun, ["--from", str(folder)])):
            result = CliRunner().invoke(main, ["generate", *how, "-o", str(out), *common])
            assert result.exit_code == 0, (name, result.output)
        assert _tree(by_release) == _tree(by_dryrun), name


def test_facts_files_agree_with_what_the_dry_runs_state(dryrun_dir: Path) -> None:
    """Triton, ONNX Runtime, OpenVINO and DCGM versions: the facts file and build.py's output."""
    from specgen.generate.release import load_release_facts
    from specgen.recipe.dryrun import load_recipe
    from specgen.recipe.facts import recipe_facts

    checked = 0
    for folder in sorted(p for p in dryrun_dir.glob("*/*") if p.is_dir()):
        stated = recipe_facts(load_recipe([folder]))
        known = load_release_facts(folder.parent.name.removeprefix("r"))
        assert known is not None, folder
        for fact, value in stated.items():
            assert known.facts.get(fact) == value, (folder, fact)
            checked += 1
    assert checked > 150


def test_a_release_without_a_facts_file_takes_what_the_dry_run_says(
    dryrun_dir: Path, tmp_path: Path
) -> None:
    """A new month: copy r26.06's dry-run and call it 26.11 (no facts file, no embedded recipe):
    the one-line error lists every fact the dry-run does not state; --fact completes it."""
    folder = tmp_path / "r26.11"
    shutil.copytree(dryrun_dir / "r26.06" / "no-container", folder)
    build = folder / "cmake_build"
    build.write_text(build.read_text().replace("r26.06", "r26.11"))
    out = tmp_path / "specs"
    result = CliRunner().invoke(main, ["generate", "--from", str(folder), "-o", str(out)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1, result.output
    assert "Triton 26.11: cuda, cudnn, tensorrt, dcgm, python, date not known" in result.output
    facts = [*STAND_IN_FACTS, "--fact", "cuda=13.3.0", "--fact", "dcgm=4.5.3",
             "--fact", "python=3.12", "--fact", "date=2026-11-20"]  # fmt: skip
    result = CliRunner().invoke(main, ["generate", "--from", str(folder), "-o", str(out), *facts])
    assert result.exit_code == 0, result.output
    triton = _spec(out, "tritonserver")
    assert "Version:        2.70.0\n" in triton and "* Fri Nov 20 2026 " in triton
    assert "Version:        1.24.4\n" in _spec(out, "onnxruntime")  # from the dry-run


def test_fact_override_packages_another_cudnn(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    args = ["generate", "--fact", "cudnn=9.19.0.56", "--fact", "cuda=13.0.2", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    spec = _spec(out, "cudnn")
    assert "Version:        9.19.0.56\n" in spec
    assert "# unpinned: cudnn-linux-x86_64-9.19.0.56_cuda13-archive.tar.xz\n" in spec
    assert "Provides:       libcudnn9-cuda-13 = %{version}-%{release}\n" in spec
    assert "Requires:       cuda-nvrtc-13-0\n" in spec
    bad = CliRunner().invoke(main, ["generate", "--fact", "cudnn=9.19%{x}", "-o", str(out)])
    assert bad.exit_code == 2 and "not a version" in bad.output
    unknown = CliRunner().invoke(main, ["generate", "--fact", "glibc=2.38", "-o", str(out)])
    assert unknown.exit_code == 2 and "not a release fact" in unknown.output


def test_a_broken_package_data_file_is_an_error_not_a_missing_spec(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from specgen.errors import InputError
    from specgen.generate import generation as generate_module

    def broken(name: str) -> dict:
        raise InputError(f"specgen/data/packages/{name}.toml", "Invalid value (at line 3)")

    monkeypatch.setattr(generate_module, "load_package_data", broken)
    with pytest.raises(InputError, match=r"cudnn\.toml: Invalid value"):
        generate(default_recipe(), load_release("25.03"))
