"""`deskwatch backup PATH`: a consistent copy of the database, checked before it is called good.

SQLite's online backup API copies the pages of one read snapshot, so the copy is whole even while
`deskwatch run` writes: copying the .db file alone misses what still sits in its -wal file, and
copying both while a checkpoint runs can pair them wrongly. The source is opened read-only (a
backup never creates, migrates or changes it). The copy is written beside its target under a
temporary name, made a single self-contained file (rollback journal, not WAL), checked with
PRAGMA integrity_check, flushed to disk, and only then renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


class BackupError(Exception):
    """The backup was not made; str() is one line for the operator."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int  # bytes
    schema: int  # PRAGMA user_version: the migrations the copy has


def copy_database(source: str, target: str) -> None:
    """Copy `source` into a new file `target` with the backup API, reading `source` read-only."""
    src = sqlite3.connect(f"{Path(source).resolve().as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one snapshot, and WAL writers are not blocked
        finally:
            dst.close()
    finally:
        src.close()


def check(path: Path) -> int:
    """The copy's schema version, after PRAGMA integrity_check said ok; else BackupError."""
    damaged = "the database itself may be damaged: keep the last good backup"
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check(20)")]
            schema = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the copy cannot be read back ({exc}); {damaged}") from exc
    if rows != ["ok"]:
        raise BackupError(f"the copy failed its integrity check ({'; '.join(rows)[:300]}); {damaged}")
    return schema


def target_file(target: str, now: datetime) -> Path:
    """A folder gets a file named by the time (so a cron job can keep several)."""
    path = Path(target)
    return path / f"deskwatch-{now:%Y%m%d-%H%M%S}.db" if path.is_dir() else path


def backup(source: str, target: str, *, force: bool = False, now: datetime) -> Backup:
    """Back up the database `source` to `target` (a file, or a folder); raise BackupError."""
    if source == ":memory:" or source.startswith("file:"):
        raise BackupError(f"storage.path is {source!r}: there is no file to back up")
    src = Path(source)
    if not src.is_file():
        raise BackupError(f"no database at {source}: nothing to back up")
    dest = target_file(target, now)
    if dest.exists() and dest.resolve() == src.resolve():
        raise BackupError(f"{dest} is the database itself; name another file")
    if dest.exists() and not force:
        raise BackupError(f"{dest} exists; pass --force to replace it")
    if not dest.parent.is_dir():
        raise BackupError(f"cannot write {dest}: folder {dest.parent} does not exist")
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    try:
        try:
            copy_database(source, str(partial))
            with contextlib.closing(sqlite3.connect(partial)) as conn:
                conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        except sqlite3.Error as exc:
            raise BackupError(f"cannot copy {source} to {dest}: {exc}") from exc
        schema = check(partial)
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, dest)
        with contextlib.suppress(OSError):  # make the rename itself durable where the platform allows
            folder = os.open(dest.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
    except OSError as exc:
        raise BackupError(f"cannot write {dest}: {exc.strerror or exc}") from exc
    finally:
        for leftover in (partial, partial.with_name(partial.name + "-journal")):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return Backup(dest, dest.stat().st_size, schema)
