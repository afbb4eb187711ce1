"""Stage 7, host: this machine and a release's needs in; findings, each with its fix, out.

In: what a release asks of a build host (needs.py: NVIDIA's driver minimum for its CUDA from
data/cuda-drivers.toml, disk from data/build-estimates.toml and the lock's sizes) and facts about
this machine (facts.py, the only part that runs commands: OS, tools, disk, memory, GPU and
driver, the source hosts). Out: findings from pure checks (doctor.py) for `specgen doctor`, and
the space check `specgen build` makes before it starts.
"""
