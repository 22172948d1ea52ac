"""The naive design newsrelay is measured against (issue 15), run on the same machine, database,
broker and sandbox in the same run by bench/delivery.py.

One Celery task per post, sent ahead with ``eta`` = its scheduled time; a threads pool of 64;
per task one SELECT of the post, an UPDATE to ``publishing``, the ``POST /2/tweets`` to the
sandbox and an UPDATE to ``published``.  No attempt rows, no fence, no reconciliation: a worker
killed between the POST and the last UPDATE leaves a post that is live but says
``publishing``, and a redelivered message posts it twice.  It is the speed to beat, not a
design to copy.

The worker is ``celery -A bench.peer worker -P threads -c 64 -Q peer`` with
``NEWSRELAY_PEER_DATABASE_URL``, ``NEWSRELAY_PEER_BROKER_URL`` and ``NEWSRELAY_PEER_X_URL`` set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from celery import Celery

from adapters.sandbox import sandbox_token
from bench.common import Processes, percentile, wait_for

QUEUE = "peer"

app = Celery("peer", broker=os.environ.get("NEWSRELAY_PEER_BROKER_URL", "memory://"))
app.conf.update(
    task_default_queue=QUEUE,
    task_acks_late=True,
    worker_prefetch_multiplier=4,
    broker_transport_options={"visibility_timeout": 3600},
)

_engine: sa.Engine | None = None
_client: httpx.Client | None = None


def _resources() -> tuple[sa.Engine, httpx.Client]:
    global _engine, _client
    if _engine is None or _client is None:
        _engine = sa.create_engine(
            os.environ["NEWSRELAY_PEER_DATABASE_URL"], pool_size=16, max_overflow=64
        )
        _client = httpx.Client(
            timeout=httpx.Timeout(10.0), limits=httpx.Limits(max_connections=100)
        )
    return _engine, _client


@app.task(name="peer.deliver")
def deliver(post_id: str) -> None:
    engine, client = _resources()
    pid = uuid.UUID(post_id)
    with engine.begin() as conn:
        text, account = conn.execute(
            sa.text(
                "SELECT p.text, c.account_id FROM post p JOIN channel c ON c.id = p.channel_id "
                "WHERE p.id = :id"
            ),
            {"id": pid},
        ).one()
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE post SET status = 'publishing', updated_at = now() WHERE id = :id"),
            {"id": pid},
        )
    response = client.post(
        f"{os.environ['NEWSRELAY_PEER_X_URL']}/2/tweets",
        json={"text": f"{text} {post_id[:8]}"},
        headers={"Authorization": f"Bearer {sandbox_token(account)}"},
    )
    response.raise_for_status()
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE post SET status = 'published', published_at = now(), external_id = :x "
                "WHERE id = :id"
            ),
            {"id": pid, "x": response.json()["data"]["id"]},
        )


def send_all(post_ids: list[uuid.UUID], *, due: datetime) -> None:
    """One message per post with ``eta=due``, sent ahead of time as the naive design does."""
    for pid in post_ids:
        deliver.apply_async((str(pid),), eta=due, queue=QUEUE)


# --- the measurement, run by bench/delivery.py ---------------------------------------------------


@dataclass
class Figures:
    """One burst's figures, computed the same way for newsrelay and the peer."""

    rate: float  # deliveries/s: published / (first start → last finish)
    p50: float  # lateness (start minus due), seconds
    p99: float
    machine_cpu_ms: float  # whole-machine busy CPU per delivery


def measure_peer(
    procs: Processes,
    env: dict[str, str],
    engine: sa.Engine,
    post_ids: list[uuid.UUID],
    *,
    broker_url: str,
    x_url: str,
    concurrency: int,
    machine_busy: Callable[[], float],
) -> Figures:
    """Run ``post_ids`` (X posts) through the naive design, all due at once."""
    db_url = engine.url.render_as_string(hide_password=False)
    peer_env = {
        **env,
        "NEWSRELAY_PEER_DATABASE_URL": db_url,
        "NEWSRELAY_PEER_BROKER_URL": broker_url,
        "NEWSRELAY_PEER_X_URL": x_url,
    }
    procs.env = peer_env
    procs.start(
        "peer-worker",
        *("-m", "celery", "-A", "bench.peer", "worker", "-P", "threads", "-c", str(concurrency)),
        *("-Q", QUEUE, "--without-gossip", "--without-mingle", "--without-heartbeat"),
        *("-n", "peer@%h", "-l", "WARNING"),
    )
    procs.env = env
    app.conf.broker_url = broker_url
    wait_for(lambda: app.control.ping(timeout=0.5), timeout=60, interval=0.2)
    due = datetime.now(UTC) + timedelta(seconds=3)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE post SET scheduled_at = :due WHERE id = ANY(:ids)"),
            {"due": due, "ids": post_ids},
        )
    send_all(post_ids, due=due)
    busy0 = machine_busy()
    wait_for(lambda: _published(engine, post_ids) == len(post_ids), timeout=600, interval=0.2)
    busy = machine_busy() - busy0
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT updated_at, published_at, scheduled_at FROM post WHERE id = ANY(:ids)"),
            {"ids": post_ids},
        ).all()
    lateness = [(started - scheduled).total_seconds() for started, _, scheduled in rows]
    span = (max(r[1] for r in rows) - min(r[0] for r in rows)).total_seconds()
    return Figures(
        rate=len(rows) / span,
        p50=percentile(lateness, 50),
        p99=percentile(lateness, 99),
        machine_cpu_ms=busy / len(rows) * 1000,
    )


def _published(engine: sa.Engine, post_ids: list[uuid.UUID]) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT count(*) FROM post WHERE id = ANY(:ids) AND status = 'published'"),
                {"ids": post_ids},
            ).scalar_one()
        )
