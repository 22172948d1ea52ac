"""Graph API calls shared by the Instagram and Facebook adapters.

Tokens travel in the ``Authorization: Bearer`` header, which Graph accepts, never in the
``access_token`` query parameter: URLs end up in exception texts and access logs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from adapters.errors import PermanentError, RateLimitedError, RetryableError, UnknownOutcomeError
from adapters.matching import same_post
from adapters.meta_errors import classify_meta_response
from adapters.ratelimit import parse_meta_usage
from adapters.transport import bearer, json_body, send

# A listing reaches back this far before ``since`` to absorb clock skew with Meta.
LISTING_MARGIN = timedelta(minutes=5)
LISTING_PAGE_SIZE = 50
LISTING_MAX_PAGES = 4


@dataclass
class GraphCall:
    """One adapter call's Graph context: where, as whom, and the usage headers seen so far."""

    client: httpx.Client
    base_url: str
    api_version: str
    token: str
    platform: str
    usage: dict[str, Any] = field(default_factory=dict)
    on_new_container: Callable[[], None] | None = None

    def url(self, path: str) -> str:
        """The versioned Graph URL for ``path``."""
        return f"{self.base_url}/{self.api_version}/{path.lstrip('/')}"

    def request(
        self, method: str, path: str, *, action: str, publishes: bool, **kwargs: Any
    ) -> tuple[dict[str, Any], int]:
        """The decoded JSON object of a successful call and its status; raises classified."""
        response = send(
            self.client,
            method,
            self.url(path),
            platform=self.platform,
            action=action,
            publishes=publishes,
            headers=bearer(self.token),
            **kwargs,
        )
        self.usage.update(parse_meta_usage(response.headers))
        body = json_body(response)
        if response.is_success and isinstance(body, dict) and "error" not in body:
            return body, response.status_code
        if response.is_success:
            # A 2xx without a JSON object is not an answer we can act on; the caller decides
            # whether that is ambiguous (after a publishing call) by catching this.
            raise PermanentError(
                f"{self.platform} answered the request to {action} with HTTP "
                f"{response.status_code} but no usable JSON.",
                http_status=response.status_code,
                rate_limit=dict(self.usage),
            )
        error, rule = classify_meta_response(
            response, platform=self.platform, action=action, secrets=(self.token,)
        )
        if rule is not None and rule.new_container and self.on_new_container is not None:
            self.on_new_container()
        raise error

    def create(
        self, path: str, *, what: str, data: dict[str, Any], id_key: str = "id"
    ) -> tuple[str, int]:
        """``POST`` that creates ``what`` (a post, a photo, a comment): its id and the status.

        Graph has no idempotency key. A server error or an unreadable 2xx after the request
        was sent may hide a created object, and so may a 2xx without the id: each is an
        unknown outcome, for reconciliation to settle; never a reason to post again.
        """
        try:
            body, status = self.request(
                "POST", path, action=f"publish the {what}", publishes=True, data=data
            )
        except (PermanentError, RetryableError) as exc:
            ambiguous = exc.http_status is not None and (
                200 <= exc.http_status < 300
                or (exc.http_status >= 500 and not isinstance(exc, RateLimitedError))
            )
            if not ambiguous:
                raise
            raise UnknownOutcomeError(
                f"{exc.message} {self.platform} may have created the {what} anyway; "
                "reconcile before retrying.",
                http_status=exc.http_status,
                code=exc.code,
                subcode=exc.subcode,
                rate_limit=exc.rate_limit,
            ) from exc
        created = str(body.get(id_key) or "")
        if not created:
            raise UnknownOutcomeError(
                f"{self.platform} accepted the {what} (HTTP {status}) without returning its id; "
                "reconcile before any retry.",
                http_status=status,
                rate_limit=dict(self.usage),
            )
        return created, status


@dataclass(frozen=True)
class ListingMatch:
    """The result of looking for our text in a Graph listing."""

    item: dict[str, Any] | None
    covered: bool


def parse_graph_time(value: Any) -> datetime | None:
    """``2026-11-25T10:00:00+0000`` (Graph's format) as an aware datetime, or None."""
    if not isinstance(value, str):
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def find_in_listing(
    call: GraphCall,
    path: str,
    *,
    text: str,
    text_field: str,
    time_field: str,
    fields: str,
    since: datetime | None,
    action: str,
) -> ListingMatch:
    """Page through a newest-first Graph listing looking for an item whose text is ``text``.

    ``covered`` is True when the pages read reach back past ``since`` (or hold the whole
    listing), so that no match proves the post is absent.
    """
    params: dict[str, str] = {"fields": fields, "limit": str(LISTING_PAGE_SIZE)}
    floor = None
    if since is not None:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        floor = since - LISTING_MARGIN
        params["since"] = str(int(floor.timestamp()))
    for _page in range(LISTING_MAX_PAGES):
        body, _status = call.request("GET", path, action=action, publishes=False, params=params)
        items = [item for item in body.get("data") or [] if isinstance(item, dict)]
        for item in items:
            if item.get("id") and same_post(text, str(item.get(text_field) or "")):
                return ListingMatch(item=item, covered=True)
        times = [t for t in (parse_graph_time(i.get(time_field)) for i in items) if t]
        if floor is not None and times and min(times) <= floor:
            return ListingMatch(item=None, covered=True)
        paging = _mapping(body.get("paging"))
        cursors = _mapping(paging.get("cursors"))
        if not paging.get("next"):
            return ListingMatch(item=None, covered=True)
        if not cursors.get("after"):
            # We page by cursor rather than by following ``next`` (a URL that may carry a
            # token); without a cursor the rest of the listing is out of reach.
            return ListingMatch(item=None, covered=False)
        params["after"] = str(cursors["after"])
    return ListingMatch(item=None, covered=False)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
