"""SqliteStore(create=False): what read-only commands open. A missing file is never created
(nor its folder): the error is one line naming the path and what makes the database (point 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.store.sqlite import DatabaseMissing, DatabaseUnusable, SqliteStore


@pytest.mark.parametrize("relative", ["desk.db", "no/such/folder/desk.db"])
async def test_a_missing_database_is_not_created(tmp_path: Path, relative: str) -> None:
    path = tmp_path / relative
    store = SqliteStore(str(path), create=False)
    with pytest.raises(DatabaseMissing) as info:
        await store.open()
    assert isinstance(info.value, DatabaseUnusable)  # the CLI's one handler prints it and exits 2
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "deskwatch run" in message
    assert list(tmp_path.iterdir()) == []  # no file, no folder


async def test_an_existing_database_opens_as_usual(tmp_path: Path) -> None:
    path = str(tmp_path / "desk.db")
    first = SqliteStore(path)
    await first.open()
    await first.set_meta("k", "v")
    await first.close()
    again = SqliteStore(path, create=False)
    await again.open()
    try:
        assert await again.get_meta("k") == "v"
    finally:
        await again.close()
