"""Error answers of the authorization servers, as the real ones give them.

X's token endpoint answers RFC 6749 objects (``{"error", "error_description"}``); its authorize
page and Meta's Login dialog show a page to the person instead of redirecting when the app or
the redirect URI is wrong; Meta's token endpoints answer Graph error objects.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from adapters.sandbox.bodies import meta_error
from adapters.sandbox.wire import Response

_PACIFIC = ZoneInfo("America/Los_Angeles")


# --- X (PLATFORMS.md §1.4) ----------------------------------------------------------------------
def x_oauth_error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description})


def x_bad_code() -> Response:
    # Observed for an expired, reused or unknown code and for a verifier that does not match.
    return x_oauth_error(
        400, "invalid_request", "Value passed for the authorization code was invalid."
    )


def x_bad_token() -> Response:
    # Observed for a spent (rotated) or revoked refresh token (PLATFORMS.md §1.4).
    return x_oauth_error(400, "invalid_request", "Value passed for the token was invalid.")


def x_bad_client_auth() -> Response:
    # Observed for a confidential client with a missing or wrong Basic header: the same text
    # either way.
    return x_oauth_error(401, "unauthorized_client", "Missing valid authorization header")


def x_missing_parameter(name: str) -> Response:
    return x_oauth_error(400, "invalid_request", f"Missing required parameter [{name}].")


def x_unsupported_grant() -> Response:
    return x_oauth_error(400, "unsupported_grant_type", "Unsupported grant type.")


def x_authorize_refused() -> Response:
    """The page x.com shows for an unknown client or a redirect URI that is not registered.

    x.com renders it client-side under a 200; the sandbox answers 400 so a script notices.  It
    never redirects: sending the person to an unregistered URI is the attack it prevents.
    """
    page = (
        "<!DOCTYPE html><html><head><title>X</title></head><body><h1>Something went wrong</h1>"
        "<p>You weren&#8217;t able to give access to the App. Go back and try logging in again.</p>"
        "</body></html>"
    )
    return Response(400, raw=page.encode(), content_type="text/html; charset=utf-8")


# --- Meta ---------------------------------------------------------------------------------------
def _pacific(ts: float) -> str:
    # "Monday, 24-Oct-16 21:00:00 PDT", the format of the real 463 message.
    return datetime.fromtimestamp(ts, UTC).astimezone(_PACIFIC).strftime("%A, %d-%b-%y %H:%M:%S %Z")


def meta_token_expired(expired_at: float, now: float) -> Response:
    """Code 190/463 naming when the session expired, as in the real message (§4.4)."""
    return meta_error(
        190,
        f"Error validating access token: Session has expired on {_pacific(expired_at)}. "
        f"The current time is {_pacific(now)}.",
        subcode=463,
        user_title="Session expired",
        user_msg="Your session has expired. Please log in again.",
    )


def meta_token_revoked() -> Response:
    # 190/460 is what a de-authorised app or a changed password gives (§4.4).
    return meta_error(
        190,
        "Error validating access token: The session has been invalidated because the user "
        "changed their password or Facebook has changed the session for security reasons.",
        subcode=460,
    )


def meta_page_token_required() -> Response:
    """A user token on ``POST /{page-id}/feed``: code 200, HTTP 403.

    The message is Meta's verbatim as seen in public client fixtures and logs (e.g. "Meta error
    (403) (#200) If posting to a group, ..."); Meta documents the cause in "Pages API - Posts":
    publishing needs a Page access token.
    """
    return meta_error(
        200,
        "(#200) If posting to a group, requires app being installed in the group, and either "
        "publish_to_groups permission with user token, or both pages_read_engagement and "
        "pages_manage_posts permission with page token; If posting to a page, requires both "
        "pages_read_engagement and pages_manage_posts as an admin with sufficient "
        "administrative permission",
        status=403,
    )


def meta_bad_client_secret() -> Response:
    return meta_error(1, "Error validating client secret.")


def meta_bad_app_id() -> Response:
    return meta_error(101, "Error validating application. Invalid application ID.")


def meta_code_used() -> Response:
    return meta_error(100, "This authorization code has been used.", subcode=36009)


def meta_code_expired() -> Response:
    return meta_error(100, "This authorization code has expired.", subcode=36007)


def meta_code_invalid() -> Response:
    return meta_error(100, "Invalid verification code format.")


def meta_redirect_mismatch() -> Response:
    return meta_error(
        100,
        "Error validating verification code. Please make sure your redirect_uri is identical to "
        "the one you used in the OAuth dialog request",
        subcode=36008,
    )


def meta_missing_parameter(name: str) -> Response:
    return meta_error(100, f"Missing {name} parameter.")


def meta_dialog_refused(title: str, detail: str) -> Response:
    """The page the Login dialog shows for a bad app id, redirect URI or scope (no redirect)."""
    page = (
        f"<!DOCTYPE html><html><head><title>Facebook</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(detail)}</p></body></html>"
    )
    return Response(400, raw=page.encode(), content_type="text/html; charset=utf-8")
