"""X's OAuth 2.0 authorization server: Authorization Code with PKCE (PLATFORMS.md §1.4).

- ``GET /i/oauth2/authorize`` approves at once as the sandbox's logged-in X user and redirects
  (302) to ``redirect_uri`` with ``code`` and ``state``.  An unknown ``client_id`` or an
  unregistered ``redirect_uri`` shows X's error page and never redirects; other problems are
  reported to the redirect URI (RFC 6749 §4.1.2.1).
- ``POST /2/oauth2/token``: ``authorization_code`` (PKCE verifier checked, confidential client:
  Basic auth required) and ``refresh_token`` (single use, rotating).
- ``POST /2/oauth2/revoke`` and ``GET /2/users/me``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import urlencode

from adapters.sandbox import bodies, oauth_bodies
from adapters.sandbox.calls import Call, run_unfaulted
from adapters.sandbox.grants import DEFAULT_X_USER, X_CODE_SECONDS, AuthCode, GrantBook, Token
from adapters.sandbox.state import SandboxState
from adapters.sandbox.wire import Request, Response

KNOWN_SCOPES = frozenset(
    {
        "tweet.read",
        "tweet.write",
        "tweet.moderate.write",
        "users.read",
        "users.email",
        "follows.read",
        "follows.write",
        "offline.access",
        "space.read",
        "mute.read",
        "mute.write",
        "like.read",
        "like.write",
        "list.read",
        "list.write",
        "block.read",
        "block.write",
        "bookmark.read",
        "bookmark.write",
        "media.write",
        "dm.read",
        "dm.write",
    }
)
# RFC 7636 §4.1: 43 to 128 unreserved characters.
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_MAX_STATE = 500


def x_user_profile(user_id: str) -> dict[str, str]:
    """``{"id", "name", "username"}`` of a sandbox X user."""
    if user_id == DEFAULT_X_USER:
        return {"id": user_id, "name": "Sandbox Newsroom", "username": "sandbox_newsroom"}
    return {"id": user_id, "name": f"Sandbox User {user_id}", "username": f"sandbox_{user_id}"}


def challenge_of(verifier: str, method: str) -> str:
    """The PKCE challenge a verifier answers to (S256: BASE64URL(SHA256(verifier)))."""
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


# --- GET /i/oauth2/authorize --------------------------------------------------------------------
def authorize(state: SandboxState, request: Request) -> Response:
    """Approve at once and redirect with a code, or refuse as X does."""
    query = request.query
    apps = state.grants.apps
    redirect_uri = query.get("redirect_uri")
    if query.get("client_id") != apps.x_client_id or not apps.redirect_allowed(redirect_uri):
        return oauth_bodies.x_authorize_refused()
    assert redirect_uri is not None  # redirect_allowed() refuses None
    client_state = query.get("state")
    problem = _authorize_problem(query)
    if problem is not None:
        return _redirect(
            redirect_uri, {"error": problem[0], "error_description": problem[1]}, client_state
        )
    code = AuthCode(
        value=secrets.token_urlsafe(48),
        platform="x",
        subject=state.grants.x_login,
        client_id=apps.x_client_id,
        redirect_uri=redirect_uri,
        scopes=tuple(query["scope"].split()),
        expires_at=state.grants.now() + X_CODE_SECONDS,
        challenge=query["code_challenge"],
        challenge_method=query.get("code_challenge_method") or "plain",
    )
    return _redirect(redirect_uri, {"code": state.grants.new_code(code)}, client_state)


def _authorize_problem(query: dict[str, str]) -> tuple[str, str] | None:
    if query.get("response_type") != "code":
        return "unsupported_response_type", "response_type must be code."
    scopes = (query.get("scope") or "").split()
    if not scopes or not set(scopes) <= KNOWN_SCOPES:
        return "invalid_scope", "One or more scopes are unknown or missing."
    if not query.get("code_challenge"):
        return "invalid_request", "Missing required parameter [code_challenge]."
    if query.get("code_challenge_method", "plain") not in ("S256", "plain"):
        return "invalid_request", "code_challenge_method must be S256 or plain."
    if len(query.get("state") or "") > _MAX_STATE:
        return "invalid_request", f"state must be at most {_MAX_STATE} characters."
    return None


def _redirect(uri: str, params: dict[str, str], client_state: str | None) -> Response:
    if client_state is not None:
        params["state"] = client_state
    separator = "&" if "?" in uri else "?"
    return Response(302, None, {"Location": f"{uri}{separator}{urlencode(params)}"})


# --- the /2/oauth2 endpoints --------------------------------------------------------------------
def handle(state: SandboxState, request: Request, base_url: str) -> Response | None:
    """Serve ``/2/oauth2/token``, ``/2/oauth2/revoke`` and ``/2/users/me``; None otherwise."""
    path, method = request.path.rstrip("/"), request.method
    if path == "/2/oauth2/token" and method == "POST":
        return run_unfaulted(Call(state, request, base_url, "x", "oauth_token"), token)
    if path == "/2/oauth2/revoke" and method == "POST":
        return run_unfaulted(Call(state, request, base_url, "x", "oauth_revoke"), revoke)
    return None


def _client_authenticated(grants: GrantBook, request: Request) -> bool:
    """Basic ``client_id:client_secret``: X's Web Apps are confidential clients (§1.4)."""
    scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    client_id, _, secret = decoded.partition(":")
    apps = grants.apps
    return secrets.compare_digest(client_id, apps.x_client_id) and secrets.compare_digest(
        secret, apps.x_client_secret
    )


