"""Text helpers shared by the adapters' pure ``render``: cleaning, hashtags, UTM links,
templates and grapheme-safe truncation.

Everything here is pure and total: any ``str`` in, a ``str`` out, never an exception.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from itertools import accumulate
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

import regex
from twitter_text import extract_urls_with_indices

from adapters.base import ArticleContent, ChannelSettings

ELLIPSIS = "\u2026"
TEMPLATE_FIELDS = (
    "prefix",
    "title",
    "summary",
    "link",
    "hashtags",
    "section",
    "author",
    "link_in_bio",
)
#: A follow-up (``ChannelSettings.first_comment``) may also name the article's plain ``url``.
FOLLOWUP_FIELDS = (*TEMPLATE_FIELDS, "url")

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0/C1 controls (except tab and newline) and the three characters twitter-text calls invalid
# (U+FEFF, U+FFFE, U+FFFF): platforms reject or mangle them, editors cannot see them.
_INVISIBLE_JUNK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")
_LINE_BREAK = re.compile("\r\n|\r|\u2028|\u2029|\x85")
_GRAPHEME = regex.compile(r"\X")
# A hashtag or mention as the platforms' clients spot it: a run of # (or fullwidth U+FF03) after a
# non-word character, followed by a word character.  Deliberately broad, so caps are conservative.
HASHTAG_MARK = re.compile(r"(?<!\w)[#\uff03]+(?=\w)")
MENTION_MARK = re.compile(r"(?<!\w)[@\uff20]+(?=\w)")
_HASHTAG_TOKEN = regex.compile(r"[#\uff03][\p{L}\p{M}\p{N}_]+")
# Any whitespace-delimited token with "://" or starting "www." counts as a web address.
# Anchored at token starts so a 500-character word is scanned once, not once per character.
URL_TOKEN = re.compile(r"(?<!\S)(?:\S*://|www\.)\S*", re.IGNORECASE)
_TAG_WORD = regex.compile(r"[\p{L}\p{M}\p{N}_\u200c\u200d]+")
_TRAILING_PUNCT = ",;:-\u2013\u2014([{\u200e\u200f"
_UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")


def clean_text(text: str) -> str:
    """NFC, ``\\n`` line endings, no lone surrogates or invisible control characters."""
    text = _SURROGATE.sub("\ufffd", text)
    text = _LINE_BREAK.sub("\n", text)
    text = _INVISIBLE_JUNK.sub("", text)
    return unicodedata.normalize("NFC", text)


def nfc_length(text: str) -> int:
    """Characters as Meta's limits are applied here: code points after NFC, i.e. what is sent.

    Never fewer than the characters a reader sees (an emoji ZWJ sequence counts as several),
    and not UTF-16 units: an emoji outside the BMP counts once, as in Python's ``len``.
    """
    return len(unicodedata.normalize("NFC", text))


def one_line(text: str) -> str:
    """``clean_text`` with every run of whitespace collapsed to one space (titles, names)."""
    return " ".join(clean_text(text).split())


def tidy_layout(text: str) -> str:
    """Trim trailing spaces on each line, at most one blank line in a row, no outer blank lines."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def graphemes(text: str) -> list[str]:
    """Extended grapheme clusters (emoji ZWJ sequences, flags, conjuncts stay whole)."""
    return list(_GRAPHEME.findall(text))


# --- hashtags ---------------------------------------------------------------------------------
def hashtag_from_tag(tag: str) -> str | None:
    """``"Ishaq Dar"`` → ``"#IshaqDar"``; ``None`` when nothing usable (or only digits) remains."""
    words = _TAG_WORD.findall(one_line(tag).lstrip("#\uff03"))
    words = [w.strip("\u200c\u200d") for w in words]
    words = [w for w in words if w]
    if not words:
        return None
    if len(words) > 1:
        words = [w[:1].upper() + w[1:] for w in words]
    body = "".join(words)
    body = str(regex.sub(r"^\p{M}+", "", body))  # a hashtag cannot start with a combining mark
    # X and Instagram do not link an all-digit hashtag (#2025), so it would read as noise.
    if not body or body.replace("_", "").isdigit():
        return None
    return "#" + body


#: The most hashtags any platform takes (Instagram: 30 a caption); no post needs more.
MAX_HASHTAGS = 30
#: Article tags shorter or longer than this (after becoming a hashtag) are not used.
HASHTAG_LENGTHS = (2, 40)


