"""API routes: the signed CMS webhook (its HMAC signature is its authentication; no API key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from scheduler.api.deps import EngineDep, SettingsDep
from scheduler.api.errors import ApiError
from scheduler.intake.webhooks import EVENTS, WebhookRefused, WebhooksDisabled, receive_webhook

router = APIRouter(tags=["webhooks"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
#: The route reads the raw body (the signature covers its bytes), so FastAPI cannot infer it.
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": '{event, article} (README "Article JSON") or a WordPress '
                    "post object",
                    "properties": {
                        "event": {"type": "string", "enum": list(EVENTS)},
                        "article": {"type": "object"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/webhooks/articles",
    status_code=201,
    responses={
        200: {"description": "Known article: updated, unpublished, or a duplicate"},
        401: {"description": "Unsigned, wrongly signed, stale or replayed", **_PROBLEM},
        422: {"description": "Invalid article fields; nothing stored", **_PROBLEM},
        503: {"description": "No webhook secret configured", **_PROBLEM},
    },
    openapi_extra=_BODY,
)
async def article_webhook(request: Request, settings: SettingsDep, engine: EngineDep) -> Any:
    """Article published / updated / unpublished in the CMS (our JSON or a WordPress post).

    Sign ``"<X-Newsrelay-Timestamp>.<raw body>"`` with HMAC-SHA256 and the webhook secret and
    send ``X-Newsrelay-Signature: sha256=<hex>``.  The posts exist when the answer arrives.
    """
    # The signature covers the exact bytes, so the raw body is read, never a parsed model.
    body = await request.body()
    try:
        outcome = await run_in_threadpool(
            receive_webhook,
            engine=engine,
            settings=settings,
            body=body,
            timestamp=request.headers.get("x-newsrelay-timestamp"),
            signature=request.headers.get("x-newsrelay-signature"),
            source_header=request.headers.get("x-newsrelay-source"),
        )
    except WebhooksDisabled as exc:
        raise ApiError(503, "Webhooks disabled", str(exc)) from None
    except WebhookRefused as exc:
        raise ApiError(401, "Webhook refused", exc.reason) from None
    status = 201 if outcome.created else 200
    return JSONResponse(outcome.as_json(), status_code=status)
