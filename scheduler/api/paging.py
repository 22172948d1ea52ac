"""Query parameters of the paged lists: ``cursor`` with the limits the decoder enforces, and
the ``channel`` filter."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

#: An issued cursor is base64url (no padding) of ``["<ISO time with offset>","<32 hex>"]``: at
#: most 81 bytes (a 42-character time), so at most 108 characters.
CURSOR_MAX_LENGTH = 120
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"

Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=CURSOR_MAX_LENGTH,
        pattern=CURSOR_PATTERN,
        description="next_cursor of the previous page (opaque; base64url)",
    ),
]

#: A platform name or a channel id (a UUID, hyphenated or as 32 hex digits).
CHANNEL_FILTER_PATTERN = (
    r"^(x|instagram|facebook|[0-9a-fA-F]{32}"
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)
