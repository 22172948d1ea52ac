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
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa

from bench.common import Processes, bench_env, free_port, fresh_pg_database, percentile, wait_for
from config import Settings
from scheduler.db.engine import make_engine
from scheduler.intake.webhooks import sign
from scheduler.runtime.bootstrap import ensure_ready

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


class RawClient:
    """A minimal keep-alive HTTP/1.1 client over asyncio streams, for POSTs with a JSON answer.

    The client shares the machine's cores with the server, and httpx spends a few ms of CPU per
    request, which queues requests in the client and counts as server latency.  This client
    sends the same bytes (method, path, headers, body) at a fraction of that cost.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, body: bytes, headers: dict[str, str]) -> int:
        conn = self.idle.pop() if self.idle else None
        if conn is None:
            conn = await asyncio.open_connection(self.host, self.port)
        reader, writer = conn
        head = f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode("latin-1") + body)
        try:
            status_line = await reader.readuntil(b"\r\n")
            status = int(status_line.split(b" ", 2)[1])
            length = 0
            close = False
            while True:
                line = await reader.readuntil(b"\r\n")
                if line == b"\r\n":
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip())
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length:
                await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer))
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _one(
    client: Any, url: str, body: bytes, due: float, out: list[tuple[float, int]]
) -> None:
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Newsrelay-Timestamp": ts,
        "X-Newsrelay-Signature": sign(SECRET, ts, body),
    }
    try:
        if isinstance(client, RawClient):
            status = await client.post(body, headers)
        else:
            response = await client.post(url, content=body, headers=headers)
            status = response.status_code
    except (httpx.HTTPError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        status = 0
    out.append((time.perf_counter() - due, status))


async def run_load(
    url: str, *, rate: float, seconds: float, tag: str, client_kind: str = "raw"
) -> tuple[list[Any], float]:
    """Send ``rate * seconds`` webhooks open-loop; return (latency, status) pairs and span."""
    n = int(rate * seconds)
    bodies = [json.dumps({"event": "published", "article": article(tag, i)}).encode()
              for i in range(n)]  # fmt: skip
    out: list[tuple[float, int]] = []
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
    raw = RawClient(url) if client_kind == "raw" else None
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        client: Any = raw or http
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
    if raw is not None:
        raw.close()
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
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="raw: a minimal keep-alive HTTP/1.1 client (little CPU taken from the server); "
        "httpx: the AsyncClient (a few ms of CPU per request on the same cores)",
    )
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
            procs.start("api", "-m", "scheduler.cli.app", "api", "--port", str(port))
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: _up(f"{base}/healthz"), timeout=30)
            print(
                f"machine: {platform.machine()} {os.cpu_count()} cores, "
                f"{platform.processor() or platform.platform()}, Python "
                f"{platform.python_version()}; one API process (uvicorn), PostgreSQL on "
                f"localhost; client ({args.client}) in the same machine; load average before "
                f"the run {os.getloadavg()[0]:.1f} (other processes share these cores)"
            )
            url = f"{base}/api/v1/webhooks/articles"
            if args.warmup > 0:
                warm, span = asyncio.run(
                    run_load(
                        url,
                        rate=args.rate,
                        seconds=args.warmup,
                        tag="warm",
                        client_kind=args.client,
                    )
                )
                report("warm-up", warm, span, args.rate)
            results, span = asyncio.run(
                run_load(
                    url, rate=args.rate, seconds=args.seconds, tag="run", client_kind=args.client
                )
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
