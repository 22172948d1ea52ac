"""The ``newsrelay`` command line, assembled from one module per command group.

Commands only parse input, call services and print.  The registration order below is the
order ``newsrelay --help`` lists them in (commands first, then groups).
"""

from __future__ import annotations

import sys

import typer

from scheduler.cli import (
    admin,
    articles,
    channels,
    db,
    deliveries,
    feeds,
    posts,
    sandbox,
    services,
    users,
)

app = typer.Typer(
    help="newsrelay: every article on every channel, on time, exactly once.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for group in (db, articles, posts, channels, deliveries, admin, users, feeds, services, sandbox):
    group.register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
