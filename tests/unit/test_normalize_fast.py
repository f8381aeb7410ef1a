"""The fast normalisation path equals the plain one in bot/core/feed/reference.py.

html_to_text: no parser without `<`/`&`, one regex for invisible characters, no needless round;
normalize_entry: each text made plain once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.feed import html
from bot.core.feed.html import INVISIBLE_RANGES, html_to_text
from bot.core.feed.normalize import normalize_entry
from bot.core.feed.reference import reference_html_to_text, reference_normalize_entry
from bot.model import Entry
from bot.settings import FeedSettings

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
FEED = FeedSettings(name="wire-ko", url="https://feeds.example.org/ko.xml", language="ko", source="Wire")

INVISIBLE = [chr(lo) for lo, _ in INVISIBLE_RANGES] + [chr(hi - 1) for _, hi in INVISIBLE_RANGES] + ["\r", "\r\n"]
PIECES = [
    "<p>", "</p>", "<br/>", "<b>", "<script>", "</script>", "<style>", "<!--", "-->", "<![CDATA[", "]]>",
    "<a href='x", "<", ">", "&", ";", "&amp;", "&amp;amp;", "&lt;", "&gt;", "&#60;", "&#x3c;", "&#13;",
    "&#x200b;", "&#65279;", "&#xFF1C;", "&not", "&notit;", "&nbsp;", "&mdash;",
    "＜", "＞", "＆", "ＡＢ", "ﬁ", "①", "\u3000", "\u00a0", "\u2028", "\u2029", "\x85", "\t", "\n", " ",
    "e\u0301", "\u0301", "\u1100", "\u1161", "word", "한국", "Курск", "北朝鲜", "عربي", "ไทย", "😀",
    # pieces of tags with attributes, so that the plain-tag path meets its grammar's edges
    "<a", "<img", " href", "=", " = ", '"x"', "'y'", "x/y", "/>", "/", "<a b=c/>", "<a b = 'x' c>", "<p\n>",
]
TEXTS = st.one_of(
    st.text(),  # any unicode but lone surrogates
    st.lists(st.sampled_from(PIECES + INVISIBLE) | st.text(max_size=6), max_size=40).map("".join),
)


@settings(max_examples=1500, deadline=None)
@given(TEXTS)
def test_fast_path_equals_the_reference(s: str) -> None:
    assert html_to_text(s) == reference_html_to_text(s)


@pytest.mark.parametrize(
    ("s", "text"),
    [
        ("a\r\nb\rc", "a\nb\nc"),  # \r is a line break, not a lost character
        ("a\u2028b\u2029c", "a b c"),
        ("x\x85y", "xy"),  # NEL is a C1 control: dropped, not a space
        ("nb\u00a0sp\tx", "nb sp x"),
        ("co\u00adoperate", "cooperate"),
        ("\u202eevil\u202c \ufeffBOM nul\x00l \x1c\x1fz a\u200db", "evil BOM null z ab"),
        ("e\u0301 \u1100\u1161 ﬁle ①", "é 가 file 1"),  # NFKC composes and folds
        ("\u3000全角\u3000", "全角"),
        ("＆amp;", "&"),  # NFKC makes markup: another round decodes it
        ("＜b＞bold＜/b＞", "bold"),
        ("&#xFF1C;script&#xFF1E;x", ""),
        ("&#x200b;gone &#13;cr &#65279;x", "gone\ncr x"),  # an entity of an invisible character goes too
        ("cut <a href='x", "cut"),
        ("x < y, a & b, <<<>>>, &&&;;, Q&A;", "x < y, a & b, <<<>>>, &&&;;, Q&A;"),
        ("&lt;b", ""),
        ("&notit;", "¬it;"),
        ("&amp;amp;amp;amp;lt;b&amp;amp;amp;amp;gt;", "& lt;b& gt;"),  # still markup after 4 rounds: defanged
        ("&#0;", "\ufffd"),
        ("  \n\n ", ""),
        ("Курск 북한 <i>x</i> 北朝鲜", "Курск 북한 x 北朝鲜"),
    ],
)
def test_tricky_inputs(s: str, text: str) -> None:
    assert html_to_text(s) == reference_html_to_text(s) == text


def test_text_without_markup_never_reaches_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    def parser(s: str) -> str:
        raise AssertionError(f"parsed {s!r}")

    monkeypatch.setattr(html, "_strip_tags", parser)
    assert html_to_text("Северокорейские\u200b войска\r\nприбыли ＡＢ") == "Северокорейские войска\nприбыли AB"


ENTRIES = st.builds(
    Entry,
    guid=st.none() | st.sampled_from(["", " g1 ", "kr-102"]),
    link=st.none() | st.sampled_from(["", "https://news.example.org/a?utm_source=rss", "javascript:x"]),
    title=TEXTS | st.sampled_from(["North <b>Korean</b> troops seen near Kursk", "BREAKING: Kim sends more troops"]),
    summary=TEXTS,
    published=st.none() | st.sampled_from([NOW - timedelta(hours=2), NOW + timedelta(days=2)]),
    lang=st.none() | st.sampled_from(["en-US", "ru", "??"]),
)


@settings(max_examples=500, deadline=None)
@given(ENTRIES)
def test_normalize_entry_equals_the_reference(entry: Entry) -> None:
    assert normalize_entry(entry, FEED, NOW) == reference_normalize_entry(entry, FEED, NOW)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(["<", ">", "a", "Z", "/", "!", "?", "1", " ", "\n", "<p", "</b", "\u212a", "İ", "ı",
                                 "é", "[", "`", "@", "_", "<a href='x"]), max_size=12).map("".join))
def test_a_trailing_tag_goes_as_the_pattern_says(s: str) -> None:
    """The last "<" is looked at directly; the pattern (which the reference path uses) decides."""
    assert html._without_trailing_tag(s) == html._TRAILING_TAG.sub("", s)


def test_a_printable_line_needs_no_invisible_character_removed() -> None:
    # html._plain_lines skips the removal on printable lines: every invisible character, and
    # every space but " ", must be unprintable for that to hold.
    invisible = [chr(c) for lo, hi in INVISIBLE_RANGES for c in range(lo, hi)]
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace() and c != 0x20]
    assert not any(c.isprintable() for c in invisible + spaces)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_title_words_by_table_equal_the_pattern(s: str) -> None:
    # identity._title_words reads ASCII titles by a byte table built from _PUNCTUATION
    from bot.core import identity

    spaced = identity._PUNCTUATION.sub(" ", s)
    assert s.encode("ascii").translate(identity._ASCII_PUNCTUATION).decode("ascii") == spaced
