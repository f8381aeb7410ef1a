"""The fast parse path: what it reads, what it leaves to feedparser, and that no DTD or entity ever
reaches lxml through it. Every reading is also checked against feedparser's (parse_equivalence).
"""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

from bot.core.feed import fastparse
from bot.core.feed.fastparse import read_fast
from bot.core.feed.html import html_to_text
from bot.core.feed.limits import MAX_ENTRIES
from bot.core.feed.markup import DROPPED_INLINE, EMPTY_ONLY
from bot.core.feed.parse import _join, parse_feed, parse_with_feedparser
from tests.parse_equivalence import takes_fast_path
from tests.unit.test_parse_declarations import VALUE, bypass_feed, hostile_bodies

URL = "https://news.example.org/feed.xml"
NS = ('xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
      'xmlns:atom="http://www.w3.org/2005/Atom"')


def rss(items: str, channel: str = "<title>Desk</title><language>ko</language>", head: str = "") -> bytes:
    return (f'{head}<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {NS}><channel>{channel}{items}'
            "</channel></rss>").encode()


ITEM = ("<item><title>Troops &amp; tanks</title><link>https://n.example/a?x=1&amp;y=2</link>"
        '<guid isPermaLink="false">n-1</guid><pubDate>Tue, 02 Jun 2026 10:00:00 +0300</pubDate>'
        "<dc:creator>Ann Lee</dc:creator><description>&lt;p&gt;Teaser&lt;/p&gt;</description>"
        "<content:encoded><![CDATA[<p>The whole <b>article</b>, longer than the teaser.</p>]]></content:encoded>"
        "</item>")


# --- what it reads ---------------------------------------------------------------------------------


def test_an_rss_feed_is_read_as_feedparser_reads_it() -> None:
    body = rss(ITEM * 3)
    assert takes_fast_path(body)
    feed = parse_feed(body, URL)
    assert feed.is_feed and feed.title == "Desk" and feed.problem is None
    entry = feed.entries[0]
    assert (entry.title, entry.link, entry.guid, entry.author, entry.lang) == (
        "Troops & tanks", "https://n.example/a?x=1&y=2", "n-1", "Ann Lee", "ko")
    assert entry.summary == "<p>The whole <b>article</b>, longer than the teaser.</p>"  # the longer text
    assert entry.published is not None and entry.published.isoformat() == "2026-06-02T07:00:00+00:00"


def test_an_atom_feed_is_read_as_feedparser_reads_it() -> None:
    body = (b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">'
            b"<title>Desk</title><entry><title type=\"html\">&lt;b&gt;Bold&lt;/b&gt;</title>"
            b'<link rel="alternate" href="https://n.example/e"/><id>tag:n.example,2026:1</id>'
            b"<updated>2026-06-02T10:00:00Z</updated><author><name>Ann</name><email>a@n.example</email></author>"
            b'<content type="html">&lt;p&gt;Body&lt;/p&gt;</content></entry></feed>')
    assert takes_fast_path(body)
    entry = parse_feed(body, URL).entries[0]
    assert (entry.link, entry.guid, entry.author, entry.lang) == (
        "https://n.example/e", "tag:n.example,2026:1", "Ann (a@n.example)", "fr")


def test_an_rdf_feed_is_read_as_feedparser_reads_it() -> None:
    body = (b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            b'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            b'<channel rdf:about="https://n.example/"><title>Desk</title></channel>'
            b'<item rdf:about="https://n.example/r/1"><title>One</title><link>https://n.example/r/1</link>'
            b"<dc:date>2026-06-02T10:00:00+02:00</dc:date></item></rdf:RDF>")
    assert takes_fast_path(body)
    assert parse_feed(body, URL).entries[0].guid == "https://n.example/r/1"


def test_a_bare_guid_after_a_relative_link_is_no_link_and_the_order_matters() -> None:
    before = rss("<item><title>t</title><guid>kr-102</guid><link>/a/1</link></item>")
    after = rss("<item><title>t</title><link>/a/1</link><guid>kr-102</guid></item>")
    assert takes_fast_path(before) and takes_fast_path(after)
    assert parse_feed(before, URL).entries[0].link is None  # feedparser took the guid for a link
    assert parse_feed(after, URL).entries[0].link == "https://news.example.org/a/1"


