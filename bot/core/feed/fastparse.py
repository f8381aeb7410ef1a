"""Read a plain, well-formed RSS 2.0, Atom or RSS 1.0 (RDF) body with lxml, as feedparser reads it.

`read_fast` gives the feed and its entries as dicts with feedparser's keys (those deskwatch reads),
so parse.py turns either reading into Entries the same way. The values are feedparser's, except
that titles and summaries keep the feed's own HTML, which gives the same plain text as
feedparser's sanitised copy (bot/core/feed/markup.py). What it does not fully understand it
declines (None) and feedparser reads: a body that is not plain UTF-8 or not well-formed, another
root, an element without a rule (bot/core/feed/elements.py), HTML the sanitizer would change,
xml:base, base64 or XHTML content, a summary whose choice or cut could differ, too many entries.

Safe by construction: a body holding `<!DOCTYPE` or `<!ENTITY` anywhere (in any case) is declined
before lxml sees it; lxml loads no DTD, expands no entity, reads no network and keeps its size and
depth limits; a document type found after parsing is declined too. Pure: bytes in, dicts out.
"""

from __future__ import annotations

import re

from lxml import etree

from bot.core.feed import elements
from bot.core.feed.tree_reader import TreeReader
from bot.core.feed.tree_values import Declined, Raw

# `<!DOCTYPE` or `<!ENTITY` in any case, spelt out so the scan can jump from one "<!" to the next
_DECLARATION = re.compile(rb"<!(?:[Dd][Oo][Cc][Tt][Yy][Pp][Ee]|[Ee][Nn][Tt][Ii][Tt][Yy])")
_XML_DECL = re.compile(
    rb"<\?xml\s+version\s*=\s*([\"'])1\.0\1(?:\s+encoding\s*=\s*([\"'])([A-Za-z0-9._-]+)\2)?"
    rb"(?:\s+standalone\s*=\s*([\"'])(?:yes|no)\4)?\s*\?>"
)
_BOM = b"\xef\xbb\xbf"
_PREFIX_DECLARATION = re.compile(rb"xmlns:([^\s=/>]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _parser() -> etree.XMLParser:
    # one per parse: an lxml parser must not be shared between threads
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           dtd_validation=False, attribute_defaults=False, remove_comments=True,
                           remove_pis=True, collect_ids=False, recover=False)


def _plain_utf8(body: bytes) -> bool:
    """UTF-8 by every rule both parsers apply: no other encoding declared, no UTF-16 byte order."""
    start = body[len(_BOM):] if body.startswith(_BOM) else body
    if not start.startswith(b"<"):
        return False
    if not start.startswith(b"<?xml"):
        return True
    decl = _XML_DECL.match(start)
    return decl is not None and (decl[3] is None or decl[3].lower() == b"utf-8")


def _prefixes_plain(body: bytes) -> bool:
    """No prefix bound to two URIs, nor one of feedparser's prefixes bound to another known
    namespace (feedparser would file that prefix's elements under the other name from then on).
    Text that only looks like a declaration can only make this refuse more."""
    bound: dict[bytes, bytes] = {}
    for m in _PREFIX_DECLARATION.finditer(body):
        uri = m[2] if m[2] is not None else m[3]
        if bound.setdefault(m[1], uri) != uri:
            return False
        prefix = m[1].decode("utf-8", "replace")
        known = elements.canonical_prefix(uri.decode("utf-8", "replace"))
        if known is not None and known != prefix and prefix in elements.CANONICAL_PREFIXES:
            return False
    return True


def read_fast(body: bytes) -> tuple[Raw, list[Raw]] | None:
    """The feed dict and the entry dicts, or None when feedparser should read this body."""
    if not _plain_utf8(body) or _DECLARATION.search(body) is not None or not _prefixes_plain(body):
        return None
    try:
        root = etree.fromstring(body, _parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:
        return None
    try:
        return TreeReader().read(root)
    except Declined:
        return None
