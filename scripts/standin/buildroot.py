"""The Debian stand-in build root: build specgen's Triton specs on Debian 12 with nothing else.

Azure Linux is the specs' home; on a Debian host, `specgen build --nodeps` needs what Azure Linux
would install from its repositories. This script provides it, from scripts/standin/debian.toml:

  install   apt-get install the Debian packages standing in for the specs' BuildRequires
  check     exit 1 (naming them) when some are missing
  build     specgen build the profile's libraries, unpack their RPMs into a sysroot, then build
            the server with the Debian-only CMake arguments (the spec's triton_extra_cmake_args)
  cmake-args  print that hook's value for a sysroot, to run the steps by hand
  nvidia    pin, fetch and lay out the NVIDIA stand-in the gpu profile builds on

Run it through `scripts/run standin ...` (the project's virtual environment). The specs are not
touched; docs/building-triton.md shows a run and its figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parent.parent
DATA = HERE / "debian.toml"
SHIMS = HERE / "cmake"
TESTED = {("debian", "12")}
# Where `scripts/run standin nvidia layout` puts the NVIDIA stand-in (the GPU profile's {nvidia}).
NVIDIA = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "specgen" / "standin"


class StandinError(Exception):
    """A problem the user can fix; printed as one line, exit 2."""


@dataclass(frozen=True)
class Profile:
    name: str
    switches: list[str]
    libraries: list[str]
    server: list[str]
    cmake_args: list[str]  # after [cmake] args, for this profile only
    # rpm macros for the server's build ({nvidia} as in cmake_args)
    defines: dict[str, str] = field(default_factory=dict)
    # built with the libraries, not unpacked into the sysroot
    also_build: list[str] = field(default_factory=list)
    # the `specgen generate` options that write the specs this profile builds
    generate: list[str] = field(default_factory=list)

    def specs(self) -> list[str]:
        """Every spec the profile builds, in the order of its steps."""
        return [*self.libraries, *self.also_build, *self.server]


def load_data(path: Path = DATA) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def debian_packages(data: dict) -> list[str]:
    """Every Debian package the stand-in needs: BuildRequires stand-ins and tools, sorted."""
    packages = {p for pkgs in data["build_requires"].values() for p in pkgs}
    return sorted(packages | set(data["tools"]))


def profile(data: dict, name: str) -> Profile:
    try:
        raw = data["profiles"][name]
    except KeyError:
        known = ", ".join(sorted(data["profiles"]))
        raise StandinError(f"no profile {name!r} in {DATA} (profiles: {known})") from None
    return Profile(
        name,
        list(raw["switches"]),
        list(raw["libraries"]),
        list(raw["server"]),
        list(raw.get("cmake_args", [])),
        dict(raw.get("defines", {})),
        list(raw.get("also_build", [])),
        list(raw.get("generate", [])),
    )


def check_specs(prof: Profile, specs: Path) -> None:
    """Refuse a --specs folder that lacks a spec of the profile, naming how to generate it."""
    absent = [name for name in prof.specs() if not (specs / name / f"{name}.spec").is_file()]
    if absent:
        how = " ".join(["specgen generate", *prof.generate])
        raise StandinError(
            f"{specs} has no spec of {', '.join(absent)}: the {prof.name} profile builds the "
            f"specs of `{how}`"
        )


def os_release() -> tuple[str, str]:
    fields = {}
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8")
    except OSError:
        return ("", "")
    for line in text.splitlines():
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip().strip('"')
    return fields.get("ID", ""), fields.get("VERSION_ID", "")


def check_os(untested_os: bool) -> None:
    found = os_release()
    if found in TESTED:
        return
    name = " ".join(found).strip() or "an unknown OS"
    if found[0] not in ("debian", "ubuntu"):
        raise StandinError(f"the stand-in build root is for Debian 12 (apt); this is {name}")
    if not untested_os:
        raise StandinError(
            f"the stand-in build root was tried on Debian 12 only; this is {name}: pass "
            "--untested-os to try the same package names here"
        )
    print(f"standin: {name} was never tried; using Debian 12's package names", file=sys.stderr)


def missing_packages(packages: list[str]) -> list[str]:
    """The packages dpkg does not list as installed."""
    if shutil.which("dpkg-query") is None:
        raise StandinError("dpkg-query not found: the stand-in build root needs Debian's apt")
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\\n", *packages],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    installed = {
        line.split()[0].split(":")[0]
        for line in out.stdout.splitlines()
        if line.endswith(" installed")
    }
    return [p for p in packages if p not in installed]


def cmd_install(args: argparse.Namespace) -> int:
    check_os(args.untested_os)
    missing = missing_packages(debian_packages(load_data()))
    if not missing:
        print("standin: every Debian package of the stand-in is installed")
        return 0
    if os.geteuid() != 0:
        raise StandinError(f"not root: install these Debian packages: {' '.join(missing)}")
    print(f"standin: installing {len(missing)} Debian packages: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = {"stdout": subprocess.DEVNULL} if args.quiet else {}
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, **quiet)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        env=env, check=True, **quiet,
    )  # fmt: skip
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    check_os(args.untested_os)
    missing = missing_packages(debian_packages(load_data()))
    if missing:
        print(f"missing Debian packages: {' '.join(missing)}")
        return 1
    return 0


def hook_value(data: dict, prof: Profile, sysroot: Path, ccache: bool,
               nvidia: Path = NVIDIA) -> str:  # fmt: skip
    """triton_extra_cmake_args: the [cmake] arguments, then the profile's, then ccache's;
    shell-quoted (the spec expands the macro inside its %build shell). {nvidia} is the folder
    `scripts/run standin nvidia layout` filled (docs/gpu-build.md)."""
    for path in (sysroot, SHIMS, nvidia):
        if any(c in str(path) for c in "%\n'\"\\$`"):
            raise StandinError(f"{path}: %, quotes, $ or newlines cannot go into an rpm macro")
    template = [*data["cmake"]["args"], *prof.cmake_args]
    args = [a.format(sysroot=sysroot, shims=SHIMS, nvidia=nvidia) for a in template]
    if ccache:
        args += data["cmake"]["ccache"]
    return " ".join(shlex.quote(a) for a in args)


def cmd_cmake_args(args: argparse.Namespace) -> int:
    data = load_data()
    print(hook_value(data, profile(data, args.profile), args.sysroot.resolve(), not args.no_ccache,
                     args.nvidia.resolve()))  # fmt: skip
    return 0


def source_package(rpm: Path) -> str:
    """The spec an RPM was built from: the name part of its source RPM."""
    out = subprocess.run(
        ["rpm", "-qp", "--nosignature", "--qf", "%{SOURCERPM}", str(rpm)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip().rsplit("-", 2)[0]


def fill_sysroot(repo: Path, sysroot: Path, specs: list[str]) -> list[str]:
    """Unpack every RPM of `specs` in the repository into a fresh sysroot; their names."""
    shutil.rmtree(sysroot, ignore_errors=True)
    sysroot.mkdir(parents=True)
    rpms = [p for p in sorted(repo.glob("*/*.rpm")) if source_package(p) in specs]
    found = {source_package(p) for p in rpms}
    if set(specs) - found:
        raise StandinError(f"{repo} has no RPM of {', '.join(sorted(set(specs) - found))}")
    for rpm in rpms:
        subprocess.run(
            f"rpm2cpio {shlex.quote(str(rpm))} | cpio -idm --quiet",
            shell=True, cwd=sysroot, check=True,
        )  # fmt: skip
    return [p.name for p in rpms]


CCACHE_COUNTERS = ("direct_cache_hit", "preprocessed_cache_hit", "cache_miss")


def ccache_counts(stats_log: Path) -> dict[str, int]:
    """This build's hits and misses, from ccache's stats log (one counter name per line for
    each compile): ccache's own counters are machine-wide and count other builds too."""
    try:
        lines = stats_log.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    return {name: lines.count(name) for name in CCACHE_COUNTERS}


