"""Connecting real accounts on ``newsrelay run`` (no seeded channels): an admin connects X and
"Facebook & Instagram" from the Channels page in Chromium, picks one Page and its Instagram
account, and the fixture article goes out on the three new channels with the tokens the
sandbox issued; the CLI connects on the same running service; no token or secret in its log."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from adapters.sandbox import SandboxClient
from config import Settings
from config.settings import SANDBOX_META_APP_SECRET, SANDBOX_X_CLIENT_SECRET
from scheduler.channels import channel_credentials
from scheduler.models import Channel
from tests.web.conftest import login, new_context, shot
from tests.web.service import PASSWORD, RunningService, variant

X_USER, PAGE, IG = "1700000000000000001", "100000000000001", "17841400000000001"


@pytest.fixture(scope="module")
def bare_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    svc = RunningService(tmp_path_factory.mktemp("connect"))
    svc.env["NEWSRELAY_SANDBOX_SEED_CHANNELS"] = "false"
    svc.env["NEWSRELAY_LOG_LEVEL"] = "INFO"
    svc.cli("users", "create", "--role", "admin", "--username", "admin", "--password", PASSWORD)
    svc.start()
    yield svc
    svc.stop()


def _stored_channels(svc: RunningService) -> dict[tuple[str, str], Channel]:
    with Session(svc.engine) as s:
        return {(str(c.platform), c.account_id): c for c in s.exec(select(Channel)).all()}


def _connect_from_channels_page(page: Page) -> None:
    page.goto("/channels")
    expect(page.get_by_text("No channels yet")).to_be_visible()
    page.get_by_role("button", name="Connect X").click()
    expect(page.locator(".flash")).to_contain_text("as the channel X @sandbox_newsroom")
    page.get_by_role("button", name="Connect Facebook & Instagram").click()
    expect(page.get_by_role("heading", name="Connect Facebook & Instagram")).to_be_visible()
    page.get_by_label("Facebook Page Sandbox Newsroom").check()
    page.get_by_label("Instagram @sandbox_newsroom").check()
    shot(page, "connect-meta-choice.png")
    page.get_by_role("button", name="Connect selected").click()
    expect(page.locator(".flash")).to_contain_text("Instagram @sandbox_newsroom")
    expect(page.locator("tr[data-channel]")).to_have_count(3)
    expect(page.locator("td.connected-via").first).to_contain_text("with OAuth")
    shot(page, "channels.png")


def _disable_and_enable(page: Page, name: str) -> None:
    row = page.locator(f'tr[data-channel="{name}"]')
    row.get_by_role("button", name=f"Disable {name}").click()
    expect(page.locator(".flash")).to_contain_text(f"{name} is disabled")
    expect(row.locator(".badge-health")).to_have_text("Paused")
    row.get_by_role("button", name=f"Enable {name}").click()
    expect(row.locator(".badge-health")).to_have_text("Active")


def test_admin_connects_x_facebook_and_instagram_and_the_article_goes_out(
    browser: Browser, bare_service: RunningService
) -> None:
    svc = bare_service
    ctx = new_context(browser, svc)
    page = ctx.new_page()
    login(page, "admin")
    _connect_from_channels_page(page)
    _disable_and_enable(page, "X @sandbox_newsroom")
    ctx.close()

    stored = _stored_channels(svc)
    assert set(stored) == {("x", X_USER), ("facebook", PAGE), ("instagram", IG)}
    settings = Settings(environment="test", data_dir=Path(svc.env["NEWSRELAY_DATA_DIR"]))
    issued = {k: channel_credentials(c, settings=settings) for k, c in stored.items()}
    assert not any(
        v.startswith("sandbox-token-") for creds in issued.values() for v in creds.values()
    )
    external_id = svc.add_article(variant("connected"))
    posts = svc.wait_posts(external_id, {p: {"published"} for p in ("x", "facebook", "instagram")})
    live = {(p["platform"], p["account"]) for p in SandboxClient(svc.sandbox_url).posts()}
    assert {("x", X_USER), ("facebook", PAGE), ("instagram", IG)} <= live
    assert {str(p.channel_id) for p in posts.values()} == {str(c.id) for c in stored.values()}

    log = svc.log_path.read_text(errors="replace")
    assert "oauth_connected" in log
    for secret in [SANDBOX_X_CLIENT_SECRET, SANDBOX_META_APP_SECRET] + [
        v for creds in issued.values() for v in creds.values()
    ]:
        assert secret not in log


def _cli_connect(svc: RunningService, key: str, *args: str) -> str:
    """Run ``newsrelay channels connect``, open the URL it prints, return its output."""
    env = {**svc.env, "PYTHONUNBUFFERED": "1", "NEWSRELAY_API_KEY": key}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scheduler.cli.app", "channels", "connect", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("http"):
            opened = httpx.get(line.strip(), follow_redirects=True, timeout=30)
            assert opened.status_code == 200, opened.text
            break
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(lines) + out
    return "".join(lines) + out


def test_cli_prints_the_url_waits_for_the_callback_and_prints_the_channels(
    bare_service: RunningService,
) -> None:
    svc = bare_service
    key = svc.cli("keys", "create", "--role", "admin", "--name", "cli").strip().splitlines()[-1]
    httpx.post(
        f"{svc.sandbox_url}/_sandbox/oauth/login",
        json={"platform": "x", "user": "1700000000000000888"},
    ).raise_for_status()

    x_out = _cli_connect(svc, key, "x", "--api-url", svc.url)
    meta_out = _cli_connect(svc, key, "meta", "--api-url", svc.url, "--pages", "100000000000002")

    assert "connected: X @sandbox_1700000000000000888 (x account 1700000000000000888)" in x_out
    assert "connected: Facebook Sandbox Sports Desk (facebook account 100000000000002)" in meta_out
    assert ("facebook", "100000000000002") in _stored_channels(svc)
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "scheduler.cli.app",
            "channels",
            "connect",
            "x",
            "--api-url",
            svc.url,
        ],
        env=svc.env,  # no NEWSRELAY_API_KEY there
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "admin API key is needed" in bad.stderr
