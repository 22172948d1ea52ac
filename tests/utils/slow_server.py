"""A real local HTTP(S) server for deadline tests: trickles bodies one byte at a time, serves a
real image fast, redirects, and records every request (path, Host header, TLS server name)."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import FIXTURE_IMAGES

IMAGE = (FIXTURE_IMAGES / "wide-banner-3x1.jpg").read_bytes()


@dataclass
class Seen:
    """One request as the server saw it."""

    path: str
    host: str
    sni: str | None


@dataclass
class SlowServer:
    """``/trickle.jpg`` (and ``/trickle.xml``) send their headers at once, then one byte every
    ``interval`` seconds for up to ``length`` bytes; ``/image.jpg`` is a real JPEG at once;
    ``/to?url`` redirects to ``url``."""

    host: str = "127.0.0.1"
    port: int = 0
    interval: float = 1.0
    length: int = 120
    tls: ssl.SSLContext | None = None
    seen: list[Seen] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _httpd: ThreadingHTTPServer | None = None
    _sni: dict[int, str | None] = field(default_factory=dict)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> SlowServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                sni = server._sni.get(id(self.connection))
                server.seen.append(Seen(self.path, self.headers.get("Host", ""), sni))
                if self.path.startswith("/to?"):
                    self._send(302, b"", "text/plain", location=self.path[4:])
                elif self.path == "/image.jpg":
                    self._send(200, IMAGE, "image/jpeg")
                elif self.path.startswith("/trickle"):
                    kind = "image/jpeg" if self.path.endswith(".jpg") else "application/rss+xml"
                    self._trickle(kind)
                else:
                    self._send(404, b"not found", "text/plain")

            def do_POST(self) -> None:
                self.do_GET()

            def _send(self, status: int, body: bytes, kind: str, **extra: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _trickle(self, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(server.length))
                self.end_headers()
                for _ in range(server.length):
                    if server._stop.wait(server.interval):
                        return
                    try:
                        self.wfile.write(b"\xff")
                        self.wfile.flush()
                    except OSError:  # the client gave up: what a deadline is for
                        return

            def log_message(self, *args: Any) -> None:
                pass

        httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        httpd.daemon_threads = True
        if self.tls is not None:
            tls = self.tls

            def remember_sni(sock: ssl.SSLObject, name: str | None, _: Any) -> None:
                server._sni[id(sock)] = name

            tls.sni_callback = remember_sni  # type: ignore[assignment]
            httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self.port = httpd.server_address[1]
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return self

    def requests_for(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


def tls_pair(tmp: Path, hostname: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a self-signed certificate naming only ``hostname`` (no IP), and a
    client context that trusts it: a request verifies only if SNI and checks use the name."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


def free_port_on(*hosts: str) -> int:
    """A port free on every one of ``hosts`` at once."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for host in hosts[1:]:
                with socket.socket() as other:
                    other.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no port free on all of {hosts}")


def elapsed(start: float) -> float:
    return time.monotonic() - start
