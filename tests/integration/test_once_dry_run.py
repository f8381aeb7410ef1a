"""`deskwatch once --dry-run` changes nothing (issue 10 point 6).

It used to mark the alerts it only printed as sent: the next real run posted nothing and `why`
claimed a delivery. Here a local feed server (a thread, because `main` runs its own event loop)
serves two reports of one development; the dry run prints them under a "DRY RUN" banner and
leaves the database as it found it; the real run after it posts the alert.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from bot.cli import main
from bot.store.sqlite import SqliteStore
from tests.factories import REPO

WATCH = REPO / "config" / "watches" / "dprk-russia.toml"
REPORTS = [
    ("North Korean soldiers captured by Ukraine in Kursk region",
     "Ukraine's security service said two wounded North Korean soldiers fighting for Russia were taken "
     "prisoner in the Kursk region."),
    ("Zelensky: two North Korean prisoners of war captured in Kursk",
     "President Zelensky said Ukrainian forces captured two North Korean soldiers in Russia's Kursk region."),
]


def rss() -> bytes:
    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>{escape(t)}</title><link>https://wire.example/{n}</link><guid>wire-{n}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=30 - n))}</pubDate>"
        f"<description>{escape(s)}</description></item>"
        for n, (t, s) in enumerate(REPORTS)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
            f"<link>https://wire.example/</link>{items}</channel></rss>").encode()


class _Feed(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def feed_url() -> Iterator[str]:
    _Feed.body = rss()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/wire.xml"
    finally:
        server.shutdown()
        server.server_close()


def config(tmp_path: Path, feed_url: str) -> str:
    path = tmp_path / "deskwatch.toml"
    path.write_text(
        f'[storage]\npath = "{tmp_path / "deskwatch.db"}"\n\n'
        f'[[watches]]\nname = "dprk-russia"\nfile = "{WATCH}"\n\n'
        f'[[feeds]]\nname = "wire"\nsource = "Wire"\nurl = "{feed_url}"\nlanguage = "en"\ntier = "wire"\n\n'
        f'[[destinations]]\nname = "desk"\nplatform = "file"\npath = "{tmp_path / "desk.md"}"\n\n'
        '[[subscriptions]]\nwatch = "dprk-russia"\ndestination = "desk"\n',
        "utf-8",
    )
    return str(path)


async def create_database(db: Path) -> None:
    store = SqliteStore(str(db))
    await store.open()
    await store.close()


def db_state(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
    """Feed rows, delivery rows and item count: what a dry run must leave as it found it."""
    with sqlite3.connect(db) as conn:
        feeds = conn.execute("SELECT * FROM feeds ORDER BY name").fetchall()
        deliveries = conn.execute("SELECT * FROM deliveries ORDER BY id").fetchall()
        items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    return feeds, deliveries, items


def test_a_dry_run_changes_nothing_and_the_real_run_still_posts(
    tmp_path: Path, feed_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, feed_url)
    db, out_file = tmp_path / "deskwatch.db", tmp_path / "desk.md"
    asyncio.run(create_database(db))  # the database exists, feeds not yet polled
    before = db_state(db)

    assert main(["once", "--dry-run", "--config", cfg]) == 0
    out, err = capsys.readouterr()
    assert "DRY RUN" in err.splitlines()[0]  # the banner comes first
    assert "North Korean" in out  # the alert was printed ...
    assert not out_file.exists()  # ... and not posted
    assert db_state(db) == before  # no feed polled, no item stored, no delivery recorded

    assert main(["once", "--config", cfg]) == 0
    out, err = capsys.readouterr()
    assert "DRY RUN" not in err
    assert "North Korean" in out_file.read_text("utf-8")  # the real run posts it
    feeds, deliveries, items = db_state(db)
    assert items == 2 and feeds != before[0]
    assert any("sent" in row for row in deliveries)

    assert main(["why", "https://wire.example/0", "--config", cfg]) == 0
    assert "desk" in capsys.readouterr().out


def test_a_dry_run_without_a_database_does_not_create_one(
    tmp_path: Path, feed_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, feed_url)
    assert main(["once", "--dry-run", "--config", cfg]) == 0
    assert "North Korean" in capsys.readouterr().out
    assert not (tmp_path / "deskwatch.db").exists()
    assert not (tmp_path / "desk.md").exists()


@pytest.mark.parametrize("version", [None, 999])
def test_a_dry_run_on_a_bad_database_names_the_real_file(
    tmp_path: Path, feed_url: str, capsys: pytest.CaptureFixture[str], version: int | None
) -> None:
    db = tmp_path / "deskwatch.db"
    if version is None:
        db.write_bytes(b"not a database\n" * 500)
    else:
        with sqlite3.connect(db) as conn:
            conn.execute(f"PRAGMA user_version = {version}")
    assert main(["once", "--dry-run", "--config", config(tmp_path, feed_url)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    [line] = [x for x in err.splitlines() if x.startswith("deskwatch") and "DRY RUN" not in x]
    assert str(db) in line and "dry-run.db" not in line and "restore a backup" in line
