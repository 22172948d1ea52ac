"""Error bodies exactly as the real services send them (PLATFORMS.md §1.6, §3.4, §4.4).

X answers with problem objects keyed by ``type``; Meta with ``{"error": {...}}`` keyed by
``code``/``error_subcode``.  Everything here is a pure function returning a :class:`Response`.
"""

from __future__ import annotations

import secrets
from typing import Any

from adapters.sandbox.wire import Response

X_PROBLEMS = "https://api.twitter.com/2/problems/"


# --- X (PLATFORMS.md §1.5, §1.6) ----------------------------------------------------------------
def x_blank(status: int, title: str, detail: str | None = None) -> Response:
    """The generic ``about:blank`` problem (401, 403 duplicate, 429, 5xx)."""
    body = {"title": title, "type": "about:blank", "status": status, "detail": detail or title}
    return Response(status, body)


def x_unauthorized() -> Response:
    return x_blank(401, "Unauthorized")


def x_invalid_request(message: str, parameters: dict[str, Any] | None = None) -> Response:
    """400 ``invalid-request`` with the per-parameter ``errors`` list."""
    body = {
        "errors": [{"message": message, "parameters": parameters or {}}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": X_PROBLEMS + "invalid-request",
    }
    return Response(400, body)


def x_too_long(text: str) -> Response:
    return x_invalid_request("Your Tweet text is too long.", {"text": [text]})


def x_duplicate() -> Response:
    # Observed body (akrherz/iembot#163): 403, type about:blank.
    return x_blank(
        403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
    )


def x_not_found(parameter: str, value: str, resource_type: str = "tweet") -> Response:
    body = {
        "title": "Not Found Error",
        "detail": f"Could not find {resource_type} with {parameter}: [{value}].",
        "type": X_PROBLEMS + "resource-not-found",
        "status": 404,
        "resource_type": resource_type,
        "parameter": parameter,
        "value": value,
        "resource_id": value,
    }
    return Response(404, body)


def x_reply_not_allowed() -> Response:
    return x_blank(
        403,
        "Forbidden",
        "Reply to this conversation is not allowed because you have not been mentioned or "
        "otherwise engaged by the author of the post you are replying to.",
    )


def x_too_many_requests() -> Response:
    return x_blank(429, "Too Many Requests")


def x_usage_capped() -> Response:
    body = {
        "title": "UsageCapExceeded",
        "detail": "Usage cap exceeded: Monthly product cap",
        "type": X_PROBLEMS + "usage-capped",
        "period": "Monthly",
        "scope": "Product",
        "status": 429,
    }
    return Response(429, body)


def x_credits_depleted() -> Response:
    body = {
        "title": "CreditsDepleted",
        "detail": "Your enrolled account does not have any credits to fulfill this request.",
        "type": "https://api.x.com/2/problems/credits-depleted",
        "status": 402,
    }
    return Response(402, body)


def x_unavailable() -> Response:
    return x_blank(503, "Service Unavailable")


def x_route_not_found(path: str) -> Response:
    return x_blank(404, "Not Found", f"Sorry, that page does not exist: {path}")


# --- Meta Graph (PLATFORMS.md §3.4, §4.4) -------------------------------------------------------
def fbtrace_id() -> str:
    return secrets.token_urlsafe(8)


def meta_error(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    status: int = 400,
    transient: bool = False,
    user_title: str | None = None,
    user_msg: str | None = None,
) -> Response:
    """``{"error": {...}}``; the HTTP status is informational, clients key on code/subcode."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["is_transient"] = transient
    if user_title:
        error["error_user_title"] = user_title
    if user_msg:
        error["error_user_msg"] = user_msg
    error["fbtrace_id"] = fbtrace_id()
    headers = {}
    if code == 190:
        headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{message}"'
    return Response(status, {"error": error}, headers)


def meta_invalid_token() -> Response:
    return meta_error(190, "Invalid OAuth access token - Cannot parse access token")


def meta_expired_token() -> Response:
    return meta_error(
        190,
        "Error validating access token: Session has expired on Monday, 24-Oct-16 21:00:00 PDT. "
        "The current time is later.",
        subcode=463,
        user_title="Session expired",
        user_msg="Your session has expired. Please log in again.",
    )


def meta_permission_denied() -> Response:
    return meta_error(200, "(#200) The user hasn't authorized the application to do this action")


def meta_unknown_object(object_id: str) -> Response:
    return meta_error(
        100,
        f"Unsupported post request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation.",
        subcode=33,
    )


def meta_invalid_param(message: str, subcode: int | None = None) -> Response:
    return meta_error(100, f"(#100) {message}", subcode=subcode)


def meta_unknown_path(path: str) -> Response:
    return meta_error(2500, f"Unknown path components: {path}")


def meta_server_error() -> Response:
    return meta_error(
        2,
        "An unexpected error has occurred. Please retry your request later.",
        status=500,
        transient=True,
    )


def fb_duplicate() -> Response:
    return meta_error(
        506,
        "(#506) Duplicate status message",
        user_title="Duplicate Post",
        user_msg="Duplicate posts cannot be published consecutively.",
    )


def fb_rate_limited() -> Response:
    return meta_error(
        80001,
        "(#80001) There have been too many calls to this Page account. Wait a bit and try again. "
        "For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/"
        "rate-limiting.",
    )


def fb_blocked() -> Response:
    return meta_error(
        368,
        "It looks like you were misusing this feature by going too fast. You've been temporarily "
        "blocked from using it.",
        subcode=1390008,
        user_title="You Can't Use This Feature Right Now",
    )


def ig_rate_limited() -> Response:
    return meta_error(
        80002,
        "(#80002) There have been too many calls to this Instagram account. Wait a bit and try "
        "again.",
    )


def ig_error(code: int, subcode: int, message: str, title: str, user_msg: str) -> Response:
    """An Instagram content-publishing error (PLATFORMS.md §3.4)."""
    transient = code in (-1, -2, 9007)
    return meta_error(
        code, message, subcode=subcode, transient=transient, user_title=title, user_msg=user_msg
    )


def ig_image_too_large() -> Response:
    return ig_error(
        36000,
        2207004,
        "The image size is too large.",
        "Image size too large",
        "The image is too large to download. It should be less than 8 MiB.",
    )


def ig_bad_format() -> Response:
    return ig_error(
        36001,
        2207005,
        "The image format is not supported.",
        "Unsupported format",
        "The image format is not supported. Only JPEG images are supported.",
    )


def ig_bad_aspect(ratio: float) -> Response:
    return ig_error(
        36003,
        2207009,
        "The aspect ratio is not supported.",
        "Aspect ratio not supported",
        f"The submitted image with aspect ratio {ratio:.3f} cannot be published. Please submit "
        "an image with a valid aspect ratio (between 4:5 and 1.91:1).",
    )


def ig_caption_refused(message: str) -> Response:
    return ig_error(100, 2207010, message, "Caption not valid", message)


def ig_fetch_timeout() -> Response:
    return ig_error(
        -2,
        2207003,
        "Timeout while downloading media.",
        "Timeout",
        "The media download timed out. Please try again.",
    )


def ig_fetch_failed() -> Response:
    return ig_error(
        9004,
        2207052,
        "The media could not be fetched from this uri.",
        "Media download has failed",
        "The media could not be fetched from the URI provided. Make sure it is public.",
    )


def ig_not_ready() -> Response:
    return ig_error(
        9007,
        2207027,
        "Media ID is not available",
        "Media not ready",
        "The media is not ready for publishing, please wait for a moment",
    )


def ig_quota_reached() -> Response:
    return ig_error(
        9,
        2207042,
        "Application request limit reached",
        "Daily limit reached",
        "You reached maximum number of posts that is allowed to be published by Content "
        "Publishing API.",
    )


def ig_container_expired() -> Response:
    return ig_error(
        -2,
        2207020,
        "The media has expired.",
        "Media expired",
        "The media you are trying to access has expired. Please try to upload again.",
    )


def ig_container_failed() -> Response:
    return ig_error(
        -1,
        2207032,
        "Create media has failed.",
        "Create media failed",
        "Create media has failed. Please create the container again.",
    )


def ig_already_published(container_id: str) -> Response:
    # Re-publishing a PUBLISHED container must never make a second live post; PLATFORMS §3.2
    # step 2 (Postiz treats PUBLISHED as "already live"). The real message is undocumented.
    return meta_error(
        100,
        f"Unsupported post request. The container '{container_id}' has already been published.",
        subcode=33,
        user_title="Already published",
        user_msg="This media has already been published.",
    )


def ig_blocked() -> Response:
    return ig_error(
        4,
        2207051,
        "Application request limit reached",
        "Action blocked",
        "We restrict certain activity to protect our community. Tell us if you think we made a "
        "mistake.",
    )
