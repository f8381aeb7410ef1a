"""Item identity in one place: the keys an item is known by, and the duplicate rule.

Primary key: the GUID (scoped to its feed), else the canonical URL, else a hash of the text.
Secondary keys: the canonical URL and a hash of the normalised headline, so a GUID that changes
does not re-alert. The rule (`classify`): same key or URL is a duplicate; the same headline is a
duplicate from the same outlet, a syndicated copy from another, and new after SAME_TITLE_WINDOW.
Pure: the store looks the earlier items up and applies what this module decides.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.core.feed.html import html_to_text
from bot.model import Item

_LABEL = re.compile(r"^(?:breaking|update|updated|exclusive|live|video|watch|photos?)\s*[:|-]\s*")
_GENERIC = frozenset({"live updates", "breaking news", "latest news", "top stories", "news in brief", "untitled"})
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_PUNCTUATION = re.compile(r"[^\w\s]|_")
# The same for ASCII text, as a byte table made from the pattern itself (bytes.translate: a
# fifth of the time of str.translate with a dict, which is half that of sub)
_ASCII_PUNCTUATION = bytes(0x20 if _PUNCTUATION.match(chr(c)) else c for c in range(128)) + bytes(range(128, 256))


def _title_words(plain: str) -> str:
    text = _LABEL.sub("", " ".join(plain.casefold().split()))
    spaced = (text.encode("ascii").translate(_ASCII_PUNCTUATION).decode("ascii") if text.isascii()
              else _PUNCTUATION.sub(" ", text))
    return " ".join(spaced.split())


def title_hash(title: str) -> str:
    """Hash of the normalised title; "" when it is too short or generic to name one article."""
    return plain_title_hash(html_to_text(title))


def plain_title_hash(plain: str) -> str:
    """title_hash of a title already through html_to_text (normalize has it: no second pass)."""
    words = _title_words(plain)
    if words in _GENERIC or len(words) < 12:
        return ""
    # Chinese and Japanese titles have no spaces: few words, but 12 characters or more of theirs
    if words.count(" ") < 3 and len(_CJK.findall(words)) < 12:
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


# --- the duplicate rule --------------------------------------------------------------------------

# Two outlets carrying one headline within a few days are one wire report syndicated; the same
# headline a week later is a new development that happens to be worded alike (a recurring
# "North Korea fires ballistic missile" headline), so it goes through the filter like any item.
SAME_TITLE_WINDOW = timedelta(days=3)

VerdictKind = Literal["new", "duplicate", "copy"]
Basis = Literal["", "guid", "url", "text", "headline"]


@dataclass(frozen=True)
class IdentityVerdict:
    """What an item is, given the earlier items it shares a key with.

    new: store it and match it. duplicate: the same article again, not stored. copy: another
    outlet's report with the same headline: stored (its own link) and joined to `twin`'s story
    as a source instead of being matched as a new development.
    """

    kind: VerdictKind
    twin: Item | None = None  # the earlier item it repeats (None when new)
    basis: Basis = ""  # what the two share
    detail: str = ""  # plain words for events and replay output


def same_outlet(a: Item, b: Item) -> bool:
    return a.feed == b.feed or a.source.casefold() == b.source.casefold()


def _key_kind(key: str) -> Basis:
    kind = key.partition(":")[0]
    return "guid" if kind == "guid" else "url" if kind == "url" else "text"


def _duplicate(item: Item, twin: Item, basis: Basis) -> IdentityVerdict:
    return IdentityVerdict("duplicate", twin, basis, f"duplicate of {twin.key} (same {basis}, {item.source})")


def headline_span(item: Item, window: timedelta = SAME_TITLE_WINDOW) -> tuple[datetime, datetime]:
    """The times (inclusive) an earlier item with the same headline must fall within to count for
    classify: a store reads only those (a recurring headline's older rows are never a twin)."""
    return item.published - window, item.published + window


def classify(item: Item, twins: Sequence[Item], window: timedelta = SAME_TITLE_WINDOW) -> IdentityVerdict:
    """The duplicate rule. `twins` are earlier items sharing the key, the canonical URL or the title
    hash within headline_span (in storage order); anything else in it is ignored."""
    for twin in twins:
        if twin.key == item.key:
            return _duplicate(item, twin, _key_kind(item.key))
    for twin in twins:
        if item.url and twin.url == item.url:
            return _duplicate(item, twin, "url")
    lo, hi = headline_span(item, window)  # the span the stores read headline twins in
    near = [t for t in twins if item.title_hash and t.title_hash == item.title_hash and lo <= t.published <= hi]
    for twin in near:
        if same_outlet(item, twin):  # a GUID or link that changed: the outlet re-published it
            return _duplicate(item, twin, "headline")
    if near:
        first = min(near, key=lambda t: t.published)  # the original, not an earlier copy of it
        return IdentityVerdict("copy", first, "headline",
                               f"same headline as {first.url or first.key} (syndicated copy)")
    return IdentityVerdict("new")
