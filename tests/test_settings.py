"""Settings refuse to run production on placeholder secrets and name the variable."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config import Settings


def test_production_refuses_a_missing_secret_and_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSRELAY_ENVIRONMENT", "production")
    monkeypatch.setenv("NEWSRELAY_DATABASE_URL", "postgresql://db/newsrelay")
    monkeypatch.setenv("NEWSRELAY_BROKER_URL", "redis://redis:6379/0")
    with pytest.raises(ValidationError, match="NEWSRELAY_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("NEWSRELAY_SECRET_KEY", "changeme")
    with pytest.raises(ValidationError, match="NEWSRELAY_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("NEWSRELAY_SECRET_KEY", "a-real-random-secret-value-123456")
    s = Settings()
    assert s.x.base_url == "https://api.x.com"
    assert s.meta.base_url == "https://graph.facebook.com"


def test_embedded_default_needs_no_server(tmp_path: object) -> None:
    s = Settings(environment="development", data_dir=tmp_path)  # type: ignore[arg-type]
    assert s.resolved_database_url.startswith("sqlite:///")
    assert s.embedded_broker
    assert s.x.base_url == s.sandbox_url == s.meta.base_url


def test_nested_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSRELAY_META__API_VERSION", "v25.0")
    monkeypatch.setenv("NEWSRELAY_X__BASE_URL", "http://127.0.0.1:9999")
    s = Settings()
    assert s.meta.api_version == "v25.0"
    assert s.x.base_url == "http://127.0.0.1:9999"
