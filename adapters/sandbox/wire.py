"""What one HTTP exchange looks like inside the sandbox: a parsed request and a JSON response.

The platforms accept parameters in several encodings (Graph: query string, form or JSON body;
X media APPEND: multipart), so the request is parsed once here and handlers read ``param()``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

# The sandbox credential of account A is "sandbox-token-A"; not a secret.
TOKEN_PREFIX = "sandbox-token-"  # noqa: S105
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

# Parameters that carry secrets: never recorded, never logged.
SECRET_PARAMS = frozenset(
    {
        "access_token",
        "client_secret",
        "fb_exchange_token",
        "input_token",
        "refresh_token",
        "code_verifier",
        "code",
        "token",
    }
)


@dataclass
class Request:
    """A parsed request; ``files`` holds multipart parts that carried a filename or binary data."""

    method: str
    path: str
    headers: Message
    body: bytes = b""
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    json: Any = None
    json_invalid: bool = False

    def param(self, name: str, default: str | None = None) -> str | None:
        """A parameter from the query, the form or a JSON object body (in that order)."""
        if name in self.query:
            return self.query[name]
        if name in self.form:
            return self.form[name]
        if isinstance(self.json, dict) and name in self.json:
            value = self.json[name]
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, dict | list):
                return json.dumps(value)
            return str(value)
        return default

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def bearer_token(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None

    def safe_params(self) -> dict[str, str]:
        """Non-secret text parameters, for the request log."""
        merged: dict[str, str] = {}
        if isinstance(self.json, dict):
            merged.update({k: v for k, v in self.json.items() if isinstance(v, str | int | float)})
        merged.update(self.form)
        merged.update(self.query)
        return {k: str(v)[:500] for k, v in merged.items() if k.lower() not in SECRET_PARAMS}


def account_from_token(token: str | None) -> str | None:
    """The account a sandbox token belongs to, or None for a missing or malformed token."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    account = token[len(TOKEN_PREFIX) :]
    return account if _ACCOUNT_ID.match(account) else None


@dataclass
class Response:
    """A JSON response, or ``drop=True``: close the connection without answering."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"
    raw: bytes | None = None
    drop: bool = False
    created_id: str | None = None
    fault: str | None = None

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def parse_body(request: Request) -> None:
    """Fill ``json``/``form``/``files`` from the body according to its content type."""
    ctype = request.content_type
    body = request.body
    if not body:
        return
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            request.json = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            request.json_invalid = True
    elif ctype == "application/x-www-form-urlencoded":
        request.form = _first_values(
            parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        )
    elif ctype == "multipart/form-data":
        _parse_multipart(request)


def parse_query(query: str) -> dict[str, str]:
    return _first_values(parse_qs(query, keep_blank_values=True))


def _first_values(values: dict[str, list[str]]) -> dict[str, str]:
    return {key: items[0] for key, items in values.items() if items}


def _parse_multipart(request: Request) -> None:
    # The stdlib email parser handles MIME multipart; the cgi module is gone in Python 3.13.
    header = f"Content-Type: {request.headers.get('Content-Type')}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(header + request.body)
    if not message.is_multipart():
        return
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        is_text = part.get_filename() is None and part.get_content_maintype() == "text"
        if is_text:
            try:
                request.form[name] = data.decode(part.get_content_charset() or "utf-8")
                continue
            except UnicodeDecodeError:
                pass
        request.files[name] = data
