"""Getting a process ready: data dir, migrations, and the embedded default's sandbox channels."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from config import Settings
from config.settings import check_media_base_url
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import get_engine, session_scope
from scheduler.db.migrate import upgrade


def ensure_ready(settings: Settings, *, sandbox_channels: bool | None = None) -> Engine:
    """Migrate the database and, on the embedded default, create the sandbox channels.

    In production a media base URL the platforms cannot fetch from stops start-up first
    (:func:`config.settings.check_media_base_url`, MediaUrlRefused naming the setting).
    """
    check_media_base_url(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    engine = get_engine(settings)
    if sandbox_channels is None:
        sandbox_channels = settings.database_url is None and settings.sandbox_seed_channels
    if sandbox_channels:
        with session_scope(engine) as session:
            ensure_sandbox_channels(session=session, settings=settings)
    return engine
