"""Stage 5, sources: the source lock in, its files on disk and verified out.

In: the lock that generate wrote (sources/sources.lock.json), and optionally a lock overlay:
local files that stand in for some of its Sources, each with its own pin (overlay.py). Out: every
file downloaded (resumable, retried) and verified by sha256 before it counts (download.py), so
that builds never touch the network.
"""
