"""One clear line, never a traceback, for the faults an operator meets (issue 10 point 10).

Each case runs the real command line (`bot.cli.main`) and checks the exit code and what reaches
stderr: a damaged, unreadable or too-new database; a config nested past what the TOML parser
can read; replay input that is not UTF-8, rows with lone surrogates or impossible years (one bad
row is reported with its line number and the rest still run), and input with no valid row.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from tests.factories import REPO

WATCH = REPO / "config" / "watches" / "dprk-russia.toml"
GOOD_ROW = {"id": "ok", "title": "North Korean soldiers captured by Ukraine in Kursk region",
            "summary": "Two wounded North Korean soldiers fighting for Russia were taken prisoner.",
            "source": "Wire A", "url": "https://a.example/1", "published": "2025-01-11", "lang": "en"}


def write_config(tmp_path: Path, db: Path | str, extra: str = "", watch: Path = WATCH) -> str:
    path = tmp_path / "deskwatch.toml"
    path.write_text(
        f'[storage]\npath = "{db}"\n\n[[watches]]\nname = "dprk-russia"\nfile = "{watch}"\n\n'
        '[[feeds]]\nname = "a"\nurl = "https://a.example/rss"\nlanguage = "en"\n\n'
        '[[destinations]]\nname = "console"\nplatform = "console"\n\n'
        '[[subscriptions]]\nwatch = "dprk-russia"\ndestination = "console"\n' + extra,
        "utf-8",
    )
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return code, out, err


def deskwatch_lines(err: str) -> list[str]:
    """stderr lines the CLI printed itself (log lines have a timestamp and a level in front)."""
    return [line for line in err.splitlines() if line.startswith("deskwatch")]


# --- the database -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["feeds"], ["why", "https://x.example/1"], ["once"]])
def test_a_damaged_database_is_one_line_naming_it_and_the_remedy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    db = tmp_path / "deskwatch.db"
    db.write_bytes(b"this is not a database, it was overwritten by something else\n" * 200)
    code, _, err = run(capsys, *command, "--config", write_config(tmp_path, db))
    [line] = deskwatch_lines(err)
    assert code == 2
    assert str(db) in line and "restore" in line and "backup" in line


def test_an_unreadable_database_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "deskwatch.db"
    db.mkdir()  # a folder where the file should be: unreadable even for root
    code, _, err = run(capsys, "feeds", "--config", write_config(tmp_path, db))
    [line] = deskwatch_lines(err)
    assert code == 2 and str(db) in line and "cannot open" in line


def test_a_database_newer_than_the_code_says_upgrade_or_restore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "deskwatch.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")
    code, _, err = run(capsys, "feeds", "--config", write_config(tmp_path, db))
    [line] = deskwatch_lines(err)
    assert code == 2 and str(db) in line
    assert "newer" in line and "upgrade deskwatch" in line and "restore" in line


# --- the config -----------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1000, 5000])
@pytest.mark.parametrize("where", ["config", "watch file"])
def test_deeply_nested_toml_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], depth: int, where: str
) -> None:
    nested = "x = " + "[" * depth + "]" * depth + "\n"
    if where == "config":
        (tmp_path / "deskwatch.toml").write_text(nested, "utf-8")
    else:
        (tmp_path / "deep.toml").write_text(nested, "utf-8")
        write_config(tmp_path, tmp_path / "x.db", watch=tmp_path / "deep.toml")
    code, _, err = run(capsys, "check-config", str(tmp_path / "deskwatch.toml"))
    assert code == 2
    assert any("nested too deeply" in line for line in err.splitlines()), err


# --- replay -------------------------------------------------------------------------------------


def replay(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes) -> tuple[int, list[dict[str, object]], str]:
    items = tmp_path / "items.jsonl"
    items.write_bytes(data)
    code, out, err = run(capsys, "replay", str(items), "--config", write_config(tmp_path, tmp_path / "x.db"))
    return code, [json.loads(line) for line in out.splitlines()], err


def good(row_id: str) -> bytes:
    return json.dumps({**GOOD_ROW, "id": row_id}).encode()


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (b"\xff\xfe{\x00\"\x00i\x00d\x00\"\x00", "line 2: not UTF-8"),  # a UTF-16 line
        ('{"id": "bad", "title": "caf\xe9"}'.encode("latin-1"), "line 2: not UTF-8"),
        (b'{"id": "bad", "title": "lone \\ud800 surrogate"}', "line 2: a lone surrogate"),
        (b'{"id": "bad", "title": "x", "summary": "\\udfff"}', "line 2: a lone surrogate"),
        (b'{"id": "bad", "title": "x", "published": "0001-01-01"}', "line 2: published 0001-01-01 is out of range"),
        (b'{"id": "bad", "title": "x", "published": "9999-12-31T23:59:59Z"}', "line 2: published"),
        (b'{"id": "bad", "title": "x", "published": "9999-12-31T23:59:59-05:00"}', "line 2: published"),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_the_rest_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: bytes, says: str
) -> None:
    code, out, err = replay(tmp_path, capsys, good("first") + b"\n" + bad + b"\n" + good("third") + b"\n")
    assert code == 0
    assert [o["id"] for o in out] == ["first", "third"]
    [line] = deskwatch_lines(err)
    assert says in line and "skipped" in line


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n\n",
        b"not json\n[1, 2]\n",
        "\ufeff\x00".encode("utf-16"),
        b'{"id": "x", "published": "0001-01-01"}\n',
    ],
)
def test_replay_with_no_valid_row_fails_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes
) -> None:
    code, out, err = replay(tmp_path, capsys, data)
    assert code == 2 and out == []
    assert deskwatch_lines(err)[-1].startswith("deskwatch replay: no valid row in ")


def test_replay_reads_a_utf8_bom_and_unicode_line_separators(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """JSON may hold U+2028 raw; only \\n ends a line. A leading BOM is not an error."""
    row = json.dumps({**GOOD_ROW, "id": "sep", "summary": "a\u2028b\u0085c"}, ensure_ascii=False)
    code, out, err = replay(tmp_path, capsys, b"\xef\xbb\xbf" + row.encode() + b"\r\n" + good("two") + b"\n")
    assert code == 0 and [o["id"] for o in out] == ["sep", "two"], err
    assert deskwatch_lines(err) == []
