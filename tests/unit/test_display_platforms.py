"""Each platform shows the times render gave it in the destination's zone, links the headline to
the report it came from, and (Discord) keeps the story id out of the footer but the marker in."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.render import Display, alert_message, digest_message, thread_note
from bot.model import Message, Story, StorySource
from bot.platforms import console, file, plain
from bot.platforms.discord import format as discord_format
from bot.platforms.slack import format as slack_format

T = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
MARKER = "deskwatch:alert:s-1a2b3c4d:desk-en"
SEOUL = Display(timezone="Asia/Seoul", headline_language="en", summaries={"k1": "English summary."})


def story() -> Story:
    sources = (
        StorySource("k0", "Yonhap", "https://yna.example/ko", "ko", T, "북한군 추가 배치"),
        StorySource("k1", "Reuters", "https://reuters.example/en", "en", T + timedelta(hours=1),
                    "North Korea sends more troops"),
    )
    return Story(id="s-1a2b3c4d", watch="dprk-russia", title="북한군 추가 배치", summary="요약", first_published=T,
                 last_published=T + timedelta(hours=1), sources=sources, score=2.0)


def alert() -> Message:
    return alert_message(story(), marker=MARKER, watch_title="DPRK forces in Russia", now=T, display=SEOUL)


def digest() -> Message:
    return digest_message([story()], marker="deskwatch:digest:x", title="Digest", since=T, now=T, display=SEOUL)


def console_text(message: Message) -> str:
    return console.ConsoleSink("c", io.StringIO(), color=False)._render(message, banner="DIGEST")


def test_discord_alert_footer_keeps_the_marker_and_names_the_story_once() -> None:
    [payload] = discord_format.to_payloads(alert())
    [embed] = payload["embeds"]
    assert embed["footer"]["text"] == f"DPRK forces in Russia · {MARKER}"
    assert json.dumps(embed["footer"]).count("s-1a2b3c4d") == 1
    assert embed["title"] == "North Korea sends more troops"
    assert embed["url"] == "https://reuters.example/en"  # the headline links to its own report
    assert embed["fields"][0]["value"] == "[Yonhap](https://yna.example/ko) · 15 Jan 18:00 KST"
    assert "English summary." in embed["description"]


@pytest.mark.parametrize(
    ("render", "shown"),
    [
        (lambda m: json.dumps(discord_format.to_payloads(m), ensure_ascii=False), "15 Jan 19:00"),
        (lambda m: json.dumps([p.blocks for p in slack_format.to_payloads(m)], ensure_ascii=False),
         "2026-01-15 19:00 KST"),  # the fallback of Slack's date token (readers see their own zone)
        (lambda m: file.render_markdown(m, heading="Digest", tag="<!-- -->"), "2026-01-15 19:00 KST"),
        (console_text, "2026-01-15 19:00 KST"),
    ],
)
def test_digest_times_and_headline_link_on_each_platform(render: object, shown: str) -> None:
    text = render(digest())  # type: ignore[operator]
    assert shown in text and "09:00 UTC" not in text and "10:00 UTC" not in text
    assert "North Korea sends more troops" in text and "북한군 추가 배치" not in text
    assert "2026-01-15 18:00 KST" in text  # "since …" and the digest's own time


def test_slack_digest_headline_links_to_the_report_in_the_desks_language() -> None:
    blocks = json.dumps([p.blocks for p in slack_format.to_payloads(digest())], ensure_ascii=False)
    assert "<https://reuters.example/en|North Korea sends more troops>" in blocks


def test_thread_note_time_in_the_desks_zone() -> None:
    note = thread_note(story(), marker=MARKER, display=SEOUL)
    assert "(en, 2026-01-15 19:00 KST)" in note.text


def test_json_documents_keep_utc_instants() -> None:
    doc = plain.message_document(alert())
    assert doc["created"] == "2026-01-15T09:00:00+00:00"
    assert doc["stories"][0]["links"][1]["published"] == "2026-01-15T10:00:00+00:00"
