"""Rendering posts through their channel's adapter: the format task's service and the preview.

The same code renders the preview an editor sees and the post that goes out.  Image download and
fitting happen outside any database transaction; the result is written back with a
compare-and-set on the post's status and requested revision, so a stale render never overwrites a
newer one.

The threads pool does not enforce Celery's time limits, so the format task bounds itself: all its
I/O ends by ``task_deadline_seconds`` (adapters.deadline) and it holds the post's lease that long
plus a margin; a task that outlives its lease (a worker killed or wedged) loses the post to the
dispatcher, which leases it again to another task, and the late task's write-back finds the post
moved on.  Image downloads take per-server shares (:class:`FetchGate`): a post whose image server
already has its share waits ``busy_retry_seconds`` in ``rendering`` instead of holding a thread.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters import build_adapter
from adapters.base import ArticleContent, ChannelSettings, Payload, image_alt_text, wants_image
from adapters.deadline import deadline
from adapters.followups import followup_problems, render_followup
from adapters.images import (
    FetchGate,
    ImagePolicy,
    ImageServerBusy,
    prepare_instagram_image,
)
from config import Settings
from scheduler.channels import channel_settings
from scheduler.db.engine import session_scope
from scheduler.editorial.approvals import source_requires_approval
from scheduler.editorial.followups import FOLLOWUP_WAIT
from scheduler.editorial.media_store import media_store
from scheduler.intake.articles import article_content
from scheduler.models import (
    Article,
    Channel,
    ChannelStatus,
    Post,
    PostStatus,
    WaitCode,
    utcnow,
)


def image_policy(settings: Settings) -> ImagePolicy:
    """The image fetch policy from settings (allow-lists for the sandbox in development)."""
    return ImagePolicy(
        max_bytes=settings.images.max_bytes,
        timeout=settings.images.fetch_timeout,
        deadline=settings.images.fetch_deadline,
        allowed_hosts=tuple(settings.images.allowed_hosts),
        allowed_networks=tuple(settings.images.allowed_networks),
        per_server=settings.images.fetches_per_server,
        at_once=settings.images.fetches_at_once,
        slow_server_seconds=settings.images.slow_server_seconds,
    )


#: This worker process's shares of image downloads (the limits are per process).
PROCESS_FETCH_GATE = FetchGate()
#: A format task holds its post's lease this much longer than its own deadline.
LEASE_MARGIN = timedelta(seconds=10)


def render_for_channel(
    content: ArticleContent,
    platform: str,
    cs: ChannelSettings,
    *,
    settings: Settings,
    client: httpx.Client,
    text_override: str | None = None,
    gate: FetchGate | None = None,
) -> Payload:
    """Render one article for one platform, fetching and fitting the image where needed.

    With a ``gate``, raises ImageServerBusy when the image server already has its share.
    """
    adapter = build_adapter(platform, settings=settings, client=client)
    media = None
    warnings: list[str] = []
    chosen = wants_image(platform, cs)
    if adapter.needs_image or chosen:
        media, warnings = prepare_instagram_image(
            content,
            cs,
            store=media_store(settings),
            client=client,
            policy=image_policy(settings),
            gate=gate,
        )
        if chosen:
            media = replace(media, alt_text=image_alt_text(content))
    payload = adapter.render(content, cs, media=media)
    payload.warnings = warnings + payload.warnings
    if text_override is not None:
        payload.text = text_override
        payload.problems = adapter.validate(payload, cs)
    return payload


def render_followup_post(
    content: ArticleContent,
    platform: str,
    cs: ChannelSettings,
    *,
    text_override: str | None = None,
) -> Payload:
    """Render a follow-up from the channel's ``first_comment`` (the editor's text wins)."""
    payload = render_followup(content, cs, platform)
    if text_override is not None:
        payload.text = text_override
        payload.problems = followup_problems(platform, text_override)
    return payload


def preview_article(
    content: ArticleContent,
    *,
    settings: Settings,
    platforms: list[str],
    client: httpx.Client,
) -> list[Payload]:
    """Render with each platform's default settings; writes nothing to the database."""
    return [
        render_for_channel(content, p, ChannelSettings(), settings=settings, client=client)
        for p in platforms
    ]


@dataclass(frozen=True)
class _Snapshot:
    content: ArticleContent
    platform: str
    settings: ChannelSettings
    channel_status: ChannelStatus
    revision: int
    text_override: str | None
    approved: bool
    source_requires_approval: bool = False
    #: A follow-up (first comment, thread reply): rendered from ``first_comment``, no approval.
    followup: bool = False


