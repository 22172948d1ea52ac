"""Root-level probes for orchestrators and Prometheus: ``/readyz`` and ``/metrics`` (no auth).

They are infrastructure endpoints, not part of the versioned API, so they stay out of the
OpenAPI document.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from config import Settings
from scheduler.api.errors import problem
from scheduler.db.engine import get_engine
from scheduler.ops.health import readiness
from scheduler.ops.metrics import metrics_registry, render_metrics


def install_probes(app: FastAPI, settings: Settings) -> None:
    """Add ``/readyz`` and ``/metrics`` to the application."""
    engine = get_engine(settings)
    registry = metrics_registry(engine, settings)

    # Plain ``def``: the checks block (database, broker), so they run in the thread pool.
    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        """200 when the database, broker, dispatcher and a worker are all alive; else 503."""
        checks = readiness(engine, settings)
        body = [asdict(c) for c in checks]
        failed = [c for c in checks if not c.ok]
        if not failed:
            return JSONResponse({"status": "ready", "checks": body})
        response = problem(
            503,
            "Not ready",
            "Not ready: " + "; ".join(f"{c.name} ({c.detail})" for c in failed),
            errors=[f"{c.name}: {c.detail}" for c in failed],
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus metrics, read from the database at scrape time."""
        return Response(render_metrics(registry), media_type=CONTENT_TYPE_LATEST)
