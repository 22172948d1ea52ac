"""Channel policy as pure decisions: which of a channel's due posts may be claimed now.

The dispatcher (:mod:`.pacing`) reads a paced channel's state and its first due posts under
the channel's row lock, asks :func:`plan_channel`, and writes the answer in the same
transaction.  No database and no clock here: ``now`` comes in, the plan goes out.

Rules, in order, for the candidates (breaking posts first, then by due time, then publish
order):

* **daily cap** (``daily_cap``): posts first claimed on the channel's local calendar day; a
  retry of a post already counted does not count again.  Breaking posts count and obey it.
* **publish order**: a normal post still rendering (due, and rendered within seconds) holds
  the normal posts behind it, so a burst of articles goes out in the order it was published.
* **breaking lane**: a breaking post skips spacing and slots unless ``breaking_keeps_spacing``;
  it still pushes the next normal post ``min_interval_seconds`` back.
* **spacing** (``min_interval_seconds``) and **slots**: a normal post goes when the channel is
  free (``next_free_at``) and, with slots, at the first slot at or after both that and its due
  time (a slot missed while the dispatcher was down is still taken, late); each claim uses the
  slot (one post per slot) and moves ``next_free_at`` on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.base import ChannelSettings
from scheduler.delivery.slots import SlotTable, next_slot, parse_slot_spec
from scheduler.models import WaitCode

_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class ChannelPolicy:
    """The dispatcher's view of one channel's settings."""

    channel_id: uuid.UUID
    tz: ZoneInfo
    interval: timedelta = timedelta(0)
    daily_cap: int | None = None
    slots: SlotTable | None = None
    breaking_keeps_spacing: bool = False
    stale_after: timedelta = timedelta(minutes=360)

    @property
    def paced(self) -> bool:
        """Whether claims on this channel must go through its row lock and :func:`plan_channel`."""
        return bool(self.interval) or self.daily_cap is not None or self.slots is not None

    @property
    def one_normal_at_a_time(self) -> bool:
        """Spacing or slots let at most one normal post go per claim."""
        return bool(self.interval) or self.slots is not None


def channel_policy(
    channel_id: uuid.UUID, settings: ChannelSettings, timezone: str
) -> ChannelPolicy:
    """The policy of a channel from its (validated) settings and IANA time zone."""
    return ChannelPolicy(
        channel_id=channel_id,
        tz=ZoneInfo(timezone),
        interval=timedelta(seconds=settings.min_interval_seconds),
        daily_cap=settings.daily_cap,
        slots=parse_slot_spec(settings.slots) if settings.slots else None,
        breaking_keeps_spacing=settings.breaking_keeps_spacing,
        stale_after=timedelta(minutes=settings.stale_after_minutes),
    )


@dataclass(frozen=True)
class Pacing:
    """A paced channel's stored state (columns on the channel row) and what is in flight.

    ``in_flight``/``last_sent_at`` make spacing hold on the platform's side too: the next
    normal post is claimed only when no post of the channel is being sent and the last one was
    recorded published ``interval`` ago (the platform received it before that record), so a
    slow delivery cannot bring two posts closer together than the interval.
    """

    next_free_at: datetime | None = None
    cap_day: str | None = None
    cap_count: int = 0
    in_flight: bool = False
    last_sent_at: datetime | None = None


@dataclass(frozen=True)
class Candidate:
    """A due post of a paced channel, as the claim's candidate query returns it."""

    post_id: uuid.UUID
    breaking: bool
    due: datetime
    first_attempt: bool
    #: False while the post is still being rendered: a normal one holds the line (publish
    #: order), a breaking one is passed over until it is ready.
    ready: bool = True


@dataclass(frozen=True)
class Wait:
    """Why the channel's next due post (``post_id``) waits: a code, a sentence, until when.

    The posts behind it get ``queue_reason`` (no time: their place in line moves with every
    claim, and rewriting a whole backlog per claim would make the claim O(backlog)).
    """

    code: WaitCode
    reason: str
    until: datetime
    post_id: uuid.UUID | None = None
    queue_reason: str = ""


@dataclass
class ChannelPlan:
    """What to claim on one channel now, its new pacing state and why the rest waits."""

    post_ids: list[uuid.UUID] = field(default_factory=list)
    pacing: Pacing = field(default_factory=Pacing)
    wait: Wait | None = None


