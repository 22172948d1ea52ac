"""The Celery application, configured as DESIGN.md and reference/ENGINEERING.md §2.7 say.

Reliability comes from the database (fence, leases, reaper), so Celery is a transport:
late acks, reject on worker loss, prefetch 1, JSON only, no result backend, no ETA/countdown.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals

from adapters.base import PLATFORMS
from config import Settings, get_settings
from scheduler.delivery.dispatch import Sender, TaskMessage, send_each
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)

QUEUES = ("format", *(f"deliver.{p}" for p in PLATFORMS))


def make_celery(settings: Settings) -> Celery:
    """A Celery app for these settings (Redis in production, SQLite in the embedded default)."""
    app = Celery("newsrelay", include=["workers.tasks"])
    conf: dict[str, object] = dict(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_soft_shutdown_timeout=10,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        task_ignore_result=True,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        task_publish_retry=True,
        task_default_queue="format",
        task_create_missing_queues=True,
        worker_max_tasks_per_child=1000,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        enable_utc=True,
    )
    if settings.embedded_broker:
        conf.update(
            broker_url=settings.resolved_broker_url.removeprefix("sqla+"),
            broker_transport="workers.broker:Transport",
            broker_transport_options={},
        )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    else:
        conf.update(
            broker_url=settings.broker_url,
            broker_transport_options={
                # Above task_time_limit plus the worst queue wait; we never use ETA.
                "visibility_timeout": 3600,
                "socket_timeout": 30,
                "socket_connect_timeout": 5,
                "health_check_interval": 25,
            },
        )
    app.conf.update(conf)
    return app


@signals.setup_logging.connect
def _structured_logging(**_: Any) -> None:
    # Connecting this signal stops Celery from configuring logging itself: one JSON format.
    from scheduler.runtime.logs import configure_logging

    settings = get_settings()
    configure_logging(level=settings.log_level, json_output=settings.log_json)


celery_app = make_celery(get_settings())


def celery_sender(app: Celery) -> Sender:
    """Send dispatcher messages: task id = attempt id, routed to its platform's queue.

    A batch goes out through one producer as one Redis pipeline (kombu's ``Producer.batch``;
    brokers without it publish one by one): a burst of hundreds of claims costs one round trip,
    not hundreds.  If the batch fails, each message is sent again on its own with Celery's
    publish retries; one pushed twice is harmless, the worker's fence runs each attempt once.
    """

    def send_one(msg: TaskMessage, producer: Any = None) -> None:
        app.send_task(
            msg.name, args=list(msg.args), task_id=msg.task_id, queue=msg.queue, producer=producer
        )

    def send(messages: list[TaskMessage]) -> int:
        if not messages:
            return 0
        try:
            with app.producer_or_acquire() as producer, producer.batch():
                for msg in messages:
                    send_one(msg, producer)
            return len(messages)
        except Exception as exc:
            log.warning("send_batch_failed", count=len(messages), error=str(exc))
        return send_each(messages, send_one)

    return send
