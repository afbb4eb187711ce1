"""The smallest real spec: a noarch package holding one file, for tests that need real RPMs;
and a specs folder of them, laid out as `specgen generate` writes one."""

from __future__ import annotations

from pathlib import Path

import networkx as nx

_SPEC = """{switches}Name:           {name}
Version:        1
Release:        1
Summary:        test package {name}
License:        MIT
BuildArch:      noarch

%description
test package {name}

%build
{build}

%install
mkdir -p %{{buildroot}}/usr/share/{name}
echo {name} > %{{buildroot}}/usr/share/{name}/file
{install}

%files
/usr/share/{name}/file
{files}
%changelog
* Wed Mar 26 2025 specgen tests <tests@example.invalid> - 1-1
- Test package {name}.
"""

# What the generated specs set for reproducible RPMs (templates/macros.j2); a spec without it
# gets the build's clock as its build time and file mtimes.
_SWITCHES = """%global source_date_epoch_from_changelog 1
%global clamp_mtime_to_source_date_epoch 1
%global use_source_date_epoch_as_buildtime 1
"""


def tiny_spec(
    name: str,
    build: str = "true",
    install: str = "",
    reproducible: bool = True,
    files: tuple[str, ...] = (),
) -> str:
    """Spec text for package `name` whose %build runs `build` and %install ends with `install`,
    packaging `files` too; `reproducible=False` leaves out the SOURCE_DATE_EPOCH switches, as a
    hand-written spec might."""
    switches = _SWITCHES if reproducible else ""
    listed = "".join(f"{f}\n" for f in files)
    return _SPEC.format(name=name, build=build, install=install, switches=switches, files=listed)


def specs_tree(
    root: Path, packages: dict[str, tuple[str, list[str]]], texts: dict[str, str] | None = None
) -> Path:
    """root/specs/<name>/<name>.spec for each (build script, needs), graph.json and an empty
    source lock; `texts` gives some packages a whole spec text instead."""
    from specgen.generate.lock import SourceLock, write_lock
    from specgen.graph import formats as graphio
    from specgen.graph.knowledge import BUILD

    specs = root / "specs"
    g = nx.DiGraph()
    for name, (build, needs) in packages.items():
        folder = specs / name
        folder.mkdir(parents=True)
        (folder / f"{name}.spec").write_text((texts or {}).get(name) or tiny_spec(name, build))
        (folder / f"{name}.signatures.json").write_text('{"Signatures": {}}\n')
        g.add_node(name, kind=BUILD, role="package", version="1")
        for need in needs:
            g.add_edge(name, need, kind=BUILD, needs=[BUILD])
    (specs / "graph.json").write_text(graphio.to_json(g))
    write_lock(root / "sources" / "sources.lock.json", SourceLock("25.03", ()))
    return specs
