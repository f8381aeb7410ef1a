"""What the pipeline needs to record an item's outcome in few hops: `batch` (one transaction for
the calls inside it), `candidate_stories` (keyed candidates and the latest stories in one read;
`story_or_candidates` adds the watch's story already holding the item)
and `reopen_alerts` (sent alerts of a grown story back to pending, without reading them first).

Every store honours the contract's common part; what only a transactional store promises
(rolled back on error, seen by others only once committed) on SQLite and PostgreSQL; that other
tasks wait for the commit, on SQLite.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.model import ItemEvent, Match
from bot.store.base import Store
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SqliteStore
from tests.contract.conftest import T0, at, emptied_schema, make_delivery, make_item, make_story


async def test_candidate_stories_is_the_keyed_candidates_and_the_latest_of_the_watch(store: Store) -> None:
    for story in [make_story("A", keys=("k1", "k2"), last=at(10)), make_story("B", keys=("k1",), last=at(20)),
                  make_story("C", keys=("k9",), last=at(30)), make_story("D", keys=("k1",), last=at(40), watch="other"),
                  make_story("E", keys=("k1",), last=at(-5))]:
        await store.save_story(story)
    for keys, since, limit, latest in [(["k1", "k2"], at(0), 12, 2), (["k1"], at(15), 1, 12), ([], at(0), 12, 3),
                                       (["k2"], at(0), 0, 0), (["nothing"], at(-10), 5, 10)]:
        got = await store.candidate_stories("dprk", keys, since, limit, latest)
        # the latest: of the watch's stories updated since `since`, the newest
        window = [s for s in await store.latest_stories(100, "dprk") if s.last_published >= since]
        assert got == (await store.story_candidates("dprk", keys, since, limit), window[:latest])
    keyed, latest_ = await store.candidate_stories("dprk", ["k1", "k2"], at(0), 12, 2)
    assert [s.id for s in keyed] == ["A", "B"] and [s.id for s in latest_] == ["C", "B"]
    _, latest_ = await store.candidate_stories("dprk", ["k1"], at(15), 12, 12)
    assert [s.id for s in latest_] == ["C", "B"]  # A and E were last updated before the window


async def test_candidate_stories_leave_out_stories_begun_after_until(store: Store) -> None:
    """A report (replayed out of date order, or a feed's late entry) is not compared with a
    development that began after its window: `until`, for the keyed and the latest alike."""
    for story in [make_story("early", keys=("k1",), last=at(20), first_published=at(0)),
                  make_story("late", keys=("k1",), last=at(30), first_published=at(25)),
                  make_story("edge", keys=("k1",), last=at(40), first_published=at(10))]:
        await store.save_story(story)
    for until, expected in [(at(5), {"early"}), (at(10), {"early", "edge"}), (at(25), {"early", "edge", "late"}),
                            (None, {"early", "edge", "late"})]:
        keyed, latest = await store.candidate_stories("dprk", ["k1"], at(-100), 12, 12, until)
        assert {s.id for s in keyed} == expected and {s.id for s in latest} == expected, until
        held, keyed, latest = await store.story_or_candidates("nope", "dprk", ["k1"], at(-100), 12, 12, until)
        assert held is None and {s.id for s in keyed} == expected and {s.id for s in latest} == expected
    # the newest `latest` of those that began by `until`, not the newest overall, filtered after
    _, latest = await store.candidate_stories("dprk", [], at(-100), 12, 1, at(5))
    assert [s.id for s in latest] == ["early"]


async def test_story_or_candidates_is_the_watchs_story_of_the_item_and_its_candidates(store: Store) -> None:
    for story in [make_story("A", keys=("k1",), last=at(10), items=("i1", "i2")),
                  make_story("B", keys=("k1",), last=at(20), items=("i3",)),
                  make_story("D", keys=("k1",), last=at(40), watch="other", items=("i1", "i9"))]:
        await store.save_story(story)
    for item_key in ("i1", "i3", "i9", "nope"):
        for keys, since, limit, latest in [(["k1"], at(0), 12, 2), ([], at(15), 1, 1)]:
            got = await store.story_or_candidates(item_key, "dprk", keys, since, limit, latest)
            assert got == (await store.story_of_item(item_key, "dprk"),
                           *await store.candidate_stories("dprk", keys, since, limit, latest))
    held, _, _ = await store.story_or_candidates("i1", "dprk", ["k1"], at(0), 12, 2)
    assert held is not None and held.id == "A"  # not the other watch's newer story holding it too
    assert (await store.story_or_candidates("i9", "dprk", [], at(0), 12, 2))[0] is None


async def test_reopen_alerts_puts_back_only_sent_alerts_of_an_older_version(store: Store) -> None:
    await store.save_story(make_story("S", items=("i1", "i2")))
    rows = [make_delivery("S", "a", status="sent", sent_version=1, attempts=2, last_error="x", next_attempt=at(5)),
            make_delivery("S", "b", status="sent", sent_version=2),
            make_delivery("S", "c", status="pending"),
            make_delivery("S", "d", status="failed", sent_version=1),
            make_delivery("T", "a", status="sent", sent_version=1),
            make_delivery("d1", "a", kind="digest", story_ids=("S",), status="sent", sent_version=1)]
    await store.enqueue(rows)
    await store.reopen_alerts("S", 2)
    got = {d.id: d for s in ("S", "T") for d in await store.alert_deliveries_for_story(s)}
    reopened = got["alert:S:a"]
    assert (reopened.status, reopened.attempts, reopened.last_error, reopened.next_attempt) == ("pending", 0, "", None)
    assert reopened.sent_version == 1 and reopened.created == rows[0].created
    assert [got[d.id] for d in rows[1:5]] == rows[1:5]
    assert await store.delivery("digest:d1:a") == rows[5]
    assert await store.deliveries_for_item("i1") == [reopened, *rows[1:4], rows[5]]


async def test_a_batch_reads_its_own_writes_and_keeps_them(store: Store) -> None:
    await store.add_items([make_item("i1")])
    story = make_story("s1", keys=("k1",), items=("i1",))
    async with store.batch():
        await store.record_events([ItemEvent("i1", T0, "new")])
        await store.save_match("i1", Match("dprk", True, 0.9, ("why",)))
        await store.save_story(story)
        async with store.batch():  # nested: part of it
            await store.set_meta("flood:ops:2024110406", "1")
        assert await store.story_of_item("i1") == story
        assert await store.get_meta("flood:ops:2024110406") == "1"
        await store.mark_processed(["i1"])
    assert await store.unprocessed_items() == []
    assert [e.event for e in await store.item_events("i1")] == ["new"]
    assert await store.matches("i1") == [Match("dprk", True, 0.9, ("why",))]
    assert await store.candidate_stories("dprk", ["k1"], T0, 5, 5) == ([story], [story])


@pytest.fixture(params=["sqlite", "postgres"])
async def transactional(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    store: Store
    if request.param == "sqlite":
        store = SqliteStore(str(tmp_path / "t.db"))
    else:
        store = PostgresStore(await emptied_schema(request.getfixturevalue("postgres_server")), pool_size=4)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def test_a_batch_that_raises_leaves_nothing_and_the_store_usable(transactional: Store) -> None:
    sqlite = transactional
    await sqlite.add_items([make_item("i1")])
    story = make_story("s1", keys=("k1",), items=("i1",))
    with pytest.raises(RuntimeError):
        async with sqlite.batch():
            await sqlite.record_events([ItemEvent("i1", T0, "new")])
            await sqlite.save_story(story)
            assert await sqlite.story("s1") == story
            await sqlite.mark_processed(["i1"])
            raise RuntimeError("the process dies here")
    assert await sqlite.story("s1") is None and await sqlite.item_events("i1") == []
    assert [i.key for i in await sqlite.unprocessed_items()] == ["i1"]
    await sqlite.save_story(story)  # and the same change number, taken again, names this story
    assert await sqlite.story("s1") == story


async def test_a_batch_cancelled_midway_is_rolled_back(transactional: Store) -> None:
    sqlite = transactional
    entered = asyncio.Event()

    async def item() -> None:
        async with sqlite.batch():
            await sqlite.set_meta("k", "inside")
            await sqlite.get_meta("k")
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(item())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await sqlite.get_meta("k") is None
    await sqlite.set_meta("k", "after")
    assert await sqlite.get_meta("k") == "after"


async def _until(done: Callable[[], bool]) -> None:
    for _ in range(500):  # the store's thread answers in its own time: poll, within seconds
        if done():
            return
        await asyncio.sleep(0.01)


async def test_other_tasks_wait_for_a_batch_to_commit_once_it_has_begun(sqlite: SqliteStore) -> None:
    """Until its first hop to the store's thread a batch only queues writes and others go on
    (they read what is committed); from then until its commit their calls wait."""
    order: list[str] = []
    go = asyncio.Event()

    async def reader() -> None:
        while True:
            await go.wait()
            go.clear()
            order.append(f"read {await sqlite.get_meta('k')}")

    task = asyncio.create_task(reader())
    async with sqlite.batch():
        await sqlite.set_meta("k", "v")  # queued
        go.set()
        await _until(lambda: len(order) == 1)
        await sqlite.get_meta("k")  # the first hop: the batch holds the connection now
        go.set()
        for _ in range(5):
            await asyncio.sleep(0)  # the reader runs, and waits
        order.append("commit")
    await _until(lambda: len(order) == 3)
    task.cancel()
    assert order == ["read None", "commit", "read v"]


async def test_others_see_a_batch_only_once_it_commits(transactional: Store, tmp_path: Path) -> None:
    other = (SqliteStore(str(tmp_path / "t.db")) if isinstance(transactional, SqliteStore)
             else PostgresStore(transactional.url, pool_size=2))  # type: ignore[attr-defined]
    await other.open()
    try:
        async with transactional.batch():
            await transactional.set_meta("k", "v")
            await transactional.save_story(make_story("s1"))
            assert await transactional.get_meta("k") == "v"
            assert await other.get_meta("k") is None and await other.story("s1") is None
        assert await other.get_meta("k") == "v" and await other.story("s1") == make_story("s1")
    finally:
        await other.close()


async def test_a_write_that_fails_inside_a_batch_fails_the_batch(transactional: Store) -> None:
    """Writes whose answer nobody needs are sent with the batch's next call: their error comes
    from there (or from the end of the batch), and nothing of the batch is kept."""
    sqlite = transactional
    await sqlite.add_items([make_item("i1")])
    bad = ItemEvent("i1", None, "new")  # type: ignore[arg-type]  # no time: NULL in a NOT NULL column
    with pytest.raises(Exception):  # noqa: B017  # the driver's own error, whichever it is
        async with sqlite.batch():
            await sqlite.mark_processed(["i1"])
            await sqlite.save_story(make_story("s1", items=("i1",)))
            await sqlite.record_events([bad])
    assert [i.key for i in await sqlite.unprocessed_items()] == ["i1"]
    assert await sqlite.story("s1") is None


async def test_batches_back_to_back_let_other_tasks_in_between(sqlite: SqliteStore) -> None:
    """One batch per item, item after item, must not starve the rest (polls, the outbox)."""
    order: list[str] = []
    started = asyncio.Event()

    async def other() -> None:
        await started.wait()
        await sqlite.set_meta("other", "1")
        order.append("other")

    task = asyncio.create_task(other())
    for n in range(3):
        async with sqlite.batch():
            await sqlite.set_meta(f"item{n}", "1")
            await sqlite.get_meta("x")  # the batch holds the connection from here
            started.set()
            await asyncio.sleep(0)
            order.append(f"item{n}")
    await task
    assert order.index("other") < order.index("item2"), order  # not held until the last batch ended
