"""A channel's health in the words the UI shows (a badge's text never relies on its colour)."""

from __future__ import annotations

from datetime import datetime, timedelta

from scheduler.ops.channel_health import ChannelHealth
from scheduler.web.clock import fmt_datetime, fmt_time

STATE_WORDS = {
    "needs_reconnect": "Needs reconnect",
    "failing": "Failing",
    "rate_limited": "Rate-limited",
    "paused": "Paused",
    "degraded": "Degraded",
    "active": "Active",
}


def health_words(channel: ChannelHealth, tz: str) -> str:
    """ "Failing", "Rate-limited until 11:00 PKT", … in the newsroom's time."""
    state = channel.health.state
    if state == "rate_limited" and channel.rate_limited_until:
        until = datetime.fromisoformat(channel.rate_limited_until)
        soon = until - datetime.now(until.tzinfo) < timedelta(hours=20)
        return f"Rate-limited until {fmt_time(until, tz) if soon else fmt_datetime(until, tz)}"
    return STATE_WORDS.get(state, channel.health.label)
