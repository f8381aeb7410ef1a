"""Walk a parsed feed tree as feedparser's handlers would, into dicts shaped like feedparser's.

Document order matters as it does in feedparser: a second summary is read as content unless
content came first, a guid is the link only while no link came before it, the first non-empty
title wins, and the last date, link, author or language does. The rules follow feedparser 6's
handlers (named in the comments); an element without a rule declines the feed (Declined).
Values are read by bot/core/feed/tree_values.py, the cuts checked by bot/core/feed/cuts.py.
Pure: no I/O.
"""

from __future__ import annotations

from bot.core.feed import elements as kinds
from bot.core.feed.cuts import finish_entry, fits
from bot.core.feed.dates import parse_date
from bot.core.feed.limits import MAX_ENTRIES, MAX_SUMMARY, MAX_TITLE
from bot.core.feed.tree_values import (
    Declined,
    Element,
    Raw,
    Text,
    author_of,
    guid_into,
    lang_of,
    leaf_value,
    link_into,
    person_of,
    text_value,
)

_MAX_WRAPPING = 4  # how deep pass-through elements may nest
_LEAVES = (kinds.LINK, kinds.GUID, kinds.PUBLISHED, kinds.UPDATED, kinds.PASS)  # read nowhere in a feed


class TreeReader:
    """One feed's walk, with the state feedparser keeps between elements."""

    def __init__(self) -> None:
        self.atom = False  # feedparser reads Atom's plain text as it is, and guesses in RSS
        self.has_content = False  # feedparser's hasContent: set by content, cleared as an entry ends
        self.title_depth = -1  # feedparser's title_depth: a non-empty title there or above wins
        self.feed: Raw = {}
        self.entries: list[Raw] = []
        self._classify = kinds.Names()

    # --- the document ------------------------------------------------------------------------------

    def read(self, root: Element) -> tuple[Raw, list[Raw]]:
        name, _ = self._classify(root)
        keys = root.keys()
        lang = lang_of(root, keys, None) if keys else None
        uris = {(prefix, uri.lower()) for prefix, uri in root.nsmap.items()}
        if name in ("rss", "feed") and lang:  # unknown_starttag
            self.feed["language"] = lang.replace("_", "-")
        if name == "rss":
            children = list(root)
            if len(children) != 1 or self._classify(children[0])[0] != "channel":
                raise Declined
            channel = children[0]
            keys = channel.keys()
            self._channel(channel, lang_of(channel, keys, lang) if keys else lang, depth=2, entry="item")
        elif name == "feed":  # its version must start with "atom": no RSS 1.0 namespace may set it first
            if any(u == kinds.RSS10_NS or (p is None and u == kinds.NETSCAPE_NS) for p, u in uris):
                raise Declined
            self.atom = True
            self._channel(root, lang, depth=1, entry="entry")
        elif name == "rdf:rdf" and any(u == kinds.RSS10_NS for _, u in uris) and not any(
                u == kinds.ATOM_NS or (p is None and u == kinds.NETSCAPE_NS) for p, u in uris):
            self._rdf(root, lang)
        else:
            raise Declined
        title = self.feed.get("title")
        if title is not None:
            fits(title, MAX_TITLE)
            self.feed["title"] = title.value
        self.feed.pop("summary", None)
        return self.feed, self.entries

    def _rdf(self, root: Element, lang: str | None) -> None:
        """RSS 1.0: the channel, its items, image and text input are siblings."""
        channels = 0
        for child in root:
            name, kind = self._classify(child)
            keys = child.keys()
            child_lang = lang_of(child, keys, lang) if keys else lang
            if kind == kinds.CHANNEL and not channels:
                channels += 1
                self._channel(child, child_lang, depth=2, entry=None)
            elif name == "item":
                self._entry(child, child_lang, depth=2)
            elif kind in (kinds.IMAGE, kinds.TEXTINPUT):
                self._image(child, kind, depth=2)
            elif kind in (kinds.GENERIC, kinds.WRAPPER):
                self._passing(child, 0)
            else:
                raise Declined

    def _channel(self, el: Element, lang: str | None, depth: int, entry: str | None) -> None:
        _no_cdf_attributes(el)
        feed = self.feed
        for child in el:
            name, kind = self._classify(child)
            keys = child.keys()
            child_lang = lang_of(child, keys, lang) if keys else lang
            if kind == kinds.ENTRY and name == entry:
                self._entry(child, child_lang, depth + 1)
            elif kind == kinds.TITLE:
                self._title(feed, child, keys, child_lang, depth + 1)
            elif kind == kinds.LANGUAGE:
                feed["language"] = leaf_value(child)
            elif kind == kinds.TTL:
                feed["ttl"] = leaf_value(child)
            elif kind in (kinds.DESCRIPTION, kinds.SUMMARY):
                self._summary(feed, child, keys, kind, child_lang, in_feed=True)
            elif kind in (kinds.IMAGE, kinds.TEXTINPUT):
                self._image(child, kind, depth + 1)
            elif kind in (kinds.AUTHOR, kinds.PERSON):
                if len(child):
                    person_of(child, self._classify.name)
            elif kind in _LEAVES:
                if len(child):
                    raise Declined
                if name == "source":  # _start_source
                    self.title_depth = -1
            elif kind in (kinds.GENERIC, kinds.WRAPPER):
                self._passing(child, 0)
            else:
                raise Declined

    def _image(self, el: Element, kind: str, depth: int) -> None:
        """An image or text input: feedparser files its parts away from the feed (_start_image),
        as long as every part is one it expects there (else it stops filing them away)."""
        parts = kinds.IMAGE_PARTS if kind == kinds.IMAGE else kinds.TEXTINPUT_PARTS
        self.title_depth = -1
        for child in el:
            name, child_kind = self._classify(child)
            keys = child.keys()
            if name not in parts:
                raise Declined
            if keys:
                lang_of(child, keys, None)  # refuses a base
            if child_kind == kinds.TITLE:
                self._title({}, child, keys, None, depth + 1)
            elif len(child):
                raise Declined

    # --- one entry ---------------------------------------------------------------------------------

    def _entry(self, el: Element, lang: str | None, depth: int) -> None:
        if len(self.entries) >= MAX_ENTRIES:
            raise Declined
        entry: Raw = {}
        if el.keys():
            _no_cdf_attributes(el)
            about = el.get(kinds.RDF_ABOUT)  # _start_item
            if about is not None:
                entry["id"] = about
        self.title_depth = -1
        known = self._classify.known
        for child in el:
            hit = known.get(child.tag)
            name, kind = hit if hit is not None else self._classify(child)
            keys = child.keys()
            child_lang = lang_of(child, keys, lang) if keys else lang
            if kind == kinds.TITLE:
                self._title(entry, child, keys, child_lang, depth + 1)
            elif kind == kinds.LINK:
                link_into(entry, child, keys)
            elif kind == kinds.GUID:
                guid_into(entry, child, keys)
            elif kind in (kinds.DESCRIPTION, kinds.SUMMARY, kinds.CONTENT, kinds.CONTENT_HTML):
                self._summary(entry, child, keys, kind, child_lang, in_feed=False)
            elif kind == kinds.PUBLISHED:  # _end_published: the last one wins, readable or not
                entry["published_parsed"] = parse_date(leaf_value(child))
            elif kind == kinds.UPDATED:
                entry["updated_parsed"] = parse_date(leaf_value(child))
            elif kind == kinds.LANGUAGE:
                entry["language"] = leaf_value(child)
            elif kind == kinds.AUTHOR:
                entry["author"] = author_of(child, self._classify.name, after_another="author" in entry)
            elif kind == kinds.PERSON:
                person_of(child, self._classify.name)
            elif kind in (kinds.PASS, kinds.TTL):
                if len(child):
                    raise Declined
                if name == "source":  # _start_source
                    self.title_depth = -1
            elif kind in (kinds.GENERIC, kinds.WRAPPER):
                self._passing(child, 0)
            else:
                raise Declined
        self.has_content = False  # _end_item
        self.entries.append(finish_entry(entry, MAX_TITLE, MAX_SUMMARY))

    def _title(self, ctx: Raw, el: Element, keys: list[str], lang: str | None, depth: int) -> None:
        text = text_value(el, keys, "text/plain", atom=self.atom)
        if not -1 < self.title_depth <= depth:  # pop, _end_title
            ctx["title"] = text
            ctx["title_detail"] = {"language": lang.replace("_", "-") if lang else lang}
        if text.value:
            self.title_depth = depth

    def _summary(self, ctx: Raw, el: Element, keys: list[str], kind: str, lang: str | None, in_feed: bool) -> None:
        """_start_description, _start_summary, _start_content: a second summary is content."""
        text: Text
        if kind in (kinds.DESCRIPTION, kinds.SUMMARY) and "summary" in ctx and not self.has_content:
            text = text_value(el, keys, "text/plain", atom=self.atom, content=True)
            self.has_content = True
            if not in_feed:
                ctx.setdefault("content", []).append(text)
            return  # _end_content copies it to the summary only when there is none
        if kind in (kinds.CONTENT, kinds.CONTENT_HTML):
            if in_feed:
                raise Declined
            self.has_content = True
            default = "text/html" if kind == kinds.CONTENT_HTML else "text/plain"
            text = text_value(el, keys, default, atom=self.atom, content=True)
            ctx.setdefault("content", []).append(text)
            ctx.setdefault("summary", text)
            return
        text = text_value(el, keys, "text/html" if kind == kinds.DESCRIPTION else "text/plain", atom=self.atom)
        if in_feed and kind == kinds.DESCRIPTION:
            return  # the feed's description is its subtitle
        ctx["summary"] = text
        ctx["summary_detail"] = {"language": lang.replace("_", "-") if lang else lang}

    # --- elements feedparser files away --------------------------------------------------------------

    def _passing(self, el: Element, level: int) -> None:
        """An element whose content feedparser files away: only more of those may be inside."""
        if level > _MAX_WRAPPING:
            raise Declined
        for child in el:
            name, kind = self._classify(child)
            keys = child.keys()
            if keys:
                lang_of(child, keys, None)  # refuses a base
            if kind == kinds.PASS and name != "source":
                if len(child):
                    raise Declined
            elif kind in (kinds.GENERIC, kinds.WRAPPER):
                self._passing(child, level + 1)
            else:
                raise Declined


def _no_cdf_attributes(el: Element) -> None:
    """_cdf_common: href and lastmod on a channel or an item are its link and its date."""
    for key in el.attrib:
        if key.rpartition("}")[2].lower() in ("href", "lastmod"):
            raise Declined
