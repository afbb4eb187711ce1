"""What `specgen build --check-reproducible` costs on the small packages the tests build.

In a scratch folder: the default specs generated with cuDNN and TensorRT pinned to the archives
in NVIDIA's layout of tests/nvidia_fakes.py and libb64 to the stand-in zip of
tests/source_fakes.py. Then, each in a fresh work folder and repository (a new process each):
a plain `specgen build` of the three, and a `specgen build --check-reproducible` of the three.
Prints the wall time of each, median of N runs, and whether the check passed.

    .venv/bin/python bench/bench_check_reproducible.py [--runs 3] [-j 2]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPECGEN = Path(sys.executable).with_name("specgen")
PACKAGES = ("cudnn", "libb64", "tensorrt")
PYTHON = "/usr/bin/python3"  # the TensorRT spec installs its wheel with %{python3}


def _setup(root: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from nvidia_fakes import cudnn_archive, generate_pinned, tensorrt_archive
    from source_fakes import libb64_zip

    tag = subprocess.run([PYTHON, "-c", "import sys; print('%d%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    downloads = root / "sources" / "downloads"
    downloads.mkdir(parents=True)
    fakes = [cudnn_archive(root / "t1", downloads), tensorrt_archive(root / "t2", downloads, tag),
             libb64_zip(downloads)]  # fmt: skip
    generate_pinned(root, fakes)


def _timed_build(root: Path, run: int, jobs: int, *extra: str) -> tuple[float, int]:
    work = root / f"work-{run}-{len(extra)}"
    args = [str(SPECGEN), "build", "--specs", str(root / "specs"), "--repo", str(work / "repo"),
            "--workdir", str(work), "--nodeps", "--no-space-check", "-j", str(jobs),
            *extra]  # fmt: skip
    for name in PACKAGES:
        args += ["--only", name]
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    return elapsed, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    opts = parser.parse_args()
    for tool in ("rpmbuild", "createrepo_c", "gcc", "unzip"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed on PATH")
    with tempfile.TemporaryDirectory(prefix="specgen-bench-repro-") as tmp:
        root = Path(tmp)
        _setup(root)
        plain, checked, codes = [], [], set()
        for run in range(opts.runs):
            plain.append(_timed_build(root, run, opts.jobs)[0])
            seconds, code = _timed_build(root, run, opts.jobs, "--check-reproducible")
            checked.append(seconds)
            codes.add(code)
    print(f"packages: {', '.join(PACKAGES)} (20 RPMs), -j {opts.jobs}, {opts.runs} runs, median")
    print(f"  specgen build                        {statistics.median(plain):6.2f} s")
    print(f"  specgen build --check-reproducible   {statistics.median(checked):6.2f} s")
    print(f"  check passed (exit 0) in every run:  {codes == {0}}")


if __name__ == "__main__":
    main()
