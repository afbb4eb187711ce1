"""`python -m specgen.standin` (scripts/standin-nvidia): pin, fetch and lay out the stand-in."""

from specgen.standin.cli import standin

standin()
