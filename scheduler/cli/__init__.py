"""The ``newsrelay`` command line, one module per command group.

The Typer app lives in :mod:`scheduler.cli.app` (``python -m scheduler.cli.app``); this package
does not import it, so that running that module does not find it already imported.
"""
