"""Turn a fetched body into a ParsedFeed: entries as the feed gave them, plus a plain-words problem.

A plain, well-formed RSS, Atom or RDF body is read by lxml (bot/core/feed/fastparse.py: the same
entries, several times faster, and never a DTD). feedparser reads every other body, always as
bytes we hand it (it never fetches). A DOCTYPE's entity declarations are how a small feed makes
the parsers build strings of hundreds of megabytes, so feedparser never sees one, whatever
precedes it:

1. the body is decoded once (feedparser's own detection) and re-encoded as valid UTF-8 under our
   own `<?xml … encoding="utf-8"?>` declaration, so feedparser's second decoding is the same text
   we scanned (no UTF-16 or EBCDIC reading that could reveal a declaration we did not see);
2. the prolog is dropped except for that declaration (comments, PIs, the DOCTYPE);
3. every `<!DOCTYPE …>` and `<!ENTITY …>` left anywhere in the document (any letter case, inside
   an internal subset, a comment or CDATA too) is cut out whole, and the cut leaves whitespace, so
   the pieces on either side cannot join into a new declaration;
4. right before feedparser is called, a body that still holds `<!doctype` or `<!entity` in any
   case is refused. Without a DOCTYPE, expat has no DTD to take entities from, and feedparser's
   loose parser only knows the entities its DOCTYPE scan hands it: none.

`<!DOCTYPE` text quoted inside CDATA or a comment (an article about HTML) is cut too; that costs
a few characters of such an article and nothing else. Pure: no I/O, no clock.
"""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urljoin

import feedparser
from feedparser.encodings import convert_to_utf8

from bot.core.feed.dates import struct_to_utc
from bot.core.feed.fastparse import read_fast
from bot.core.feed.limits import MAX_AUTHOR, MAX_ENTRIES, MAX_GUID, MAX_LINK, MAX_SUMMARY, MAX_TITLE
from bot.model import Entry, ParsedFeed

__all__ = ["MAX_AUTHOR", "MAX_ENTRIES", "MAX_GUID", "MAX_LINK", "MAX_SUMMARY", "MAX_TITLE", "drop_declarations",
           "looks_like_html", "parse_feed", "parse_with_feedparser", "root_name", "strip_prolog"]

MAX_DECL_TOKENS = 100_000  # quote/bracket tokens scanned in one declaration before giving up

_XML_DECL = re.compile(rb"<\?xml[\sA-Za-z0-9_.:=\"'-]*\?>")
_UTF8_DECL = b'<?xml version="1.0" encoding="utf-8"?>'
# What starts a DTD or an entity declaration. Case-blind although XML is not: no spelling of it
# needs to reach feedparser.
_DECLARATION = re.compile(rb"<!(?:doctype|entity)", re.IGNORECASE)
_DECL_TOKEN = re.compile(rb"[\"'\[\]>]|<!--")
_ROOT_NAME = re.compile(rb"<([A-Za-z_:][\w.:-]*)")
_HTML_ROOTS = frozenset({b"html", b"head", b"body"})
_FEED_ROOTS = frozenset({b"rss", b"feed", b"rdf:rdf", b"rdf", b"channel"})
_BOM = b"\xef\xbb\xbf"


def _declaration_end(data: bytes, start: int) -> int:
    """End of the `<!...>` declaration at `start`, honouring quotes, `[...]` and comments.

    Returns -1 when it never ends (or is absurdly long): the caller then drops the rest.
    """
    if data.startswith(b"<!--", start):
        end = data.find(b"-->", start + 4)
        return -1 if end < 0 else end + 3
    depth, pos = 0, start + 2
    for _ in range(MAX_DECL_TOKENS):
        m = _DECL_TOKEN.search(data, pos)
        if m is None:
            return -1
        tok, pos = m.group(), m.end()
        if tok in (b'"', b"'"):
            close = data.find(tok, pos)
            if close < 0:
                return -1
            pos = close + 1
        elif tok == b"<!--":
            close = data.find(b"-->", pos)
            if close < 0:
                return -1
            pos = close + 3
        elif tok == b"[":
            depth += 1
        elif tok == b"]":
            depth = max(depth - 1, 0)
        elif depth == 0:  # ">" outside the internal subset
            return pos
    return -1


