"""Which image URLs the sandbox's Instagram may fetch: Meta's servers fetch ``image_url`` from
the public internet, so a URL on a loopback or private address never reaches them and the
container create fails with 9004 / 2207052 (PLATFORMS.md §3.4, ``bodies.ig_fetch_failed``).

By default the sandbox fetches loopback URLs, because it runs next to the service it serves.
With ``refuse_private`` on it behaves like Meta, except for the ``host:port`` pairs on the
allow-list: a test's media store on 127.0.0.1 stands for a public host once allowed.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


class MediaAccessError(ValueError):
    """An allow-list entry that is not ``host:port``; the message names it."""


def parse_host_port(entry: str) -> str:
    """``entry`` normalised to ``host:port`` (lower-case host, numeric port 1-65535).

    Raises MediaAccessError for anything else (a URL, a missing or out-of-range port)."""
    host, sep, port = entry.strip().rpartition(":")
    host = host.strip("[]").lower()
    if not sep or not host or "/" in entry or not port.isdigit() or not 0 < int(port) < 65536:
        raise MediaAccessError(f"{entry!r} is not host:port (for example 127.0.0.1:8000)")
    return f"{host}:{int(port)}"


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_unspecified
        or ip.is_multicast
    )


def _addresses(host: str) -> list[str]:
    """The host's addresses; empty when it does not resolve (Meta could not fetch it either)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class MediaAccessView:
    refuse_private: bool
    allow: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {"refuse_private": self.refuse_private, "allow": list(self.allow)}


class MediaAccess:
    """The mode and the allow-list; thread-safe, changed at run time by the admin endpoint."""

    def __init__(self, *, refuse_private: bool = False, allow: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._refuse_private = refuse_private
        self._allow = frozenset(parse_host_port(a) for a in allow)

    def view(self) -> MediaAccessView:
        with self._lock:
            return MediaAccessView(self._refuse_private, tuple(sorted(self._allow)))

    def configure(
        self, *, refuse_private: bool | None = None, allow: Iterable[str] | None = None
    ) -> MediaAccessView:
        """Set the mode and/or replace the allow-list (validated first: all or nothing)."""
        parsed = None if allow is None else frozenset(parse_host_port(a) for a in allow)
        with self._lock:
            if refuse_private is not None:
                self._refuse_private = refuse_private
            if parsed is not None:
                self._allow = parsed
        return self.view()

    def refuses(self, url: str) -> bool:
        """Whether Meta would fail to fetch ``url``: the mode is on, the URL's ``host:port`` is
        not allowed, and its host is (or resolves to) a loopback/private/reserved address or
        does not resolve at all."""
        with self._lock:
            if not self._refuse_private:
                return False
            allow = self._allow
        try:
            parts = urlsplit(url)
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
        except ValueError:
            return True
        host = (parts.hostname or "").lower()
        if not host or port is None:
            return True
        if f"{host}:{port}" in allow:
            return False
        addresses = _addresses(host)
        return not addresses or any(_is_private(a) for a in addresses)
