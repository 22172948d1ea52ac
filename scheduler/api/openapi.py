"""The OpenAPI document, corrected to state what the API really answers.

FastAPI documents error responses as ``application/json`` (and a 422 shaped like its own
validation error), but every error here is ``application/problem+json`` with the
:class:`~scheduler.api.schemas.ops.Problem` shape (see :mod:`scheduler.api.errors`).  The body
guards of :mod:`scheduler.api.limits` answer 400, 413 and 415 before any route runs, so every
operation taking a body documents them, and any operation may answer 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from scheduler.api.errors import PROBLEM
from scheduler.api.schemas.ops import Problem
from scheduler.intake.jsonbody import MAX_JSON_DEPTH

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_BODY_ERRORS = {
    "400": f"Malformed body: not JSON, not UTF-8, or nested deeper than {MAX_JSON_DEPTH} levels",
    "413": "Request too large",
    "415": "Unsupported media type: the body must be application/json (or application/*+json)",
}
_INTERNAL = "Internal error (logged; the answer never carries internals)"


def install_openapi(app: FastAPI) -> None:
    """Serve the corrected document at ``app.openapi_url``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = document_problems(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Make every 4xx/5xx response problem+json and add the responses every route may give."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Problem", Problem.model_json_schema())
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                for code, description in _BODY_ERRORS.items():
                    responses.setdefault(code, {"description": description})
            responses.setdefault("500", {"description": _INTERNAL})
            for code, response in responses.items():
                if code[0] in "45":
                    response["content"] = {PROBLEM: {"schema": _PROBLEM_REF}}
    # FastAPI's own validation error shapes are never sent (errors.py answers problem+json).
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema
