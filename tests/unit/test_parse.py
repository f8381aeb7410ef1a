"""parse_feed: RSS/Atom read into Entries, broken bodies described, entity bombs defused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.feed.parse import MAX_SUMMARY, MAX_TITLE, looks_like_html, parse_feed, strip_prolog

URL = "https://news.example.org/feed.xml"

RSS_KO = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>북한 뉴스 데스크</title><language>ko</language><ttl>30</ttl>
<item>
  <title>북한군, 쿠르스크 전선에 추가 배치</title>
  <link>/articles/101?utm_source=rss</link>
  <guid isPermaLink="false">kr-101</guid>
  <pubDate>Tue, 04 Mar 2025 09:30:00 +0900</pubDate>
  <description>&lt;p&gt;정보당국은 &lt;b&gt;추가 병력&lt;/b&gt;이 이동했다고 밝혔다.&lt;/p&gt;</description>
  <author>desk@example.org (Kim Desk)</author>
</item>
<item><title>Second item without a date</title><guid>kr-102</guid></item>
</channel></rss>""".encode()

ATOM_RU = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ru">
  <title>Лента новостей</title>
  <entry>
    <id>urn:example:ru-7</id>
    <title>Северокорейские военные замечены под Курском</title>
    <link href="https://ru.example.org/7"/>
    <updated>2025-03-04T06:15:00+03:00</updated>
    <summary>Коротко.</summary>
    <content type="html">&lt;p&gt;Подробный текст о переброске войск и о том, что известно.&lt;/p&gt;</content>
  </entry>
  <entry xml:lang="en">
    <id>urn:example:ru-8</id><title>English entry in a Russian feed</title>
    <published>2025-03-04T07:00:00Z</published>
  </entry>
