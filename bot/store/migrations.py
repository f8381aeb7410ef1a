"""The SQLite schema as an ordered list of migrations, tracked with PRAGMA user_version.

Migration N (1-based) runs when user_version < N, inside one transaction that also bumps
user_version, so a crash mid-upgrade leaves the file at the previous version. Never edit a
released migration: append a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

# Times are ISO-8601 UTC text of fixed width (see sqlite.py), so text order is time order.
_V1 = """
CREATE TABLE feeds (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    last_attempt TEXT,
    last_success TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    last_error_kind TEXT NOT NULL DEFAULT '',
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_poll TEXT,
    last_status INTEGER,
    entries_seen INTEGER NOT NULL DEFAULT 0,
    items_stored INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    feed TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    published TEXT NOT NULL,
    fetched TEXT NOT NULL,
    lang TEXT NOT NULL,
    tier TEXT NOT NULL,
    guid TEXT,
    title_hash TEXT NOT NULL,
    dated INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX items_url ON items(url) WHERE url <> '';
CREATE INDEX items_title_hash ON items(title_hash) WHERE title_hash <> '';
CREATE INDEX items_published ON items(published);

CREATE VIRTUAL TABLE items_fts USING fts5(
    title, summary, content='items', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts(items_fts, rowid, title, summary)
    VALUES ('delete', old.id, old.title, old.summary);
END;
CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary ON items BEGIN
    INSERT INTO items_fts(items_fts, rowid, title, summary)
    VALUES ('delete', old.id, old.title, old.summary);
    INSERT INTO items_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);
END;

CREATE TABLE item_events (
    id INTEGER PRIMARY KEY,
    item_key TEXT NOT NULL,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    story_id TEXT,
    destination TEXT
);
CREATE INDEX item_events_key ON item_events(item_key, at);

CREATE TABLE matches (
    item_key TEXT NOT NULL,
    watch TEXT NOT NULL,
    relevant INTEGER NOT NULL,
    score REAL NOT NULL,
    reasons TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (item_key, watch)
) WITHOUT ROWID;
CREATE INDEX matches_watch ON matches(watch, relevant);

CREATE TABLE stories (
    id TEXT PRIMARY KEY,
    watch TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    first_published TEXT NOT NULL,
    last_published TEXT NOT NULL,
    score REAL NOT NULL DEFAULT 0,
    features TEXT NOT NULL DEFAULT '{}',
    keys TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX stories_last ON stories(watch, last_published);
CREATE INDEX stories_recent ON stories(last_published);

CREATE TABLE story_sources (
    story_id TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    pos INTEGER NOT NULL,
    item_key TEXT NOT NULL,
    outlet TEXT NOT NULL,
    url TEXT NOT NULL,
    lang TEXT NOT NULL,
    published TEXT NOT NULL,
    title TEXT NOT NULL,
    tier TEXT NOT NULL,
    new_facts TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (story_id, pos)
) WITHOUT ROWID;
CREATE INDEX story_sources_item ON story_sources(item_key);

-- watch and last_published are copied here so a candidate lookup is one index range per key,
-- touching only recent stories of the watch however many old ones share the key.
CREATE TABLE story_keys (
    key TEXT NOT NULL,
    watch TEXT NOT NULL,
    last_published TEXT NOT NULL,
    story_id TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    PRIMARY KEY (key, watch, last_published, story_id)
) WITHOUT ROWID;
CREATE INDEX story_keys_story ON story_keys(story_id);

CREATE TABLE subscriptions (
    watch TEXT NOT NULL,
    destination TEXT NOT NULL,
    mode TEXT NOT NULL,
    schedule TEXT NOT NULL,
    timezone TEXT NOT NULL,
    origin TEXT NOT NULL,
    PRIMARY KEY (watch, destination)
) WITHOUT ROWID;

CREATE TABLE mutes (
    destination TEXT NOT NULL,
    term TEXT NOT NULL,
    until TEXT,
    PRIMARY KEY (destination, term)
) WITHOUT ROWID;

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    created TEXT NOT NULL,
    story_id TEXT,
    story_ids TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    ref TEXT,
    sent_version INTEGER NOT NULL DEFAULT 0,
    title TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_due ON deliveries(status, created);
CREATE INDEX deliveries_story ON deliveries(story_id);

-- Every story a delivery carries (the alert's story, or each story of a digest), for `why`.
CREATE TABLE delivery_stories (
    story_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    PRIMARY KEY (story_id, delivery_id)
) WITHOUT ROWID;

CREATE TABLE destination_health (
    name TEXT PRIMARY KEY,
    ok INTEGER NOT NULL,
    message TEXT NOT NULL,
    at TEXT NOT NULL
);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# v2: items carry a "processed" flag so items stored by a run that died before matching them
# are picked up by the next cycle (existing rows were processed by the code that stored them).
_V2 = """
ALTER TABLE items ADD COLUMN processed INTEGER NOT NULL DEFAULT 1;
CREATE INDEX items_unprocessed ON items(id) WHERE processed = 0;
"""

# v3: leases. One delivery pass at a time per database: a pass holds the "outbox" lease while it
# works, so two processes on one file never post the same row twice (see bot/outbox.py).
# `expires` is fixed-width UTC text like every time here; an expired lease is anyone's to take.
_V3 = """
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires TEXT NOT NULL
) WITHOUT ROWID;
"""

# v4: every save of a story takes the next change number, so a digest reads "what changed since
# the last digest" by number, in commit order: a late-arriving report (published hours ago) or a
# merge committed during the digest's read is in the next digest, never skipped. The number was
# MAX + 1, which grows only while stories are never deleted: v5 keeps it in a counter instead.
_V4 = """
ALTER TABLE stories ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
UPDATE stories SET changed = rowid;
CREATE INDEX stories_changed ON stories(changed);
"""

# v5: retention (storage.keep_days) deletes old stories, and the newest story may be among them:
# MAX(changed) + 1 would then hand out a number a digest has already read past. The next change
# number comes from a counter in meta, which only grows; it starts where MAX(changed) is now.
_V5 = """
INSERT OR REPLACE INTO meta (key, value)
SELECT 'store:story_changes', CAST(MAX(changed) AS TEXT) FROM stories HAVING MAX(changed) IS NOT NULL;
"""

# v6: a delivery's story links are looked up by delivery (each save of a delivery updates its
# links, and a flood digest is saved once per story it gathers): without this index every save
# scanned the whole link table, so a burst's cost grew with the outbox's history.
_V6 = """
CREATE INDEX IF NOT EXISTS delivery_stories_delivery ON delivery_stories(delivery_id);
"""

# v7: an item's twins by headline are looked up within a few days of it (identity.headline_span):
# with the time in the index, a headline that recurs for years costs one range, not every row.
_V7 = """
DROP INDEX IF EXISTS items_title_hash;
CREATE INDEX items_title_hash ON items(title_hash, published) WHERE title_hash <> '';
"""

# v8: the full-text index keeps which items hold a word, not where in them (detail=none). Search
# asks only for items holding every prefix term (fts.py: no phrases, columns or ranking), and
# writing the positions was about a quarter of the CPU of storing a 4 KB item (its index 18%
# larger). The triggers stay: they name the table, which is made anew and filled from `items`.
_V8 = """
DROP TABLE items_fts;
CREATE VIRTUAL TABLE items_fts USING fts5(
    title, summary, content='items', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2', detail=none
);
INSERT INTO items_fts(items_fts) VALUES ('rebuild');
"""

# v9: no table changes. Story fingerprints (stories.features) now keep their core reports'
# embeddings as packed doubles (bot/core/stories/fingerprint.py, format 3), which an older
# deskwatch would misread as empty fingerprints; the version says so, so an older deskwatch
# refuses the file instead of starting every later report's story anew.
_V9 = """
SELECT 1;
"""

# v10: an item is written to the search index after the poll cycle, not with the item
# (SqliteStore.index_for_search; a search brings it up to date first). Indexing a 4 KB item cost
# the bot's one busy process ~0.15–0.2 ms inside the cycle. `search_pending` lists the stored
# items not indexed yet; the triggers keep the index right whichever state a deleted or edited
# item is in (an external-content index must never be told to delete what it does not hold).
# Written to run again over itself (as every step here may: a file's version set back by hand):
# a schema-9 index holds every item, and a file migrated again from before v8 was just rebuilt,
# so nothing is waiting either way.
_V10 = """
CREATE TABLE IF NOT EXISTS search_pending (id INTEGER PRIMARY KEY);
DELETE FROM search_pending;
DROP TRIGGER IF EXISTS items_fts_insert;
DROP TRIGGER IF EXISTS items_fts_delete;
DROP TRIGGER IF EXISTS items_fts_update;
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO search_pending(id) VALUES (new.id);
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts(items_fts, rowid, title, summary)
    SELECT 'delete', old.id, old.title, old.summary
    WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE id = old.id);
    DELETE FROM search_pending WHERE id = old.id;
END;
CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary ON items BEGIN
    INSERT INTO items_fts(items_fts, rowid, title, summary)
    SELECT 'delete', old.id, old.title, old.summary
    WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE id = old.id);
    INSERT OR IGNORE INTO search_pending(id) VALUES (new.id);
END;
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9, _V10)


def migrate(conn: sqlite3.Connection, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Apply every migration the file has not seen yet; return the resulting version.

    `conn` must be in autocommit mode (isolation_level=None) so our BEGIN/COMMIT are the only
    transaction boundaries.
    """
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(migrations):
        raise RuntimeError(
            f"database schema version {version} is newer than this deskwatch ({len(migrations)})"
        )
    for number, script in enumerate(migrations[version:], start=version + 1):
        try:
            # executescript runs statement by statement; the explicit BEGIN/COMMIT make the
            # schema change and the version bump one atomic step.
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        version = number
    return version
