"""Serve models with the tritonserver RPMs `specgen build` made (issue 7 acceptance).

Runs only where built RPMs are present: the repository is $SPECGEN_TRITON_REPO, or repo/ under
the checkout (what `specgen build` fills by default); without a tritonserver RPM there the test
is skipped (docs/building-triton.md says how to build one). The RPMs are installed into a
scratch root with `rpm --root`, an identity and a python model are served from a model
repository in tmp_path, and the HTTP/REST API and the metrics are checked.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest
import requests
from conftest import REPO, require_tool

REPO_ENV = "SPECGEN_TRITON_REPO"
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


def _repo_dir() -> Path:
    return Path(os.environ.get(REPO_ENV) or REPO / "repo")


def _find_rpm(repo: Path, name: str) -> Path | None:
    """The binary RPM of package `name` (newest if several): NAME-VERSION-RELEASE.ARCH.rpm."""
    pattern = re.compile(re.escape(name) + r"-[^-]+-[^-]+\.(x86_64|aarch64|noarch)\.rpm")
    found = [p for p in repo.glob("*/*.rpm") if pattern.fullmatch(p.name)]
    return max(found, key=lambda p: p.stat().st_mtime_ns) if found else None



# ---- gRPC by hand: HTTP/2 through curl, protobuf messages of a few fields encoded here
# (grpc_service.proto: ModelInferRequest model_name=1, inputs=5, raw_input_contents=7;
# InferInputTensor name=1, datatype=2, shape=3; ModelInferResponse raw_output_contents=6).


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (strings, bytes, messages, packed repeated)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _fields(message: bytes) -> list[tuple[int, int | bytes]]:
    """(number, value) of each field: varints as ints, length-delimited as bytes."""
    out, at = [], 0
    while at < len(message):
        key, at = _read_varint(message, at)
        if key & 7 == 0:
            value, at = _read_varint(message, at)
            out.append((key >> 3, value))
        elif key & 7 == 2:
            size, at = _read_varint(message, at)
            out.append((key >> 3, message[at : at + size]))
            at += size
        else:
            raise AssertionError(f"unexpected wire type {key & 7}")
    return out


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _grpc(port: int, method: str, message: bytes) -> bytes:
    """One unary call of inference.GRPCInferenceService; the response message."""
    frame = b"\x00" + len(message).to_bytes(4, "big") + message
    proc = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "-H", "content-type: application/grpc",
         "-H", "te: trailers", "--data-binary", "@-", "--max-time", "10",
         f"http://127.0.0.1:{port}/inference.GRPCInferenceService/{method}"],
        input=frame, capture_output=True, check=True,
    )  # fmt: skip
    body = proc.stdout
    assert len(body) >= 5 and body[0] == 0, f"{method}: no gRPC message in {body!r}"
    return body[5 : 5 + int.from_bytes(body[1:5], "big")]


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


def _write_models(models: Path) -> None:
    (models / "identity_fp32" / "1").mkdir(parents=True)
    (models / "identity_fp32" / "config.pbtxt").write_text(IDENTITY_CONFIG)
    (models / "double_py" / "1").mkdir(parents=True)
    (models / "double_py" / "config.pbtxt").write_text(PYTHON_CONFIG)
    (models / "double_py" / "1" / "model.py").write_text(PYTHON_MODEL)


def _infer(http: requests.Session, base: str, model: str, datatype: str, data: list) -> dict:
    body = {"inputs": [{"name": "INPUT0", "datatype": datatype, "shape": [4], "data": data}]}
    r = http.post(f"{base}/v2/models/{model}/infer", json=body, timeout=30)
    assert r.status_code == 200, f"{model}: HTTP {r.status_code}: {r.text}"
    return r.json()


def _wait_ready(http: requests.Session, proc: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            pytest.fail(f"tritonserver exited with code {code} before it was ready")
        try:
            r = http.get(f"{base}/v2/health/ready", timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except requests.ConnectionError as err:
            last = f"connection error: {err.__class__.__name__}"
        time.sleep(0.5)
    pytest.fail(f"tritonserver not ready after {READY_TIMEOUT_S} s (/v2/health/ready: {last})")


def test_serve_identity_and_python_models(tmp_path: Path) -> None:
    repo = _repo_dir()
    server_rpm = _find_rpm(repo, "tritonserver") if repo.is_dir() else None
    if server_rpm is None:
        pytest.skip(
            f"no tritonserver RPM in {repo}: build it with specgen build "
            "(see docs/building-triton.md)"
        )
    require_tool("rpm")
    rpms = {name: _find_rpm(repo, name) for name in PACKAGES}
    missing = [name for name, path in rpms.items() if path is None]
    assert not missing, f"{repo} has {server_rpm.name} but no RPM of {', '.join(missing)}"
    # tritonserver-backend-python Requires python3 and python3-numpy; its stub embeds the system
    # python3 and the model imports numpy.
    python3 = shutil.which("python3", path="/usr/bin:/bin")
    if python3 is None or subprocess.run([python3, "-c", "import numpy"],
                                         capture_output=True).returncode != 0:  # fmt: skip
        pytest.skip("the python backend needs the system python3 with numpy (python3-numpy)")

    root = tmp_path / "root"
    root.mkdir()
    # A scratch root, not a system: no scriptlets (useradd, systemd), no dependency check, and no
    # rpm plugins (selinux, systemd-inhibit).
    install = subprocess.run(
        ["rpm", "--root", str(root), "--nodeps", "--noscripts", "--noplugins", "-i",
         *(str(p) for p in rpms.values())],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert install.returncode == 0, f"rpm -i failed: {install.stdout}{install.stderr}"
    server = root / "usr" / "bin" / "tritonserver"
    backends = root / "usr" / "lib" / "tritonserver" / "backends"
    assert server.is_file()
    assert (backends / "identity" / "libtriton_identity.so").is_file()
    assert (backends / "python" / "libtriton_python.so").is_file()
    assert (backends / "python" / "triton_python_backend_stub").is_file()

    models = tmp_path / "models"
    _write_models(models)
    http_port, grpc_port, metrics_port = _free_ports(3)
    log_path = tmp_path / "tritonserver.log"
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
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_ready(http, proc, base)

        r = http.get(f"{base}/v2", timeout=10)
        assert r.status_code == 200
        meta = r.json()
        assert meta["name"] == "triton"
        assert meta["version"] == TRITON_VERSION
        for model in ("identity_fp32", "double_py"):
            assert http.get(f"{base}/v2/models/{model}/ready", timeout=10).status_code == 200

        out = _infer(http, base, "identity_fp32", "FP32", [1.5, 2, 3, 4])
        assert out["model_name"] == "identity_fp32"
        assert len(out["outputs"]) == 1
        tensor = out["outputs"][0]
        assert (tensor["name"], tensor["datatype"], tensor["shape"]) == ("OUTPUT0", "FP32", [4])
        assert tensor["data"] == [1.5, 2.0, 3.0, 4.0]

        out = _infer(http, base, "double_py", "INT32", [1, 2, 3, 21])
        assert out["model_name"] == "double_py"
        assert len(out["outputs"]) == 1
        tensor = out["outputs"][0]
        assert (tensor["name"], tensor["datatype"], tensor["shape"]) == ("OUTPUT0", "INT32", [4])
        assert tensor["data"] == [2, 4, 6, 42]

        metrics = http.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert metrics.status_code == 200
        for model in ("identity_fp32", "double_py"):
            line = re.search(
                rf'^nv_inference_request_success\{{model="{model}",version="1"\}} (\S+)$',
                metrics.text, re.MULTILINE,
            )  # fmt: skip
            assert line, f"no nv_inference_request_success for {model} in /metrics"
            assert float(line.group(1)) == 1.0

        # gRPC (TRITON_ENABLE_GRPC=ON): readiness and an inference, over HTTP/2 with curl and
        # protobuf encoded by hand (no grpcio needed).
        if shutil.which("curl"):
            assert _fields(_grpc(grpc_port, "ServerReady", b"")) == [(1, 1)]
            ready = _grpc(grpc_port, "ModelReady", _field(1, b"identity_fp32"))
            assert _fields(ready) == [(1, 1)]
            values = struct.pack("<4f", 1.5, 2.0, 3.0, 4.0)
            tensor = _field(1, b"INPUT0") + _field(2, b"FP32") + _field(3, _varint(4))
            request = _field(1, b"identity_fp32") + _field(5, tensor) + _field(7, values)
            response = _fields(_grpc(grpc_port, "ModelInfer", request))
            raw = [v for n, v in response if n == 6]
            assert raw == [values], response
        else:
            with socket.create_connection(("127.0.0.1", grpc_port), timeout=5):
                pass  # without curl: only that gRPC accepts connections

        http.close()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"tritonserver still running {STOP_TIMEOUT_S} s after SIGTERM")
        assert code == 0, f"tritonserver exited with code {code} after SIGTERM"
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
