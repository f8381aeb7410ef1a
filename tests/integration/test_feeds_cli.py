"""`deskwatch feeds` shows the chat connections the running bot recorded (a platform that is down
is one line with its reason, next to feed and destination health)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.supervisor import STATE_META
from tests.integration.test_once_dry_run import config


def test_feeds_lists_a_chat_connection_that_is_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, "http://127.0.0.1:9/never.xml")
    assert main(["once", "--config", cfg]) == 1  # creates the database (every feed fails, port 9: exit 1)
    states = {"slack": {"state": "down", "detail": "cannot connect to Slack", "since": "2026-01-15T09:00:00+00:00"},
              "discord": {"state": "up", "detail": "", "since": "2026-01-15T09:00:00+00:00"}}
    with sqlite3.connect(tmp_path / "deskwatch.db") as conn:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (STATE_META, json.dumps(states)))
    capsys.readouterr()
    assert main(["feeds", "--config", cfg]) == 0
    out = capsys.readouterr().out
    assert "chat connections: discord up, slack down" in out
    assert "cannot connect to Slack" in out
