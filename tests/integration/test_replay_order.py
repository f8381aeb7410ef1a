"""Replay in any order: a report never joins a development that began after its own window.

An archive may come out of date order (and live, a feed may bring a late entry after newer
stories): a report dated before a story began, by more than the story window, is not compared
with it (cluster.candidate_until), while one inside the window still joins. bench/order.py
measures what this is worth on the dev corpora replayed in other orders.
"""

from __future__ import annotations

from bot.replay import replay_rows
from tests.factories import settings

BODY = ("South Korea's spy agency said thousands of North Korean soldiers were sent to Russia's Kursk "
        "region to fight Ukrainian forces, and that 100 of them were killed.")
LATER = {"id": "later", "title": "North Korean troops in Kursk: 100 killed, Seoul's spy agency says",
         "summary": BODY, "source": "Yonhap", "url": "https://yna.example/kursk", "lang": "en",
         "published": "2026-01-15T10:00:00Z"}


def _report(published: str) -> dict[str, str]:
    return {"id": "earlier", "title": "Seoul: 100 North Korean soldiers killed fighting for Russia in Kursk",
            "summary": BODY, "source": "Korea Herald", "url": "https://herald.example/kursk", "lang": "en",
            "published": published}


async def test_a_report_from_before_a_story_began_does_not_join_it() -> None:
    out = await replay_rows(settings(), [LATER, _report("2026-01-05T10:00:00Z")])
    assert out[0]["relevant"] and out[1]["relevant"]
    assert out[1]["story"] != out[0]["story"]
    assert any(r.startswith("new story") for r in out[1]["reasons"])


async def test_a_report_from_just_before_a_story_began_still_joins_it() -> None:
    out = await replay_rows(settings(), [LATER, _report("2026-01-14T10:00:00Z")])
    assert out[0]["relevant"] and out[1]["story"] == out[0]["story"]
