"""`specgen map` from the command line, against the shipped offline snapshot."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from specgen.cli.main import main

SEED_LINE = (
    "gcc gcc-c++ make kernel-headers kernel-devel python3 python3-pip python3-devel git binutils "
    "glibc-devel c-ares-devel abseil-cpp-devel cmake alib-devel openssl-devel libcurl-devel "
    "protobuf protobuf-devel libxml2 libxml2-devel re2 re2-devel rapidjson-devel boost-devel "
    "numactl-devel"
)
SEED = SEED_LINE.split()  # the install line exactly as users paste it


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_default_release_maps_completely_and_says_it_is_offline() -> None:
    result = run("map", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "offline snapshot" in result.stderr
    data = json.loads(result.stdout)
    assert data["unmapped"] == 0
    by_name = {r["name"]: r for r in data["packages"]}
    assert by_name["libre2-dev"]["packages"] == ["re2-devel"]
    assert by_name["cmake"]["constraint"] == "cmake >= 3.28.3"
    assert by_name["libb64-dev"]["kind"] == "spec"
    assert by_name["docker.io"]["kind"] == "not_needed" and by_name["docker.io"]["reason"]
    boost = [d for d in data["downloads"] if "boost" in d["name"]]
    assert boost[0]["packages"] == ["boost-devel"]
    assert len({d["name"] for d in data["downloads"]}) == len(data["downloads"])


def test_check_names_flags_alib_devel_and_accepts_provides() -> None:
    result = run("map", "--check-names", *SEED)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    missing = [line for line in lines if line.startswith("MISSING")]
    assert len(missing) == 1 and "alib-devel" in missing[0]
    assert "did you mean: zlib-devel" in missing[0]
    assert any("libcurl-devel: provide" in line for line in lines)
    assert any("numactl-devel: provide" in line for line in lines)


def test_unknown_package_exits_1_with_suggestions(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM base\nRUN apt-get install -y zlib1g-dev libzzzzfoo-dev\n")
    result = run("map", str(dockerfile))
    assert result.exit_code == 1
    assert "1 unmapped" in result.stderr and "libzzzzfoo-dev" in result.stderr


def test_every_shared_variant_maps(dryrun_dir: Path) -> None:
    for folder in sorted(p for p in dryrun_dir.glob("*/*") if p.is_dir()):
        result = run("map", str(folder), "--format", "json")
        assert result.exit_code == 0, (folder, result.stderr)
        assert json.loads(result.stdout)["unmapped"] == 0
