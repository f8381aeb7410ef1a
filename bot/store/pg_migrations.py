"""The PostgreSQL schema as ordered migrations, the same versions as SQLite's (migrations.py).

Version N here means what version N means there; only the SQL differs (real times, arrays,
booleans, and a word list for search instead of FTS5). Pending migrations run in one
transaction under a transaction-scoped advisory lock, so several workers starting at once
migrate once: the others wait on the lock, then find the work done. Never edit a released
migration: append one, here and in migrations.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

# pg_advisory_xact_lock key for migrations ("dwmigrat" read as a 64-bit integer).
MIGRATION_LOCK = int.from_bytes(b"dwmigrat", "big", signed=True)

# Text that is ordered or compared as a range is COLLATE "C": code-point order, as SQLite and the
# in-memory store sort, whatever the database's default collation.
_V1 = """
CREATE TABLE feeds (
    name TEXT COLLATE "C" PRIMARY KEY,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    last_attempt TIMESTAMPTZ,
    last_success TIMESTAMPTZ,
    last_error TEXT NOT NULL DEFAULT '',
    last_error_kind TEXT NOT NULL DEFAULT '',
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_poll TIMESTAMPTZ,
    last_status INTEGER,
    entries_seen BIGINT NOT NULL DEFAULT 0,
    items_stored BIGINT NOT NULL DEFAULT 0
);

-- `words` is the folded word list of title + summary (bot/store/fts.py, computed by the client),
-- so a search finds exactly what SQLite's FTS5 and the in-memory store find, in any language,
-- with no dependence on the server's locale or extensions.
CREATE TABLE items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key TEXT COLLATE "C" NOT NULL UNIQUE,
    feed TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT COLLATE "C" NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    published TIMESTAMPTZ NOT NULL,
    fetched TIMESTAMPTZ NOT NULL,
    lang TEXT NOT NULL,
    tier TEXT NOT NULL,
    guid TEXT,
    title_hash TEXT COLLATE "C" NOT NULL,
    dated BOOLEAN NOT NULL DEFAULT TRUE,
    words TSVECTOR NOT NULL DEFAULT ''
);
CREATE INDEX items_url ON items(url) WHERE url <> '';
CREATE INDEX items_title_hash ON items(title_hash) WHERE title_hash <> '';
CREATE INDEX items_published ON items(published);
CREATE INDEX items_words ON items USING GIN (words);

CREATE TABLE item_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_key TEXT COLLATE "C" NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    story_id TEXT,
    destination TEXT
);
CREATE INDEX item_events_key ON item_events(item_key, at);

