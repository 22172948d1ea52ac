"""docker-compose.yml describes the production topology correctly (no Docker engine needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_compose_has_every_production_service(compose: dict[str, Any]) -> None:
    services = set(compose["services"])
    assert {"db", "redis", "api", "scheduler", "flower"} <= services
    for queue in ("deliver.x", "deliver.instagram", "deliver.facebook", "format"):
        assert any(
            queue in " ".join(s.get("command", []))
            for s in compose["services"].values()
            if "worker" in " ".join(s.get("command", []))
        ), f"no worker for {queue}"


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        if name == "migrate":
            continue
        check = svc.get("healthcheck")
        assert check and check.get("test"), f"{name} has no health check"


def test_redis_broker_keeps_messages(compose: dict[str, Any]) -> None:
    cmd = compose["services"]["redis"]["command"]
    assert cmd[cmd.index("--appendonly") + 1] == "yes"
    assert cmd[cmd.index("--maxmemory-policy") + 1] == "noeviction"


def test_app_services_use_our_console_script_and_wait_for_healthy_deps(
    compose: dict[str, Any],
) -> None:
    svcs = compose["services"]
    assert svcs["api"]["command"][:2] == ["newsrelay", "api"]
    assert svcs["scheduler"]["command"] == ["newsrelay", "scheduler"]
    assert svcs["scheduler"]["healthcheck"]["test"][:3] == ["CMD", "newsrelay", "health"]
    for name in ("api", "scheduler", "worker-x", "worker-instagram", "worker-facebook"):
        deps = svcs[name]["depends_on"]
        assert deps["db"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name
    assert svcs["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_secrets_come_from_the_environment_not_the_file(compose: dict[str, Any]) -> None:
    env = compose["services"]["api"]["environment"]
    for key in ("NEWSRELAY_SECRET_KEY", "NEWSRELAY_ENCRYPTION_KEYS", "NEWSRELAY_WEBHOOK_SECRET"):
        assert env[key].startswith("${") and ":?" in env[key], key
    assert "${POSTGRES_PASSWORD" in env["NEWSRELAY_DATABASE_URL"]
    assert env["NEWSRELAY_ENVIRONMENT"] == "production"


def test_worker_commands_are_accepted_by_our_cli(compose: dict[str, Any]) -> None:
    from typer.testing import CliRunner

    from scheduler.cli.app import app

    runner = CliRunner()
    for name, svc in compose["services"].items():
        cmd = svc.get("command", [])
        if cmd[:1] != ["newsrelay"]:
            continue
        # --help parses every option the compose file passes without running the service.
        result = runner.invoke(app, [*cmd[1:2], "--help"])
        assert result.exit_code == 0, (name, result.output)
        options = [c for c in cmd[2:] if c.startswith("--")]
        for opt in options:
            assert opt in result.output, (name, opt)
