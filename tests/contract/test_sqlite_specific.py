"""What only SqliteStore promises: durability across reopen and SIGKILL, pragmas, migrations,
atomic batches, index use for candidate lookups."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store.migrations import MIGRATIONS, migrate
from bot.store.sqlite import SqliteStore, candidates_sql
from tests.contract.conftest import T0, at, make_delivery, make_item, make_story

REPO = Path(__file__).resolve().parents[2]


async def test_delivery_state_survives_close_and_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "desk.db")
    store = SqliteStore(path)
    await store.open()
    d = make_delivery("s1")
    await store.enqueue([d])
    sent = dataclasses.replace(d, status="sent", attempts=1, ref="C1/77", sent_version=2)
    await store.save_delivery(sent)
    await store.save_story(make_story("s1", keys=("k",)))
    await store.close()

    again = SqliteStore(path)
    await again.open()
    try:
        assert await again.delivery(d.id) == sent
        assert await again.due_deliveries(at(60)) == []
        assert [s.id for s in await again.story_candidates("dprk", ["k"], T0, 5)] == ["s1"]
    finally:
        await again.close()


async def test_open_creates_folder_sets_pragmas_and_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "desk.db"
    store = SqliteStore(str(path))
    await store.open()
    await store.close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent in the file
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        raw.close()


async def test_reopen_does_not_reapply_and_a_newer_file_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "desk.db")
    for _ in range(2):  # a second open must not try to CREATE the tables again
        store = SqliteStore(path)
        await store.open()
        await store.close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    raw.close()
    with pytest.raises(RuntimeError, match="newer"):
        await SqliteStore(path).open()


def test_a_failing_migration_leaves_the_previous_version() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    steps = ["CREATE TABLE one (x);", "CREATE TABLE two (x); INSERT INTO nowhere VALUES (1);"]
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, steps)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"one"}  # "two" was rolled back with its failing step
    assert migrate(conn, steps[:1]) == 1


async def test_memory_path_works() -> None:
    store = SqliteStore(":memory:")
    await store.open()
    try:
        await store.add_items([make_item("a", title="Війська КНДР")])
        assert [i.key for i in await store.search_items("військ", None, 5)] == ["a"]
    finally:
        await store.close()


async def test_writes_are_committed_before_the_call_returns(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    store = SqliteStore(str(path))
    await store.open()
    try:
        await store.enqueue([make_delivery("s1")])
        await store.set_meta("k", "v")
        other = sqlite3.connect(path)  # a second connection sees only committed data
        try:
            assert other.execute("SELECT status FROM deliveries").fetchall() == [("pending",)]
            assert other.execute("SELECT value FROM meta").fetchall() == [("v",)]
        finally:
            other.close()
    finally:
        await store.close()


async def test_add_items_is_one_transaction(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "desk.db"))
    await store.open()
    try:
        broken = make_item("bad", title=None)  # violates NOT NULL after "ok" was inserted
        with pytest.raises(sqlite3.IntegrityError):
            await store.add_items([make_item("ok"), broken])
        assert await store.item("ok") is None
        assert [i.key for i in (await store.add_items([make_item("ok")])).new] == ["ok"]
    finally:
        await store.close()


def test_candidate_lookup_searches_the_key_index() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    plan = " | ".join(r[3] for r in conn.execute(
        "EXPLAIN QUERY PLAN " + candidates_sql(3), ["a", "b", "c", "dprk", "2024", 5]))
    assert "SEARCH story_keys USING PRIMARY KEY (key=? AND watch=? AND last_published>?)" in plan
    assert "SCAN" not in plan


async def test_use_after_close_is_an_error(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "desk.db"))
    await store.open()
    await store.close()
    await store.close()  # twice is harmless
    with pytest.raises(RuntimeError, match="not open"):
        await store.get_meta("x")


WRITER = textwrap.dedent("""
    import asyncio, os, signal, sys
    from tests.contract.conftest import make_delivery
    from bot.store.sqlite import SqliteStore

    async def main() -> None:
        store = SqliteStore(sys.argv[1])
        await store.open()
        await store.enqueue([make_delivery("s1")])
        os.kill(os.getpid(), signal.SIGKILL)  # no close, no atexit, no flush

    asyncio.run(main())
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
async def test_an_enqueued_row_survives_sigkill(tmp_path: Path) -> None:
    path = str(tmp_path / "desk.db")
    done = subprocess.run([sys.executable, "-c", WRITER, path], cwd=REPO, capture_output=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    store = SqliteStore(path)
    await store.open()
    try:
        assert [d.story_id for d in await store.due_deliveries(at(1))] == ["s1"]
    finally:
        await store.close()


async def test_processes_racing_for_one_lease_get_one_holder(tmp_path: Path) -> None:
    path = str(tmp_path / "desk.db")
    stores = [SqliteStore(path) for _ in range(6)]  # six "processes" on one file
    for s in stores:
        await s.open()
    wins = await asyncio.gather(*(s.take_lease("outbox", f"host:{n}:x", T0, timedelta(seconds=60))
                                  for n, s in enumerate(stores)))
    assert sum(wins) == 1
    holder = await stores[0].lease_holder("outbox", T0)
    assert holder == f"host:{wins.index(True)}:x"
    for s in stores:
        await s.close()


def test_a_version_2_file_gains_the_leases_table(tmp_path: Path) -> None:
    conn = sqlite3.connect(str(tmp_path / "old.db"), isolation_level=None)
    assert migrate(conn, MIGRATIONS[:2]) == 2  # a database written before leases existed
    assert migrate(conn) == len(MIGRATIONS)
    conn.execute("INSERT INTO leases VALUES ('outbox', 'h:1:x', '2024-11-04T06:00:00.000000Z')")
    conn.close()


async def test_a_version_7_file_keeps_its_items_searchable_with_the_smaller_index(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    conn = sqlite3.connect(str(path), isolation_level=None)
    assert migrate(conn, MIGRATIONS[:7]) == 7  # the index with word positions (detail=full)
    conn.close()
    old = SqliteStore(str(path))
    # An item written under the old schema (its trigger indexed it with positions).
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("INSERT INTO items (key, feed, source, url, title, summary, published, fetched, lang, tier, guid, "
                 "title_hash, dated) VALUES ('old1', 'wire', 'Wire', 'https://news.example/old1', "
                 "'North Korean troops in Kursk', 'Summary', '2024-11-04T06:00:00.000000Z', "
                 "'2024-11-04T06:00:00.000000Z', 'en', 0, 'old1', 'h-old1', 1)")
    conn.close()
    await old.open()
    try:
        schema = await old._rows("SELECT sql FROM sqlite_master WHERE name = 'items_fts'")
        assert "detail=none" in schema[0][0]
        assert [i.key for i in await old.search_items("kursk troop", None, 10)] == ["old1"]
        await old.add_items([make_item("new1", title="More troops reach Kursk")])
        assert [i.key for i in await old.search_items("Kursk", None, 10)] == ["new1", "old1"]
    finally:
        await old.close()


async def test_a_letter_sqlite_splits_words_at_is_searched_as_two_words(tmp_path: Path) -> None:
    # U+19B0 is a letter to Python (Unicode 14) and a separator to SQLite's older tables: the term
    # would be a phrase, which the index without positions refuses. It is searched as its pieces.
    store = SqliteStore(str(tmp_path / "s.db"))
    await store.open()
    try:
        await store.add_items([make_item("x1", title="abcd\u19b0efgh report"), make_item("x2", title="abcd only")])
        assert [i.key for i in await store.search_items("abcd\u19b0efgh", None, 10)] == ["x1"]
        assert [i.key for i in await store.search_items("abcd", None, 10)] == ["x2", "x1"]
    finally:
        await store.close()
