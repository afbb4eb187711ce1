"""specgen graph: nodes and needs, order, levels, cycles, exports, and the command on dry-runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner, Result
from conftest import FIXTURES, REPO, require_tool

from specgen.cli.main import main
from specgen.errors import CycleError, InputError, SpecgenError
from specgen.graph import dependencies as G
from specgen.graph import formats as IO
from specgen.graph.knowledge import load_extra_deps, load_knowledge
from specgen.recipe.dryrun import load_recipe
from specgen.recipe.model import AptPackage, CMakeBuild, CMakeProject, Image, Origin, Recipe

TAGS = {
    "TRITON_COMMON_REPO_TAG": "r25.03",
    "TRITON_CORE_REPO_TAG": "r25.03",
    "TRITON_BACKEND_REPO_TAG": "r25.03",
}
ORG = "https://github.com/triton-inference-server"


def _core(gpu: bool) -> CMakeProject:
    on = "ON" if gpu else "OFF"
    options = {
        "TRITON_VERSION": "2.56.0",
        **TAGS,
        "TRITON_THIRD_PARTY_REPO_TAG": "r25.03",
        "TRITON_ENABLE_GPU": on,
        "TRITON_ENABLE_METRICS": "ON",
        "TRITON_ENABLE_METRICS_GPU": on,
        "TRITON_ENABLE_HTTP": "ON",
        "TRITON_ENABLE_GRPC": "ON",
    }
    origin = Origin("cmake_build", 14)
    return CMakeProject("tritonserver", "core", options, {}, "/workspace", origin)


def _component(name: str, kind: str, gpu: bool, line: int, **extra: str) -> CMakeProject:
    options = {**TAGS, "TRITON_ENABLE_GPU": "ON" if gpu else "OFF", **extra}
    repo = f"{ORG}/{name}_backend.git" if kind == "backend" else f"{ORG}/{name}_cache.git"
    return CMakeProject(name, kind, options, {}, "..", Origin("cmake_build", line), repo, "r25.03")


def _image(role: str, file: str, names: list[str], reverse: bool) -> Image:
    apt = [AptPackage(n, None, Origin(file, 8 + i)) for i, n in enumerate(names)]
    return Image(role=role, file=file, apt=apt[::-1] if reverse else apt)


def make_recipe(gpu: bool = True, reverse: bool = False) -> Recipe:
    """A small realistic r25.03 recipe; `reverse` lists everything in the opposite order."""
    if gpu:
        comps = [
            _component("python", "backend", gpu, 40),
            _component("onnxruntime", "backend", gpu, 70,
                       TRITON_ENABLE_ONNXRUNTIME_TENSORRT="ON",
                       TRITON_BUILD_ONNXRUNTIME_VERSION="1.21.0"),
            _component("tensorrt", "backend", gpu, 100),
            _component("identity", "backend", gpu, 130),
        ]  # fmt: skip
    else:
        comps = [
            _component("python", "backend", gpu, 40),
            _component("onnxruntime", "backend", gpu, 70,
                       TRITON_ENABLE_ONNXRUNTIME_TENSORRT="OFF"),
            _component("identity", "backend", gpu, 100),
            _component("local", "cache", gpu, 130),
        ]  # fmt: skip
    build = ["git", "libre2-dev", "libb64-dev", "python3-dev", "docker.io", "rapidjson-dev"]
    run = ["git", "libb64-0d", "libgomp1"]
    if gpu:
        build.append("datacenter-gpu-manager")
        run.append("datacenter-gpu-manager")
    if reverse:
        comps = comps[::-1]
    images = {
        "buildbase": _image("buildbase", "Dockerfile.buildbase", build, reverse),
        "runtime": _image("runtime", "Dockerfile", run, reverse),
    }
    if reverse:
        images = dict(reversed(images.items()))
    images["buildbase"].env["DCGM_VERSION"] = "3.3.6"
    return Recipe(
        triton_version="2.56.0",
        container_version="25.03",
        images=images,
        cmake=CMakeBuild("cmake_build", _core(gpu), comps),
        files=["Dockerfile", "Dockerfile.buildbase", "cmake_build"],
    )


def _before(order: list[str], a: str, b: str) -> bool:
    return order.index(a) < order.index(b)


def test_gpu_recipe_nodes_edges_and_order() -> None:
    g = G.build_graph(make_recipe(gpu=True))
    names = ("identity", "onnxruntime", "python", "tensorrt")
    backends = [f"tritonserver-backend-{b}" for b in names]
    for node in ["tritonserver", *backends, "cudnn", "tensorrt", "onnxruntime", "libb64",
                 "libevhtp", "prometheus-cpp", "dcgm", "dlpack"]:  # fmt: skip
        assert g.nodes[node]["kind"] == "build", node
    assert g.nodes["tritonserver"]["role"] == "core"
    assert g.nodes["tritonserver"]["repo_tags"]["third_party"] == "r25.03"
    assert g.nodes["tritonserver"]["repo_tags"]["server"] == "v2.56.0"
    assert g.nodes["tritonserver-backend-python"]["tag"] == "r25.03"
    assert g.nodes["onnxruntime"]["version"] == "1.21.0"
    assert g.nodes["dcgm"]["version"] == "3.3.6"
    assert g.nodes["libevhtp"]["tag"] == "r25.03"
    # what the brief names, as edges u -> v (u needs v)
    for u, v in [
        ("tensorrt", "cudnn"),
        ("tritonserver-backend-tensorrt", "tensorrt"),
        ("tritonserver-backend-onnxruntime", "tensorrt"),
        ("tritonserver-backend-onnxruntime", "onnxruntime"),
        ("onnxruntime", "cudnn"),
        ("tritonserver", "prometheus-cpp"),
        ("tritonserver", "dcgm"),
        ("tritonserver", "libevhtp"),
        ("tritonserver", "libb64"),
        ("tritonserver-backend-python", "dlpack"),
        *((b, "tritonserver") for b in backends),
    ]:
        assert g.has_edge(u, v), (u, v)
    assert g.edges["tritonserver-backend-python", "dlpack"]["kind"] == "build"
    assert g.edges["tritonserver-backend-python", "dlpack"]["needs"] == ["build"]
    assert g.edges["tritonserver", "libb64"]["needs"] == ["build", "run"]
    order = G.build_order(g)
    assert _before(order, "cudnn", "tensorrt")
    assert _before(order, "tensorrt", "tritonserver-backend-tensorrt")
    for b in backends:
        assert _before(order, "tritonserver", b)
    assert all(g.nodes[n]["kind"] == "build" for n in order)
    assert set(order) == {n for n, a in g.nodes(data=True) if a["kind"] == "build"}


def test_system_packages_are_external_leaves() -> None:
    g = G.build_graph(make_recipe(gpu=True))
    assert g.nodes["apt:libre2-dev"]["kind"] == "external"
    assert g.edges["tritonserver", "apt:libre2-dev"]["needs"] == ["build"]
    assert g.edges["tritonserver", "apt:libgomp1"]["needs"] == ["run"]
    assert g.edges["tritonserver", "apt:git"]["needs"] == ["build", "run"]
    assert g.nodes["apt:git"]["origins"] == ["Dockerfile:8", "Dockerfile.buildbase:8"]
    # container plumbing is dropped; apt names of packages we build point at them
    assert "apt:docker.io" not in g
    assert "apt:libb64-dev" not in g and "apt:datacenter-gpu-manager" not in g
    externals = [n for n, a in g.nodes(data=True) if a["kind"] == "external"]
    assert "cuda" in externals and all(g.out_degree(n) == 0 for n in externals)

    lean = G.build_graph(make_recipe(gpu=True), include_external=False)
    assert all(a["kind"] == "build" for _, a in lean.nodes(data=True))
    assert G.build_order(lean) == G.build_order(g)


def test_cpu_recipe_has_no_nvidia_packages() -> None:
    g = G.build_graph(make_recipe(gpu=False))
    for absent in ("cudnn", "tensorrt", "dcgm", "cuda", "tritonserver-backend-tensorrt"):
        assert absent not in g
    assert g.has_edge("tritonserver-backend-onnxruntime", "onnxruntime")
    assert g.has_edge("tritonserver-cache-local", "tritonserver")
    assert g.nodes["tritonserver-cache-local"]["role"] == "cache"


def test_levels_respect_every_edge() -> None:
    for gpu in (True, False):
        g = G.build_graph(make_recipe(gpu=gpu))
        lvls = G.levels(g)
        where = {n: i for i, names in enumerate(lvls) for n in names}
        assert sorted(where) == sorted(G.build_order(g))
        assert all(names == sorted(names) and names for names in lvls)
        for u, v in g.edges:
            if u in where and v in where:
                assert where[u] > where[v], (u, v)
        # nodes that need nothing buildable start at level 0
        assert "libb64" in lvls[0] and "tritonserver" in lvls[1]


def test_exports_are_deterministic() -> None:
    a = G.build_graph(make_recipe(gpu=True))
    b = G.build_graph(make_recipe(gpu=True))
    c = G.build_graph(make_recipe(gpu=True, reverse=True))
    assert IO.to_json(a) == IO.to_json(b) == IO.to_json(c)
    assert IO.to_dot(a) == IO.to_dot(b) == IO.to_dot(c)
    # a hand-built graph inserted in another order exports the same too
    shuffled = nx.DiGraph()
    shuffled.graph.update(a.graph)
    shuffled.add_nodes_from(reversed(list(a.nodes(data=True))))
    shuffled.add_edges_from(reversed(list(a.edges(data=True))))
    assert IO.to_json(shuffled) == IO.to_json(a)
    assert IO.to_dot(shuffled) == IO.to_dot(a)


def test_json_is_node_link_and_round_trips() -> None:
    g = G.build_graph(make_recipe(gpu=True))
    text = IO.to_json(g)
    assert text.endswith("}\n")
    data = json.loads(text)
    assert [n["id"] for n in data["nodes"]] == sorted(g.nodes)
    assert data["graph"]["build_order"] == G.build_order(g)
    assert data["graph"]["levels"] == G.levels(g)
    back = nx.node_link_graph(data, directed=True, multigraph=False, edges="edges")
    assert set(back.edges) == set(g.edges)
    assert back.nodes["tensorrt"]["kind"] == "build"


def test_cycle_from_extra_deps_names_it(tmp_path: Path) -> None:
    extra = tmp_path / "extra.toml"
    extra.write_text('[needs]\n"cudnn" = ["tritonserver-backend-tensorrt"]\n')
    with pytest.raises(CycleError) as info:
        G.build_graph(make_recipe(gpu=True), extra=load_extra_deps(extra))
    message = str(info.value)
    assert message.startswith("dependency cycle: cudnn -> ")
    assert message.endswith(" -> cudnn")
    for node in ("tritonserver-backend-tensorrt", "tensorrt"):
        assert node in info.value.cycle and node in message


def test_self_cycle_and_hand_built_cycle() -> None:
    with pytest.raises(CycleError, match=r"dependency cycle: x -> x$"):
        G.build_graph(make_recipe(gpu=False), extra={"build": {"x": ["x"]}})
    g = nx.DiGraph([("b", "c"), ("c", "a"), ("a", "b")])
    for node in g:
        g.nodes[node]["kind"] = "build"
    with pytest.raises(CycleError, match=r"^dependency cycle: a -> b -> c -> a$"):
        G.build_order(g)
    with pytest.raises(CycleError):
        G.levels(g)


def test_extra_deps_add_nodes_and_edges(tmp_path: Path) -> None:
    extra = tmp_path / "extra.toml"
    extra.write_text('[needs]\n"my-plugin" = ["tensorrt", "apt:libfoo-dev"]\n'
                     '[run_needs]\n"tritonserver" = ["my-plugin"]\n')  # fmt: skip
    deps = load_extra_deps(extra)
    assert deps == {"build": {"my-plugin": ["tensorrt", "apt:libfoo-dev"]},
                    "run": {"tritonserver": ["my-plugin"]}}  # fmt: skip
    g = G.build_graph(make_recipe(gpu=False), extra=deps)
    assert g.nodes["my-plugin"]["role"] == "extra"
    assert g.nodes["apt:libfoo-dev"]["kind"] == "external"
    # tensorrt was absent on CPU: asked for, it comes with its own needs
    assert g.has_edge("tensorrt", "cudnn")
    assert g.edges["tritonserver", "my-plugin"]["kind"] == "run"
    assert _before(G.build_order(g), "my-plugin", "tritonserver")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('[needs]\n"a" = ["b"\n', 2, "invalid TOML"),
        ('[needs]\n"a" = ["b",, ]\n"c" = []\n', 2, "invalid TOML"),
        ('[needs]\n"a" = ["b"]\n"c" = []\n', 3, "expected a list"),
        ('[needs]\n"a" = "b"\n', 2, "expected a list"),
        ('[needs]\n"a" = ["b"]\n[wants]\n"c" = ["d"]\n', 3, "unknown table [wants]"),
    ],
)
def test_malformed_extra_deps(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_extra_deps(path)
    assert info.value.path == str(path) and info.value.line == line
    assert fragment in str(info.value) and str(info.value).startswith(f"{path}:{line}: ")


def test_bad_knowledge_is_an_input_error(tmp_path: Path) -> None:
    source = load_knowledge()
    assert source.core_name == "tritonserver" and "cudnn" in source.packages
    bad = tmp_path / "components.toml"
    bad.write_text(
        '[system_packages]\nattach_to = "tritonserver"\n[core]\nname = "tritonserver"\n'
        'build = ["nosuch"]\n[component_defaults]\n'
    )
    with pytest.raises(InputError, match=r"unknown node.*nosuch"):
        load_knowledge(bad)


def test_dot_escapes_odd_names() -> None:
    odd = 'we"ird\\name\nx'
    g = nx.DiGraph()
    g.add_node(odd, kind="build", role="extra", label=odd)
    g.add_node("plain", kind="external", role="system", label="plain")
    g.add_edge(odd, "plain", kind="run", needs=["run"])
    dot = IO.to_dot(g)
    assert '"we\\"ird\\\\name\\nx" [label="we\\"ird\\\\name\\nx"' in dot
    assert '"we\\"ird\\\\name\\nx" -> "plain" [style="dashed"' in dot
    assert "\nx" not in dot.replace("\\nx", "")  # no raw newline inside a quoted id
    assert dot.startswith("// specgen graph") and dot.endswith("}\n")


def test_render_svg(tmp_path: Path) -> None:
    require_tool("dot")
    dot = IO.to_dot(G.build_graph(make_recipe(gpu=True)))
    out = IO.render(dot, tmp_path / "graph.svg")
    head = out.read_bytes()[:200].lstrip()
    assert head.startswith((b"<?xml", b"<svg"))
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]  # no temporary left
    odd = nx.DiGraph([('a"b', "c\\d")])
    IO.render(IO.to_dot(odd), tmp_path / "odd.svg")


def test_render_without_dot_names_the_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SpecgenError, match="Graphviz's `dot` is not on PATH"):
        IO.render("digraph {}", tmp_path / "g.svg")
    with pytest.raises(SpecgenError, match="unknown picture format"):
        IO.render("digraph {}", tmp_path / "g.gif")
    assert not (tmp_path / "g.svg").exists()


# --------------------------------------------------------------------------------------------
# `specgen graph` through the real parser: tests/fixtures/graph/gpu is a hand-written cmake_build
# (core 9.9.0 with GPU, HTTP and metrics; the tensorrt and identity backends at r99.01).

GPU_FIXTURE = FIXTURES / "graph" / "gpu"
FIXTURE_BACKENDS = ("tritonserver-backend-identity", "tritonserver-backend-tensorrt")


def graph_cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["graph", *args])


def test_cli_text_on_parsed_files() -> None:
    res = graph_cli(str(GPU_FIXTURE))
    assert res.exit_code == 0, res.output
    order = re.findall(r"^ +\d+\. (\S+)", res.stdout, re.MULTILINE)
    assert order == G.build_order(G.build_graph(load_recipe([GPU_FIXTURE])))
    assert "  6. tritonserver (9.9.0)\n" in res.stdout and "parallel levels:" in res.stdout
    assert _before(order, "cudnn", "tensorrt")
    assert _before(order, "tensorrt", "tritonserver-backend-tensorrt")
    assert all(_before(order, "tritonserver", b) for b in FIXTURE_BACKENDS)
    assert res.stderr == ""
    # without a path: the embedded default release
    res = graph_cli()
    assert res.exit_code == 0 and "tritonserver (2.56.0)" in res.stdout


def test_cli_json_and_no_external() -> None:
    res = graph_cli(str(GPU_FIXTURE), "--format", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes["cuda"]["kind"] == "external"
    assert nodes["tritonserver"]["version"] == "9.9.0"
    assert nodes["tritonserver"]["repo_tags"]["server"] == "v9.9.0"
    assert nodes["tritonserver-backend-tensorrt"]["tag"] == "r99.01"
    edges = {(e["source"], e["target"]): e["needs"] for e in data["edges"]}
    assert edges["tensorrt", "cudnn"] == ["build", "run"]
    assert edges["tritonserver-backend-tensorrt", "tensorrt"]
    assert "grpc" not in nodes  # TRITON_ENABLE_GRPC is OFF in the fixture
    res = graph_cli(str(GPU_FIXTURE), "--format", "json", "--no-external")
    lean = json.loads(res.stdout)
    assert "cuda" not in {n["id"] for n in lean["nodes"]}
    assert all(n["kind"] == "build" for n in lean["nodes"])
    assert lean["graph"]["build_order"] == data["graph"]["build_order"]


def test_cli_dot_to_file(tmp_path: Path) -> None:
    out = tmp_path / "g.dot"
    res = graph_cli(str(GPU_FIXTURE), "--format", "dot", "-o", str(out))
    assert res.exit_code == 0 and res.stdout == "" and res.stderr == ""
    assert out.read_text() == IO.to_dot(G.build_graph(load_recipe([GPU_FIXTURE])))
    assert [p.name for p in tmp_path.iterdir()] == ["g.dot"]  # no temporary left


def test_cli_extra_deps_cycle_is_one_line_exit_2(tmp_path: Path) -> None:
    extra = tmp_path / "cycle.toml"
    extra.write_text('[needs]\n"tritonserver" = ["tritonserver-backend-identity"]\n')
    out = tmp_path / "g.json"
    res = graph_cli(str(GPU_FIXTURE), "--extra-deps", str(extra), "-o", str(out))
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr == (
        "specgen: error: dependency cycle: "
        "tritonserver -> tritonserver-backend-identity -> tritonserver\n"
    )
    assert not out.exists()


def test_cli_render(tmp_path: Path) -> None:
    res = graph_cli(str(GPU_FIXTURE), "--render", str(tmp_path / "g.txt"))
    assert res.exit_code == 2 and "--render" in res.stderr
    require_tool("dot")
    picture = tmp_path / "g.svg"
    res = graph_cli(str(GPU_FIXTURE), "--no-external", "--render", str(picture))
    assert res.exit_code == 0, res.output
    assert res.stderr == f"specgen: drew {picture}\n"
    svg = picture.read_text()
    assert svg.lstrip().startswith(("<?xml", "<svg"))
    assert "tritonserver&#45;backend&#45;tensorrt" in svg  # graphviz escapes "-"


def test_shared_r2503_container_order(dryrun_dir: Path) -> None:
    """The real r25.03 dry-run: NVIDIA libraries before the TensorRT backend, core first."""
    gpu_dir = dryrun_dir / "r25.03" / "container"
    cpu_dir = dryrun_dir / "r25.03" / "cpu-only-container"
    for folder in (gpu_dir, cpu_dir):
        if not folder.is_dir():
            pytest.skip(f"{folder} not found: r25.03 dry-run reference data absent")
    g = G.build_graph(load_recipe([gpu_dir]))
    order = G.build_order(g)
    for need in ("cudnn", "tensorrt"):
        assert _before(order, need, "tritonserver-backend-tensorrt"), need
    backends = [n for n in order if g.nodes[n]["role"] == "backend"]
    assert "tritonserver-backend-tensorrt" in backends and len(backends) >= 4
    for backend in backends:
        assert _before(order, "tritonserver", backend), backend
    cpu = G.build_graph(load_recipe([cpu_dir]))
    assert "cudnn" not in cpu and "tensorrt" not in cpu
    assert "tritonserver-backend-tensorrt" not in cpu and "tritonserver" in cpu


def test_exports_identical_across_processes() -> None:
    """Set order varies with the hash seed between processes: the files must not."""
    code = (
        "import sys; sys.path[:0] = ['tests', 'tests/graph']; from test_graph import make_recipe; "
        "from specgen.graph import dependencies as G, formats as IO; "
        "g = G.build_graph(make_recipe()); "
        "sys.stdout.write(IO.to_json(g) + IO.to_dot(g))"
    )
    outs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        res = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, check=True
        )
        outs.append(res.stdout)
    assert outs[0] == outs[1] and outs[0]
