"""format.py: feed text is escaped, links are http(s) only, and every payload fits Discord's limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.model import Link, Message, StoryCard
from bot.platforms.discord.format import (
    COLOUR_UPDATE,
    COLOURS,
    escape,
    fit,
    safe_url,
    to_payloads,
)
from tests.fakes.discord_server import limit_problems

T0 = datetime(2024, 5, 3, 6, 0, tzinfo=UTC)
# Tokens Discord would turn into a ping, a channel/command link or a rendered time.
FORBIDDEN = re.compile(r"@everyone|@here|<@|<#|</|<t:|<a?:\w+:", re.IGNORECASE)


def card(title: str = "Troops seen near the border", *, links: int = 2, summary: str = "Details are unclear.",
         outlet: str = "Outlet", url: str = "https://news.example.org/a", new_facts: tuple[str, ...] = (),
         is_update: bool = False, severity: str = "normal") -> StoryCard:  # fmt: skip
    srcs = tuple(Link(f"{url}?n={i}", f"{outlet} {i}", "en", T0 + timedelta(minutes=i)) for i in range(links))
    return StoryCard("s1", title, summary, "nk-russia", srcs[0], srcs, ("en", "ko"), severity,  # type: ignore[arg-type]
                     is_update, new_facts)  # fmt: skip


def alert(c: StoryCard, kind: str = "alert", **kw: object) -> Message:
    return Message(kind=kind, title="", stories=(c,), marker="alert:s1:desk", **kw)  # type: ignore[arg-type]


VECTORS = [
    "@everyone look at this",
    "ping @HERE now",
    "hi <@123456789012345678>",
    "old style <@!123456789012345678>",
    "role <@&123456789012345678>",
    "channel <#123456789012345678>",
    "run </deskwatch mute:123456789012345678>",
    "at <t:1714725600:R>",
    "emoji <:pepe:123456789012345678> and <a:dance:1>",
    "@\u200beveryone hidden by a zero-width space",
    "<\u200b@123456789012345678> split mention",
    "@every\u2060one word joiner",
    "@\ufeffhere with a BOM",
    "<\u00ad@&1> soft hyphen",
]


@pytest.mark.parametrize("vector", VECTORS)
def test_mentions_and_tokens_are_neutralised_everywhere(vector: str) -> None:
    c = card(vector, summary=vector, outlet=vector, new_facts=(vector,))
    messages = [
        alert(c, fields=((vector, vector),)),
        Message(kind="digest", title=vector, text=vector, stories=(c,)),
        Message(kind="reply", title=vector, text=vector, fields=((vector, vector),), code=vector, stories=(c,)),
    ]
    for message in messages:
        text = json.dumps(to_payloads(message), ensure_ascii=False)
        assert not FORBIDDEN.search(text), vector
        for payload in to_payloads(message):
            assert payload["allowed_mentions"] == {"parse": []}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**bold** __under__ ~~strike~~", r"\*\*bold\*\* \_\_under\_\_ \~\~strike\~\~"),
        ("||spoiler|| `code` \\", r"\|\|spoiler\|\| \`code\` \\"),
        ("[click](https://evil.example)", r"\[click\](https://evil.example)"),
        ("# Heading", r"\# Heading"),
        ("> quote", r"\> quote"),
        ("-# subtext", r"\-# subtext"),
        ("1. first", r"1\. first"),
        ("a - b > c # d 2. e", "a - b > c # d 2. e"),  # mid-line they are harmless
        ("line\x00with\x07controls", "line with controls"),
    ],
)
def test_markdown_is_escaped(text: str, expected: str) -> None:
    assert escape(text) == expected


def test_multiline_escapes_every_line_start() -> None:
    assert escape("intro\n# head\n- item\n> q", multiline=True) == "intro\n\\# head\n\\- item\n\\> q"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ex.org/a_(b)", "https://ex.org/a_%28b%29"),
        ("http://ex.org/x?q=<b>&r=1", "http://ex.org/x?q=%3Cb%3E&r=1"),
        ("HTTPS://ex.org/p%20q#frag", "https://ex.org/p%20q#frag"),
        ("https://[2001:db8::1]:8443/x", "https://[2001:db8::1]:8443/x"),
        ("javascript:alert(1)", None),
        ("data:text/html,<b>hi</b>", None),
        ("ftp://ex.org/file", None),
        ("//ex.org/no-scheme", None),
        ("https://trusted.example@evil.example/", None),
        ("https://ex.org/a b", None),
        ("https://ex.org/\u200bx", None),
        ("https://ex.org/" + "a" * 1000, None),
        ("https://ex)ample.org/", None),
        ("", None),
    ],
)
def test_only_safe_http_links(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_unsafe_source_link_is_shown_as_plain_outlet() -> None:
    c = card(url="javascript:alert(1)//")
    [payload] = to_payloads(alert(c))
    assert "javascript" not in json.dumps(payload) and "Outlet 0" in payload["embeds"][0]["description"]


@given(st.text(), st.integers(min_value=2, max_value=300))
def test_fit_never_exceeds_and_never_revives_a_token(text: str, limit: int) -> None:
    out = fit(text, limit, multiline=True)
    assert len(out) <= limit
    assert not FORBIDDEN.search(out)


def test_alert_shape() -> None:
    [payload] = to_payloads(alert(card(links=3), created=T0))
    [embed] = payload["embeds"]
    assert embed["url"] == "https://news.example.org/a?n=0" and embed["color"] == COLOURS["normal"]
    assert embed["footer"]["text"] == "nk-russia · alert:s1:desk"
    assert [f["name"] for f in embed["fields"]] == ["First reported by", "Languages"]
    assert embed["fields"][0]["value"] == "[Outlet 0](https://news.example.org/a?n=0) · 03 May 06:00 UTC"
    assert embed["description"].count("\n• [Outlet ") == 3


@pytest.mark.parametrize(
    ("kind", "is_update", "facts", "severity", "prefix", "colour"),
    [
        ("alert", False, (), "high", "", COLOURS["high"]),
        ("alert", False, (), "low", "", COLOURS["low"]),
        ("update", True, (), "high", "Update: ", COLOUR_UPDATE),
        ("update", True, ("120 troops",), "high", "New fact: ", COLOURS["high"]),
    ],
)
def test_severity_and_update_marking(
    kind: str, is_update: bool, facts: tuple[str, ...], severity: str, prefix: str, colour: int
) -> None:
    c = card(is_update=is_update, new_facts=facts, severity=severity)
    [embed] = to_payloads(alert(c, kind))[0]["embeds"]
    assert embed["title"] == prefix + "Troops seen near the border" and embed["color"] == colour
    assert ("New facts" in [f["name"] for f in embed["fields"]]) == bool(facts)


def test_oversized_alert_fits_every_limit_and_counts_what_was_left_out() -> None:
    c = card("T" * 3000, links=300, summary="S " * 5000, outlet="O" * 500, new_facts=("fact " * 100,) * 40)
    fields = tuple((f"k{i}" * 100, "v" * 2000) for i in range(40))
    payloads = to_payloads(alert(c, fields=fields))
    assert len(payloads) == 1 and limit_problems(payloads[0]) == []
    desc = payloads[0]["embeds"][0]["description"]
    shown = desc.count("\n• ")
    assert 0 < shown < 300 and desc.endswith(f"…and {300 - shown} more")
    assert payloads[0]["embeds"][0]["footer"]["text"].endswith("alert:s1:desk")


def test_huge_digest_is_split_into_numbered_parts_within_limits() -> None:
    stories = tuple(card("Long title " * 40, links=8, url=f"https://n{n}.example.org/" + "p" * 150)
                    for n in range(60))  # fmt: skip
    payloads = to_payloads(Message(kind="digest", title="Digest", text="60 stories", stories=stories, marker="dg"))
    assert len(payloads) > 3
    assert [limit_problems(p) for p in payloads] == [[]] * len(payloads)
    footers = [p["embeds"][-1]["footer"]["text"] for p in payloads]
    assert footers == [f"dg · {i}/{len(payloads)}" for i in range(1, len(payloads) + 1)]
    text = "".join(e.get("description", "") for p in payloads for e in p["embeds"])
    assert text.count("](https://n") == 60 + 60 * 8  # each title and every source, none cut
    assert text.count("**60.**") == 1


def test_reply_code_block_stays_closed() -> None:
    code = "\n".join(f"feed-{i:03d}  ok  ``` 200" for i in range(500))
    [payload] = to_payloads(Message(kind="reply", title="Feeds", text="All feeds", code=code))
    desc = payload["embeds"][0]["description"]
    assert limit_problems(payload) == [] and desc.count("```") == 2
    assert desc.endswith("more lines)\n```")


def test_digest_without_stories_is_just_the_header() -> None:
    [payload] = to_payloads(Message(kind="digest", title="Digest", text="Nothing new today.", marker="dg"))
    assert payload["embeds"] == [
        {"title": "Digest", "description": "Nothing new today.", "color": COLOURS["normal"], "footer": {"text": "dg"}}
    ]