@pytest.mark.parametrize("name", sorted(DROPPED_INLINE | EMPTY_ONLY))
def test_plain_text_ignores_the_elements_the_sanitizer_drops(name: str) -> None:
    """markup.py lets the sanitizer drop these unseen because html_to_text ignores them as well."""
    if name in EMPTY_ONLY:
        assert html_to_text(f'a<{name} src="x"></{name}>b') == "ab"
    else:
        assert html_to_text(f"a<{name}>b</{name}>c") == "abc"


def test_an_article_with_embeds_takes_the_fast_path() -> None:
    article = ('<p>Text</p><p><iframe loading="lazy" src="https://v.example/e/1" allowfullscreen></iframe></p>'
               '<blockquote class="twitter-tweet"><p lang="en">Quote &mdash; Ann</p></blockquote>'
               '<script async src="https://p.example/widgets.js" charset="utf-8"></script>'
               '<picture><source srcset="https://n.example/i.webp"><img src="https://n.example/i.jpg" alt="">'
               "</picture>")
    item = f"<item><title>t</title><content:encoded><![CDATA[{article}]]></content:encoded></item>"
    assert takes_fast_path(rss(item))


def test_a_byte_order_mark_and_no_declaration_are_read_alike() -> None:
    assert takes_fast_path(b"\xef\xbb\xbf" + rss(ITEM))
    assert takes_fast_path(rss(ITEM).split(b"?>", 1)[1])


def test_plain_text_past_the_cut_is_cut_alike() -> None:
    title, summary = "Long headline words " * 80, "plain " * 4_000
    body = rss(f"<item><title>{title}</title><description>{summary}</description></item>")
    assert takes_fast_path(body)
    entry = parse_feed(body, URL).entries[0]
    assert len(entry.title) == 1_000 and len(entry.summary) == 20_000


# --- what it leaves to feedparser ------------------------------------------------------------------

DECLINED = {
    "not well-formed": rss("<item><title>a</item>"),
    "Latin-1 declared": rss(ITEM).replace(b'encoding="utf-8"', b'encoding="iso-8859-1"'),
    "UTF-16": rss(ITEM).replace(b'encoding="utf-8"', b'encoding="utf-16"').decode().encode("utf-16"),
    "bytes that are not UTF-8": rss("<item><title>caf\xe9</title></item>").replace(b"\xc3\xa9", b"\xe9"),
    "an HTML page": b"<html><body><p>no feed</p></body></html>",
    "xml:base": rss('<item xml:base="https://other.example/"><title>t</title><link>a</link></item>'),
    "XHTML content": rss("<item><title>t</title><description><p>inline</p></description></item>"),
    "base64 content": rss('<item><title>t</title><description mode="base64">aGk=</description></item>'),
    "an element it has no rule for": rss('<item><title>t</title><georss:point xmlns:georss="http://www.georss.org/'
                                         'georss">45 -71</georss:point></item>'),
    "a media title": rss('<item><media:title xmlns:media="http://search.yahoo.com/mrss/">t</media:title></item>'),
    "a script": rss("<item><title>t</title><description>&lt;script&gt;x()&lt;/script&gt;</description></item>"),
    "an element plain text reads as a block": rss("<item><title>t</title><description>a&lt;main&gt;b&lt;/main&gt;"
                                                  "</description></item>"),
    "an end tag the sanitizer drops": rss("<item><title>t</title><description>a&lt;/br&gt;b</description></item>"),
    "an entity the sanitizer re-spells": rss("<item><title>t</title><description>a &amp;NewLine; b</description>"
                                             "</item>"),
    "a C1 control": rss("<item><title>quote\u0093d</title></item>"),
    "UTF-8 read as Latin-1": rss("<item><title>cafÃ©</title></item>"),
    "a link attribute on an item": rss('<item href="https://n.example/x"><title>t</title></item>'),
    "a prefix feedparser knows bound elsewhere": rss(ITEM).replace(b'xmlns:dc="http://purl.org/dc/elements/1.1/"',
                                                                   b'xmlns:dc="http://purl.org/dc/terms/"'),
    "an RSS 1.0 namespace on an Atom feed": b'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:r="http://purl.org/'
                                            b'rss/1.0/"><entry><title>t</title></entry></feed>',
    "too many entries": rss("<item><title>t</title></item>" * (MAX_ENTRIES + 1)),
}


@pytest.mark.parametrize("body", DECLINED.values(), ids=DECLINED.keys())
def test_what_it_does_not_fully_understand_is_left_to_feedparser(body: bytes) -> None:
    assert read_fast(body) is None
    assert parse_feed(body, URL) == parse_with_feedparser(body, URL)


