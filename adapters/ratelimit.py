"""Platform rate-limit headers, parsed into a plain dict (stored on the delivery attempt).

X sends ``x-rate-limit-*`` and, on 24-hour endpoints such as ``POST /2/tweets``, the
``x-user-limit-24hour-*`` and ``x-app-limit-24hour-*`` families; resets are unix epochs in
seconds and there is no ``Retry-After`` (PLATFORMS.md §1.5).  Meta sends ``X-App-Usage``,
``X-Page-Usage`` (percentages of a rolling hour) and ``X-Business-Use-Case-Usage`` (per business
object, with ``estimated_time_to_regain_access`` in *minutes*) (PLATFORMS.md §4.5).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

# When a 429 carries no usable header, wait this long (PLATFORMS.md §5.1 "429 with no headers",
# §5.2 "back off ≥ 15 to 60 min").
FALLBACK_WAIT = timedelta(minutes=15)
# Meta: when a usage header already reports ≥ 100 %, the hour-long window is full.
SATURATED_WAIT = timedelta(minutes=60)

X_HEADER_FAMILIES: tuple[tuple[str, str], ...] = (
    ("window", "x-rate-limit"),
    ("user_24hour", "x-user-limit-24hour"),
    ("app_24hour", "x-app-limit-24hour"),
)
META_HEADERS: tuple[tuple[str, str], ...] = (
    ("app", "x-app-usage"),
    ("page", "x-page-usage"),
    ("business_use_case", "x-business-use-case-usage"),
)
_PERCENT_FIELDS = ("call_count", "total_time", "total_cputime")


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def parse_x_rate_limit(headers: Mapping[str, str]) -> dict[str, Any]:
    """``{"window"|"user_24hour"|"app_24hour": {"limit", "remaining", "reset"}}`` from X headers."""
    lowered = _lower(headers)
    result: dict[str, Any] = {}
    for name, prefix in X_HEADER_FAMILIES:
        entry: dict[str, int] = {}
        for field in ("limit", "remaining", "reset"):
            raw = lowered.get(f"{prefix}-{field}")
            if raw is None:
                continue
            try:
                entry[field] = int(raw.strip())
            except ValueError:
                continue
        if entry:
            result[name] = entry
    return result


def x_exhausted(rate_limit: Mapping[str, Any]) -> bool:
    """True when any X window reports ``remaining == 0``."""
    return any(entry.get("remaining") == 0 for entry in rate_limit.values())


def x_reset_at(rate_limit: Mapping[str, Any]) -> datetime | None:
    """When X will accept the call again, from parsed headers; None if they do not say."""
    exhausted = [
        entry["reset"]
        for entry in rate_limit.values()
        if entry.get("remaining") == 0 and "reset" in entry
    ]
    if exhausted:
        # Every window at zero must reset before a post can succeed, so the relevant reset is
        # the latest of the exhausted ones; waiting for an earlier one only buys a second 429.
        return datetime.fromtimestamp(max(exhausted), tz=UTC)
    window = rate_limit.get("window", {})
    if "reset" in window:
        return datetime.fromtimestamp(window["reset"], tz=UTC)
    return None


def parse_meta_usage(headers: Mapping[str, str]) -> dict[str, Any]:
    """``{"app"|"page"|"business_use_case": <decoded JSON>}`` from Meta usage headers."""
    lowered = _lower(headers)
    result: dict[str, Any] = {}
    for name, header in META_HEADERS:
        raw = lowered.get(header)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            # The headers appear "once enough calls have been made" (§4.5); a garbled one must
            # not turn a published post into an error.
            continue
        if isinstance(value, dict):
            result[name] = value
    return result


def _buc_entries(usage: Mapping[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for value in usage.get("business_use_case", {}).values():
        items = value if isinstance(value, list) else [value]
        entries.extend(item for item in items if isinstance(item, dict))
    return entries


def meta_regain_minutes(usage: Mapping[str, Any]) -> int:
    """The largest BUC ``estimated_time_to_regain_access`` (minutes), 0 when none is given."""
    minutes = 0
    for entry in _buc_entries(usage):
        try:
            minutes = max(minutes, int(entry.get("estimated_time_to_regain_access") or 0))
        except (TypeError, ValueError):
            continue
    return minutes


def meta_max_percent(usage: Mapping[str, Any]) -> int:
    """The highest usage percentage across the app, page and BUC headers."""
    dicts: list[Mapping[str, Any]] = [usage.get("app", {}), usage.get("page", {})]
    dicts.extend(_buc_entries(usage))
    highest = 0
    for entry in dicts:
        for field in _PERCENT_FIELDS:
            try:
                highest = max(highest, int(entry.get(field) or 0))
            except (TypeError, ValueError):
                continue
    return highest


def meta_reset_at(usage: Mapping[str, Any], *, now: datetime | None = None) -> datetime:
    """When a throttled Meta account may call again: BUC minutes, else a 15 to 60 min back-off."""
    now = now or datetime.now(UTC)
    minutes = meta_regain_minutes(usage)
    if minutes > 0:
        return now + timedelta(minutes=minutes)
    if meta_max_percent(usage) >= 100:
        return now + SATURATED_WAIT
    return now + FALLBACK_WAIT