def build_hashtags(
    tags: Iterable[str],
    always: Iterable[str],
    *,
    use_tags: bool = True,
    limit: int | None = None,
    already_in: str = "",
) -> list[str]:
    """The most relevant hashtags, at most ``limit`` (and never more than :data:`MAX_HASHTAGS`).

    Most relevant means: the channel's own hashtags first, then the article's tags in the CMS's
    order (editors list the important ones first), skipping tags that make poor hashtags (only
    digits, one character, or over 40), and those already in the text or already taken
    (case-insensitively).  An article may carry hundreds of tags; each platform then keeps the
    first ones that fit its own limits (Instagram 30 a caption, X the weighted length).
    """
    seen = {m.group(0)[1:].casefold() for m in _HASHTAG_TOKEN.finditer(clean_text(already_in))}
    cap = MAX_HASHTAGS if limit is None else min(limit, MAX_HASHTAGS)
    shortest, longest = HASHTAG_LENGTHS
    out: list[str] = []
    candidates = [(raw, True) for raw in always] + [(raw, False) for raw in tags if use_tags]
    for raw, own in candidates:
        if len(out) >= cap:
            break
        tag = hashtag_from_tag(raw)
        if tag is None or tag[1:].casefold() in seen:
            continue
        if not own and not shortest <= len(tag) - 1 <= longest:
            continue
        seen.add(tag[1:].casefold())
        out.append(tag)
    return out


# --- links ------------------------------------------------------------------------------------
def with_utm(url: str, *, source: str, campaign: str, medium: str = "social") -> str | None:
    """The article URL with our UTM parameters (others kept verbatim); ``None`` if unusable."""
    url = "".join(clean_text(url).split())
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Existing parameters are kept byte for byte, except UTM keys we own (they would conflict).
    kept = [
        p for p in parts.query.split("&") if p and unquote_plus(p.split("=", 1)[0]) not in _UTM_KEYS
    ]
    ours = [
        f"{k}={quote_plus(v)}" for k, v in zip(_UTM_KEYS, (source, medium, campaign), strict=True)
    ]
    # Non-ASCII paths are percent-encoded so link detectors (twitter-text) see the whole URL.
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    return urlunsplit((parts.scheme, parts.netloc, path, "&".join(kept + ours), parts.fragment))


def strip_urls(text: str) -> tuple[str, list[str]]:
    """Remove every whitespace-delimited token that looks like a web address."""
    found: list[str] = []

    def drop(match: re.Match[str]) -> str:
        found.append(match.group(0))
        return ""

    return URL_TOKEN.sub(drop, text), found


# --- templates --------------------------------------------------------------------------------
def template_problems(template: str, fields: tuple[str, ...] = TEMPLATE_FIELDS) -> list[str]:
    """Sentences describing why ``template`` cannot be used; empty when it is fine."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [
            f"The template is not valid ({exc}). Write {{{{ and }}}} for literal braces and "
            "name fields like {title}."
        ]
    known = ", ".join("{" + f + "}" for f in fields)
    problems: list[str] = []
    for _literal, name, spec, _conversion in parsed:
        if name is None:
            continue
        if name not in fields:
            shown = "{" + name + "}" if name else "{}"
            problems.append(f"The template uses {shown}, which is not a field; use {known}.")
        elif spec and "{" in spec:
            problems.append(f"The template field {{{name}}} has a nested field in its format.")
    if not problems:
        try:
            fill_template(template, dict.fromkeys(fields, ""))
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            problems.append(f"The template cannot be filled in ({exc}).")
    return problems


def template_fields(template: str) -> set[str]:
    """The field names a (valid) template uses."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError:
        return set()


def resolve_template(custom: str | None, default: str) -> tuple[str, list[str]]:
    """The channel's template if usable, else the default plus the sentences saying why not."""
    if custom is None or not custom.strip():
        return default, []
    custom = clean_text(custom)
    problems = template_problems(custom)
    return (default, problems) if problems else (custom, [])


def article_fields(article: ArticleContent, settings: ChannelSettings) -> dict[str, str]:
    """Cleaned template values taken from the article; ``link`` and ``hashtags`` left empty."""
    breaking = article.priority == "breaking"
    return {
        # "BREAKING:" (the channel's breaking_prefix) on a breaking article, else empty.
        "prefix": one_line(settings.breaking_prefix) if breaking else "",
        "title": one_line(article.title),
        "summary": tidy_layout(clean_text(article.summary)),
        "link": "",
        "hashtags": "",
        "section": one_line(article.section or ""),
        "author": one_line(article.author or ""),
        "link_in_bio": one_line(settings.link_in_bio),
    }


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """``str.format`` with our fields only; check with :func:`template_problems` first."""
    return string.Formatter().vformat(template, (), dict(values))


