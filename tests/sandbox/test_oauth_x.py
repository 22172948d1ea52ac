"""X's authorization server in the sandbox, driven by the real OAuth client over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.errors import AuthExpiredError, PermissionDeniedError
from adapters.oauth import new_pkce_pair, new_state
from adapters.sandbox import SandboxClient, SandboxServer
from adapters.x_oauth import XOAuthApp, XOAuthClient, XTokens
from config import Settings
from config.settings import SANDBOX_X_CLIENT_ID, SANDBOX_X_CLIENT_SECRET

CALLBACK = "http://127.0.0.1:8000/oauth/x/callback"
SPENT_BODY = {
    "error": "invalid_request",
    "error_description": "Value passed for the token was invalid.",
}


def _app(url: str, *, secret: str = SANDBOX_X_CLIENT_SECRET) -> XOAuthApp:
    return XOAuthApp(
        client_id=SANDBOX_X_CLIENT_ID,
        client_secret=secret,
        api_base_url=url,
        authorize_base_url=url,
    )


@pytest.fixture
def x_oauth(sandbox: SandboxServer, http: httpx.Client) -> XOAuthClient:
    return XOAuthClient(app=_app(sandbox.url), client=http)


def _approve(oauth: XOAuthClient, http: httpx.Client) -> tuple[str, str]:
    """Run the authorize step; the callback's code and the PKCE verifier."""
    pkce, state = new_pkce_pair(), new_state()
    url = oauth.authorize_url(redirect_uri=CALLBACK, state=state, code_challenge=pkce.challenge)
    response = http.get(url)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0], pkce.verifier


def _connect(oauth: XOAuthClient, http: httpx.Client) -> XTokens:
    code, verifier = _approve(oauth, http)
    return oauth.exchange_code(code=code, redirect_uri=CALLBACK, code_verifier=verifier)


def test_full_x_flow_authorize_token_me_then_post(
    x_oauth: XOAuthClient, http: httpx.Client, admin: SandboxClient
) -> None:
    tokens = _connect(x_oauth, http)

    assert tokens.refresh_token and tokens.expires_at is not None
    assert set(tokens.scopes) == {
        "tweet.read",
        "tweet.write",
        "users.read",
        "media.write",
        "offline.access",
    }
    user = x_oauth.me(access_token=tokens.access_token)
    assert (user.id, user.username) == ("1700000000000000001", "sandbox_newsroom")
    posted = http.post(
        "/2/tweets",
        json={"text": "Connected for real"},
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert posted.status_code == 201
    assert [p["account"] for p in admin.posts(platform="x")] == [user.id]
    # Nothing secret reaches the request log.
    logged = str(admin.requests())
    assert tokens.access_token not in logged and tokens.refresh_token not in logged


def test_wrong_verifier_is_refused_and_spends_the_code(
    x_oauth: XOAuthClient, http: httpx.Client
) -> None:
    code, verifier = _approve(x_oauth, http)

    with pytest.raises(AuthExpiredError, match="Value passed for the authorization code") as err:
        x_oauth.exchange_code(
            code=code, redirect_uri=CALLBACK, code_verifier=new_pkce_pair().verifier
        )
    assert code not in str(err.value)
    with pytest.raises(AuthExpiredError):
        x_oauth.exchange_code(code=code, redirect_uri=CALLBACK, code_verifier=verifier)


def test_wrong_basic_auth_is_refused_with_xs_words(
    sandbox: SandboxServer, x_oauth: XOAuthClient, http: httpx.Client
) -> None:
    code, verifier = _approve(x_oauth, http)
    wrong = XOAuthClient(app=_app(sandbox.url, secret="not-the-secret"), client=http)

    with pytest.raises(PermissionDeniedError, match="Missing valid authorization header") as err:
        wrong.exchange_code(code=code, redirect_uri=CALLBACK, code_verifier=verifier)
    assert "not-the-secret" not in str(err.value)
    raw = http.post(
        "/2/oauth2/token",
        data={"grant_type": "authorization_code", "client_id": SANDBOX_X_CLIENT_ID, "code": code},
    )
    assert raw.status_code == 401
    assert raw.json()["error"] == "unauthorized_client"


def test_refresh_rotates_and_reusing_the_old_token_gives_the_real_400(
    x_oauth: XOAuthClient, http: httpx.Client
) -> None:
    first = _connect(x_oauth, http)
    assert first.refresh_token is not None

    second = x_oauth.refresh(refresh_token=first.refresh_token)

    assert second.refresh_token and second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert x_oauth.me(access_token=second.access_token).id == "1700000000000000001"
    reuse = http.post(
        "/2/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.refresh_token,
            "client_id": SANDBOX_X_CLIENT_ID,
        },
        auth=(SANDBOX_X_CLIENT_ID, SANDBOX_X_CLIENT_SECRET),
    )
    assert reuse.status_code == 400
    assert reuse.json() == SPENT_BODY
    with pytest.raises(AuthExpiredError, match="Value passed for the token was invalid"):
        x_oauth.refresh(refresh_token=first.refresh_token)
    # The rotated one still works exactly once.
    assert x_oauth.refresh(refresh_token=second.refresh_token).access_token


