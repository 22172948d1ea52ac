"""Meta's Login dialog and token endpoints in the sandbox, driven by the real client over HTTP."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.errors import AuthExpiredError, PermissionDeniedError
from adapters.meta_oauth import MetaOAuthApp, MetaOAuthClient, MetaPage, MetaUserToken
from adapters.oauth import new_state
from adapters.sandbox import SandboxClient, SandboxServer
from config.settings import SANDBOX_META_APP_ID, SANDBOX_META_APP_SECRET

CALLBACK = "http://127.0.0.1:8000/oauth/meta/callback"
PAGE = "100000000000001"
IG_USER = "17841400000000001"
V = "/v26.0"


def _app(url: str, *, secret: str = SANDBOX_META_APP_SECRET) -> MetaOAuthApp:
    return MetaOAuthApp(
        app_id=SANDBOX_META_APP_ID,
        app_secret=secret,
        graph_base_url=url,
        dialog_base_url=url,
        api_version="v26.0",
    )


@pytest.fixture
def meta(sandbox: SandboxServer, http: httpx.Client) -> MetaOAuthClient:
    return MetaOAuthClient(app=_app(sandbox.url), client=http)


def _code(meta: MetaOAuthClient, http: httpx.Client) -> str:
    state = new_state()
    response = http.get(meta.authorize_url(redirect_uri=CALLBACK, state=state))
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def _short(meta: MetaOAuthClient, http: httpx.Client) -> MetaUserToken:
    return meta.exchange_code(code=_code(meta, http), redirect_uri=CALLBACK)


def _newsroom(pages: list[MetaPage]) -> MetaPage:
    return next(p for p in pages if p.id == PAGE)


def test_full_meta_flow_dialog_to_page_post_with_ig_account_listed(
    meta: MetaOAuthClient, http: httpx.Client, admin: SandboxClient
) -> None:
    short = _short(meta, http)
    user = meta.long_lived(user_token=short.access_token)
    pages = meta.pages(user_token=user.access_token)

    assert short.expires_at is not None and user.expires_at is not None
    assert user.expires_at.timestamp() - time.time() > 59 * 86400
    assert {p.id for p in pages} == {PAGE, "100000000000002"}
    page = _newsroom(pages)
    assert page.instagram is not None
    assert (page.instagram.id, page.instagram.username) == (IG_USER, "sandbox_newsroom")
    assert "CREATE_CONTENT" in page.tasks
    posted = http.post(
        f"{V}/{PAGE}/feed", data={"message": "Connected", "access_token": page.access_token}
    )
    assert posted.status_code == 200, posted.text
    assert [p["account"] for p in admin.posts(platform="facebook")] == [PAGE]
    # The Page token speaks for the linked Instagram account too.
    limit = http.get(
        f"{V}/{IG_USER}/content_publishing_limit",
        headers={"Authorization": f"Bearer {page.access_token}"},
    )
    assert limit.status_code == 200
    logged = str(admin.requests())
    assert page.access_token not in logged and short.access_token not in logged


def test_debug_token_reports_expiry_never_for_page_tokens_of_a_long_lived_user(
    meta: MetaOAuthClient, http: httpx.Client
) -> None:
    short = _short(meta, http)
    user = meta.long_lived(user_token=short.access_token)
    page = _newsroom(meta.pages(user_token=user.access_token))

    short_info = meta.debug_token(token=short.access_token)
    page_info = meta.debug_token(token=page.access_token)

    assert short_info.is_valid and short_info.type == "USER"
    assert short_info.expires_at is not None
    assert abs(short_info.expires_at.timestamp() - (time.time() + 7200)) < 60
    assert "pages_manage_posts" in short_info.scopes
    assert page_info.is_valid and page_info.type == "PAGE" and page_info.profile_id == PAGE
    assert page_info.expires_at is None
    raw = http.get(
        f"{V}/debug_token",
        params={
            "input_token": page.access_token,
            "access_token": f"{SANDBOX_META_APP_ID}|{SANDBOX_META_APP_SECRET}",
        },
    )
    assert raw.json()["data"]["expires_at"] == 0


def test_expired_user_token_gets_190_463_and_debug_token_says_so(
    meta: MetaOAuthClient, http: httpx.Client, admin: SandboxClient
) -> None:
    short = _short(meta, http)
    page = _newsroom(meta.pages(user_token=short.access_token))

    admin.advance_token_clock(7201)

    listed = http.get(f"{V}/me/accounts", params={"access_token": short.access_token})
    error = listed.json()["error"]
    assert listed.status_code == 400
    assert (error["code"], error["error_subcode"], error["type"]) == (190, 463, "OAuthException")
    assert error["message"].startswith("Error validating access token: Session has expired on ")
    # A Page token derived from a short-lived user token dies with it.
    feed = http.post(f"{V}/{PAGE}/feed", data={"message": "x", "access_token": page.access_token})
    assert feed.json()["error"]["error_subcode"] == 463
    with pytest.raises(AuthExpiredError, match="Session has expired") as err:
        meta.pages(user_token=short.access_token)
    assert short.access_token not in str(err.value)
    info = meta.debug_token(token=short.access_token)
    assert not info.is_valid and info.error and "Session has expired" in info.error


def test_user_token_on_a_page_feed_gets_metas_permission_error(
    meta: MetaOAuthClient, http: httpx.Client, admin: SandboxClient
) -> None:
    user = meta.long_lived(user_token=_short(meta, http).access_token)

    response = http.post(
        f"{V}/{PAGE}/feed", data={"message": "as the user", "access_token": user.access_token}
    )

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == 200
    assert "requires both pages_read_engagement and pages_manage_posts" in error["message"]
    assert admin.posts(platform="facebook") == []


def test_code_works_once_and_only_with_its_redirect_uri(
    meta: MetaOAuthClient, http: httpx.Client
) -> None:
    code = _code(meta, http)
    with pytest.raises(AuthExpiredError, match="redirect_uri is identical"):
        meta.exchange_code(code=code, redirect_uri=CALLBACK + "?x=1")
    with pytest.raises(AuthExpiredError, match="This authorization code has been used"):
        meta.exchange_code(code=code, redirect_uri=CALLBACK)


def test_wrong_app_secret_is_a_configuration_error_without_the_secret(
    sandbox: SandboxServer, meta: MetaOAuthClient, http: httpx.Client
) -> None:
    wrong = MetaOAuthClient(app=_app(sandbox.url, secret="wrong-secret-123"), client=http)

    with pytest.raises(PermissionDeniedError, match="Error validating client secret") as err:
        wrong.exchange_code(code=_code(meta, http), redirect_uri=CALLBACK)
    assert "wrong-secret-123" not in str(err.value)


def test_unknown_and_revoked_tokens_get_190(meta: MetaOAuthClient, http: httpx.Client) -> None:
    user = meta.long_lived(user_token=_short(meta, http).access_token)
    page = _newsroom(meta.pages(user_token=user.access_token))
    unknown = http.post(f"{V}/{PAGE}/feed", data={"message": "x", "access_token": "EAAmadeup"})

    http.post("/_sandbox/oauth/revoke", json={"user": "10000000000000042"}).raise_for_status()

    revoked = http.post(
        f"{V}/{PAGE}/feed", data={"message": "x", "access_token": page.access_token}
    )
    assert unknown.json()["error"]["code"] == 190
    assert "error_subcode" not in unknown.json()["error"]
    assert (revoked.json()["error"]["code"], revoked.json()["error"]["error_subcode"]) == (190, 460)
    seeded = http.post(
        f"{V}/{PAGE}/feed", data={"message": "seeded", "access_token": f"sandbox-token-{PAGE}"}
    )
    assert seeded.status_code == 200


def test_me_accounts_honours_fields_and_pages_with_cursors(
    meta: MetaOAuthClient, http: httpx.Client
) -> None:
    user = _short(meta, http)
    auth = {"Authorization": f"Bearer {user.access_token}"}

    first = http.get(f"{V}/me/accounts", params={"fields": "id,name", "limit": "1"}, headers=auth)

    body = first.json()
    assert body["data"] == [{"id": PAGE, "name": "Sandbox Newsroom"}]
    assert set(body["paging"]["cursors"]) == {"before", "after"}
    assert "access_token" not in body["paging"]["next"]
    second = http.get(
        f"{V}/me/accounts",
        params={"fields": "id", "limit": "1", "after": body["paging"]["cursors"]["after"]},
        headers=auth,
    ).json()
    assert second["data"] == [{"id": "100000000000002"}]
    assert "next" not in second["paging"]


@pytest.mark.parametrize(
    ("override", "title"),
    [
        ({"redirect_uri": "https://evil.example/cb"}, "URL blocked"),
        ({"client_id": "123"}, "Invalid App ID"),
        ({"scope": "pages_show_list,pages_everything"}, "Invalid Scopes"),
    ],
)
def test_dialog_shows_metas_error_page_and_never_redirects(
    meta: MetaOAuthClient, http: httpx.Client, override: dict[str, str], title: str
) -> None:
    url = urlsplit(meta.authorize_url(redirect_uri=CALLBACK, state="s"))
    params = {k: v[0] for k, v in parse_qs(url.query).items()} | override

    response = http.get(url.path, params=params)

    assert response.status_code == 400
    assert "location" not in response.headers
    assert title in response.text
