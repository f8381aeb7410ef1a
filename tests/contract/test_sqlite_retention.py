"""SQLite's side of retention: the upgrade to the change counter (migration 5) continues the
numbers a database already handed out, and a prune larger than one step runs in steps."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

import bot.store.retention
from bot.store.sqlite import SqliteStore
from tests.contract.conftest import T0, make_item, make_story


async def test_an_upgraded_database_keeps_counting_from_its_highest_change_number(tmp_path: Path) -> None:
    path = str(tmp_path / "d.db")
    store = SqliteStore(path)
    await store.open()
    for n in range(3):
        await store.save_story(make_story(f"s-{n}"))
    await store.close()
    with sqlite3.connect(path) as conn:  # as a version 4 database left it: no counter yet
        conn.execute("DELETE FROM meta WHERE key = 'store:story_changes'")
        conn.execute("PRAGMA user_version = 4")
    store = SqliteStore(path)
    await store.open()
    try:
        _, top = await store.stories_changed("dprk", 0)
        assert top == 3
        await store.save_story(make_story("s-new"))
        stories, after = await store.stories_changed("dprk", top)
        assert [s.id for s in stories] == ["s-new"] and after == 4
    finally:
        await store.close()


async def test_a_large_prune_runs_in_steps_and_leaves_no_search_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.store.retention, "BATCH", 7)
    store = SqliteStore(str(tmp_path / "d.db"))
    await store.open()
    try:
        old = T0 - timedelta(days=400)
        items = [make_item(f"i{n}", published=old, fetched=old, title=f"Kursk report {n}") for n in range(50)]
        await store.add_items(items)
        await store.mark_processed([i.key for i in items])
        for n in range(20):
            await store.save_story(make_story(f"s-{n}", last=old, items=(f"i{n}",)))
        pruned = await store.prune(T0 - timedelta(days=180))
        assert (pruned.items, pruned.stories) == (50, 20)
        assert await store.search_items("Kursk", None, 100) == []
        assert await store.latest_stories(100) == []
    finally:
        await store.close()
