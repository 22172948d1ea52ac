"""Checking the address of a live post that an editor found on the platform.

"Mark as published" stores this address as the post's ``external_url``: the queue, the article
page and the API link to it, so it must be the post's own page on the platform's own host, over
https.  Outside production the sandbox's address is accepted too (its posts live there).  Each
refusal is one sentence saying what is wrong and what a right address looks like.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from config import Settings
from scheduler.intake.schemas import InvalidInput

MAX_URL_LENGTH = 2000

#: The hosts each platform serves its posts from (subdomains such as www., m., mobile. too).
PLATFORM_HOSTS: dict[str, tuple[str, ...]] = {
    "x": ("x.com", "twitter.com"),
    "instagram": ("instagram.com",),
    "facebook": ("facebook.com",),
}
PLATFORM_NAMES = {"x": "X", "instagram": "Instagram", "facebook": "Facebook"}
EXAMPLES = {
    "x": "https://x.com/newsroom/status/1850000000000000000",
    "instagram": "https://www.instagram.com/p/C1a2B3c4D5e/",
    "facebook": "https://www.facebook.com/newsroom/posts/1234567890",
}
# X: /<user>/status/<id> or /i/web/status/<id>; the number is the post's id.
_X_STATUS = re.compile(r"^/(?:[A-Za-z0-9_]{1,15}|i/web|i)/status(?:es)?/(\d{1,25})(?:/.*)?$")
# Instagram: /p/<code>/, /reel/<code>/, /tv/<code>/ (optionally after the account's name).
_IG_POST = re.compile(r"^/(?:[A-Za-z0-9_.]{1,30}/)?(?:p|reel|reels|tv)/[A-Za-z0-9_-]{5,}/?$")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


class PostUrlRefused(InvalidInput):
    """The address is not this post's page on its platform; ``str()`` is the sentence (API 422)."""

    def __init__(self, sentence: str) -> None:
        super().__init__([f"url: {sentence}"])
        self.sentence = sentence

    def __str__(self) -> str:
        return self.sentence


def _on_hosts(host: str, bases: tuple[str, ...]) -> bool:
    return any(host == base or host.endswith("." + base) for base in bases)


def _sandbox(parts: SplitResult, settings: Settings) -> bool:
    if settings.environment == "production":
        return False
    try:
        port = parts.port
    except ValueError:
        return False
    return parts.hostname == settings.sandbox_host and port == settings.sandbox_port


def _split(url: str, name: str, example: str) -> SplitResult:
    if not url:
        raise PostUrlRefused(f"enter the address of the post on {name}, e.g. {example}")
    if len(url) > MAX_URL_LENGTH:
        raise PostUrlRefused(f"must be at most {MAX_URL_LENGTH:,} characters")
    if _SPACE_OR_CONTROL.search(url):
        raise PostUrlRefused("must not contain spaces or control characters")
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise PostUrlRefused(f"must be a full address starting with https://, e.g. {example}")
    return parts


def check_post_url(url: str, *, platform: str, settings: Settings) -> tuple[str, str | None]:
    """The address to store and, when the address names it (X), the post's platform id.

    Raises :class:`PostUrlRefused` with the reason for anything else.
    """
    name = PLATFORM_NAMES.get(platform, platform)
    example = EXAMPLES.get(platform, "https://…")
    url = url.strip()
    parts = _split(url, name, example)
    if _sandbox(parts, settings):
        if parts.path in ("", "/"):
            raise PostUrlRefused("that is the sandbox's home page, not a post")
        return url, None
    if parts.scheme.lower() != "https":
        raise PostUrlRefused(f"must start with https:// (this one starts with {parts.scheme}://)")
    if parts.username is not None or parts.password is not None:
        raise PostUrlRefused("must not contain a user name or password")
    host = (parts.hostname or "").lower().rstrip(".")
    bases = PLATFORM_HOSTS.get(platform, ())
    if not _on_hosts(host, bases):
        hosts = " or ".join(bases)
        article = "an" if name[:1] in "AEIOUX" else "a"
        raise PostUrlRefused(f"{host} is not {name}: {article} {name} post's address is on {hosts}")
    if ":" in parts.netloc.rsplit("@", 1)[-1]:
        raise PostUrlRefused(f"must not name a port; copy the address {name} shows")
    if parts.path in ("", "/"):
        raise PostUrlRefused(
            f"that is {name}'s home page, not a post; open the post, copy its address"
        )
    if platform == "x":
        match = _X_STATUS.match(parts.path)
        if match is None:
            raise PostUrlRefused(
                f"an X post's address ends in /status/ and the post's number, e.g. {example}"
            )
        return url, match.group(1)
    if platform == "instagram" and _IG_POST.match(parts.path) is None:
        raise PostUrlRefused(
            f"an Instagram post's address has /p/ or /reel/ and the post's code, e.g. {example}"
        )
    return url, None
