"""HTML of plain tags is read without html.parser (bot/core/feed/html.py) and must come out as
the parser reads it: the same text between tags, the same line breaks; anything the fast path
does not fully understand goes to the parser (None)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.feed.html import _strip_plain_tags, _strip_tags, html_to_text
from bot.core.feed.reference import reference_html_to_text

TAGS = [
    "<p>", "</p>", "<P>", "</P >", "<p\n>", "</p\t>", "<br>", "<br/>", "<br />", "<BR/>", "</br>", "<p/>",
    "<div class=\"a>b\">", "<div class='x<y'>", "<a href=\"https://x.example/?a=1&amp;b=2\">", "</a>",
    "<a href=x/>", "<a href=x>", "<img src='i.png' alt=\"A &amp; B\"/>", "<figure>", "</figure>",
    "<figcaption>", "<h2 id=top>", "</h2>", "<li>", "<ul>", "</ul>", "<blockquote cite=\"u\">", "<q>",
    "<b\tid=1>", "</b\n>", "<a title=\"<b>\">", "<A HREF='y'>", "<span data-x=\"1\" hidden>", "<td colspan=2>",
    "<h1>", "<h10>", "<o:p>", "<my-tag>", "< p>", "</ p>", "<p.x>", "<p\u00a0class=x>", "<p\x0bx>",
    "<a b=\"1\"c=\"2\">", "<a href=\"x>", "<a href='x", "<img src=x alt=>", "<a =x>", "<a href=x y>",
    "<script>", "</script>", "<style>x{}</style>", "<!-- c -->", "<!DOCTYPE html>", "<?xml?>", "<![CDATA[x]]>",
    "<", ">", "&", "&amp;", "&lt;p&gt;", "&#60;b&#62;", "&nbsp;", "&not", "&notit;", "&#x200b;",
    "text", "North Korean troops", " ", "\n", "Курск", "북한", "\u00a0", "'", "\"", "=", "/",
]
HTML = st.lists(st.sampled_from(TAGS) | st.text(max_size=4), max_size=30).map("".join)


@settings(max_examples=3000, deadline=None)
@given(HTML)
def test_plain_tags_read_as_the_parser_reads_them(s: str) -> None:
    fast = _strip_plain_tags(s)
    if fast is not None:
        assert fast == _strip_tags(s)
    assert html_to_text(s) == reference_html_to_text(s)


@pytest.mark.parametrize("s", [
    "<p>North Korean troops</p><p>reached <b>Kursk</b>.</p>",
    "<figure><img src='x.jpg' alt=\"a > b\"/><figcaption>Caption &amp; credit</figcaption></figure>",
    "<div class=\"lead\">Line one<br/>line two</div>",
])
def test_plain_article_html_skips_the_parser(s: str) -> None:
    assert _strip_plain_tags(s) == _strip_tags(s)


@pytest.mark.parametrize("s", [
    "<p>a</p><script>var x = '<p>';</script>", "<!-- note --><p>a</p>", "<p>a < b</p>", "<my-tag>x</my-tag>",
    "<p\u00a0class=x>a</p>", "<a b=\"1\"c=\"2\">x</a>", "</p foo>",
])
def test_anything_else_goes_to_the_parser(s: str) -> None:
    assert _strip_plain_tags(s) is None
