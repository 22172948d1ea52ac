"""A million posts: the dispatcher's queries, every list endpoint, every UI page, the probes.

Seeds a fresh PostgreSQL database with a year of a publisher group (bench/scale_seed.py: 300
channels, 350k articles, 1.05M posts of which 100k are scheduled over the next 30 days, ~3M
delivery attempts and ~3M audit rows), then measures, each at the median and p99 over repeated
calls:

- the dispatcher's claim, the reaper and the reconciler's claim, called in-process as the
  scheduler calls them (each commits, as a tick does);
- the first page and a deep keyset page (10,000 rows in) of every list endpoint, over HTTP
  from ``newsrelay api`` (a real uvicorn process) with an admin API key;
- every UI page, signed in as an admin;
- ``/metrics`` and ``/readyz``.

    .venv/bin/python -m bench.scale [--articles 350000] [--requests 100]
    .venv/bin/python -m bench.scale --url postgresql+psycopg://…/nr_scale --no-seed  # re-measure

Targets (issue 15): claim p99 ≤ 3 ms; list pages p99 ≤ 50 ms; UI pages p99 ≤ 200 ms;
/metrics and /readyz p99 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench.common import Processes, bench_env, free_port, fresh_pg_database, percentile, wait_for
from bench.scale_seed import ARTICLES, FUTURE_POSTS, counts, seed
from bench.ui import PASSWORD, login
from scheduler.access.auth import create_user
from scheduler.access.keys import issue_api_key
from scheduler.db.engine import make_engine, session_scope
from scheduler.db.migrate import upgrade
from scheduler.delivery.dispatch import claim_due_posts, claim_unknown_posts
from scheduler.delivery.reaper import reap_expired_leases
from scheduler.models import Role, utcnow

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGETS = {"claim": 3.0, "list": 50.0, "ui": 200.0, "probe": 50.0}


class Report:
    """Rows of name, kind, p50 and p99 in ms, printed as a table with the target verdicts."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, float, float]] = []

    def add(self, name: str, kind: str, times_ms: list[float]) -> None:
        row = (name, kind, percentile(times_ms, 50), percentile(times_ms, 99))
        self.rows.append(row)
        target = TARGETS[kind]
        verdict = "ok" if row[3] <= target else f"OVER {target:.0f}"
        print(f"{name:<44}{row[2]:>9.2f}{row[3]:>9.2f}  {verdict}", flush=True)

    def failures(self) -> list[str]:
        return [name for name, kind, _, p99 in self.rows if p99 > TARGETS[kind]]


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure_ticks(engine: Engine, report: Report, repeat: int) -> None:
    """The scheduler's three claims, each a committed transaction as in a tick."""
    clock = {"now": utcnow()}

    def tick() -> None:
        # Half a second per tick, as the dispatcher runs: now and then a post comes due.
        clock["now"] += timedelta(seconds=0.5)
        claim_due_posts(engine=engine, now=clock["now"], batch=100, lease_seconds=60)

    claim_due_posts(engine=engine, now=clock["now"], batch=100, lease_seconds=60)  # warm
    report.add("dispatcher claim (tick)", "claim", timed(tick, repeat))
    report.add(
        "reaper (expired leases)",
        "claim",
        timed(lambda: reap_expired_leases(engine=engine, now=utcnow(), lease_seconds=60), repeat),
    )
    report.add(
        "reconciler claim (unknown posts)",
        "claim",
        timed(
            lambda: claim_unknown_posts(engine=engine, now=utcnow(), batch=50, lease_seconds=60),
            repeat,
        ),
    )


def _get(client: httpx.Client, path: str) -> httpx.Response:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return response


