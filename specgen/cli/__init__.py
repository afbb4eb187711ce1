"""The command line, last: it may import every stage, and no stage imports it.

In: arguments, files and the terminal. Out: the stages' results printed (tables with rich,
JSON, text) and exit codes; a SpecgenError anywhere below becomes one line on stderr. main.py is
the `specgen` group and `specgen parse`; every other subcommand is one module here, loaded only
when it runs (main.py's table). views.py, diffview.py and buildview.py are what the commands show.
"""
