"""A small client for the sandbox's admin endpoints (used by the CLI and the tests)."""

from __future__ import annotations

from typing import Any

import httpx


class SandboxClient:
    """Reads what the sandbox received and sets its faults, over HTTP."""

    def __init__(self, base_url: str, *, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=httpx.Timeout(10.0))

    def _get(self, path: str, filters: dict[str, Any]) -> Any:
        params = {k: v for k, v in filters.items() if v is not None}
        response = self.client.get(f"{self.base_url}/_sandbox/{path}", params=params)
        response.raise_for_status()
        return response.json()

    def health(self) -> bool:
        """True when the sandbox answers its health check."""
        try:
            return bool(self._get("health", {}).get("ok"))
        except httpx.HTTPError:
            return False

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Recorded platform requests; filters: account, platform, kind."""
        return list(self._get("requests", filters)["requests"])

    def posts(self, **filters: Any) -> list[dict[str, Any]]:
        """Posts live on the platforms; filters: account, platform."""
        return list(self._get("posts", filters)["posts"])

    def comments(self, **filters: Any) -> list[dict[str, Any]]:
        """Comments on live Instagram/Facebook posts, duplicates included; filters: parent,
        platform.  (X replies are posts, with ``reply_to`` set.)"""
        return list(self._get("comments", filters)["comments"])

    def faults(self) -> list[dict[str, Any]]:
        """The fault configs in force."""
        return list(self._get("faults", {})["faults"])

    def set_fault(self, account: str | None, **fields: Any) -> dict[str, Any]:
        """Set the fault config of ``account`` (None: every account); returns what was stored."""
        response = self.client.post(
            f"{self.base_url}/_sandbox/faults", json={"account": account, **fields}
        )
        if response.status_code == 400:
            raise ValueError(response.json().get("error", "invalid fault"))
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def clear_faults(self, account: str | None = None) -> None:
        """Clear the faults of ``account``, or all of them."""
        params = {"account": account} if account is not None else {}
        self.client.delete(f"{self.base_url}/_sandbox/faults", params=params).raise_for_status()

    def revoke_grants(self, user: str) -> int:
        """Revoke every token granted to an X user, Facebook user or Page (the person
        de-authorised the app); returns how many tokens died."""
        response = self.client.post(f"{self.base_url}/_sandbox/oauth/revoke", json={"user": user})
        response.raise_for_status()
        return int(response.json()["revoked"])

    def advance_token_clock(self, seconds: float) -> None:
        """Move the sandbox's token clock forward so issued tokens and codes expire sooner."""
        self.client.post(
            f"{self.base_url}/_sandbox/oauth/advance", json={"seconds": seconds}
        ).raise_for_status()

    def set_media_access(
        self, *, refuse_private: bool | None = None, allow: list[str] | None = None
    ) -> dict[str, Any]:
        """Make Instagram refuse image URLs on private addresses (as Meta does) and/or replace
        the ``host:port`` allow-list; returns the mode now in force.  ValueError on a bad entry."""
        body: dict[str, Any] = {}
        if refuse_private is not None:
            body["refuse_private"] = refuse_private
        if allow is not None:
            body["allow"] = allow
        response = self.client.post(f"{self.base_url}/_sandbox/media", json=body)
        if response.status_code == 400:
            raise ValueError(response.json().get("error", "invalid media access"))
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def reset(self) -> None:
        """Forget all requests, posts, uploads, containers and faults."""
        self.client.post(f"{self.base_url}/_sandbox/reset").raise_for_status()

    def close(self) -> None:
        self.client.close()
