"""Saving a delivery when the outbox has a long history: the story links of a growing digest.

Its one job: time `SqliteStore.save_delivery` for a flood digest that gathers one more story per
save (as bot/routing.py grows it), with LINKS story links already in the database (a desk after
months of digests), against the baseline in the same run: the same saves done the way the store
did them before migration v6 — no index on the links by delivery, every link of the delivery
deleted and re-inserted on each save.

    .venv/bin/python bench/delivery_links.py [--links 100000] [--saves 300]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.model import Delivery  # noqa: E402
from bot.store.sqlite import SqliteStore  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PER_DIGEST = 5


def digest(n: int, stories: tuple[str, ...]) -> Delivery:
    return Delivery(id=f"digest:{n}:ops", destination="ops", kind="digest", created=T0, story_ids=stories)


def rewrite_all_links(c: sqlite3.Connection, d: Delivery) -> None:
    """The save's link step before v6 (the baseline): delete every link, insert every link."""
    c.execute("DELETE FROM delivery_stories WHERE delivery_id = ?", (d.id,))
    c.executemany("INSERT INTO delivery_stories VALUES (?, ?)", [(s, d.id) for s in dict.fromkeys(d.story_ids)])


async def filled_store(path: str, links: int) -> tuple[SqliteStore, Delivery]:
    store = SqliteStore(path)
    await store.open()
    rows = [digest(n, tuple(f"st{n}-{k}" for k in range(PER_DIGEST))) for n in range(links // PER_DIGEST)]
    for k in range(0, len(rows), 1000):
        await store.enqueue(rows[k:k + 1000])
    return store, rows[-1]


async def ours(path: str, links: int, saves: int) -> float:
    store, d = await filled_store(path, links)
    start = time.process_time()
    for n in range(saves):
        d = replace(d, story_ids=(*d.story_ids, f"new{n}"))
        await store.save_delivery(d)
    spent = time.process_time() - start
    await store.close()
    return spent / saves


def baseline(path: str, saves: int, last: Delivery) -> float:
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("DROP INDEX IF EXISTS delivery_stories_delivery")
    d = last
    start = time.process_time()
    for n in range(saves):
        d = replace(d, story_ids=(*d.story_ids, f"old{n}"))
        c.execute("BEGIN IMMEDIATE")
        rewrite_all_links(c, d)
        c.execute("COMMIT")
    spent = time.process_time() - start
    c.close()
    return spent / saves


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--links", type=int, default=100_000, help="story links already in the database")
    ap.add_argument("--saves", type=int, default=300, help="saves of the growing digest")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="deskwatch-links-") as tmp:
        now = asyncio.run(ours(f"{tmp}/ours.db", args.links, args.saves))
        store_path = f"{tmp}/base.db"
        _, last = asyncio.run(_filled_then_closed(store_path, args.links))
        before = baseline(store_path, args.saves, last)
    print(f"deskwatch delivery-links benchmark: {args.links:,} story links stored, one digest saved "
          f"{args.saves} times, one story more each time")
    print(f"save_delivery (index by delivery, only the difference written): {now * 1e3:.2f} ms CPU per save")
    print(f"baseline (no index, every link rewritten, as before v6; the link step alone, without the "
          f"row's upsert and the store's thread hop that ours includes): {before * 1e3:.2f} ms CPU per save")
    print(f"baseline / ours: {before / now:.1f}x")
    return 0


async def _filled_then_closed(path: str, links: int) -> tuple[None, Delivery]:
    store, last = await filled_store(path, links)
    await store.close()
    return None, last


if __name__ == "__main__":
    raise SystemExit(main())