def token(call: Call) -> Response:
    """``POST /2/oauth2/token`` (form-encoded)."""
    request, grants = call.request, call.state.grants
    grant_type = request.form.get("grant_type")
    if not grant_type:
        return oauth_bodies.x_missing_parameter("grant_type")
    if grant_type not in ("authorization_code", "refresh_token"):
        return oauth_bodies.x_unsupported_grant()
    # client_id is required in the body even when Basic auth carries it (observed).
    if not request.form.get("client_id"):
        return oauth_bodies.x_missing_parameter("client_id")
    if not _client_authenticated(grants, request):
        return oauth_bodies.x_bad_client_auth()
    if grant_type == "authorization_code":
        return _exchange_code(call, grants, request.form)
    return _refresh(call, grants, request.form.get("refresh_token"))


def _exchange_code(call: Call, grants: GrantBook, form: dict[str, str]) -> Response:
    for name in ("code", "redirect_uri", "code_verifier"):
        if not form.get(name):
            return oauth_bodies.x_missing_parameter(name)
    code, status = grants.take_code(form["code"])
    verifier = form["code_verifier"]
    if (
        code is None
        or status != "ok"
        or code.platform != "x"
        or code.client_id != form["client_id"]
        or code.redirect_uri != form["redirect_uri"]
        or not _VERIFIER.match(verifier)
        or not secrets.compare_digest(
            challenge_of(verifier, code.challenge_method or "plain"), code.challenge or ""
        )
    ):
        return oauth_bodies.x_bad_code()
    call.account = code.subject
    return _token_response(grants, code.subject, code.scopes, grant_id=None)


def _refresh(call: Call, grants: GrantBook, refresh_token: str | None) -> Response:
    if not refresh_token:
        return oauth_bodies.x_missing_parameter("refresh_token")
    # Single use and rotating: the lookup spends it, so a reuse or a racing second refresh
    # gets the real 400 (PLATFORMS.md §1.4).
    found = grants.spend(refresh_token, "x_refresh")
    if not found.valid or found.token is None:
        return oauth_bodies.x_bad_token()
    old = found.token
    call.account = old.subject
    return _token_response(grants, old.subject, old.scopes, grant_id=old.grant_id)


def _token_response(
    grants: GrantBook, subject: str, scopes: tuple[str, ...], *, grant_id: str | None
) -> Response:
    ttl = grants.token_ttl_seconds
    access = grants.issue("x_access", subject, scopes, lifetime=ttl, grant_id=grant_id)
    body: dict[str, Any] = {
        "token_type": "bearer",
        "expires_in": ttl,
        "access_token": access.value,
        "scope": " ".join(scopes),
    }
    # "If this scope is not passed, we will not generate a refresh token" (§1.4).
    if "offline.access" in scopes:
        refresh: Token = grants.issue(
            "x_refresh", subject, scopes, lifetime=None, grant_id=access.grant_id
        )
        body["refresh_token"] = refresh.value
    return Response(200, body)


def revoke(call: Call) -> Response:
    """``POST /2/oauth2/revoke``: always ``{"revoked": true}`` for an authenticated client."""
    request, grants = call.request, call.state.grants
    if not request.form.get("token"):
        return oauth_bodies.x_missing_parameter("token")
    if not _client_authenticated(grants, request):
        return oauth_bodies.x_bad_client_auth()
    # RFC 7009 §2.2: an unknown or already invalid token is not an error.
    grants.revoke_token(request.form["token"])
    return Response(200, {"revoked": True})


def users_me(call: Call) -> Response:
    """``GET /2/users/me`` for the token's user."""
    if call.account is None:
        return bodies.x_unauthorized()
    return Response(200, {"data": x_user_profile(call.account)})
