"""Failures reach a person, end to end: ops pull the kill switch in the UI, the running
service's alert job sends one signed webhook and one email (to real receivers), the Alerts page
lists the open alert with when and where it was sent, and resuming sends one "resolved". A
channel whose login expires alerts too; what the receivers got is shown in the README."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from playwright.sync_api import Browser, Page, expect

from scheduler.channels import SANDBOX_ACCOUNTS
from scheduler.models import PlatformName
from tests.ops.alert_receivers import SmtpInbox, WebhookInbox, smtp_server, webhook_receiver
from tests.utils.stack import wait_until
from tests.web.axe import assert_no_serious_violations
from tests.web.conftest import login, new_context, shot
from tests.web.received_alerts import received_email_page, received_webhook_page
from tests.web.service import PASSWORD, RunningService, variant

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

HOOK_SECRET = "whsec-browser-7e6d5c"
SMTP_PASSWORD = "smtp-browser-4b3a29"


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[WebhookInbox, SmtpInbox]]:
    with (
        webhook_receiver(secret=HOOK_SECRET) as hook,
        smtp_server(user="alerts", password=SMTP_PASSWORD) as smtp,
    ):
        yield hook, smtp


@pytest.fixture(scope="module")
def alerting_service(
    tmp_path_factory: pytest.TempPathFactory, receivers: tuple[WebhookInbox, SmtpInbox]
) -> Iterator[RunningService]:
    """A service of its own (its kill switch must not hold up the other browser tests), with
    alerts to the receivers, evaluated every second."""
    hook, smtp = receivers
    svc = RunningService(tmp_path_factory.mktemp("alerts"))
    svc.env.update(
        {
            "NEWSRELAY_ALERTS__WEBHOOK_URL": hook.url,
            "NEWSRELAY_ALERTS__WEBHOOK_SECRET": HOOK_SECRET,
            "NEWSRELAY_ALERTS__SMTP_HOST": "127.0.0.1",
            "NEWSRELAY_ALERTS__SMTP_PORT": str(smtp.port),
            "NEWSRELAY_ALERTS__SMTP_USER": "alerts",
            "NEWSRELAY_ALERTS__SMTP_PASSWORD": SMTP_PASSWORD,
            "NEWSRELAY_ALERTS__SMTP_STARTTLS": "false",
            "NEWSRELAY_ALERTS__EMAIL_TO": json.dumps(["oncall@desk.example"]),
            "NEWSRELAY_ALERTS__INTERVAL_SECONDS": "1",
        }
    )
    svc.cli("users", "create", "--role", "ops", "--username", "ops", "--password", PASSWORD)
    svc.start()
    yield svc
    svc.stop()


def _kill_switch_texts(hook: WebhookInbox) -> list[str]:
    return [t for t in hook.texts() if "kill switch" in t]


def _kill_switch_mails(smtp: SmtpInbox) -> list[str]:
    return [str(m["Subject"]) for m in smtp.messages if "kill switch" in str(m["Subject"])]


def test_the_kill_switch_alerts_once_shows_on_the_alerts_page_and_resolves_once(
    browser: Browser,
    alerting_service: RunningService,
    receivers: tuple[WebhookInbox, SmtpInbox],
) -> None:
    hook, smtp = receivers
    ctx = new_context(browser, alerting_service)
    page: Page = ctx.new_page()
    login(page, "ops")
    page.goto("/deliveries")
    page.get_by_text("Pause all publishing").click()
    page.get_by_label("Reason (shown to everyone until publishing resumes)").fill("Bad feed")
    page.get_by_role("button", name="Pause all").click()
    expect(page.locator("#pause-title")).to_be_visible()

    opened = "[newsrelay] ALERT: The kill switch is on (by user:ops: Bad feed)."
    wait_until(lambda: _kill_switch_texts(hook) and _kill_switch_mails(smtp), timeout=30)
    page.get_by_role("link", name="Alerts").click()
    row = page.locator('tr[data-condition="kill_switch"]')
    expect(row).to_contain_text("Kill switch on")
    expect(row).to_contain_text("webhook, email")
    expect(page.locator("#open-title")).to_contain_text("Open")
    expect(page.locator(".page-head")).to_contain_text("email to oncall@desk.example")
    shot(page, "alerts.png")
    # The pause banner and an open alert are on every page now: axe checks that state too.
    assert_no_serious_violations(page, "alerts, publishing paused")

    page.get_by_role("button", name="Resume publishing").click()
    wait_until(lambda: len(_kill_switch_texts(hook)) >= 2, timeout=30)
    page.goto("/alerts")
    resolved = page.locator(
        'section[aria-labelledby="resolved-title"] tr[data-condition="kill_switch"]'
    )
    expect(resolved).to_contain_text("announced")
    ctx.close()

    resolved_text = (
        "[newsrelay] RESOLVED: The kill switch is on (by user:ops: Bad feed). Now resolved."
    )
    assert _kill_switch_texts(hook) == [opened, resolved_text]
    assert _kill_switch_mails(smtp) == [opened, resolved_text]
    assert hook.refused == 0
    logs = alerting_service.log_path.read_text(errors="replace")
    assert HOOK_SECRET not in logs and SMTP_PASSWORD not in logs


def _reconnect_alerts(
    hook: WebhookInbox, smtp: SmtpInbox
) -> tuple[tuple[dict[str, str], bytes], EmailMessage] | None:
    hooks = [r for r in list(hook.raw) if b"needs reconnecting" in r[1]]
    mails = [m for m in list(smtp.messages) if "needs reconnecting" in str(m["Subject"])]
    return (hooks[0], mails[0]) if hooks and mails else None  # type: ignore[return-value]


def test_a_channel_needing_reconnect_reaches_smtp_and_the_webhook_as_received(
    browser: Browser,
    alerting_service: RunningService,
    receivers: tuple[WebhookInbox, SmtpInbox],
) -> None:
    """The Facebook login expires at the platform; what the two receivers got is checked
    (the signature recomputed here, the Slack-compatible body, the mail's headers and text)
    and rendered as the README's screenshots alert-email.png and alert-webhook.png."""
    hook, smtp = receivers
    svc = alerting_service
    fb = SANDBOX_ACCOUNTS[PlatformName.FACEBOOK]
    svc.cli("sandbox", "fault", fb, "--expired-token", "--url", svc.sandbox_url)
    try:
        article = variant("alert-reauth")
        svc.add_article(article)
        svc.wait_posts(article["external_id"], {"facebook": {"needs_reauth"}})
        (headers, body), mail = wait_until(lambda: _reconnect_alerts(hook, smtp), timeout=30)
    finally:
        svc.cli("sandbox", "fault", fb, "--clear", "--url", svc.sandbox_url)

    headline = (
        "[newsrelay] ALERT: Channel Sandbox Facebook needs reconnecting: "
        "the platform refuses its login."
    )
    ts, signature = headers["X-Newsrelay-Timestamp"], headers["X-Newsrelay-Signature"]
    mac = hmac.new(HOOK_SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256)
    assert signature == "sha256=" + mac.hexdigest()
    assert abs(int(ts) - time.time()) < 120
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["text"] == headline
    assert [b["type"] for b in payload["blocks"]] == ["section", "context"]
    assert payload["blocks"][0]["text"] == {"type": "mrkdwn", "text": f"*{headline}*"}
    assert "condition `channel_reauth`" in payload["blocks"][1]["elements"][0]["text"]
    assert mail["Subject"] == headline
    assert mail["To"] == "oncall@desk.example"
    assert mail["From"] == "newsrelay@localhost"
    text = mail.get_content().replace("\r\n", "\n")  # SMTP's line ends
    key = f"channel_reauth:{svc.channel('facebook').id}"
    assert text == f"{headline}\n\nCondition: channel_reauth\nKey: {key}\n"

    ctx = new_context(browser, svc)
    page: Page = ctx.new_page()
    page.set_content(received_email_page(mail, smtp))
    expect(page.get_by_role("heading", level=1)).to_have_text("Received by the SMTP server")
    shot(page, "alert-email.png")
    page.set_content(received_webhook_page(hook.url, headers, body, secret=HOOK_SECRET))
    expect(page.locator("#verified")).to_have_text("Signature valid")
    shot(page, "alert-webhook.png")

    login(page, "ops")
    page.goto("/alerts")
    row = page.locator('tr[data-condition="channel_reauth"]')
    expect(row).to_contain_text("Channel needs reconnect")
    expect(row).to_contain_text("webhook, email")
    ctx.close()
    assert SMTP_PASSWORD not in text and HOOK_SECRET.encode() not in body
