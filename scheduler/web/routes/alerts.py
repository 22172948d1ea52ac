"""The Alerts page for ops: open and recent alerts, when each was sent and where."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from config.settings import AlertSettings
from scheduler.api.deps import SessionDep, SettingsDep
from scheduler.api.routes.alerts import alert_row
from scheduler.ops.alerts import alert_history
from scheduler.web.deps import OpsUser, render

router = APIRouter()


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: OpsUser
) -> HTMLResponse:
    rows = [alert_row(r) for r in alert_history(session=session)]
    return render(
        request,
        "alerts.html",
        session=session,
        open_alerts=[r for r in rows if r["open"]],
        resolved_alerts=[r for r in rows if not r["open"]],
        destinations=_destinations(settings.alerts),
    )


def _destinations(alerts: AlertSettings) -> list[str]:
    """Where alerts go, in words without secrets: "signed webhook" and the email recipients."""
    found = []
    if alerts.webhook_url:
        found.append("signed webhook")
    if alerts.smtp_host and alerts.email_to:
        found.append("email to " + ", ".join(alerts.email_to))
    return found
