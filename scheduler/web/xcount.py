"""The top-level domains twitter-text recognises in URLs, for the browser's live X counter.

X counts a URL as 23 characters only when its domain ends in a TLD twitter-text knows (a link to
``news.example`` is plain text to X), so the counter needs the same list the server uses.
"""

from __future__ import annotations

from functools import lru_cache

from twitter_text.regexp.valid_cctld import valid_cctld
from twitter_text.regexp.valid_gtld import valid_gtld

_PREFIX = "(?:(?:"


@lru_cache
def x_tlds() -> list[str]:
    """Every generic and country-code TLD of twitter-text, lower case."""
    names: set[str] = set()
    for pattern in (valid_gtld.pattern, valid_cctld.pattern):
        assert pattern.startswith(_PREFIX), "twitter-text changed its TLD pattern's shape"
        body = pattern[len(_PREFIX) : pattern.index(")(?=")]
        names.update(name.lower() for name in body.split("|") if name)
    return sorted(names)
