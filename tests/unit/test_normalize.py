"""normalize: plain text, canonical URLs, title hashes, item keys; all idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.feed.normalize import canonical_url, html_to_text, item_key, normalize_entry, title_hash
from bot.core.feed.urls import reference_canonical_url
from bot.core.headline import HEADLINE_CHARS, display_title
from bot.model import Entry
from bot.settings import FeedSettings

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
FEED = FeedSettings(
    name="yonhap-ko", url="https://feeds.example.org/ko.xml", language="ko", tier="wire", source="Yonhap"
)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Troops <b>moved</b> north.</p>", "Troops moved north."),
        ("<p>One</p><p>Two</p>", "One\nTwo"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("Before<script>alert('x')</script>After", "BeforeAfter"),
        ("<style>p{color:red}</style><noscript><b>js off</b></noscript>Text", "Text"),
        ('<img src="x" onerror="alert(1)">caption', "caption"),
        ("Q&amp;A &mdash; &#8220;quoted&#8221;", "Q&A — “quoted”"),
        ("Don&amp;#8217;t", "Don’t"),  # escaped twice by the CMS
        ("&lt;script&gt;alert(1)&lt;/script&gt;fine", "fine"),  # escaped markup is still markup
        ("AT&T and R&D", "AT&T and R&D"),
        ("  lots \t of\n\n\n   space  ", "lots of\nspace"),
        ("zero\u200bwidth\u2060joiner\ufeff", "zerowidthjoiner"),
        ("ＦＵＬＬ　ｗｉｄｔｈ", "FULL width"),  # NFKC
        ("북한군 <i>추가</i> 배치", "북한군 추가 배치"),
        ("Северокорейские &laquo;войска&raquo;", "Северокорейские «войска»"),
        ("x &lt; y and y &gt; z", "x < y and y > z"),
        ("&amp;lt;b&amp;gt;bold", "bold"),
        ("<p>unterminated <a href='x", "unterminated"),
        ("＜script＞alert(1)", ""),  # fullwidth brackets become "<" under NFKC: still a script
        ("", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


HTMLISH = st.lists(
    st.sampled_from(
        [
            "<p>",
            "</p>",
            "<b>",
            "<script>",
            "</script>",
            "&amp;",
            "&lt;",
            "&gt;",
            "&#60;",
            "&",
            "<",
            ">",
            "&amp;lt;b&amp;gt;",
            " ",
            "\n",
            "\u200b",
            "ＡＢ",
            "＜",
            "é",
            "e\u0301",
            "word",
            "한국",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "&not",
            "&#x3c;",
        ]
    )
    | st.text(max_size=8),
    max_size=30,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), HTMLISH))
def test_html_to_text_is_idempotent(s: str) -> None:
    once = html_to_text(s)
    assert html_to_text(once) == once


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://News.Example.ORG:443/a/b?utm_source=rss&id=7#top", "https://news.example.org/a/b?id=7"),
        ("http://example.org:80", "http://example.org/"),
        ("http://example.org:8080/x", "http://example.org:8080/x"),
        ("https://example.org/p?b=2&a=1&fbclid=zz&gclid=1&ref=home", "https://example.org/p?a=1&b=2"),
        ("https://example.org/p?mc_cid=1&mc_eid=2&igshid=3&_ga=4&yclid=5", "https://example.org/p"),
        ("https://example.org/a b", "https://example.org/a%20b"),
        ("https://user:pw@example.org/x", "https://example.org/x"),
        ("  https://example.org/x  ", "https://example.org/x"),
        ("javascript:alert(1)", ""),
        ("mailto:desk@example.org", ""),
        ("ftp://example.org/file", ""),
        ("/relative/path", ""),
        ("http://[::1/broken", ""),
        ("https://example.org:99999/", ""),
        ("", ""),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


URLISH = st.builds(
    lambda scheme, host, path, query, frag: f"{scheme}://{host}{path}?{query}#{frag}",
    st.sampled_from(["http", "HTTPS", "ftp", "javascript"]),
    st.sampled_from(["example.org", "Example.ORG:443", "a.b:8080", "[::1]", "x y", "ex%41.org"]),
    st.text(max_size=12).map(lambda t: "/" + t),
    st.lists(st.tuples(st.sampled_from(["a", "utm_x", "fbclid", "b", "a b", "%zz"]), st.text(max_size=5))).map(
        lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
    ),
    st.text(max_size=4),
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), URLISH))
def test_canonical_url_is_idempotent(u: str) -> None:
    once = canonical_url(u)
    assert canonical_url(once) == once
    assert once == "" or once.startswith(("http://", "https://"))


QUERY_PAIRS = ["utm_source=rss", "UTM_x=1", "b=2", "a=1", "a=", "=v", "a", "fbclid=z", "Ref=1", "", "a=1=2", "c=%41",
               "d=x+y", "e=é", "a=2"]
# Links near the fast path's edge: canonical already or one character away from it.
LINKISH = st.builds(
    lambda scheme, host, port, path, tail: f"{scheme}://{host}{port}{path}{tail}",
    st.sampled_from(["http", "https", "HTTP", "Https", "ftp"]),
    st.one_of(st.sampled_from(["a", "example.org", "news.example.org.", "Example.org", "-a.org", "a-", "1.2.3.4",
                               "xn--80ak6aa92e.com", "u:p@a.org", "a..b", "[::1]", "é.org", "a_b.org"]),
              st.from_regex(r"[a-z0-9.-]{1,12}", fullmatch=True)),
    st.sampled_from(["", "", ":443", ":80", ":8080", ":"]),
    st.one_of(st.just(""), st.from_regex(r"/[A-Za-z0-9/%:@!$&'()*+,;=._~ \-\"<>^`{}|é\t\n]{0,16}", fullmatch=True)),
    st.one_of(st.sampled_from(["", "", "?", "?a=1", "#x", "#", " ", "\n", "?utm_source=rss"]),
              st.from_regex(r"\?[a-z_=&.~1-]{0,14}(#x)?", fullmatch=True),
              st.lists(st.sampled_from(QUERY_PAIRS)).map(lambda ps: "?" + "&".join(ps))),
)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(LINKISH, URLISH, st.text(max_size=30)))
def test_canonical_url_fast_path_equals_urllib(u: str) -> None:
    assert canonical_url(u) == reference_canonical_url(u)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("North Korean troops seen near Kursk", "north korean troops seen near kursk!", True),
        ("BREAKING: North Korean troops seen near Kursk", "North Korean troops seen near Kursk", True),
        ("North <b>Korean</b> troops seen near Kursk", "North Korean troops seen near Kursk", True),
        ("North Korean troops seen near Kursk", "North Korean troops seen near Belgorod", False),
    ],
)
def test_title_hash_matches_the_same_headline(a: str, b: str, same: bool) -> None:
    assert title_hash(a) and (title_hash(a) == title_hash(b)) is same


@pytest.mark.parametrize(
    ("title", "identifies"),
    [
        ("Live updates", False),
        ("Breaking news", False),
        ("Short one", False),
        ("Kim sent troops to Kursk", True),
        ("Kim sent troops", False),  # three words
        ("a b c d e f", False),  # six words, eleven characters
        ("Kim sends more troops", True),
        ("북한군 쿠르스크 전선에 추가 배치", True),
        ("Северокорейские войска замечены под Курском", True),
        ("朝鲜军队在库尔斯克前线增派兵力的消息", True),  # no spaces, but long enough
        ("", False),
    ],
)
def test_title_hash_skips_titles_too_short_or_generic(title: str, identifies: bool) -> None:
    assert bool(title_hash(title)) is identifies


def test_item_key_prefers_guid_scoped_to_feed_then_url_then_text() -> None:
    assert item_key("a", "g1", "https://x.org/1", "t", "s") != item_key("b", "g1", "https://x.org/1", "t", "s")
    assert item_key("a", None, "https://x.org/1", "t", "s") == item_key("b", "", "https://x.org/1", "u", "v")
    assert item_key("a", None, "", "t", "s").startswith("text:")
    assert item_key("a", None, "", "t", "s") != item_key("a", None, "", "t", "other")
    assert item_key("a", " g1 ", "", "", "") == item_key("a", "g1", "", "", "")


def _entry(**kw: object) -> Entry:
    base: dict[str, object] = {
        "guid": "kr-1",
        "link": "https://news.example.org/a?utm_medium=rss",
        "title": "<b>북한군</b> 쿠르스크 전선에 추가 배치",
        "summary": "<p>요약 &amp; 설명</p>",
        "published": NOW - timedelta(hours=2),
        "lang": None,
        "author": None,
    }
    return Entry(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("published", "expected", "dated"),
    [
        (NOW - timedelta(hours=2), NOW - timedelta(hours=2), True),
        (None, NOW, False),
        (NOW + timedelta(minutes=30), NOW + timedelta(minutes=30), True),  # small skew tolerated
        (NOW + timedelta(days=2), NOW, True),  # a future date is clamped to the fetch time
        (datetime(2025, 3, 4, 9, 0), datetime(2025, 3, 4, 9, 0, tzinfo=UTC), True),  # naive → UTC
    ],
)
def test_published(published: datetime | None, expected: datetime, dated: bool) -> None:
    item = normalize_entry(_entry(published=published), FEED, NOW)
    assert (item.published, item.dated) == (expected, dated)
    assert item.published.tzinfo is not None


@pytest.mark.parametrize(
    ("link", "expected", "dated"),
    [
        ("https://example.org/2025/02/27/troops", datetime(2025, 2, 27, 12, 0, tzinfo=UTC), True),  # noon of that day
        ("https://example.org/2025/03/04/troops", NOW, True),  # today: never later than the fetch
        ("https://example.org/2025/03/05/troops", NOW, False),  # a day ahead: not believed
        ("https://example.org/2025/02/troops", NOW, False),  # no day named
    ],
)
def test_an_undated_entry_takes_the_day_its_link_names(link: str, expected: datetime, dated: bool) -> None:
    item = normalize_entry(_entry(published=None, link=link), FEED, NOW)
    assert (item.published, item.dated) == (expected, dated)


def test_an_entrys_own_date_wins_over_its_links() -> None:
    when = NOW - timedelta(hours=3)
    item = normalize_entry(_entry(published=when, link="https://example.org/2024/01/01/x"), FEED, NOW)
    assert (item.published, item.dated) == (when, True)


@pytest.mark.parametrize(("entry_lang", "lang"), [(None, "ko"), ("en-US", "en"), ("RU", "ru"), ("??", "ko")])
def test_language_is_the_entrys_else_the_feeds(entry_lang: str | None, lang: str) -> None:
    assert normalize_entry(_entry(lang=entry_lang), FEED, NOW).lang == lang


def test_normalize_entry_fields() -> None:
    item = normalize_entry(_entry(), FEED, NOW)
    assert item.title == "북한군 쿠르스크 전선에 추가 배치"
    assert item.summary == "요약 & 설명"
    assert item.url == "https://news.example.org/a"
    assert (item.feed, item.source, item.tier, item.guid, item.fetched) == ("yonhap-ko", "Yonhap", "wire", "kr-1", NOW)
    assert item.key == item_key("yonhap-ko", "kr-1", item.url, item.title, item.summary)
    assert item.title_hash == title_hash("북한군 쿠르스크 전선에 추가 배치")


def test_titleless_entry_borrows_the_summary_and_unsafe_link_is_dropped() -> None:
    item = normalize_entry(_entry(title="", link="javascript:alert(1)", guid=None), FEED, NOW)
    assert item.title == "요약 & 설명" and item.url == "" and item.title_hash == ""
    assert item.key.startswith("text:")


LONG_POST = ("Satellite images show new barracks near the border crossing, and officials say more troops "
             "arrived overnight by train from the east of the country")


@pytest.mark.parametrize(
    ("summary", "title"),
    [
        ("Troops moved north.", "Troops moved north."),
        (LONG_POST, "Satellite images show new barracks near the border crossing, and officials say more troops "
                    "arrived overnight by train…"),
        ("북한군 " * 60, ("북한군 " * 29).strip() + "…"),
    ],
)
def test_a_titleless_post_gets_a_clean_headline_cut_at_a_word(summary: str, title: str) -> None:
    item = normalize_entry(_entry(title="", summary=summary, guid=None, link=""), FEED, NOW)
    shown = display_title(item.title, item.summary)
    assert shown == title and len(shown) <= HEADLINE_CHARS
    # what matching reads, and the identity of a title-less, link-less post, are as before
    assert item.title == " ".join(summary.split())[:200]
    assert item.key == item_key("yonhap-ko", None, "", " ".join(summary.split())[:200], item.summary)


def test_an_own_title_is_shown_as_it_is() -> None:
    assert display_title("  Seoul: more troops  ", "Seoul: more troops arrived") == "Seoul: more troops"
