"""The OAuth clients' request shapes and error classification, through httpx.MockTransport."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from adapters.errors import (
    AuthExpiredError,
    DeliveryError,
    PermanentError,
    PermissionDeniedError,
    RateLimitedError,
    RetryableError,
)
from adapters.meta_oauth import META_SCOPES, MetaOAuthApp, MetaOAuthClient, meta_oauth_app
from adapters.oauth import OAuthConfigError, new_pkce_pair
from adapters.x_oauth import X_SCOPES, XOAuthApp, XOAuthClient, x_oauth_app
from config import Settings

SECRET = "app-secret-value-1234"
REFRESH = "refresh-token-value-5678"
Handler = Callable[[httpx.Request], httpx.Response]


def _x(handler: Handler) -> XOAuthClient:
    app = XOAuthApp(
        client_id="cid",
        client_secret=SECRET,
        api_base_url="https://api.x.test",
        authorize_base_url="https://x.test",
    )
    return XOAuthClient(app=app, client=httpx.Client(transport=httpx.MockTransport(handler)))


def _meta(handler: Handler) -> MetaOAuthClient:
    app = MetaOAuthApp(
        app_id="1234",
        app_secret=SECRET,
        graph_base_url="https://graph.test",
        dialog_base_url="https://www.fb.test",
        api_version="v26.0",
    )
    return MetaOAuthClient(app=app, client=httpx.Client(transport=httpx.MockTransport(handler)))


def _answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return handler


def _raise(exc: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return handler


def test_pkce_pair_is_s256_of_a_valid_verifier() -> None:
    pair = new_pkce_pair()

    digest = hashlib.sha256(pair.verifier.encode()).digest()
    assert pair.challenge == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert 43 <= len(pair.verifier) <= 128 and pair.method == "S256"
    assert pair.verifier not in repr(pair)


def test_authorize_urls_carry_the_scopes_the_scheduler_needs() -> None:
    x_url = _x(_answer(200)).authorize_url(
        redirect_uri="http://cb", state="st", code_challenge="ch"
    )
    meta_url = _meta(_answer(200)).authorize_url(redirect_uri="http://cb", state="st")

    x_query = parse_qs(urlsplit(x_url).query)
    assert urlsplit(x_url).path == "/i/oauth2/authorize"
    assert x_query["scope"] == ["tweet.read tweet.write users.read media.write offline.access"]
    assert x_query["code_challenge_method"] == ["S256"] and x_query["response_type"] == ["code"]
    meta_query = parse_qs(urlsplit(meta_url).query)
    assert urlsplit(meta_url).path == "/v26.0/dialog/oauth"
    assert meta_query["scope"] == [",".join(META_SCOPES)]
    assert tuple(x_query["scope"][0].split()) == X_SCOPES


def test_x_refresh_sends_basic_auth_and_form_and_returns_the_rotated_pair() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {
            "token_type": "bearer",
            "expires_in": 7200,
            "access_token": "new-access",
            "refresh_token": "new-refresh",
            "scope": "tweet.read offline.access",
        }
        return httpx.Response(200, json=body)

    tokens = _x(handler).refresh(refresh_token=REFRESH)

    request = seen[0]
    assert request.url.path == "/2/oauth2/token"
    expected = base64.b64encode(f"cid:{SECRET}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    form = parse_qs(request.content.decode())
    assert form == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH],
        "client_id": ["cid"],
    }
    assert (tokens.access_token, tokens.refresh_token) == ("new-access", "new-refresh")
    assert tokens.expires_at is not None and tokens.scopes == ("tweet.read", "offline.access")
    assert "new-access" not in repr(tokens)


SPENT = {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}


@pytest.mark.parametrize(
    ("handler", "error"),
    [
        (_answer(400, SPENT), AuthExpiredError),
        (
            _answer(400, {"error": "invalid_grant", "error_description": "Token revoked"}),
            AuthExpiredError,
        ),
        (
            _answer(
                401,
                {
                    "error": "unauthorized_client",
                    "error_description": "Missing valid authorization header",
                },
            ),
            PermissionDeniedError,
        ),
        (_answer(401, {"error": "invalid_client"}), PermissionDeniedError),
        (_answer(400, {"error": "unsupported_grant_type"}), PermanentError),
        (_answer(503, {"title": "Service Unavailable"}), RetryableError),
        (_answer(429, {}, {"x-rate-limit-reset": "4102444800"}), RateLimitedError),
        (_answer(200, {"token_type": "bearer"}), PermanentError),
        (_raise(httpx.ConnectError), RetryableError),
        (_raise(httpx.ReadTimeout), RetryableError),
    ],
)
def test_x_token_endpoint_errors_are_classified(
    handler: Handler, error: type[DeliveryError]
) -> None:
    with pytest.raises(DeliveryError) as caught:
        _x(handler).refresh(refresh_token=REFRESH)

    assert type(caught.value) is error
    assert REFRESH not in caught.value.message and SECRET not in caught.value.message


def test_x_refresh_error_keeps_the_platforms_words_but_not_the_token() -> None:
    body = {"error": "invalid_request", "error_description": f"Value {REFRESH} was invalid."}

    with pytest.raises(AuthExpiredError) as caught:
        _x(_answer(400, body)).refresh(refresh_token=REFRESH)

    assert "was invalid" in caught.value.message and REFRESH not in caught.value.message
    assert caught.value.code == "invalid_request"


def test_x_rate_limit_carries_the_reset() -> None:
    with pytest.raises(RateLimitedError) as caught:
        _x(_answer(429, {}, {"x-rate-limit-reset": "4102444800"})).refresh(refresh_token=REFRESH)

    assert caught.value.reset_at is not None and caught.value.reset_at.year == 2100


def test_x_me_with_a_dead_token_is_auth_expired() -> None:
    body = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}

    with pytest.raises(AuthExpiredError):
        _x(_answer(401, body)).me(access_token="dead")


def _graph_error(code: int, message: str, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            400,
            _graph_error(190, "Error validating access token: Session has expired", 463),
            AuthExpiredError,
        ),
        (
            400,
            _graph_error(190, "Invalid OAuth access token - Cannot parse access token"),
            AuthExpiredError,
        ),
        (400, _graph_error(100, "This authorization code has been used.", 36009), AuthExpiredError),
        (400, _graph_error(100, "This authorization code has expired.", 36007), AuthExpiredError),
        (400, _graph_error(1, "Error validating client secret."), PermissionDeniedError),
        (
            400,
            _graph_error(101, "Error validating application. Invalid application ID."),
            PermissionDeniedError,
        ),
        (500, _graph_error(2, "An unexpected error has occurred."), RetryableError),
        (502, None, RetryableError),
        (400, _graph_error(4, "(#4) Application request limit reached"), RateLimitedError),
        (400, _graph_error(100, "Missing redirect_uri parameter."), PermanentError),
    ],
)
def test_meta_token_endpoint_errors_are_classified(
    status: int, body: Any, error: type[DeliveryError]
) -> None:
    with pytest.raises(DeliveryError) as caught:
        _meta(_answer(status, body)).exchange_code(code="the-code", redirect_uri="http://cb")

    assert type(caught.value) is error
    assert SECRET not in caught.value.message and "the-code" not in caught.value.message


def test_meta_unreachable_is_retryable() -> None:
    with pytest.raises(RetryableError):
        _meta(_raise(httpx.ConnectError)).long_lived(user_token="short")


def test_meta_pages_follow_paging_and_keep_tokens_out_of_urls() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "after" not in request.url.params:
            page = {"id": "1", "name": "A", "access_token": "pt1", "tasks": ["CREATE_CONTENT"]}
            paging = {"cursors": {"before": "b", "after": "c1"}, "next": "https://graph.test/n"}
            return httpx.Response(200, json={"data": [page], "paging": paging})
        ig = {"id": "178", "username": "desk"}
        page = {"id": "2", "name": "B", "access_token": "pt2", "instagram_business_account": ig}
        return httpx.Response(200, json={"data": [page], "paging": {"cursors": {"after": "c2"}}})

    pages = _meta(handler).pages(user_token="user-token")

    assert [p.id for p in pages] == ["1", "2"]
    assert pages[0].instagram is None and pages[1].instagram is not None
    assert pages[1].instagram.username == "desk"
    assert all("user-token" not in str(r.url) for r in seen)
    assert seen[0].headers["authorization"] == "Bearer user-token"
    assert "instagram_business_account{id,username}" in seen[0].url.params["fields"]


def test_meta_debug_token_zero_expiry_means_never() -> None:
    data = {"app_id": "1234", "type": "PAGE", "is_valid": True, "expires_at": 0, "scopes": ["a"]}

    info = _meta(_answer(200, {"data": data})).debug_token(token="page-token")

    assert info.is_valid and info.expires_at is None and info.scopes == ("a",)


def test_production_without_app_credentials_refuses_to_connect_and_names_the_variables() -> None:
    settings = Settings(
        environment="production",
        secret_key=SecretStr("a-real-random-secret-value-123456"),
        database_url="postgresql://db/newsrelay",
        broker_url="redis://redis:6379/0",
    )

    with pytest.raises(OAuthConfigError, match="NEWSRELAY_X__CLIENT_ID"):
        x_oauth_app(settings)
    with pytest.raises(OAuthConfigError, match="NEWSRELAY_META__APP_SECRET"):
        meta_oauth_app(settings)
    assert settings.x.authorize_base_url == "https://x.com"
    assert settings.meta.dialog_base_url == "https://www.facebook.com"


def test_outside_production_the_sandbox_apps_are_the_defaults() -> None:
    settings = Settings(environment="development")

    x_app, meta_app = x_oauth_app(settings), meta_oauth_app(settings)

    assert x_app.authorize_base_url == settings.sandbox_url == meta_app.dialog_base_url
    assert x_app.client_secret not in repr(x_app)
    assert meta_app.app_secret not in repr(meta_app)
