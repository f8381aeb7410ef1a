"""Item identity in one place: the keys an item is known by, and the duplicate rule.

Primary key: the GUID (scoped to its feed), else the canonical URL, else a hash of the text.
Secondary keys: the canonical URL and a hash of the normalised headline, so a GUID that changes
does not re-alert. Pure: the store only applies what this module decides.
"""

from __future__ import annotations

import hashlib
import re

from bot.core.feed.html import html_to_text

_LABEL = re.compile(r"^(?:breaking|update|updated|exclusive|live|video|watch|photos?)\s*[:|-]\s*")
_GENERIC = frozenset({"live updates", "breaking news", "latest news", "top stories", "news in brief", "untitled"})
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def _title_words(title: str) -> str:
    text = html_to_text(title).casefold()
    text = _LABEL.sub("", " ".join(text.split()))
    return " ".join(re.sub(r"[^\w\s]|_", " ", text).split())


def title_hash(title: str) -> str:
    """Hash of the normalised title; "" when it is too short or generic to name one article."""
    words = _title_words(title)
    long_cjk = len(_CJK.findall(words)) >= 12  # Chinese and Japanese titles have no spaces
    if words in _GENERIC or len(words) < 12 or (len(words.split()) < 4 and not long_cjk):
        return ""
    return hashlib.sha256(words.encode()).hexdigest()[:32]


def item_key(feed: str, guid: str | None, url: str, title: str, summary: str) -> str:
    """Primary identity: the GUID (scoped to its feed), else the canonical URL, else the text."""
    if guid and guid.strip():
        kind, basis = "guid", f"{feed}\n{guid.strip()}"
    elif url:
        kind, basis = "url", url
    else:
        kind, basis = "text", f"{feed}\n{title}\n{summary}"
    return f"{kind}:{hashlib.sha256(basis.encode('utf-8', 'replace')).hexdigest()[:32]}"
