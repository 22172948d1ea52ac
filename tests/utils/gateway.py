"""A reverse proxy in front of the sandbox that can put one account's reads out of service.

The sandbox's faults never touch reads (listings, status polls: ``adapters/sandbox/faults.py``),
yet in a real outage the platform fails those too, and reconciliation reads.  Workers are
pointed at this gateway instead of the sandbox; it forwards every request unchanged (a
connection the sandbox drops is dropped here too) except, while ``failing_account`` is set, a
GET naming that account, which it answers with Graph's transient HTTP 500.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

#: Not forwarded either way: they describe one hop, or a body httpx has already decoded.
_HOP = frozenset(
    {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}
)
GRAPH_OUTAGE = {
    "error": {
        "message": "An unexpected error has occurred. Please retry your request later.",
        "type": "OAuthException",
        "is_transient": True,
        "code": 2,
        "fbtrace_id": "GatewayOutage",
    }
}


class Gateway:
    """The proxy, serving on ``url`` in a thread; set ``upstream`` before the first request."""

    def __init__(self) -> None:
        self.upstream = ""
        self.failing_account: str | None = None
        self.failed_reads = 0
        self.client = httpx.Client(timeout=30)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.gateway = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fails(self, method: str, path: str) -> bool:
        """Whether this request is a read of the account that is out of service (and count it)."""
        account = self.failing_account
        failing = method == "GET" and account is not None and f"/{account}" in path
        if failing:
            with self._lock:
                self.failed_reads += 1
        return failing

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.client.close()


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def log_message(self, format: str, *args: object) -> None:
        return None  # the sandbox records every request; no access log here

    def _forward(self) -> None:
        gateway: Gateway = self.server.gateway  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if gateway.fails(self.command, self.path):
            self._answer(
                500, json.dumps(GRAPH_OUTAGE).encode(), {"Content-Type": "application/json"}
            )
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        try:
            response = gateway.client.request(
                self.command, gateway.upstream + self.path, content=body, headers=headers
            )
        except httpx.TransportError:
            # The sandbox dropped the connection after accepting: so does the gateway.
            self.close_connection = True
            return
        kept = {k: v for k, v in response.headers.items() if k.lower() not in _HOP}
        self._answer(response.status_code, response.content, kept)

    def _answer(self, status: int, content: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(content)
        self.close_connection = True
