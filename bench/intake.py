"""Webhook intake latency: signed ``published`` webhooks at a steady rate into one API process.

Starts ``newsrelay api`` (one process) on a fresh PostgreSQL database with a webhook secret and
the three sandbox channels, then sends signed webhooks for distinct articles open-loop: request
i leaves at t0 + i/rate whatever the server's speed, and its latency counts from that moment,
so a slow server cannot lower the offered rate or hide its queueing.  Prints the achieved rate,
p50/p99/max latency, errors, and checks every accepted article got its three posts.

    .venv/bin/python -m bench.intake [--rate 100] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench.common import Processes, bench_env, free_port, fresh_pg_database, percentile, wait_for
from config import Settings
from scheduler.bootstrap import ensure_ready
from scheduler.db import make_engine
from scheduler.webhooks import sign

SECRET = "bench-webhook-secret-" + uuid.uuid4().hex


def article(tag: str, i: int) -> dict[str, Any]:
    """A realistic article (a few KB of body), distinct per request."""
    return {
        "source": "bench",
        "external_id": f"{tag}-{i}",
        "url": f"https://southasiandesk.example/2025/11/03/bench-{tag}-{i}/",
        "title": f"Pakistan FM Dar Istanbul Gaza talks, update {i}",
        "summary": "Pakistan's Foreign Minister Ishaq Dar reached Istanbul on Monday for talks.",
        "body": "Pakistan's Foreign Minister Ishaq Dar reached Istanbul on Monday. " * 40,
        "image_url": "https://southasiandesk.example/media/2025/11/dar-istanbul.jpg",
        "tags": ["Pakistan", "Ishaq Dar", "Gaza", "Ceasefire", "OIC"],
        "section": "South Asia",
        "author": "SouthAsianDesk",
        "published_at": datetime.now(UTC).isoformat(),
        "revision": 1,
    }


async def _one(
    client: httpx.AsyncClient, url: str, body: bytes, due: float, out: list[tuple[float, int]]
) -> None:
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Newsrelay-Timestamp": ts,
        "X-Newsrelay-Signature": sign(SECRET, ts, body),
    }
    try:
        response = await client.post(url, content=body, headers=headers)
        status = response.status_code
    except httpx.HTTPError:
        status = 0
    out.append((time.perf_counter() - due, status))


async def run_load(url: str, *, rate: float, seconds: float, tag: str) -> tuple[list[Any], float]:
    """Send ``rate * seconds`` webhooks open-loop; return (latency, status) pairs and span."""
    n = int(rate * seconds)
    bodies = [json.dumps({"event": "published", "article": article(tag, i)}).encode()
              for i in range(n)]  # fmt: skip
    out: list[tuple[float, int]] = []
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        t0 = time.perf_counter() + 0.2
        tasks = []
        for i, body in enumerate(bodies):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_one(client, url, body, due, out)))
        await asyncio.gather(*tasks)
        span = time.perf_counter() - t0
    return out, span


def report(label: str, results: list[tuple[float, int]], span: float, rate: float) -> int:
    latencies = [lat * 1000 for lat, _ in results]
    ok = sum(1 for _, status in results if status == 201)
    errors = len(results) - ok
    kinds = Counter("no answer" if status == 0 else str(status) for _, status in results)
    del kinds["201"]
    print(
        f"{label}: offered {rate:.0f} req/s, achieved {ok / span:.1f} req/s "
        f"({ok} of {len(results)} answered 201 in {span:.2f} s); "
        f"latency p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
        f"max {max(latencies):.1f} ms; errors {errors}"
        + (f" {dict(kinds)}" if kinds else "")
        + f"; load average {os.getloadavg()[0]:.1f}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds, not reported")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="nr-bench-intake-"))
    port = free_port()
    with fresh_pg_database(args.pg_admin_url) as db_url:
        values = dict(
            database_url=db_url,
            data_dir=str(tmp / "data"),
            webhook_secret=SECRET,
            environment="test",
            log_level="WARNING",
        )
        settings = Settings(**values)  # type: ignore[arg-type]
        ensure_ready(settings, sandbox_channels=True)
        procs = Processes(bench_env(**values), tmp)
        engine = make_engine(db_url)
        try:
            procs.start("api", "-m", "scheduler.cli", "api", "--port", str(port))
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: _up(f"{base}/healthz"), timeout=30)
            print(
                f"machine: {platform.machine()} {os.cpu_count()} cores, "
                f"{platform.processor() or platform.platform()}, Python "
                f"{platform.python_version()}; one API process (uvicorn), PostgreSQL on "
                f"localhost; client in the same machine; load average before the run "
                f"{os.getloadavg()[0]:.1f} (other processes share these cores)"
            )
            url = f"{base}/api/v1/webhooks/articles"
            if args.warmup > 0:
                warm, span = asyncio.run(
                    run_load(url, rate=args.rate, seconds=args.warmup, tag="warm")
                )
                report("warm-up", warm, span, args.rate)
            results, span = asyncio.run(
                run_load(url, rate=args.rate, seconds=args.seconds, tag="run")
            )
            ok = report("webhook intake", results, span, args.rate)
            with engine.connect() as conn:
                articles = conn.execute(
                    sa.text("SELECT count(*) FROM article WHERE external_id LIKE 'run-%'")
                ).scalar_one()
                posts = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM post p JOIN article a ON a.id = p.article_id "
                        "WHERE a.external_id LIKE 'run-%'"
                    )
                ).scalar_one()
            print(f"stored: {articles} articles, {posts} posts (3 channels; expected {ok * 3})")
        finally:
            procs.stop_all()
            engine.dispose()


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
