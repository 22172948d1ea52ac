"""The dispatcher's sender on real Redis: a batch goes out as one pipeline, and a failed batch
falls back to one message at a time instead of losing the claim's messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis

from config import Settings
from scheduler.delivery.dispatch import TaskMessage
from scheduler.delivery.tasks import DELIVER_TASK
from workers.celery_app import celery_sender, make_celery


def _messages(n: int) -> list[TaskMessage]:
    return [
        TaskMessage(DELIVER_TASK, f"attempt-{i}", (f"attempt-{i}",), "deliver.x") for i in range(n)
    ]


def _queued_ids(client: redis.Redis, queue: str) -> list[str]:
    raw: list[bytes] = client.lrange(queue, 0, -1)  # type: ignore[assignment]
    return sorted(json.loads(m)["headers"]["id"] for m in raw)


@pytest.fixture
def broker(redis_url: str, tmp_path: Path) -> Any:
    settings = Settings(environment="test", data_dir=tmp_path / "data", broker_url=redis_url)
    return make_celery(settings), redis.Redis.from_url(redis_url)


def test_a_batch_is_sent_in_one_pipeline(broker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, client = broker
    pipelines: list[int] = []
    real_execute = redis.client.Pipeline.execute

    def counting(self: Any, *a: Any, **kw: Any) -> Any:
        pipelines.append(len(self.command_stack))
        return real_execute(self, *a, **kw)

    monkeypatch.setattr(redis.client.Pipeline, "execute", counting)
    send = celery_sender(app)
    assert send(_messages(1)) == 1  # the first send also declares the queue (its own pipelines)
    pipelines.clear()
    client.delete("deliver.x")
    assert send(_messages(150)) == 150
    assert _queued_ids(client, "deliver.x") == sorted(f"attempt-{i}" for i in range(150))
    assert pipelines == [150]  # one round trip for the whole claim


def test_a_failed_batch_is_sent_one_by_one(broker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, client = broker
    real_execute = redis.client.Pipeline.execute
    failed: list[int] = []

    def lost_once(self: Any, *a: Any, **kw: Any) -> Any:
        if not failed and len(self.command_stack) == 5:  # the batch's flush
            failed.append(1)
            self.reset()
            raise redis.ConnectionError("connection lost while flushing the batch")
        return real_execute(self, *a, **kw)

    monkeypatch.setattr(redis.client.Pipeline, "execute", lost_once)
    assert celery_sender(app)(_messages(5)) == 5
    assert failed == [1]
    assert _queued_ids(client, "deliver.x") == [f"attempt-{i}" for i in range(5)]


def test_nothing_to_send_touches_nothing(broker: Any) -> None:
    app, client = broker
    assert celery_sender(app)([]) == 0
    assert client.dbsize() == 0