def ccache_env(env: dict[str, str], workdir: Path, stats_log: Path) -> dict[str, str]:
    """`env` with ccache set up for a build under `workdir`, counting into `stats_log`.

    Paths under the work folder become relative (CCACHE_BASEDIR), so the same sources built in
    another work folder hit the cache. The working directory stays in the hash: ccache hashes it
    after the build tree's -ffile-prefix-map, so a mapped compile hits from any work folder,
    while an unmapped one, whose object would carry its folder, misses and is compiled again.
    With hash_dir off, such a hit would hand back the first folder's path and hide the
    difference that a second build elsewhere is there to show.
    """
    out = dict(env)
    out.setdefault("CCACHE_BASEDIR", str(workdir))
    out.pop("CCACHE_NOHASHDIR", None)
    out["CCACHE_HASHDIR"] = "true"
    out["CCACHE_STATSLOG"] = str(stats_log)
    return out


def specgen_build(common: list[str], only: list[str], extra: list[str], env: dict) -> float:
    cmd = [sys.executable, "-m", "specgen", "build", *common]
    for name in only:
        cmd += ["--only", name]
    cmd += extra
    print("standin: $ " + shlex.join(cmd), flush=True)
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise StandinError(f"specgen build of {', '.join(only)} failed (exit {proc.returncode})")
    return elapsed


