"""The prune contract (storage.keep_days, issue 11 point 8), for every store: what goes before the
cutoff and what must stay — a story with a live alert and its items, a story with one recent
item, unprocessed items, settings — and change numbers that never go backwards."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.duplicates import duplicate_marker
from bot.model import ItemEvent, Match
from bot.store.base import DUPLICATE_META, Pruned, Store
from tests.contract.conftest import T0, make_delivery, make_item, make_story

DAY = timedelta(days=1)
OLD = T0 - 200 * DAY  # well before the cutoff
CUTOFF = T0 - 180 * DAY
NEW = T0 - DAY  # inside the window


async def stored(store: Store, key: str, when: datetime = OLD, *, processed: bool = True,
                 relevant: bool = True) -> None:
    await store.add_items([make_item(key, published=when, fetched=when)])
    if processed:
        await store.mark_processed([key])
    await store.save_match(key, Match("dprk", relevant, 0.9, ("term: test",)))
    await store.record_events([ItemEvent(key, when, "new"), ItemEvent(key, when, "matched", "0.9")])


async def test_old_items_go_with_their_events_and_matches(store: Store) -> None:
    await stored(store, "old")
    await stored(store, "new", NEW)
    pruned = await store.prune(CUTOFF)
    assert pruned == Pruned(items=1, events=2, matches=1)
    assert await store.item("old") is None and await store.item_by_url("https://news.example/old") is None
    assert await store.item_events("old") == [] and await store.matches("old") == []
    assert await store.search_items("Title", None, 10) == [await store.item("new")]
    assert await store.item("new") is not None and len(await store.item_events("new")) == 2
    assert await store.prune(CUTOFF) == Pruned()  # nothing more to do


async def test_an_item_is_old_only_when_both_fetched_and_published_are(store: Store) -> None:
    await store.add_items([make_item("late", published=OLD, fetched=NEW),  # an old report first seen lately
                           make_item("ahead", published=NEW, fetched=OLD)])
    await store.mark_processed(["late", "ahead"])
    assert (await store.prune(CUTOFF)).items == 0


async def test_unprocessed_items_stay(store: Store) -> None:
    await stored(store, "waiting", processed=False)
    assert (await store.prune(CUTOFF)).items == 0
    assert [i.key for i in await store.unprocessed_items()] == ["waiting"]


async def test_an_old_story_with_no_live_alert_goes_with_its_items(store: Store) -> None:
    await stored(store, "a")
    await stored(store, "b")
    await store.save_story(make_story("s-old", last=OLD, items=("a", "b"), keys=("k1",)))
    await store.enqueue([make_delivery("s-old", created=OLD, status="sent", ref="m1")])
    pruned = await store.prune(CUTOFF)
    assert (pruned.stories, pruned.items, pruned.deliveries) == (1, 2, 1)
    assert await store.story("s-old") is None and await store.story_of_item("a") is None
    assert await store.story_candidates("dprk", ["k1"], OLD - DAY, 10) == []
    assert await store.delivery("alert:s-old:ops") is None and await store.deliveries_for_item("a") == []


async def test_a_story_with_a_pending_alert_of_any_age_stays_with_its_items(store: Store) -> None:
    await stored(store, "a")
    await store.save_story(make_story("s-live", last=OLD, items=("a",)))
    await store.enqueue([make_delivery("s-live", created=OLD)])  # pending since long ago (a platform down)
    pruned = await store.prune(CUTOFF)
    assert pruned == Pruned()
    assert await store.story("s-live") is not None and await store.item("a") is not None
    assert await store.pending_count() == 1


async def test_a_story_alerted_inside_the_window_stays(store: Store) -> None:
    await stored(store, "a")
    await store.save_story(make_story("s-recent-alert", last=OLD, items=("a",)))
    await store.enqueue([make_delivery("s-recent-alert", created=NEW, status="sent", ref="m1")])
    assert await store.prune(CUTOFF) == Pruned()
    assert [d.status for d in await store.alert_deliveries_for_story("s-recent-alert")] == ["sent"]


async def test_a_pending_digest_keeps_every_story_it_carries(store: Store) -> None:
    for n in (1, 2):
        await stored(store, f"i{n}")
        await store.save_story(make_story(f"s-d{n}", last=OLD, items=(f"i{n}",)))
    await store.enqueue([make_delivery("x", kind="digest", created=OLD, id="digest:x:ops", story_ids=("s-d1", "s-d2"))])
    assert await store.prune(CUTOFF) == Pruned()
    assert await store.story("s-d1") is not None and await store.story("s-d2") is not None


async def test_a_story_with_one_recent_item_keeps_its_old_ones(store: Store) -> None:
    await stored(store, "old")
    await stored(store, "fresh", NEW)
    await store.save_story(make_story("s-mixed", last=OLD, items=("old", "fresh")))  # last_published not updated
    assert (await store.prune(CUTOFF)).stories == 0
    assert await store.item("old") is not None and await store.story_of_item("old") is not None


async def test_finished_deliveries_go_pending_ones_stay(store: Store) -> None:
    rows = [make_delivery("s1", created=OLD, status="sent", ref="r1"),
            make_delivery("s2", created=OLD, status="failed", last_error="gave up"),
            make_delivery("s3", created=OLD, status="sending"),
            make_delivery("s4", created=NEW, status="failed")]
    await store.enqueue(rows)
    assert (await store.prune(CUTOFF)).deliveries == 2
    assert [await store.delivery(d.id) is not None for d in rows] == [False, False, True, True]


async def test_dated_meta_keys_go_settings_stay(store: Store) -> None:
    await stored(store, "twin-old")
    await stored(store, "twin-new", NEW)
    keep = {"last_cycle": T0.isoformat(), "feeds:added": "[]", "digest:dprk:ops": "12", "chat_clients": "{}",
            f"flood:ops:{NEW:%Y%m%d%H}": "3", duplicate_marker("https://x.example/b"): "twin-new"}
    gone = {f"flood:ops:{OLD:%Y%m%d%H}": "30", f"flood:discord:123:{OLD:%Y%m%d%H}": "1",
            duplicate_marker("https://x.example/a"): "twin-old"}
    for key, value in {**keep, **gone}.items():
        await store.set_meta(key, value)
    assert (await store.prune(CUTOFF)).meta == len(gone)
    for key, value in keep.items():
        assert await store.get_meta(key) == value, key
    for key in gone:
        assert await store.get_meta(key) is None, key


async def test_events_of_items_never_stored_go_when_old(store: Store) -> None:
    await store.record_events([ItemEvent("gone-long-ago", OLD, "duplicate"), ItemEvent("gone-lately", NEW, "x")])
    assert (await store.prune(CUTOFF)).events == 1
    assert await store.item_events("gone-long-ago") == [] and len(await store.item_events("gone-lately")) == 1


async def test_change_numbers_never_go_backwards_when_the_newest_story_is_pruned(store: Store) -> None:
    """Digests read 'saved after change number N': a number handed out again would be skipped."""
    await stored(store, "a")
    await store.save_story(make_story("s-1", last=OLD, items=("a",)))
    await store.save_story(replace(make_story("s-1", last=OLD, items=("a",)), title="again"))
    _, top = await store.stories_changed("dprk", 0)
    assert (await store.prune(CUTOFF)).stories == 1
    assert await store.stories_changed("dprk", 0) == ([], top)  # the top stays where it was
    await stored(store, "b", NEW)
    await store.save_story(make_story("s-2", last=NEW, items=("b",)))
    stories, new_top = await store.stories_changed("dprk", top)
    assert [s.id for s in stories] == ["s-2"] and new_top == top + 1


def test_the_pipeline_writes_the_duplicate_markers_prune_knows() -> None:
    assert duplicate_marker("https://x.example/a").startswith(DUPLICATE_META)
