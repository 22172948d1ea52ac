"""Plain text from the HTML that CMSs and feeds send (WordPress ``*.rendered``, RSS summaries).

The standard library's parser is enough: we only need the text, never a DOM, and it copes with
the unbalanced markup feeds are full of.  Entities (``&#8217;``, ``&amp;``) are decoded.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: Elements whose end starts a new paragraph in the text.
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
     "figure", "figcaption", "table", "tr", "section", "article", "header", "footer", "hr", "pre"}
)  # fmt: skip
#: Elements whose content is never text a reader sees.
_SKIP = frozenset({"script", "style", "noscript", "template", "iframe", "svg"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str | None, *, paragraphs: bool = True) -> str:
    """The visible text of an HTML fragment, entities decoded, whitespace tidied.

    With ``paragraphs`` block elements become blank lines; without, everything is one line
    (titles, summaries).
    """
    if not markup:
        return ""
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    text = "".join(collector.parts).replace("\xa0", " ")
    if not paragraphs:
        return " ".join(text.split())
    blocks = (" ".join(block.split()) for block in re.split(r"\n\s*\n", text))
    return "\n\n".join(b for b in blocks if b)


# CMS boilerplate at the end of feed items and excerpts, never the article's own words:
# - WordPress's RSS footer (Yoast SEO and core themes): "The post <title> appeared first on
#   <site>." (some plugins: "This post ... first appeared on ...");
# - WordPress's excerpt_more: " [&hellip;]" (decoded to "[…]"), "[...]";
# - themes' more links: "… Continue reading <title> →", "Read more »".
# Each is matched only at the very end, in the last paragraph, so a sentence that merely
# contains "read more" survives.
_FOOTER = re.compile(
    r"\s*\b(?:The|This) post [^\n]{1,600}? (?:appeared first|first appeared) on [^\n]{1,300}?$"
)
_MORE = re.compile(
    r"\s*(?:"
    r"\[\s*(?:…|\.\.\.|&hellip;)\s*\]"
    r"|(?:…|\.\.\.)?\s*(?:Continue reading|Read more|Read More|READ MORE)\b[^\n]{0,200}"
    r")\s*$"
)
_SENTENCE_END = ".!?…\"'\u201d\u2019)»"


def strip_cms_boilerplate(text: str) -> str:
    """``text`` without a trailing "appeared first on" footer or excerpt "[…]"/"Read more".

    An excerpt cut mid-sentence keeps a plain "…" so the reader still sees it is a teaser.  A
    text that would be left empty is returned as it was: it was the article's own words.
    """
    stripped = text
    while True:
        before = stripped
        stripped = _FOOTER.sub("", stripped).rstrip()
        cut = _MORE.search(stripped)
        if cut:
            stripped = stripped[: cut.start()].rstrip()
            if stripped and stripped[-1] not in _SENTENCE_END:
                stripped += "…"
        if stripped == before:
            return stripped or text
