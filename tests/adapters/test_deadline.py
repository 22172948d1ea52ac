"""Whole-exchange deadlines (adapters.deadline) against a real local server that trickles one
byte a second: per-read timeouts never trip there, only the deadline ends the request."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from adapters import platform_client
from adapters.deadline import deadline, make_client
from adapters.errors import RetryableError, UnknownOutcomeError
from adapters.transport import send
from config import Settings
from tests.utils.slow_server import SlowServer, elapsed


@pytest.fixture
def slow() -> Iterator[SlowServer]:
    server = SlowServer(interval=0.2, length=200).start()  # 40 s of trickle if nobody stops it
    yield server
    server.stop()


def _settings(request_deadline: float) -> Settings:
    return Settings(
        environment="test",
        http={"read_timeout": 5.0, "request_deadline": request_deadline},  # type: ignore[arg-type]
    )


def test_platform_call_ends_at_its_deadline_although_every_read_is_quick(
    slow: SlowServer,
) -> None:
    client = platform_client(_settings(1.5))
    start = time.monotonic()
    with pytest.raises(RetryableError) as err:
        send(client, "GET", f"{slow.url}/trickle.xml", platform="X", action="read", publishes=False)
    assert 1.3 < elapsed(start) < 3.0
    assert "nothing was published, so it is safe to retry" in err.value.message


def test_publishing_call_past_its_deadline_is_ambiguous(slow: SlowServer) -> None:
    client = platform_client(_settings(1.0))
    with pytest.raises(UnknownOutcomeError) as err:
        send(client, "POST", f"{slow.url}/trickle.xml", platform="X", action="post", publishes=True)
    assert "reconcile before any retry" in err.value.message


def test_a_narrower_deadline_of_the_caller_wins_and_covers_the_streamed_body(
    slow: SlowServer,
) -> None:
    client = make_client(timeout=httpx.Timeout(5.0), per_request=30.0)
    start = time.monotonic()
    with (
        deadline(1.0),
        pytest.raises(httpx.ReadTimeout),
        client.stream("GET", f"{slow.url}/trickle.jpg") as response,
    ):
        assert response.status_code == 200
        for _chunk in response.iter_bytes():
            pass
    assert elapsed(start) < 2.0


def test_a_connect_past_the_deadline_sent_nothing(slow: SlowServer) -> None:
    client = make_client(timeout=httpx.Timeout(5.0), per_request=30.0)
    with deadline(0.0), pytest.raises(httpx.ConnectTimeout):
        client.get(f"{slow.url}/image.jpg")
    assert slow.seen == []


def test_requests_within_their_deadline_are_untouched(slow: SlowServer) -> None:
    client = make_client(timeout=httpx.Timeout(5.0), per_request=5.0)
    with deadline(5.0):
        response = client.get(f"{slow.url}/image.jpg")
    assert response.status_code == 200 and response.content[:2] == b"\xff\xd8"
    assert client.get(f"{slow.url}/image.jpg").status_code == 200  # no deadline left over
