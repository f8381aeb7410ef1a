"""One element's value as feedparser reads it: text, a title or summary, a link, a guid, an author.

Each function mirrors a handler of feedparser 6 (named in its docstring) for the elements the
fast parse path reads, and raises Declined where feedparser would do something it does not
mirror. `keys` is the element's attribute names, fetched once by the caller (lxml makes a list).
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple, TypeAlias

from bot.core.feed.markup import keeps_text, length_bounds

Raw = dict[str, Any]
Element: TypeAlias = Any  # an lxml element (lxml ships no type hints)

_XML_LANG = "{http://www.w3.org/xml/1998/namespace}lang"
_XML_NS = "{http://www.w3.org/xml/1998/namespace}"
_URI_SLASHES = re.compile(r"^([A-Za-z][A-Za-z0-9+,\-.]*://)/+")  # feedparser drops slashes after ://
_LINK_REFERENCE = re.compile(r"&([A-Za-z0-9_]+);")  # ?a=1&b;=2 → ?a=1&b=2, as feedparser "fixes" links
_HTML_TYPES = ("text/html", "application/xhtml+xml")
TYPE_NAMES = {"text": "text/plain", "plain": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}
_PERSON_KEYS = {"name": "name", "itunes:name": "name", "email": "email", "itunes:email": "email",
                "uri": "href", "url": "href", "homepage": "href"}


class Declined(Exception):
    """The fast path does not fully understand the feed: feedparser reads it."""


class Text(NamedTuple):
    """A title or summary as the feed gave it; `exact`: feedparser keeps it as it is (its
    sanitizer may otherwise re-spell it, to the same plain text)."""

    value: str
    exact: bool
    tags: str | None = None  # its tags one after another, when markup.keeps_text read them

    def bounds(self) -> tuple[int, int]:
        """The shortest and longest feedparser's copy can be."""
        return (len(self.value), len(self.value)) if self.exact else length_bounds(self.value, self.tags)


def odd(text: str) -> bool:
    """Text feedparser changes: a C1 control (it maps them as Windows-1252), or a character of
    U+00C2-U+00F4 before one of U+0080-U+00BF (it decodes text that may be UTF-8 read as Latin-1
    once more). In UTF-8 both hold the byte C2, which nothing else in UTF-8 does."""
    if text.isascii():
        return False
    data = text.encode("utf-8", "surrogatepass")
    at = data.find(b"\xc2")
    while at >= 0:
        if data[at + 1] <= 0x9F or (at >= 2 and data[at - 2] == 0xC3 and 0x82 <= data[at - 1] <= 0xB4):
            return True
        at = data.find(b"\xc2", at + 2)
    return False


def uri(value: str) -> str:
    """_urljoin against no base: only the slashes after `scheme://` go."""
    # The pattern needs slashes right after "://", so only a value holding ":///" can change.
    return _URI_SLASHES.sub(r"\1", value) if ":///" in value else value


def leaf_value(el: Element) -> str:
    """_FeedParserMixin.pop: the text, stripped, of an element without children."""
    if len(el):
        raise Declined
    value = (el.text or "").strip()
    if odd(value):
        raise Declined
    return value


def attributes(el: Element, keys: list[str]) -> dict[str, str]:
    """feedparser's view of an element's attributes: names lower-cased, rel and type values too."""
    found: dict[str, str] = {}
    for key in keys:
        if key[0] == "{":
            if key.lower().startswith(_XML_NS):
                continue  # xml:lang and xml:base are read for every element
            raise Declined  # feedparser also files a namespaced attribute under its bare name
        low = key.lower()
        if low in found:
            raise Declined
        value = el.get(key)
        found[low] = value.lower() if low in ("rel", "type") else value
    return found


def lang_of(el: Element, keys: list[str], inherited: str | None) -> str | None:
    """unknown_starttag: the element's language (xml:lang, else lang; "" for none), after
    refusing any base attribute (feedparser would resolve links against it)."""
    xml_lang = plain = None
    for key in keys:
        low = key.lower()
        if low == "base" or low.endswith("}base"):
            raise Declined
        if low == _XML_LANG:
            xml_lang = el.get(key)
        elif low == "lang":
            plain = el.get(key)
        elif low.endswith("}lang"):
            raise Declined
    found = xml_lang if xml_lang is not None else plain
    return inherited if found is None else found or None


def text_value(el: Element, keys: list[str], default: str, *, atom: bool, content: bool = False) -> Text:
    """push_content and pop: plain text, or HTML the sanitizer keeps to the same plain text."""
    kind = default
    if keys:
        found = attributes(el, keys)
        if "mode" in found or (content and "src" in found):  # base64, or content held elsewhere
            raise Declined
        kind = found.get("type", default)
        kind = TYPE_NAMES.get(kind, kind)
    value = leaf_value(el)
    if kind == "text/plain" and atom:  # Atom's plain text is kept; RSS's is sanitised if it looks like HTML
        return Text(value, True)
    tags = keeps_text(value) if kind in ("text/plain", "text/html") else None
    if tags is None:
        raise Declined
    return Text(value, "<" not in value and "&" not in value and "\r" not in value, tags)


def link_into(entry: Raw, el: Element, keys: list[str]) -> None:
    """_start_link / _end_link: an Atom link (the alternate HTML one counts), else RSS text."""
    found = attributes(el, keys) if keys else {}
    given = found["url"] if "url" in found else found["uri"] if "uri" in found else found.get("href")
    if given or "href" in found:  # _enforce_href
        if len(el):
            raise Declined
        href = given or found["href"]
        if odd(href):
            raise Declined
        rel = found.get("rel", "alternate")
        kind = found.get("type", "application/atom+xml" if rel == "self" else "text/html")
        if rel == "alternate" and TYPE_NAMES.get(kind, kind) in _HTML_TYPES:
            entry["link"] = uri(href)
        return
    value = uri(leaf_value(el))
    if "&" in value:  # pop's repair of query strings
        value = _LINK_REFERENCE.sub(r"&\1", value.replace("&amp;", "&"))
    entry["link"] = value


def guid_into(entry: Raw, el: Element, keys: list[str]) -> None:
    """_start_guid / _end_guid: a permalink guid is the link too, unless a link came first."""
    is_link = (attributes(el, keys).get("ispermalink", "true") if keys else "true") == "true"
    value = leaf_value(el)
    if value and is_link:
        value = uri(value)
    entry["id"] = value
    entry.setdefault("guidislink", is_link and "link" not in entry)
    if is_link:
        entry.setdefault("link", value)


def person_of(el: Element, name_of: Callable[[Element], str]) -> dict[str, str]:
    """_start_author's parts: name, email and a web address, each a leaf."""
    detail: dict[str, str] = {}
    for child in el:
        key = _PERSON_KEYS.get(name_of(child))
        if key is None or child.keys():
            raise Declined
        detail[key] = leaf_value(child)
    return detail


def author_of(el: Element, name_of: Callable[[Element], str], after_another: bool) -> str:
    """_end_author and _sync_author_detail: an Atom person's name and email, else the text.

    A person after another author starts from an email feedparser cuts out of the author before
    (`ann@n.exam` from `Ann (ann@n.example)`): that is left to feedparser.
    """
    if not len(el):
        return leaf_value(el)
    if after_another:
        raise Declined
    detail = person_of(el, name_of)
    name, email = detail.get("name"), detail.get("email")
    if name and email:
        return f"{name} ({email})"
    if name or email:
        return name or email or ""
    direct = ((el.text or "") + "".join(child.tail or "" for child in el)).strip()
    if odd(direct):
        raise Declined
    return direct