def cmd_build(args: argparse.Namespace) -> int:
    check_os(args.untested_os)
    data = load_data()
    prof = profile(data, args.profile)
    missing = missing_packages(debian_packages(data))
    if missing:
        raise StandinError(
            f"missing Debian packages: {' '.join(missing)} (scripts/run standin install)"
        )
    workdir, repo = args.workdir.resolve(), args.repo.resolve()
    sysroot = workdir / "standin-sysroot"
    check_specs(prof, args.specs)
    common = ["--specs", str(args.specs), "--repo", str(repo), "--workdir", str(workdir),
              "--nodeps", "-j", str(args.jobs)]  # fmt: skip
    if args.lock_overlay:
        common += ["--lock-overlay", str(args.lock_overlay)]
    for switch in prof.switches:
        common += switch.split(" ", 1)
    env = dict(os.environ)
    ccache = not args.no_ccache
    if ccache:
        stats_log = workdir / "ccache-stats.log"
        stats_log.unlink(missing_ok=True)
        env = ccache_env(env, workdir, stats_log)
    first = [*prof.libraries, *prof.also_build]
    times = {"libraries": specgen_build(common, first, args.specgen_args, env)}
    unpacked = fill_sysroot(repo, sysroot, prof.libraries)
    print(f"standin: unpacked into {sysroot}: {', '.join(unpacked)}")
    hook = hook_value(data, prof, sysroot, ccache, args.nvidia.resolve())
    define = ["--define", f"triton_extra_cmake_args {hook}"]
    for name, value in sorted(prof.defines.items()):
        define += ["--define", f"{name} {value.format(nvidia=args.nvidia.resolve())}"]
    times["server"] = specgen_build(common, prof.server, define + args.specgen_args, env)
    report = {"profile": prof.name, "seconds": {k: round(v, 1) for k, v in times.items()}}
    if ccache:
        report["ccache"] = ccache_counts(stats_log)
    print("standin: " + json.dumps(report))
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def cmd_nvidia(args: argparse.Namespace) -> int:
    """The NVIDIA and Microsoft archives, the CUDA tree and TensorRT's link stubs the gpu profile
    builds on (specgen/standin), from PyPI, npm and Debian."""
    cmd = [sys.executable, "-m", "specgen.standin", *args.nvidia_args]
    return subprocess.run(cmd, cwd=TOP, check=False).returncode


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="scripts/run standin", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    top.add_argument("--untested-os", action="store_true",
                     help="try a Debian-like OS other than Debian 12 (never tried)")  # fmt: skip
    sub = top.add_subparsers(dest="command", required=True)
    install = sub.add_parser("install", help="apt-get install what is missing (root)")
    install.add_argument("--quiet", action="store_true")
    install.set_defaults(run=cmd_install)
    sub.add_parser("check", help="exit 1 when Debian packages are missing").set_defaults(
        run=cmd_check
    )
    hook = sub.add_parser("cmake-args", help="print triton_extra_cmake_args for a sysroot")
    hook.add_argument("--sysroot", type=Path, required=True)
    hook.add_argument("--profile", default="cpu")
    hook.add_argument("--no-ccache", action="store_true")
    hook.add_argument("--nvidia", type=Path, default=NVIDIA)
    hook.set_defaults(run=cmd_cmake_args)
    build = sub.add_parser("build", help="libraries, sysroot, then the server")
    build.add_argument("--profile", default="cpu")
    build.add_argument("--specs", type=Path, default=TOP / "specs")
    build.add_argument("--repo", type=Path, default=TOP / "repo")
    build.add_argument("--workdir", type=Path, default=TOP / "build")
    build.add_argument("--lock-overlay", type=Path,
                       help="passed to specgen build (e.g. sources/overlay-shared-r25.03.toml)")
    build.add_argument("-j", "--jobs", type=int, default=1)
    build.add_argument("--no-ccache", action="store_true")
    build.add_argument("--nvidia", type=Path, default=NVIDIA,
                       help="what `standin nvidia layout` made (the gpu profile's {nvidia})")
    build.add_argument("--report", type=Path, help="write the times (JSON) here")
    build.add_argument("specgen_args", nargs=argparse.REMAINDER,
                       help="after --: more specgen build arguments (--lock, --downloads, ...)")
    build.set_defaults(run=cmd_build)
    nvidia = sub.add_parser("nvidia", help="the NVIDIA stand-in: pin, fetch, layout "
                            "(python -m specgen.standin; docs/gpu-build.md)")  # fmt: skip
    nvidia.add_argument("nvidia_args", nargs=argparse.REMAINDER)
    nvidia.set_defaults(run=cmd_nvidia)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "specgen_args", None) and args.specgen_args[0] == "--":
        args.specgen_args = args.specgen_args[1:]
    try:
        return int(args.run(args))
    except StandinError as err:
        print(f"standin: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
