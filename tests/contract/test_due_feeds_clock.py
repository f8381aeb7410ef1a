"""Store contract for due feeds under clock steps (issue 10 point 5), on MemoryStore and SqliteStore.

A clock one day ahead for 25 s, then corrected, used to leave every feed "next poll in 23h"; a
clock stepped 10 minutes back left recently polled feeds waiting 10 minutes longer. The rule is
core/schedule.is_due; this checks that both stores apply it.
"""

from __future__ import annotations

from datetime import timedelta

from bot.model import FeedState
from bot.store.base import Store
from tests.contract.conftest import at


async def test_due_feeds_survives_a_clock_step(store: Store) -> None:
    polled = {"ahead": at(24 * 60), "behind": at(10), "normal": at(-5)}
    for name, when in polled.items():
        await store.save_feed_state(FeedState(name=name, url=f"https://{name}.example", last_attempt=when,
                                              last_success=when, next_poll=when + timedelta(minutes=15)))
    assert sorted(f.name for f in await store.due_feeds(at(0))) == ["ahead", "behind"]
    assert [f.name for f in await store.due_feeds(at(10))] == ["normal", "ahead"]  # polled at -5, due at +10
