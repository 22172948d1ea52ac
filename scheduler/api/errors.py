"""One error format for every route: ``application/problem+json`` (RFC 9457) with a sentence a
person can act on.  Internals (tracebacks, SQL, tokens) never reach the client."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from scheduler.errors import NotFound
from scheduler.intake.jsonbody import MalformedJson
from scheduler.intake.schemas import InvalidInput
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)
PROBLEM = "application/problem+json"


class ApiError(Exception):
    """A refusal with an HTTP status and a precise message."""

    def __init__(
        self, status: int, title: str, detail: str, *, errors: list[str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _validation_lines(exc: RequestValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        msg = "required field is missing" if err.get("type") == "missing" else err.get("msg", "")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
        lines.append(f"{loc or '(body)'}: {msg}")
    return lines


def _allowed_methods(request: Request) -> str:
    """Every method of every route on this path.  Starlette builds its 405 from the first route
    that matches the path only, but GET and POST on one path are two routes here."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):  # included routers, flattened
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as problem+json."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, errors=exc.errors)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        # Every "no such post/article/channel/feed/key" error, whichever service raised it.
        return problem(404, "Not found", str(exc))

    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        return problem(
            422,
            "Invalid input",
            "The request has invalid fields; nothing was changed.",
            errors=exc.errors,
        )

    @app.exception_handler(MalformedJson)
    async def _malformed(_: Request, exc: MalformedJson) -> JSONResponse:
        return problem(400, "Malformed body", f"The body is not usable JSON: {exc.reason}.")

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            detail = "The body is not valid JSON; nothing was changed."
            return problem(400, "Malformed body", detail)
        return problem(
            422,
            "Invalid input",
            "The request has invalid fields; nothing was changed.",
            errors=_validation_lines(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        titles = {
            400: "Malformed body",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not found",
            405: "Method not allowed",
            413: "Request too large",
            415: "Unsupported media type",
        }
        return problem(
            exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), headers=headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", path=request.url.path, error=type(exc).__name__, exc_info=True)
        return problem(
            500,
            "Internal error",
            "Something went wrong on our side; it has been "
            "logged. Try again, and tell ops if it keeps happening.",
        )
