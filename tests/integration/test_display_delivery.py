"""The outbox hands each destination's display settings to render: an English desk in Seoul gets
the English headline and summary of a story first reported in Korean, and Seoul times, while a
desk with no preference gets the story as it is, in UTC."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.model import Delivery, Destination, Story, StorySource, Subscription
from bot.outbox import deliver_pending, queue_digest
from bot.pipeline import Context
from bot.store.memory import MemoryStore
from tests.factories import T0, item, settings
from tests.fakes.recording_sink import RecordingSink

KO = item("북한군, 쿠르스크에 추가 배치", "국가정보원은 북한군이 추가로 배치됐다고 밝혔다.", source="Yonhap", lang="ko")
EN = item("North Korea sends more troops to Kursk", "Seoul's spy agency said more North Korean troops were sent.",
          source="Reuters", published=T0 + timedelta(hours=1))
STORY = Story(id="s-0000abcd", watch="", title=KO.title, summary=KO.summary, first_published=KO.published,
              last_published=EN.published, score=3.0,
              sources=tuple(StorySource(i.key, i.source, i.url, i.lang, i.published, i.title) for i in (KO, EN)))
DESKS = (Destination(name="seoul-en", platform="webhook", webhook_env="UNUSED", timezone="Asia/Seoul",
                     headline_language="en"),
         Destination(name="plain", platform="webhook", webhook_env="UNUSED"))


async def desk() -> tuple[Context, dict[str, RecordingSink]]:
    base = settings()
    watch = base.watches[0].name
    subs = tuple(Subscription(watch=watch, destination=d.name) for d in DESKS)
    sinks = {d.name: RecordingSink(d.name) for d in DESKS}
    store = MemoryStore()
    await store.add_items([KO, EN])
    await store.save_story(replace(STORY, watch=watch))
    ctx = Context(settings=replace(base, destinations=DESKS, subscriptions=subs), store=store,
                  sinks=dict(sinks), check_age=False)  # type: ignore[arg-type]
    return ctx, sinks


async def test_each_desk_reads_the_story_in_its_language_and_zone() -> None:
    ctx, sinks = await desk()
    await ctx.store.enqueue([Delivery(id=f"alert:{STORY.id}:{d.name}", destination=d.name, kind="alert",
                                      created=T0, story_id=STORY.id) for d in DESKS])
    await deliver_pending(ctx, T0 + timedelta(hours=2))
    [seoul], [plain] = sinks["seoul-en"].sends, sinks["plain"].sends
    assert (seoul.title, seoul.text) == (EN.title, EN.summary)
    assert seoul.stories[0].first.outlet == "Yonhap"  # still first reported by the Korean outlet
    assert seoul.created is not None and seoul.created.tzname() == "KST"
    assert (plain.title, plain.text) == (KO.title, KO.summary)
    assert plain.created is not None and plain.created.tzname() == "UTC"


async def test_a_digest_title_names_the_desks_zone() -> None:
    ctx, sinks = await desk()
    for name in ("seoul-en", "plain"):
        sub = Subscription(watch=ctx.settings.watches[0].name, destination=name, mode="digest")
        await queue_digest(ctx, sub, T0 + timedelta(hours=2))
    await deliver_pending(ctx, T0 + timedelta(hours=2))
    [seoul], [plain] = sinks["seoul-en"].sends, sinks["plain"].sends
    assert seoul.title.endswith("— digest 14 Jan 20:00–15 Jan 20:00 KST") and seoul.stories[0].title == EN.title
    assert plain.title.endswith("— digest 14 Jan 11:00–15 Jan 11:00 UTC")