def test_a_summary_whose_choice_could_differ_is_left_to_feedparser() -> None:
    # the description's sanitised copy may be shorter or longer than the content: too close to call
    desc = '&lt;p class="a" id="b"&gt;' + "x" * 40 + "&lt;/p&gt;"
    body = rss(f"<item><title>t</title><description>{desc}</description>"
               f"<content:encoded><![CDATA[<p>{'y' * 45}</p>]]></content:encoded></item>")
    assert read_fast(body) is None


# --- no DTD, no entity -----------------------------------------------------------------------------

DECLARATIONS = {
    "a DOCTYPE in the prolog": rss(ITEM, head="").replace(b"<rss", b"<!DOCTYPE rss>\n<rss"),
    "an internal entity": rss("<item><title>&e;</title></item>").replace(
        b"<rss", b'<!DOCTYPE rss [<!ENTITY e "' + b"A" * 5_000 + b'">]><rss'),
    "an external entity": rss("<item><title>&x;</title></item>").replace(
        b"<rss", b'<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss'),
    "a DOCTYPE after the root, lower case": rss("<!doctype x []>" + ITEM),
    "a declaration inside CDATA": rss("<item><title>t</title><description><![CDATA[<!ENTITY e 'x'>]]>"
                                      "</description></item>"),
    "the reported bypass": bypass_feed(items=1, uses=100),
}


@pytest.mark.parametrize("body", DECLARATIONS.values(), ids=DECLARATIONS.keys())
def test_a_doctype_or_entity_anywhere_is_never_read_by_the_fast_path(body: bytes) -> None:
    assert read_fast(body) is None
    assert parse_feed(body, URL) == parse_with_feedparser(body, URL)


@settings(max_examples=200, deadline=None)
@given(hostile_bodies())
@example(b'<?xml version="1.0" encoding="utf-8"?><\xc3\xa9/><:x/>\n<!DOCTYPE rss [\n<!ENTITY e "'
         + VALUE.encode() + b'">\n]>\n<rss version="2.0"><channel><item><title>&e;</title></item></channel></rss>')
def test_whatever_surrounds_the_declarations_the_fast_path_declines(body: bytes) -> None:
    assert read_fast(body) is None


def test_lxml_itself_refuses_what_the_byte_scan_might_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    """Belt and braces: with the scan for declarations switched off, lxml loads no DTD and expands
    no entity, and the document type it reports makes the fast path decline."""
    monkeypatch.setattr(fastparse, "_DECLARATION", fastparse.re.compile(rb"(?!x)x"))
    for body in (DECLARATIONS["an internal entity"], DECLARATIONS["an external entity"],
                 DECLARATIONS["a DOCTYPE in the prolog"]):
        assert read_fast(body) is None
    tree = etree.fromstring(DECLARATIONS["an external entity"], fastparse._parser())
    assert "root:" not in etree.tostring(tree).decode()  # /etc/passwd was not read


def test_a_memory_error_in_lxml_reaches_the_parse_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(fastparse.etree, "fromstring", out_of_memory)
    with pytest.raises(MemoryError):
        parse_feed(rss(ITEM), URL)


def test_deep_nesting_is_declined() -> None:
    deep = "<foo:a xmlns:foo=\"urn:x\">" * 8 + "x" + "</foo:a>" * 8
    assert read_fast(rss(f"<item><title>t</title>{deep}</item>")) is None
    assert read_fast(rss("<item><title>t</title>" + "<foo:a xmlns:foo=\"urn:x\">" * 300 + "</foo:a>" * 300
                         + "</item>")) is None  # beyond lxml's own limit: not well-formed for it


# --- the link shortcut in parse._entry -------------------------------------------------------------

LINK_PIECES = st.sampled_from(["https://", "http://", "HTTP://", "ftp://", "//", "n.example", "N.Example", ":8080",
                               "/", "a", "é", ";p", "?", "q=1", "#", "f", "[::1]", " ", "\t", "%20", "..", "//x"])


@settings(max_examples=1_000, deadline=None)
@given(st.lists(LINK_PIECES, max_size=8).map("".join), st.sampled_from([URL, "http://n.example/f", ""]))
@example("https://n.example/a?", URL)
@example("https://n.example/a#", URL)
@example("https://n.example/a;p", URL)
def test_the_link_shortcut_is_urljoin(link: str, base: str) -> None:
    try:
        expected = urljoin(base, link)
    except ValueError:
        expected = link
    assert _join(base, link) == expected
