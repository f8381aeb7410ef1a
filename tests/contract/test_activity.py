"""Store contract: a watch's activity per interval (relevant items, new stories), the counts behind
the weekly trend chart. Runs against every store."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.model import Match
from bot.store.base import Store
from tests.contract.conftest import T0, make_item, make_story

SEOUL = ZoneInfo("Asia/Seoul")
MIDNIGHT = T0.astimezone(SEOUL).replace(hour=0, minute=0, second=0, microsecond=0)  # 4 Nov 00:00 KST
DAYS = [MIDNIGHT + timedelta(days=d) for d in range(4)]  # three local days: 4, 5 and 6 Nov
SECOND = timedelta(seconds=1)


async def test_activity_counts_relevant_items_and_new_stories_per_interval(store: Store) -> None:
    published = {
        "early": DAYS[0] - SECOND,  # before the first day
        "d0-a": DAYS[0],  # a bound belongs to the interval it opens
        "d0-b": DAYS[1] - SECOND,
        "d1-a": DAYS[1] + timedelta(hours=9),
        "d1-filtered": DAYS[1] + timedelta(hours=10),
        "d1-other-watch": DAYS[1] + timedelta(hours=11),
        "late": DAYS[3],  # the last bound closes the range
    }
    await store.add_items([make_item(k, published=t.astimezone(T0.tzinfo), guid=None) for k, t in published.items()])
    for key in published:
        relevant = key != "d1-filtered"
        await store.save_match(key, Match("other" if key == "d1-other-watch" else "dprk", relevant, 1.0))
    await store.save_match("d0-a", Match("other", True, 1.0))  # relevant to two watches: counted for each
    stories = {"s-d0": DAYS[0] + timedelta(hours=1), "s-d2": DAYS[2] + timedelta(hours=23), "s-early": DAYS[0] - SECOND}
    for sid, first in stories.items():
        await store.save_story(make_story(sid, first_published=first, last=DAYS[2] + timedelta(hours=1)))
    await store.save_story(make_story("s-other", watch="other", first_published=DAYS[1], last=DAYS[1]))

    assert await store.activity("dprk", DAYS) == [(2, 1), (1, 0), (0, 1)]
    assert await store.activity("other", DAYS) == [(1, 0), (1, 1), (0, 0)]
    assert await store.activity("nobody", DAYS) == [(0, 0), (0, 0), (0, 0)]
    assert await store.activity("dprk", DAYS[:1]) == []
