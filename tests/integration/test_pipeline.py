"""The flow from stored items to the outbox and out through sinks, on the in-memory store."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.model import Item, Mute
from bot.outbox import deliver_pending, queue_digest
from bot.pipeline import Context, CycleReport, process_backlog, process_items
from bot.platforms.base import PermanentDeliveryError, RetryableDeliveryError
from bot.store.memory import MemoryStore
from tests.factories import T0, item, settings
from tests.fakes.recording_sink import RecordingSink, SimulatedCrash

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
DEPLOY = item("North Korean troops deployed to Kursk region to fight for Russia, Seoul says",
              "South Korea's spy agency said thousands of North Korean soldiers were sent to Russia's Kursk "
              "region to fight against Ukraine.", source="Example Wire")
DEPLOY_2 = item("Seoul: North Korea has sent troops to Russia's Kursk front",
                "North Korean soldiers have been deployed to fight for Russia in the Kursk region against "
                "Ukrainian forces, South Korean intelligence said.", source="Other Daily",
                published=T0 + timedelta(hours=3))
NOISE = item("K-pop group announces world tour", "The band will play 40 cities across Asia and Europe.")


async def ctx_with(*names: str) -> tuple[Context, dict[str, RecordingSink]]:
    store = MemoryStore()
    await store.open()
    sinks = {n: RecordingSink(n) for n in names}
    return Context(settings=settings(*names), store=store, sinks=dict(sinks), check_age=False), sinks


async def test_seed_pair_is_one_story_with_two_sources() -> None:
    if not SEEDS.is_dir():
        pytest.skip("shared seeds not present")
    texts = [p.read_text("utf-8") for p in sorted(SEEDS.glob("0*.txt"))]
    insider = texts[0].splitlines()
    first = item(insider[3], " ".join(insider[4:]), source="The Insider", published=T0)
    second = item("", texts[1], source="Yonhap", published=T0 + timedelta(hours=5))
    ctx, _ = await ctx_with("desk")
    outcomes = await process_items(ctx, [first, second], T0 + timedelta(hours=6))
    assert [o.relevant for o in outcomes] == [True, True]
    assert outcomes[0].story_id == outcomes[1].story_id
    story = await ctx.store.story(outcomes[0].story_id or "")
    assert story is not None and [s.outlet for s in story.sources] == ["The Insider", "Yonhap"]


async def test_new_story_alerts_once_and_a_further_source_edits_it() -> None:
    ctx, sinks = await ctx_with("desk")
    await process_items(ctx, [DEPLOY, NOISE], T0)
    first = await deliver_pending(ctx, T0)
    assert first.sent == 1 and len(sinks["desk"].sends) == 1
    await process_items(ctx, [DEPLOY_2], T0 + timedelta(hours=3))
    second = await deliver_pending(ctx, T0 + timedelta(hours=3))
    assert second.sent == 0 and second.edited == 1
    ref, edited = sinks["desk"].edits[0]
    assert ref == "desk/1" and edited.kind == "update" and len(edited.stories[0].links) == 2
    assert (await deliver_pending(ctx, T0 + timedelta(hours=4))).sent == 0


async def test_noise_is_filtered_with_a_recorded_reason() -> None:
    ctx, _ = await ctx_with("desk")
    [outcome] = await process_items(ctx, [NOISE], T0)
    assert not outcome.relevant
    events = await ctx.store.item_events(NOISE.key)
    assert [e.event for e in events] == ["new", "filtered"]
    assert not await ctx.store.due_deliveries(T0)


async def test_retryable_error_keeps_the_row_and_waits() -> None:
    ctx, sinks = await ctx_with("desk")
    sinks["desk"].fail_next.append(RetryableDeliveryError("HTTP 503 from server", retry_after=120))
    await process_items(ctx, [DEPLOY], T0)
    report = await deliver_pending(ctx, T0)
    assert report.retrying == 1 and not sinks["desk"].sends
    assert not await ctx.store.due_deliveries(T0 + timedelta(seconds=60))
    assert (await deliver_pending(ctx, T0 + timedelta(seconds=121))).sent == 1


async def test_bad_token_stops_that_platform_only_and_loses_nothing() -> None:
    ctx, sinks = await ctx_with("down", "up")
    sinks["down"].fail_next.append(PermanentDeliveryError("the token was rejected (401)", kind="auth"))
    await process_items(ctx, [DEPLOY], T0)
    report = await deliver_pending(ctx, T0)
    assert len(sinks["up"].sends) == 1 and not sinks["down"].sends
    assert report.held == 1
    health = await ctx.store.destination_health()
    assert health["down"][0] is False and "401" in health["down"][1]
    assert await ctx.store.pending_count() == 1  # still there for when the token is fixed


async def test_missing_channel_holds_destination_then_recovers() -> None:
    ctx, sinks = await ctx_with("desk")
    sinks["desk"].fail_next.append(PermanentDeliveryError("channel not found (404)", kind="not-found"))
    await process_items(ctx, [DEPLOY], T0)
    await deliver_pending(ctx, T0)
    assert await ctx.store.pending_count() == 1
    later = await deliver_pending(ctx, T0 + timedelta(minutes=20))
    assert later.sent == 1 and (await ctx.store.destination_health())["desk"][0] is True


async def test_crash_between_send_and_record_does_not_post_twice() -> None:
    ctx, sinks = await ctx_with("desk")
    await process_items(ctx, [DEPLOY], T0)
    sinks["desk"].crash_after_send = True
    with pytest.raises(SimulatedCrash):
        await deliver_pending(ctx, T0)
    # "restart": same store, fresh context, same channel
    ctx2 = Context(settings=ctx.settings, store=ctx.store, sinks=ctx.sinks, check_age=False)
    report = await deliver_pending(ctx2, T0 + timedelta(minutes=1))
    assert report.recovered == 1 and report.sent == 0
    assert len(sinks["desk"].sends) == 1


async def test_mute_holds_matching_alerts_in_that_channel_only() -> None:
    ctx, sinks = await ctx_with("a", "b")
    await ctx.store.add_mute(Mute(destination="a", term="Kursk", until=T0 + timedelta(hours=1)))
    await process_items(ctx, [DEPLOY], T0)
    await deliver_pending(ctx, T0)
    assert not sinks["a"].sends and len(sinks["b"].sends) == 1
    assert any(e.event == "muted" for e in await ctx.store.item_events(DEPLOY.key))


async def test_digest_is_queued_once_per_run_and_lists_stories() -> None:
    ctx, sinks = await ctx_with("brief")
    sub = replace(ctx.settings.subscriptions[0], mode="digest")
    ctx.settings = replace(ctx.settings, subscriptions=(sub,))
    await process_items(ctx, [DEPLOY, DEPLOY_2, NOISE], T0 + timedelta(hours=3))
    assert not await ctx.store.due_deliveries(T0 + timedelta(hours=3))  # digest mode: no instant alert
    n = await queue_digest(ctx, sub, T0 + timedelta(hours=4))
    again = await queue_digest(ctx, sub, T0 + timedelta(hours=4))
    assert n == 1 and again == 0
    await deliver_pending(ctx, T0 + timedelta(hours=4))
    [digest] = sinks["brief"].sends
    assert digest.kind == "digest" and len(digest.stories) == 1 and len(digest.stories[0].links) == 2


async def test_items_stored_before_a_crash_are_processed_next_cycle() -> None:
    ctx, _ = await ctx_with("desk")
    await ctx.store.add_items([DEPLOY])  # stored, then the process died before matching
    report = CycleReport()
    await process_backlog(ctx, T0, report)
    assert report.new_stories == 1
    assert not await ctx.store.unprocessed_items()


async def test_a_flooded_channel_gets_an_hourly_digest_instead_of_more_alerts() -> None:
    ctx, sinks = await ctx_with("desk")
    dest = replace(ctx.settings.destinations[0], max_alerts_per_hour=2)
    ctx.settings = replace(ctx.settings, destinations=(dest,))
    heads = [
        ("Ukraine captures two North Korean soldiers in Kursk", "The prisoners fought for Russia, Kyiv said."),
        ("North Korea ships 20,000 containers of artillery shells to Russia by rail",
         "Satellite images show munitions trains crossing the Tumen river bridge into Russia."),
        ("Kim Jong Un opens museum for North Korean soldiers killed fighting for Russia",
         "The memorial in Pyongyang honours troops who died in the Kursk region."),
        ("Russia's Duma ratifies defence treaty with North Korea",
         "The mutual defence pact commits Pyongyang and Moscow to military assistance."),
        ("Seoul: 1,000 more North Korean engineers sent to Russia to clear mines",
         "South Korea's spy agency said North Korean deminers arrived in the Kursk region for Russia."),
    ]
    burst = [item(t, sm, source=f"Outlet {n}", published=T0 + timedelta(minutes=n)) for n, (t, sm) in enumerate(heads)]
    outcomes = await process_items(ctx, burst, T0 + timedelta(minutes=10))
    stories = {o.story_id for o in outcomes}
    await deliver_pending(ctx, T0 + timedelta(minutes=10))
    assert len(sinks["desk"].sends) == 2 and all(m.kind == "alert" for m in sinks["desk"].sends)
    await deliver_pending(ctx, T0 + timedelta(hours=1))  # the hour is over: the flood digest goes out
    digest = sinks["desk"].sends[-1]
    assert digest.kind == "digest"
    posted = {m.stories[0].story_id for m in sinks["desk"].sends[:2]} | {c.story_id for c in digest.stories}
    # However the five reports are grouped (this test runs without the multilingual signal), more
    # stories than the limit came in: two alerts, the rest in the digest, none lost.
    assert None not in stories and len(stories) >= 3 and posted == stories
    events = [e.event for i in burst for e in await ctx.store.item_events(i.key)]
    assert events.count("deferred") == len(stories) - 2


async def test_two_outlets_in_one_cycle_make_one_story_even_when_processed_concurrently(tmp_path: Path) -> None:
    import asyncio

    from bot.store.sqlite import SqliteStore

    store = SqliteStore(str(tmp_path / "race.db"))  # real awaits between lookup and save
    await store.open()
    sink = RecordingSink("desk")
    ctx = Context(settings=settings("desk"), store=store, sinks={"desk": sink}, check_age=False)
    await store.add_items([DEPLOY, DEPLOY_2])
    await asyncio.gather(process_items(ctx, [DEPLOY], T0 + timedelta(hours=3)),
                         process_items(ctx, [DEPLOY_2], T0 + timedelta(hours=3)))
    first, second = await store.story_of_item(DEPLOY.key), await store.story_of_item(DEPLOY_2.key)
    assert first is not None and second is not None and first.id == second.id
    await deliver_pending(ctx, T0 + timedelta(hours=3))
    assert len(sink.sends) == 1
    await store.close()


def _burst(n: int) -> list[Item]:
    topics = ["captured in Kursk", "killed near Sudzha", "shells shipped by rail", "treaty ratified",
              "memorial museum opened", "engineers sent to clear mines", "howitzers delivered",
              "missiles fired at Kharkiv",
              "rotation of troops arrives", "wounded soldiers treated in Moscow", "medals awarded by Putin",
              "commanders visit the front"]
    return [item(f"North Korean troops {topics[i % len(topics)]}, report {i} on forces fighting for Russia",
                 f"North Korean soldiers fighting for Russia: development number {i}, {topics[i % len(topics)]}.",
                 source=f"Outlet {i}", published=T0 + timedelta(days=5 * i)) for i in range(n)]


async def test_a_long_digest_goes_out_page_by_page_and_resumes_where_it_stopped() -> None:
    ctx, sinks = await ctx_with("brief")
    sub = replace(ctx.settings.subscriptions[0], mode="digest")
    ctx.settings = replace(ctx.settings, subscriptions=(sub,))
    items = _burst(10)
    for it in items:
        await process_items(ctx, [it], it.published)
    now = T0 + timedelta(days=60)
    await ctx.store.set_meta(f"digest:{sub.watch}:brief", T0.isoformat())
    n = await queue_digest(ctx, sub, now)
    assert n >= 8
    sink = sinks["brief"]
    sink.fail_next = []
    # page 3 hits a server error: pages 1-2 are out, the rest waits for the retry
    original_send = sink.send
    calls = {"n": 0}

    async def flaky_send(message):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise RetryableDeliveryError("HTTP 503 from server", retry_after=60)
        return await original_send(message)

    sink.send = flaky_send  # type: ignore[method-assign]
    await deliver_pending(ctx, now)
    assert len(sink.sends) == 2
    await deliver_pending(ctx, now + timedelta(minutes=2))
    posted = [c.story_id for m in sink.sends for c in m.stories]
    assert len(sink.sends) > 2 and len(posted) == len(set(posted)) == n  # every story once
    assert all(m.kind == "digest" and "(page" in m.title for m in sink.sends)
    assert len({m.marker for m in sink.sends}) == len(sink.sends)


async def test_a_crash_inside_a_digest_resumes_without_reposting() -> None:
    ctx, sinks = await ctx_with("brief")
    sub = replace(ctx.settings.subscriptions[0], mode="digest")
    ctx.settings = replace(ctx.settings, subscriptions=(sub,))
    for it in _burst(9):
        await process_items(ctx, [it], it.published)
    now = T0 + timedelta(days=60)
    await ctx.store.set_meta(f"digest:{sub.watch}:brief", T0.isoformat())
    n = await queue_digest(ctx, sub, now)
    sink = sinks["brief"]
    original_send = sink.send
    calls = {"n": 0}

    async def dying_send(message):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        ref = await original_send(message)
        if calls["n"] == 2:
            raise SimulatedCrash(ref)  # page 2 reached the channel, then the process died
        return ref

    sink.send = dying_send  # type: ignore[method-assign]
    with pytest.raises(SimulatedCrash):
        await deliver_pending(ctx, now)
    report = await deliver_pending(Context(settings=ctx.settings, store=ctx.store, sinks=ctx.sinks), now)
    assert report.recovered == 1
    posted = [c.story_id for m in sink.sends for c in m.stories]
    assert len(posted) == len(set(posted)) == n
