"""Stage 8, verify: a built repository in; findings and an SBOM out.

In: the RPMs of a local repository, read by the shared rpmread, and the packages of Azure Linux
3.0 (mapping's snapshot or repodata). Out: findings from pure checks on RPM header data
(checks.py, rules in data/verify.toml), whether tdnf could install each package, resolved with
libsolv (solve.py), and an SPDX 2.3 document of the repository (sbom.py).
"""
