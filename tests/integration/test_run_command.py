"""``newsrelay run`` (the README's first command) delivers the fixture article end to end, and
the CLI shows it: posts list, deliveries and what the sandbox received."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIXTURE_ARTICLE
from tests.utils.stack import ROOT, free_port, wait_until


@pytest.fixture
def running(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRELAY_")}
    env.update(
        NEWSRELAY_DATA_DIR=str(tmp_path / "data"),
        NEWSRELAY_SANDBOX_PORT=str(free_port()),
        NEWSRELAY_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    port = free_port()
    env["NEWSRELAY_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "scheduler.cli.app", "run", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout=60, message="newsrelay run to serve /healthz")
        yield env
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()


def cli(env: dict[str, str], *args: str) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        [sys.executable, "-m", "scheduler.cli.app", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_newsrelay_run_publishes_the_fixture_article_on_three_channels(
    running: dict[str, str],
) -> None:
    env = running
    subprocess.run(
        [sys.executable, "-m", "scheduler.cli.app", "articles", "add", str(FIXTURE_ARTICLE)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )

    def published() -> list[dict] | None:  # type: ignore[type-arg]
        posts = cli(env, "posts", "list", "--json")["posts"]
        return posts if len(posts) == 3 and all(p["status"] == "published" for p in posts) else None

    try:
        posts = wait_until(published, timeout=60, interval=0.5, message="three published posts")
    except AssertionError as exc:
        # Say what the posts are doing and what the service logged, not only that it timed out.
        posts_now = cli(env, "posts", "list", "--json")["posts"]
        log = (Path(env["NEWSRELAY_DATA_DIR"]).parent / "run.log").read_text(errors="replace")
        raise AssertionError(f"{exc}\nposts: {posts_now}\nservice log:\n{log[-8000:]}") from None
    assert sorted(p["channel"] for p in posts) == ["facebook", "instagram", "x"]
    assert all(p["external_id"] and p["external_url"] for p in posts)
    deliveries = cli(env, "deliveries", "--json")["deliveries"]
    assert sorted(d["channel"] for d in deliveries) == ["facebook", "instagram", "x"]
    assert {d["status"] for d in deliveries} == {"succeeded"}
    requests = cli(env, "sandbox", "requests", "--json")["requests"]
    creates = [r for r in requests if r["kind"] in ("create", "publish")]
    assert len(creates) == 3
    dumped = json.dumps(requests) + json.dumps(deliveries)
    assert "sandbox-token" not in dumped


def test_first_start_says_how_to_create_the_first_admin_without_waiting_for_input(
    running: dict[str, str], tmp_path: Path
) -> None:
    # stdin is not a terminal here (as in CI): the message is printed and nothing is asked.
    log = (tmp_path / "run.log").read_text(errors="replace")
    base = running["NEWSRELAY_PUBLIC_BASE_URL"]
    assert f"nobody can sign in at {base}/login" in log, log[-4000:]
    assert "    newsrelay users create --role admin --username NAME\n" in log
    assert "[Y/n]" not in log
