"""Login and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from scheduler.access.auth import authenticate_user
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


@router.post("/login", dependencies=[CsrfDep], response_model=None)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> HTMLResponse | RedirectResponse:
    user = authenticate_user(session=session, username=username.strip(), password=password)
    if user is None:
        log.info("web_login_refused", username=username.strip()[:100])
        return render(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next),
            username=username,
            error="The username or password is wrong, or the account is disabled.",
        )
    data = session_data(request)
    # A fresh session (and CSRF token) at login, so a token planted before it is worthless.
    data.clear()
    data["uid"] = str(user.id)
    data["csrf"] = new_csrf_token()
    log.info("web_login", username=user.username, role=str(user.role))
    return redirect(_safe_next(next))


@router.post("/logout", dependencies=[CsrfDep])
def logout(request: Request, user: UserDep) -> RedirectResponse:
    session_data(request).clear()
    flash(request, "You are signed out.")
    return redirect("/login")
