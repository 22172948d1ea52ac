"""Facebook Login for Pages and Instagram professional accounts, client side (PLATFORMS.md §3.1,
§4.2).

The flow the caller drives (it stores ``state`` between steps 1 and 2)::

    url = client.authorize_url(redirect_uri=..., state=new_state())
    # ... the person approves; Meta redirects to redirect_uri?code=...&state=...
    short = client.exchange_code(code=..., redirect_uri=...)     # about an hour
    user = client.long_lived(user_token=short.access_token)       # about 60 days
    pages = client.pages(user_token=user.access_token)            # Page tokens never expire
    info = client.debug_token(token=pages[0].access_token)        # expires_at None = never

Publishing needs the Page token (a user token on ``POST /{page-id}/feed`` gets code 200); the
Instagram account linked to a Page publishes with that Page's token.  Page tokens cannot be
refreshed: when one dies (190) the person connects again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from adapters.errors import AuthExpiredError, DeliveryError, PermanentError, PermissionDeniedError
from adapters.meta_errors import classify_meta_response, meta_signal
from adapters.oauth import OAuthConfigError, expires_at, from_epoch, success_object
from adapters.transport import bearer, clip, json_body, redact, send
from config import Settings

META_SCOPES = (
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "instagram_basic",
    "instagram_content_publish",
    "business_management",
)
_ACCOUNT_FIELDS = "id,name,access_token,tasks,instagram_business_account{id,username}"
# /me/accounts is paged; a newsroom manages a handful of Pages, this bounds a runaway listing.
MAX_ACCOUNT_PAGES = 20
# Token-endpoint refusals that Graph's general table does not cover (OAuth flow errors): the
# login code is dead (36007 expired, 36009 used, 36008 redirect_uri differs), or our app
# credentials are refused (1 "Error validating client secret.", 101 bad app id, 191 redirect URI
# not allowed for the app).
_DEAD_CODE_SUBCODES = (36007, 36008, 36009)
_APP_REFUSED_CODES = (101, 191)


@dataclass(frozen=True)
class MetaOAuthApp:
    """newsrelay's Meta app and the hosts and Graph version it talks to."""

    app_id: str
    app_secret: str = field(repr=False)
    graph_base_url: str
    dialog_base_url: str
    api_version: str


def meta_oauth_app(settings: Settings) -> MetaOAuthApp:
    """The Meta app from settings; OAuthConfigError naming the variables when one is missing."""
    secret = settings.meta.app_secret.get_secret_value() if settings.meta.app_secret else ""
    if not settings.meta.app_id or not secret:
        raise OAuthConfigError(
            "Connecting Facebook Pages and Instagram accounts needs newsrelay's Meta app: set "
            "NEWSRELAY_META__APP_ID and NEWSRELAY_META__APP_SECRET."
        )
    return MetaOAuthApp(
        app_id=settings.meta.app_id,
        app_secret=secret,
        graph_base_url=(settings.meta.base_url or "https://graph.facebook.com").rstrip("/"),
        dialog_base_url=(settings.meta.dialog_base_url or "https://www.facebook.com").rstrip("/"),
        api_version=settings.meta.api_version,
    )


@dataclass(frozen=True)
class MetaUserToken:
    """A Facebook user token; ``expires_at`` None when Meta gave no lifetime."""

    access_token: str = field(repr=False)
    expires_at: datetime | None


@dataclass(frozen=True)
class InstagramAccount:
    """An Instagram professional account linked to a Page."""

    id: str
    username: str | None


@dataclass(frozen=True)
class MetaPage:
    """A Page the user manages, its Page token and its linked Instagram account."""

    id: str
    name: str
    access_token: str = field(repr=False)
    tasks: tuple[str, ...]
    instagram: InstagramAccount | None


@dataclass(frozen=True)
class TokenInfo:
    """``debug_token``'s answer.  ``expires_at`` None means the token never expires."""

    is_valid: bool
    type: str | None
    app_id: str | None
    user_id: str | None
    profile_id: str | None
    expires_at: datetime | None
    scopes: tuple[str, ...]
    error: str | None = None


