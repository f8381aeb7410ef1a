"""The slash commands on a real store: each method fetches rows, then lets core/lookup.py check
arguments and word the answer. Platform adapters call these through `CommandsAPI`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ParamSpec

from rapidfuzz import fuzz, process

from bot.commands import Caller, CommandsAPI, Reply, destination_for
from bot.commands.text import run_text
from bot.config import check_schedule
from bot.core import lookup
from bot.core.feed.normalize import canonical_url
from bot.duplicates import twin_of_duplicate
from bot.fetch import host_problem
from bot.model import Item, Mute, Story, Subscription
from bot.outbox import deliver_pending, queue_digest
from bot.pipeline import Context
from bot.routing import all_subscriptions
from bot.settings import FeedSettings
from bot.supervisor import load_states, state_lines

Clock = Callable[[], datetime]
P = ParamSpec("P")
DENIED = ("Changing settings needs the Manage Channels permission on Discord, or a workspace admin "
          "(or a user listed in access.slack_admins) on Slack.")


def friendly(fn: Callable[P, Coroutine[Any, Any, Reply]]) -> Callable[P, Coroutine[Any, Any, Reply]]:
    """A bad argument becomes a one-sentence reply, whichever adapter called."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Reply:
        try:
            return await fn(*args, **kwargs)
        except lookup.BadArgument as exc:
            return Reply(lookup.reply("Could not do that", str(exc)))

    return wrapper


