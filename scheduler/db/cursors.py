"""Opaque keyset cursors: a timestamp and an id, base64url-encoded so clients never parse them."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime


class InvalidCursor(ValueError):
    """A cursor this service did not issue (or a truncated one)."""


_FOREIGN = "the cursor is not one this API issued; start again without it"


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """The cursor pointing just past the row ``(at, row_id)``."""
    raw = json.dumps([at.isoformat(), row_id.hex], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The ``(at, id)`` pair of a cursor; raises InvalidCursor with a readable reason."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_text, id_hex = json.loads(raw)
        at = datetime.fromisoformat(at_text)
        row_id = uuid.UUID(hex=id_hex)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidCursor(_FOREIGN) from exc
    if at.tzinfo is None:
        raise InvalidCursor(_FOREIGN)
    return at, row_id
