"""One platform HTTP call with transport failures classified and secrets kept out of messages.

Whether a dropped connection is safe to retry depends on whether the request could have been
accepted (DESIGN.md "Delivery guarantees" 5, PLATFORMS.md §5.1/§5.2 "timeout after …"): a
failure to connect means nothing was sent; a timeout or disconnect after a publishing POST
was sent is ambiguous; the same after a GET is merely transient.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from adapters.errors import AuthExpiredError, RetryableError, UnknownOutcomeError

# Failures where the request never reached the platform (httpx raises these before or while
# connecting, or before writing anything).
NOTHING_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
MAX_PLATFORM_MESSAGE = 500

_TOKEN_PARAM = re.compile(r"((?:access_token|input_token|fb_exchange_token)=)[^&\s\"']+", re.I)
_BEARER = re.compile(r"(Bearer\s+)[^\s\"',]+", re.I)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secrets, ``access_token=`` values and bearer tokens masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = _TOKEN_PARAM.sub(r"\1[redacted]", text)
    return _BEARER.sub(r"\1[redacted]", text)


def clip(text: str) -> str:
    """A platform's message, whitespace-collapsed and bounded for the delivery log."""
    text = " ".join(text.split())
    if len(text) > MAX_PLATFORM_MESSAGE:
        return text[: MAX_PLATFORM_MESSAGE - 1] + "…"
    return text


def access_token(credentials: Mapping[str, str], *, platform: str) -> str:
    """The channel's access token, or AuthExpiredError when none is stored."""
    token = credentials.get("access_token")
    if not token:
        raise AuthExpiredError(
            f"No {platform} access token is stored for this channel; reconnect the channel."
        )
    return token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header; Graph accepts it too, which keeps tokens out of URLs."""
    return {"Authorization": f"Bearer {token}"}


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body whatever the Content-Type (X errors come as application/json or
    application/problem+json, §1.6), or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    platform: str,
    action: str,
    publishes: bool,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request; transport failures become RetryableError or UnknownOutcomeError.

    ``publishes`` says whether the request could make a post go live (X ``POST /2/tweets``,
    Instagram ``media_publish``, Facebook ``/feed``).  httpx messages are never copied into
    ours: they can carry the URL.
    """
    try:
        return client.request(method, url, **kwargs)
    except NOTHING_SENT as exc:
        raise RetryableError(
            f"Could not reach {platform} to {action} ({type(exc).__name__}); nothing was sent, "
            "so it is safe to retry."
        ) from exc
    except httpx.TransportError as exc:
        if publishes:
            raise UnknownOutcomeError(
                f"{platform} did not answer after the request to {action} was sent "
                f"({type(exc).__name__}); it may have been published, so reconcile before "
                "any retry."
            ) from exc
        raise RetryableError(
            f"{platform} did not answer the request to {action} ({type(exc).__name__}); "
            "nothing was published, so it is safe to retry."
        ) from exc
