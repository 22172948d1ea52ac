"""The sandbox HTTP server: stdlib ``ThreadingHTTPServer``, one thread per connection.

The stdlib server is used rather than an ASGI stack because the "accepted, then the connection
drops" fault needs the raw socket: the handler shuts it down without writing a byte, so httpx
raises ``RemoteProtocolError`` exactly as with a real mid-flight disconnect.  HTTP/1.1
keep-alive is on, every response has a Content-Length, and Nagle is off so small keep-alive
responses are not held back by delayed ACKs.
"""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import socket
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from adapters.sandbox import admin, graph_api, x_api, x_oauth
from adapters.sandbox.state import SandboxConfig, SandboxState
from adapters.sandbox.wire import Request, Response, parse_body, parse_query

logger = logging.getLogger("newsrelay.sandbox")

MAX_BODY_BYTES = 64 * 1024 * 1024
IDLE_TIMEOUT_SECONDS = 120


class SandboxApp:
    """Routes a parsed request to the admin, X or Graph emulation."""

    def __init__(self, state: SandboxState, versions: re.Pattern[str]) -> None:
        self.state = state
        self.versions = versions
        self.base_url = ""

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            return admin.handle(self.state, request)
        if request.path.startswith("/2/"):
            return x_api.handle(self.state, request, self.base_url)
        if request.path.rstrip("/") == "/i/oauth2/authorize" and request.method == "GET":
            # x.com's host in reality; the sandbox serves every host on one port.
            return x_oauth.authorize(self.state, request)
        return graph_api.handle(self.state, request, self.base_url, self.versions)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "newsrelay-sandbox/1"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT_SECONDS
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        path, _, query = self.path.partition("?")
        request = Request(self.command, path, self.headers, body, parse_query(query))
        parse_body(request)
        try:
            response = self.server.app.dispatch(request)
        except Exception:
            logger.exception("sandbox handler failed", extra={"method": self.command, "path": path})
            response = Response(500, {"error": "sandbox internal error"})
        if response.drop:
            self._drop()
        else:
            self._write(response)

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length") or "0"
        length = int(length_header) if length_header.isdigit() else -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True
            self._write(Response(413, {"error": f"body must be 0..{MAX_BODY_BYTES} bytes"}))
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        data = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line or b"0", 16)
            except ValueError:
                self.close_connection = True
                self._write(Response(400, {"error": "malformed chunked body"}))
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(data)
            if len(data) + size > MAX_BODY_BYTES:
                self.close_connection = True
                self._write(Response(413, {"error": "body too large"}))
                return None
            data.extend(self.rfile.read(size))
            self.rfile.readline(1024)

    def _write(self, response: Response) -> None:
        # One sendall per response: status line, headers and body together.
        payload = response.encode()
        phrase = self.responses.get(response.status, ("",))[0]
        lines = [
            f"{self.protocol_version} {response.status} {phrase}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(payload)}",
            *(f"{name}: {value}" for name, value in response.headers.items()),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + payload)
        self.log_request(response.status)

    def _drop(self) -> None:
        """Close the socket without a response: the "accepted, then dropped" fault."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Never the request line: its query string can carry an access_token.
        logger.debug("%s %s -> %s", self.command, self.path.partition("?")[0], code)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sandbox: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up mid-response are normal under chaos tests; the
        # stdlib default prints a traceback to stderr.
        logger.debug("sandbox connection error", exc_info=True)

    def close_open_connections(self) -> None:
        """Cut idle keep-alive connections so a stopped sandbox really stops answering."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class SandboxServer:
    """The sandbox platform on a local port, served from a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        graph_versions_pattern: str = graph_api.DEFAULT_VERSIONS,
        quota_total: int = 100,
        x_user_limit_15min: int = 100_000,
        container_delay: float = 0.0,
        video_processing_seconds: float = 1.0,
        token_ttl_seconds: int = 7200,
        redirect_uris: Iterable[str] | None = None,
        refuse_private_media: bool = False,
        media_allow: Iterable[str] = (),
    ) -> None:
        """``token_ttl_seconds``: lifetime of issued access tokens (Settings
        ``sandbox_token_ttl_seconds``); ``redirect_uris``: the OAuth apps' registered callback
        URLs (None: any loopback http(s) URL); ``refuse_private_media``: refuse Instagram image
        URLs on loopback/private addresses as Meta does, except the ``host:port`` pairs in
        ``media_allow`` (also set at run time: ``POST /_sandbox/media``).  Raises
        MediaAccessError for an allow-list entry that is not ``host:port``."""
        self.host = host
        self.port = port
        self.state = SandboxState(
            SandboxConfig(
                quota_total=quota_total,
                x_user_limit_15min=x_user_limit_15min,
                container_delay=container_delay,
                video_processing_seconds=video_processing_seconds,
                token_ttl_seconds=token_ttl_seconds,
                redirect_uris=None if redirect_uris is None else frozenset(redirect_uris),
                refuse_private_media=refuse_private_media,
                media_allow=frozenset(media_allow),
            )
        )
        self._app = SandboxApp(self.state, re.compile(graph_versions_pattern))
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the sandbox is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Bind (port 0 picks a free port) and serve in a daemon thread."""
        if self._httpd is not None:
            return
        self._httpd = _Server((self.host, self.port), self._app)
        self.port = self._httpd.server_address[1]
        self._app.base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("sandbox platform listening", extra={"url": self.url})

    def stop(self) -> None:
        """Stop accepting, cut open connections and release the port."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_open_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(host: str, port: int, *, token_ttl_seconds: int = 7200) -> None:
    """Run the sandbox in the foreground until SIGTERM or SIGINT (``newsrelay sandbox``)."""
    server = SandboxServer(host, port, token_ttl_seconds=token_ttl_seconds)
    stopping = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    server.start()
    logger.info("sandbox platform serving; stop with SIGTERM or Ctrl-C", extra={"url": server.url})
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        logger.info("sandbox platform stopped")
