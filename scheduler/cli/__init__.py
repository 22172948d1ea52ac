"""The ``newsrelay`` command line, one module per command group."""

from scheduler.cli.app import app, main

__all__ = ["app", "main"]
