"""Connecting Facebook Pages and Instagram accounts over the API, against the sandbox over HTTP:
the callback makes the user token long-lived and lists the Pages; the admin's choice creates
the channels (an unseen Page) or reconnects them (Pages and Instagram accounts that already are
channels), with the Page token as the credentials of both."""

from __future__ import annotations

from adapters.sandbox import SandboxServer
from scheduler.channels import sandbox_token
from tests.api.conftest import ApiHarness
from tests.api.connect_support import (
    audit,
    channels,
    connect_api,
    connection,
    consent,
    sandbox,
    sandbox_server,
    start,
    status,
    tokens_of,
)

__all__ = ["connect_api", "sandbox", "sandbox_server"]  # fixtures
NEWSROOM_PAGE, SPORTS_PAGE, NEWSROOM_IG = "100000000000001", "100000000000002", "17841400000000001"


def _choose(api: ApiHarness, connection_id: str, **picks: list[str]) -> dict[str, object]:
    response = api.client.post(
        f"/api/v1/admin/channels/connect/meta/{connection_id}",
        json=picks,
        headers=api.headers("admin"),
    )
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def test_meta_login_lists_pages_then_the_choice_creates_and_reconnects_channels(
    connect_api: ApiHarness, sandbox: SandboxServer
) -> None:
    api = connect_api
    started = start(api, "meta")
    assert "/dialog/oauth?" in started["authorize_url"]

    page = api.client.get(consent(started["authorize_url"]))

    assert page.status_code == 200, page.text
    assert "pick the Pages" in page.text
    view = status(api, "meta", started["connection_id"])
    assert view["status"] == "choosing"
    by_id = {c["id"]: c for c in view["choices"]}
    assert set(by_id) == {NEWSROOM_PAGE, SPORTS_PAGE}
    assert by_id[NEWSROOM_PAGE]["instagram"]["id"] == NEWSROOM_IG
    assert by_id[NEWSROOM_PAGE]["channel"] == "Sandbox Facebook"  # would reconnect it
    assert by_id[SPORTS_PAGE]["instagram"] is None
    assert by_id[SPORTS_PAGE]["token_expires_at"] is None  # from a long-lived user token
    assert len(channels(api)) == 3  # nothing stored before the choice

    result = _choose(
        api, started["connection_id"], pages=[SPORTS_PAGE, NEWSROOM_PAGE], instagram=[NEWSROOM_IG]
    )

    made = {(c["platform"], c["account_id"]): c for c in result["channels"]}  # type: ignore[union-attr]
    assert made[("facebook", SPORTS_PAGE)]["reconnected"] is False
    assert made[("facebook", NEWSROOM_PAGE)]["reconnected"] is True
    assert made[("instagram", NEWSROOM_IG)]["reconnected"] is True
    stored = channels(api)
    sports = stored[("facebook", SPORTS_PAGE)]
    assert sports.name == "Facebook Sandbox Sports Desk" and sports.connected_via == "oauth"
    newsroom_token = tokens_of(api, stored[("facebook", NEWSROOM_PAGE)])["access_token"]
    assert newsroom_token != sandbox_token(NEWSROOM_PAGE)
    # The Instagram account publishes with the token of the Page it is linked to.
    assert tokens_of(api, stored[("instagram", NEWSROOM_IG)]) == {"access_token": newsroom_token}
    assert stored[("instagram", NEWSROOM_IG)].token_expires_at is None
    assert status(api, "meta", started["connection_id"])["status"] == "done"
    assert connection(api, started["connection_id"]).secrets_encrypted == ""  # tokens wiped
    assert len(audit(api, "channel.connect")) == 1
    assert len(audit(api, "channel.reconnect")) == 2


def test_a_choice_outside_the_offer_or_after_it_closed_is_refused(
    connect_api: ApiHarness, sandbox: SandboxServer
) -> None:
    api = connect_api
    started = start(api, "meta")
    api.client.get(consent(started["authorize_url"]))
    url = f"/api/v1/admin/channels/connect/meta/{started['connection_id']}"

    unknown = api.client.post(url, json={"pages": ["999"]}, headers=api.headers("admin"))
    empty = api.client.post(url, json={}, headers=api.headers("admin"))
    other_key = api.client.post(url, json={"pages": [SPORTS_PAGE]}, headers=api.headers("ops"))

    assert unknown.status_code == 409 and "Not offered" in unknown.json()["detail"]
    assert empty.status_code == 409 and "at least one" in empty.json()["detail"]
    assert other_key.status_code == 403
    assert len(channels(api)) == 3
    _choose(api, started["connection_id"], pages=[SPORTS_PAGE])
    again = api.client.post(url, json={"pages": [SPORTS_PAGE]}, headers=api.headers("admin"))
    assert again.status_code == 409 and "is done" in again.json()["detail"]
