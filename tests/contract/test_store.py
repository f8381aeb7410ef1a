"""The Store contract: every protocol method, run against MemoryStore and SqliteStore alike."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.identity import SAME_TITLE_WINDOW
from bot.model import FeedState, ItemEvent, Match, Mute, Subscription
from bot.store.base import Store
from tests.contract.conftest import T0, at, make_delivery, make_item, make_source, make_story

# --- feeds -----------------------------------------------------------------------------------------


async def test_sync_feeds_creates_rows_and_a_new_url_resets_validators(store: Store) -> None:
    await store.sync_feeds([("a", "https://a.example/rss"), ("b", "https://b.example/rss")])
    a = await store.feed_state("a")
    assert a == FeedState(name="a", url="https://a.example/rss")
    await store.save_feed_state(dataclasses.replace(a, etag='"v1"', last_modified="Mon", body_hash="x",
                                                    consecutive_failures=2))
    await store.sync_feeds([("a", "https://a.example/rss")])  # same url: state kept
    kept = await store.feed_state("a")
    assert kept is not None and (kept.etag, kept.consecutive_failures) == ('"v1"', 2)
    await store.sync_feeds([("a", "https://a.example/atom")])
    moved = await store.feed_state("a")
    assert moved is not None
    assert (moved.url, moved.etag, moved.last_modified, moved.body_hash) == (
        "https://a.example/atom", None, None, None)
    assert [f.name for f in await store.feed_states()] == ["a", "b"]
    assert await store.feed_state("missing") is None


async def test_feed_state_round_trips_every_field(store: Store) -> None:
    state = FeedState(name="yonhap", url="https://y.example/rss", etag='W/"1"', last_modified="Tue",
                      body_hash="abc", last_attempt=at(1), last_success=at(0.5), last_error="timeout",
                      last_error_kind="network-error", consecutive_failures=3, next_poll=at(30),
                      last_status=503, entries_seen=40, items_stored=12)
    await store.save_feed_state(state)
    got = await store.feed_state("yonhap")
    assert got == state
    assert got is not None and got.next_poll is not None and got.next_poll.tzinfo is not None


async def test_due_feeds_never_polled_first_then_oldest(store: Store) -> None:
    polls = {"d-never": None, "a-never": None, "b-10": at(-10), "c-20": at(-20), "e-now": at(0),
             "f-future": at(5)}
    for name, next_poll in polls.items():
        await store.save_feed_state(FeedState(name=name, url=f"https://{name}.example", next_poll=next_poll))
    due = await store.due_feeds(at(0))
    assert [f.name for f in due] == ["a-never", "d-never", "c-20", "b-10", "e-now"]


# --- items -----------------------------------------------------------------------------------------

DEDUP_CASES = [
    # (case, already stored, batch, keys returned as new)
    ("new key", [make_item("a")], [make_item("b")], ["b"]),
    ("same key", [make_item("a")], [make_item("a", title="edited", title_hash="h2")], []),
    ("guid changed, same url", [make_item("a")],
     [make_item("a2", url="https://news.example/a", title_hash="other")], []),
    ("same article in the outlet's other feed", [make_item("a")],
     [make_item("b", feed="mirror", url="https://mirror.example/b", title_hash="h-a")], []),
    ("empty urls never collide", [make_item("a", url="")], [make_item("b", url="")], ["b"]),
    ("empty title hashes never collide", [make_item("a", title_hash="")],
     [make_item("b", title_hash="")], ["b"]),
    ("same key twice in one batch", [], [make_item("a"), make_item("a", title="again")], ["a"]),
    ("same url twice in one batch", [],
     [make_item("a"), make_item("b", url="https://news.example/a")], ["a"]),
    ("same title hash twice in one batch", [], [make_item("a"), make_item("b", title_hash="h-a")], ["a"]),
    ("input order kept", [make_item("m")], [make_item("z"), make_item("m"), make_item("c")], ["z", "c"]),
]


@pytest.mark.parametrize(("case", "stored", "batch", "expected"), DEDUP_CASES,
                         ids=[c[0] for c in DEDUP_CASES])
async def test_add_items_returns_only_new(store: Store, case: str, stored: list, batch: list,
                                          expected: list[str]) -> None:
    await store.add_items(stored)
    added = await store.add_items(batch)
    assert [i.key for i in added.new] == expected
    assert sorted(i.key for i in (*added.new, *(d for d, _ in added.duplicates))) == sorted(i.key for i in batch)
    again = await store.add_items(batch)  # a second poll of the same batch adds nothing
    assert again.new == () and {v.kind for _, v in again.duplicates} <= {"duplicate"}


async def test_a_duplicate_comes_back_with_its_verdict_and_is_not_stored(store: Store) -> None:
    await store.add_items([make_item("a")])
    moved = make_item("a2", url="https://news.example/a", title_hash="other")
    added = await store.add_items([moved])
    [(item, verdict)] = added.duplicates
    assert item == moved and added.new == ()
    assert (verdict.kind, verdict.twin and verdict.twin.key, verdict.basis) == ("duplicate", "a", "url")
    assert verdict.detail == "duplicate of a (same url, Wire)"
    assert await store.item("a2") is None


async def test_same_headline_from_another_outlet_within_days_is_a_stored_copy(store: Store) -> None:
    await store.add_items([make_item("a")])
    copy = make_item("h", feed="herald", source="Herald", url="https://herald.example/h", title_hash="h-a",
                     published=at(60 * 24 * 2))
    added = await store.add_items([copy])
    [(item, verdict)] = added.copies
    assert added.new == () and item == copy
    assert (verdict.kind, verdict.twin and verdict.twin.key) == ("copy", "a")
    assert await store.item("h") == copy and await store.item_by_url("https://herald.example/h") == copy
    # stored unprocessed: a crash before it joins its twin's story does not lose it
    assert "h" in [i.key for i in await store.unprocessed_items()]
    again = await store.add_items([copy])
    assert [v.kind for _, v in again.duplicates] == ["duplicate"]


async def test_same_headline_after_the_window_is_new(store: Store) -> None:
    await store.add_items([make_item("a")])
    later = make_item("h", feed="herald", source="Herald", url="https://herald.example/h", title_hash="h-a",
                      published=at(60 * 24 * 10))
    own_later = make_item("a9", url="https://news.example/a9", title_hash="h-a", published=at(-60 * 24 * 10))
    added = await store.add_items([later, own_later])  # a recurring headline, from both outlets
    assert added.new == (later, own_later) and added.duplicates == ()
    assert await store.item("h") == later


@pytest.mark.parametrize(("after", "kind"), [
    (SAME_TITLE_WINDOW, "copy"), (SAME_TITLE_WINDOW + timedelta(microseconds=1), "new"),
    (-SAME_TITLE_WINDOW, "copy"), (-SAME_TITLE_WINDOW - timedelta(microseconds=1), "new"),
])
async def test_the_headline_window_is_the_rules_to_the_microsecond(store: Store, after: timedelta, kind: str) -> None:
    # Stores read only the rows of a headline within identity.headline_span: the same edges as
    # classify's, whatever the offset the times are written in.
    await store.add_items([make_item("a", title_hash="h-a")])
    kst = timezone(timedelta(hours=9))
    other = make_item("h", feed="herald", source="Herald", url="https://herald.example/h", title_hash="h-a",
                      published=(at(0) + after).astimezone(kst))
    added = await store.add_items([other])
    assert [i.key for i in added.new] == (["h"] if kind == "new" else [])
    assert [v.kind for _, v in added.copies] == ([] if kind == "new" else ["copy"])


async def test_item_round_trip_and_lookup_by_url(store: Store) -> None:
    seoul = timezone(timedelta(hours=9))
    item = make_item("k1", guid=None, lang="ko", tier="wire", dated=False, title="북한군이 이동",
                     published=datetime(2024, 11, 4, 15, 0, 0, 123456, tzinfo=seoul))
    assert (await store.add_items([item])).new == (item,)
    got = await store.item("k1")
    assert got == item
    assert got is not None and got.published.utcoffset() == timedelta(0)
    assert got.published == datetime(2024, 11, 4, 6, 0, 0, 123456, tzinfo=UTC)
    assert await store.item_by_url("https://news.example/k1") == item
    assert await store.item_by_url("https://news.example/other") is None
    assert await store.item_by_url("") is None
    assert await store.item("nope") is None


async def test_known_keys_names_the_stored_items_among_many(store: Store) -> None:
    assert await store.known_keys([]) == set()
    stored = [make_item(f"k{n}") for n in range(0, 1200, 2)]  # more keys than one SQLite statement takes
    await store.add_items(stored)
    asked = [f"k{n}" for n in range(1200)] + ["k0", "nope", ""]  # a repeat, a stranger, an empty key
    assert await store.known_keys(asked) == {i.key for i in stored}
    async with store.batch():  # inside a batch it sees the batch's own writes
        await store.add_items([make_item("late")])
        assert await store.known_keys(["late", "nope"]) == {"late"}


async def test_latest_items_newest_first_and_by_watch(store: Store) -> None:
    await store.add_items([make_item(k, published=at(m)) for k, m in [("old", 0), ("new", 20), ("mid", 10)]])
    assert [i.key for i in await store.latest_items(10)] == ["new", "mid", "old"]
    assert [i.key for i in await store.latest_items(2)] == ["new", "mid"]
    await store.save_match("old", Match("dprk", True, 0.9))
    await store.save_match("mid", Match("dprk", False, 0.1))
    await store.save_match("new", Match("other", True, 0.8))
    assert [i.key for i in await store.latest_items(10, watch="dprk")] == ["old"]


# --- search ----------------------------------------------------------------------------------------

CORPUS = [
    make_item("ko1", lang="ko", title="북한군이 쿠르스크 전선에 배치됐다", summary="정보당국 발표",
              published=at(1)),
    make_item("ko2", lang="ko", title="러시아 파병 북한 군인들은 훈련 중", summary="", published=at(2)),
    make_item("ru1", lang="ru", title="Подразделения КНДР замечены под Курском",
              summary="Войска выдвинулись ночью", published=at(3)),
    make_item("ru2", lang="ru", title="Потери КНДРовских войск", summary="Оценка разведки", published=at(4)),
    make_item("uk1", lang="uk", title="Війська КНДР перекинуто на Курщину", summary="", published=at(5)),
    make_item("en1", title="North Korean troops join assault near Kursk", summary="Officials say so",
              published=at(6)),
    make_item("en2", title="Café owners in Seoul shrug", summary="Business as usual", published=at(7)),
]

SEARCH_CASES = [
    ("북한군", ["ko1"]),
    ("북한군이", ["ko1"]),  # the particle is trimmed, the noun still found
    ("북한", ["ko2", "ko1"]),
    ("КНДР", ["uk1", "ru2", "ru1"]),
    ("кндр", ["uk1", "ru2", "ru1"]),
    ("войска", ["ru2", "ru1"]),  # войска / войск
    ("войск", ["ru2", "ru1"]),
    ("Війська", ["uk1"]),
    ("Курск", ["ru1"]),
    ("troops Kursk", ["en1"]),
    ("KURSK troop", ["en1"]),
    ("troops Seoul", []),
    ("cafe", ["en2"]),
    ("CAFÉ", ["en2"]),
    ("officials", ["en1"]),  # summary counts too
    ("zebra", []),
]


@pytest.mark.parametrize(("query", "expected"), SEARCH_CASES)
async def test_search_in_four_languages(store: Store, query: str, expected: list[str]) -> None:
    await store.add_items(CORPUS)
    assert [i.key for i in await store.search_items(query, None, 20)] == expected


HOSTILE = ['"', '""', "AND", "OR NOT", "NEAR(", "NEAR(troops kursk, 2)", "-troops", "*", "troops*",
           "(", ")", "title:troops", "^troops", 'troops" OR "x', "'; DROP TABLE items; --", "\\", "{a b}: c",
           "", "   ", "a", "🙂", "КНДР AND (войска", "북한군이\"*"]


@pytest.mark.parametrize("query", HOSTILE)
async def test_search_never_raises_on_hostile_text(store: Store, query: str) -> None:
    await store.add_items(CORPUS)
    found = await store.search_items(query, None, 20)
    assert {i.key for i in found} <= {i.key for i in CORPUS}
    assert len(await store.latest_items(100)) == len(CORPUS)  # nothing was dropped


@pytest.mark.parametrize(("query", "expected"), [
    ("-troops", ["en1"]), ("troops*", ["en1"]), ('"troops"', ["en1"]), ("(Kursk)", ["en1"]),
    ("КНДР (войска)", ["ru2", "ru1"]), ("КНДР AND войска", []), ("북한군이\"*", ["ko1"]), ("", []), ("*", []),
])
async def test_search_reads_operators_as_plain_words(store: Store, query: str, expected: list[str]) -> None:
    await store.add_items(CORPUS)
    assert [i.key for i in await store.search_items(query, None, 20)] == expected


async def test_search_since_and_limit(store: Store) -> None:
    await store.add_items(CORPUS)
    assert [i.key for i in await store.search_items("КНДР", at(4), 20)] == ["uk1", "ru2"]
    assert [i.key for i in await store.search_items("КНДР", None, 1)] == ["uk1"]


# --- events and matches ----------------------------------------------------------------------------


async def test_item_events_in_time_order(store: Store) -> None:
    events = [ItemEvent("a", at(2), "alerted", "sent", "s1", "ops"), ItemEvent("b", at(0), "new"),
              ItemEvent("a", at(0), "new"), ItemEvent("a", at(1), "merged", "", "s1")]
    await store.record_events(events)
    assert await store.item_events("a") == [events[2], events[3], events[0]]
    assert await store.item_events("zzz") == []


async def test_matches_round_trip_and_replace(store: Store) -> None:
    await store.save_match("a", Match("dprk", True, 0.75, ("term: 북한군", "place: Kursk")))
    await store.save_match("a", Match("arms", False, 0.1))
    await store.save_match("a", Match("dprk", False, 0.2, ("retracted",)))
    assert await store.matches("a") == [Match("arms", False, 0.1), Match("dprk", False, 0.2, ("retracted",))]
    assert await store.matches("b") == []



async def test_save_matches_saves_many_as_save_match_does_each(store: Store) -> None:
    await store.save_matches([])
    await store.save_match("a", Match("dprk", True, 0.75, ("term: 북한군",)))
    await store.save_matches([("a", Match("dprk", False, 0.2, ("retracted",))), ("b", Match("dprk", False, 0.1)),
                              ("b", Match("arms", True, 0.9, ("p 0.90",)))])
    assert await store.matches("a") == [Match("dprk", False, 0.2, ("retracted",))]
    assert await store.matches("b") == [Match("arms", True, 0.9, ("p 0.90",)), Match("dprk", False, 0.1)]

# --- stories ---------------------------------------------------------------------------------------


async def test_story_round_trip_and_growth_replaces_sources_and_keys(store: Store) -> None:
    first = make_story("s1", keys=("place:kursk", "actor:kpa"), items=("i1",), score=0.7,
                       features='{"n": 1}', summary="короткий")
    await store.save_story(first)
    assert await store.story("s1") == first
    grown = dataclasses.replace(
        first, last_published=at(30), keys=("actor:kpa", "figure:10000"),
        sources=(make_source("i1"), make_source("i3", at(10), lang="ko", new_facts=("1만 명",)),
                 make_source("i2", at(30), lang="ru")))
    await store.save_story(grown)
    got = await store.story("s1")
    assert got == grown
    assert got is not None and [s.item_key for s in got.sources] == ["i1", "i3", "i2"]
    assert await store.story_candidates("dprk", ["place:kursk"], T0, 10) == []
    assert [s.id for s in await store.story_candidates("dprk", ["figure:10000"], at(25), 10)] == ["s1"]
    assert await store.story_of_item("i3") == grown
    assert await store.story_of_item("nope") is None
    assert await store.story("nope") is None


async def test_story_of_item_is_scoped_to_a_watch_when_asked(store: Store) -> None:
    """An item two watches find relevant is a source of a story of each: each watch sees its own."""
    older = make_story("s-dprk", watch="dprk", last=T0, items=("both",))
    newer = make_story("s-arms", watch="arms", last=at(60), items=("both",))
    await store.save_story(older)
    await store.save_story(newer)
    assert await store.story_of_item("both") == newer  # unscoped: the most recently updated
    assert await store.story_of_item("both", "dprk") == older
    assert await store.story_of_item("both", "arms") == newer
    assert await store.story_of_item("both", "other") is None


async def test_story_candidates_order_since_watch_and_limit(store: Store) -> None:
    for story in [
        make_story("A", keys=("k1", "k2"), last=at(10)),
        make_story("B", keys=("k1",), last=at(20)),
        make_story("C", keys=("k2", "k1", "k7"), last=at(5)),
        make_story("D", keys=("k1", "k2"), last=at(15), watch="other"),
        make_story("E", keys=("k1", "k2"), last=at(-5)),
        make_story("F", keys=("k3",), last=at(12)),
        make_story("G", keys=("k1",), last=at(0)),  # exactly at `since`: included
    ]:
        await store.save_story(story)
    ids = [s.id for s in await store.story_candidates("dprk", ["k1", "k2", "k2"], at(0), 10)]
    assert ids == ["A", "C", "B", "G"]
    assert [s.id for s in await store.story_candidates("dprk", ["k1", "k2"], at(0), 2)] == ["A", "C"]
    assert [s.id for s in await store.story_candidates("dprk", ["k2"], at(6), 10)] == ["A"]
    assert [s.id for s in await store.story_candidates("other", ["k2"], at(0), 10)] == ["D"]
    assert await store.story_candidates("dprk", [], at(0), 10) == []
    assert await store.story_candidates("dprk", ["nothing"], at(0), 10) == []


async def test_latest_stories(store: Store) -> None:
    for sid, minutes, watch in [("s1", 0, "dprk"), ("s2", 30, "dprk"), ("s3", 60, "dprk"), ("o1", 45, "o")]:
        await store.save_story(make_story(sid, last=at(minutes), watch=watch))
    assert [s.id for s in await store.latest_stories(10)] == ["s3", "o1", "s2", "s1"]
    assert [s.id for s in await store.latest_stories(2, watch="dprk")] == ["s3", "s2"]


async def test_stories_changed_in_save_order_whatever_their_publication_time(store: Store) -> None:
    assert await store.stories_changed("dprk", 0) == ([], 0)
    # saved in this order; s2 was published before s1 (a report that reached its feed late)
    for sid, minutes, watch in [("s1", 60, "dprk"), ("s2", 0, "dprk"), ("o1", 45, "o"), ("s3", 30, "dprk")]:
        await store.save_story(make_story(sid, last=at(minutes), watch=watch))
    stories, top = await store.stories_changed("dprk", 0)
    assert [s.id for s in stories] == ["s1", "s2", "s3"] and top == 4
    assert await store.stories_changed("dprk", top) == ([], 4)
    await store.save_story(make_story("s1", last=at(90)))  # grown: changed again, after the others
    stories, top = await store.stories_changed("dprk", 4)
    assert [s.id for s in stories] == ["s1"] and top == 5
    stories, _ = await store.stories_changed("dprk", 0, since=at(30))
    assert [s.id for s in stories] == ["s3", "s1"]


async def test_stories_changed_since_counts_a_report_first_seen_late(store: Store) -> None:
    old = dataclasses.replace(make_item("late", published=at(0)), fetched=at(600))  # published long before seen
    await store.add_items([old])
    await store.save_story(make_story("s-late", last=at(0), items=(old.key,)))
    await store.save_story(make_story("s-old", last=at(0)))
    stories, _ = await store.stories_changed("dprk", 0, since=at(500))
    assert [s.id for s in stories] == ["s-late"]


# --- subscriptions and mutes -----------------------------------------------------------------------


async def test_subscriptions_add_replace_remove(store: Store) -> None:
    await store.add_subscription(Subscription("dprk", "slack-ops", origin="command"))
    await store.add_subscription(Subscription("dprk", "discord-desk", mode="digest", schedule="0 7 * * *",
                                              timezone="Asia/Seoul", origin="command"))
    await store.add_subscription(Subscription("dprk", "slack-ops", mode="digest", origin="command"))
    assert await store.subscriptions() == [
        Subscription("dprk", "discord-desk", "digest", "0 7 * * *", "Asia/Seoul", "command"),
        Subscription("dprk", "slack-ops", mode="digest", origin="command"),
    ]
    assert await store.remove_subscription("dprk", "slack-ops") is True
    assert await store.remove_subscription("dprk", "slack-ops") is False
    assert [s.destination for s in await store.subscriptions()] == ["discord-desk"]


@pytest.mark.parametrize(("until", "in_force"),
                         [(None, True), (at(1), True), (at(0), False), (at(-1), False)])
async def test_mute_expires_at_now(store: Store, until: datetime | None, in_force: bool) -> None:
    await store.add_mute(Mute("ops", "drone", until))
    assert await store.mutes(at(0)) == ([Mute("ops", "drone", until)] if in_force else [])


async def test_mutes_replace_and_remove(store: Store) -> None:
    await store.add_mute(Mute("ops", "drone", at(5)))
    await store.add_mute(Mute("ops", "drone", None))
    await store.add_mute(Mute("desk", "훈련", at(5)))
    assert await store.mutes(at(10)) == [Mute("ops", "drone", None)]
    assert await store.remove_mute("ops", "drone") is True
    assert await store.remove_mute("ops", "drone") is False
    assert await store.mutes(at(0)) == [Mute("desk", "훈련", at(5))]


# --- deliveries ------------------------------------------------------------------------------------


async def test_enqueue_is_idempotent(store: Store) -> None:
    a, b = make_delivery("s1"), make_delivery("s2")
    assert await store.enqueue([a, b]) == 2
    assert await store.enqueue([dataclasses.replace(a, status="sent"), make_delivery("s3")]) == 1
    assert await store.delivery(a.id) == a  # an existing row is never overwritten
    assert await store.enqueue([make_delivery("s4"), make_delivery("s4")]) == 1
    assert await store.enqueue([]) == 0
    assert await store.pending_count() == 4


async def test_save_delivery_replaces_the_row(store: Store) -> None:
    d = make_delivery("s1", story_ids=())
    await store.enqueue([d])
    sent = dataclasses.replace(d, status="sent", attempts=2, ref="C1/99", sent_version=3,
                               last_error="was 429", next_attempt=at(3))
    await store.save_delivery(sent)
    assert await store.delivery(d.id) == sent
    assert await store.delivery("missing") is None
    assert await store.pending_count() == 0


DUE_CASES = [
    ("pending", None, True), ("pending", -5, True), ("pending", 0, True), ("pending", 5, False),
    ("sending", None, True), ("sending", 5, False), ("sent", None, False), ("failed", -5, False),
]


@pytest.mark.parametrize(("status", "next_in", "due"), DUE_CASES)
async def test_due_deliveries(store: Store, status: str, next_in: float | None, due: bool) -> None:
    d = make_delivery("s1", status=status, next_attempt=None if next_in is None else at(next_in))
    await store.enqueue([d])
    assert await store.due_deliveries(at(0)) == ([d] if due else [])


async def test_due_deliveries_oldest_first_with_limit(store: Store) -> None:
    rows = [make_delivery(f"s{n}", created=at(m)) for n, m in [(1, 5), (2, 1), (3, 3)]]
    await store.enqueue(rows)
    assert [d.story_id for d in await store.due_deliveries(at(10))] == ["s2", "s3", "s1"]
    assert [d.story_id for d in await store.due_deliveries(at(10), limit=1)] == ["s2"]


async def test_deliveries_of_a_story_and_of_an_item(store: Store) -> None:
    await store.save_story(make_story("S", items=("i1", "i2")))
    await store.save_story(make_story("X", items=("i9",)))
    rows = [make_delivery("S", "ops", created=at(1)), make_delivery("S", "desk", created=at(2)),
            make_delivery("d1", "ops", kind="digest", story_ids=("X", "S"), created=at(3), title="Morning"),
            make_delivery("X", "ops", created=at(4))]
    await store.enqueue(rows)
    assert await store.alert_deliveries_for_story("S") == rows[:2]
    assert await store.deliveries_for_item("i2") == rows[:3]
    assert await store.deliveries_for_item("i9") == rows[2:]
    assert await store.deliveries_for_item("unknown") == []



async def test_a_digest_saved_as_its_stories_grow_and_shrink_is_found_by_exactly_those_stories(store: Store) -> None:
    for sid, item in (("A", "ia"), ("B", "ib"), ("C", "ic")):
        await store.save_story(make_story(sid, items=(item,)))
    d = make_delivery("flood", "ops", kind="digest", story_ids=("A",))
    await store.enqueue([d])
    for ids in (("A", "B"), ("A", "B", "C"), ("C", "A")):  # grows as a flood digest does, then loses B
        d = dataclasses.replace(d, story_ids=ids)
        await store.save_delivery(d)
    assert await store.deliveries_for_item("ia") == [d]
    assert await store.deliveries_for_item("ic") == [d]
    assert await store.deliveries_for_item("ib") == []
    assert (await store.delivery(d.id)) == d

# --- leases (one delivery pass per database) -----------------------------------------------------

TTL = timedelta(seconds=60)


async def test_a_lease_has_one_holder_until_it_expires_then_anyone_may_take_it(store: Store) -> None:
    assert await store.lease_holder("outbox", at(0)) is None
    assert await store.take_lease("outbox", "host:1:a", at(0), TTL) is True
    assert await store.take_lease("outbox", "host:2:b", at(0.5), TTL) is False  # held: refused
    assert await store.lease_holder("outbox", at(0.5)) == "host:1:a"
    assert await store.take_lease("outbox", "host:1:a", at(0.5), TTL) is True  # its holder: extended
    assert await store.take_lease("outbox", "host:2:b", at(1.4), TTL) is False  # still until at(1.5)
    assert await store.take_lease("other", "host:2:b", at(1.4), TTL) is True  # leases are by name
    # the holder died (no renewal): once expired, the lease is taken over
    assert await store.lease_holder("outbox", at(1.5)) is None
    assert await store.take_lease("outbox", "host:2:b", at(1.5), TTL) is True
    assert await store.lease_holder("outbox", at(1.5)) == "host:2:b"


async def test_only_the_holder_renews_or_releases_a_lease(store: Store) -> None:
    assert await store.renew_lease("outbox", "host:1:a", at(0), TTL) is False  # nothing to renew
    assert await store.take_lease("outbox", "host:1:a", at(0), TTL)
    assert await store.renew_lease("outbox", "host:1:a", at(0.9), TTL) is True  # now until at(1.9)
    assert await store.take_lease("outbox", "host:2:b", at(1.5), TTL) is False
    assert await store.release_lease("outbox", "host:2:b") is False  # not its lease: untouched
    assert await store.lease_holder("outbox", at(1.5)) == "host:1:a"
    assert await store.take_lease("outbox", "host:2:b", at(1.9), TTL) is True  # expired: taken over
    assert await store.renew_lease("outbox", "host:1:a", at(2), TTL) is False  # the old holder lost it
    assert await store.release_lease("outbox", "host:1:a") is False
    assert await store.release_lease("outbox", "host:2:b") is True
    assert await store.lease_holder("outbox", at(2)) is None
    assert await store.take_lease("outbox", "host:1:a", at(2), TTL) is True  # released: free at once


# --- health and meta -------------------------------------------------------------------------------


async def test_destination_health_round_trip(store: Store) -> None:
    await store.set_destination_health("slack-ops", False, "invalid_auth", at(1))
    await store.set_destination_health("discord", True, "", at(2))
    await store.set_destination_health("slack-ops", True, "ok again", at(3))
    assert await store.destination_health() == {"discord": (True, "", at(2)),
                                                "slack-ops": (True, "ok again", at(3))}


async def test_enqueue_sets_meta_with_the_rows_only_when_a_row_was_new(store: Store) -> None:
    row = make_delivery("s1")
    assert await store.enqueue([row], meta={"digest:dprk:desk": "one"}) == 1
    assert await store.get_meta("digest:dprk:desk") == "one"
    assert await store.enqueue([row], meta={"digest:dprk:desk": "two"}) == 0  # another process queued it
    assert await store.get_meta("digest:dprk:desk") == "one"


async def test_meta_round_trip(store: Store) -> None:
    assert await store.get_meta("last_digest") is None
    await store.set_meta("last_digest", "2024-11-04")
    await store.set_meta("note", "Война — 전쟁")
    await store.set_meta("last_digest", "2024-11-05")
    assert await store.get_meta("last_digest") == "2024-11-05"
    assert await store.get_meta("note") == "Война — 전쟁"


async def test_new_items_stay_unprocessed_until_marked(store: Store) -> None:
    a, b = make_item("a"), make_item("b")
    await store.add_items([a, b])
    assert [i.key for i in await store.unprocessed_items()] == [a.key, b.key]
    await store.mark_processed([a.key])
    assert [i.key for i in await store.unprocessed_items(limit=10)] == [b.key]
    await store.mark_processed([b.key, "no-such-key"])
    assert await store.unprocessed_items() == []