class Commands(CommandsAPI):
    def __init__(self, ctx: Context, clock: Clock, started: datetime | None = None,
                 after_change: Callable[[], Awaitable[None]] | None = None) -> None:
        self.ctx = ctx
        self.clock = clock
        self.started = started or clock()
        self.after_change = after_change  # e.g. re-register digest jobs after a subscribe
        self._configured = {f"{d.platform.split('-')[0]}:{d.channel}": d.name
                            for d in ctx.settings.destinations if d.channel}

    # --- read-only ---------------------------------------------------------------------------
    @friendly
    async def latest(self, caller: Caller, count: int | str | None = 5) -> Reply:
        n = lookup.check_int(count, "count", 5, 1, lookup.MAX_COUNT)
        stories = await self.ctx.store.latest_stories(n)
        return Reply(lookup.stories_message("Latest stories", stories, "No stories yet."))

    @friendly
    async def search(self, caller: Caller, query: str, days: int | str | None = 7) -> Reply:
        q = lookup.check_text(query, "search", lookup.MAX_QUERY, 2)
        d = lookup.check_int(days, "days", 7, 1, lookup.MAX_DAYS)
        since = self.clock() - timedelta(days=d)
        items = await self.ctx.store.search_items(q, since, 25)
        fuzzy = False
        if not items:  # typos: compare against recent titles instead of exact words
            recent = [i for i in await self.ctx.store.latest_items(2000) if i.published >= since]
            found = process.extract(q, {i.key: f"{i.title} {i.summary[:200]}" for i in recent},
                                    scorer=fuzz.partial_ratio, score_cutoff=80, limit=10)
            by_key = {i.key: i for i in recent}
            items, fuzzy = [by_key[k] for _t, _s, k in found], True
        hits: list[tuple[Item, Story | None]] = [(i, await self.ctx.store.story_of_item(i.key)) for i in items]
        return Reply(lookup.search_message(q, hits, fuzzy))

    @friendly
    async def story(self, caller: Caller, story_id: str) -> Reply:
        sid = lookup.check_story_id(story_id)
        story = await self.ctx.store.story(sid)
        if story is None:
            return Reply(lookup.reply("Story not found", f"No story {sid}. Ids are in each alert's footer."))
        return Reply(lookup.story_message(story))

    @friendly
    async def feeds(self, caller: Caller) -> Reply:
        return Reply(lookup.feeds_message(await self.ctx.store.feed_states(), self.clock()))

    @friendly
    async def status(self, caller: Caller) -> Reply:
        store = self.ctx.store
        last = await store.get_meta("last_cycle")
        states = await store.feed_states()
        msg = lookup.status_message(
            started=self.started, now=self.clock(), last_cycle=datetime.fromisoformat(last) if last else None,
            pending=await store.pending_count(), health=await store.destination_health(),
            stopped=self.ctx.stopped_platforms, feeds_failing=sum(1 for s in states if s.consecutive_failures),
            feeds_total=len(states))
        # The chat connections (recorded by bot/supervisor.py): a client that is down costs only
        # its slash commands, so it is its own field, beside the destinations.
        clients = await load_states(store)
        if clients:
            down = state_lines(clients)
            summary = ", ".join(f"{p} {c.get('state', '?')}" for p, c in sorted(clients.items()))
            msg = replace(msg, fields=(*msg.fields, ("Chat connections", summary)),
                          code="\n".join(line for line in (msg.code, *down) if line))
        return Reply(msg)

    @friendly
    async def why(self, caller: Caller, url: str) -> Reply:
        u = lookup.check_url(url)
        store = self.ctx.store
        item = await store.item_by_url(canonical_url(u)) or await store.item_by_url(u)
        # a duplicate link is not stored: answer with the item it repeated (whose path records it)
        twin = None if item else (await twin_of_duplicate(store, canonical_url(u))
                                  or await twin_of_duplicate(store, u))
        item = item or twin
        if item is None:
            return Reply(lookup.why_message(u, None, [], [], [], []))
        return Reply(lookup.why_message(u, item, await store.item_events(item.key), await store.matches(item.key),
                                        await self._stories_of(item.key),
                                        await store.deliveries_for_item(item.key), duplicate=twin is not None))

    async def _stories_of(self, item_key: str) -> list[Story]:
        """The story of each configured watch holding the item; else any (its watch since removed)."""
        store = self.ctx.store
        found = [s for w in self.ctx.settings.watches if (s := await store.story_of_item(item_key, w.name))]
        if not found and (any_story := await store.story_of_item(item_key)) is not None:
            found = [any_story]
        return found

    @friendly
    async def help(self, caller: Caller) -> Reply:
        return Reply(lookup.help_message())

    # --- settings (managers only) -------------------------------------------------------------
    @friendly
    async def subscribe(self, caller: Caller, watch: str, mode: str = "instant", schedule: str | None = None,
                        ) -> Reply:
        if not caller.can_manage:
            return Reply(lookup.reply("Not allowed", DENIED))
        w = self._watch(watch)
        if mode not in ("instant", "digest"):
            raise lookup.BadArgument("mode must be instant or digest.")
        cron, tz = _split_schedule(schedule or "0 8 * * *")
        problem = check_schedule(cron, tz) if mode == "digest" else None
        if problem:
            raise lookup.BadArgument(problem[0].upper() + problem[1:] + ".")
        dest = destination_for(caller, self._configured)
        await self.ctx.store.add_subscription(Subscription(watch=w, destination=dest, mode=mode,  # type: ignore[arg-type]
                                                           schedule=cron, timezone=tz, origin="command"))
        await self._changed()
        when = f" on schedule `{cron}` ({tz})" if mode == "digest" else ""
        return Reply(lookup.reply("Subscribed", f"This channel now gets {w} as {mode}{when}."), ephemeral=False)

    @friendly
    async def unsubscribe(self, caller: Caller, watch: str) -> Reply:
        if not caller.can_manage:
            return Reply(lookup.reply("Not allowed", DENIED))
        w = self._watch(watch)
        removed = await self.ctx.store.remove_subscription(w, destination_for(caller, self._configured))
        await self._changed()
        text = f"This channel no longer gets {w}." if removed else (
            f"This channel had no subscription to {w} made by command (subscriptions in the config file "
            "are changed there).")
        return Reply(lookup.reply("Unsubscribed" if removed else "Nothing to remove", text), ephemeral=not removed)

    @friendly
    async def mute(self, caller: Caller, term: str, hours: float | str | None = None) -> Reply:
        if not caller.can_manage:
            return Reply(lookup.reply("Not allowed", DENIED))
        t = lookup.check_text(term, "term", lookup.MAX_TERM, 2)
        h = lookup.check_hours(hours)
        until = self.clock() + timedelta(hours=h) if h else None
        await self.ctx.store.add_mute(Mute(destination=destination_for(caller, self._configured), term=t, until=until))
        span = f"for {h:g} hours" if h else "until unmuted"
        return Reply(lookup.reply("Muted", f"New stories mentioning “{t}” are held back in this channel {span}."),
                     ephemeral=False)

    @friendly
    async def unmute(self, caller: Caller, term: str) -> Reply:
        if not caller.can_manage:
            return Reply(lookup.reply("Not allowed", DENIED))
        t = lookup.check_text(term, "term", lookup.MAX_TERM, 1)
        removed = await self.ctx.store.remove_mute(destination_for(caller, self._configured), t)
        return Reply(lookup.reply("Unmuted" if removed else "Not muted",
                                  f"“{t}” {'is no longer muted' if removed else 'was not muted'} here."))

    @friendly
    async def digest(self, caller: Caller, destination: str | None = None) -> Reply:
        # `destination`: the one named on the command line; a chat command digests its channel's.
        dest = destination or destination_for(caller, self._configured)
        now = self.clock()
        subs = [s for s in await all_subscriptions(self.ctx) if s.destination == dest]
        if not subs:
            return Reply(lookup.reply("No subscriptions here", "Subscribe this channel to a watch first."))
        total = 0
        for sub in subs:
            total += await queue_digest(self.ctx, sub, now, force=True)
        await deliver_pending(self.ctx, now)
        return Reply(lookup.reply("Digest posted", f"{total} stories in this channel's digest."))

    @friendly
    @friendly
    async def add_feed(self, caller: Caller, url: str, language: str = "en", name: str | None = None) -> Reply:
        if not caller.can_manage:
            return Reply(lookup.reply("Not allowed", DENIED))
        u = lookup.check_url(url)
        lang = lookup.check_language(language)
        n = lookup.check_feed_name(name, u)
        if self.ctx.feed(n) is not None:
            raise lookup.BadArgument(f"There is already a feed named {n!r}; choose another name.")
        if problem := await host_problem(u, self.ctx.settings.access.allow_private_hosts):
            return Reply(lookup.reply("Feed refused", problem[0].upper() + problem[1:] + "."))
        feed = FeedSettings(name=n, url=u, language=lang, source=n, origin="command")
        self.ctx.extra_feeds[n] = feed
        await save_added_feeds(self.ctx)
        await self.ctx.store.sync_feeds([(n, u)])
        return Reply(lookup.reply("Feed added", f"{n} ({lang}) will be polled from the next cycle; "
                                  "`feeds` shows its health."), ephemeral=False)

    @friendly
    async def remove_feed(self, caller: Caller, name: str) -> Reply:
        if not caller.can_manage:
            return Reply(lookup.reply("Not allowed", DENIED))
        n = lookup.check_text(name, "feed name", 40).lower()
        if n not in self.ctx.extra_feeds:
            why = "it comes from the config file" if self.ctx.settings.feed(n) else "there is no such feed"
            return Reply(lookup.reply("Not removed", f"{n} cannot be removed here: {why}."))
        del self.ctx.extra_feeds[n]
        await save_added_feeds(self.ctx)
        return Reply(lookup.reply("Feed removed", f"{n} is no longer polled."), ephemeral=False)

    @friendly
    async def run_text(self, caller: Caller, text: str) -> Reply:
        return await run_text(self, caller, text)  # parsed by the catalogue, as Discord's options are

    def _watch(self, name: str) -> str:
        w = lookup.check_text(name, "watch", 64)
        if self.ctx.settings.watch(w) is None:
            names = ", ".join(x.name for x in self.ctx.settings.watches)
            raise lookup.BadArgument(f"No watch named {w!r}; known watches: {names}.")
        return w

    async def _changed(self) -> None:
        if self.after_change is not None:
            await self.after_change()


ADDED_FEEDS = "feeds:added"


async def load_added_feeds(ctx: Context) -> None:
    """Feeds added by command live in the store, so they survive restarts."""
    raw = await ctx.store.get_meta(ADDED_FEEDS)
    for f in json.loads(raw) if raw else []:
        ctx.extra_feeds[f["name"]] = FeedSettings(name=f["name"], url=f["url"], language=f["language"],
                                                  source=f["name"], origin="command")


async def save_added_feeds(ctx: Context) -> None:
    data = [{"name": f.name, "url": f.url, "language": f.language} for f in ctx.extra_feeds.values()]
    await ctx.store.set_meta(ADDED_FEEDS, json.dumps(data))


def _split_schedule(text: str) -> tuple[str, str]:
    """'0 8 * * * Asia/Seoul' → ('0 8 * * *', 'Asia/Seoul'); the time zone is optional."""
    parts = text.split()
    if len(parts) == 6:
        return " ".join(parts[:5]), parts[5]
    return " ".join(parts), "UTC"

