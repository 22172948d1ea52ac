"""Pages show people's names, not actor strings: ``user:<username>`` becomes the person's
display name (read once per page), ``key:<name>`` "API key <name>", the service "newsrelay"."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from scheduler.access.auth import create_user
from scheduler.db.engine import session_scope
from scheduler.models import Role
from scheduler.web.deps import env
from scheduler.web.people import People, actor_name, display_names

PASSWORD = "correct-horse-battery"
NAMES = {"editor": "Aisha Khan", "ops": "ops"}


@pytest.mark.parametrize(
    ("actor", "shown"),
    [
        ("user:editor", "Aisha Khan"),
        ("user:ops", "ops"),
        ("user:gone", "gone"),  # a deleted user still reads as their login, not "user:gone"
        ("key:cms-bot", "API key cms-bot"),
        ("system", "newsrelay"),
        ("scheduler", "newsrelay"),
        ("webhook", "the CMS webhook"),
        ("feed", "the RSS feed"),
        ("cli", "the command line"),
        ("cli:first-run", "the command line"),
        ("login:10.0.0.1/eve", "a sign-in attempt (10.0.0.1/eve)"),
        ("something-else", "something-else"),
        ("", ""),
        (None, ""),
    ],
)
def test_actor_strings_map_to_the_words_a_page_shows(actor: str | None, shown: str) -> None:
    assert actor_name(actor, NAMES) == shown


def test_users_get_a_display_name_defaulting_to_the_username(engine: Engine) -> None:
    with session_scope(engine) as s:
        create_user(
            session=s,
            username="aisha",
            password=PASSWORD,
            role=Role.EDITOR,
            display_name="  Aisha   Khan ",
        )
        create_user(session=s, username="omar", password=PASSWORD, role=Role.OPS)
    with Session(engine) as s:
        assert display_names(session=s) == {"aisha": "Aisha Khan", "omar": "omar"}
    with session_scope(engine) as s, pytest.raises(ValueError, match="name: at most 200"):
        create_user(
            session=s, username="long", password=PASSWORD, role=Role.OPS, display_name="x" * 201
        )


def test_one_page_reads_the_users_once_and_only_when_it_shows_a_person(engine: Engine) -> None:
    with session_scope(engine) as s:
        create_user(
            session=s, username="aisha", password=PASSWORD, role=Role.EDITOR, display_name="Aisha"
        )
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with Session(engine) as s:
            people = People(s)
            assert people("system") == "newsrelay"
            assert people("key:bot") == "API key bot"
            assert people.queries == 0 and statements == []
            assert [people("user:aisha"), people("user:aisha"), people("user:nobody")] == [
                "Aisha",
                "Aisha",
                "nobody",
            ]
            assert people.queries == 1
            assert len([q for q in statements if "app_user" in q]) == 1
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_the_person_filter_uses_the_pages_names_and_falls_back_without_them(
    engine: Engine,
) -> None:
    with session_scope(engine) as s:
        create_user(
            session=s, username="aisha", password=PASSWORD, role=Role.EDITOR, display_name="Aisha"
        )
    template = env.from_string("{{ a | person }} / {{ b | person }}")
    with Session(engine) as s:
        html = template.render(a="user:aisha", b="key:cms", people=People(s))
    assert html == "Aisha / API key cms"
    # Without the page's People (a macro imported without context): the login, never "user:".
    assert template.render(a="user:aisha", b="system") == "aisha / newsrelay"
    # Names are escaped like any other text.
    with session_scope(engine) as s:
        create_user(
            session=s, username="x", password=PASSWORD, role=Role.OPS, display_name="<b>X</b>"
        )
    with Session(engine) as s:
        html = template.render(a="user:x", b="", people=People(s))
    assert html == "&lt;b&gt;X&lt;/b&gt; / "
