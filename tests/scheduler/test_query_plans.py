"""The hot queries have an index to use: their plans read no sequential scan of ``post``,
``delivery_attempt`` or ``audit_event``, and no index scan that reads and drops most of one.

The statements are not copied here: the test runs the dispatcher's claim, the reaper, the
reconciler's claim and every list service on PostgreSQL, records each statement they send (with
its parameters), and EXPLAINs it.  The data is bench/scale_seed.py's year of posts at a few
thousand rows (95 % history, every state present), ANALYZEd so the planner knows the skew.

At a few thousand rows a sequential scan is cheap and the planner may rightly prefer it, which
would hide a missing index that costs seconds at a million.  ``enable_seqscan = off`` mirrors the
large table: it prices a sequential scan out of reach, so one is chosen only when no index can
serve the query at all — which is the defect this test exists to catch.  An index that does
not fit (a scan of ``ix_post_scheduled_at`` filtering on status, say) shows as rows read and
dropped, which EXPLAIN ANALYZE counts; every statement's effects are rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.scale_seed import seed
from scheduler.db.engine import make_engine
from scheduler.delivery.dispatch import claim_due_posts, claim_unknown_posts
from scheduler.delivery.reaper import reap_expired_leases
from scheduler.editorial.actions import list_posts
from scheduler.editorial.newsdesk import list_articles
from scheduler.models import utcnow
from scheduler.ops.audit import AuditFilter, page_audit_events
from scheduler.ops.delivery_log import DeliveryFilter, page_deliveries

BIG_TABLES = ("post", "delivery_attempt", "audit_event")
#: A scan that reads and drops more than this share of a big table has no index that fits.
WASTE = 0.05


@pytest.fixture(scope="module")
def seeded(pg_admin: Engine, pg_template: str) -> Iterator[Engine]:
    name = "nr_plans_" + pg_template.removeprefix("nr_tpl_")
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    engine = make_engine(pg_admin.url.set(database=name).render_as_string(hide_password=False))
    seed(engine, articles=2_000, future_posts=600)
    yield engine
    engine.dispose()
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _recorded(engine: Engine, run: Callable[[], Any]) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "INSERT", "DELETE", "WITH")):
            statements.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return statements


def _table_rows(conn: Any) -> dict[str, int]:
    return {
        t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one())  # noqa: S608
        for t in BIG_TABLES
    }


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _wasteful(node: dict[str, Any], rows: dict[str, int]) -> str | None:
    """Why this plan node reads a big table badly, or None."""
    table = node.get("Relation Name")
    if table not in rows:
        return None
    if node["Node Type"] == "Seq Scan":
        return f"sequential scan of {table}"
    removed = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
    removed *= node.get("Actual Loops", 1)
    if removed > rows[table] * WASTE:
        index = node.get("Index Name", "?")
        return f"{node['Node Type']} on {table} ({index}) read and dropped {removed:.0f} rows"
    return None


def _wasteful_scans(engine: Engine, statements: list[tuple[str, Any]]) -> list[str]:
    """Each statement's plan run for real (EXPLAIN ANALYZE, rolled back), with its waste."""
    found = []
    with engine.connect() as conn:
        rows = _table_rows(conn)
        conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, params in statements:
            savepoint = conn.begin_nested()  # ANALYZE runs the statement: undo its writes
            try:
                [[plans]] = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params
                ).all()
            finally:
                savepoint.rollback()
            nodes = list(_nodes(plans[0]["Plan"]))
            for reason in filter(None, (_wasteful(n, rows) for n in nodes)):
                found.append(f"{reason}: {statement[:400]}")
        conn.rollback()
    return found


def _lists(engine: Engine) -> dict[str, Callable[[], Any]]:
    def posts(status: str | None) -> Callable[[], Any]:
        def run() -> None:
            with Session(engine) as session:
                _, cursor = list_posts(session=session, status=status, limit=20)
                list_posts(session=session, status=status, limit=20, cursor=cursor)

        return run

    def articles() -> None:
        with Session(engine) as session:
            _, cursor = list_articles(session=session, limit=20)
            list_articles(session=session, limit=20, cursor=cursor)

    def deliveries() -> None:
        with Session(engine) as session:
            _, cursor = page_deliveries(session=session, flt=DeliveryFilter(), limit=20)
            page_deliveries(session=session, flt=DeliveryFilter(), limit=20, cursor=cursor)
            page_deliveries(session=session, flt=DeliveryFilter(status="failed"), limit=20)

    def audit() -> None:
        with Session(engine) as session:
            _, cursor = page_audit_events(session=session, flt=AuditFilter(), limit=20)
            page_audit_events(session=session, flt=AuditFilter(), limit=20, cursor=cursor)

    return {
        "posts": posts(None),
        "posts by status": posts("failed"),
        "articles": articles,
        "deliveries": deliveries,
        "audit": audit,
    }


def _ticks(engine: Engine) -> dict[str, Callable[[], Any]]:
    return {
        "dispatcher claim": lambda: claim_due_posts(
            engine=engine, now=utcnow(), batch=100, lease_seconds=60
        ),
        "reaper": lambda: reap_expired_leases(engine=engine, now=utcnow(), lease_seconds=60),
        "reconciler claim": lambda: claim_unknown_posts(
            engine=engine, now=utcnow(), batch=50, lease_seconds=60
        ),
    }


@pytest.mark.parametrize("which", ["dispatcher claim", "reaper", "reconciler claim"])
def test_scheduler_ticks_never_scan_a_big_table(seeded: Engine, which: str) -> None:
    statements = _recorded(seeded, _ticks(seeded)[which])
    assert statements, "the tick sent no statement"
    assert _wasteful_scans(seeded, statements) == []


@pytest.mark.parametrize("which", ["posts", "posts by status", "articles", "deliveries", "audit"])
def test_list_pages_never_scan_a_big_table(seeded: Engine, which: str) -> None:
    statements = _recorded(seeded, _lists(seeded)[which])
    assert len(statements) >= 2, "the first page and the next were read"
    assert _wasteful_scans(seeded, statements) == []


def test_the_check_fires_on_a_query_no_index_serves(seeded: Engine) -> None:
    """A filter on an unindexed column must be reported, or the tests above prove nothing."""
    statements = [("SELECT id FROM post WHERE text LIKE %(t)s", {"t": "%Story 7%"})]
    [found] = _wasteful_scans(seeded, statements)
    assert found.startswith("sequential scan of post: ")
