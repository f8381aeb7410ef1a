"""`deskwatch backup PATH` (issue 11 point 8): a whole, checked copy even while another connection
writes; never over an existing file without --force, never over the database itself; nothing left
behind when it fails; the source never created or changed."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.backup import BackupError, backup, check
from bot.cli import main
from bot.store.migrations import MIGRATIONS
from bot.store.sqlite import SqliteStore
from tests.integration.test_cli_errors import write_config


def make_db(path: Path) -> None:
    async def create() -> None:
        store = SqliteStore(str(path))
        await store.open()
        await store.set_meta("hello", "world")
        await store.close()

    asyncio.run(create())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "deskwatch.db"
    make_db(path)
    return path


class Writer:
    """Another connection in WAL mode writing rows as fast as it can, one transaction each, and
    some still in the -wal file (no checkpoint is forced)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stop = threading.Event()
        self.written = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("CREATE TABLE IF NOT EXISTS load (n INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        while not self.stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO load (body) VALUES (?)", ("x" * 2000,))
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"n:{self.written}", "y"))
            conn.execute("COMMIT")
            self.written += 1
        conn.close()


@pytest.fixture
def writer(db: Path) -> Iterator[Writer]:
    w = Writer(db)
    w.thread.start()
    while w.written < 200:  # under way, with pages in the WAL
        time.sleep(0.01)
    yield w
    w.stop.set()
    w.thread.join(10)


def test_a_backup_while_a_writer_is_active_is_whole_and_consistent(
    tmp_path: Path, db: Path, writer: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "copy.db"
    assert main(["backup", str(target), "--config", write_config(tmp_path, db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK — ") and str(target) in out and "integrity check ok" in out
    during = writer.written
    assert check(target) == len(MIGRATIONS)
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file, no -wal needed
        loads = conn.execute("SELECT COUNT(*) FROM load").fetchone()[0]
        counters = conn.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'n:%'").fetchone()[0]
        assert conn.execute("SELECT value FROM meta WHERE key = 'hello'").fetchone()[0] == "world"
    # Each write transaction added one row to each table: a copy of one snapshot has as many of both.
    assert loads == counters and 200 <= loads <= during + 1
    assert not (tmp_path / "copy.db-wal").exists()
    assert not list(tmp_path.glob(".copy.db.partial*"))


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "copy.db"
    target.write_text("yesterday's backup", "utf-8")
    cfg = write_config(tmp_path, db)
    assert main(["backup", str(target), "--config", cfg]) == 2
    err = capsys.readouterr().err
    assert f"{target} exists; pass --force" in err and "Traceback" not in err
    assert target.read_text("utf-8") == "yesterday's backup"
    assert main(["backup", str(target), "--force", "--config", cfg]) == 0
    assert check(target) == len(MIGRATIONS)


def test_a_folder_gets_a_file_named_by_the_time(tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    assert main(["backup", str(folder), "--config", write_config(tmp_path, db)]) == 0
    [made] = folder.iterdir()
    assert made.name.startswith("deskwatch-") and made.suffix == ".db" and str(made) in capsys.readouterr().out


def test_never_over_the_database_itself(tmp_path: Path, db: Path) -> None:
    with pytest.raises(BackupError, match="the database itself"):
        backup(str(db), str(db), force=True, now=_now())


def test_no_database_is_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.db"
    assert main(["backup", str(tmp_path / "copy.db"), "--config", write_config(tmp_path, missing)]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not missing.exists() and not (tmp_path / "copy.db").exists()


def test_a_damaged_database_fails_the_check_and_leaves_nothing(tmp_path: Path, db: Path) -> None:
    conn = sqlite3.connect(db)
    with conn:  # fill a few pages, then scribble over the middle of the file
        conn.execute("CREATE TABLE pad (x TEXT)")
        conn.executemany("INSERT INTO pad VALUES (?)", [("p" * 3000,) for _ in range(50)])
        conn.execute("CREATE INDEX pad_x ON pad(x)")
    # The database is in WAL mode: move every page into the file, or the scribble may hit pages
    # the -wal file has newer copies of (and the check would rightly find nothing wrong).
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.seek(size // 2)
        f.write(b"\x00\xff" * 4096)
    with pytest.raises(BackupError, match=r"damaged|integrity|cannot"):
        backup(str(db), str(tmp_path / "copy.db"), now=_now())
    assert not (tmp_path / "copy.db").exists() and not list(tmp_path.glob(".copy.db.partial*"))


def test_a_missing_folder_is_one_line(tmp_path: Path, db: Path) -> None:
    with pytest.raises(BackupError, match="does not exist"):
        backup(str(db), str(tmp_path / "no" / "such" / "copy.db"), now=_now())


def _now() -> datetime:
    return datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
