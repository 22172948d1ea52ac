"""People's names where pages show who did something.

Actors are stored as strings (``user:editor``, ``key:cms-bot``, ``system``); pages show the
person's display name instead, "API key cms-bot" for a key, and "newsrelay" for the service
itself.  The names come from one query per page, made only when a page shows a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from jinja2 import pass_context
from sqlmodel import Session, col

from scheduler.models import User

#: Actors that are not a person or a key: the service's own work and its inputs.
SERVICE_ACTORS = {
    "system": "newsrelay",
    "scheduler": "newsrelay",
    "dispatcher": "newsrelay",
    "webhook": "the CMS webhook",
    "feed": "the RSS feed",
    "cli": "the command line",
    "cli:first-run": "the command line",
}


def display_names(*, session: Session) -> dict[str, str]:
    """Every user's name to show, by username (one query; a newsroom has few users)."""
    rows = session.execute(sa.select(col(User.username), col(User.display_name))).all()
    return {str(u): str(d or u) for u, d in rows}


def actor_name(actor: str | None, names: Mapping[str, str]) -> str:
    """The words a page shows for ``actor``: a person's name, "API key <name>", "newsrelay"."""
    if not actor:
        return ""
    if actor in SERVICE_ACTORS:
        return SERVICE_ACTORS[actor]
    kind, _, name = actor.partition(":")
    if kind == "user" and name:
        return names.get(name, name)
    if kind == "key" and name:
        return f"API key {name}"
    if kind == "login" and name:
        return f"a sign-in attempt ({name})"
    return actor


class People:
    """Actor names for one page: the users are read on the first ``user:`` actor, then kept."""

    def __init__(self, session: Session | None) -> None:
        self._session = session
        self._names: dict[str, str] | None = None
        self.queries = 0  # how many times the users were read (tests check it stays at one)

    def __call__(self, actor: str | None) -> str:
        wanted = actor is not None and actor.startswith("user:")
        if wanted and self._names is None and self._session is not None:
            self._names = display_names(session=self._session)
            self.queries += 1
        return actor_name(actor, self._names or {})


@pass_context
def person_filter(context: Any, actor: str | None) -> str:
    """``{{ post.approved_by | person }}``: the page's :class:`People`, or the name without a
    lookup where no page context reaches (a macro imported without context)."""
    people = context.get("people")
    if isinstance(people, People):
        return people(actor)
    return actor_name(actor, {})
