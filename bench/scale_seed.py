"""Seeding a year of a publisher group on PostgreSQL with ``generate_series`` (for bench/scale.py).

300 channels over the three platforms; 350,000 articles a year (one every 90 s), three posts
each (1.05M); the last third of a million's worth (100,000 posts) scheduled over the next 30
days; a few thousand in every other state; three delivery attempts per sent post and three
audit rows per post (about 3M of each).  Everything is one INSERT ... SELECT per table, so
the database does the work in bulk.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

ARTICLES = 350_000
CHANNELS = 300
FUTURE_POSTS = 100_000

#: For history posts, ``i % 2000`` picks the state: every state gets a few thousand rows.
_HISTORY_STATE = """
CASE
  WHEN i % 2000 < 30 THEN 'failed'
  WHEN i % 2000 < 40 THEN 'needs_review'
  WHEN i % 2000 < 60 THEN 'cancelled'
  WHEN i % 2000 < 80 THEN 'expired'
  WHEN i % 2000 < 90 THEN 'pending_approval'
  WHEN i % 2000 < 95 THEN 'draft'
  WHEN i % 2000 < 100 THEN 'held'
  WHEN i % 2000 < 105 THEN 'retry_wait'
  WHEN i % 2000 < 110 THEN 'needs_reauth'
  WHEN i % 2000 < 112 THEN 'unknown'
  ELSE 'published'
END"""

_CHANNELS = """
INSERT INTO channel (id, platform, name, account_id, credentials_encrypted, timezone, status,
                     settings, rate_limit, cap_count, created_at)
SELECT gen_random_uuid(), (ARRAY['x','instagram','facebook'])[1 + k % 3],
       'Desk ' || lpad(k::text, 3, '0'), 'acct-' || k, '',
       (ARRAY['Asia/Karachi','Europe/London','America/New_York','Asia/Dubai'])[1 + k % 4],
       'active', '{{}}', '{{}}', 0, now()
FROM generate_series(0, {last_channel}) AS k
"""

_ARTICLES = """
INSERT INTO article (id, source, external_id, url, title, summary, body, tags, section, language,
                     published_at, priority, state, revision, content_hash, created_at, updated_at)
SELECT gen_random_uuid(), (ARRAY['cms','wire','feed'])[1 + g % 3], 'a' || g,
       'https://news.example/' || g,
       'Story ' || g || ': ' || (ARRAY['floods in Sindh','budget talks','cricket final',
         'election results','trade deal','monsoon warning','court ruling'])[1 + g % 7],
       'A summary of the story for the previews.', '', '["Pakistan"]',
       (ARRAY['News','Sport','Business','World'])[1 + g % 4], 'en',
       ts, CASE WHEN g % 500 = 0 THEN 'breaking' ELSE 'normal' END, 'published', 1, '', ts, ts
FROM (SELECT g, now() - ({articles} - g) * interval '90 seconds' AS ts
      FROM generate_series(1, {articles}) AS g) AS s
"""

# Article g takes channel (g % 100) * 3 + p for platform p, so channels share the load evenly.
_POSTS = """
WITH ch AS (SELECT id, platform, substr(account_id, 6)::int AS k FROM channel
            WHERE account_id LIKE 'acct-%'),
     a AS (SELECT id, substr(external_id, 2)::int AS g, published_at FROM article
           WHERE source IN ('cms','wire','feed') AND external_id LIKE 'a%'),
     p AS (SELECT a.id AS article_id, a.g, a.published_at, ch.id AS channel_id, ch.platform,
                  a.g * 3 + (ch.k % 3) AS i,
                  a.g > {history_articles} AS future
           FROM a JOIN ch ON ch.k / 3 = a.g % 100)
INSERT INTO post (id, article_id, channel_id, platform, kind, status, text, link, media, problems,
                  warnings, weighted_length, rendered_revision, render_requested_revision,
                  scheduled_at, version, external_id, platform_state, next_attempt_at,
                  attempt_count, published_at, last_error, created_at, updated_at)
