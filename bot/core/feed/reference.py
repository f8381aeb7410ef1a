"""The plain normalisation path the fast one must equal, kept only for tests and bench/normalize.py.

Every string goes through the HTML parser, invisible characters go by `str.translate`, and a
round is repeated until it changes nothing, as before issue 12 made html_to_text faster. A
property test holds `html_to_text` and `reference_html_to_text` equal on arbitrary text.
"""

from __future__ import annotations

import unicodedata

from bot.core.feed.html import _TRAILING_TAG, INVISIBLE_RANGES, MAX_INPUT, _defang, _fold, _strip_tags

_TABLE: dict[int, str | None] = {
    **{c: None for lo, hi in INVISIBLE_RANGES for c in range(lo, hi)},
    0x0D: "\n",
}


def _reference_once(s: str) -> str:
    text = _strip_tags(_TRAILING_TAG.sub("", s)).translate(_TABLE)
    return _fold(unicodedata.normalize("NFKC", text))


def reference_html_to_text(s: str) -> str:
    """html_to_text the slow way: the parser on every string, every round checked."""
    cur = _reference_once(s[:MAX_INPUT])
    for _ in range(3):
        nxt = _reference_once(cur)
        if nxt == cur:
            break
        cur = nxt
    return _defang(cur)
