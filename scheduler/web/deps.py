"""What every web route needs: the logged-in user, role checks, CSRF, flash messages, and
rendering a template with the page frame's context (user, pause banner, time zones)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session

from config import Settings
from scheduler.access.auth import Principal
from scheduler.models import Role
from scheduler.ops.state import global_pause
from scheduler.web import clock
from scheduler.web.health_words import health_words
from scheduler.web.people import People, person_filter
from scheduler.web.session import csrf_matches, new_csrf_token

TEMPLATES_DIR = Path(__file__).parent / "templates"

# Autoescape on for every template: article titles and platform messages are untrusted text.
env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["fmt_time"] = clock.fmt_time
env.filters["fmt_datetime"] = clock.fmt_datetime
env.filters["picker_value"] = clock.picker_value
env.filters["fmt_iso"] = clock.fmt_iso
env.filters["health_words"] = health_words
env.filters["person"] = person_filter

EDITOR_ROLES = frozenset({Role.EDITOR, Role.ADMIN})
OPS_ROLES = frozenset({Role.OPS, Role.ADMIN})


class LoginRequired(Exception):
    """No valid session: the browser is sent to the login page."""


class WebForbidden(Exception):
    """The user's role does not allow this page or action."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class CsrfRefused(Exception):
    """A form arrived without this session's CSRF token."""


def session_data(request: Request) -> dict[str, Any]:
    data: dict[str, Any] = request.scope.setdefault("session", {})
    return data


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    data = session_data(request)
    if not data.get("csrf"):
        data["csrf"] = new_csrf_token()
    return str(data["csrf"])


def flash(request: Request, message: str, *, kind: str = "ok") -> None:
    """A message shown once on the next page (``ok`` or ``error``)."""
    session_data(request)["flash"] = {"kind": kind, "text": message[:500]}


def pop_flash(request: Request) -> dict[str, str] | None:
    value = session_data(request).pop("flash", None)
    return value if isinstance(value, dict) else None


def current_user(request: Request) -> Principal:
    user: Principal | None = getattr(request.state, "user", None)
    if user is None:
        raise LoginRequired()
    return user


def _role_names(roles: frozenset[Role]) -> str:
    return " or ".join(sorted(r.value for r in roles))


def needs(*roles: Role) -> Any:
    """A dependency admitting the given roles (admin always)."""
    allowed = frozenset({*roles, Role.ADMIN})

    def dependency(user: Annotated[Principal, Depends(current_user)]) -> Principal:
        if user.role not in allowed:
            raise WebForbidden(
                f"This page is for the {_role_names(allowed)} role; you are signed in as "
                f"{user.role.value}."
            )
        return user

    return Depends(dependency)


async def check_csrf(request: Request) -> None:
    """Refuse any form without the session's token (every POST route depends on this)."""
    form = await request.form()
    token = form.get("csrf_token")
    if not csrf_matches(session_data(request), token if isinstance(token, str) else None):
        raise CsrfRefused()


UserDep = Annotated[Principal, Depends(current_user)]
EditorUser = Annotated[Principal, needs(Role.EDITOR)]
OpsUser = Annotated[Principal, needs(Role.OPS)]
ActionUser = Annotated[Principal, needs(Role.EDITOR, Role.OPS)]
CsrfDep = Depends(check_csrf)


def redirect(url: str) -> RedirectResponse:
    """See Other: the browser follows with a GET, so a reload never re-submits the form."""
    return RedirectResponse(url, status_code=303)


def render(
    request: Request,
    template: str,
    *,
    session: Session | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page inside the frame; with a DB session, the kill-switch banner is included."""
    settings: Settings = request.app.state.settings
    user: Principal | None = getattr(request.state, "user", None)
    pause = global_pause(session=session) if (session is not None and user) else None
    base = {
        "request": request,
        "user": user,
        "is_editor": user is not None and user.role in EDITOR_ROLES,
        "is_ops": user is not None and user.role in OPS_ROLES,
        "csrf_token": csrf_token(request),
        "flash": pop_flash(request),
        "pause": pause,
        "newsroom_tz": settings.newsroom_timezone,
        "path": request.url.path,
        "people": People(session),
    }
    html = env.get_template(template).render({**base, **context})
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
