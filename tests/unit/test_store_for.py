"""store_for (issue 13 point 1): storage.url picks PostgreSQL, otherwise the SQLite file; the
store comes back unopened, and its repr never shows the URL's password."""

from __future__ import annotations

from bot.settings import StorageSettings
from bot.store import store_for
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SqliteStore


def test_the_sqlite_file_by_default() -> None:
    store = store_for(StorageSettings(path="/tmp/x/desk.db"), create=False)
    assert isinstance(store, SqliteStore) and (store.path, store.create) == ("/tmp/x/desk.db", False)


def test_a_url_picks_postgresql_with_the_pool_size() -> None:
    url = "postgresql://desk:hunter2-secret@db.internal:5432/deskwatch?sslmode=require"
    store = store_for(StorageSettings(url=url, pool_size=3))
    assert isinstance(store, PostgresStore) and (store.url, store.pool_size, store.create) == (url, 3, True)
    assert "hunter2" not in repr(store) and "db.internal:5432/deskwatch" in repr(store)
