"""Which feed HTML the fast parse path may keep as it is, and how long feedparser's copy could be.

feedparser's sanitizer rewrites the HTML it keeps (attributes dropped, void tags closed, entities
re-spelt), and deskwatch then reduces it to plain text (bot/core/feed/html.py). For HTML made only
of plain text, known entities and well-formed tags of elements the sanitizer keeps, both copies
give the same plain text, so the fast path needs no sanitizer. `keeps_text` says whether a string
is that kind of HTML (anything else makes the fast path decline the feed); `length_bounds` how
long the sanitizer's copy can be, for feedparser's length cut and its longest-text choice.
"""

from __future__ import annotations

import re
from html.entities import html5, name2codepoint

from feedparser.html import _BaseHTMLProcessor
from feedparser.sanitizer import _HTMLSanitizer

# Elements the sanitizer keeps (so plain text sees the same tags either way), and the void ones it
# writes as `<br />`: their end tags it drops, so `</br>` would be a line break on one side only.
KEPT_ELEMENTS = frozenset(_HTMLSanitizer.acceptable_elements)
VOID_ELEMENTS = frozenset(_BaseHTMLProcessor.elements_no_end_tag)
# Elements the sanitizer drops that plain text ignores too: inline, no text of their own.
DROPPED_INLINE = frozenset({"picture", "wbr", "mark", "embed"})
# Elements both drop with all they hold; kept only as an empty pair, as embeds write them
# (`<iframe …></iframe>`, `<script async src=…></script>`): what is inside, the two read differently.
EMPTY_ONLY = frozenset({"script", "style", "iframe"})
# Named references the sanitizer writes back unchanged; any other `&name;` it spells `&amp;name`.
_KNOWN_ENTITIES = frozenset(name2codepoint) | {"apos"}
# Names the stdlib decodes even without a semicolon (`&copy2024`); the sanitizer reads those differently.
_BARE_ENTITIES = tuple(sorted(name for name in html5 if not name.endswith(";")))

_NAME = r"[A-Za-z][A-Za-z0-9]*+"
_ATTRIBUTE = r"""\s++[A-Za-z_:][-A-Za-z0-9_:.]*+(?:\s*+=\s*+(?:"[^"<>]*+"|'[^'<>]*+'|[A-Za-z0-9_.:-]++))?+"""
# What each "<" opens: (the whole of it, a start tag's name, its "/" of `/>`, an end tag's name,
# "!" of a simple comment); the last four empty for a "<" that opens nothing well-formed. Found
# from one "<" to the next, which is several times faster than matching the text in between.
_TAGS = re.compile(rf"(<(?:({_NAME})(?:{_ATTRIBUTE})*+\s*+(/?)>|/({_NAME})\s*+>|(!)--[^<>-]*+-->|))")
# An "&" (in text or in a tag) that opens no reference and is no lone ampersand
_BAD_AMP = re.compile(r"&(?!#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z]|[^A-Za-z#]|\Z)")
_WHOLE_TAGS = re.compile(r"<[A-Za-z/][^<>]*+>")
_EMPTY_PAIRS = re.compile(r"<(script|style|iframe)(?:\s[^<>]*+)?+></\1\s*+>", re.IGNORECASE)
# What may be an attribute without a value (`allowfullscreen`), which the sanitizer writes out in full
_BARE_ATTRIBUTE = re.compile(r"\s([A-Za-z_:][-A-Za-z0-9_:.]*+)(?=\s|/?>)")
# A reference as the sanitizer's parser reads it: numeric, or a name that runs on over "-" and
# "." and loses a following ";" unless it is a known entity.
_REFERENCES = re.compile(r"&(?:#([xX]?)([0-9a-fA-F]+);|([A-Za-z][-.A-Za-z0-9]*)(;?))")


def _tags_kept(s: str) -> str | None:
    """The tags of `s` (comments not), one after another, when the sanitizer keeps them all; else None."""
    empty_only = False
    found = _TAGS.findall(s)
    for _whole, start, closed, end, comment in set(found):
        name = (start or end).lower()
        if name in EMPTY_ONLY:
            empty_only = True
        elif start:  # `<p/>` is opened and closed by the sanitizer (or opened for good)
            if (name not in KEPT_ELEMENTS and name not in DROPPED_INLINE) or (closed and name not in VOID_ELEMENTS):
                return None
        elif end:  # `</br>` is dropped by the sanitizer
            if (name not in KEPT_ELEMENTS and name not in DROPPED_INLINE) or name in VOID_ELEMENTS:
                return None
        elif not comment:
            return None
    if empty_only:  # each one an empty pair: none left once the pairs are gone
        rest = _EMPTY_PAIRS.sub("", s)
        if any((start or end).lower() in EMPTY_ONLY for _w, start, _c, end, _m in _TAGS.findall(rest)):
            return None
    # Every "<" opened a tag or a comment, each ending at the first ">": what _WHOLE_TAGS finds.
    return "".join([whole for whole, _s, _c, _e, comment in found if not comment])


def _references_kept(s: str) -> bool:
    for hexa, digits, name, semicolon in set(_REFERENCES.findall(s)):
        if name:
            if semicolon and name not in _KNOWN_ENTITIES:
                return False
            if not semicolon and (name in name2codepoint or name.startswith(_BARE_ENTITIES)):
                return False
        else:
            code = int(digits, 16 if hexa else 10)
            # C1 controls the sanitizer re-spells as Windows-1252; surrogates; beyond Unicode
            if 0x80 <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                return False
    return True


def keeps_text(s: str) -> str | None:
    """When feedparser's sanitizer would leave `s` with the same plain text as `s` has: its tags
    one after another (for length_bounds; "" for none). Else None."""
    tags = _tags_kept(s) if "<" in s else ""
    if tags is None or ("&" in s and (_BAD_AMP.search(s) is not None or not _references_kept(s))):
        return None
    return tags


def length_bounds(s: str, tags: str | None = None) -> tuple[int, int]:
    """The shortest and longest the sanitizer's copy of `s` (which keeps_text accepted) can be;
    `tags`: what keeps_text gave for it, when at hand.

    Longer: a void tag gets ` />`, an unquoted value quotes, `"` in a value becomes `&quot;`, a
    style's `prop:value` becomes `prop: value;`, a bare attribute `name` becomes `name="name"`, a
    lone `&name` becomes `&amp;name`. Shorter: attributes go (so count every tag as gone), `&#39;`
    becomes `'`, CR LF becomes LF.
    """
    amp, cr = s.count("&"), s.count("\r")
    if "<" not in s:
        return len(s) - 4 * s.count("&#") - cr, len(s) + 4 * amp
    if tags is None:
        tags = "".join(_WHOLE_TAGS.findall(s))
    longer = 2 * s.count("<") + 4 * amp + 5 * tags.count('"') + 2 * tags.count("=") + 3 * tags.count(":")
    longer += sum(len(name) + 3 for name in _BARE_ATTRIBUTE.findall(tags)) if " " in tags else 0
    return len(s) - len(tags) - 4 * s.count("&#") - cr, len(s) + longer
