"""The slash commands from a terminal (issue 11 point 9): `deskwatch latest|search|story|status|
digest` answer what `/deskwatch …` answers — the same `Commands` methods, printed as plain text —
with usage errors as exit 2 and "nothing found" as exit 1; `--version`; `once` saying why it polled
nothing and failing when every feed or every delivery failed.

A local feed server (test_once_dry_run's) carries two reports of one development; one `once`
run stores them as one story and posts it to a file destination.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import cli_lookup
from bot.cli import main, version
from bot.commands_impl import Commands
from bot.config import load_settings
from bot.pipeline import Context
from bot.store.sqlite import SqliteStore
from tests.integration.test_once_dry_run import config, feed_url  # noqa: F401 (a fixture)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def cfg(tmp_path: Path, feed_url: str, capsys: pytest.CaptureFixture[str]) -> str:  # noqa: F811
    path = config(tmp_path, feed_url)
    assert main(["once", "--config", path]) == 0
    capsys.readouterr()
    return path


def test_once_leaves_every_stored_item_in_the_search_index(cfg: str) -> None:
    with sqlite3.connect(Path(cfg).parent / "deskwatch.db") as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM search_pending").fetchone()[0] == 0


def story_id(cfg: str) -> str:
    with sqlite3.connect(Path(cfg).parent / "deskwatch.db") as conn:
        [(sid,)] = conn.execute("SELECT id FROM stories").fetchall()
    return str(sid)


async def slash(cfg: str, name: str, *args: object) -> str:
    """What the chat command answers, rendered the way the CLI renders it."""
    settings = load_settings(cfg)
    store = SqliteStore(settings.storage.path)
    await store.open()
    try:
        commands = Commands(Context(settings=settings, store=store), lambda: datetime.now(UTC))
        reply = await getattr(commands, name)(cli_lookup.CONSOLE, *args)
    finally:
        await store.close()
    return cli_lookup.plain_text(reply.message)


@pytest.mark.parametrize(("argv", "call"), [
    (["latest"], ("latest", 5)),
    (["latest", "2"], ("latest", 2)),
    (["search", "Kursk", "prisoners"], ("search", "Kursk prisoners", 7)),
    (["search", "Kursk", "--days", "30"], ("search", "Kursk", 30)),
    (["story", "{sid}"], ("story", "{sid}")),
])
def test_the_cli_prints_what_the_slash_command_answers(
    cfg: str, capsys: pytest.CaptureFixture[str], argv: list[str], call: tuple[object, ...]
) -> None:
    sid = story_id(cfg)
    code, out, _ = run(capsys, *[a.replace("{sid}", sid) for a in argv], "--config", cfg)
    name, *args = [a.replace("{sid}", sid) if isinstance(a, str) else a for a in call]
    assert code == 0
    assert out.rstrip("\n") == asyncio.run(slash(cfg, str(name), *args))
    assert "North Korean" in out and sid in out


def test_latest_shows_each_story_with_its_sources(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "latest", "--config", cfg)
    assert "1 shown, newest first." in out
    assert re.search(r"^ 1\. \[\w+\] ", out, re.M)
    assert "https://wire.example/0" in out and "https://wire.example/1" in out


def test_status_leaves_out_the_uptime_of_the_command_itself(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "status", "--config", cfg)
    assert code == 0
    assert "Last poll cycle:" in out and "Pending deliveries: 0" in out and "Feeds failing: 0 of 1" in out
    assert "Up for" not in out


@pytest.mark.parametrize(("argv", "code", "says"), [
    (["search", "zzqxv", "wvvq"], 1, "No stored item matches"),
    (["story", "s-0000000000"], 1, "No story s-0000000000"),
    (["story", "not-an-id"], 2, "deskwatch story: "),
    (["why", "https://nowhere.example/x"], 1, "Why: not seen"),
])
def test_nothing_found_is_1_and_a_bad_argument_2(
    cfg: str, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, says: str
) -> None:
    got, out, err = run(capsys, *argv, "--config", cfg)
    assert got == code and says in out + err


@pytest.mark.parametrize("argv", [["latest", "0"], ["latest", "21"], ["search", "x", "--days", "0"], ["story"]])
def test_arguments_out_of_bounds_are_usage_errors(
    cfg: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--config", cfg])
    assert exc.value.code == 2
    assert "usage: deskwatch" in capsys.readouterr().err


def test_digest_posts_a_destinations_digest_now(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    posted = Path(cfg).parent / "desk.md"
    before = posted.read_text("utf-8")
    code, out, _ = run(capsys, "digest", "desk", "--config", cfg)
    assert code == 0 and "Digest posted" in out and "1 stories" in out
    after = posted.read_text("utf-8")
    assert len(after) > len(before) and after.count("North Korean") > before.count("North Korean")


def test_digest_of_a_destination_without_subscription_names_the_ones_there_are(
    cfg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "digest", "nowhere", "--config", cfg)
    assert code == 2 and "'nowhere'" in err and "desk" in err


@pytest.mark.parametrize("command", [["latest"], ["search", "x"], ["story", "s-abcd"], ["status"], ["why", "u"],
                                     ["feeds"], ["digest", "desk"]])
def test_without_a_database_nothing_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    path = config(tmp_path, "http://127.0.0.1:9/x.xml")
    code, _, err = run(capsys, *command, "--config", path)
    assert code == 1 and "no database at" in err and "deskwatch once" in err
    assert not (tmp_path / "deskwatch.db").exists()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out == version() and re.fullmatch(r"deskwatch \S+ \(database schema \d+\)", out)


# --- once ----------------------------------------------------------------------------------------


def test_once_says_why_it_polled_nothing_and_when_the_next_feed_is_due(
    cfg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "once", "--config", cfg)  # the fixture's run polled the feed a moment ago
    assert code == 0
    assert "polled 0 feeds" in err
    assert re.search(r"no feed was due: .*the next, wire, is due at \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in \d+ min\)",
                     err), err


def test_once_fails_when_every_feed_failed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "once", "--config", config(tmp_path, "http://127.0.0.1:9/x.xml"))
    assert code == 1 and "every feed failed (1 of 1)" in err


def test_once_fails_when_every_delivery_failed(
    tmp_path: Path, feed_url: str, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    path = Path(config(tmp_path, feed_url))
    text = path.read_text("utf-8")  # the desk is a webhook whose address is not in the environment
    path.write_text(re.sub(r'platform = "file"\npath = ".*"', 'platform = "webhook"\nwebhook_env = '
                           '"DESKWATCH_TEST_UNSET_HOOK"', text), "utf-8")
    code, _, err = run(capsys, "once", "--config", str(path))
    assert code == 1 and "every delivery failed (0 retrying, 1 held, 0 given up)" in err


def test_once_without_any_feed_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(config(tmp_path, "http://127.0.0.1:9/x.xml"))
    text = path.read_text("utf-8")
    path.write_text(re.sub(r"\[\[feeds\]\]\n(?:.+\n)+", "", text), "utf-8")
    code, _, err = run(capsys, "once", "--config", str(path))
    assert code == 0 and "polled 0 feeds" in err and "the config lists none" in err