# --- truncation -------------------------------------------------------------------------------
def _protected_spans(text: str) -> list[tuple[int, int]]:
    """URLs, hashtags and mentions: never cut inside one."""
    spans = [(e["indices"][0], e["indices"][1]) for e in extract_urls_with_indices(text)]
    spans += [m.span() for m in regex.finditer(r"[#@\uff03\uff20][\p{L}\p{M}\p{N}_]+", text)]
    spans += [m.span() for m in URL_TOKEN.finditer(text)]
    return spans


def _shortened(text: str, end: int, spans: list[tuple[int, int]]) -> str:
    head = text[:end].rstrip()
    # "Dar, Fidan…" reads better than "Dar, Fidan,…" -- unless that punctuation ends a URL.
    bare = head
    while bare and (bare[-1] in _TRAILING_PUNCT or bare[-1].isspace()):
        bare = bare[:-1]
    if not any(s < len(bare) < t for s, t in spans):
        head = bare
    return head + ELLIPSIS if head else ""


def _longest_fitting(
    text: str, cuts: list[int], spans: list[tuple[int, int]], fits: Callable[[str], bool]
) -> int | None:
    """Binary search over increasing cut offsets; only ever returns a cut verified to fit."""
    lo, hi, best = 0, len(cuts) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = _shortened(text, cuts[mid], spans)
        if candidate and fits(candidate):
            best, lo = cuts[mid], mid + 1
        else:
            hi = mid - 1
    return best


def truncate_to_fit(text: str, fits: Callable[[str], bool]) -> str:
    """The longest "…"-ended prefix of ``text`` that ``fits``; ``""`` if none does.

    Prefers a word boundary; falls back to a grapheme boundary (never inside a URL, hashtag or
    mention) when the word cut would keep less than half of what is possible, as in a single
    500-character word or unspaced CJK/Thai text.
    """
    if fits(text):
        return text
    clusters = graphemes(text)
    ends = list(accumulate(len(c) for c in clusters))[:-1]
    spans = _protected_spans(text)
    inside = bytearray(len(text) + 1)
    for start, stop in spans:
        inside[start + 1 : stop] = b"\x01" * max(0, stop - start - 1)
    grapheme_cuts = [e for e in ends if not inside[e]]
    word_cuts = [e for e in ends if text[e].isspace() or text[e] == "\u200b"]
    best_grapheme = _longest_fitting(text, grapheme_cuts, spans, fits)
    limit = best_grapheme if best_grapheme is not None else len(text)
    best_word = _longest_fitting(text, [c for c in word_cuts if c <= limit], spans, fits)
    if best_word is not None and (best_grapheme is None or 2 * best_word >= best_grapheme):
        return _shortened(text, best_word, spans)
    return _shortened(text, best_grapheme, spans) if best_grapheme is not None else ""


def drop_hashtags_to_fit(
    fields: dict[str, str],
    tags: list[str],
    build: Callable[[dict[str, str]], str],
    fits: Callable[[str], bool],
) -> list[str]:
    """Drop hashtags from the end until the text fits; returns the dropped ones."""
    kept = list(tags)
    while kept and not fits(build(fields)):
        kept.pop()
        fields["hashtags"] = " ".join(kept)
    return tags[len(kept) :]


def shorten_fields(
    fields: dict[str, str],
    order: Iterable[str],
    build: Callable[[dict[str, str]], str],
    fits: Callable[[str], bool],
) -> list[str]:
    """Shorten the named fields in turn until the text fits; returns those changed."""
    changed = []
    for name in order:
        if fits(build(fields)):
            break
        original = fields[name]

        def fits_with(value: str, name: str = name) -> bool:
            return fits(build({**fields, name: value}))

        fields[name] = truncate_to_fit(original, fits_with)
        if fields[name] != original:
            changed.append(name)
    return changed


def cap_marks(text: str, mark: re.Pattern[str], limit: int) -> tuple[str, int]:
    """Keep the first ``limit`` hashtags/mentions; strip the sign from the rest (count stripped)."""
    stripped = 0
    for _ in range(3):  # removing "#" from "##tag" can expose another one; settle in a few passes
        matches = list(mark.finditer(text))
        if len(matches) <= limit:
            break
        extra = matches[limit:]
        stripped += len(extra)
        for m in reversed(extra):
            text = text[: m.start()] + text[m.end() :]
    return text, stripped


def count_marks(text: str, mark: re.Pattern[str]) -> int:
    """How many hashtags (or mentions) the platform would see in ``text``."""
    return len(mark.findall(text))