def _snapshot(engine: Engine, post_id: uuid.UUID, *, hold: timedelta) -> _Snapshot | None:
    """The post's render inputs, its lease extended by ``hold``; None if it moved on."""
    with session_scope(engine) as s:
        post = s.get(Post, post_id)
        if post is None or post.status != PostStatus.RENDERING:
            return None
        post.lease_until = utcnow() + hold
        s.add(post)
        article = s.get(Article, post.article_id)
        channel = s.get(Channel, post.channel_id)
        assert article is not None and channel is not None
        return _Snapshot(
            content=article_content(article),
            platform=str(channel.platform),
            settings=channel_settings(channel),
            channel_status=ChannelStatus(channel.status),
            revision=post.render_requested_revision,
            text_override=post.text_override,
            approved=post.approved_at is not None,
            source_requires_approval=source_requires_approval(session=s, source=article.source),
            followup=post.parent_id is not None,
        )


def next_status_after_render(snap: _Snapshot, payload: Payload) -> PostStatus:
    """Where a freshly rendered post goes next."""
    if payload.problems:
        return PostStatus.DRAFT
    # Approval comes before the channel's pause: resuming a channel releases its held posts to
    # the schedule, and an unapproved post must not ride out with them.
    needs_approval = not snap.followup and (
        snap.settings.requires_approval or snap.source_requires_approval
    )
    skips = snap.content.priority == "breaking" and snap.settings.breaking_skips_approval
    if needs_approval and not snap.approved and not skips:
        return PostStatus.PENDING_APPROVAL
    if snap.channel_status == ChannelStatus.PAUSED:
        return PostStatus.HELD
    if snap.channel_status == ChannelStatus.NEEDS_REAUTH:
        return PostStatus.NEEDS_REAUTH
    return PostStatus.SCHEDULED


def _retry_later(engine: Engine, post_id: uuid.UUID, revision: int, *, seconds: float) -> None:
    """Leave the post in ``rendering`` for the dispatcher to hand out again in ``seconds``."""
    with session_scope(engine) as s:
        s.execute(
            sa.update(Post)
            .where(
                Post.id == post_id,  # type: ignore[arg-type]
                Post.status == PostStatus.RENDERING,  # type: ignore[arg-type]
                Post.render_requested_revision == revision,  # type: ignore[arg-type]
            )
            .values(lease_until=utcnow() + timedelta(seconds=seconds))
        )


def format_post(
    *,
    engine: Engine,
    post_id: uuid.UUID,
    settings: Settings,
    client: httpx.Client,
    gate: FetchGate = PROCESS_FETCH_GATE,
) -> PostStatus | None:
    """Render a post waiting in ``rendering``; returns its new status, or None if it moved on
    (or waits for its image server's share of downloads)."""
    task_deadline = settings.task_deadline_seconds
    snap = _snapshot(engine, post_id, hold=timedelta(seconds=task_deadline) + LEASE_MARGIN)
    if snap is None:
        return None
    try:
        with deadline(task_deadline):
            if snap.followup:
                payload = render_followup_post(
                    snap.content, snap.platform, snap.settings, text_override=snap.text_override
                )
            else:
                payload = render_for_channel(
                    snap.content,
                    snap.platform,
                    snap.settings,
                    settings=settings,
                    client=client,
                    text_override=snap.text_override,
                    gate=gate,
                )
    except ImageServerBusy:
        _retry_later(engine, post_id, snap.revision, seconds=settings.images.busy_retry_seconds)
        return None
    except Exception as exc:  # a bug must leave a readable draft, never a lost post
        payload = Payload(channel=snap.platform, text="")  # type: ignore[arg-type]
        payload.problems = [f"The post could not be rendered ({type(exc).__name__}: {exc})."]
    status = next_status_after_render(snap, payload)
    values = {
        "status": status,
        "text": payload.text,
        "link": payload.link,
        "media": [m.as_dict() for m in payload.media],
        "problems": payload.problems,
        "warnings": payload.warnings,
        "weighted_length": payload.weighted_length,
        "fingerprint": payload.fingerprint if payload.text else None,
        "rendered_revision": snap.revision,
        "last_error": " ".join(payload.problems) or None,
        "lease_until": None,
        "updated_at": utcnow(),
    }
    if snap.followup:
        values.update(wait_code=WaitCode.PARENT.value, wait_reason=FOLLOWUP_WAIT)
    with session_scope(engine) as s:
        result = s.execute(
            sa.update(Post)
            .where(
                Post.id == post_id,  # type: ignore[arg-type]
                Post.status == PostStatus.RENDERING,  # type: ignore[arg-type]
                Post.render_requested_revision == snap.revision,  # type: ignore[arg-type]
            )
            .values(**values)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            return None
    return status


def payload_from_post(post: Post) -> Payload:
    """The payload to send for a stored post (the editor's text wins)."""
    from adapters.base import MediaItem

    return Payload(
        channel=str(post.platform),  # type: ignore[arg-type]
        text=post.text_override if post.text_override is not None else post.text,
        link=post.link,
        media=[MediaItem(**m) for m in post.media],
        problems=list(post.problems),
        warnings=list(post.warnings),
        weighted_length=post.weighted_length,
    )
