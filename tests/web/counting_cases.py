"""One table of counting cases for the Python rules and the browser's JavaScript.

``test_counting_rules`` checks the Python side (the adapters' own counts, the web counters and
the X display URL) against it; ``test_live_counters`` runs meta-counter.js and x-counter.js in
Chromium against the same rows, so the live counters cannot drift from what the server refuses.
"""

from __future__ import annotations

#: (what is counted, text, count) as Instagram's and Facebook's limits are applied.
COUNT_CASES: list[tuple[str, str, int]] = [
    ("characters", "", 0),
    ("characters", "Dar in Istanbul", 15),
    ("characters", "a\nb", 3),
    ("characters", "e\u0301", 1),  # NFC composes é: one character sent
    ("characters", "\u1112\u1161\u11ab", 1),  # Hangul jamo compose to 한
    ("characters", "\ufb01", 1),  # the ﬁ ligature: NFC (not NFKC) keeps it one character
    ("characters", "😷", 1),  # one code point, two UTF-16 units
    ("characters", "🇵🇰", 2),  # two regional indicators
    ("characters", "👨\u200d👩\u200d👧\u200d👦", 7),  # four emoji and three joiners
    ("characters", "پاکستان زندہ باد", 16),  # Urdu
    ("characters", "नमस्ते", 6),  # Devanagari with vowel signs and a virama
    ("hashtags", "#Pakistan #Gaza", 2),
    ("hashtags", "##double", 1),  # a run of # is one mark
    ("hashtags", "a#b", 0),  # after a word character
    ("hashtags", "# tag", 0),
    ("hashtags", "#1 #_x", 2),  # digits and _ are word characters
    ("hashtags", "\uff03fullwidth", 1),
    ("hashtags", "\uff03\uff03tag #tag#tag", 2),
    ("hashtags", "#پاکستان", 1),
    ("hashtags", "#\u0301x", 0),  # a combining mark is no word character
    ("hashtags", "x\u0301#tag", 1),  # nor before the #
    ("hashtags", "\u0661\u0662#tag", 0),  # after Arabic-Indic digits
    ("hashtags", "(#tag)", 1),
    ("hashtags", " ".join(f"#t{i}" for i in range(31)), 31),
    ("mentions", "@dawn_com @x", 2),
    ("mentions", "a@b.com", 0),
    ("mentions", "\uff20name", 1),
    ("mentions", "@ name", 0),
]

#: (URL as written, how X shows it): see scheduler/web/xlinks.py for where these come from.
DISPLAY_URL_CASES: list[tuple[str, str]] = [
    (
        "https://developer.twitter.com/en/use-cases/success-stories/penn",
        "developer.twitter.com/en/use-cases/s…",
    ),
    (
        "https://twittercommunity.com/t/retiring-labs-v2-recent-search-and-hide-replies/145795",
        "twittercommunity.com/t/retiring-lab…",
    ),
    (
        "https://www.instagram.com/p/BsgzCkbB8qy/?utm_source=ig_twitter_share&igshid=1mmt9wzhp0aez",
        "instagram.com/p/BsgzCkbB8qy/…",
    ),
    (
        "https://news.example.com/2026/11/03/dar-istanbul/?utm_source=x&utm_medium=social",
        "news.example.com/2026/11/03/dar…",
    ),
    ("https://www.quesnelobserver.com/", "quesnelobserver.com"),
    ("https://github.com/saasfly/saasfly", "github.com/saasfly/saasfly"),  # 16 after the host
    ("https://www.instagram.com/andrewnguyen03/", "instagram.com/andrewnguyen03/"),
    ("http://Instagram.com/kmbrlydnll_", "Instagram.com/kmbrlydnll_"),
    ("HTTPS://WWW.DAWN.COM/", "DAWN.COM"),
    ("example.com", "example.com"),
    ("www.dawn.com/news?id=1", "dawn.com/news?id=1"),
    ("https://example.com#top", "example.com#top"),
    ("https://example.com:8443/a", "example.com:8443/a"),
    ("https://example.com/?q=abcdefghijklmnopq", "example.com/?q=abcdefghijk…"),
    ("https://example.com/" + "😷" * 17, "example.com/" + "😷" * 14 + "…"),  # code points
    ("https://ur.example.com/پاکستان/خبریں/تازہ-ترین-خبر", "ur.example.com/پاکستان/خبریں/…"),
]