SELECT gen_random_uuid(), article_id, channel_id, platform, 'link', state,
       'Story ' || g || ' https://news.example/' || g || ' #Pakistan',
       'https://news.example/' || g, '[]', '[]', '[]', 60, 1, 1,
       CASE WHEN future
            THEN now() + ((g - {history_articles}) * 3 + i % 3)
                 * (interval '30 days' / {future_posts})
            ELSE published_at + (i % 60) * interval '1 minute' END,
       1,
       CASE WHEN state = 'published' THEN (1800000000000000000 + i)::text END,
       '{{}}',
       CASE WHEN state = 'retry_wait' THEN now() + (i % 60) * interval '1 minute' END,
       CASE WHEN state IN ('published','failed','needs_review','unknown') THEN 3 ELSE 0 END,
       CASE WHEN state = 'published' THEN published_at + (i % 60) * interval '1 minute' END,
       CASE WHEN state = 'failed' THEN 'X refused the post (code 187): duplicate content.' END,
       published_at, published_at
FROM (SELECT *, CASE WHEN future THEN 'scheduled' ELSE {history_state} END AS state
      FROM p) AS s
"""

_ATTEMPTS = """
INSERT INTO delivery_attempt (id, post_id, channel_id, number, status, created_at, started_at,
                              finished_at, scheduled_for, http_status, error_code, error_class,
                              message, latency_ms, worker, rate_limit, external_id)
SELECT gen_random_uuid(), p.id, p.channel_id, n,
       CASE WHEN n < 3 THEN 'failed'
            WHEN p.status = 'published' THEN 'succeeded'
            WHEN p.status = 'unknown' THEN 'unknown'
            ELSE 'failed' END,
       p.scheduled_at + n * interval '10 seconds', p.scheduled_at + n * interval '10 seconds',
       p.scheduled_at + n * interval '10 seconds' + interval '300 milliseconds', p.scheduled_at,
       CASE WHEN n = 3 AND p.status = 'published' THEN 201 WHEN n < 3 THEN 503 ELSE 403 END,
       CASE WHEN n < 3 THEN NULL WHEN p.status = 'published' THEN NULL ELSE '187' END,
       CASE WHEN n < 3 THEN 'retryable' WHEN p.status = 'published' THEN NULL
            WHEN p.status = 'unknown' THEN 'ambiguous' ELSE 'permanent' END,
       CASE WHEN n < 3 THEN 'Service Unavailable' WHEN p.status = 'published' THEN NULL
            ELSE 'Status is a duplicate.' END,
       300, 'celery@bench', '{{}}',
       CASE WHEN n = 3 AND p.status = 'published' THEN p.external_id END
FROM post AS p CROSS JOIN generate_series(1, 3) AS n
WHERE p.status IN ('published', 'failed', 'needs_review', 'unknown')
"""

_AUDIT = """
INSERT INTO audit_event (id, at, actor, action, article_id, post_id, channel_id, detail,
                         before, after)
SELECT gen_random_uuid(), p.created_at + n * interval '1 minute',
       (ARRAY['system', 'user:editor', 'user:desk'])[n],
       (ARRAY['post.created', 'post.approved', 'post.scheduled'])[n],
       p.article_id, p.id, p.channel_id, NULL, '{{}}', '{{}}'
FROM post AS p CROSS JOIN generate_series(1, 3) AS n
"""


def seed(
    engine: Engine, *, articles: int = ARTICLES, future_posts: int = FUTURE_POSTS
) -> dict[str, float]:
    """Fill an empty migrated database; returns the seconds each table took."""
    sizes = {
        "last_channel": CHANNELS - 1,
        "articles": articles,
        "history_articles": articles - -(-future_posts // 3),
        "future_posts": future_posts,
        "history_state": _HISTORY_STATE,
    }
    took: dict[str, float] = {}
    for table, template in (
        ("channel", _CHANNELS),
        ("article", _ARTICLES),
        ("post", _POSTS),
        ("delivery_attempt", _ATTEMPTS),
        ("audit_event", _AUDIT),
    ):
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.text(template.format(**sizes)))
        took[table] = time.perf_counter() - start
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        start = time.perf_counter()
        conn.execute(sa.text("VACUUM ANALYZE"))
        took["vacuum analyze"] = time.perf_counter() - start
    return took


def counts(engine: Engine) -> dict[str, int]:
    """Rows per table, and the posts per state."""
    with engine.connect() as conn:
        out = {
            t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one())  # noqa: S608
            for t in ("channel", "article", "post", "delivery_attempt", "audit_event")
        }
        for state, n in conn.execute(sa.text("SELECT status, count(*) FROM post GROUP BY 1")):
            out[f"post.{state}"] = int(n)
    return out
