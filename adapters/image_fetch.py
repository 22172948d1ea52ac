"""Fetching article images: SSRF checks, the checked address pinned, a deadline, fair shares.

Fetching is an SSRF surface: every hop is checked against loopback, private, link-local,
reserved and multicast addresses unless allow-listed (DESIGN.md, Security).  The connection goes
to the very address that was checked, never to a second lookup of the name, so a name that
answers public-then-private (DNS rebinding) cannot reach a private address: the request URL
carries the address while the Host header and, for https, the TLS server name (httpx's
``sni_hostname`` extension, which certificate verification also uses) keep the host name.

A whole download, every redirect hop and the body included, ends within ``policy.deadline``
(:mod:`adapters.deadline`).  A :class:`FetchGate` keeps one slow or malicious image server from
holding every worker thread: it caps downloads per server and in all, and turns a server that
just ran past the deadline away at once for a while.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from adapters.deadline import check, deadline, expired
from adapters.errors import ImageError

MAX_REDIRECTS = 3

Resolver = Callable[[str], list[str]]


@dataclass(frozen=True)
class ImagePolicy:
    """Limits and allow-lists for fetching article images."""

    max_bytes: int = 15 * 1024 * 1024
    timeout: float = 10.0  # each connect or read
    deadline: float = 15.0  # the whole download: every hop, headers and body
    allowed_hosts: tuple[str, ...] = ()  # host names allowed even if they resolve privately
    allowed_networks: tuple[str, ...] = ()  # CIDRs allowed (e.g. "127.0.0.0/8" for the sandbox)
    per_server: int = 2  # downloads at once from one image server (FetchGate)
    at_once: int = 8  # downloads at once in all (FetchGate)
    slow_server_seconds: float = 60.0  # a server past the deadline is turned away this long


class ImageTooSlow(ImageError):
    """The download ran past its deadline (the server trickled or stalled)."""


class ImageServerBusy(Exception):
    """The image server (or the process) already has its share of downloads: try again later.

    Not an :class:`ImageError`: the image may be fine, so the post should wait, not lose it.
    """


class FetchGate:
    """Process-wide shares of image downloads, and the servers that recently ran too slow."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._busy: Counter[str] = Counter()
        self._slow: dict[str, tuple[float, str]] = {}

    @contextlib.contextmanager
    def slot(self, server: str, policy: ImagePolicy) -> Iterator[None]:
        """Hold one download slot for ``server``; raises ImageServerBusy or, for a server that
        just ran past the deadline, ImageError with the reason."""
        with self._lock:
            until, reason = self._slow.get(server, (0.0, ""))
            if until > self._clock():
                raise ImageError(reason)
            if self._busy[server] >= policy.per_server or self._busy.total() >= policy.at_once:
                raise ImageServerBusy(f"{self._busy[server]} downloads from {server} under way")
            self._busy[server] += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy[server] -= 1

    def mark_slow(self, server: str, policy: ImagePolicy) -> None:
        """Turn ``server`` away for ``policy.slow_server_seconds``."""
        reason = (
            f"The image server {server} did not send an image within {policy.deadline:g} s a "
            f"moment ago, so it is not asked again for {policy.slow_server_seconds:g} s."
        )
        with self._lock:
            self._slow[server] = (self._clock() + policy.slow_server_seconds, reason)


def system_resolver(host: str) -> list[str]:
    """The addresses the system resolver gives for ``host``."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def _address_kind(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address must not be fetched from, or ``None`` if it is public."""
    for kind, flag in (
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("multicast", addr.is_multicast),
        ("unspecified", addr.is_unspecified),
        ("private", addr.is_private),
        ("reserved", addr.is_reserved),
        ("non-public", not addr.is_global),
    ):
        if flag:
            return kind
    return None