def deep_cursor(client: httpx.Client, path: str, rows_in: int = 10_000) -> str | None:
    """The cursor ``rows_in`` rows into a list (followed 200 rows at a time, the API's most)."""
    cursor = None
    sep = "&" if "?" in path else "?"
    for _ in range(rows_in // 200):
        url = f"{path}{sep}limit=200" + (f"&cursor={cursor}" if cursor else "")
        cursor = _get(client, url).json().get("next_cursor")
        if not cursor:
            return None
    return cursor


def measure_http(
    client: httpx.Client, report: Report, name: str, kind: str, path: str, n: int
) -> None:
    for _ in range(3):  # warm caches (templates, statement cache, pool)
        _get(client, path)
    report.add(name, kind, timed(lambda: _get(client, path), n))


LISTS = [
    ("posts", "/api/v1/posts"),
    ("posts, failed", "/api/v1/posts?status=failed"),
    ("articles", "/api/v1/articles"),
    ("deliveries", "/api/v1/deliveries"),
    ("audit", "/api/v1/audit"),
    ("alerts", "/api/v1/alerts"),
    ("channels", "/api/v1/channels"),
    ("admin channels", "/api/v1/admin/channels"),
    ("admin keys", "/api/v1/admin/keys"),
]


def measure_lists(api: httpx.Client, report: Report, n: int) -> None:
    for name, path in LISTS:
        measure_http(api, report, f"GET {name}: first page", "list", path, n)
        cursor = deep_cursor(api, path)
        if cursor:
            sep = "&" if "?" in path else "?"
            deep = f"{path}{sep}limit=50&cursor={cursor}"
            measure_http(api, report, f"GET {name}: page 10,000 rows in", "list", deep, n)


def measure_pages(
    api: httpx.Client, web: httpx.Client, anonymous: httpx.Client, report: Report, n: int
) -> None:
    article = _get(api, "/api/v1/articles?limit=1").json()["articles"]
    article_id = article[0]["id"] if article else None
    pages = [
        ("UI login", anonymous, "/login"),
        ("UI queue", web, "/"),
        ("UI queue, failed only", web, "/?status=failed"),
        ("UI calendar", web, "/calendar"),
        ("UI article", web, f"/articles/{article_id}"),
        ("UI deliveries", web, "/deliveries"),
        ("UI deliveries rows (poll)", web, "/deliveries/rows"),
        ("UI channels", web, "/channels"),
        ("UI alerts", web, "/alerts"),
    ]
    for name, who, path in pages:
        measure_http(who, report, name, "ui", path, n)
    for path in ("/metrics", "/readyz"):
        measure_http(anonymous, report, path, "probe", path, n)


@contextlib.contextmanager
def database(url: str | None, keep: bool) -> Iterator[str]:
    """The given database, or a fresh one (dropped afterwards unless ``keep``)."""
    if url:
        yield url
    elif keep:
        name = f"nr_scale_{int(time.time())}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    else:
        with fresh_pg_database(PG_ADMIN) as made:
            yield made


def prepare(url: str, articles: int, future: int, do_seed: bool) -> str:
    """Migrate and seed (unless reusing a seeded database); returns an admin API key."""
    engine = make_engine(url)
    if do_seed:
        upgrade(url)
        start = time.perf_counter()
        took = seed(engine, articles=articles, future_posts=future)
        print(
            f"seeded in {time.perf_counter() - start:.0f} s: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in took.items())
        )
        with session_scope(engine) as s:
            create_user(session=s, username="admin", password=PASSWORD, role=Role.ADMIN)
    with session_scope(engine) as s:
        _, key = issue_api_key(
            session=s, name=f"scale-{time.time():.0f}", role=Role.ADMIN, actor="bench"
        )
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in counts(engine).items()))
    engine.dispose()
    return key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=ARTICLES)
    parser.add_argument("--future", type=int, default=FUTURE_POSTS)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--url", help="an already seeded database (with --no-seed)")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    report = Report()
    with database(args.url, args.keep) as url, tempfile.TemporaryDirectory() as tmp:
        print(f"database: {url}")
        key = prepare(url, args.articles, args.future, not args.no_seed)
        print(f"{'measure':<44}{'p50 ms':>9}{'p99 ms':>9}")
        engine = make_engine(url)
        measure_ticks(engine, report, args.requests * 2)
        engine.dispose()
        port = free_port()
        env = bench_env(environment="test", data_dir=tmp, log_level="WARNING", database_url=url)
        procs = Processes(env, Path(tmp))
        procs.start("api", "-m", "scheduler.cli.app", "api", "--port", str(port))
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            return False

        wait_for(up, timeout=60)
        timeout = httpx.Timeout(60.0)
        api = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=timeout
        )
        web = httpx.Client(base_url=base, timeout=timeout)
        login(web)
        anonymous = httpx.Client(base_url=base, timeout=timeout)
        measure_lists(api, report, args.requests)
        measure_pages(api, web, anonymous, report, args.requests)
        procs.stop_all()
    over = report.failures()
    print("all within target" if not over else f"over target: {', '.join(over)}")


if __name__ == "__main__":
    main()
