"""A small `make soak`: the real bot process killed three times, offline, in about 15 seconds.

It proves the harness works (fakes, kills, restart, quiesce) and that the guarantees hold on a
small run; the verdict's own table shows each failure it must catch. The full soak is
`make soak` (bench/soak.py), too slow for the normal suite.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.soak import SoakOptions, report, run_soak
from bench.soak_check import DbSnapshot, Post, alert_marker, digest_verdict, verdict
from bench.soak_content import Report, plan

DESTS = ("d", "s")
R1 = Report(0, "seoul-wire", "g0", "https://seoul-wire.example/a/0", "North Korean troops near Kursk", "x", 0)
R2 = Report(1, "kyiv-desk", "g1", "https://kyiv-desk.example/a/1", "Kyiv: North Korean troops in Kursk", "x", 0)
NOISE = Report(2, "harbour-news", "g2", "https://harbour-news.example/a/2", "Ferry timetable", "x", None)
URLS = (R1.url, R2.url)
CLEAN_DB = DbSnapshot(items={r.key: True for r in (R1, R2, NOISE)},
                      relevant={R1.key: True, R2.key: True, NOISE.key: False},
                      story_of={R1.key: "s-1", R2.key: "s-1"}, story_urls={"s-1": URLS})
CLEAN_POSTS = [Post(d, alert_marker("s-1", d), " ".join(URLS)) for d in DESTS]


def test_a_thread_note_posted_twice_is_a_duplicate() -> None:
    note = Post("d", alert_marker("s-1", "d") + ":r2", "Also reported by Kyiv Desk")
    assert verdict([R1, R2, NOISE], CLEAN_DB, CLEAN_POSTS, DESTS, {}, [note]).duplicates == ()
    f = verdict([R1, R2, NOISE], CLEAN_DB, CLEAN_POSTS, DESTS, {}, [note, note])
    assert len(f.duplicates) == 1 and "thread note" in f.duplicates[0] and f.failed
    assert f.notes == {"d": 2, "s": 0}


@pytest.mark.parametrize(("db", "posts", "lost", "dups", "stale", "unexpected"), [
    pytest.param(CLEAN_DB, CLEAN_POSTS, 0, 0, 0, 0, id="clean"),
    pytest.param(CLEAN_DB, [*CLEAN_POSTS, CLEAN_POSTS[0]], 0, 1, 0, 0, id="posted twice"),
    pytest.param(replace(CLEAN_DB, items={R1.key: True, R2.key: True}), CLEAN_POSTS, 1, 0, 0, 0,
                 id="item never stored"),
    pytest.param(replace(CLEAN_DB, items={**CLEAN_DB.items, R2.key: False}), CLEAN_POSTS, 1, 0, 0, 0,
                 id="item never processed"),
    pytest.param(replace(CLEAN_DB, story_of={R1.key: "s-1"}), CLEAN_POSTS, 1, 0, 0, 0, id="relevant, no story"),
    pytest.param(CLEAN_DB, CLEAN_POSTS[:1], 1, 0, 0, 0, id="never posted to one destination"),
    pytest.param(CLEAN_DB, [CLEAN_POSTS[0], Post("s", alert_marker("s-1", "s"), R1.url)], 0, 0, 1, 0,
                 id="update not edited in"),
    pytest.param(CLEAN_DB, [*CLEAN_POSTS, Post("d", "", "hello")], 0, 0, 0, 1, id="post without marker"),
])
def test_verdict_catches_each_failure(db: DbSnapshot, posts: list[Post], lost: int, dups: int, stale: int,
                                      unexpected: int) -> None:
    f = verdict([R1, R2, NOISE], db, posts, DESTS, {})
    assert (len(f.lost), len(f.duplicates), len(f.stale), len(f.unexpected)) == (lost, dups, stale, unexpected)
    assert f.failed == bool(lost or dups or stale or unexpected)
    assert f.stories == 1 and f.relevant == 2 and f.misjudged == 0


@pytest.mark.parametrize(("posts", "covered", "lost", "dups"), [
    pytest.param([Post("g", "deskwatch:digest:w@c0:g", " ".join(URLS))], 1, 0, 0, id="clean"),
    pytest.param([Post("g", "deskwatch:digest:w@c0:g", R1.url)] * 2, 1, 0, 1, id="page posted twice"),
    pytest.param([Post("g", "deskwatch:digest:w@c0:g", "nothing")], 0, 1, 0, id="story in no digest"),
    pytest.param([], 0, 1, 0, id="no digest at all"),
])
def test_digest_verdict_catches_each_failure(posts: list[Post], covered: int, lost: int, dups: int) -> None:
    d = digest_verdict(CLEAN_DB, posts)
    assert (d.stories, d.covered, len(d.lost), len(d.duplicates)) == (1, covered, lost, dups)
    assert d.failed == bool(lost or dups)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_plan_is_seeded_and_every_development_grows(seed: int) -> None:
    reports = plan(seed, developments=6, noise=5)
    assert reports == plan(seed, developments=6, noise=5)
    assert len({r.title for r in reports}) == len(reports) and len({r.key for r in reports}) == len(reports)
    per_dev = [sum(r.development == d for r in reports) for d in range(6)]
    assert min(per_dev) >= 2 and sum(not r.relevant for r in reports) == 5


async def test_three_kills_lose_nothing_and_post_each_story_once() -> None:
    opts = SoakOptions(kills=3, seed=7, developments=3, noise=3, quiesce_timeout=30.0, max_seconds=40.0,
                       random_kill=(0.3, 2.5), aim_timeout=2.5)
    result = await run_soak(opts)
    f = result.figures
    assert len(result.kills) == 3, report(result, opts)
    assert result.quiesced and not result.failed, report(result, opts)
    assert f.stored == f.published and f.misjudged == 0
    # 3 developments make 3 stories; merging quality is bench/quality.py's job, so allow 1..3 here
    assert 1 <= f.stories <= 3 and f.posts == {"duty-discord": f.stories, "duty-slack": f.stories}
    assert all(n > 0 for n in f.edits.values())  # the stories grew after they were alerted