CREATE TABLE matches (
    item_key TEXT COLLATE "C" NOT NULL,
    watch TEXT COLLATE "C" NOT NULL,
    relevant BOOLEAN NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    reasons TEXT[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (item_key, watch)
);
CREATE INDEX matches_watch ON matches(watch, relevant);

CREATE TABLE stories (
    id TEXT COLLATE "C" PRIMARY KEY,
    watch TEXT COLLATE "C" NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    first_published TIMESTAMPTZ NOT NULL,
    last_published TIMESTAMPTZ NOT NULL,
    score DOUBLE PRECISION NOT NULL DEFAULT 0,
    features TEXT NOT NULL DEFAULT '{}',
    keys TEXT[] NOT NULL DEFAULT '{}'
);
CREATE INDEX stories_last ON stories(watch, last_published);
CREATE INDEX stories_recent ON stories(last_published);

CREATE TABLE story_sources (
    story_id TEXT COLLATE "C" NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    pos INTEGER NOT NULL,
    item_key TEXT COLLATE "C" NOT NULL,
    outlet TEXT NOT NULL,
    url TEXT NOT NULL,
    lang TEXT NOT NULL,
    published TIMESTAMPTZ NOT NULL,
    title TEXT NOT NULL,
    tier TEXT NOT NULL,
    new_facts TEXT[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (story_id, pos)
);
CREATE INDEX story_sources_item ON story_sources(item_key);

-- watch and last_published are copied here so a candidate lookup is one index range per key.
CREATE TABLE story_keys (
    key TEXT COLLATE "C" NOT NULL,
    watch TEXT COLLATE "C" NOT NULL,
    last_published TIMESTAMPTZ NOT NULL,
    story_id TEXT COLLATE "C" NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    PRIMARY KEY (key, watch, last_published, story_id)
);
CREATE INDEX story_keys_story ON story_keys(story_id);

CREATE TABLE subscriptions (
    watch TEXT COLLATE "C" NOT NULL,
    destination TEXT COLLATE "C" NOT NULL,
    mode TEXT NOT NULL,
    schedule TEXT NOT NULL,
    timezone TEXT NOT NULL,
    origin TEXT NOT NULL,
    PRIMARY KEY (watch, destination)
);

CREATE TABLE mutes (
    destination TEXT COLLATE "C" NOT NULL,
    term TEXT COLLATE "C" NOT NULL,
    until TIMESTAMPTZ,
    PRIMARY KEY (destination, term)
);

CREATE TABLE deliveries (
    id TEXT COLLATE "C" PRIMARY KEY,
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    created TIMESTAMPTZ NOT NULL,
    story_id TEXT COLLATE "C",
    story_ids TEXT[] NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TIMESTAMPTZ,
    last_error TEXT NOT NULL DEFAULT '',
    ref TEXT,
    sent_version INTEGER NOT NULL DEFAULT 0,
    title TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_due ON deliveries(status, created);
CREATE INDEX deliveries_story ON deliveries(story_id);

CREATE TABLE delivery_stories (
    story_id TEXT COLLATE "C" NOT NULL,
    delivery_id TEXT COLLATE "C" NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    PRIMARY KEY (story_id, delivery_id)
);
CREATE INDEX delivery_stories_delivery ON delivery_stories(delivery_id);

CREATE TABLE destination_health (
    name TEXT COLLATE "C" PRIMARY KEY,
    ok BOOLEAN NOT NULL,
    message TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);

CREATE TABLE meta (
    key TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# v2: the "processed" flag (items stored but not yet matched are picked up after a crash).
_V2 = """
ALTER TABLE items ADD COLUMN processed BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX items_unprocessed ON items(id) WHERE NOT processed;
"""

# v3: leases, one holder at a time per name (an expired lease is anyone's to take).
_V3 = """
CREATE TABLE leases (
    name TEXT COLLATE "C" PRIMARY KEY,
    holder TEXT NOT NULL,
    expires TIMESTAMPTZ NOT NULL
);
"""

# v4: every save of a story takes the next change number (digests read "changed since N").
_V4 = """
ALTER TABLE stories ADD COLUMN changed BIGINT NOT NULL DEFAULT 0;
CREATE INDEX stories_changed ON stories(changed);
"""

# v5: the last change number handed out lives in a counter in meta, which only grows (pruning the
# newest story must not hand its number out again). Its row lock also orders the numbers by
# commit (see PostgresStore.save_story), which a sequence would not.
_V5 = """
INSERT INTO meta (key, value)
SELECT 'store:story_changes', MAX(changed)::text FROM stories HAVING MAX(changed) IS NOT NULL
ON CONFLICT (key) DO UPDATE SET value = excluded.value;
"""

# v6: an item's twins by headline are looked up within a few days of it (identity.headline_span):
# with the time in the index, a headline that recurs for years costs one range, not every row.
_V6 = """
DROP INDEX IF EXISTS items_title_hash;
CREATE INDEX items_title_hash ON items(title_hash, published) WHERE title_hash <> '';
"""

# v7: no table changes. Story fingerprints (stories.features) now keep their core reports'
# embeddings as packed doubles (bot/core/stories/fingerprint.py, format 3), which an older
# deskwatch would misread as empty fingerprints; the version says so, so an older worker
# refuses the database instead of starting every later report's story anew.
_V7 = """
SELECT 1;
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7)

_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"


async def migrate(conn: asyncpg.Connection, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Apply every migration the database has not seen yet; return the resulting version."""
    async with conn.transaction():
        # Taken before anything is read or created: a second worker waits here, then sees the
        # version the first one committed.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(_VERSION_TABLE)
        version = await conn.fetchval("SELECT version FROM schema_version")
        if version is None:
            version = 0
            await conn.execute("INSERT INTO schema_version VALUES (0)")
        if version > len(migrations):
            raise RuntimeError(
                f"database schema version {version} is newer than this deskwatch ({len(migrations)})"
            )
        for number, script in enumerate(migrations[version:], start=version + 1):
            await conn.execute(script)
            await conn.execute("UPDATE schema_version SET version = $1", number)
            version = number
    return int(version)
