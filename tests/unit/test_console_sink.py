"""ConsoleSink: readable aligned text, colour only on a TTY, feed text unable to drive the terminal."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest

from bot.model import Link, Message, StoryCard
from bot.platforms.console import ConsoleSink, display_width, wrap
from bot.platforms.plain import strip_controls

T0 = datetime(2026, 1, 12, 6, 10, tzinfo=UTC)
T1 = datetime(2026, 1, 12, 9, 45, tzinfo=UTC)
YONHAP = Link("https://en.yna.co.kr/view/AEN20260112000100315", "Yonhap", "en", T0, "Kim visits art studio")
YNA_KO = Link("https://www.yna.co.kr/view/AKR20260112031200504", "연합뉴스", "ko", T1, "김정은, 조각 창작 점검")
TASS = Link("https://tass.ru/mezhdunarodnaya-panorama/26110001", "ТАСС", "ru", T1, "Ким осмотрел скульптуры")
CARD = StoryCard(
    "st-memorial",
    "Kim inspects memorial sculptures",
    "Kim Jong Un toured the studio.",
    "dprk-russia",
    YONHAP,
    (YONHAP, YNA_KO, TASS),
    ("en", "ko", "ru"),
    "high",
)
ALERT = Message(
    "alert",
    CARD.title,
    CARD.summary,
    (CARD,),
    footer="DPRK forces in Russia · story st-memorial",
    marker="alert:st-memorial:console",
    created=T0,
)


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


async def render(message: Message, *, stream: io.StringIO | None = None, color: bool | None = None) -> str:
    out = stream if stream is not None else io.StringIO()
    await ConsoleSink("console", out, color=color).send(message)
    return out.getvalue()


async def test_alert_shows_title_summary_every_source_first_story_and_watch() -> None:
    text = await render(ALERT)
    for needle in [
        "ALERT",
        "Kim inspects memorial sculptures",
        "Kim Jong Un toured the studio.",
        "Yonhap",
        "연합뉴스",
        "ТАСС",
        "2026-01-12 06:10 UTC",
        "2026-01-12 09:45 UTC",
        YONHAP.url,
        TASS.url,
        "First reported by  Yonhap (en, 2026-01-12 06:10 UTC)",
        "st-memorial",
        "dprk-russia",
        "marker alert:st-memorial:console",
        "[high]",
    ]:
        assert needle in text, needle
    assert text.count("Kim Jong Un toured the studio.") == 1  # the summary is not printed twice


async def test_source_columns_line_up_even_with_hangul_outlets() -> None:
    text = await render(ALERT)
    rows = [line for line in text.splitlines() if re.match(r"\s+\d+\. ", line)]
    assert len(rows) == 3
    # The time column starts at the same terminal column on every row (a Hangul syllable takes
    # two columns; counted here independently of the sink's own measure).
    starts = {len(row[: row.index("2026-")]) + len(re.findall("[가-힣]", row[: row.index("2026-")])) for row in rows}
    assert len(starts) == 1


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("Yonhap", 6),
        ("연합뉴스", 8),
        ("ТАСС", 4),
        ("조선중앙통신 KCNA", 17),
        ("e\u0301", 1),
        ("", 0),
    ],
)
def test_display_width(text: str, columns: int) -> None:
    assert display_width(text) == columns


async def test_refs_count_up_and_find_sent_knows_nothing() -> None:
    sink = ConsoleSink("console", io.StringIO())
    assert [await sink.send(ALERT), await sink.send(ALERT)] == ["console:1", "console:2"]
    assert await sink.find_sent(ALERT.marker) is None
    assert sink.sent_markers == [ALERT.marker, ALERT.marker]


@pytest.mark.parametrize("method", ["edit", "reply"])
async def test_edit_and_reply_print_an_update_block_naming_the_ref(method: str) -> None:
    out = io.StringIO()
    sink = ConsoleSink("console", out)
    await getattr(sink, method)("console:7", ALERT)
    first_line = out.getvalue().splitlines()[0]
    assert "UPDATE" in first_line and "console:7" in first_line


async def test_digest_is_a_numbered_list_in_order() -> None:
    other = StoryCard("st-pow", "Captured soldiers interviewed", "", "dprk-russia", TASS, (TASS,), ("ru",), "normal")
    digest = Message(
        "digest",
        "Morning digest",
        "2 stories since 2026-01-11 22:00 UTC.",
        (CARD, other),
        marker="digest:dprk-russia:0111",
    )
    text = await render(digest)
    numbered = re.findall(r"^\s+(\d+)\. \[\w+\] (.+)$", text, flags=re.M)
    assert numbered == [("1", "Kim inspects memorial sculptures"), ("2", "Captured soldiers interviewed")]
    assert "2 stories since" in text
    for link in (*CARD.links, TASS):  # every source of every story, not just the first
        assert link.url in text


async def test_reply_aligns_fields_and_keeps_the_code_block() -> None:
    reply = Message(
        "reply",
        "Feed status",
        fields=(("Feeds", "7 healthy"), ("Last poll", "06:10 UTC")),
        code="feed        status\nyonhap-en   ok\ntass-ru     304",
    )
    text = await render(reply)
    values = [line.index(v) for line in text.splitlines() for v in ("7 healthy", "06:10 UTC") if v in line]
    assert len(values) == 2 and values[0] == values[1]
    assert "│ yonhap-en   ok" in text and "│ tass-ru     304" in text


@pytest.mark.parametrize("text", [
    "North Korean engineers arrive in the Kursk region to clear mines " * 4,
    "국가정보원은 19일 국회 정보위원회 비공개 회의에서 러시아에 파병된 북한군의 사상자가 늘었다고 보고했다",
    "北朝鮮の兵士" * 12 + " end",  # no spaces: must be broken by columns
    "see https://www.nknews.org/" + "a" * 90 + " then",
])
def test_wrap_keeps_every_line_within_the_columns_and_loses_nothing(text: str) -> None:
    lines = wrap(text, 40, "  ")
    assert all(display_width(line) <= 40 for line in lines)
    assert all(line.startswith("  ") for line in lines)
    assert "".join("".join(line.split()) for line in lines) == "".join(text.split())


HOSTILE = [
    # feed text, what must survive
    ("\x1b[31mRed\x1b[0m headline", "Red headline"),
    ("Before\x1b[2J\x1b[Hafter", "Beforeafter"),
    ("Title\x1b]0;owned window\x07 rest", "Title rest"),
    ("Link \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ here", "Link click here"),
    ("Bell\x07 and backspace\x08 gone", "Bell and backspace gone"),
    ("8-bit \x9b31mCSI\x9b0m too", "8-bit CSI too"),
    ("reset \x1bc then text", "reset  then text"),
    ("bidi \u202eesrever\u202c trick", "bidi esrever trick"),
    ("unterminated \x1b[", "unterminated "),
]


@pytest.mark.parametrize(("dirty", "clean"), HOSTILE)
def test_strip_controls(dirty: str, clean: str) -> None:
    assert strip_controls(dirty) == clean


@pytest.mark.parametrize(("dirty", "clean"), HOSTILE)
async def test_feed_text_cannot_drive_the_terminal(dirty: str, clean: str) -> None:
    link = Link(f"https://example.org/a?{dirty}", dirty, "en", T0, dirty)
    card = StoryCard("st-x", dirty, dirty, "dprk-russia", link, (link,), ("en",))
    text = await render(
        Message("alert", dirty, dirty, (card,), fields=((dirty, dirty),), code=dirty, footer=dirty, marker="m"),
        color=False,
    )
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
    assert " ".join(clean.split()) in " ".join(text.split())


@pytest.mark.parametrize(
    ("stream", "color", "coloured"),
    [
        (io.StringIO(), None, False),  # a pipe or file: plain
        (TTY(), None, True),  # a terminal: colour
        (io.StringIO(), True, True),  # forced on
        (TTY(), False, False),  # forced off
    ],
)
async def test_colour_only_for_a_tty_or_when_asked(stream: io.StringIO, color: bool | None, coloured: bool) -> None:
    text = await render(ALERT, stream=stream, color=color)
    assert ("\x1b[" in text) is coloured


async def test_colour_codes_come_only_from_us_never_from_the_feed() -> None:
    card = StoryCard("st-x", "x", "\x1b[5mblink\x1b[0m", "dprk-russia", YONHAP, (YONHAP,), ("en",))
    text = await render(Message("alert", "x", card.summary, (card,)), color=True)
    assert "\x1b[5m" not in text and "blink" in text


async def test_an_ascii_only_terminal_gets_replacement_characters_not_a_crash() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    await ConsoleSink("console", stream).send(ALERT)
    stream.flush()
    assert b"Yonhap" in raw.getvalue() and b"????" in raw.getvalue()
