"""One statement store per database, chosen once per engine (as dramatiq keeps one broker per
backend): ``postgresql`` folds the fence and the outcome into one statement each; ``generic``
(SQLite) runs them as several statements in one transaction."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from scheduler.delivery.stores.base import DeliveryStore, FencedRow, OutcomeRows
from scheduler.delivery.stores.generic import GenericStore
from scheduler.delivery.stores.postgresql import PostgreSQLStore

__all__ = ["DeliveryStore", "FencedRow", "OutcomeRows", "store_for"]

_POSTGRESQL = PostgreSQLStore()
_GENERIC = GenericStore()


def store_for(engine: Engine) -> DeliveryStore:
    """The statement store for this engine's database."""
    return _POSTGRESQL if engine.dialect.name == "postgresql" else _GENERIC
