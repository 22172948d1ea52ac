"""Field rules stated in the OpenAPI document as well as enforced, so a client (or a fuzzer)
reading the schema knows which values the API takes: validators alone are invisible there."""

from __future__ import annotations

from scheduler.intake.schemas import Documented, IsoText

__all__ = ["LINE_PATTERN", "NAME_PATTERN", "TEXT_PATTERN", "Documented", "IsoText"]

#: Text a reader sees: no control characters but tab, newline and carriage return.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
#: One-line names and reasons: no control characters but tab and newline.
LINE_PATTERN = r"^[^\x00-\x08\x0b-\x1f]*$"
#: The same, and not blank (names and reasons are stripped, then must not be empty).
NAME_PATTERN = r"^[^\x00-\x08\x0b-\x1f]*[^\s\x00-\x1f][^\x00-\x08\x0b-\x1f]*$"