def strip_prolog(data: bytes) -> tuple[bytes, bytes, bool]:
    """Keep the XML declaration and everything from the root element on; drop the rest.

    Returns (new body, the DOCTYPE text seen (lower-case, for sniffing), whether a DOCTYPE or
    another declaration block never ended). Comments, PIs and stray text go too: feedparser's
    own DOCTYPE handling matches `<!ENTITY` at any line start before the root, even in a comment.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    decl = _XML_DECL.match(data)
    keep = decl.group() if decl else b""
    pos = start = decl.end() if decl else 0
    doctype = b""
    while True:
        lt = data.find(b"<", pos)
        if lt < 0 or lt + 1 >= len(data):
            return keep, doctype, False
        nxt = data[lt + 1 : lt + 2]
        if nxt == b"?":
            end = data.find(b"?>", lt + 2)
            pos = len(data) if end < 0 else end + 2
        elif nxt == b"!":
            end = _declaration_end(data, lt)
            if data[lt : lt + 9].upper() == b"<!DOCTYPE":
                doctype = data[lt : lt + 200].lower()
            if end < 0:
                return keep, doctype, True
            pos = end
        elif nxt.isalnum() or nxt == b"_" or nxt[0] >= 0x80:
            # the dropped prolog's newlines stay, so parse errors cite the feed's own line numbers
            return keep + b"\n" * data.count(b"\n", start, lt) + data[lt:], doctype, False
        else:
            pos = lt + 1


def drop_declarations(data: bytes) -> tuple[bytes, int, bool]:
    """Cut every `<!DOCTYPE …>` and `<!ENTITY …>` declaration out of the body, wherever it is.

    Returns (new body, how many were cut, whether one never ended: then the rest of the body went
    with it). Each cut leaves the declaration's newlines, or one space when it had none, so line
    numbers stay right and the text on either side cannot join into a new `<!DOCTYPE`: neither
    pattern holds whitespace. Linear: the scan resumes where each declaration ended.
    """
    parts: list[bytes] = []
    pos = cut = 0
    while (m := _DECLARATION.search(data, pos)) is not None:
        end = _declaration_end(data, m.start())
        parts.append(data[pos : m.start()])
        cut += 1
        if end < 0:
            return b"".join(parts), cut, True
        parts.append(b"\n" * data.count(b"\n", m.start(), end) or b" ")
        pos = end
    parts.append(data[pos:])
    return b"".join(parts), cut, False


def _as_utf8_document(data: bytes) -> bytes:
    """The body as valid UTF-8 under our own XML declaration (its own declaration, if any, goes).

    feedparser decodes what we hand it again; with this declaration first and no invalid byte, it
    reads UTF-8, so it sees exactly the text the declaration scan saw.
    """
    text = data.decode("utf-8", "replace").encode("utf-8")
    decl = _XML_DECL.match(text)
    return _UTF8_DECL + (text[decl.end() :] if decl else text)


def root_name(body: bytes) -> bytes:
    """The root element's name, lower-case, of an already stripped body (b"" when none)."""
    m = _ROOT_NAME.search(body)
    return m.group(1).lower() if m else b""


def looks_like_html(body: bytes) -> bool:
    """True when the body is clearly an HTML page: its root is <html>/<head>/<body>, or an HTML
    DOCTYPE precedes a root that is no feed element. Works on raw (ASCII-compatible) bytes."""
    stripped, doctype, _ = strip_prolog(body[:65_536])
    root = root_name(stripped[:4_096])
    if root in _HTML_ROOTS:
        return True
    return doctype.startswith(b"<!doctype html") and root not in _FEED_ROOTS


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _lang(entry: Any, feed: Any) -> str | None:
    for source in (entry, feed):
        for key in ("language", "title_detail", "summary_detail"):
            value = source.get(key)
            lang = value.get("language") if isinstance(value, dict) else value
            if isinstance(lang, str) and lang.strip():
                return lang.strip()[:35]
    return None


# An absolute http(s) link urljoin hands back as it is (a plain host, no parameters, no empty query
# or fragment, nothing urlsplit strips): joining it is skipped, which halves the cost of an entry.
_PLAIN_LINK = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[^\s?#;\[\]]*)?(?:\?[^\s#\[\]]+)?"
                         r"(?:#[^\s\[\]]+)?\Z")


def _join(base: str, link: str) -> str:
    if _PLAIN_LINK.match(link):
        return link
    try:
        return urljoin(base, link)
    except ValueError:  # e.g. a broken IPv6 literal; normalisation drops the link anyway
        return link


def _entry(raw: Any, feed: Any, base: str) -> Entry:
    summary = _text(raw.get("summary"), MAX_SUMMARY)
    for part in raw.get("content") or ():
        value = _text(part.get("value") if isinstance(part, dict) else None, MAX_SUMMARY)
        if len(value) > len(summary):
            summary = value
    link = _text(raw.get("link"), MAX_LINK + 1).strip()
    if raw.get("guidislink") and "://" not in link:
        link = ""  # a bare id like "kr-102" in a <guid> without isPermaLink="false" is no link
    elif link:
        link = _join(base, link)
    guid = _text(raw.get("id"), MAX_GUID).strip()
    published = struct_to_utc(raw.get("published_parsed")) or struct_to_utc(raw.get("updated_parsed"))
    return Entry(
        guid=guid or None,
        link=link if link and len(link) <= MAX_LINK else None,
        title=_text(raw.get("title"), MAX_TITLE),
        summary=summary,
        published=published,
        lang=_lang(raw, feed),
        author=_text(raw.get("author"), MAX_AUTHOR).strip() or None,
    )


