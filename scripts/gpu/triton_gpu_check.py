#!/usr/bin/env python3
"""Serve specgen's tritonserver RPMs on a GPU host and check the GPU paths (docs/gpu-build.md).

Runs on the GPU host with its own python3 (one with PyTorch, CuPy and numpy), from a bundle that
`scripts/gpu/pack-triton-gpu` made on the build host: the RPMs, the shared libraries the host
lacks, and wheels (rpmfile, zstandard, tritonclient). No rpm tool is needed: the RPMs' payloads
are unpacked into a root with rpmfile, as `rpm --root` would lay them out.

Checks, each over HTTP and gRPC:
  1. a python-backend model that receives its input as a GPU tensor and computes with PyTorch
     on the GPU;
  2. the input of a request placed in CUDA shared memory registered with the server;
  3. the identity backend on a GPU instance, reading and writing CUDA shared memory;
and the ONNX Runtime backend's model on the CPU, `nvidia-smi` showing the server's process,
`ldd -r` of the server and every backend library, and `specgen doctor`.

Usage: triton_gpu_check.py BUNDLE WORK OUT   (from the checkout's root, for `specgen doctor`;
exit 0 only when every check passed)
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
import urllib.request
from pathlib import Path

BUNDLE, WORK, OUT = (Path(a).resolve() for a in sys.argv[1:4])
ROOT = WORK / "root"
MODELS = WORK / "models"
LOG = OUT / "triton-gpu-check.log"
RESULTS: list[dict[str, str]] = []
HTTP = "http://127.0.0.1:8000"
GRPC = "127.0.0.1:8001"


def say(text: str) -> None:
    print(text, flush=True)
    with LOG.open("a") as fh:
        fh.write(text + "\n")


def record(check: str, ok: bool, detail: str) -> None:
    RESULTS.append({"check": check, "result": "ok" if ok else "FAILED", "detail": detail})
    say(f"[{'ok' if ok else 'FAILED'}] {check}: {detail}")


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    except OSError as err:
        return subprocess.CompletedProcess(cmd, 127, "", str(err))


# --- install ---------------------------------------------------------------------------------


def install_rpms() -> None:
    import rpmfile  # from the bundle's wheels

    ROOT.mkdir(parents=True, exist_ok=True)
    for rpm_path in sorted((BUNDLE / "rpms").glob("*.rpm")):
        files = 0
        with rpmfile.open(str(rpm_path)) as rpm:
            for member in rpm.getmembers():
                target = ROOT / member.name.lstrip("./")
                if member.isdir:
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                data = rpm.extractfile(member).read()
                if target.is_symlink() or target.exists():
                    target.unlink()
                if member.issymlink:
                    target.symlink_to(data.decode())
                else:
                    target.write_bytes(data)
                    target.chmod(member.mode & 0o7777)
                files += 1
        say(f"installed {rpm_path.name}: {files} files")


def library_path() -> str:
    """The root's libraries, then the bundle's (libpython3.12 only where the host lacks it)."""
    dirs = [str(ROOT / "usr/lib"), str(BUNDLE / "libs")]
    have_python = "libpython3.12.so.1.0" in run(["ldconfig", "-p"]).stdout
    if not have_python:
        dirs.append(str(BUNDLE / "libpython"))
    say(f"host libpython3.12.so.1.0: {'yes' if have_python else 'no: the bundle carries one'}")
    return ":".join(dirs)


def ldd_check(env: dict[str, str]) -> None:
    targets = [ROOT / "usr/bin/tritonserver", *sorted((ROOT / "usr/lib/tritonserver/backends").rglob("*.so"))]
    targets.append(ROOT / "usr/lib/tritonserver/backends/python/triton_python_backend_stub")
    for path in targets:
        out = run(["ldd", "-r", str(path)], env=env)
        bad = [ln.strip() for ln in (out.stdout + out.stderr).splitlines()
               if "not found" in ln or "undefined symbol" in ln]  # fmt: skip
        ours = sorted({ln.split("=>")[1].split("(")[0].strip() for ln in out.stdout.splitlines()
                       if "=>" in ln and str(ROOT) in ln})  # fmt: skip
        record(f"ldd -r {path.relative_to(ROOT)}", not bad and out.returncode == 0,
               "; ".join(bad) or f"every symbol resolved; from the RPMs: {', '.join(ours) or 'none'}")


# --- models ----------------------------------------------------------------------------------

TORCH_MODEL = '''
import torch
import triton_python_backend_utils as pb_utils
from torch.utils.dlpack import from_dlpack, to_dlpack


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            tensor = pb_utils.get_input_tensor_by_name(request, "INPUT0")
            x = from_dlpack(tensor.to_dlpack())
            y = torch.sqrt(x.to("cuda") * x.to("cuda") * 4.0)  # 2|x|, computed on the GPU
            pb_utils.Logger.log_info(
                f"torch_gpu: input on {'CPU' if tensor.is_cpu() else x.device}, computed on "
                f"{y.device} ({torch.cuda.get_device_name(y.device)}), torch {torch.__version__}"
            )
            # WHERE: [input was a GPU tensor, its device, the result's device (-1: CPU)]
            where = [0 if tensor.is_cpu() else 1, x.device.index if x.is_cuda else -1,
                     y.device.index if y.is_cuda else -1]
            # Both outputs through DLPack: a numpy 2 array made into an output arrives empty
            # (the stub's pybind11 predates numpy 2; the RPM requires numpy < 2).
            responses.append(pb_utils.InferenceResponse([
                pb_utils.Tensor.from_dlpack("OUTPUT0", to_dlpack(y)),
                pb_utils.Tensor.from_dlpack("WHERE", to_dlpack(torch.tensor(where, dtype=torch.int32))),
            ]))
        return responses
'''


def write_models() -> None:
    torch_dir = MODELS / "torch_gpu" / "1"
    torch_dir.mkdir(parents=True)
    (torch_dir / "model.py").write_text(TORCH_MODEL)
    (MODELS / "torch_gpu" / "config.pbtxt").write_text(
        'backend: "python"\nmax_batch_size: 0\n'
        'input [{ name: "INPUT0" data_type: TYPE_FP32 dims: [4] }]\n'
        'output [{ name: "OUTPUT0" data_type: TYPE_FP32 dims: [4] },'
        ' { name: "WHERE" data_type: TYPE_INT32 dims: [3] }]\n'
        'instance_group [{ kind: KIND_GPU count: 1 gpus: [0] }]\n'
        'parameters { key: "FORCE_CPU_ONLY_INPUT_TENSORS" value: { string_value: "no" } }\n'
    )
    (MODELS / "identity_gpu" / "1").mkdir(parents=True)
    (MODELS / "identity_gpu" / "config.pbtxt").write_text(
        'backend: "identity"\nmax_batch_size: 0\n'
        'input [{ name: "INPUT0" data_type: TYPE_FP32 dims: [4] }]\n'
        'output [{ name: "OUTPUT0" data_type: TYPE_FP32 dims: [4] }]\n'
        'instance_group [{ kind: KIND_GPU count: 1 gpus: [0] }]\n'
    )
    try:
        import onnx
        from onnx import TensorProto, helper

        graph = helper.make_graph(
            [helper.make_node("Add", ["A", "B"], ["SUM"])], "add",
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, [4]) for n in ("A", "B")],
            [helper.make_tensor_value_info("SUM", TensorProto.FLOAT, [4])],
        )  # fmt: skip
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8  # ONNX Runtime 1.21 reads IR <= 10
        (MODELS / "onnx_add" / "1").mkdir(parents=True)
        onnx.save(model, str(MODELS / "onnx_add" / "1" / "model.onnx"))
        (MODELS / "onnx_add" / "config.pbtxt").write_text(
            'backend: "onnxruntime"\nmax_batch_size: 0\n'
            'input [{ name: "A" data_type: TYPE_FP32 dims: [4] }, { name: "B" data_type: TYPE_FP32 dims: [4] }]\n'
            'output [{ name: "SUM" data_type: TYPE_FP32 dims: [4] }]\n'
            'instance_group [{ kind: KIND_CPU count: 1 }]\n'
        )
    except ImportError as err:
        say(f"no onnx package ({err}): the ONNX Runtime model is left out")


# --- the server ------------------------------------------------------------------------------


def http(method: str, path: str, body: object | None = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(HTTP + path, data=data, method=method,
                                     headers={"Connection": "close", "Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def start_server(env: dict[str, str]) -> subprocess.Popen[bytes]:
    server_log = (OUT / "tritonserver.log").open("wb")
    cmd = [str(ROOT / "usr/bin/tritonserver"), f"--model-repository={MODELS}",
           f"--backend-directory={ROOT / 'usr/lib/tritonserver/backends'}",
           "--http-port=8000", "--grpc-port=8001", "--metrics-port=8002", "--log-verbose=0",
           # a model that fails to load must not hide the others' results
           "--exit-on-error=false", "--strict-readiness=false"]  # fmt: skip
    say("$ " + " ".join(cmd))
    proc = subprocess.Popen(cmd, env=env, stdout=server_log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if http("GET", "/v2/health/ready")[0] == 200:
                index = json.loads(http("POST", "/v2/repository/index", {})[1])
                states = {m["name"]: m.get("state", "") for m in index}
                if states and all(v in ("READY", "UNAVAILABLE") for v in states.values()):
                    for name, state in sorted(states.items()):
                        record(f"model {name} loaded", state == "READY", state)
                    return proc
        except (OSError, ValueError):
            pass
        time.sleep(1)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    raise RuntimeError(f"server not ready (exit {proc.poll()}); see tritonserver.log")


def cuda_buffer(values: list[float]):  # noqa: ANN201
    """Raw cudaMalloc memory (not a pool's sub-allocation: IPC maps whole allocations)."""
    import cupy
    import numpy as np

    host = np.array(values, dtype=np.float32)
    ptr = cupy.cuda.runtime.malloc(host.nbytes)
    cupy.cuda.runtime.memcpy(ptr, host.ctypes.data, host.nbytes, 1)  # host to device
    handle = cupy.cuda.runtime.ipcGetMemHandle(ptr)
    return ptr, host.nbytes, base64.b64encode(bytes(handle)).decode()


def read_buffer(ptr: int, nbytes: int) -> list[float]:
    import cupy
    import numpy as np

    host = np.zeros(nbytes // 4, dtype=np.float32)
    cupy.cuda.runtime.memcpy(host.ctypes.data, ptr, nbytes, 2)  # device to host
    return host.tolist()


def checks_http() -> None:
    status, body = http("GET", "/v2")
    record("HTTP GET /v2", status == 200 and "cuda_shared_memory" in body, body)
    values = [1.5, -2.0, 3.0, -4.25]
    ptr_in, size, handle = cuda_buffer(values)
    ptr_out, _, handle_out = cuda_buffer([0.0] * 4)
    for name, h in (("in0", handle), ("out0", handle_out)):
        status, body = http("POST", f"/v2/cudasharedmemory/region/{name}/register",
                            {"raw_handle": {"b64": h}, "device_id": 0, "byte_size": size})  # fmt: skip
        record(f"HTTP register CUDA shared memory {name}", status == 200, f"{status} {body}")
    shm_in = {"shared_memory_region": "in0", "shared_memory_byte_size": size}
    status, body = http("POST", "/v2/models/torch_gpu/infer", {
        "inputs": [{"name": "INPUT0", "shape": [4], "datatype": "FP32", "parameters": shm_in}],
        "outputs": [{"name": "OUTPUT0"}, {"name": "WHERE"}],
    })  # fmt: skip
    ok = status == 200
    if ok:
        outputs = {o["name"]: o["data"] for o in json.loads(body)["outputs"]}
        ok = outputs["OUTPUT0"] == [abs(2 * v) for v in values] and outputs["WHERE"] == [1, 0, 0]
    record("HTTP (1)+(2) python/PyTorch model, input in CUDA shared memory, GPU tensor in", ok, body)
    status, body = http("POST", "/v2/models/identity_gpu/infer", {
        "inputs": [{"name": "INPUT0", "shape": [4], "datatype": "FP32", "parameters": shm_in}],
        "outputs": [{"name": "OUTPUT0", "parameters":
                     {"shared_memory_region": "out0", "shared_memory_byte_size": size}}],
    })  # fmt: skip
    back = read_buffer(ptr_out, size) if status == 200 else []
    record("HTTP (3) identity on a GPU instance, CUDA shared memory in and out",
           status == 200 and back == values, f"{status} {body}; out0 holds {back}")
    if (MODELS / "onnx_add").exists():
        status, body = http("POST", "/v2/models/onnx_add/infer", {"inputs": [
            {"name": "A", "shape": [4], "datatype": "FP32", "data": [1, 2, 3, 4]},
            {"name": "B", "shape": [4], "datatype": "FP32", "data": [10, 20, 30, 40]}]})  # fmt: skip
        ok = status == 200 and json.loads(body)["outputs"][0]["data"] == [11, 22, 33, 44]
        record("HTTP ONNX Runtime backend (CPU execution provider)", ok, body)
    status, body = http("GET", "/v2/cudasharedmemory/status")
    record("HTTP CUDA shared memory status", status == 200 and "in0" in body, body)
    for name in ("in0", "out0"):
        http("POST", f"/v2/cudasharedmemory/region/{name}/unregister")


def checks_grpc() -> None:
    import tritonclient.grpc as grpcclient

    client = grpcclient.InferenceServerClient(GRPC)
    record("gRPC ServerReady", client.is_server_ready(), str(client.get_server_metadata()).replace("\n", " "))
    values = [0.5, -1.0, 2.0, -8.0]
    ptr_in, size, handle = cuda_buffer(values)
    ptr_out, _, handle_out = cuda_buffer([0.0] * 4)
    client.register_cuda_shared_memory("gin0", handle, 0, size)
    client.register_cuda_shared_memory("gout0", handle_out, 0, size)
    try:
        grpc_infers(client, grpcclient, values, size, ptr_out)
    finally:
        client.unregister_cuda_shared_memory()


def grpc_infers(client, grpcclient, values: list[float], size: int, ptr_out: int) -> None:  # noqa: ANN001
    import numpy as np

    record("gRPC register CUDA shared memory", True,
           str(client.get_cuda_shared_memory_status()).replace("\n", " "))  # fmt: skip
    inp = grpcclient.InferInput("INPUT0", [4], "FP32")
    inp.set_shared_memory("gin0", size)
    result = client.infer("torch_gpu", [inp], outputs=[grpcclient.InferRequestedOutput("OUTPUT0"),
                                                       grpcclient.InferRequestedOutput("WHERE")])  # fmt: skip
    out = result.as_numpy("OUTPUT0").tolist()
    where = result.as_numpy("WHERE").tolist()
    record("gRPC (1)+(2) python/PyTorch model, input in CUDA shared memory, GPU tensor in",
           out == [abs(2 * v) for v in values] and where == [1, 0, 0], f"OUTPUT0 {out}; WHERE {where}")
    inp = grpcclient.InferInput("INPUT0", [4], "FP32")
    inp.set_shared_memory("gin0", size)
    req_out = grpcclient.InferRequestedOutput("OUTPUT0")
    req_out.set_shared_memory("gout0", size)
    client.infer("identity_gpu", [inp], outputs=[req_out])
    back = read_buffer(ptr_out, size)
    record("gRPC (3) identity on a GPU instance, CUDA shared memory in and out", back == values,
           f"gout0 holds {back}")
    plain = grpcclient.InferInput("INPUT0", [4], "FP32")
    plain.set_data_from_numpy(np.array(values, dtype=np.float32))
    result = client.infer("torch_gpu", [plain])
    record("gRPC python/PyTorch model, input sent in the request",
           result.as_numpy("OUTPUT0").tolist() == [abs(2 * v) for v in values],
           f"WHERE {result.as_numpy('WHERE').tolist()} (input sent in the request)")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    sys.path[:0] = [str(BUNDLE / "site")]
    say(f"host: {run(['uname', '-srm']).stdout.strip()}; python {sys.version.split()[0]}")
    say(run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]).stdout.strip())
    install_rpms()
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = library_path()
    # The python backend's stub embeds libpython: it is told this interpreter's home and
    # packages (PyTorch, numpy), as its own path says nothing about them.
    import site
    import sysconfig

    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env["PYTHONHOME"] = sys.base_prefix
    env["PYTHONPATH"] = ":".join([sysconfig.get_paths()["purelib"], *site.getsitepackages()])
    say(f"stub Python: PYTHONHOME={env['PYTHONHOME']} PYTHONPATH={env['PYTHONPATH']}")
    ldd_check(env)
    write_models()
    proc = None
    try:
        proc = start_server(env)
        record("server ready", True, f"pid {proc.pid}")
        smi = run(["nvidia-smi", "--query-compute-apps=pid,process_name,used_memory", "--format=csv,noheader"])
        # (a PID namespace may show another number: the process name counts too)
        shown = str(proc.pid) in smi.stdout or "tritonserver" in smi.stdout
        record("nvidia-smi shows the server on the GPU", shown, smi.stdout.strip())
        say(run(["nvidia-smi"]).stdout)
        for name, step in (("HTTP", checks_http), ("gRPC", checks_grpc)):
            try:
                step()
            except Exception:  # one failing protocol must not hide the other's results
                record(f"{name} checks", False, traceback.format_exc())
        try:
            with urllib.request.urlopen("http://127.0.0.1:8002/metrics", timeout=10) as resp:
                metrics = resp.read().decode()
            say("\n".join(ln for ln in metrics.splitlines() if ln.startswith("nv_inference_request_success")))
        except OSError as err:
            say(f"metrics: {err}")
    except Exception:
        record("server", False, traceback.format_exc())
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            record("server exit on SIGTERM", code == 0, f"exit status {code}")
    doctor = run([sys.executable, "-m", "specgen", "doctor", "--offline", "--format", "table"],
                 env={**os.environ, "PYTHONPATH": str(Path.cwd()), "COLUMNS": "160"})  # fmt: skip
    say(doctor.stdout + doctor.stderr)
    say(f"doctor exit status: {doctor.returncode}")
    (OUT / "summary.json").write_text(json.dumps(RESULTS, indent=1) + "\n")
    failed = [r["check"] for r in RESULTS if r["result"] != "ok"]
    say(f"{len(RESULTS) - len(failed)} ok, {len(failed)} failed" + (f": {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