def local_words(moment: datetime, tz: ZoneInfo) -> str:
    """``Mon 03 Nov 18:00:05 PKT (13:00:05 UTC)``: a time an editor reads in the channel's zone."""
    local = moment.astimezone(tz).strftime("%a %d %b %H:%M:%S %Z")
    return f"{local} ({moment.astimezone(UTC):%H:%M:%S} UTC)"


def _next_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz).astimezone(UTC)


def plan_channel(
    policy: ChannelPolicy,
    pacing: Pacing,
    candidates: list[Candidate],
    *,
    now: datetime,
    room: int,
) -> ChannelPlan:
    """Pick the posts to claim now among ``candidates`` (already in claim order); pure."""
    today = now.astimezone(policy.tz).date()
    count = pacing.cap_count if pacing.cap_day == today.isoformat() else 0
    next_free = pacing.next_free_at
    plan = ChannelPlan()
    for cand in candidates:
        if len(plan.post_ids) >= room:
            break
        if not cand.ready:
            if cand.breaking:
                continue
            break  # an earlier article's post is still rendering: keep publish order
        if policy.daily_cap is not None and cand.first_attempt and count >= policy.daily_cap:
            until = _next_midnight(today, policy.tz)
            plan.wait = Wait(
                WaitCode.DAILY_CAP,
                f"Waiting for tomorrow: this channel's cap of {policy.daily_cap} posts a day is "
                f"reached; the next post goes out after {local_words(until, policy.tz)}.",
                until,
                cand.post_id,
                f"Waiting for tomorrow: this channel's cap of {policy.daily_cap} posts a day is "
                "reached; posts go out in order after midnight in the channel's time zone.",
            )
            break
        skips = cand.breaking and not policy.breaking_keeps_spacing
        if not skips and policy.interval and (pacing.in_flight or plan.post_ids):
            # The previous post is still on its way: the interval counts from its arrival.
            seconds = int(policy.interval.total_seconds())
            until = next_free or now + policy.interval  # at the earliest
            plan.wait = Wait(
                WaitCode.SPACING,
                f"Waiting for spacing: the channel's previous post is still being sent; this "
                f"one follows at least {seconds} s after it, in publish order.",
                until,
                cand.post_id,
                f"Waiting in line for spacing: this channel posts at most once every {seconds} "
                "s, in publish order.",
            )
            break
        if not skips:
            if pacing.last_sent_at is not None and policy.interval:
                sent_free = pacing.last_sent_at + policy.interval
                next_free = sent_free if next_free is None else max(next_free, sent_free)
            wait = _pacing_wait(policy, cand, next_free, now=now)
            if wait is not None:
                wait = replace(wait, post_id=cand.post_id)
                plan.wait = wait
                break
        plan.post_ids.append(cand.post_id)
        count += 1 if cand.first_attempt else 0
        free = now + policy.interval
        if policy.slots is not None and not cand.breaking:
            free = max(free, next_slot(now, policy.slots, policy.tz))  # this slot is used
        next_free = free if next_free is None else max(next_free, free)
    plan.pacing = Pacing(next_free_at=next_free, cap_day=today.isoformat(), cap_count=count)
    plan.pacing = replace(plan.pacing, in_flight=pacing.in_flight, last_sent_at=pacing.last_sent_at)
    return plan


def _pacing_wait(
    policy: ChannelPolicy, cand: Candidate, next_free: datetime | None, *, now: datetime
) -> Wait | None:
    """Why ``cand`` cannot go yet under spacing and slots, or None when it may go now."""
    free_at, code = next_free or now, WaitCode.SPACING
    if policy.slots is not None and not cand.breaking:
        # The first slot at or after both the post's due time and the channel's next free time.
        base = cand.due if next_free is None else max(cand.due, next_free)
        free_at, code = next_slot(base - _JUST_BEFORE, policy.slots, policy.tz), WaitCode.SLOT
    if free_at <= now:
        return None
    when = local_words(free_at, policy.tz)
    seconds = int(policy.interval.total_seconds())
    if code is WaitCode.SLOT:
        reason = f"Waiting for the channel's next free posting slot, {when}."
        queue = "Waiting in line for a posting slot: one post per slot, in publish order."
    else:
        reason = (
            f"Waiting for spacing: this channel posts at most once every {seconds} s; the next "
            f"post goes out at {when}, in publish order."
        )
        queue = (
            f"Waiting in line for spacing: this channel posts at most once every {seconds} s, "
            "in publish order."
        )
    return Wait(code, reason, free_at, queue_reason=queue)
