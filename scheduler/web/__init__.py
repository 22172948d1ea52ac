"""The web UI for social editors and ops: server-rendered pages on the same FastAPI app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from config import Settings
from scheduler.web.errors import install_error_pages
from scheduler.web.routes import alerts as routes_alerts
from scheduler.web.routes import article as routes_article
from scheduler.web.routes import auth as routes_auth
from scheduler.web.routes import bulk as routes_bulk
from scheduler.web.routes import channel_pause as routes_channel_pause
from scheduler.web.routes import channels as routes_channels
from scheduler.web.routes import oauth_callback as routes_oauth_callback
from scheduler.web.routes import ops as routes_ops
from scheduler.web.routes import post_recovery as routes_post_recovery
from scheduler.web.routes import queue as routes_queue
from scheduler.web.session import WebSessionMiddleware

STATIC_DIR = Path(__file__).parent / "static"


def install_web(app: FastAPI, settings: Settings, *, api_prefix: str) -> None:
    """Mount the pages, their static files, the session middleware and HTML error pages."""
    for module in (
        routes_auth,
        routes_queue,
        routes_article,
        routes_post_recovery,
        routes_bulk,
        routes_ops,
        routes_channels,
        routes_oauth_callback,
        routes_alerts,
        routes_channel_pause,
    ):
        app.include_router(module.router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(WebSessionMiddleware, settings=settings, api_prefix=api_prefix)
    install_error_pages(app, api_prefix)
