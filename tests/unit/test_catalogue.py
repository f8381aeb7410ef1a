"""The command catalogue: help is built from it, typed text is parsed by it, and its texts fit
Discord's limits (a command or option description over 100 characters fails the command sync)."""

from __future__ import annotations

import pytest

from bot.commands.catalogue import CATALOGUE, BadArgument, manager_commands
from bot.commands.text import parse
from bot.core import lookup

MANAGERS = {"subscribe", "unsubscribe", "mute", "unmute", "digest", "addfeed", "removefeed"}


def test_who_may_run_what() -> None:
    assert manager_commands() == MANAGERS


def test_help_is_the_catalogue() -> None:
    lines = (lookup.help_message().code or "").splitlines()
    assert [line.split()[1] for line in lines] == [c.name for c in CATALOGUE]
    for line, command in zip(lines, CATALOGUE, strict=True):
        assert command.usage() in line
        assert line.endswith("(managers)") == (command.name in MANAGERS)


def test_texts_fit_discord() -> None:
    for c in CATALOGUE:
        assert 1 <= len(c.help) <= 100 and c.name.islower()
        assert all(1 <= len(a.help) <= 100 for a in c.args)


@pytest.mark.parametrize(("text", "name", "values"), [
    ("", "help", {}),
    ("LATEST 5", "latest", {"count": 5}),
    ('search "kim jong un" 3', "search", {"query": "kim jong un", "days": 3}),
    ("search troops in Kursk", "search", {"query": "troops in Kursk"}),
    ("search 2024", "search", {"query": "2024"}),  # one word: the query, not days
    ("search troops 2024 3", "search", {"query": "troops 2024", "days": 3}),
    ('search "unbalanced', "search", {"query": "unbalanced"}),
    ("mute war games 6", "mute", {"term": "war games", "hours": 6.0}),
    ("mute war games", "mute", {"term": "war games"}),
    ("unmute war games", "unmute", {"term": "war games"}),
    ("subscribe w", "subscribe", {"watch": "w"}),
    ("subscribe w digest 0 8 * * 1 Asia/Seoul", "subscribe",
     {"watch": "w", "mode": "digest", "schedule": "0 8 * * 1 Asia/Seoul"}),
    ("addfeed https://x.example/rss ko x-feed", "addfeed",
     {"url": "https://x.example/rss", "language": "ko", "name": "x-feed"}),
    ("latest 5 and more", "latest", {"count": 5}),  # words beyond the arguments are ignored
])  # fmt: skip
def test_parse(text: str, name: str, values: dict[str, object]) -> None:
    command, got = parse(text)
    assert (command.name, got) == (name, values)


@pytest.mark.parametrize(("text", "message"), [
    ("bogus", "Unknown command `bogus`."),
    ("story", "`story` needs <id>: /deskwatch story <id>"),
    ("latest many", "`count` must be a whole number from 1 to 20."),
    ("latest 2.5", "`count` must be a whole number from 1 to 20."),
    ("mute drills nan", "`hours` must be a number from 0.25 to 720."),
    ("mute drills inf", "`hours` must be a number from 0.25 to 720."),
])  # fmt: skip
def test_parse_refuses_in_one_sentence(text: str, message: str) -> None:
    with pytest.raises(BadArgument) as info:
        parse(text)
    assert str(info.value) == message