</feed>""".encode()


def test_rss_with_korean_text() -> None:
    feed = parse_feed(RSS_KO, URL)
    assert feed.is_feed and feed.problem is None
    assert (feed.title, feed.ttl_minutes, len(feed.entries)) == ("북한 뉴스 데스크", 30, 2)
    first, second = feed.entries
    assert first.title == "북한군, 쿠르스크 전선에 추가 배치"
    assert first.guid == "kr-101"
    assert first.link == "https://news.example.org/articles/101?utm_source=rss"  # resolved against URL
    assert first.published == datetime(2025, 3, 4, 0, 30, tzinfo=UTC)
    assert "추가 병력" in first.summary
    assert first.lang == "ko" and first.author and "Kim Desk" in first.author
    assert second.published is None and second.link is None


def test_atom_with_cyrillic_prefers_longer_content_and_reads_updated() -> None:
    feed = parse_feed(ATOM_RU, URL)
    assert feed.is_feed and feed.title == "Лента новостей"
    first, second = feed.entries
    assert first.guid == "urn:example:ru-7" and first.link == "https://ru.example.org/7"
    assert "Подробный текст" in first.summary  # content beat the one-word summary
    assert first.published == datetime(2025, 3, 4, 3, 15, tzinfo=UTC)
    assert first.lang == "ru"
    assert second.lang == "en" and second.published == datetime(2025, 3, 4, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "empty body"),
        (b"  \n\t ", "empty body"),
        (b"<!DOCTYPE html><html><head><title>Hi</title></head><body>x</body></html>", "HTML page"),
        (b"<html><body><p>Login</p></body></html>", "HTML page"),
        (b"\xef\xbb\xbf<!-- cms --><!doctype html>\n<head><title>x</title></head>", "HTML page"),
        (b"just some words, no markup at all", "not XML"),
        (b'<?xml version="1.0"?><!DOCTYPE x [ <!ENTITY a "never closed', "DOCTYPE block never ends"),
        (b'<?xml version="1.0"?><catalog><book>Not a feed</book></catalog>', "not RSS or Atom"),
    ],
)
def test_not_a_feed(body: bytes, problem: str) -> None:
    feed = parse_feed(body, URL)
    assert not feed.is_feed and feed.entries == ()
    assert feed.problem and problem in feed.problem


def test_body_that_looks_like_a_file_name_is_not_read_as_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "feed.xml"
    secret.write_bytes(RSS_KO)
    feed = parse_feed(str(secret).encode(), URL)  # feedparser opens bytes as a path if allowed
    assert not feed.is_feed and feed.entries == ()


def test_partly_broken_feed_keeps_entries_and_names_the_line() -> None:
    body = (
        b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>B</title>\n'
        b'<item><title>Good one</title><guid isPermaLink="false">1</guid></item>\n'
        b'<item><title>Bad <one</title><guid isPermaLink="false">2</guid></item>\n'
    )
    feed = parse_feed(body, URL)
    assert feed.is_feed and [e.guid for e in feed.entries][:1] == ["1"]
    assert feed.problem and feed.problem.startswith("malformed XML at line 4")
    assert "entries read" in feed.problem


def test_line_numbers_survive_the_stripped_doctype() -> None:
    body = b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "b">\n]>\n<rss version="2.0">\n<channel>\n</rss>'
    feed = parse_feed(body, URL)
    assert feed.problem and feed.problem.startswith("malformed XML at line 7")


BIG = "A" * 50_000
LAUGHS = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
BOMBS = {
    "internal entity 50 KB x 3000": (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "{BIG}">\n]>\n<rss version="2.0"><channel>'
        f"<title>t</title><item><title>{'&big;' * 3000}</title><description>{'&big;' * 3000}</description>"
        "</item></channel></rss>"
    ).encode(),
    "billion laughs": (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "ha">{LAUGHS}]><rss version="2.0"><channel>'
        "<title>&l9;</title><item><title>&l9;</title></item></channel></rss>"
    ).encode(),
    "external entity": (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>t</title><item><title>&x;</title></item></channel></rss>'
    ),
    "declarations hidden in a comment before the root": (
        f'<?xml version="1.0"?>\n<!--\n<!DOCTYPE rss>\n<!ENTITY big "{BIG}">\n-->\n<rss version="2.0">'
        f"<channel><title>t</title><item><title>{'&big;' * 3000}</title></item></channel></rss>"
    ).encode(),
    "quotes and brackets inside the internal subset": (
        f"<?xml version=\"1.0\"?><!DOCTYPE rss [<!-- it's ] > --><!ENTITY big '{BIG}]>'>]>"
        f'<rss version="2.0"><channel><title>t</title><item><title>{"&big;" * 3000}</title></item>'
        "</channel></rss>"
    ).encode(),
    "utf-16 encoded bomb": (
        f'<?xml version="1.0" encoding="utf-16"?>\n<!DOCTYPE rss [<!ENTITY big "{BIG}">]>\n<rss version="2.0">'
        f"<channel><title>t</title><item><title>{'&big;' * 3000}</title></item></channel></rss>"
    ).encode("utf-16"),
}


@pytest.mark.parametrize("body", BOMBS.values(), ids=BOMBS.keys())
def test_entity_bombs_are_defused(body: bytes) -> None:
    feed = parse_feed(body, URL)
    assert len(feed.title) <= MAX_TITLE
    for entry in feed.entries:
        assert len(entry.title) <= MAX_TITLE and len(entry.summary) <= MAX_SUMMARY
        assert "AAAAAAAAAA" not in entry.title and "hahahaha" not in entry.title
        assert "root:" not in entry.title


def test_fields_are_bounded() -> None:
    body = (
        f'<rss version="2.0"><channel><title>t</title><item><title>{"T" * 5000}</title>'
        f"<link>https://example.org/{'p' * 3000}</link><description>{'d' * 50_000}</description>"
        "</item></channel></rss>"
    ).encode()
    (entry,) = parse_feed(body, URL).entries
    assert (len(entry.title), len(entry.summary), entry.link) == (MAX_TITLE, MAX_SUMMARY, None)


@pytest.mark.parametrize(("ttl", "expected"), [("15", 15), ("abc", None), ("0", None), ("99999", None)])
def test_ttl(ttl: str, expected: int | None) -> None:
    body = f'<rss version="2.0"><channel><title>t</title><ttl>{ttl}</ttl></channel></rss>'.encode()
    assert parse_feed(body, URL).ttl_minutes == expected


@pytest.mark.parametrize(
    ("body", "html"),
    [
        (b"<!DOCTYPE html><html lang='en'>", True),
        (b"  <HTML><BODY>", True),
        (b'<?xml version="1.0"?><rss version="2.0">', False),
        (b'<?xml version="1.0"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "x"><rss>', False),
        (b'<feed xmlns="http://www.w3.org/2005/Atom">', False),
        (b"", False),
    ],
)
def test_looks_like_html(body: bytes, html: bool) -> None:
    assert looks_like_html(body) is html


def test_strip_prolog_keeps_declaration_and_root_only() -> None:
    body = b'<?xml version="1.0"?><?style x?>\n<!-- c -->\n<!DOCTYPE a [<!ENTITY e "v">]>\n<a>&e;</a>'
    stripped, doctype, unterminated = strip_prolog(body)
    assert stripped == b'<?xml version="1.0"?>\n\n\n<a>&e;</a>'
    assert doctype.startswith(b"<!doctype a") and not unterminated
