"""The FastAPI application: API under /api/v1, web UI, media store, health."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from config import Settings, get_settings
from scheduler.api.errors import install_error_handlers
from scheduler.api.limits import BodyLimitMiddleware, JsonBodyMiddleware
from scheduler.api.openapi import install_openapi
from scheduler.api.probes import install_probes
from scheduler.api.routes import admin as routes_admin
from scheduler.api.routes import alerts as routes_alerts
from scheduler.api.routes import bulk as routes_bulk
from scheduler.api.routes import connect as routes_connect
from scheduler.api.routes import ops as routes_ops
from scheduler.api.routes import posts as routes_posts
from scheduler.api.routes import webhooks as routes_webhooks
from scheduler.web import install_web

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for these settings."""
    settings = settings or get_settings()
    app = FastAPI(
        title="newsrelay",
        version="0.1.0",
        openapi_url="/openapi.json",
        description="Social-media distribution scheduler for news publishers.",
    )
    app.state.settings = settings
    install_error_handlers(app)
    # The last added runs first: the size limit bounds what the JSON check reads.
    app.add_middleware(JsonBodyMiddleware, prefix=API_PREFIX + "/")
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    install_probes(app, settings)

    for module in (
        routes_bulk,
        routes_posts,
        routes_webhooks,
        routes_ops,
        routes_admin,
        routes_connect,
        routes_alerts,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    install_web(app, settings, api_prefix=API_PREFIX)
    install_openapi(app)

    if settings.media.store == "local":
        settings.media_dir.mkdir(parents=True, exist_ok=True)
        # Platforms (and the sandbox) fetch fitted images from here: the public media base URL.
        app.mount("/media", StaticFiles(directory=settings.media_dir), name="media")
    return app
