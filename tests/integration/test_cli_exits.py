"""How the command line ends when the world gets in the way (issue 11 point 7): Ctrl-C, a reader
that goes away (`deskwatch feeds | head -1`), a database that cannot be opened or written — each
one line at most, never a traceback, and an exit code that says so. And every command takes
--log-format/--log-level, JSON lines parse.

The real command runs in a subprocess where a signal or a closed pipe is the point; a local feed
server (a thread) stands in for a slow outlet.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import bot.store.sqlite
from bot.cli import _parser, main
from tests.factories import REPO
from tests.fakes.feed_server import make_rss
from tests.integration.test_cli_errors import write_config

ENV = {**os.environ, "DESKWATCH_CHAT_COMMANDS": "off", "NO_COLOR": "1"}
GOOD_ROW = {"id": "r", "title": "North Korean soldiers captured by Ukraine in Kursk region",
            "summary": "Two wounded North Korean soldiers fighting for Russia were taken prisoner.",
            "source": "Wire A", "url": "https://a.example/1", "published": "2025-01-11", "lang": "en"}


def deskwatch(*args: str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=REPO, env=ENV, text=True,
                            stderr=subprocess.PIPE, **kw)  # type: ignore[call-overload]


def no_traceback(err: str) -> None:
    assert "Traceback" not in err and "Exception ignored" not in err, err


# --- every command: --log-format and --log-level --------------------------------------------------


def test_every_command_takes_the_log_options_and_help_on_every_argument() -> None:
    parser = _parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in commands.items():
        options = {o for action in sub._actions for o in action.option_strings}
        assert {"--log-format", "--log-level", "--config"} <= options, name
        for action in sub._actions:
            assert action.help, f"deskwatch {name}: {'/'.join(action.option_strings) or action.dest} has no help"


def test_log_options_parse_after_any_command() -> None:
    args = _parser().parse_args(["story", "s-abcd", "--log-format", "JSON", "--log-level", "warning"])
    assert (args.log_format, args.log_level, args.story_id) == ("json", "warning", "s-abcd")


def test_a_bad_log_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["feeds", "--log-format", "xml"])
    assert exc.value.code == 2 and "--log-format" in capsys.readouterr().err


def test_json_log_lines_all_parse(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, tmp_path / "d.db")  # its feed is https://a.example: unreachable offline
    cfg_text = Path(cfg).read_text("utf-8").replace("https://a.example/rss", "http://127.0.0.1:9/rss")
    Path(cfg).write_text(cfg_text, "utf-8")
    proc = deskwatch("once", "--config", cfg, "--log-format", "json", "--log-level", "debug",
                     stdout=subprocess.PIPE)
    _out, err = proc.communicate(timeout=120)
    lines = [json.loads(line) for line in err.splitlines()]
    assert lines and all({"time", "level", "logger", "message"} <= set(x) for x in lines)
    assert any(x["level"] == "debug" for x in lines)
    assert any("polled 1 feeds (1 failing)" in x["message"] for x in lines)  # the CLI's own report too


# --- a reader that goes away ---------------------------------------------------------------------


@pytest.fixture
def polled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A config whose database exists (one `once` run, its feed unreachable)."""
    cfg = write_config(tmp_path, tmp_path / "d.db")
    Path(cfg).write_text(Path(cfg).read_text("utf-8").replace("https://a.example/rss", "http://127.0.0.1:9/rss"),
                         "utf-8")
    main(["once", "--config", cfg])
    capsys.readouterr()
    return cfg


@pytest.mark.parametrize("command", ["feeds", "status", "latest", "replay"])
def test_a_closed_pipe_ends_quietly(polled: str, tmp_path: Path, command: str) -> None:
    args = [command, "--config", polled]
    if command == "replay":
        items = tmp_path / "items.jsonl"
        items.write_text("\n".join(json.dumps({**GOOD_ROW, "id": str(n)}) for n in range(5)) + "\n", "utf-8")
        args.append(str(items))
    proc = deskwatch(*args, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # `| head -0`: the reader is gone before the first line is written
    err = proc.stderr.read() if proc.stderr else ""
    code = proc.wait(timeout=120)
    no_traceback(err)
    assert code == 141, err  # 128 + SIGPIPE, as a tool killed by it would report


# --- Ctrl-C ------------------------------------------------------------------------------------


class _Hang(BaseHTTPRequestHandler):
    """/fast.xml answers at once (so the parse worker process is running); anything else hangs."""

    asked = threading.Event()

    def do_GET(self) -> None:
        if self.path == "/fast.xml":
            body = make_rss("Fast", 2)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        _Hang.asked.set()
        time.sleep(30)  # an outlet that never answers in time

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hanging_feed() -> Iterator[str]:
    _Hang.asked.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hang)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("command", "code"), [("once", 130), ("run", 0)])
def test_ctrl_c_mid_poll_is_no_traceback(tmp_path: Path, hanging_feed: str, command: str, code: int) -> None:
    fast = hanging_feed.replace("/feed.xml", "/fast.xml")
    cfg = write_config(tmp_path, tmp_path / "d.db", f'\n[[feeds]]\nname = "fast"\nurl = "{fast}"\nlanguage = "en"\n')
    Path(cfg).write_text(Path(cfg).read_text("utf-8").replace("https://a.example/rss", hanging_feed), "utf-8")
    # Its own session, so the signal goes to the whole group as a terminal's Ctrl-C does (the parse
    # worker included).
    proc = deskwatch(command, "--config", cfg, stdout=subprocess.PIPE, start_new_session=True)
    assert _Hang.asked.wait(90), "the command never polled the feed"
    time.sleep(2)  # the fast feed's parse has started the worker process by now
    os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    no_traceback(err)
    assert proc.returncode == code, err


# --- a database that cannot be opened or written ---------------------------------------------------


@pytest.mark.parametrize("command", [["once"], ["run"], ["feeds"], ["latest"], ["backup", "x.db"]])
def test_an_unopenable_database_is_one_line_naming_it(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "file").write_text("a file where a folder should be", "utf-8")
    db = tmp_path / "file" / "deskwatch.db"
    cfg = write_config(tmp_path, db)
    proc = deskwatch(*command, "--config", cfg, stdout=subprocess.PIPE)
    _out, err = proc.communicate(timeout=120)
    no_traceback(err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert str(db) in lines[0] and proc.returncode != 0


def test_a_database_that_refuses_writes_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write fails after the file opened (read-only mount, full disk, a lock held too long)."""
    db = tmp_path / "deskwatch.db"
    cfg = write_config(tmp_path, db)
    Path(cfg).write_text(Path(cfg).read_text("utf-8").replace("https://a.example/rss", "http://127.0.0.1:9/rss"),
                         "utf-8")

    def refuse(self: object, fn: object, *args: object) -> object:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(bot.store.sqlite.SqliteStore, "_tx", refuse)
    code = main(["once", "--config", cfg])
    err = capsys.readouterr().err
    no_traceback(err)
    [line] = [x for x in err.splitlines() if x.startswith("deskwatch")]
    assert code == 2 and str(db) in line and "readonly" in line
