"""`python -m specgen.standin` (scripts/run standin nvidia): pin, fetch and lay out the stand-in."""

from specgen.standin.cli import standin

standin()
