"""The terminal on PostgreSQL (issue 13 point 1): with DESKWATCH_DATABASE_URL set, `once` polls
into PostgreSQL and the read-only commands answer from it; before any run they say in one line
that there is nothing yet, without creating a table or showing the password."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from bot.cli import main
from tests.contract.conftest import new_schema
from tests.integration.test_once_dry_run import config, feed_url  # noqa: F401 (a fixture)
from tests.postgres_server import PgServer


@pytest.fixture
async def database_url(postgres_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> str:
    url = await new_schema(postgres_server)
    monkeypatch.setenv("DESKWATCH_DATABASE_URL", url)
    return url


async def tables(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()"))
    finally:
        await conn.close()


def test_once_then_latest_on_postgresql(tmp_path: Path, feed_url: str, database_url: str,  # noqa: F811
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, feed_url)
    assert main(["latest", "--config", path]) == 2
    err = capsys.readouterr().err
    assert "no deskwatch tables" in err and "Traceback" not in err and err.count("\n") == 1
    assert asyncio.run(tables(database_url)) == 0
    assert main(["once", "--config", path]) == 0
    capsys.readouterr()
    assert main(["latest", "--config", path]) == 0
    out = capsys.readouterr().out
    assert "1 shown" in out and "Kursk region" in out and "2 source(s)" in out, out  # one story of two reports
    assert not (tmp_path / "deskwatch.db").exists()  # nothing went to the SQLite file


def test_a_dry_run_never_touches_postgresql_and_backup_points_to_pg_dump(
        tmp_path: Path, feed_url: str, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    path = config(tmp_path, feed_url)
    assert main(["once", "--dry-run", "--config", path]) == 0
    assert asyncio.run(tables(database_url)) == 0  # it ran on a temporary SQLite file
    assert main(["backup", str(tmp_path / "copy.db"), "--config", path]) == 2
    err = capsys.readouterr().err
    assert "pg_dump" in err and database_url not in err and "Traceback" not in err
