"""`deskwatch migrate-store` (issue 13 point 4): a desk's SQLite database, filled by the real
pipeline (a poll over HTTP, reports in English, Korean and Russian, alerts and a digest delivered,
settings changed by command), copied into a real PostgreSQL and read back through PostgresStore:
every answer the SQLite store gives, the PostgreSQL store gives too. A non-empty target is
refused unless --force; the password never shows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.model import Mute, Subscription
from bot.outbox import deliver_pending, queue_digest
from bot.pipeline import Context, process_items
from bot.store.base import Store
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SqliteStore
from tests.contract.conftest import new_schema
from tests.factories import item, settings
from tests.fakes.recording_sink import RecordingSink
from tests.integration.test_once_dry_run import config, feed_url  # noqa: F401 (a fixture)
from tests.postgres_server import PgServer

PASSWORD = "hunter2-very-secret"  # the test server trusts every login, so any password connects
NOW = datetime.now(UTC).replace(microsecond=0)
REPORTS = [
    item("North Korean troops deployed to Kursk region to fight for Russia, Seoul says",
         "South Korea's spy agency said thousands of North Korean soldiers were sent to Russia's Kursk region.",
         source="Example Wire", published=NOW - timedelta(hours=2)),
    item("북한군, 쿠르스크 전선에 추가 파병…국정원 \"1만여 명 규모\"",
         "국가정보원은 북한이 러시아 쿠르스크 지역에 병력을 추가로 파병했다고 밝혔다.",
         source="Yonhap", lang="ko", published=NOW - timedelta(hours=1)),
    item("КНДР направила дополнительные войска в Курскую область",
         "Разведка Южной Кореи сообщила, что северокорейские военные прибыли в Курскую область.",
         source="Meduza", lang="ru", published=NOW - timedelta(minutes=30)),
    item("K-pop group announces world tour", "The band will play 40 cities across Asia and Europe.",
         published=NOW - timedelta(minutes=20)),
]


async def fill(db: Path) -> None:
    """After `once` polled the feed: more reports through the pipeline, a digest, a failed
    destination, and what slash commands change."""
    store = SqliteStore(str(db))
    await store.open()
    try:
        sinks = {"desk": RecordingSink("desk"), "night": RecordingSink("night")}
        ctx = Context(settings=settings("desk"), store=store, sinks=dict(sinks), check_age=False)
        await store.add_items(REPORTS)
        await process_items(ctx, REPORTS, NOW)
        await deliver_pending(ctx, NOW)
        night = Subscription(watch="dprk-russia", destination="night", mode="digest", origin="command")
        await store.add_subscription(night)
        await store.add_mute(Mute("desk", "k-pop", NOW + timedelta(days=3)))
        await store.add_mute(Mute("desk", "forever", None))
        await queue_digest(ctx, night, NOW, force=True)
        await store.set_destination_health("night", False, "channel not found", NOW)
        await store.add_items([item("Unmatched yet", "stored before a crash", published=NOW)])  # not processed
    finally:
        await store.close()


async def answers(store: Store) -> dict[str, object]:
    """Everything the commands and the pipeline read, as one comparable value."""
    latest = await store.latest_items(100)
    keys = [i.key for i in latest]
    stories = await store.latest_stories(100)
    out: dict[str, object] = {
        "latest": latest, "latest watch": await store.latest_items(100, "dprk-russia"),
        "stories": stories, "feeds": await store.feed_states(), "subs": await store.subscriptions(),
        "mutes": await store.mutes(NOW), "health": await store.destination_health(),
        "unprocessed": await store.unprocessed_items(), "due": await store.due_deliveries(NOW + timedelta(days=1)),
        "pending": await store.pending_count(), "changed": await store.stories_changed("dprk-russia", 0),
        "activity": await store.activity("dprk-russia", [NOW - timedelta(days=1), NOW + timedelta(days=1)]),
    }
    for q in ("Kursk", "North Korean", "북한군", "쿠르스크", "КНДР", "курскую", "северокорейск", "tour"):
        out[f"search {q}"] = await store.search_items(q, None, 20)
    for k in keys:
        out[f"item {k}"] = (await store.item(k), await store.item_events(k), await store.matches(k),
                            await store.story_of_item(k), await store.deliveries_for_item(k))
    for s in stories:
        out[f"story {s.id}"] = (await store.story(s.id), await store.alert_deliveries_for_story(s.id))
    for key in ("store:story_changes", "digest:dprk-russia:night"):
        out[f"meta {key}"] = await store.get_meta(key)
    return out


async def read(store: Store) -> dict[str, object]:
    await store.open()
    try:
        return await answers(store)
    finally:
        await store.close()


def test_a_desk_moves_to_postgresql_with_every_answer_unchanged(
        tmp_path: Path, feed_url: str, postgres_server: PgServer,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg, db = config(tmp_path, feed_url), tmp_path / "deskwatch.db"
    assert main(["once", "--config", cfg]) == 0  # the real poll: feed health, items, a story, a sent alert
    asyncio.run(fill(db))
    capsys.readouterr()
    url = asyncio.run(new_schema(postgres_server)).replace("://postgres@", f"://postgres:{PASSWORD}@")

    assert main(["migrate-store", "--to", url, "--config", cfg]) == 0
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    assert "items" in out and "deliveries" in out and "OK" in out and " ok" in out

    before = asyncio.run(read(SqliteStore(str(db), create=False)))
    after = asyncio.run(read(PostgresStore(url, pool_size=2, create=False)))
    assert before.keys() == after.keys()
    for key in before:
        assert after[key] == before[key], key
    # what the test set out to cover is there
    assert len(before["latest"]) == 7 and before["subs"] and len(before["mutes"]) == 2  # type: ignore[arg-type]
    assert all(before[f"search {q}"] for q in ("Kursk", "북한군", "КНДР", "северокорейск"))
    sent = [d for k, v in before.items() if k.startswith("item ") for d in v[4]]  # type: ignore[index]
    assert {d.kind for d in sent} >= {"alert", "digest"} and any(d.status == "sent" and d.ref for d in sent)

    # Work goes on in PostgreSQL: ids continue after the copied ones, change numbers too.
    async def carry_on() -> None:
        store = PostgresStore(url, pool_size=2)
        await store.open()
        try:
            fresh = item("A report after the move", "nothing else", published=NOW + timedelta(minutes=1))
            assert (await store.add_items([fresh])).new == (fresh,)
            assert (await store.latest_items(1))[0] == fresh
            story = (await store.latest_stories(1))[0]
            await store.save_story(story)
            _, top = await store.stories_changed(story.watch, 0)
            assert top == int(before["meta store:story_changes"] or 0) + 1  # type: ignore[call-overload]
        finally:
            await store.close()

    asyncio.run(carry_on())

    # A target holding data is refused, saying what is there; --force replaces it.
    assert main(["migrate-store", "--to", url, "--config", cfg]) == 2
    out, err = capsys.readouterr()
    assert "not empty" in err and "8 items" in err and "--force" in err and PASSWORD not in out + err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert main(["migrate-store", "--to", url, "--force", "--from", str(db), "--config", cfg]) == 0
    capsys.readouterr()
    assert asyncio.run(read(PostgresStore(url, pool_size=2, create=False))) == before


def test_nothing_to_copy_or_nowhere_to_copy_it_is_one_line(
        tmp_path: Path, feed_url: str, postgres_server: PgServer,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, feed_url)
    url = asyncio.run(new_schema(postgres_server))
    assert main(["migrate-store", "--to", url, "--config", cfg]) == 2  # no SQLite file yet
    assert "no SQLite database" in capsys.readouterr().err
    assert main(["once", "--config", cfg]) == 0
    capsys.readouterr()
    assert main(["migrate-store", "--to", "mysql://x", "--config", cfg]) == 2
    assert "postgresql://" in capsys.readouterr().err
    closed = f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/none"  # nothing listens on port 1
    assert main(["migrate-store", "--to", closed, "--config", cfg]) == 2
    err = capsys.readouterr().err
    assert "cannot connect" in err and PASSWORD not in err and err.count("\n") == 1
