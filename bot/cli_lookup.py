"""The slash commands from a terminal: `deskwatch latest|search|story|status|digest|why|feeds`.

Each runs the same `Commands` method a Discord or Slack user reaches (bot/commands_impl.py; the
checks and the wording are core/lookup.py's) for a console caller who may manage — the operator
owns the machine — and prints the reply as plain text. Read-only commands never create a
database: with none yet, they say where it will be and exit 1.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.commands import Caller, Reply
from bot.commands_impl import Commands
from bot.core.lookup import BadArgument
from bot.logs import say
from bot.model import Message, StoryCard
from bot.platforms.plain import one_line, strip_controls
from bot.settings import Settings
from bot.store.base import Store

READ_ONLY = ("feeds", "why", "latest", "search", "story", "status")
CONSOLE = Caller(platform="discord", channel="cli", user="cli", can_manage=True)
# The bot's uptime is not recorded in the database; from here it would be this command's own.
NOT_FROM_A_TERMINAL = ("Up for",)


def utcnow() -> datetime:
    return datetime.now(UTC)


def exists(path: str) -> bool:
    # Anything at the path counts: a folder or a damaged file gets open()'s own one-line verdict.
    return path == ":memory:" or path.startswith("file:") or Path(path).exists()


def no_database(settings: Settings, command: str) -> int:
    say(f"deskwatch {command}: no database at {settings.storage.path} yet; `deskwatch once` or `deskwatch run` "
        "creates it", logging.WARNING)
    return 1


async def read_only(settings: Settings, command: str, args: argparse.Namespace) -> int:
    """A command that only reads: feeds, why, latest, search, story, status."""
    if not settings.storage.url and not exists(settings.storage.path):  # PostgreSQL: open() says
        return no_database(settings, command)
    from bot.pipeline import Context
    from bot.store import store_for

    store = store_for(settings.storage, create=False)  # never made here, even in a race with the check
    await store.open()
    try:
        await store.sync_feeds([(f.name, f.url) for f in settings.feeds])  # feeds not polled yet show too
        if command == "feeds":
            return await _feeds(settings, store)
        commands = Commands(Context(settings=settings, store=store), utcnow)
        call: dict[str, Callable[[], Awaitable[Reply]]] = {
            "why": lambda: _raw(commands.why)(CONSOLE, args.url),
            "latest": lambda: _raw(commands.latest)(CONSOLE, args.count),
            "search": lambda: _raw(commands.search)(CONSOLE, " ".join(args.query), args.days),
            "story": lambda: _raw(commands.story)(CONSOLE, args.story_id),
            "status": lambda: _raw(commands.status)(CONSOLE),
        }
        try:
            reply = await call[command]()
        except BadArgument as exc:
            say(f"deskwatch {command}: {exc}", logging.ERROR)
            return 2
    finally:
        await store.close()
    message = reply.message
    if command == "status":
        message = replace(message, fields=tuple(f for f in message.fields if f[0] not in NOT_FROM_A_TERMINAL))
    print(plain_text(message))
    found = {"search": bool(message.stories), "story": bool(message.stories), "why": bool(message.fields)}
    return 0 if found.get(command, True) else 1  # nothing found is 1, as grep says it


async def digest(settings: Settings, destination: str) -> int:
    """Queue and post one destination's digest now (managers' command; the operator may)."""
    if not settings.storage.url and not exists(settings.storage.path):  # PostgreSQL: open() says
        return no_database(settings, "digest")
    from bot.app import close_context, open_context
    from bot.routing import all_subscriptions

    ctx, factory = await open_context(settings, with_fetcher=False)
    try:
        names = sorted({s.destination for s in await all_subscriptions(ctx)})
        if destination not in names:
            say(f"deskwatch digest: no subscription sends to {destination!r}; destinations with a subscription: "
                f"{', '.join(names) or 'none'}", logging.ERROR)
            return 2
        started = utcnow()
        commands = Commands(ctx, utcnow)
        reply = await _raw(commands.digest)(CONSOLE, destination=destination)
        health = (await ctx.store.destination_health()).get(destination)
    finally:
        await close_context(ctx, factory)
    print(plain_text(reply.message))
    if health is not None and not health[0] and health[2] >= started:
        say(f"deskwatch digest: {destination} could not be posted to: {health[1]}; the digest waits in the "
            "outbox for the next delivery pass", logging.ERROR)
        return 1
    return 0


def _raw(method: Callable[..., Awaitable[Reply]]) -> Callable[..., Awaitable[Reply]]:
    """The method without the `friendly` wrapper, which turns a bad argument into a chat reply:
    here it is a usage error (exit 2)."""
    inner = getattr(method, "__wrapped__", None)
    if inner is None:
        return method
    owner: Any = getattr(method, "__self__", None)
    return lambda *args, **kw: inner(owner, *args, **kw)


async def _feeds(settings: Settings, store: Store) -> int:
    from bot.core.lookup import feeds_message
    from bot.supervisor import load_states, state_lines

    msg = feeds_message(await store.feed_states(), utcnow())
    print(msg.text)
    print(msg.code)
    health = await store.destination_health()
    print(f"\n{'destination':<22} state  since             message")
    for d in settings.destinations:
        ok, text, at = health.get(d.name) or (True, "no delivery yet", None)
        when = f"{at:%Y-%m-%d %H:%M}" if at else "-"
        print(f"{d.name:<22} {'ok' if ok else 'DOWN':<6} {when:<17} {text}")
    states = await load_states(store)
    if states:
        print("\nchat connections: " + ", ".join(f"{p} {v.get('state', '?')}" for p, v in sorted(states.items())))
        for line in state_lines(states):
            print(f"  {line}")
    print(f"\npending deliveries: {await store.pending_count()}")
    return 0


# --- a reply as plain text -----------------------------------------------------------------------


def plain_text(m: Message) -> str:
    """Title, text, each story, fields, then the preformatted block; feed text cannot drive the
    terminal (escape sequences and control characters are dropped)."""
    lines = [one_line(m.title)]
    if m.text:
        lines.append(strip_controls(m.text))
    for n, card in enumerate(m.stories, start=1):
        lines += card_lines(n, card, links=not m.code)  # a story's own reply lists its sources in `code`
    if m.fields:
        lines.append("")
        lines += [f"  {one_line(k)}: {strip_controls(v)}" for k, v in m.fields]
    if m.code:
        lines += ["", strip_controls(m.code).rstrip("\n")]
    return "\n".join(lines)


def card_lines(n: int, card: StoryCard, *, links: bool) -> list[str]:
    first = card.first
    where = f"{one_line(card.story_id)} · {one_line(card.watch)}" if card.story_id else "not in a story"
    lines = ["", f"{n:>2}. [{card.severity}] {one_line(card.title)}",
             f"    {where} · {len(card.links)} source(s) · {', '.join(map(one_line, card.languages))} · first "
             f"{one_line(first.outlet)} {first.published:%Y-%m-%d %H:%M} UTC"]
    if links:
        lines += [f"    - {one_line(x.outlet)} ({one_line(x.lang)}) {x.published:%Y-%m-%d %H:%M} UTC  "
                  f"{one_line(x.url) or '(no link)'}" for x in card.links]
    return lines
