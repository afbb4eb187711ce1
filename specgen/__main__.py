"""`python -m specgen`: the same command line as the `specgen` entry point."""

from specgen.cli.main import main

main()
