"""X OAuth 2.0 Authorization Code with PKCE, client side (PLATFORMS.md §1.4).

The flow the caller drives (it stores ``state`` → verifier between steps 1 and 2)::

    pkce, state = new_pkce_pair(), new_state()
    url = client.authorize_url(redirect_uri=..., state=state, code_challenge=pkce.challenge)
    # ... the person approves; X redirects to redirect_uri?code=...&state=...
    tokens = client.exchange_code(code=..., redirect_uri=..., code_verifier=pkce.verifier)
    user = client.me(access_token=tokens.access_token)
    # later, before tokens.expires_at:
    tokens = client.refresh(refresh_token=tokens.refresh_token)   # persist the new pair at once

Refresh tokens are single-use and rotate: persist the returned pair atomically before using it,
and refresh under a per-account lock; a spent one raises :class:`AuthExpiredError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from adapters.errors import PermanentError
from adapters.oauth import (
    OAuthConfigError,
    classify_token_endpoint_error,
    expires_at,
    success_object,
)
from adapters.transport import bearer, send
from adapters.x_errors import classify_x_response
from config import Settings

X_SCOPES = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
_CONFIG_HINT = "Check NEWSRELAY_X__CLIENT_ID and NEWSRELAY_X__CLIENT_SECRET."


@dataclass(frozen=True)
class XOAuthApp:
    """newsrelay's X app (a confidential client) and the hosts it talks to."""

    client_id: str
    client_secret: str = field(repr=False)
    api_base_url: str
    authorize_base_url: str


def x_oauth_app(settings: Settings) -> XOAuthApp:
    """The X app from settings; OAuthConfigError naming the variables when one is missing."""
    secret = settings.x.client_secret.get_secret_value() if settings.x.client_secret else ""
    if not settings.x.client_id or not secret:
        raise OAuthConfigError(
            "Connecting X accounts needs newsrelay's X app: set NEWSRELAY_X__CLIENT_ID and "
            "NEWSRELAY_X__CLIENT_SECRET (OAuth 2.0 Client ID and Client Secret of a Web App)."
        )
    return XOAuthApp(
        client_id=settings.x.client_id,
        client_secret=secret,
        api_base_url=(settings.x.base_url or "https://api.x.com").rstrip("/"),
        authorize_base_url=(settings.x.authorize_base_url or "https://x.com").rstrip("/"),
    )


@dataclass(frozen=True)
class XTokens:
    """A token pair.  ``refresh_token`` is None without ``offline.access``."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class XUser:
    """The account a token acts for (``GET /2/users/me``)."""

    id: str
    name: str
    username: str


class XOAuthClient:
    """X's authorize URL, token endpoint (code, refresh, revoke) and ``users/me``."""

    def __init__(self, *, app: XOAuthApp, client: httpx.Client) -> None:
        self.app = app
        self.client = client

    def authorize_url(
        self,
        *,
        redirect_uri: str,
        state: str,
        code_challenge: str,
        scopes: tuple[str, ...] = X_SCOPES,
    ) -> str:
        """Where to send the person: X's consent page (S256 PKCE)."""
        query = {
            "response_type": "code",
            "client_id": self.app.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.app.authorize_base_url}/i/oauth2/authorize?{urlencode(query)}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> XTokens:
        """Trade the callback's ``code`` for tokens; AuthExpiredError when X refuses the code
        or verifier (a code lives 30 seconds and works once)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": self.app.client_id,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        return self._token_call(form, action="exchange the authorization code", secret=code)

    def refresh(self, *, refresh_token: str) -> XTokens:
        """The rotated pair; the old refresh token is dead from now on (persist the new one
        before anything else).  AuthExpiredError when X refuses it."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.app.client_id,
        }
        return self._token_call(form, action="refresh the access token", secret=refresh_token)

    def revoke(self, *, token: str) -> None:
        """Revoke an access or refresh token (disconnecting a channel)."""
        response = self._post(
            "/2/oauth2/revoke",
            {"token": token, "client_id": self.app.client_id},
            action="revoke the token",
        )
        if not response.is_success:
            raise self._token_error(response, action="revoke the token", secret=token)

    def me(self, *, access_token: str) -> XUser:
        """The account the token acts for; AuthExpiredError for an expired or revoked token."""
        action = "read the connected account"
        response = send(
            self.client,
            "GET",
            f"{self.app.api_base_url}/2/users/me",
            platform="X",
            action=action,
            publishes=False,
            headers=bearer(access_token),
        )
        if not response.is_success:
            raise classify_x_response(
                response, action=f"to {action}", secrets=(access_token, self.app.client_secret)
            )
        data = success_object(response, platform="X", action=action).get("data")
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) for k in ("id", "name", "username")
        ):
            raise PermanentError("X answered users/me without data.id, name and username.")
        return XUser(id=data["id"], name=data["name"], username=data["username"])

    # --- the token endpoint --------------------------------------------------------------------
    def _post(self, path: str, form: dict[str, str], *, action: str) -> httpx.Response:
        # X's Web Apps are confidential clients: Basic client_id:client_secret (§1.4).
        return send(
            self.client,
            "POST",
            f"{self.app.api_base_url}{path}",
            platform="X",
            action=action,
            publishes=False,
            data=form,
            auth=httpx.BasicAuth(self.app.client_id, self.app.client_secret),
        )

    def _token_call(self, form: dict[str, str], *, action: str, secret: str) -> XTokens:
        response = self._post("/2/oauth2/token", form, action=action)
        if not response.is_success:
            raise self._token_error(response, action=action, secret=secret)
        return _parse_tokens(success_object(response, platform="X", action=action))

    def _token_error(self, response: httpx.Response, *, action: str, secret: str) -> Exception:
        return classify_token_endpoint_error(
            response,
            platform="X",
            action=action,
            secrets_=(secret, self.app.client_secret),
            config_hint=_CONFIG_HINT,
        )


def _parse_tokens(body: dict[str, Any]) -> XTokens:
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise PermanentError("X answered the token request without an access_token.")
    refresh = body.get("refresh_token")
    scope = body.get("scope")
    return XTokens(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=expires_at(body.get("expires_in")),
        scopes=tuple(scope.split()) if isinstance(scope, str) else (),
    )
