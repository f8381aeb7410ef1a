"""/deskwatch subcommands end to end: an interaction payload goes through discord.py's command
tree to a recording CommandsAPI, and the reply reaches the fake Discord as an interaction
callback. The client logs in against the fake, which also receives the command sync."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from bot.commands import Caller, CommandsAPI, Reply
from bot.commands.catalogue import CATALOGUE
from bot.commands.text import run_text
from bot.model import Message
from bot.platforms.discord.client import build_client
from bot.platforms.discord.commands import NEEDS_MANAGE, DeskwatchGroup
from tests.fakes.discord_server import APP_ID, GOOD_TOKEN, FakeDiscord, limit_problems, running_fake_discord

GUILD, CHANNEL, USER = "300000000000000001", "300000000000000002", "300000000000000003"
MANAGE_CHANNELS = 1 << 4
NAMES = ("latest", "search", "story", "feeds", "status", "subscribe", "unsubscribe", "mute", "unmute",
         "digest", "why", "help", "add_feed", "remove_feed")  # fmt: skip
SUBCOMMANDS = tuple(n.replace("_feed", "feed") for n in NAMES)


class RecordingAPI(CommandsAPI):
    """Answers every method with a small reply and records (name, caller, args)."""

    def __init__(self, slow: bool = False) -> None:
        self.calls: list[tuple[str, Caller, tuple[Any, ...]]] = []
        self.slow = slow

    def __getattribute__(self, name: str) -> Any:
        if name not in NAMES:
            return super().__getattribute__(name)

        async def record(caller: Caller, *args: Any) -> Reply:
            if self.slow:
                for _ in range(5):
                    await asyncio.sleep(0)
            self.calls.append((name, caller, args))
            text = f"{name} answered <@&42> @everyone"
            return Reply(Message(kind="reply", title=f"{name} done", text=text), ephemeral=name != "digest")

        return record


def opt(name: str, value: Any) -> dict[str, Any]:
    kind = {bool: 5, int: 4, float: 10, str: 3}[type(value)]
    return {"name": name, "type": kind, "value": value}


def interaction(client: discord.Client, sub: str, options: list[dict[str, Any]], perms: int) -> discord.Interaction:
    user = {"id": USER, "username": "analyst", "discriminator": "0", "avatar": None}
    data = {
        "id": "400000000000000001", "application_id": APP_ID, "token": "interaction-token", "version": 1,
        "type": 2, "guild_id": GUILD, "locale": "en-US", "app_permissions": "0", "attachment_size_limit": 8388608,
        "channel": {"id": CHANNEL, "type": 0, "guild_id": GUILD, "name": "desk", "position": 0},
        "member": {"user": user, "roles": [], "joined_at": "2024-01-01T00:00:00+00:00", "permissions": str(perms),
                   "deaf": False, "mute": False, "flags": 0},
        "data": {"id": "500000000000000001", "name": "deskwatch", "type": 1,
                 "options": [{"type": 1, "name": sub, "options": options}]},
    }  # fmt: skip
    return discord.Interaction(data=data, state=client._connection)  # type: ignore[arg-type]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with running_fake_discord() as server:
        yield server


@pytest.fixture
async def api() -> RecordingAPI:
    return RecordingAPI()


@pytest.fixture
async def client(fake: FakeDiscord, api: RecordingAPI) -> AsyncIterator[discord.Client]:
    c = build_client(api, int(GUILD))
    await c.login(GOOD_TOKEN)  # REST login, then setup_hook syncs the tree to the guild
    errors: list[Exception] = []

    async def on_error(_: discord.Interaction, error: Exception) -> None:
        errors.append(error)

    c.tree.on_error = on_error  # type: ignore[attr-defined]
    yield c
    await c.close()
    assert errors == []


def callbacks(fake: FakeDiscord) -> list[dict[str, Any]]:
    return [r.body for r in fake.sent(suffix="/callback")]


@pytest.mark.parametrize(
    ("sub", "options", "perms", "expected"),
    [
        ("latest", [opt("count", 3)], 0, ("latest", (3,))),
        ("latest", [], 0, ("latest", (5,))),
        ("search", [opt("query", "troops Kursk"), opt("days", 3)], 0, ("search", ("troops Kursk", 3))),
        ("search", [opt("query", "부대")], 0, ("search", ("부대", 7))),
        ("story", [opt("id", "s-42")], 0, ("story", ("s-42",))),
        ("feeds", [], 0, ("feeds", ())),
        ("status", [], 0, ("status", ())),
        ("subscribe", [opt("watch", "nk-russia"), opt("mode", "digest"), opt("schedule", "0 8 * * *")],
         MANAGE_CHANNELS, ("subscribe", ("nk-russia", "digest", "0 8 * * *"))),
        ("subscribe", [opt("watch", "nk-russia")], MANAGE_CHANNELS, ("subscribe", ("nk-russia", "instant", None))),
        ("unsubscribe", [opt("watch", "nk-russia")], MANAGE_CHANNELS, ("unsubscribe", ("nk-russia",))),
        ("mute", [opt("term", "rumour"), opt("hours", 6.0)], MANAGE_CHANNELS, ("mute", ("rumour", 6.0))),
        ("mute", [opt("term", "rumour")], MANAGE_CHANNELS, ("mute", ("rumour", None))),
        ("unmute", [opt("term", "rumour")], MANAGE_CHANNELS, ("unmute", ("rumour",))),
        ("digest", [], MANAGE_CHANNELS, ("digest", ())),
        ("why", [opt("url", "https://example.org/a")], 0, ("why", ("https://example.org/a",))),
        ("help", [], 0, ("help", ())),
        ("addfeed", [opt("url", "https://example.org/rss"), opt("language", "ko")], MANAGE_CHANNELS,
         ("add_feed", ("https://example.org/rss", "ko", None))),
        ("removefeed", [opt("name", "example-org")], MANAGE_CHANNELS, ("remove_feed", ("example-org",))),
    ],
)  # fmt: skip
async def test_each_subcommand_calls_the_api_and_answers(
    fake: FakeDiscord, client: discord.Client, api: RecordingAPI, sub: str, options: list[Any], perms: int,
    expected: tuple[str, tuple[Any, ...]],
) -> None:  # fmt: skip
    await client.tree._call(interaction(client, sub, options, perms))  # type: ignore[attr-defined]
    [(name, caller, args)] = api.calls
    assert (name, args) == expected
    assert caller == Caller(platform="discord", channel=CHANNEL, user=USER, can_manage=bool(perms))
    [body] = callbacks(fake)
    assert body["type"] == 4 and limit_problems(body["data"]) == []
    assert body["data"]["allowed_mentions"]["parse"] == []
    assert bool(body["data"].get("flags", 0) & 64) == (sub != "digest")  # ephemeral as the Reply says
    [embed] = body["data"]["embeds"]
    assert embed["title"] == f"{expected[0]} done".replace("_", "\\_")  # markdown-escaped
    assert "<@&42>" not in embed["description"] and "@everyone" not in embed["description"]


@pytest.mark.parametrize(
    ("sub", "options"),
    [
        ("subscribe", [opt("watch", "nk-russia")]),
        ("unsubscribe", [opt("watch", "nk-russia")]),
        ("mute", [opt("term", "xx")]),
        ("unmute", [opt("term", "x")]),
        ("digest", []),
    ],
)
async def test_settings_need_manage_channels(
    fake: FakeDiscord, client: discord.Client, api: RecordingAPI, sub: str, options: list[Any]
) -> None:
    await client.tree._call(interaction(client, sub, options, perms=1 << 11))  # Send Messages only
    assert api.calls == []
    [body] = callbacks(fake)
    assert body["data"]["flags"] & 64 and body["data"]["embeds"][0]["description"] == NEEDS_MANAGE


@pytest.mark.parametrize(
    ("sub", "options", "needle"),
    [
        ("search", [opt("query", "x" * 201)], "`query` must be 2 to 200 characters (it has 201)."),
        ("latest", [opt("count", 500)], "`count` must be a whole number from 1 to 20."),
        ("why", [opt("url", "http:/")], "`url` must be 8 to 2048 characters (it has 6)."),
        ("mute", [opt("term", "tt"), opt("hours", 0.0)], "`hours` must be a number from 0.25 to 720."),
    ],
)
async def test_arguments_out_of_bounds_are_refused(
    fake: FakeDiscord, client: discord.Client, api: RecordingAPI, sub: str, options: list[Any], needle: str
) -> None:
    await client.tree._call(interaction(client, sub, options, MANAGE_CHANNELS))
    assert api.calls == []
    assert callbacks(fake)[0]["data"]["embeds"][0]["description"] == needle.replace("`", "\\`")


async def test_slow_answer_is_deferred_then_followed_up(fake: FakeDiscord, client: discord.Client) -> None:
    slow = RecordingAPI(slow=True)
    client.tree.remove_command("deskwatch")  # type: ignore[attr-defined]
    client.tree.add_command(DeskwatchGroup(slow, defer_after=0))  # type: ignore[attr-defined]
    await client.tree._call(interaction(client, "status", [], 0))  # type: ignore[attr-defined]
    assert [b["type"] for b in callbacks(fake)] == [5]  # "thinking…", ephemeral
    [follow] = fake.sent(suffix="/interaction-token")
    assert follow.path == f"/webhooks/{APP_ID}/interaction-token" and follow.body["flags"] & 64
    assert follow.body["embeds"][0]["title"] == "status done"


async def test_setup_hook_synced_one_group_to_the_guild(fake: FakeDiscord, client: discord.Client) -> None:
    [put] = [r for r in fake.requests if r.method == "PUT"]
    assert put.path == f"/applications/{APP_ID}/guilds/{GUILD}/commands"
    [group] = put.body
    assert group["name"] == "deskwatch"
    assert sorted(o["name"] for o in group["options"]) == sorted(SUBCOMMANDS)


def test_the_tree_is_the_catalogue() -> None:
    """Every subcommand, option, bound, choice and help text comes from bot/commands/catalogue.py."""
    client = build_client(CommandsAPI(), None)
    tree: Any = client.tree  # type: ignore[attr-defined]
    group = tree.get_command("deskwatch").to_dict(tree)
    declared = {(sub["name"], sub["description"], tuple(
        (p["name"], p.get("required", False), p.get("min_value", p.get("min_length")),
         p.get("max_value", p.get("max_length")), tuple(c["value"] for c in p.get("choices", [])), p["description"])
        for p in sub.get("options", []))) for sub in group["options"]}
    expected = {(c.name, c.help, tuple(
        (a.shown, a.required, None if a.choices else a.low, None if a.choices else a.high, a.choices, a.help)
        for a in c.args)) for c in CATALOGUE}
    assert declared == expected


# --- Discord and Slack enforce the same bounds (issue 11 point 12) --------------------------------
# One table of inputs, each sent as a Discord interaction through discord.py's command tree and as
# Slack command text through the catalogue's parser: both must make the same call, or refuse with
# the same sentence.
Outcome = tuple[str, tuple[Any, ...]] | str  # the call made, or the refusal
LONG = "x" * 200

CASES: list[tuple[str, str, list[dict[str, Any]], Outcome]] = [
    ("latest 20", "latest", [opt("count", 20)], ("latest", (20,))),
    ("latest", "latest", [], ("latest", (5,))),
    ("latest 21", "latest", [opt("count", 21)], "`count` must be a whole number from 1 to 20."),
    ("latest 0", "latest", [opt("count", 0)], "`count` must be a whole number from 1 to 20."),
    ("search troops 365", "search", [opt("query", "troops"), opt("days", 365)], ("search", ("troops", 365))),
    ("search troops Kursk", "search", [opt("query", "troops Kursk")], ("search", ("troops Kursk", 7))),
    ("search troops 366", "search", [opt("query", "troops"), opt("days", 366)],
     "`days` must be a whole number from 1 to 365."),
    ("search x", "search", [opt("query", "x")], "`query` must be 2 to 200 characters (it has 1)."),
    (f"search {LONG}", "search", [opt("query", LONG)], ("search", (LONG, 7))),
    (f"search {LONG}y", "search", [opt("query", LONG + "y")], "`query` must be 2 to 200 characters (it has 201)."),
    ("story " + "s" * 65, "story", [opt("id", "s" * 65)], "`id` must be 1 to 64 characters (it has 65)."),
    ("mute drills 0.25", "mute", [opt("term", "drills"), opt("hours", 0.25)], ("mute", ("drills", 0.25))),
    ("mute drills 0.2", "mute", [opt("term", "drills"), opt("hours", 0.2)],
     "`hours` must be a number from 0.25 to 720."),
    ("mute drills 721", "mute", [opt("term", "drills"), opt("hours", 721.0)],
     "`hours` must be a number from 0.25 to 720."),
    ("mute x", "mute", [opt("term", "x")], "`term` must be 2 to 100 characters (it has 1)."),
    ("unmute x", "unmute", [opt("term", "x")], ("unmute", ("x",))),
    ("subscribe w weekly", "subscribe", [opt("watch", "w"), opt("mode", "weekly")],
     "`mode` must be instant or digest."),
    ("subscribe w digest 0 8 * * * Asia/Seoul", "subscribe",
     [opt("watch", "w"), opt("mode", "digest"), opt("schedule", "0 8 * * * Asia/Seoul")],
     ("subscribe", ("w", "digest", "0 8 * * * Asia/Seoul"))),
    ("subscribe " + "w" * 65, "subscribe", [opt("watch", "w" * 65)], "`watch` must be 1 to 64 characters (it has 65)."),
    ("why http:/", "why", [opt("url", "http:/")], "`url` must be 8 to 2048 characters (it has 6)."),
    ("why https://x.example/" + "a" * 2030, "why", [opt("url", "https://x.example/" + "a" * 2030)],
     ("why", ("https://x.example/" + "a" * 2030,))),
    ("why https://x.example/" + "a" * 2031, "why", [opt("url", "https://x.example/" + "a" * 2031)],
     "`url` must be 8 to 2048 characters (it has 2049)."),
    ("addfeed https://x.example/rss english-language", "addfeed",
     [opt("url", "https://x.example/rss"), opt("language", "english-language")],
     "`language` must be 2 to 12 characters (it has 16)."),
    ("addfeed https://x.example/rss ko " + "n" * 41, "addfeed",
     [opt("url", "https://x.example/rss"), opt("language", "ko"), opt("name", "n" * 41)],
     "`name` must be 2 to 40 characters (it has 41)."),
]  # fmt: skip


def _discord_outcome(fake: FakeDiscord, api: RecordingAPI) -> Outcome:
    if api.calls:
        [(name, _, args)] = api.calls
        return name, args
    description = callbacks(fake)[0]["data"]["embeds"][0]["description"]
    return re.sub(r"\\(.)", r"\1", description)  # Discord's markdown escaping, undone


async def _slack_outcome(text: str) -> Outcome:
    """The Slack side: /deskwatch text through the catalogue's parser, as Commands.run_text does."""
    api = RecordingAPI()
    reply = await run_text(api, Caller(platform="slack", channel="C1", user="U1", can_manage=True), text)
    if api.calls:
        [(name, _, args)] = api.calls
        return name, args
    return reply.message.text


@pytest.mark.parametrize(("text", "sub", "options", "expected"), CASES,
                         ids=[c[0][:40] for c in CASES])
async def test_both_platforms_enforce_the_same_bounds(
    fake: FakeDiscord, client: discord.Client, api: RecordingAPI, text: str, sub: str,
    options: list[dict[str, Any]], expected: Outcome,
) -> None:  # fmt: skip
    await client.tree._call(interaction(client, sub, options, MANAGE_CHANNELS))  # type: ignore[attr-defined]
    assert _discord_outcome(fake, api) == expected
    assert await _slack_outcome(text) == expected
