"""Slack Block Kit mapping: limits, splitting, escaping of hostile feed text, link safety."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.model import Link, Message, StoryCard
from bot.platforms.slack.format import (
    MAX_BLOCKS,
    MAX_CONTEXT_ELEMENTS,
    MAX_HEADER_TEXT,
    MAX_LINK_LABEL,
    MAX_SECTION_TEXT,
    MAX_TEXT,
    SlackPayload,
    escape,
    fit,
    link,
    safe_url,
    to_payloads,
)

T0 = datetime(2024, 11, 4, 6, 30, tzinfo=UTC)


def card(n: int, *, sources: int = 3, text: str = "", url: str = "", outlet: str = "") -> StoryCard:
    links = tuple(
        Link(
            url=url or f"https://news{i}.example/{n}/report-{i}?ref=feed&lang=en",
            outlet=outlet or f"Outlet {i}",
            lang=("en", "ko", "ru", "uk")[i % 4],
            published=T0 + timedelta(minutes=i),
            title=text or f"Report {i} on story {n}",
        )
        for i in range(sources)
    )
    return StoryCard(
        story_id=f"st-{n:04d}",
        title=text or f"Story {n}: troop movement near the border",
        summary=text or f"Summary of story {n}, written for the test.",
        watch="dprk-russia",
        first=links[0],
        links=links,
        languages=tuple(dict.fromkeys(link.lang for link in links)),
    )


def texts(payload: SlackPayload) -> list[str]:
    """Every text string a reader would see, from every block."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(list(payload.blocks))
    return [*out, payload.text]


def assert_within_limits(payload: SlackPayload) -> None:
    assert len(payload.blocks) <= MAX_BLOCKS
    assert len(payload.text) <= MAX_TEXT
    for block in payload.blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER_TEXT
        if block["type"] == "context":
            assert len(block["elements"]) <= MAX_CONTEXT_ELEMENTS


LINK = re.compile(r"<([^<>]*)>")


def angle_groups(payload: SlackPayload) -> list[str]:
    return [g for t in texts(payload) for g in LINK.findall(t)]


def test_sixty_story_digest_splits_within_limits_and_keeps_every_link_whole() -> None:
    long = "A long paragraph about the front line, repeated. " * 40
    stories = tuple(card(n, sources=8, text=f"{n} {long}") for n in range(60))
    payloads = to_payloads(Message(kind="digest", title="Daily digest", stories=stories, footer="deskwatch"))

    assert len(payloads) > 1
    for p in payloads:
        assert_within_limits(p)
    assert payloads[0].blocks[0]["type"] == "header"
    assert all(p.blocks[0]["type"] == "context" for p in payloads[1:])  # "part n of m"
    # Every source URL of every story is present, whole, inside one link.
    urls = {g.split("|")[0] for p in payloads for g in angle_groups(p) if g.startswith("http")}
    for s in stories:
        for src in s.links:
            assert safe_url(src.url) in urls
    assert payloads[-1].blocks[-1]["elements"][0]["text"] == "deskwatch"


def test_alert_with_hundreds_of_sources_stays_one_message() -> None:
    big = card(1, sources=400, text="x" * 900)
    payloads = to_payloads(Message(kind="alert", title="Alert", stories=(big,)))
    assert len(payloads) == 1
    assert_within_limits(payloads[0])
    assert "more sections of sources not shown" in json.dumps(payloads[0].blocks)


def test_alert_layout_header_summary_context_and_sources() -> None:
    c = card(7)
    (p,) = to_payloads(Message(kind="alert", title="Troops seen", stories=(c,), marker="m-1"))
    kinds = [b["type"] for b in p.blocks]
    assert kinds[:4] == ["header", "section", "context", "divider"]
    context = " ".join(e["text"] for e in p.blocks[2]["elements"])
    assert "dprk-russia" in context and "Outlet 0" in context and "st-0007" in context
    sources = p.blocks[4]["text"]["text"]
    assert sources.count("<https://") == 3 and "· ko ·" in sources and "<!date^" in sources


def test_update_title_and_new_facts() -> None:
    c = StoryCard(**{**card(2).__dict__, "is_update": True, "new_facts": ("a second brigade",)})
    (p,) = to_payloads(Message(kind="update", title="Troops seen", stories=(c,)))
    assert p.blocks[0]["text"]["text"] == "Update: Troops seen"
    assert "a second brigade" in json.dumps(p.blocks)


def test_reply_fields_and_code_block() -> None:
    code = "\n".join(f"feed-{i:03d}  ok  {i * 3} items" for i in range(400))
    msg = Message(
        kind="reply", title="Feeds", text="All feeds", fields=(("Healthy", "12"), ("Failing", "1")), code=code
    )
    (p,) = to_payloads(msg)
    assert_within_limits(p)
    field_block = next(b for b in p.blocks if "fields" in b)
    assert field_block["fields"][0]["text"] == "*Healthy*\n12"
    code_texts = [b["text"]["text"] for b in p.blocks if "text" in b and "```" in b["text"]["text"]]
    assert len(code_texts) > 1 and all(t.startswith("```\n") and t.endswith("\n```") for t in code_texts)


