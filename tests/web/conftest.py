"""Browser-test fixtures: ``newsrelay run`` with users made by the CLI, and headless Chromium
(Debian's /usr/bin/chromium driven by Playwright; never a browser download)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.web.service import PASSWORD, RunningService, configure_channel

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
USERS = {"editor": "editor", "ops": "ops", "admin": "admin"}


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    svc = RunningService(tmp_path_factory.mktemp("web"))
    # The first admin is made with the CLI, like everyone else here.
    for name, role in USERS.items():
        svc.cli("users", "create", "--role", role, "--username", name, "--password", PASSWORD)
    svc.start()
    # The X channel waits for an editor's approval; Facebook posts in London time, so the
    # queue shows a channel zone that differs from the newsroom's.
    configure_channel(svc, "x", settings={"requires_approval": True})
    configure_channel(svc, "facebook", timezone="Europe/London")
    yield svc
    svc.stop()


def _fontconfig(tmp: Path) -> Path:
    """The system's fonts plus the Noto fonts the headline cards use (Python packages), so
    Urdu and Indic text in the pages renders on a machine without those fonts installed."""
    from adapters.fonts import available_faces

    dirs = "".join(
        f"<dir>{d}</dir>" for d in sorted({str(f.path.parent) for f in available_faces()})
    )
    conf = tmp / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f'<include ignore_missing="yes">/etc/fonts/fonts.conf</include>{dirs}'
        f"<cachedir>{tmp / 'cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    return conf


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test does)")
    env = {**os.environ, "FONTCONFIG_FILE": str(_fontconfig(tmp_path_factory.mktemp("fonts")))}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, env=env)
        yield b
        b.close()


def new_context(browser: Browser, service: RunningService, **kw: object) -> BrowserContext:
    ctx = browser.new_context(base_url=service.url, viewport={"width": 1280, "height": 900}, **kw)  # type: ignore[arg-type]
    ctx.set_default_timeout(15_000)
    return ctx


def login(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".who")).to_contain_text(username)


@pytest.fixture
def editor_page(browser: Browser, service: RunningService) -> Iterator[Page]:
    ctx = new_context(browser, service)
    page = ctx.new_page()
    login(page, "editor")
    yield page
    ctx.close()


@pytest.fixture
def ops_page(browser: Browser, service: RunningService) -> Iterator[Page]:
    ctx = new_context(browser, service)
    page = ctx.new_page()
    login(page, "ops")
    yield page
    ctx.close()


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Save a screenshot for the README (docs/screenshots) and for CI (test-artifacts)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)
    shutil.copyfile(ARTIFACTS / name, SCREENSHOTS / name)
