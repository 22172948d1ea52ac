"""Retry timing: a pure function of the attempt number, the platform's reset time and chance."""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def backoff_seconds(
    attempt: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Exponential back-off with "equal jitter": half fixed, half random, never above ``cap``.

    The fixed half keeps retries from bunching at zero; the random half spreads a burst of
    failures (one platform outage) so they do not come back in lockstep.
    """
    rng = rng or random.Random()
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return float(ceiling / 2 + rng.uniform(0, ceiling / 2))


def next_attempt_at(
    now: datetime,
    attempt: int,
    *,
    base: float,
    cap: float,
    reset_at: datetime | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """When to try again: after the back-off, and never before the platform's reset time."""
    rng = rng or random.Random()
    due = now + timedelta(seconds=backoff_seconds(attempt, base=base, cap=cap, rng=rng))
    if reset_at is not None:
        # A little jitter past the reset so every waiting post does not hit the window edge.
        due = max(due, reset_at + timedelta(seconds=rng.uniform(0.1, 1.0)))
    return due
