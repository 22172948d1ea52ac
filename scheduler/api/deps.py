"""Request dependencies: settings, database sessions and the caller's role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config import Settings
from scheduler.access.auth import Principal, verify_api_key
from scheduler.db.engine import get_engine, session_scope
from scheduler.models import Role


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_app_engine(request: Request) -> Engine:
    return get_engine(request.app.state.settings)


def get_session(engine: Annotated[Engine, Depends(get_app_engine)]) -> Iterator[Session]:
    """A session committed when the route returns normally."""
    with session_scope(engine) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
EngineDep = Annotated[Engine, Depends(get_app_engine)]
# Commit before the response is sent: a failed commit must not reach the client as a 2xx,
# and an open streaming response must not hold the SQLite write lock.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def current_principal(request: Request, session: SessionDep) -> Principal:
    """The API key's principal (``Authorization: Bearer <key>``); nothing else authenticates."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise HTTPException(
                401,
                "Send the API key as 'Authorization: Bearer <key>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = verify_api_key(session=session, key=key.strip())
        if principal is None:
            raise HTTPException(
                401, "The API key is unknown or revoked.", headers={"WWW-Authenticate": "Bearer"}
            )
        return principal
    # The web UI's session cookie is deliberately not accepted: the API takes keys only, so a
    # cross-site request riding a signed-in browser can neither read nor change anything here.
    raise HTTPException(
        401,
        "Authentication required: send 'Authorization: Bearer <key>' (signing in to the web UI "
        "does not authorize the API).",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency admitting the given roles (admin is always admitted)."""
    allowed = {*roles, Role.ADMIN}

    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise HTTPException(
                403, f"This needs the role {names}; your key has '{principal.role.value}'."
            )
        return principal

    return dependency


EditorDep = Annotated[Principal, Depends(require(Role.EDITOR))]
OpsDep = Annotated[Principal, Depends(require(Role.OPS))]
AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]
AnyRoleDep = Annotated[Principal, Depends(require(Role.EDITOR, Role.OPS))]
