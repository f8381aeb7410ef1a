"""Properties of the fast parse path: whatever the markup in a title or summary, whatever the order
and mix of an entry's elements, it declines or reads what feedparser reads; its dates are
feedparser's. Each example is compared with the feedparser path itself (tests/parse_equivalence.py).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from feedparser.datetimes import _parse_date as feedparser_date
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core.feed.dates import parse_date, struct_to_utc
from bot.core.feed.markup import _WHOLE_TAGS, keeps_text, length_bounds
from tests.parse_equivalence import differences, takes_fast_path

PROPERTY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- markup -----------------------------------------------------------------------------------------

TEXT = ["Hello", " world ", "a < b", "x > y", "AT&T", "Q & A", "R&D-team", "&copy", "&copy2024", "&hellip x",
        "&amp;", "&amp;amp;", "&lt;b&gt;", "&nbsp;", "&hellip;", "&foo;", "&NewLine;", "&apos;", "&#8217;",
        "&#x2019;", "&#X2019;", "&#150;", "&#39;", "&#34;", "&#", "&#x;", "\r\n", "\n", "\t", "é", "Ã©", "Привет",
        "북한군", "\u200b", "ﬁ", "  ", ";", "=", "'", '"', "/", "R&D-team;", "&a.b;", "&amp-x", "&lt3"]
TAGS = ["<p>", "</p>", "<br>", "<br/>", "<br />", "</br>", "<b>", "</b>", "<B>", '<a href="http://x/?a=1&amp;b=2">',
        "<a href=x>", "</a>", "<img src='x.png' alt=\"A\"/>", "<img src=x.png/>", '<div class="x y">', "</div>",
        '<span style="color: red; font-weight:bold">', "</span>", "<script>alert(1)</script>", "<style>p{}</style>",
        "<noscript>", "</noscript>", "<iframe src=x>", "</iframe>", "<svg>", "<math>", "<h2>", "</h2>",
        "<ul><li>", "</li></ul>", "<!-- note -->", "<!-- a-b -->", "<!---->", "<![CDATA[x]]>", "<?php x ?>",
        "<p/>", "<span/>", "<noscript/>", "<blink>", '<font color="red">', "<table><tr><td>", '<a title="x>y">',
        "<a title='it\"s'>", "<input disabled>", "< p>", "<3", '<a\nhref="x">', "<figure><figcaption>",
        '<time datetime="2024">', "<template>", "<object>", "<abbr title=\"t\">", "<p onclick=\"x()\">", "<hr>",
        "<main>", "<nav>", "<section>", "<blockquote>", "<pre>", "<textarea>", "<p >", "<p\t>", "</p >",
        "<iframe src=x></iframe>", '<script async src="x"></script>', "<style></style>", "<picture>", "</picture>",
        "<wbr>", "<mark>", "</mark>", '<embed src="x">', "<video controls>", "</video>", "<SCRIPT></script >"]
# Half the examples from pieces the fast path accepts, so that it reads them rather than declines.
KEPT = [t for t in TEXT if t not in ("&copy", "&copy2024", "&hellip x", "&foo;", "&NewLine;", "&#150;", "&#", "&#x;",
                                     "Ã©")] + ["<p>", "</p>", "<br>", "<br/>", "<b>", "</b>", "<a href=x>", "</a>",
                                              "<h2>", "</h2>", "<!-- note -->", "<noscript>", "</noscript>", "<hr>",
                                              '<img src="x.png"/>', "<blockquote>", "<ul><li>", "</li></ul>",
                                              '<iframe allowfullscreen src="y"></iframe>', "<picture>", "</picture>",
                                              '<script async src="x"></script>', "<video controls>", "</video>"]
MARKUP = (st.lists(st.sampled_from(TEXT) | st.sampled_from(TAGS), max_size=12)
          | st.lists(st.sampled_from(KEPT), max_size=12)).map("".join)


@PROPERTY
@given(MARKUP)
def test_the_tags_keeps_text_reads_are_the_ones_length_bounds_would_find(s: str) -> None:
    tags = keeps_text(s)
    if tags is not None:  # length_bounds is only asked about text keeps_text accepted
        assert tags == "".join(_WHOLE_TAGS.findall(s))
        assert length_bounds(s, tags) == length_bounds(s)


def rss_with(title: str, description: str, encoded: str | None) -> bytes:
    encoded_part = f"<content:encoded>{escape(encoded)}</content:encoded>" if encoded is not None else ""
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Desk</title>'
            f"<item><title>{escape(title)}</title><link>https://n.example/a</link>"
            f"<description>{escape(description)}</description>{encoded_part}</item></channel></rss>").encode()


def atom_with(title: str, title_type: str, content: str, content_type: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Desk</title>'
            f'<entry><title type="{title_type}">{escape(title)}</title><id>tag:n.example,2026:1</id>'
            f'<content type="{content_type}">{escape(content)}</content></entry></feed>').encode()


@PROPERTY
@given(MARKUP, MARKUP, st.none() | MARKUP)
@example("AT&T &amp; Q&A", "<p>Hello&nbsp;<b>world</b></p>", "<p>Long<br/>er</p>")
@example("x", "<p>a</p>", "<p>a</p>")
@example("R&D-team; &Co. &a.b;", "", None)
def test_any_markup_in_rss_is_read_as_feedparser_reads_it(title: str, description: str, encoded: str | None) -> None:
    takes_fast_path(rss_with(title, description, encoded))


@PROPERTY
@given(MARKUP, st.sampled_from(["text", "html", "xhtml", "TEXT", "text/html"]), MARKUP,
       st.sampled_from(["text", "html", "text/plain", "image/png"]))
def test_any_markup_in_atom_is_read_as_feedparser_reads_it(title: str, title_type: str, content: str,
                                                           content_type: str) -> None:
    takes_fast_path(atom_with(title, title_type, content, content_type))


# --- the order and mix of elements ---------------------------------------------------------------------

NAMESPACES = ('xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
              'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" '
              'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:dcterms="http://purl.org/dc/terms/" '
              'xmlns:foo="urn:example:foo"')
LANG = ["", ' xml:lang="fr"', ' xml:lang=""', ' xml:lang="pt_BR"', ' lang="de"']
RSS_PARTS = [
    "<title>Troops sent to the border</title>", "<title></title>", "<title>  </title>",
    "<dc:title>Other title</dc:title>",
    "<title{lang}>Headline &amp;amp; more</title>", '<title type="html">&lt;b&gt;Bold&lt;/b&gt; news</title>',
    "<link>https://n.example/a/1?utm_source=rss&amp;x=1</link>", "<link> relative/path </link>", "<link/>",
    "<link>http:////n.example/b?a=1&amp;b;=2</link>", '<atom:link href="https://n.example/alt" rel="alternate"/>',
    '<atom:link rel="self" href="https://n.example/self"/>', '<atom:link href="/x" type="application/xhtml+xml"/>',
    "<guid>https://n.example/g/1</guid>", '<guid isPermaLink="false">kr-102</guid>', "<guid>kr-103</guid>",
    '<guid isPermaLink="False">https://n.example/g/2</guid>', "<guid></guid>",
    "<description{lang}>&lt;p&gt;Short teaser&lt;/p&gt;</description>", "<description>Plain teaser</description>",
    "<description></description>", "<content:encoded><![CDATA[<p>A much longer body of text, long enough.</p>]]>"
    "</content:encoded>", "<itunes:summary{lang}>A summary</itunes:summary>",
    "<dc:description>DC text</dc:description>",
    "<pubDate>Mon, 02 Jun 2026 10:00:00 +0000</pubDate>", "<pubDate>Tue, 31 Feb 2026 10:00:00 GMT</pubDate>",
    "<pubDate>2026-06-03T08:30:00+02:00</pubDate>", "<pubDate>yesterday</pubDate>", "<pubDate></pubDate>",
    "<dc:date>2026-06-04T09:00:00Z</dc:date>", "<dcterms:modified>2026-06-05</dcterms:modified>",
    "<lastBuildDate>Fri, 05 Jun 2026 10:00:00 EST</lastBuildDate>", "<dc:language>ko</dc:language>",
    "<language>x</language>", "<author>desk@n.example (The Desk)</author>", "<dc:creator>Ann Lee</dc:creator>",
    "<itunes:author>Pod</itunes:author>", "<category>World</category>", '<enclosure url="https://n.example/a.mp3"/>',
    "<comments>https://n.example/c</comments>", '<source url="https://w.example/rss">Wire</source>',
    '<media:thumbnail url="https://n.example/t.jpg"/>', '<media:group><media:content url="https://n.example/v"/>'
    "</media:group>", "<media:title>Media title</media:title>", '<foo:bar a="1">v</foo:bar>', "<foo:baz>v</foo:baz>",
    "<slash:comments>3</slash:comments>", "<ttl>5</ttl>", "<!-- between -->", "<?pi between?>",
    "<title>Split<!-- c --> title</title>", "<description>a<?pi x?>b &lt;i&gt;c&lt;/i&gt;</description>",
    "<title><![CDATA[A & B]]></title>", "<title>x<![CDATA[<b>y</b>]]>z</title>", "<title>&#x41;&#66;&#xE9;</title>",
    "<description><![CDATA[<p>one</p>]]><![CDATA[<p>two</p>]]></description>",
    "<guid>\n  https://n.example/s  \n</guid>", "<Title>Upper case</Title>",
    "<PUBDATE>Wed, 03 Jun 2026 10:00:00 GMT</PUBDATE>", "<title>" + "Long title " * 100 + "</title>",
    "<description>" + "x &lt;b&gt;y&lt;/b&gt; " * 1_500 + "</description>",
]
ATOM_PARTS = [
    '<title type="text">Troops &lt;b&gt; sent</title>', '<title type="html">&lt;b&gt;Bold&lt;/b&gt;</title>',
    "<title{lang}>Plain</title>", "<title></title>", '<link href="https://n.example/e/1"/>',
    '<link rel="alternate" type="text/html" href="https://n.example/e/2"/>', '<link rel="self" href="https://n.example/s"/>',
    '<link rel="enclosure" href="https://n.example/e.mp3"/>', '<link rel="ALTERNATE" type="HTML" href="/rel"/>',
    "<id>tag:n.example,2026:1</id>", "<id>https://n.example/id/2</id>", "<updated>2026-06-02T10:00:00Z</updated>",
    "<published>2026-06-01T10:00:00-05:00</published>", "<published>bad</published>",
    '<summary{lang}>Summary &amp;amp; text</summary>', '<summary type="html">&lt;p&gt;Sum&lt;/p&gt;</summary>',
    '<content type="html">&lt;p&gt;Longer content body here&lt;/p&gt;</content>', "<content>Plain content</content>",
    '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div></content>',
    "<author><name>Ann</name><email>ann@n.example</email></author>", "<author><name>Bo</name></author>",
    "<author><uri>https://n.example/bo</uri></author>", '<category term="world"/>', "<rights>(c)</rights>",
    "<contributor><name>Cy</name></contributor>",
]
FEED_PARTS = ["<title>Desk</title>", "<title{lang}>Desk &amp;amp; co</title>", "<title></title>",
              "<language>en-gb</language>", "<ttl>30</ttl>", "<ttl>x</ttl>", "<description>About</description>",
              "<itunes:summary>Pod summary</itunes:summary>", "<image><title>Logo</title><url>https://n.example/l.png"
              "</url><link>https://n.example/</link></image>", '<atom:link rel="self" href="https://n.example/f"/>',
              "<dc:language>ru</dc:language>"]


def parts(pool: list[str], most: int) -> st.SearchStrategy[str]:
    piece = st.tuples(st.sampled_from(pool), st.sampled_from(LANG)).map(lambda p: p[0].replace("{lang}", p[1]))
    return st.lists(piece, max_size=most).map("".join)


@st.composite
def rss_documents(draw: st.DrawFn) -> bytes:
    items = "".join(f"<item{draw(st.sampled_from(LANG))}>{draw(parts(RSS_PARTS, 8))}</item>"
                    for _ in range(draw(st.integers(1, 3))))
    head, tail = draw(parts(FEED_PARTS, 4)), draw(parts(FEED_PARTS, 2))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {NAMESPACES}{draw(st.sampled_from(LANG))}>'
            f"<channel{draw(st.sampled_from(LANG))}>{head}{items}{tail}</channel></rss>").encode()


@st.composite
def atom_documents(draw: st.DrawFn) -> bytes:
    entries = "".join(f"<entry{draw(st.sampled_from(LANG))}>{draw(parts(ATOM_PARTS, 8))}</entry>"
                      for _ in range(draw(st.integers(1, 3))))
    head = draw(parts(["<title>Desk</title>", "<title{lang}>T</title>", "<subtitle>S</subtitle>",
                       "<id>urn:x</id>", '<link href="https://n.example/"/>'], 3))
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"'
            f'{draw(st.sampled_from(LANG))}>{head}{entries}</feed>').encode()


@st.composite
def rdf_documents(draw: st.DrawFn) -> bytes:
    items = "".join(f'<item rdf:about="https://n.example/r/{n}">{draw(parts(RSS_PARTS, 6))}</item>'
                    for n in range(draw(st.integers(1, 3))))
    channel = f'<channel rdf:about="https://n.example/">{draw(parts(FEED_PARTS, 3))}</channel>'
    body = channel + items if draw(st.booleans()) else items + channel
    return ('<?xml version="1.0" encoding="utf-8"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            f'xmlns="http://purl.org/rss/1.0/" {NAMESPACES.replace(" xmlns:atom=", " xmlns:a=")}>{body}</rdf:RDF>'
            ).encode()


@PROPERTY
@given(rss_documents() | atom_documents() | rdf_documents())
def test_any_mix_and_order_of_elements_is_read_as_feedparser_reads_it(body: bytes) -> None:
    takes_fast_path(body)


def test_the_mixes_mostly_take_the_fast_path() -> None:
    """Guards the property above: a fast path that declined every example would pass it."""
    taken = 0
    for n in range(40):
        item = "".join(RSS_PARTS[(n * 7 + k * 3) % len(RSS_PARTS)] for k in range(4)).replace("{lang}", "")
        body = (f'<rss version="2.0" {NAMESPACES}><channel><title>T</title><item>{item}</item></channel></rss>'
                ).encode()
        taken += differences(body) is not None
    assert taken >= 30


# --- dates ----------------------------------------------------------------------------------------------

DAYS = st.sampled_from(["Mon, ", "Tue, ", "sat, ", "", "Xyz, "])
MONTHS = st.sampled_from(["Jan", "feb", "MAR", "Jun", "Sep", "Dec", "Foo"])
ZONES = st.sampled_from(["+0000", "-0500", "+0530", "+1400", "-1200", "GMT", "UT", "UTC", "Z", "EST", "+99", "gmt"])


@st.composite
def rfc822_dates(draw: st.DrawFn) -> str:
    day, year = draw(st.integers(0, 32)), draw(st.integers(1, 9999))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 60)), draw(st.integers(0, 61))
    return f"{draw(DAYS)}{day:02d} {draw(MONTHS)} {year:04d} {hour:02d}:{minute:02d}:{second:02d} {draw(ZONES)}"


@st.composite
def w3dtf_dates(draw: st.DrawFn) -> str:
    month, day, hour = draw(st.integers(0, 13)), draw(st.integers(0, 32)), draw(st.integers(0, 25))
    seconds = draw(st.sampled_from(["", ":00", ":59", ":60", ":07.25"]))
    zone = draw(st.sampled_from(["Z", "z", "+02:00", "-05:30", "+14:00", "+0200", ""]))
    sep = draw(st.sampled_from(["T", "t", " "]))
    return f"{draw(st.integers(1, 9999)):04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{draw(st.integers(0, 60)):02d}" \
           f"{seconds}{zone}"


@settings(max_examples=1_000, deadline=None)
@given(rfc822_dates() | w3dtf_dates() | st.text(max_size=30))
@example("Mon, 02 Jun 2026 10:00:00 +0000")
@example("0001-01-01T00:00:00+01:00")
@example("9999-12-31T23:59:59-01:00")
def test_dates_are_feedparsers(text: str) -> None:
    assert parse_date(text) == struct_to_utc(feedparser_date(text))