class MetaOAuthClient:
    """The Login dialog URL, code and long-lived exchanges, ``me/accounts``, ``debug_token``."""

    def __init__(self, *, app: MetaOAuthApp, client: httpx.Client) -> None:
        self.app = app
        self.client = client

    def _url(self, path: str) -> str:
        return f"{self.app.graph_base_url}/{self.app.api_version}/{path}"

    def authorize_url(
        self, *, redirect_uri: str, state: str, scopes: tuple[str, ...] = META_SCOPES
    ) -> str:
        """Where to send the person: the Login dialog (on www.facebook.com in production)."""
        query = {
            "client_id": self.app.app_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "response_type": "code",
            "scope": ",".join(scopes),
        }
        base = f"{self.app.dialog_base_url}/{self.app.api_version}/dialog/oauth"
        return f"{base}?{urlencode(query)}"

    def exchange_code(self, *, code: str, redirect_uri: str) -> MetaUserToken:
        """The short-lived user token for the callback's ``code`` (single use)."""
        params = {
            "client_id": self.app.app_id,
            "client_secret": self.app.app_secret,
            "redirect_uri": redirect_uri,
            "code": code,
        }
        body = self._get("oauth/access_token", params, "exchange the login code", (code,))
        return _user_token(body)

    def long_lived(self, *, user_token: str) -> MetaUserToken:
        """A long-lived (about 60 days) user token for a short-lived one."""
        params = {
            "grant_type": "fb_exchange_token",
            "client_id": self.app.app_id,
            "client_secret": self.app.app_secret,
            "fb_exchange_token": user_token,
        }
        body = self._get("oauth/access_token", params, "get a long-lived token", (user_token,))
        return _user_token(body)

    def pages(self, *, user_token: str) -> list[MetaPage]:
        """Every Page the user manages, following ``paging.next``."""
        pages: list[MetaPage] = []
        params: dict[str, str] = {"fields": _ACCOUNT_FIELDS, "limit": "100"}
        for _ in range(MAX_ACCOUNT_PAGES):
            body = self._get(
                "me/accounts", params, "list the Pages", (user_token,), token=user_token
            )
            data = body.get("data")
            pages.extend(_page(item) for item in (data if isinstance(data, list) else []))
            paging = _mapping(body.get("paging"))
            after = _mapping(paging.get("cursors")).get("after") if paging.get("next") else None
            if not after:
                break
            params = {**params, "after": str(after)}
        return pages

    def debug_token(self, *, token: str) -> TokenInfo:
        """What Meta knows of ``token`` (validity, type, expiry, scopes), via the app token."""
        app_token = f"{self.app.app_id}|{self.app.app_secret}"
        body = self._get(
            "debug_token", {"input_token": token}, "inspect a token", (token,), token=app_token
        )
        data = _mapping(body.get("data"))
        error = data.get("error") if isinstance(data.get("error"), dict) else None
        scopes = data.get("scopes")
        return TokenInfo(
            is_valid=data.get("is_valid") is True,
            type=_str(data.get("type")),
            app_id=_str(data.get("app_id")),
            user_id=_str(data.get("user_id")),
            profile_id=_str(data.get("profile_id")),
            expires_at=from_epoch(data.get("expires_at")),
            scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else (),
            error=clip(redact(str(error.get("message") or ""), (token,))) if error else None,
        )

    def _get(
        self,
        path: str,
        params: dict[str, str],
        action: str,
        secrets: Iterable[str],
        *,
        token: str | None = None,
    ) -> dict[str, Any]:
        # Tokens go in the Authorization header, never the URL; the token endpoint's own
        # parameters (code, client_secret) can only travel in its query (GET, §4.2).
        response = send(
            self.client,
            "GET",
            self._url(path),
            platform="Meta",
            action=action,
            publishes=False,
            params=params,
            headers=bearer(token) if token else None,
        )
        hidden = (*secrets, self.app.app_secret, *([token] if token else []))
        if not response.is_success:
            raise _classify(response, action=action, secrets=hidden)
        return success_object(response, platform="Meta", action=action)


def _classify(response: httpx.Response, *, action: str, secrets: tuple[str, ...]) -> DeliveryError:
    signal = meta_signal(response.status_code, json_body(response), response.headers)
    said = clip(redact(signal.message or f"HTTP {response.status_code}", secrets))
    ref = f"(code {signal.code}" + (f"/{signal.subcode}" if signal.subcode else "") + ")"
    kwargs: dict[str, Any] = {
        "http_status": response.status_code,
        "code": str(signal.code) if signal.code is not None else None,
        "subcode": str(signal.subcode) if signal.subcode is not None else None,
    }
    if signal.code == 100 and signal.subcode in _DEAD_CODE_SUBCODES:
        return AuthExpiredError(
            f"Meta refused to {action}: {said} {ref}. Connect the account again.", **kwargs
        )
    app_refused = signal.code in _APP_REFUSED_CODES or (
        signal.code == 1 and "client secret" in signal.message.lower()
    )
    if app_refused:
        return PermissionDeniedError(
            f"Meta refused newsrelay's app to {action}: {said} {ref}. Check "
            "NEWSRELAY_META__APP_ID, NEWSRELAY_META__APP_SECRET and the app's valid OAuth "
            "redirect URIs.",
            **kwargs,
        )
    error, _rule = classify_meta_response(response, platform="Meta", action=action, secrets=secrets)
    return error


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return str(value) if value is not None and value != "" else None


def _user_token(body: dict[str, Any]) -> MetaUserToken:
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise PermanentError("Meta answered the token request without an access_token.")
    return MetaUserToken(access_token=token, expires_at=expires_at(body.get("expires_in")))


def _page(item: Any) -> MetaPage:
    if not isinstance(item, dict) or not item.get("id") or not item.get("access_token"):
        raise PermanentError("Meta listed a Page without its id or Page token.")
    ig = item.get("instagram_business_account")
    tasks = item.get("tasks")
    return MetaPage(
        id=str(item["id"]),
        name=str(item.get("name") or ""),
        access_token=str(item["access_token"]),
        tasks=tuple(str(t) for t in tasks) if isinstance(tasks, list) else (),
        instagram=InstagramAccount(id=str(ig["id"]), username=_str(ig.get("username")))
        if isinstance(ig, dict) and ig.get("id")
        else None,
    )
