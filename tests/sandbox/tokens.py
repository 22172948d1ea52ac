"""Sandbox credentials in the shapes the X and Graph endpoints take them."""

from __future__ import annotations

from adapters.sandbox import sandbox_token


def x_auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox_token(user)}"}


def graph_token(account: str) -> dict[str, str]:
    return {"access_token": sandbox_token(account)}
