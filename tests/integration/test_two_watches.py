"""Two watches that both find a report relevant: each keeps a story of its own, and each desk
gets its own watch's alert, follow-ups and syndicated copies (a story belongs to one watch)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.commands import Caller
from bot.commands_impl import Commands
from bot.model import Item, Subscription
from bot.outbox import deliver_pending
from bot.pipeline import Context, process_items, record_duplicates
from bot.store.sqlite import SqliteStore
from tests.factories import T0, item, settings
from tests.fakes.recording_sink import RecordingSink

FIRST = item("North Korean troops deployed to Kursk region to fight for Russia, Seoul says",
             "South Korea's spy agency said thousands of North Korean soldiers were sent to Russia's Kursk "
             "region to fight against Ukraine.", source="Example Wire", url="https://wire.example/kursk")
FOLLOW_UP = item("Seoul: North Korea has sent troops to Russia's Kursk front",
                 "North Korean soldiers have been deployed to fight for Russia in the Kursk region against "
                 "Ukrainian forces, South Korean intelligence said.", source="Other Daily",
                 published=T0 + timedelta(hours=3))
COPY = item(FIRST.title, FIRST.summary, source="Third Herald", url="https://herald.example/kursk",
            published=T0 + timedelta(hours=4))


async def _ctx(tmp_path: object) -> tuple[Context, dict[str, RecordingSink]]:
    base = settings("desk-a", "desk-b")
    first = base.watches[0]
    second = replace(first, name="kursk-desk")  # the same vocabulary under another name
    subs = (Subscription(watch=first.name, destination="desk-a", mode="instant"),
            Subscription(watch=second.name, destination="desk-b", mode="instant"))
    store = SqliteStore(f"{tmp_path}/two.db")
    await store.open()
    sinks = {n: RecordingSink(n) for n in ("desk-a", "desk-b")}
    return Context(settings=replace(base, watches=(first, second), subscriptions=subs), store=store,
                   sinks=dict(sinks), check_age=False), sinks


async def _add(ctx: Context, report: Item) -> None:
    added = await ctx.store.add_items([report])
    await process_items(ctx, added.new, report.published)
    await record_duplicates(ctx, added.duplicates, report.published)


async def test_each_watch_keeps_its_own_story_and_alerts_its_own_desk(tmp_path: object) -> None:
    ctx, sinks = await _ctx(tmp_path)
    try:
        await _add(ctx, FIRST)
        first, second = (w.name for w in ctx.settings.watches)
        a, b = await ctx.store.story_of_item(FIRST.key, first), await ctx.store.story_of_item(FIRST.key, second)
        assert a is not None and b is not None and a.id != b.id
        assert (a.watch, b.watch) == (first, second)
        await deliver_pending(ctx, T0)
        assert [len(sinks[n].sends) for n in ("desk-a", "desk-b")] == [1, 1]

        await _add(ctx, FOLLOW_UP)  # joins each watch's story, no second alert anywhere
        await _add(ctx, COPY)  # a syndicated copy joins both stories too
        for watch, story_id in ((first, a.id), (second, b.id)):
            story = await ctx.store.story_of_item(FIRST.key, watch)
            assert story is not None and story.id == story_id
            assert {s.item_key for s in story.sources} == {FIRST.key, FOLLOW_UP.key, COPY.key}
        await deliver_pending(ctx, T0 + timedelta(hours=4))
        assert [len(sinks[n].sends) for n in ("desk-a", "desk-b")] == [1, 1]
        assert all(sinks[n].edits for n in ("desk-a", "desk-b"))

        why = await Commands(ctx, clock=lambda: T0).why(Caller("discord", "42", "u1", False), FIRST.url)
        stories = dict(why.message.fields)["Stories"]  # `why` names each watch's story
        assert f"{a.id} (watch {first}" in stories and f"{b.id} (watch {second}" in stories
    finally:
        await ctx.store.close()
