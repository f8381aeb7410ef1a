"""How feedparser names each XML element and what the fast parse path does with it.

feedparser finds its handler for an element by a lower-cased name carrying a fixed prefix per
known namespace (`content:encoded`, `dc:creator`; Atom, RSS 1.0 and RSS 2.0 elements have none),
and an unknown namespace's own prefix. `name_of` computes that name from lxml's tag and prefix;
`kind_of` says what the fast path does with the element: read it (title, link, dates, …), let it
pass (handlers read in feedparser 6 and found never to touch what deskwatch reads), or decline the
feed. An element feedparser has no handler for is stored under its own name and passes, unless
that name is one deskwatch reads.
"""

from __future__ import annotations

from typing import Any, Final

from feedparser.mixin import _FeedParserMixin

# feedparser's own namespace table, by lower-cased URI (it matches URIs case-blind)
_PREFIX_OF: Final = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
CANONICAL_PREFIXES: Final = frozenset(p for p in _PREFIX_OF.values() if p)
_HANDLED: Final = frozenset(
    {n[len("_start_"):] for n in dir(_FeedParserMixin) if n.startswith("_start_")}
    | {n[len("_end_"):] for n in dir(_FeedParserMixin) if n.startswith("_end_")}
)

ATOM_NS: Final = "http://www.w3.org/2005/atom"
RSS10_NS: Final = "http://purl.org/rss/1.0/"
NETSCAPE_NS: Final = "http://my.netscape.com/rdf/simple/0.9/"
RDF_ABOUT: Final = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"

# What the fast path reads, by feedparser name.
TITLE, LINK, GUID, DESCRIPTION, SUMMARY = "title", "link", "guid", "description", "summary"
CONTENT, CONTENT_HTML, PUBLISHED, UPDATED = "content", "content_html", "published", "updated"
LANGUAGE, TTL, AUTHOR, ENTRY, IMAGE, TEXTINPUT = "language", "ttl", "author", "entry", "image", "textinput"
PERSON = "person"  # contributor, itunes:owner: name/email children only
CHANNEL = "channel"
PASS = "pass"  # a leaf whose handler never touches what deskwatch reads
WRAPPER = "wrapper"  # like PASS, but may hold more PASS elements (media:group, itunes:category)
GENERIC = "generic"  # no handler: stored under its own name
DECLINE = "decline"

_KINDS: Final = {
    "title": TITLE, "dc:title": TITLE,
    "link": LINK,
    "guid": GUID, "id": GUID,
    "description": DESCRIPTION, "dc:description": DESCRIPTION,
    "summary": SUMMARY, "itunes:summary": SUMMARY,
    "content": CONTENT, "content:encoded": CONTENT_HTML, "fullitem": CONTENT_HTML,
    "pubdate": PUBLISHED, "published": PUBLISHED, "issued": PUBLISHED, "dcterms:issued": PUBLISHED,
    "updated": UPDATED, "modified": UPDATED, "lastbuilddate": UPDATED, "dc:date": UPDATED,
    "dcterms:modified": UPDATED,
    "language": LANGUAGE, "dc:language": LANGUAGE,
    "ttl": TTL,
    "author": AUTHOR, "dc:creator": AUTHOR, "dc:author": AUTHOR, "itunes:author": AUTHOR, "managingeditor": AUTHOR,
    "item": ENTRY, "entry": ENTRY,
    "channel": CHANNEL,
    "image": IMAGE, "textinput": TEXTINPUT,
    "contributor": PERSON, "itunes:owner": PERSON,
    **dict.fromkeys((
        "category", "dc:subject", "keywords", "enclosure", "source", "webmaster", "dc:publisher", "generator",
        "cloud", "subtitle", "tagline", "itunes:subtitle", "rights", "copyright", "dc:rights", "created",
        "dcterms:created", "dc:contributor", "itunes:image", "itunes:explicit", "itunes:block", "itunes:keywords",
        "media:thumbnail", "media:credit", "media:rating", "media:restriction", "media:license", "media:category",
        "media:keywords", "media:player",
    ), PASS),
    **dict.fromkeys(("media:group", "media:content", "itunes:category"), WRAPPER),
}
# Keys deskwatch reads from feedparser's entry and feed dicts: an unhandled element of that name
# would be stored there.
_RESERVED: Final = frozenset({
    "title", "title_detail", "summary", "summary_detail", "content", "link", "links", "id", "guidislink",
    "published_parsed", "updated_parsed", "language", "author", "author_detail", "authors", "ttl",
})
# Children feedparser reads inside a person, an image, a text input (no prefix, leaves only)
PERSON_PARTS: Final = frozenset({"name", "email", "uri", "url", "homepage", "itunes:name", "itunes:email"})
IMAGE_PARTS: Final = frozenset({"title", "url", "link", "width", "height", "description"})
TEXTINPUT_PARTS: Final = frozenset({"title", "link", "description", "name"})


def name_of(tag: str, prefix: str | None) -> str:
    """feedparser's name for an element: `{uri}local` with the prefix the document gave it."""
    if tag[0] == "{":
        uri, _, local = tag[1:].partition("}")
        uri = uri.lower()
        known = "" if "backend.userland.com/rss" in uri else _PREFIX_OF.get(uri)
    else:
        local, known = tag, ""
    given = known if known is not None else (prefix or "").lower()
    local = local.lower()
    return f"{given}:{local}" if given else local


def canonical_prefix(uri: str) -> str | None:
    """The prefix feedparser gives a namespace URI ("" for RSS/Atom), None when it does not know it."""
    low = uri.lower()
    return "" if "backend.userland.com/rss" in low else _PREFIX_OF.get(low)


def kind_of(name: str) -> str:
    kind = _KINDS.get(name)
    if kind is not None:
        return kind
    if name.replace(":", "_") in _HANDLED or name in _RESERVED:
        return DECLINE
    return GENERIC


class Names:
    """(feedparser's name, kind) of each element of one feed, remembered by tag; for a namespace
    feedparser does not know, whose elements it names by their own prefix, by tag and prefix."""

    def __init__(self) -> None:
        self.known: dict[str, tuple[str, str]] = {}  # the walk looks here first, by tag alone
        self._prefixed: dict[tuple[str, str | None], tuple[str, str]] = {}

    def __call__(self, el: Any) -> tuple[str, str]:
        tag = el.tag
        hit = self.known.get(tag)
        if hit is not None:
            return hit
        if not isinstance(tag, str):  # a comment or PI: the parser drops them, so never here
            return "", DECLINE
        if canonical_prefix(tag[1:tag.find("}")] if tag[0] == "{" else "") is not None:
            name = name_of(tag, None)
            hit = self.known[tag] = (name, kind_of(name))
            return hit
        key = (tag, el.prefix)
        hit = self._prefixed.get(key)
        if hit is None:
            name = name_of(tag, el.prefix)
            hit = self._prefixed[key] = (name, kind_of(name))
        return hit

    def name(self, el: Any) -> str:
        return self(el)[0]
