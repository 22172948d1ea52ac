"""Meta's authorization server and token endpoints (Facebook Login, PLATFORMS.md §3.1, §4.2).

- ``GET /{v}/dialog/oauth`` (on www.facebook.com in reality) approves at once as the sandbox's
  logged-in Facebook user and redirects with ``code`` and ``state``; a bad app id or an
  unregistered redirect URI shows Meta's error page and never redirects.
- ``GET /{v}/oauth/access_token``: code → short-lived user token (``token_ttl_seconds``), and
  ``grant_type=fb_exchange_token``: short-lived → long-lived (about 60 days).
- ``GET /{v}/me/accounts``: the user's Pages with their Page tokens (never expiring when derived
  from a long-lived user token) and linked ``instagram_business_account``; ``fields=`` and
  cursor paging as on Graph.
- ``GET /{v}/debug_token`` with an app token ``{app-id}|{app-secret}``; ``GET /{v}/me``.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import urlencode

from adapters.sandbox import bodies, oauth_bodies
from adapters.sandbox.calls import Call, run_unfaulted
from adapters.sandbox.grants import (
    META_CODE_SECONDS,
    META_LONG_LIVED_SECONDS,
    AuthCode,
    GrantBook,
    Lookup,
    Token,
)
from adapters.sandbox.state import SandboxState
from adapters.sandbox.wire import Request, Response

APP_NAME = "newsrelay sandbox"
#: The Pages every sandbox Facebook user manages; the first is the embedded default's seeded
#: Facebook channel, linked to its seeded Instagram professional account.
PAGES: tuple[dict[str, Any], ...] = (
    {
        "id": "100000000000001",
        "name": "Sandbox Newsroom",
        "category": "Media/news company",
        "instagram": {"id": "17841400000000001", "username": "sandbox_newsroom"},
    },
    {
        "id": "100000000000002",
        "name": "Sandbox Sports Desk",
        "category": "Media/news company",
        "instagram": None,
    },
)
PAGE_TASKS = ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"]
KNOWN_SCOPES = frozenset(
    {
        "public_profile",
        "email",
        "pages_show_list",
        "pages_manage_posts",
        "pages_read_engagement",
        "pages_manage_metadata",
        "pages_read_user_content",
        "instagram_basic",
        "instagram_content_publish",
        "instagram_manage_comments",
        "instagram_manage_insights",
        "business_management",
        "publish_video",
        "read_insights",
    }
)
_DEFAULT_ACCOUNT_FIELDS = ("access_token", "category", "category_list", "name", "id", "tasks")
_MAX_LIMIT = 100


def page_of_instagram(ig_user_id: str) -> str | None:
    """The Page an Instagram professional account is linked to."""
    for page in PAGES:
        if page["instagram"] and page["instagram"]["id"] == ig_user_id:
            return str(page["id"])
    return None


def user_accounts(user_id: str) -> set[str]:
    """Every Page and linked Instagram account a sandbox Facebook user may act for (every
    sandbox user manages the same Pages)."""
    ids = {str(p["id"]) for p in PAGES}
    return ids | {str(p["instagram"]["id"]) for p in PAGES if p["instagram"]}


def handle(
    state: SandboxState, request: Request, base_url: str, parts: list[str]
) -> Response | None:
    """Serve the login and token endpoints (``parts`` after the version); None otherwise."""
    if request.method != "GET":
        return None
    route = {
        ("dialog", "oauth"): dialog,
        ("oauth", "access_token"): access_token,
        ("me", "accounts"): me_accounts,
        ("debug_token",): debug_token,
        ("me",): me,
    }.get(tuple(parts))
    if route is None:
        return None
    return run_unfaulted(Call(state, request, base_url, "graph", "oauth"), route)


# --- the Login dialog ---------------------------------------------------------------------------
def dialog(call: Call) -> Response:
    """Approve at once, or show the page Meta shows (no redirect) for a bad app or URI."""
    query, grants = call.request.query, call.state.grants
    if query.get("client_id") != grants.apps.meta_app_id:
        return oauth_bodies.meta_dialog_refused(
            "Invalid App ID", "The provided app ID does not look like a valid app ID."
        )
    redirect_uri = query.get("redirect_uri")
    if not grants.apps.redirect_allowed(redirect_uri):
        return oauth_bodies.meta_dialog_refused(
            "URL blocked",
            "This redirect failed because the redirect URI is not whitelisted in the app's "
            "client OAuth settings.",
        )
    assert redirect_uri is not None  # redirect_allowed() refuses None
    scopes = tuple(s for s in (query.get("scope") or "").replace(",", " ").split() if s)
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if unknown:
        return oauth_bodies.meta_dialog_refused("Invalid Scopes", ", ".join(unknown))
    code = AuthCode(
        value="AQ" + secrets.token_urlsafe(96),
        platform="meta",
        subject=grants.meta_login,
        client_id=grants.apps.meta_app_id,
        redirect_uri=redirect_uri,
        scopes=scopes or ("public_profile",),
        expires_at=grants.now() + META_CODE_SECONDS,
    )
    params = {"code": grants.new_code(code)}
    if "state" in query:
        params["state"] = query["state"]
    separator = "&" if "?" in redirect_uri else "?"
    # Facebook appends an empty "#_=_" fragment to the redirect.
    location = f"{redirect_uri}{separator}{urlencode(params)}#_=_"
    return Response(302, None, {"Location": location})


# --- /oauth/access_token ------------------------------------------------------------------------
def access_token(call: Call) -> Response:
    """Exchange a code, or a short-lived user token for a long-lived one."""
    request, grants = call.request, call.state.grants
    for name in ("client_id", "client_secret"):
        if not request.param(name):
            return oauth_bodies.meta_missing_parameter(name)
    if request.param("client_id") != grants.apps.meta_app_id:
        return oauth_bodies.meta_bad_app_id()
    if not secrets.compare_digest(
        request.param("client_secret") or "", grants.apps.meta_app_secret
    ):
        return oauth_bodies.meta_bad_client_secret()
    if request.param("grant_type") == "fb_exchange_token":
        return _long_lived(call, grants, request.param("fb_exchange_token"))
    for name in ("redirect_uri", "code"):
        if not request.param(name):
            return oauth_bodies.meta_missing_parameter(name)
    code, status = grants.take_code(request.param("code"))
    if code is None or code.platform != "meta":
        return oauth_bodies.meta_code_invalid()
    if status == "used":
        return oauth_bodies.meta_code_used()
    if status == "expired":
        return oauth_bodies.meta_code_expired()
    if code.redirect_uri != request.param("redirect_uri"):
        return oauth_bodies.meta_redirect_mismatch()
    call.account = code.subject
    ttl = grants.token_ttl_seconds
    user = grants.issue("meta_user", code.subject, code.scopes, lifetime=ttl)
    return Response(200, {"access_token": user.value, "token_type": "bearer", "expires_in": ttl})


def _long_lived(call: Call, grants: GrantBook, short: str | None) -> Response:
    if not short:
        return oauth_bodies.meta_missing_parameter("fb_exchange_token")
    found = grants.lookup(short, ("meta_user",))
    problem = token_problem(grants, found)
    if problem is not None:
        return problem
    assert found.token is not None  # static tokens are not user tokens: lookup says unknown
    old = found.token
    call.account = old.subject
    user = grants.issue(
        "meta_user",
        old.subject,
        old.scopes,
        lifetime=META_LONG_LIVED_SECONDS,
        grant_id=old.grant_id,
        long_lived=True,
    )
    body = {
        "access_token": user.value,
        "token_type": "bearer",
        "expires_in": META_LONG_LIVED_SECONDS,
    }
    return Response(200, body)


def token_problem(grants: GrantBook, found: Lookup) -> Response | None:
    """The Graph error for a token that is not valid (190 with Meta's subcode), else None."""
    if found.status == "valid" and (found.token is not None or found.static_account):
        return None
    if found.status == "expired" and found.token is not None and found.token.expires_at:
        return oauth_bodies.meta_token_expired(found.token.expires_at, grants.now())
    if found.status == "revoked":
        return oauth_bodies.meta_token_revoked()
    return bodies.meta_invalid_token()


def _caller(call: Call) -> tuple[Token | None, str | None, Response | None]:
    """The presented token (issued), its subject, or the error to answer."""
    request, grants = call.request, call.state.grants
    found = grants.lookup(
        request.param("access_token") or request.bearer_token(), ("meta_user", "meta_page")
    )
    problem = token_problem(grants, found)
    if problem is not None:
        return None, None, problem
    subject = found.static_account or (found.token.subject if found.token else None)
    call.account = subject
    return found.token, subject, None


# --- /me and /me/accounts -----------------------------------------------------------------------
def me(call: Call) -> Response:
    _token, subject, problem = _caller(call)
    if problem is not None:
        return problem
    page = next((p for p in PAGES if p["id"] == subject), None)
    if page is not None:
        return Response(200, {"id": page["id"], "name": page["name"]})
    return Response(200, {"id": subject, "name": f"Sandbox Editor {subject}"})


def me_accounts(call: Call) -> Response:
    """The user's Pages, each with a Page token derived from the presented user token."""
    token, _subject, problem = _caller(call)
    if problem is not None:
        return problem
    if token is not None and token.kind != "meta_user":
        # A Page token asking for /me/accounts: "me" is the Page, which manages no Pages.
        return Response(200, {"data": []})
    grants = call.state.grants
    fields = _parse_fields(call.request.param("fields"))
    limit = max(1, min(_MAX_LIMIT, _int(call.request.param("limit")) or 25))
    ids = [str(p["id"]) for p in PAGES]
    start = 0
    after = call.request.param("after")
    if after:
        decoded = _decode_cursor(after)
        if decoded not in ids:
            return Response(200, {"data": []})
        start = ids.index(decoded) + 1
    window = list(PAGES[start : start + limit])
    data = [_account_item(grants, token, page, fields) for page in window]
    body: dict[str, Any] = {"data": data}
    if window:
        cursors = {"before": _cursor(window[0]["id"]), "after": _cursor(window[-1]["id"])}
        body["paging"] = {"cursors": cursors}
        if start + limit < len(PAGES):
            params = {k: v for k, v in call.request.query.items() if k != "access_token"}
            params["after"] = cursors["after"]
            body["paging"]["next"] = f"{call.base_url}{call.request.path}?{urlencode(params)}"
    return Response(200, body)


def _account_item(
    grants: GrantBook, user: Token | None, page: dict[str, Any], fields: dict[str, list[str]]
) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, sub in fields.items():
        if name == "access_token":
            item[name] = _page_token(grants, user, str(page["id"]))
        elif name == "category_list":
            item[name] = [{"id": "2233", "name": page["category"]}]
        elif name == "tasks":
            item[name] = list(PAGE_TASKS)
        elif name == "instagram_business_account" and page["instagram"]:
            ig = page["instagram"]
            item[name] = {k: ig[k] for k in (sub or ["id"]) if k in ig} | {"id": ig["id"]}
        elif name in ("id", "name", "category"):
            item[name] = page[name]
    item["id"] = page["id"]
    return item


def _page_token(grants: GrantBook, user: Token | None, page_id: str) -> str:
    """A Page token: never expiring from a long-lived user token, else expiring with it."""
    if user is None:
        return f"sandbox-token-{page_id}"
    lifetime: float | None = None
    if not user.long_lived and user.expires_at is not None:
        lifetime = max(0.0, user.expires_at - grants.now())
    page = grants.issue(
        "meta_page", page_id, user.scopes, lifetime=lifetime, grant_id=user.grant_id
    )
    return page.value


def _parse_fields(raw: str | None) -> dict[str, list[str]]:
    """``a,b{c,d},e`` → ``{"a": [], "b": ["c", "d"], "e": []}`` (one level of nesting)."""
    if not raw:
        return {name: [] for name in _DEFAULT_ACCOUNT_FIELDS}
    fields: dict[str, list[str]] = {}
    depth, current = 0, ""
    for char in raw + ",":
        if char == "," and depth == 0:
            name, _, sub = current.strip().partition("{")
            if name:
                fields[name.strip()] = [s.strip() for s in sub.rstrip("}").split(",") if s.strip()]
            current = ""
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        current += char
    return fields


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _cursor(page_id: str) -> str:
    return base64.urlsafe_b64encode(page_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


# --- /debug_token -------------------------------------------------------------------------------
def debug_token(call: Call) -> Response:
    """Token metadata; needs the app token ``{app-id}|{app-secret}``."""
    request, grants = call.request, call.state.grants
    apps = grants.apps
    app_token = request.param("access_token") or request.bearer_token() or ""
    if not secrets.compare_digest(app_token, f"{apps.meta_app_id}|{apps.meta_app_secret}"):
        return bodies.meta_invalid_token()
    if not request.param("input_token"):
        return oauth_bodies.meta_missing_parameter("input_token")
    found = grants.lookup(request.param("input_token"), ("meta_user", "meta_page"))
    if found.static_account is not None:
        data = _debug_data(apps.meta_app_id, "PAGE", found.static_account, (), 0, 0)
        data["profile_id"] = found.static_account
        return Response(200, {"data": data | {"is_valid": True}})
    token = found.token
    if token is None:
        error = {"code": 190, "message": "Invalid OAuth access token."}
        return Response(200, {"data": {"error": error, "is_valid": False, "scopes": []}})
    kind = "PAGE" if token.kind == "meta_page" else "USER"
    user_id = grants.meta_login if kind == "PAGE" else token.subject
    expires = int(token.expires_at) if token.expires_at is not None else 0
    data = _debug_data(apps.meta_app_id, kind, user_id, token.scopes, expires, int(token.issued_at))
    if kind == "PAGE":
        data["profile_id"] = token.subject
    data["is_valid"] = found.valid
    problem = None if found.valid else token_problem(grants, found)
    if problem is not None:
        error = problem.body["error"]
        data["error"] = {
            "code": error["code"],
            "message": error["message"],
            "subcode": error.get("error_subcode"),
        }
    return Response(200, {"data": data})


def _debug_data(
    app_id: str, kind: str, user_id: str, scopes: tuple[str, ...], expires: int, issued: int
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "app_id": app_id,
        "type": kind,
        "application": APP_NAME,
        "data_access_expires_at": issued + 90 * 86400 if issued else 0,
        "expires_at": expires,
        "scopes": list(scopes),
        "user_id": user_id,
    }
    if issued:
        data["issued_at"] = issued
    return data
