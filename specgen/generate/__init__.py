"""Stage 4, generate: a Recipe, its graph and mapping, and a release's facts in; specs out.

In: the Recipe, the dependency graph, the mapped image packages, the release facts
(data/releases/, release.py), the package data (data/packages/, pkgdata.py) and NVIDIA's redist
manifests (data/manifests/, redist.py). Out (generation.py): one spec and its signatures per
package, the source lock that pins every Source (lock.py, pins.py), and the spec graph. The
package models (package.py; prebuilt.py, sourcebuild.py, triton.py build them) are rendered by
render.py with the jinja2 templates in templates/; speclang.py checks every value first.
history.py carries changelogs over; releasediff.py says what changed between two releases.
"""