@pytest.mark.parametrize("unfurl", [False, True])
def test_unfurl_follows_destination(unfurl: bool) -> None:
    (p,) = to_payloads(Message(kind="reply", title="Hi", text="there"))
    kw = p.kwargs(unfurl=unfurl)
    assert kw["unfurl_links"] is unfurl and kw["unfurl_media"] is unfurl


HOSTILE = [
    "<!channel> attack",
    "<!here|here>",
    "<!everyone>",
    "<!subteam^S0123|@desk> please",
    "ping <@U024BE7LH>",
    "see <#C024BE7LR|general>",
    "<http://evil.example|Reuters>",
    "<https://evil.example>",
    "<!chan\u200bnel>",
    "&lt;!channel&gt;",
    "\u202eknil desiugsid<http://evil.example>",
    "<<!channel>>",
]


@pytest.mark.parametrize("where", ["title", "summary", "outlet", "link_title", "text", "footer", "field"])
@pytest.mark.parametrize("vector", HOSTILE)
def test_hostile_feed_text_cannot_mention_or_link(vector: str, where: str) -> None:
    base = card(1, sources=2)
    link = Link(
        url="https://ok.example/a",
        outlet=vector if where == "outlet" else "Outlet",
        lang="en",
        published=T0,
        title=vector if where == "link_title" else "t",
    )
    story = StoryCard(
        story_id="st-1",
        title=vector if where == "title" else base.title,
        summary=vector if where == "summary" else base.summary,
        watch="w",
        first=link,
        links=(link,),
        languages=("en",),
    )
    for kind in ("alert", "digest", "reply"):
        msg = Message(
            kind=kind,
            title=vector if where == "title" else "Title",
            text=vector if where == "text" else "",
            stories=(story,),
            footer=vector if where == "footer" else "",
            fields=((vector, vector),) if where == "field" else (),
        )
        for p in to_payloads(msg):
            for group in angle_groups(p):
                # The only markup left is ours: a date, or a link to the feed's own http(s) URL.
                assert group.startswith(("!date^", "https://ok.example/a|")), group
            blob = json.dumps(list(p.blocks), ensure_ascii=False) + p.text
            assert "\u200b" not in blob and "\u202e" not in blob
            # verbatim: Slack must not auto-parse bare "@channel" or "#general" in feed text.
            assert blob.count('"type": "mrkdwn"') == blob.count('"verbatim": true') > 0


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ok.example/a?x=1&y=2", "https://ok.example/a?x=1&amp;y=2"),
        ("HTTP://ok.example/", "http://ok.example/"),
        ("https://ok.example/a|b>c<d", "https://ok.example/a%7Cb%3Ec%3Cd"),
        ("https://ok.example/a b", "https://ok.example/a%20b"),
        ("https://ok.example/%7C", "https://ok.example/%7C"),
        ("https://ok.exa\u200bmple/", "https://ok.example/"),
        ("javascript:alert(1)", None),
        ("data:text/html,hi", None),
        ("ftp://ok.example/file", None),
        ("https://", None),
        ("//ok.example/a", None),
        ("https://ok|evil.example/", None),
        ("https://ok.example/" + "a" * 3000, None),
    ],
)
def test_safe_url(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_unsafe_url_shows_plain_label() -> None:
    bad = card(1, sources=1, url="javascript:alert(1)")
    (p,) = to_payloads(Message(kind="alert", title="x", stories=(bad,)))
    assert "javascript" not in json.dumps(list(p.blocks))
    assert "Report 0 on story 1" in json.dumps(list(p.blocks))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a & b", "a &amp; b"),
        ("<x>", "&lt;x&gt;"),
        ("z\u200bw\u2060j\ufeff", "zwj"),
        ("tab\tok\nline", "tab\tok\nline"),
    ],
)
def test_escape(text: str, expected: str) -> None:
    assert escape(text) == expected


@given(st.text(alphabet="&<>ab \u200b", max_size=300), st.integers(min_value=2, max_value=120))
def test_fit_never_exceeds_limit_nor_cuts_an_entity(text: str, limit: int) -> None:
    out = fit(text, limit)
    assert len(out) <= limit
    body = out.removesuffix("…")
    assert re.sub(r"&(amp|lt|gt);", "", body).count("&") == 0  # no half entity like "&am"
    assert "<" not in out and ">" not in out


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("Troops seen near the border", "Troops seen near the border"),
        ("word " * 60, ("word " * 39).strip() + "…"),  # cut after a whole word, marked
        ("R&D " * 60, ("R&amp;D " * 24).strip() + "…"),  # escaped, then cut: no half entity
        ("x" * 300, "x" * 199 + "…"),  # one long word: cut where it must be
    ],
)
def test_link_labels_are_cut_at_a_word_with_an_ellipsis(label: str, shown: str) -> None:
    assert link("https://news.example.org/a", label) == f"<https://news.example.org/a|{shown}>"
    assert len(shown) <= MAX_LINK_LABEL
