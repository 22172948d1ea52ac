"""Property-based fuzzing of the whole OpenAPI document with schemathesis, as an admin on a
real PostgreSQL database (it refuses NUL characters, so it finds more than SQLite would): no
input may produce a 5xx, and every documented response must match its schema."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from config import Settings
from scheduler.api.app import create_app
from tests.api.conftest import ApiHarness, build_harness, seed_article


@pytest.fixture
def fuzz_api(tmp_path: Path, pg_url: str, article_json: dict[str, Any]) -> Iterator[ApiHarness]:
    # With a webhook secret, as in production (without one the webhook answers 503 by design).
    for harness in build_harness(tmp_path, pg_url, webhook_secret="fuzz-webhook-secret-0123456789"):
        seed_article(harness.engine, article_json, tag="fuzz")
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


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_api_never_answers_5xx_and_matches_its_documented_schemas(
    case: Any, fuzz_api: ApiHarness
) -> None:
    case.call_and_validate(
        app=fuzz_api.client.app,
        headers=fuzz_api.headers("admin"),
        checks=[not_a_server_error, response_schema_conformance],
    )
