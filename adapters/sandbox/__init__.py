"""The sandbox platform: a local emulator of the X API v2 and Graph API subset we use.

Same paths, JSON bodies, error bodies and rate-limit headers as the real services
(``shared/reference/PLATFORMS.md`` §6).  Tokens are ``sandbox-token-<account_id>``.  Admin
endpoints under ``/_sandbox/`` show what was received and inject faults.
"""

from __future__ import annotations

from adapters.sandbox.client import SandboxClient
from adapters.sandbox.server import SandboxServer, serve
from adapters.sandbox.state import SandboxState
from adapters.sandbox.wire import TOKEN_PREFIX


def sandbox_token(account_id: str) -> str:
    """The sandbox access token of ``account_id``."""
    return f"{TOKEN_PREFIX}{account_id}"


__all__ = [
    "TOKEN_PREFIX",
    "SandboxClient",
    "SandboxServer",
    "SandboxState",
    "sandbox_token",
    "serve",
]
