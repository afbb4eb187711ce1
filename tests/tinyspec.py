"""The smallest real spec: a noarch package holding one file, for tests that need real RPMs."""

from __future__ import annotations

_SPEC = """Name:           {name}
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

%files
/usr/share/{name}/file
"""


def tiny_spec(name: str, build: str = "true") -> str:
    """Spec text for package `name` whose %build runs `build`."""
    return _SPEC.format(name=name, build=build)
