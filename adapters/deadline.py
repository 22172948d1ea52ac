"""Wall-clock deadlines over whole HTTP exchanges: connect, TLS, request, headers and body.

httpx's timeouts bound each socket operation, so a server that sends one byte a second never
trips them and holds the caller for as long as it likes.  A deadline bounds the whole exchange:

* :func:`deadline` sets one for the calling thread (a context variable; nested deadlines keep
  the earlier one), e.g. over every redirect hop of an image download or over a whole task;
* :class:`DeadlineTransport` clamps every connect, TLS handshake, read and write to the time
  left, also while the caller streams the body after the headers came, and gives each request
  its own deadline (``per_request``) inside any outer one.  Once no time is left it raises
  httpx's own timeout exceptions, so callers classify them as before: a connect timeout sent
  nothing, a read timeout after a publishing POST is ambiguous;
* :func:`make_client` builds an ``httpx.Client`` on that transport: every client that talks to
  a platform, an image host or a feed is built with it.

A client on another transport (``httpx.MockTransport`` in tests) is bounded only by the checks
its callers make between chunks (:func:`check`).
"""

from __future__ import annotations

import contextlib
import ssl
import time
import typing
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

import httpcore
import httpx

#: httpx's own default pool limits.
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

_deadline: ContextVar[float | None] = ContextVar("newsrelay_http_deadline", default=None)


def remaining() -> float | None:
    """Seconds left before the current deadline (never negative), or None without one."""
    at = _deadline.get()
    return None if at is None else max(0.0, at - time.monotonic())


def expired() -> bool:
    """True when a deadline is set and has passed."""
    left = remaining()
    return left is not None and left <= 0.0


def check() -> None:
    """Raise ``httpx.ReadTimeout`` when the deadline has passed (between streamed chunks)."""
    if expired():
        raise httpx.ReadTimeout("the deadline for the whole request passed")


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Bound every request made by this thread inside the block to ``seconds`` from now.

    ``None`` adds no deadline of its own; an enclosing deadline that ends earlier still wins.
    """
    at = _deadline.get()
    if seconds is not None:
        mine = time.monotonic() + seconds
        at = mine if at is None else min(at, mine)
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)


def _clamp(timeout: float | None, exc: type[Exception]) -> float | None:
    left = remaining()
    if left is None:
        return timeout
    if left <= 0.0:
        raise exc("the deadline for the whole request passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every operation ends by the current deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(
            ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own socket backend, with streams that honour the current deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host,
            port,
            _clamp(timeout, httpcore.ConnectTimeout),
            local_address,
            socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _clamp(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineBody(httpx.SyncByteStream):
    """The response body, read under the request's deadline even after the transport returned."""

    def __init__(self, inner: httpx.SyncByteStream, at: float | None) -> None:
        self._inner = inner
        self._at = at

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        while True:
            # The caller may read the body outside any deadline block of its own: the exchange
            # keeps the deadline it started with.
            outer = _deadline.get()
            at = self._at if outer is None or self._at is None else min(outer, self._at)
            token = _deadline.set(at if at is not None else outer)
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            finally:
                _deadline.reset(token)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport with a wall-clock deadline over each whole exchange.

    ``per_request`` (seconds, or None) bounds every request on its own, inside any deadline
    the caller set with :func:`deadline`.
    """

    def __init__(
        self,
        *,
        per_request: float | None,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(verify=verify, limits=limits)
        ssl_context = verify if isinstance(verify, ssl.SSLContext) else None
        # httpx does not take a network backend, so the pool is rebuilt with ours (the same
        # arguments httpx passes); tests/adapters/test_deadline.py fails if this stops working.
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(),
        )
        self.per_request = per_request

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with deadline(self.per_request):
            at = _deadline.get()
            response = super().handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _DeadlineBody(response.stream, at)
        return response


def make_client(
    *,
    timeout: httpx.Timeout,
    per_request: float | None,
    verify: ssl.SSLContext | bool = True,
    limits: httpx.Limits = DEFAULT_LIMITS,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` whose every request ends within ``per_request`` seconds (or sooner
    when the caller's :func:`deadline` says so)."""
    transport = DeadlineTransport(per_request=per_request, verify=verify, limits=limits)
    return httpx.Client(timeout=timeout, transport=transport, headers=headers)