@pytest.fixture
def short_lived_sandbox() -> Iterator[SandboxServer]:
    ttl = Settings(sandbox_token_ttl_seconds=60).sandbox_token_ttl_seconds
    with SandboxServer(token_ttl_seconds=ttl) as server:
        yield server


def test_access_tokens_expire_after_the_ttl_with_the_real_401(
    short_lived_sandbox: SandboxServer,
) -> None:
    with httpx.Client(base_url=short_lived_sandbox.url) as http:
        oauth = XOAuthClient(app=_app(short_lived_sandbox.url), client=http)
        tokens = _connect(oauth, http)
        auth = {"Authorization": f"Bearer {tokens.access_token}"}
        assert http.post("/2/tweets", json={"text": "before"}, headers=auth).status_code == 201

        http.post("/_sandbox/oauth/advance", json={"seconds": 61}).raise_for_status()

        late = http.post("/2/tweets", json={"text": "after"}, headers=auth)
        assert late.status_code == 401
        assert late.json() == {
            "title": "Unauthorized",
            "type": "about:blank",
            "status": 401,
            "detail": "Unauthorized",
        }
        with pytest.raises(AuthExpiredError):
            oauth.me(access_token=tokens.access_token)
        assert tokens.refresh_token is not None
        fresh = oauth.refresh(refresh_token=tokens.refresh_token)
        assert oauth.me(access_token=fresh.access_token).username == "sandbox_newsroom"


def test_revoked_grant_makes_the_refresh_fail_in_xs_words(
    x_oauth: XOAuthClient, http: httpx.Client, admin: SandboxClient
) -> None:
    tokens = _connect(x_oauth, http)
    assert tokens.refresh_token is not None

    assert admin.revoke_grants("1700000000000000001") == 2
    with pytest.raises(AuthExpiredError, match="Value passed for the token was invalid"):
        x_oauth.refresh(refresh_token=tokens.refresh_token)
    with pytest.raises(AuthExpiredError):
        x_oauth.me(access_token=tokens.access_token)


def test_revoke_endpoint_kills_the_access_token(x_oauth: XOAuthClient, http: httpx.Client) -> None:
    tokens = _connect(x_oauth, http)

    x_oauth.revoke(token=tokens.access_token)

    with pytest.raises(AuthExpiredError):
        x_oauth.me(access_token=tokens.access_token)


def test_unknown_token_is_401_while_seeded_tokens_still_work(http: httpx.Client) -> None:
    unknown = http.post(
        "/2/tweets", json={"text": "x"}, headers={"Authorization": "Bearer made-up-token"}
    )
    seeded = http.post(
        "/2/tweets",
        json={"text": "x"},
        headers={"Authorization": "Bearer sandbox-token-1700000000000000001"},
    )

    assert unknown.status_code == 401
    assert seeded.status_code == 201


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ({"redirect_uri": "https://evil.example/callback"}, "unregistered redirect_uri"),
        ({"client_id": "someone-else"}, "unknown client"),
    ],
)
def test_authorize_shows_xs_error_page_and_never_redirects(
    x_oauth: XOAuthClient, http: httpx.Client, override: dict[str, str], why: str
) -> None:
    url = urlsplit(x_oauth.authorize_url(redirect_uri=CALLBACK, state="s", code_challenge="c" * 43))
    params = {k: v[0] for k, v in parse_qs(url.query).items()} | override

    response = http.get(url.path, params=params)

    assert response.status_code == 400, why
    assert "location" not in response.headers
    assert "You weren&#8217;t able to give access to the App" in response.text


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"scope": "tweet.read tweet.everything"}, "invalid_scope"),
        ({"code_challenge_method": "S512"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_authorize_reports_other_problems_to_the_redirect_uri(
    x_oauth: XOAuthClient, http: httpx.Client, override: dict[str, str], error: str
) -> None:
    url = urlsplit(
        x_oauth.authorize_url(redirect_uri=CALLBACK, state="st", code_challenge="c" * 43)
    )
    params = {k: v[0] for k, v in parse_qs(url.query).items()} | override

    response = http.get(url.path, params=params)

    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == [error] and query["state"] == ["st"]
    assert "code" not in query


def test_registered_redirect_uris_are_matched_exactly() -> None:
    with SandboxServer(redirect_uris=[CALLBACK]) as server, httpx.Client() as http:
        oauth = XOAuthClient(app=_app(server.url), client=http)
        good = oauth.authorize_url(redirect_uri=CALLBACK, state="s", code_challenge="c" * 43)
        other = oauth.authorize_url(redirect_uri=CALLBACK + "/", state="s", code_challenge="c" * 43)

        assert http.get(good).status_code == 302
        assert http.get(other).status_code == 400
