"""The FastAPI application: API, web UI, media store, health."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from config import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for these settings."""
    settings = settings or get_settings()
    app = FastAPI(title="newsrelay", version="0.1.0", openapi_url="/openapi.json")
    app.state.settings = settings

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    settings.media_dir.mkdir(parents=True, exist_ok=True)
    # Platforms (and the sandbox) fetch fitted images from here: the public media base URL.
    app.mount("/media", StaticFiles(directory=settings.media_dir), name="media")
    return app
