"""Seven days before a token that cannot renew itself expires, channel health, the editors'
queue page and ``/metrics`` say so; X tokens with a refresh token are never warned about."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from scheduler.access.crypto import encrypt_credentials
from scheduler.access.token_warnings import duration_words
from scheduler.db.engine import session_scope
from scheduler.models import Channel, utcnow
from tests.api.conftest import ApiHarness
from tests.api.test_ops_metrics_api import _metric
from tests.security.webclient import make_user, sign_in

DAY = 86400


def _expiries(api: ApiHarness, *, x_refreshable: bool) -> None:
    """Facebook's Page token in 5 days, Instagram's in 30, X's in an hour."""
    now = utcnow()
    x_credentials = {"access_token": "x-access"}
    if x_refreshable:
        x_credentials["refresh_token"] = "x-refresh"
    with session_scope(api.engine) as s:
        for platform, expires_at in (
            ("facebook", now + timedelta(days=5, minutes=1)),
            ("instagram", now + timedelta(days=30)),
            ("x", now + timedelta(hours=1, minutes=1)),
        ):
            s.execute(
                sa.update(Channel)
                .where(col(Channel.platform) == platform)
                .values(token_expires_at=expires_at)
            )
        s.execute(
            sa.update(Channel)
            .where(col(Channel.platform) == "x")
            .values(credentials_encrypted=encrypt_credentials(x_credentials, settings=api.settings))
        )


def _health_warnings(api: ApiHarness) -> dict[str, str | None]:
    response = api.client.get("/api/v1/channels", headers=api.headers("ops"))
    assert response.status_code == 200
    return {c["platform"]: c["health"]["token_warning"] for c in response.json()["channels"]}


def test_health_and_metrics_warn_of_tokens_that_cannot_renew(api: ApiHarness) -> None:
    _expiries(api, x_refreshable=True)

    warnings = _health_warnings(api)
    assert warnings == {
        "facebook": "Facebook token for Sandbox Facebook expires in 5 days — reconnect",
        "instagram": None,  # 30 days away
        "x": None,  # renews itself
    }
    text = api.client.get("/metrics").text
    left = _metric(text, "newsrelay_channel_token_expires_in_seconds", channel="Sandbox Facebook")
    assert 5 * DAY < left <= 5 * DAY + 60
    assert 'newsrelay_channel_token_expires_in_seconds{channel="Sandbox X"}' not in text
    assert 'newsrelay_channel_token_expires_in_seconds{channel="Sandbox Instagram"}' not in text


def test_an_x_token_without_a_refresh_token_is_warned_about(api: ApiHarness) -> None:
    _expiries(api, x_refreshable=False)

    assert _health_warnings(api)["x"] == "X token for Sandbox X expires in 1 hour — reconnect"
    text = api.client.get("/metrics").text
    left = _metric(text, "newsrelay_channel_token_expires_in_seconds", channel="Sandbox X")
    assert 3600 < left <= 3660


def test_an_expired_token_says_so_and_the_gauge_goes_negative(api: ApiHarness) -> None:
    with session_scope(api.engine) as s:
        s.execute(
            sa.update(Channel)
            .where(col(Channel.platform) == "facebook")
            .values(token_expires_at=utcnow() - timedelta(hours=3, minutes=1))
        )
    assert _health_warnings(api)["facebook"] == (
        "Facebook token for Sandbox Facebook expired 3 hours ago — reconnect"
    )
    text = api.client.get("/metrics").text
    assert (
        _metric(text, "newsrelay_channel_token_expires_in_seconds", channel="Sandbox Facebook") < 0
    )


def test_the_queue_page_shows_the_warning_banner(api: ApiHarness) -> None:
    page = "Facebook token for Sandbox Facebook expires in 5 days"
    make_user(api.engine, "desk")
    assert sign_in(api.client, "desk").status_code in (200, 303)
    assert page not in api.client.get("/").text  # nothing expires yet

    _expiries(api, x_refreshable=True)

    body = api.client.get("/").text
    assert page in body
    assert "X token for" not in body
    with Session(api.engine) as s:
        assert len(s.exec(select(Channel)).all()) == 3


def test_duration_words() -> None:
    assert duration_words(5 * DAY + 30) == "5 days"
    assert duration_words(DAY) == "1 day"
    assert duration_words(7200) == "2 hours"
    assert duration_words(61) == "1 minute"
    assert duration_words(5) == "less than a minute"
