"""Persistence: the Store protocol and its implementations, and `store_for`, which picks one.

`storage.url` (or DESKWATCH_DATABASE_URL) set: PostgreSQL; otherwise the SQLite file at
`storage.path`. The store comes back unopened: the caller opens and closes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import StorageSettings
    from bot.store.base import Store


def store_for(storage: StorageSettings, *, create: bool = True) -> Store:
    """The store the settings name. `create=False` (commands that only read) never creates a
    database or its tables."""
    if storage.url:
        from bot.store.postgres import PostgresStore  # asyncpg is imported only when it is used

        return PostgresStore(storage.url, storage.pool_size, create=create)
    from bot.store.sqlite import SqliteStore

    return SqliteStore(storage.path, create=create)