def _ttl(feed: Any) -> int | None:
    try:
        ttl = int(str(feed.get("ttl", "")).strip())
    except ValueError:
        return None
    return ttl if 0 < ttl <= 7 * 24 * 60 else None


def _describe(exc: Any, count: int) -> str:
    """A bozo exception in words an operator can act on."""
    read = f"({count} entries read)"
    line = getattr(exc, "getLineNumber", None)
    if callable(line):
        message = getattr(exc, "getMessage", lambda: "")()
        return f"malformed XML at line {line()}: {message} {read}"
    name = type(exc).__name__
    if name == "CharacterEncodingOverride":
        return f"wrong character encoding declared: {exc} {read}"
    if name == "CharacterEncodingUnknown":
        return f"unknown character encoding {read}"
    return f"feed not well-formed: {exc} {read}"


def parse_feed(body: bytes, url: str) -> ParsedFeed:
    """Read a feed body. Never raises (but MemoryError): an unreadable body is `is_feed=False`
    with a problem.

    A plain, well-formed RSS, Atom or RDF body is read by lxml (bot/core/feed/fastparse.py, the
    same items several times faster); everything else by feedparser, as before.
    Synchronous and in-process: the live poll runs it in a worker process with a time and memory
    budget (bot/parse_worker.py); tests, the corpus checks and replays may call it directly.
    """
    fast = read_fast(body)
    if fast is None:
        return parse_with_feedparser(body, url)
    feed, raw_entries = fast
    return ParsedFeed(entries=tuple(_entry(e, feed, url) for e in raw_entries), is_feed=True,
                      title=_text(feed.get("title"), MAX_TITLE), ttl_minutes=_ttl(feed))


def parse_with_feedparser(body: bytes, url: str) -> ParsedFeed:
    """parse_feed's reading of any body by feedparser, DOCTYPEs cut first (see the module docstring)."""
    if not body.strip():
        return ParsedFeed(entries=(), is_feed=False, problem="the URL returned an empty body")
    detect: dict[str, Any] = {}
    try:
        utf8 = convert_to_utf8({}, body, detect)
    except Exception:  # detection is best effort; the loose parser reads UTF-8 with replacement
        utf8 = body
    stripped, doctype, unterminated = strip_prolog(_as_utf8_document(utf8 if isinstance(utf8, bytes) else body))
    data, cut, cut_off = drop_declarations(stripped)
    root = root_name(data[:4_096])
    if root in _HTML_ROOTS or (doctype.startswith(b"<!doctype html") and root not in _FEED_ROOTS):
        return ParsedFeed(entries=(), is_feed=False, problem="the URL returned an HTML page, not a feed")
    if not root:
        why = "the feed's DOCTYPE block never ends" if unterminated else "the body is not XML (no root element)"
        return ParsedFeed(entries=(), is_feed=False, problem=why)
    if _DECLARATION.search(data):  # cannot happen (see drop_declarations); never let feedparser find out
        return ParsedFeed(entries=(), is_feed=False, problem="the feed holds a DOCTYPE that could not be removed")
    try:
        parsed = feedparser.parse(
            io.BytesIO(data),  # a stream, never bytes: feedparser would try bytes as a file name
            # no content-location: feedparser would turn a bare <guid> into a link on the feed's
            # host; relative links are resolved in _entry instead. Bytes are UTF-8 by now.
            response_headers={"content-type": "application/xml"},
            resolve_relative_uris=True,
            sanitize_html=True,
        )
    except MemoryError:  # over the parse worker's memory budget: it says so and is replaced
        raise
    except Exception as exc:  # feedparser is robust, but the core never raises on bad data
        return ParsedFeed(entries=(), is_feed=False, problem=f"the feed could not be read ({exc})")
    feed = parsed.get("feed", {})
    raw_entries = parsed.get("entries", [])
    entries = tuple(_entry(e, feed, url) for e in raw_entries[:MAX_ENTRIES])
    title = _text(feed.get("title"), MAX_TITLE)
    if not entries and not parsed.get("version") and not title:
        return ParsedFeed(entries=(), is_feed=False, problem="the body is XML but not RSS or Atom")
    problems: list[str] = []
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else detect.get("bozo_exception")
    if bozo is not None:
        problems.append(_describe(bozo, len(entries)))
    if cut_off:
        problems.append("a DOCTYPE or ENTITY declaration inside the feed never ends; the rest of the feed was not read")
    elif cut:
        problems.append(f"{cut} DOCTYPE or ENTITY declaration(s) after the feed's first element were removed "
                        "unread (entities are never expanded)")
    if len(raw_entries) > MAX_ENTRIES:
        problems = [f"{len(raw_entries)} entries; only the first {MAX_ENTRIES} were read"]
    return ParsedFeed(entries=entries, is_feed=True, title=title, ttl_minutes=_ttl(feed),
                      problem="; ".join(problems) or None)
