"""The one JSON loader for input we do not control (webhook and API bodies, the CLI's files).

``json.loads`` recurses once per nesting level, so ``[[[[…]]]]`` 10,000 levels deep raises
``RecursionError`` (and so would every recursive walk of the result).  No article, channel or
rule needs more than a few levels, so the depth is bounded *before* parsing, by a scan that runs
in C (``re`` and ``bytes.translate``) and stops at the first level over the limit.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

#: Deepest nesting any body may have.  The article JSON needs 3 levels, a WordPress post 4.
MAX_JSON_DEPTH = 32

# A JSON string (escapes included): brackets inside strings are text, not nesting.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class MalformedJson(ValueError):
    """The input is not JSON we can parse (not UTF-8, not JSON, or nested too deeply)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def json_depth_exceeds(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``data`` opens more than ``limit`` nested arrays/objects (a cheap upper bound)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False  # the common case: nothing to scan
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


def load_json(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse UTF-8 JSON, refusing deep nesting; raises :class:`MalformedJson` with the reason."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if json_depth_exceeds(raw, max_depth):
        raise MalformedJson(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise MalformedJson("not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"not valid JSON ({exc})") from None
    except RecursionError:  # unreachable below the depth bound; a last line of defence
        raise MalformedJson(f"JSON nested deeper than {max_depth} levels") from None
