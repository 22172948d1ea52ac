"""docker-compose.yml describes the production topology correctly (no Docker engine needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ONE_SHOT = {"migrate", "media-bucket"}
APP_IMAGE = "newsrelay:latest"


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
        if name in ONE_SHOT:
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


def test_app_services_share_no_disk_and_keep_media_in_the_bucket(compose: dict[str, Any]) -> None:
    """Workers and schedulers on separate hosts: no application container mounts a volume; the
    media store is the S3-compatible bucket, which the one-shot job creates before they start."""
    svcs = compose["services"]
    apps = {n: s for n, s in svcs.items() if s.get("image") == APP_IMAGE}
    assert {"api", "scheduler", "worker-x", "worker-format"} <= set(apps)
    for name, svc in apps.items():
        assert not svc.get("volumes"), f"{name} mounts {svc.get('volumes')}"
        env = svc["environment"]
        assert env["NEWSRELAY_MEDIA__STORE"] == "s3", name
        assert env["NEWSRELAY_MEDIA__S3_ENDPOINT_URL"] == "http://minio:9000", name
        assert env["NEWSRELAY_MEDIA__S3_SECRET_ACCESS_KEY"].startswith("${MINIO_ROOT_PASSWORD:?")
        assert svcs[name]["depends_on"]["media-bucket"]["condition"] == (
            "service_completed_successfully"
        )
    assert svcs["minio"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    bucket_job = " ".join(svcs["media-bucket"]["command"])
    assert "mc mb --ignore-existing store/newsrelay-media" in bucket_job
    assert svcs["media-bucket"]["depends_on"]["minio"]["condition"] == "service_healthy"


def test_schedulers_and_workers_scale_on_their_own_hosts(compose: dict[str, Any]) -> None:
    svcs = compose["services"]

    def placed_on(name: str) -> list[str]:
        constraints: list[str] = svcs[name]["deploy"]["placement"]["constraints"]
        return constraints

    assert placed_on("scheduler") == ["node.labels.newsrelay == scheduler"]
    assert svcs["scheduler"]["deploy"]["replicas"] >= 2
    assert svcs["scheduler"]["deploy"]["placement"]["max_replicas_per_node"] == 1
    workers = [n for n, s in svcs.items() if s.get("command", [])[:2] == ["newsrelay", "worker"]]
    assert len(workers) == 4
    for name in workers:
        assert placed_on(name) == ["node.labels.newsrelay == worker"], name
        assert svcs[name]["deploy"]["replicas"] >= 2, name
    for name in ("db", "redis", "minio"):
        assert placed_on(name) == ["node.labels.newsrelay == data"], name
