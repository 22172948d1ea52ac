"""Property-based fuzzing of the whole OpenAPI document with schemathesis, as an admin on a
real PostgreSQL database (it refuses NUL characters, so it finds more than SQLite would), with
every one of schemathesis' checks on valid and invalid data: no 5xx, every status, media type,
header and body as documented, valid input accepted and invalid input refused, 405 with Allow.

``NEWSRELAY_FUZZ_EXAMPLES`` raises the number of examples per operation for a deeper local run.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.generation import GenerationMode
from sqlalchemy.engine import Engine

from config import Settings
from scheduler.api.app import create_app
from tests.api.conftest import ApiHarness, build_harness
from tests.conftest import FIXTURE_ARTICLE, _pg_url_for
from tests.utils.factories import seed_article


@pytest.fixture(scope="module")
def fuzz_api(
    pg_admin: Engine, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiHarness]:
    """One database for every operation (cheaper than one per operation, and the fuzzer's
    writes to one route then meet the others' reads)."""
    name = f"nr_fuzz_{uuid.uuid4().hex[:10]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    article = json.loads(FIXTURE_ARTICLE.read_text(encoding="utf-8"))
    # With a webhook secret, as in production (without one the webhook answers 503 by design).
    yield from _seeded(
        build_harness(
            tmp_path_factory.mktemp("fuzz"),
            _pg_url_for(name),
            webhook_secret="fuzz-webhook-secret-0123456789",
        ),
        article,
    )
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _seeded(harnesses: Iterator[ApiHarness], article: dict[str, Any]) -> Iterator[ApiHarness]:
    for harness in harnesses:
        seed_article(harness.engine, article, tag="fuzz")
        yield harness


def _document_app() -> Any:
    # Only the OpenAPI document is read from this app (it does not depend on the database);
    # each case is sent to the test's own app on its own database.
    data_dir = Path(tempfile.mkdtemp(prefix="newsrelay-openapi-"))
    return create_app(Settings(environment="test", data_dir=data_dir))


# The live stream runs until its max_seconds; tests/api/test_ops_api.py covers it.
schema = schemathesis.openapi.from_asgi("/openapi.json", _document_app()).exclude(
    path="/api/v1/deliveries/stream"
)
schema.config.generation.update(modes=list(GenerationMode))  # valid and invalid data
load_all_checks()
ALL_CHECKS = CHECKS.get_all()
#: Operations with a rule relative to the clock, which no static schema can state ("within a
#: year from now", "in the future"): a schema-valid time outside it is refused with 422.
CLOCK_RULES = {
    "POST /api/v1/posts/{post_id}/schedule",
    "POST /api/v1/posts/bulk",
    "POST /api/v1/pause",
    "POST /api/v1/channels/{channel_id}/pause",
}
#: Operations with a rule relative to what is stored: an article's revision only grows, so once
#: an earlier example stored it at the highest revision, an unnumbered update is refused (422).
STATE_RULES = {"POST /api/v1/articles"}
#: Operations whose input is checked against the post it names: a post's address must be on
#: that post's platform (x.com for an X post), which the schema of a plain URL cannot state.
POST_RULES = {"POST /api/v1/posts/{post_id}/mark-published"}
#: Operations with a rule across fields: a setting of one platform (attach_image, include_link
#: on X; post_type on Facebook) on another platform's channel is refused with 422, and on a
#: PATCH the platform is the stored channel's, not in the request.
PLATFORM_RULES = {"POST /api/v1/admin/channels", "PATCH /api/v1/admin/channels/{channel_id}"}
EXAMPLES = int(os.environ.get("NEWSRELAY_FUZZ_EXAMPLES", "20"))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_api_answers_as_documented_under_every_schemathesis_check(
    case: Any, fuzz_api: ApiHarness
) -> None:
    checks = ALL_CHECKS
    # A cursor is opaque: one that fits the documented pattern but that this API never issued
    # is refused with 422 by design, so "valid data is accepted" cannot hold for it.
    if (
        case.query and case.query.get("cursor")
    ) or case.operation.label in CLOCK_RULES | STATE_RULES | POST_RULES | PLATFORM_RULES:
        checks = [c for c in ALL_CHECKS if c.__name__ != "positive_data_acceptance"]
    case.call_and_validate(
        app=fuzz_api.client.app, headers=fuzz_api.headers("admin"), checks=checks
    )
