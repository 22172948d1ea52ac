"""HTML error pages for the web UI; API paths keep their problem+json answers.

Pages never show internals: a 500 says sorry and that it was logged, nothing more.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from scheduler.errors import NotFound
from scheduler.runtime.logs import get_logger
from scheduler.web.deps import CsrfRefused, LoginRequired, WebForbidden, redirect, render

log = get_logger(__name__)

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

_MESSAGES = {
    403: ("Not allowed", "Your role does not allow this. Ask an admin if you need it."),
    404: ("Not found", "There is nothing here. It may have been removed, or the link is wrong."),
    405: ("Not allowed", "That address does not take this kind of request."),
    413: ("Too large", "What you sent is too large. Shorten it and try again."),
}


def _is_api(request: Request, api_prefix: str) -> bool:
    path = request.url.path
    return path.startswith(api_prefix) or path in ("/healthz", "/readyz", "/metrics")


def error_page(request: Request, status: int, detail: str | None = None) -> Response:
    title, text = _MESSAGES.get(
        status,
        ("Something went wrong", "It has been logged. Try again, and tell ops if it repeats."),
    )
    return render(
        request, "error.html", status_code=status, title=title, text=detail or text, status=status
    )


async def _delegate(handler: Handler, request: Request, exc: Exception) -> Response:
    result = handler(request, exc)
    return await result if inspect.isawaitable(result) else result


def install_error_pages(app: FastAPI, api_prefix: str) -> None:
    """Wrap the API's handlers: HTML pages for UI paths, the original answer for API paths."""
    api_http: Handler = app.exception_handlers[StarletteHTTPException]
    api_unexpected: Handler = app.exception_handlers[Exception]
    api_not_found: Handler = app.exception_handlers[NotFound]

    async def _login(request: Request, _: Exception) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return redirect("/login?next=" + quote(target, safe=""))

    async def _forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WebForbidden)
        return error_page(request, 403, exc.detail)

    async def _csrf(request: Request, _: Exception) -> Response:
        log.warning("csrf_refused", path=request.url.path)
        return error_page(
            request,
            403,
            "The form was refused because its security token is missing or out of date. "
            "Go back, reload the page and try again; nothing was changed.",
        )

    async def _http(request: Request, exc: Exception) -> Response:
        if _is_api(request, api_prefix):
            return await _delegate(api_http, request, exc)
        assert isinstance(exc, StarletteHTTPException)
        return error_page(request, exc.status_code)

    async def _not_found(request: Request, exc: Exception) -> Response:
        # Any service's "no such row": the one 404 of the UI, whichever route looked it up.
        if _is_api(request, api_prefix):
            return await _delegate(api_not_found, request, exc)
        return error_page(request, 404)

    async def _unexpected(request: Request, exc: Exception) -> Response:
        if _is_api(request, api_prefix):
            return await _delegate(api_unexpected, request, exc)
        log.error(
            "web_unhandled_error", path=request.url.path, error=type(exc).__name__, exc_info=True
        )
        return error_page(request, 500)

    app.add_exception_handler(LoginRequired, _login)
    app.add_exception_handler(WebForbidden, _forbidden)
    app.add_exception_handler(CsrfRefused, _csrf)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Exception, _unexpected)