def check_url(url: str, policy: ImagePolicy, resolver: Resolver) -> str | None:
    """Refuse a URL whose scheme or host we must not fetch from.

    Returns the checked address to connect to, or None when the URL's host is an address
    itself or an allow-listed name (nothing to pin).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise ImageError(f"The image address is not a valid URL ({exc}).") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise ImageError(f"The image address must start with http or https, not {parts.scheme!r}.")
    if not host:
        raise ImageError("The image address has no host name.")
    if host.lower().rstrip(".") in {h.lower().rstrip(".") for h in policy.allowed_hosts}:
        return None
    pin = True
    try:
        addresses = [ipaddress.ip_address(host)]
        pin = False
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolver(host)]
        except (OSError, UnicodeError, ValueError) as exc:
            raise ImageError(f"The image host {host} could not be found.") from exc
    if not addresses:
        raise ImageError(f"The image host {host} could not be found.")
    networks = [ipaddress.ip_network(n, strict=False) for n in policy.allowed_networks]
    for addr in addresses:
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        kind = _address_kind(addr)
        if kind and not any(addr in net for net in networks):
            raise ImageError(
                f"The image host {host} points to {addr}, a {kind} address, which is not "
                "fetched for safety."
            )
    return str(addresses[0]) if pin else None


def _pinned(url: str, address: str | None) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """The request to send: to ``address``, with the name kept for Host and TLS."""
    target = httpx.URL(url)
    if address is None:
        return target, {}, {}
    name = target.raw_host.decode("ascii")
    host_header = name if target.port is None else f"{name}:{target.port}"
    extensions = {"sni_hostname": name} if target.scheme == "https" else {}
    return target.copy_with(host=address), {"Host": host_header}, extensions


def server_of(url: str) -> str:
    """``host:port`` of an image URL: the unit the gate shares downloads by."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        return f"{(parts.hostname or '').lower()}:{port}"
    except ValueError:
        return url


def fetch_image(
    url: str,
    *,
    client: httpx.Client,
    policy: ImagePolicy,
    resolver: Resolver | None = None,
    gate: FetchGate | None = None,
) -> bytes:
    """Download an image, checking every redirect hop; raises :class:`ImageError`.

    With a ``gate``, raises :class:`ImageServerBusy` when the server has its share already.
    """
    if gate is None:
        return _fetch(url, client=client, policy=policy, resolve=resolver or system_resolver)
    server = server_of(url)
    with gate.slot(server, policy):
        try:
            return _fetch(url, client=client, policy=policy, resolve=resolver or system_resolver)
        except ImageTooSlow:
            gate.mark_slow(server, policy)
            raise


def _fetch(url: str, *, client: httpx.Client, policy: ImagePolicy, resolve: Resolver) -> bytes:
    with deadline(policy.deadline):
        for _hop in range(MAX_REDIRECTS + 1):
            target, headers, extensions = _pinned(url, check_url(url, policy, resolve))
            try:
                with client.stream(
                    "GET",
                    target,
                    headers={"Accept": "image/*", **headers},
                    timeout=policy.timeout,
                    follow_redirects=False,
                    extensions=extensions,
                ) as response:
                    location = response.headers.get("location")
                    if response.is_redirect and location:
                        url = urljoin(url, location)
                        continue
                    return _read_body(response, policy)
            except httpx.TimeoutException as exc:
                if expired():
                    raise ImageTooSlow(
                        f"The image server did not send the whole image within "
                        f"{policy.deadline:g} s."
                    ) from exc
                raise ImageError(
                    f"The image server did not answer within {policy.timeout:g} s."
                ) from exc
            except httpx.HTTPError as exc:
                raise ImageError(
                    f"The image could not be downloaded ({type(exc).__name__})."
                ) from exc
    raise ImageError(f"The image address redirected more than {MAX_REDIRECTS} times.")


def _read_body(response: httpx.Response, policy: ImagePolicy) -> bytes:
    if response.status_code != 200:
        raise ImageError(f"The image server answered HTTP {response.status_code}.")
    content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not content_type.startswith("image/"):
        raise ImageError(f"The image address returned {content_type or 'no type'}, not an image.")
    too_big = f"The image is larger than {policy.max_bytes / 1024 / 1024:g} MB."
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise ImageError(too_big)
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > policy.max_bytes:  # stop reading: the declared length can lie
            raise ImageError(too_big)
        check()  # a client without DeadlineTransport is still stopped between chunks
    return bytes(body)
