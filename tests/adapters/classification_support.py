"""What the X and Meta classification tests share: a fixed clock and an X problem body."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
NOW_EPOCH = int(NOW.timestamp())
TWITTER = "https://api.twitter.com/2/problems/"
XAPI = "https://api.x.com/2/problems/"


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": kind, "status": status}
