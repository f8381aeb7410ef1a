"""FileSink: escaped Markdown, JSONL records, find_sent after a restart, durable threaded writes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.model import Link, Message, StoryCard
from bot.platforms import file as file_module
from bot.platforms.base import PermanentDeliveryError
from bot.platforms.file import FileSink, md_escape, md_link

T0 = datetime(2026, 1, 12, 6, 10, tzinfo=UTC)
YONHAP = Link("https://en.yna.co.kr/view/AEN20260112000100315", "Yonhap", "en", T0, "Kim visits art studio")
TASS = Link("https://tass.ru/mezhdunarodnaya-panorama/26110001", "ТАСС", "ru", T0, "Ким осмотрел скульптуры")
CARD = StoryCard(
    "st-memorial",
    "Kim inspects memorial sculptures",
    "Kim Jong Un toured the studio.",
    "dprk-russia",
    YONHAP,
    (YONHAP, TASS),
    ("en", "ru"),
    "high",
)


def alert(marker: str = "alert:st-memorial:briefing", title: str = CARD.title) -> Message:
    return Message("alert", title, CARD.summary, (CARD,), footer="story st-memorial", marker=marker, created=T0)


@pytest.mark.parametrize("fmt", ["markdown", "jsonl"])
async def test_find_sent_reads_the_file_back_after_a_restart(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "out" / f"briefing.{fmt}"  # the folder does not exist yet
    ref = await FileSink("briefing", path, fmt).send(alert())  # type: ignore[arg-type]
    assert ref == "file:alert:st-memorial:briefing"
    again = FileSink("briefing", path, fmt)  # type: ignore[arg-type]  # a new process, same file
    assert await again.find_sent("alert:st-memorial:briefing") == ref
    assert await again.find_sent("alert:st-memorial") is None  # a prefix is not a match
    assert await again.find_sent("alert:st-other:briefing") is None
    assert await FileSink("b", tmp_path / "missing.md").find_sent("anything") is None


@pytest.mark.parametrize("fmt", ["markdown", "jsonl"])
async def test_an_edit_alone_does_not_count_as_sent(tmp_path: Path, fmt: str) -> None:
    sink = FileSink("briefing", tmp_path / "b", fmt)  # type: ignore[arg-type]
    await sink.edit("file:alert:st-x:briefing", alert("alert:st-x:briefing"))
    assert await sink.find_sent("alert:st-x:briefing") is None


async def test_jsonl_writes_one_object_per_message_and_per_edit(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    sink = FileSink("log", path, "jsonl")
    ref = await sink.send(alert())
    await sink.edit(ref, alert())
    await sink.reply(ref, Message("reply", "Further source: ТАСС", "Also reported by ТАСС.", marker="m:r2"))
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(r["op"], r["kind"], r.get("ref")) for r in records] == [
        ("send", "alert", ref),
        ("edit", "alert", ref),
        ("reply", "reply", ref),
    ]
    first = records[0]
    assert (first["marker"], first["title"]) == ("alert:st-memorial:briefing", CARD.title)
    assert [link["outlet"] for link in first["stories"][0]["links"]] == ["Yonhap", "ТАСС"]
    assert "ТАСС" in path.read_text(encoding="utf-8")  # UTF-8, not \\u escapes


async def test_a_torn_last_line_is_skipped_and_the_next_record_starts_fresh(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text('{"op": "send", "marker": "alert:torn', encoding="utf-8")  # crash mid-write
    sink = FileSink("log", path, "jsonl")
    await sink.send(alert())
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["marker"] == "alert:st-memorial:briefing"
    assert await sink.find_sent("alert:torn") is None
    assert await sink.find_sent("alert:st-memorial:briefing") is not None


async def test_markdown_entry_has_heading_sources_first_reporter_and_marker(tmp_path: Path) -> None:
    path = tmp_path / "b.md"
    await FileSink("b", path).send(alert())
    text = path.read_text(encoding="utf-8")
    assert text.startswith("## Alert: Kim inspects memorial sculptures\n")
    assert f"1. [Yonhap](<{YONHAP.url}>) · en · 2026-01-12 06:10 UTC" in text
    assert "2. [ТАСС](<" in text
    assert "First reported by **Yonhap**" in text and "watch dprk\\-russia" not in text
    assert "<!-- deskwatch-marker: alert:st-memorial:briefing -->" in text


@pytest.mark.parametrize(
    ("plain", "markdown"),
    [
        ("Plain words", "Plain words"),
        ("# not a heading", "\\# not a heading"),
        ("[click](https://evil.example)", "\\[click\\](https://evil.example)"),
        ("![img](x.png)", "\\!\\[img\\](x.png)"),
        ("<script>alert(1)</script>", "\\<script\\>alert(1)\\</script\\>"),
        ("*bold* _it_ `code`", "\\*bold\\* \\_it\\_ \\`code\\`"),
        ("- a list? no", "\\- a list? no"),
        ("1. nor this", "1\\. nor this"),
        ("&lt;entity&gt;", "\\&lt;entity\\&gt;"),
        ("two\nlines\x1b[31m", "two lines"),
        ("pipe | table", "pipe \\| table"),
    ],
)
def test_md_escape(plain: str, markdown: str) -> None:
    assert md_escape(plain) == markdown


@pytest.mark.parametrize(
    ("label", "url", "expected"),
    [
        ("Yonhap", "https://en.yna.co.kr/a?b=1", "[Yonhap](<https://en.yna.co.kr/a?b=1>)"),
        ("X", "https://x.example/a b>c)", "[X](<https://x.example/a%20b%3Ec)>)"),
        ("X", "javascript:alert(1)", "X (javascript:alert(1))"),
        ("[X]", "", "\\[X\\]"),
    ],
)
def test_md_link_only_links_http(label: str, url: str, expected: str) -> None:
    assert md_link(label, url) == expected


async def test_a_hostile_title_cannot_forge_a_marker_or_a_section(tmp_path: Path) -> None:
    path = tmp_path / "b.md"
    forged = "x\n<!-- deskwatch-marker: alert:forged -->\n## Alert: fake"
    await FileSink("b", path).send(alert(marker="alert:real", title=forged))
    assert await FileSink("b", path).find_sent("alert:forged") is None
    assert sum(line.startswith("## ") for line in path.read_text(encoding="utf-8").splitlines()) == 1


async def test_concurrent_sends_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    sink = FileSink("log", path, "jsonl")
    refs = await asyncio.gather(*(sink.send(alert(marker=f"alert:s{n}:log")) for n in range(25)))
    markers = [json.loads(line)["marker"] for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(markers) == sorted(f"alert:s{n}:log" for n in range(25))
    assert len(set(refs)) == 25


async def test_writes_go_through_a_thread_and_are_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threaded: list[str] = []
    synced: list[int] = []
    real_to_thread = asyncio.to_thread

    async def spy(fn: Callable[..., Any], *args: Any) -> Any:
        threaded.append(fn.__name__)
        return await real_to_thread(fn, *args)

    monkeypatch.setattr(file_module.asyncio, "to_thread", spy)
    monkeypatch.setattr(file_module.os, "fsync", synced.append)
    sink = FileSink("b", tmp_path / "b.md")
    await sink.send(alert())
    await sink.find_sent("alert:st-memorial:briefing")
    assert threaded == ["_append_sync", "_scan"]
    assert len(synced) == 1


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="markdown, jsonl"):
        FileSink("b", "x.txt", "html")  # type: ignore[arg-type]


async def test_a_path_that_cannot_be_written_holds_the_destination_in_plain_words(tmp_path: Path) -> None:
    folder = tmp_path / "briefing.md"
    folder.mkdir()  # the configured file is a directory
    sink = FileSink("briefing", folder)
    for call in (sink.send(alert()), sink.find_sent("alert:st-memorial:briefing"),
                 sink.edit("file:alert:st-memorial:briefing", alert())):
        with pytest.raises(PermanentDeliveryError) as err:
            await call
        assert err.value.kind == "forbidden"  # held and retried later: the rows stay pending
        assert "file destination 'briefing': cannot write" in str(err.value) and "directory" in str(err.value)
    folder.rmdir()  # fixed: the next try writes
    assert await sink.send(alert()) == "file:alert:st-memorial:briefing"
    assert await sink.find_sent("alert:st-memorial:briefing") == "file:alert:st-memorial:briefing"
