"""Domain errors shared by every capability (intake, editorial, ops, access, channels).

Kept apart from the services so any layer can raise or catch them without importing another:

* :class:`NotFound` — the base of every "no such row" error (post, article, channel, feed,
  API key, user).  The API answers any of them with one 404 problem+json, the web UI with its
  404 page; the message is a sentence naming what was looked for.
"""

from __future__ import annotations


class NotFound(LookupError):
    """No row with that id or name; subclasses say which kind of row."""
