"""Stage 9, lint: a spec's text in; findings against Azure Linux 3.0's spec rules out.

In: spec text only: no files read, nothing run (the command line runs `rpmspec -P` with build's
macro file and rpmlint). specparse.py reads just enough of a spec's structure (sections,
packages, tags, line numbers); rules.py holds the rules; spdx.py checks `License:` against the
SPDX identifiers in data/spdx-licenses.txt. Out: one finding per broken rule, with its line.
"""
