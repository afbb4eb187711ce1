"""Serving models with tritonserver RPMs built by specgen: install them into a scratch root,
start the server there on 127.0.0.1, and check its answers over HTTP/REST and gRPC.

Shared by tests/build/test_triton_serve.py (any repository of built RPMs) and
tests/build/test_triton_build.py (the RPMs it has just built). A failure's message carries the
server's own errors, so a broken spec shows why the server did not serve.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

TRITON_VERSION = "2.56.0"
# tritonserver and the two backends served here, and the libraries specgen builds that the server
# links (the rest -- protobuf, gRPC, libevent, re2, boost, python3 -- come from the distribution).
PACKAGES = (
    "tritonserver",
    "tritonserver-backend-identity",
    "tritonserver-backend-python",
    "libb64",
    "prometheus-cpp",
)
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60
# Lines of the server's log worth putting into a failure message: glog errors and fatals,
# protobuf's and the C++ runtime's last words.
_ERROR_LINE = re.compile(r"^[EF]\d{4} |ERROR|FATAL|terminate called|what\(\):|error while loading")

IDENTITY_CONFIG = """\
name: "identity_fp32"
backend: "identity"
max_batch_size: 0
input [ { name: "INPUT0", data_type: TYPE_FP32, dims: [ 4 ] } ]
output [ { name: "OUTPUT0", data_type: TYPE_FP32, dims: [ 4 ] } ]
instance_group [ { kind: KIND_CPU, count: 1 } ]
"""

PYTHON_CONFIG = """\
name: "double_py"
backend: "python"
max_batch_size: 0
input [ { name: "INPUT0", data_type: TYPE_INT32, dims: [ 4 ] } ]
output [ { name: "OUTPUT0", data_type: TYPE_INT32, dims: [ 4 ] } ]
instance_group [ { kind: KIND_CPU, count: 1 } ]
"""

PYTHON_MODEL = """\
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            out = pb_utils.Tensor("OUTPUT0", (2 * x).astype(np.int32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses
"""


@dataclass
class ServeTimes:
    """Seconds from start to ready, for the checks, and from SIGTERM to exit."""

    ready: float = 0.0
    checks: float = 0.0
    stop: float = 0.0


def find_rpm(repo: Path, name: str) -> Path | None:
    """The binary RPM of package `name` (newest if several): NAME-VERSION-RELEASE.ARCH.rpm."""
    pattern = re.compile(re.escape(name) + r"-[^-]+-[^-]+\.(x86_64|aarch64|noarch)\.rpm")
    found = [p for p in repo.glob("*/*.rpm") if pattern.fullmatch(p.name)]
    return max(found, key=lambda p: p.stat().st_mtime_ns) if found else None


def skip_without_system_python() -> None:
    """tritonserver-backend-python Requires python3 and python3-numpy; its stub embeds the
    system python3 and the model imports numpy."""
    python3 = shutil.which("python3", path="/usr/bin:/bin")
    if python3 is None or subprocess.run([python3, "-c", "import numpy"],
                                         capture_output=True).returncode != 0:  # fmt: skip
        pytest.skip("the python backend needs the system python3 with numpy (python3-numpy)")


def install(repo: Path, root: Path) -> None:
    """The runtime RPMs into a scratch root: no scriptlets (useradd, systemd), no dependency
    check, and no rpm plugins (selinux, systemd-inhibit)."""
    rpms = {name: find_rpm(repo, name) for name in PACKAGES}
    missing = [name for name, path in rpms.items() if path is None]
    assert not missing, f"{repo} has no RPM of {', '.join(missing)}"
    root.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["rpm", "--root", str(root), "--nodeps", "--noscripts", "--noplugins", "-i",
         *(str(p) for p in rpms.values())],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"rpm -i failed: {done.stdout}{done.stderr}"


def _write_models(models: Path) -> None:
    (models / "identity_fp32" / "1").mkdir(parents=True)
    (models / "identity_fp32" / "config.pbtxt").write_text(IDENTITY_CONFIG)
    (models / "double_py" / "1").mkdir(parents=True)
    (models / "double_py" / "config.pbtxt").write_text(PYTHON_CONFIG)
    (models / "double_py" / "1" / "model.py").write_text(PYTHON_MODEL)


def _free_ports(count: int) -> list[int]:
    """Ports the kernel hands out for 127.0.0.1:0, all bound at once so they differ."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def server_errors(log: Path) -> str:
    """The server's error lines (or its last lines when none looks like an error), joined."""
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if _ERROR_LINE.search(ln)] or lines[-8:]
    return " | ".join(errors[-12:]) or "(the log is empty)"


def _infer_http(http: requests.Session, base: str, model: str, datatype: str, data: list) -> dict:
    body = {"inputs": [{"name": "INPUT0", "datatype": datatype, "shape": [4], "data": data}]}
    r = http.post(f"{base}/v2/models/{model}/infer", json=body, timeout=30)
    assert r.status_code == 200, f"{model}: HTTP {r.status_code}: {r.text}"
    return r.json()


def _wait_ready(http: requests.Session, proc: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            pytest.fail(
                f"tritonserver exited with code {code} before it was ready; the server said: "
                f"{server_errors(log)}"
            )
        try:
            r = http.get(f"{base}/v2/health/ready", timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except requests.ConnectionError as err:
            last = f"connection error: {err.__class__.__name__}"
        time.sleep(0.5)
    pytest.fail(
        f"tritonserver not ready after {READY_TIMEOUT_S} s (/v2/health/ready: {last}); "
        f"the server said: {server_errors(log)}"
    )


def _check_http(http: requests.Session, base: str) -> None:
    r = http.get(f"{base}/v2", timeout=10)
    assert r.status_code == 200
    meta = r.json()
    assert (meta["name"], meta["version"]) == ("triton", TRITON_VERSION)
    for model in ("identity_fp32", "double_py"):
        assert http.get(f"{base}/v2/models/{model}/ready", timeout=10).status_code == 200

    out = _infer_http(http, base, "identity_fp32", "FP32", [1.5, 2, 3, 4])
    assert out["model_name"] == "identity_fp32"
    [tensor] = out["outputs"]
    assert (tensor["name"], tensor["datatype"], tensor["shape"]) == ("OUTPUT0", "FP32", [4])
    assert tensor["data"] == [1.5, 2.0, 3.0, 4.0]

    out = _infer_http(http, base, "double_py", "INT32", [1, 2, 3, 21])
    assert out["model_name"] == "double_py"
    [tensor] = out["outputs"]
    assert (tensor["name"], tensor["datatype"], tensor["shape"]) == ("OUTPUT0", "INT32", [4])
    assert tensor["data"] == [2, 4, 6, 42]


def _check_grpc(port: int) -> None:
    """Triton's own Python client over gRPC: health, metadata and both models."""
    import numpy as np
    import tritonclient.grpc as grpcclient

    client = grpcclient.InferenceServerClient(f"127.0.0.1:{port}")
    try:
        assert client.is_server_live() and client.is_server_ready()
        meta = client.get_server_metadata()
        assert (meta.name, meta.version) == ("triton", TRITON_VERSION)
        cases = [
            ("identity_fp32", "FP32", np.array([1.5, 2, 3, 4], dtype=np.float32), [1.5, 2, 3, 4]),
            ("double_py", "INT32", np.array([1, 2, 3, 21], dtype=np.int32), [2, 4, 6, 42]),
        ]
        for model, datatype, data, expected in cases:
            assert client.is_model_ready(model), model
            tensor = grpcclient.InferInput("INPUT0", [4], datatype)
            tensor.set_data_from_numpy(data)
            result = client.infer(model, [tensor])
            out = result.as_numpy("OUTPUT0")
            assert out is not None, f"{model}: no OUTPUT0 in {result.get_response()}"
            assert out.dtype == data.dtype and out.tolist() == expected, (model, out)
    finally:
        client.close()


def _check_metrics(http: requests.Session, port: int) -> None:
    """One HTTP and one gRPC inference per model, counted."""
    metrics = http.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert metrics.status_code == 200
    for model in ("identity_fp32", "double_py"):
        line = re.search(
            rf'^nv_inference_request_success\{{model="{model}",version="1"\}} (\S+)$',
            metrics.text, re.MULTILINE,
        )  # fmt: skip
        assert line, f"no nv_inference_request_success for {model} in /metrics"
        assert float(line.group(1)) == 2.0


def serve_and_check(root: Path, work: Path) -> ServeTimes:
    """Serve an identity and a python model from the server installed in `root`; check both
    over HTTP and gRPC, the metrics, and a clean exit on SIGTERM."""
    server = root / "usr" / "bin" / "tritonserver"
    backends = root / "usr" / "lib" / "tritonserver" / "backends"
    assert server.is_file()
    assert (backends / "identity" / "libtriton_identity.so").is_file()
    assert (backends / "python" / "libtriton_python.so").is_file()
    assert (backends / "python" / "triton_python_backend_stub").is_file()

    models = work / "models"
    _write_models(models)
    http_port, grpc_port, metrics_port = _free_ports(3)
    log_path = work / "tritonserver.log"
    # PATH: the python backend's stub embeds libpython and finds its Python home through the
    # first python3 on PATH; the system one (/usr/bin/python3, which the backend package
    # Requires, with numpy) rather than a virtual environment's or pyenv's.
    env = {**os.environ, "PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": str(root / "usr" / "lib")}
    cmd = [
        str(server),
        f"--model-repository={models}",
        # The built-in default is /usr/lib/tritonserver/backends (the spec rewrites Triton's
        # /opt/tritonserver), where `tdnf install` puts the backends; the flag is needed only
        # because this root is a scratch folder.
        f"--backend-directory={backends}",
        "--http-address=127.0.0.1", f"--http-port={http_port}",
        "--metrics-address=127.0.0.1", f"--metrics-port={metrics_port}",
        "--grpc-address=127.0.0.1", f"--grpc-port={grpc_port}",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{http_port}"
    # Connection: close -- on SIGTERM the server waits (up to its 30 s exit timeout, then exits
    # with 1) for open HTTP connections, and a client's idle keep-alive ones count.
    http = requests.Session()
    http.headers["Connection"] = "close"
    times = ServeTimes()
    started = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_ready(http, proc, base, log_path)
        times.ready = time.monotonic() - started
        _check_http(http, base)
        _check_grpc(grpc_port)
        _check_metrics(http, metrics_port)
        times.checks = time.monotonic() - started - times.ready

        http.close()
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"tritonserver still running {STOP_TIMEOUT_S} s after SIGTERM")
        times.stop = time.monotonic() - stopping
        assert code == 0, f"tritonserver exited with {code} on SIGTERM: {server_errors(log_path)}"
        text = log_path.read_text(errors="replace")
        assert f"Started GRPCInferenceService at 127.0.0.1:{grpc_port}" in text
        assert "successfully unloaded 'double_py'" in text
    except BaseException:
        print(f"---- tritonserver log ({log_path}) ----")
        print(log_path.read_text(errors="replace"))
        raise
    finally:
        http.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return times
