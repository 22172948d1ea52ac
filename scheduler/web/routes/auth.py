"""Login and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from scheduler.access.auth import authenticate_user
from scheduler.access.sessions import close_web_session, open_web_session
from scheduler.access.throttle import (
    Refusal,
    clear_account_failures,
    login_refusal,
    record_login_failure,
)
from scheduler.api.deps import SessionDep
from scheduler.runtime.logs import get_logger
from scheduler.web.deps import CsrfDep, UserDep, flash, redirect, render, session_data
from scheduler.web.session import new_csrf_token

log = get_logger(__name__)
router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only same-site paths: "//host" or "/\host" would send the user to another site.
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next), username="")


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_form(
    request: Request, *, status: int, error: str, form: dict[str, str], refusal: Refusal | None
) -> Response:
    response = render(
        request,
        "login.html",
        status_code=status,
        error=error,
        next=form["next"],
        username=form["username"],
    )
    if refusal is not None:
        response.headers["Retry-After"] = str(refusal.seconds)
    return response


@router.post("/login", dependencies=[CsrfDep], response_model=None)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    name, address = username.strip(), _client_address(request)
    form = {"next": _safe_next(next), "username": username}
    refusal = login_refusal(session=session, username=name, address=address)
    if refusal is not None:
        # Refused before the password is checked: a throttled attacker learns nothing.
        log.info("web_login_throttled", username=name, address=address, scope=refusal.scope)
        return _login_form(request, status=429, error=refusal.message, form=form, refusal=refusal)
    user = authenticate_user(session=session, username=name, password=password)
    if user is None:
        log.info("web_login_refused", username=name, address=address)
        wrong = "The username or password is wrong, or the account is disabled."
        # The failure that starts a delay says so at once, with the wait in Retry-After.
        refusal = record_login_failure(session=session, username=name, address=address)
        error = f"{wrong} {refusal.message}" if refusal else wrong
        return _login_form(request, status=401, error=error, form=form, refusal=refusal)
    clear_account_failures(session=session, username=name)
    data = session_data(request)
    if data.get("sid"):  # signing in again (maybe as someone else) ends the previous session
        close_web_session(session=session, token=str(data["sid"]))
    # A fresh session (and CSRF token) at login, so a token planted before it is worthless.
    data.clear()
    data["sid"] = open_web_session(session=session, user_id=user.id)
    data["csrf"] = new_csrf_token()
    log.info("web_login", username=user.username, role=str(user.role))
    return redirect(_safe_next(next))


@router.post("/logout", dependencies=[CsrfDep])
def logout(request: Request, session: SessionDep, user: UserDep) -> RedirectResponse:
    data = session_data(request)
    # The row goes, so a copy of this cookie taken before now signs nobody in.
    close_web_session(session=session, token=str(data.get("sid", "")))
    data.clear()
    flash(request, "You are signed out.")
    return redirect("/login")
