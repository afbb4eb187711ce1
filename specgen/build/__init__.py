"""Stage 6, build: generated specs, their lock and the downloaded sources in; RPMs out.

In: the specs folder that generate wrote (its build-order.json and graph.json), the source lock
and the verified files (with any lock overlay). Out: RPMs built in dependency order (plan.py,
scheduler.py) with rpmbuild on the host or mock in a clean chroot (rpmbuilder.py, with Azure
Linux's macros: rpmmacros.py), skipping what is unchanged (state.py), into a local repository
with createrepo_c metadata (localrepo.py), a .repo file (repofile.py) and signatures
(signing.py). runner.py drives it; rpmdiff.py compares two builds byte for byte.
"""
