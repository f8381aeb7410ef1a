"""The soak's verdict: what the feeds published against what the database and the fakes hold.

`read_db` snapshots the bot's SQLite file (read directly, as an operator would), `read_pg` its
PostgreSQL database (the soak's `--postgres` mode); `discord_posts`
and `slack_posts` turn the fakes' channels into neutral `Post`s keyed by delivery marker;
`verdict` is pure and says what was lost, duplicated or left stale. An alert's marker is
"deskwatch:alert:<story id>:<destination>", so a second post with one marker is a duplicate.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.soak_content import Report

MARKER = re.compile(r"deskwatch:[^\s·]+")


@dataclass(frozen=True)
class DbSnapshot:
    items: Mapping[str, bool]  # item key -> processed
    relevant: Mapping[str, bool]  # item key -> the watch's decision
    story_of: Mapping[str, str]  # item key -> story id
    story_urls: Mapping[str, tuple[str, ...]]  # story id -> its sources' URLs
    active: tuple[str, ...] = ()  # deliveries still pending or sending
    integrity: str = "ok"


@dataclass(frozen=True)
class Post:
    destination: str
    marker: str
    blob: str  # the message as the platform holds it now (after any edits), as JSON text


@dataclass(frozen=True)
class Figures:
    published: int
    expected_relevant: int
    stored: int
    relevant: int
    misjudged: int
    stories: int
    posts: Mapping[str, int]
    edits: Mapping[str, int]
    notes: Mapping[str, int] = field(default_factory=dict)
    lost: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    active: tuple[str, ...] = ()
    integrity: str = "ok"
    notes: tuple[str, ...] = field(default=())

    @property
    def failed(self) -> bool:
        return bool(self.lost or self.duplicates or self.stale or self.unexpected) or self.integrity != "ok"


@dataclass(frozen=True)
class DigestFigures:
    stories: int  # relevant stories in the database
    covered: int  # of those, in at least one digest page
    pages: int
    lost: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return bool(self.lost or self.duplicates)


def digest_verdict(db: DbSnapshot, posts: Sequence[Post]) -> DigestFigures:
    """Each digest page posted once (one marker per page); every story in some digest (a story
    is in a page when the page links its first source)."""
    stories = sorted({sid for key, sid in db.story_of.items() if db.relevant.get(key)})
    covered = [sid for sid in stories if any(db.story_urls[sid][0] in p.blob for p in posts)]
    counts = Counter(p.marker for p in posts)
    return DigestFigures(
        stories=len(stories), covered=len(covered), pages=len(posts),
        lost=tuple(f"story {sid}: in no digest" for sid in stories if sid not in covered),
        duplicates=tuple(f"{m or '(no marker)'} posted {n} times" for m, n in sorted(counts.items()) if n > 1))


def alert_marker(story_id: str, destination: str) -> str:
    return f"deskwatch:alert:{story_id}:{destination}"


def integrity(path: str) -> str:
    with sqlite3.connect(path) as conn:
        return "; ".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))


def read_db(path: str, watch: str) -> DbSnapshot:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        items = {k: bool(p) for k, p in conn.execute("SELECT key, processed FROM items")}
        relevant = {k: bool(r) for k, r in conn.execute("SELECT item_key, relevant FROM matches WHERE watch = ?",
                                                         (watch,))}
        story_of: dict[str, str] = {}
        urls: dict[str, list[str]] = {}
        for sid, key, url in conn.execute("SELECT story_id, item_key, url FROM story_sources ORDER BY story_id, pos"):
            story_of[key] = sid
            urls.setdefault(sid, []).append(url)
        active = tuple(r[0] for r in conn.execute(
            "SELECT id FROM deliveries WHERE status IN ('pending', 'sending') ORDER BY id"))
        check = "; ".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()
    return DbSnapshot(items, relevant, story_of, {k: tuple(v) for k, v in urls.items()}, active, check)


async def read_pg(url: str, watch: str) -> DbSnapshot:
    """The same snapshot from a PostgreSQL database. `integrity` is "ok" when every table reads:
    the server is never killed in the soak (its workers are), and it checks its own pages."""
    import asyncpg  # only the --postgres mode needs it

    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):  # one snapshot
            items = {r[0]: bool(r[1]) for r in await conn.fetch("SELECT key, processed FROM items")}
            relevant = {r[0]: bool(r[1]) for r in await conn.fetch(
                "SELECT item_key, relevant FROM matches WHERE watch = $1", watch)}
            story_of: dict[str, str] = {}
            urls: dict[str, list[str]] = {}
            for sid, key, url_ in await conn.fetch("SELECT story_id, item_key, url FROM story_sources "
                                                   "ORDER BY story_id, pos"):
                story_of[key] = sid
                urls.setdefault(sid, []).append(url_)
            active = tuple(r[0] for r in await conn.fetch(
                "SELECT id FROM deliveries WHERE status IN ('pending', 'sending') ORDER BY id"))
    finally:
        await conn.close()
    return DbSnapshot(items, relevant, story_of, {k: tuple(v) for k, v in urls.items()}, active, "ok")


def discord_posts(channels: Mapping[str, list[dict[str, Any]]], channel: str, destination: str) -> list[Post]:
    out = []
    for msg in channels.get(channel, []):
        texts = [msg.get("content") or ""] + [(e.get("footer") or {}).get("text", "") for e in msg.get("embeds") or []]
        found = [m for t in texts for m in MARKER.findall(t)]
        out.append(Post(destination, found[0] if found else "", json.dumps(msg, ensure_ascii=False)))
    return out


def discord_notes(channels: Mapping[str, list[dict[str, Any]]], threads: Mapping[str, Any], destination: str
                  ) -> list[Post]:
    """Thread notes: messages in the threads opened under alerts (a thread's id is its alert's)."""
    return [p for tid in threads for p in discord_posts(channels, tid, destination)]


def slack_notes(messages: Mapping[str, list[dict[str, Any]]], channel: str, destination: str) -> list[Post]:
    """Thread notes: replies in a thread under an alert, keyed by their own marker."""
    return [Post(destination, str(((m.get("metadata") or {}).get("event_payload") or {}).get("marker", "")),
                 json.dumps(m, ensure_ascii=False))
            for m in messages.get(channel, []) if m.get("thread_ts")]


def slack_posts(messages: Mapping[str, list[dict[str, Any]]], channel: str, destination: str) -> list[Post]:
    out = []
    for msg in messages.get(channel, []):
        if msg.get("thread_ts"):
            continue  # a reply in a thread under an alert, not a post of its own
        marker = str(((msg.get("metadata") or {}).get("event_payload") or {}).get("marker", ""))
        out.append(Post(destination, marker, json.dumps(msg, ensure_ascii=False)))
    return out


def verdict(published: Sequence[Report], db: DbSnapshot, posts: Sequence[Post], destinations: Sequence[str],
            edits: Mapping[str, int], notes: Sequence[Post] = ()) -> Figures:
    """Every published item stored and judged; every relevant one in a story; every such story
    posted exactly once per destination, its post showing every source (updates were edits);
    no thread note (one per further source, its own marker) posted twice."""
    lost: list[str] = []
    by_marker = Counter((p.destination, p.marker) for p in posts)
    final = {(p.destination, p.marker): p.blob for p in posts}
    stories: set[str] = set()
    for r in published:
        where = f"{r.feed} #{r.seq} {r.title[:50]!r}"
        if r.key not in db.items:
            lost.append(f"{where}: published, never stored")
        elif not db.items[r.key] or r.key not in db.relevant:
            lost.append(f"{where}: stored, never matched")
        elif db.relevant[r.key]:
            sid = db.story_of.get(r.key)
            if sid is None:
                lost.append(f"{where}: relevant, in no story")
            else:
                stories.add(sid)
    stale: list[str] = []
    for sid in sorted(stories):
        for dest in destinations:
            marker = alert_marker(sid, dest)
            if by_marker[(dest, marker)] == 0:
                lost.append(f"story {sid}: never posted to {dest}")
                continue
            missing = [u for u in db.story_urls.get(sid, ()) if u not in final[(dest, marker)]]
            if missing:
                stale.append(f"story {sid} on {dest}: the post lacks {len(missing)} of its sources")
    wanted = {(d, alert_marker(s, d)) for s in stories for d in destinations}
    duplicates = [f"{m} posted {n} times to {d}" for (d, m), n in sorted(by_marker.items()) if n > 1]
    note_count = Counter((p.destination, p.marker) for p in notes)
    duplicates += [f"thread note {m or '(no marker)'} posted {n} times to {d}"
                   for (d, m), n in sorted(note_count.items()) if n > 1]
    unexpected = [f"{d}: a post with marker {m or '(none)'}" for (d, m) in sorted(by_marker) if (d, m) not in wanted]
    misjudged = sum(1 for r in published if r.key in db.relevant and db.relevant[r.key] != r.relevant)
    return Figures(
        published=len(published), expected_relevant=sum(r.relevant for r in published),
        stored=sum(1 for r in published if r.key in db.items),
        relevant=sum(1 for r in published if db.relevant.get(r.key)), misjudged=misjudged,
        stories=len(stories), posts={d: sum(1 for p in posts if p.destination == d) for d in destinations},
        edits=dict(edits), notes={d: sum(1 for p in notes if p.destination == d) for d in destinations},
        lost=tuple(lost), duplicates=tuple(duplicates), stale=tuple(stale),
        unexpected=tuple(unexpected), active=db.active, integrity=db.integrity,
    )
