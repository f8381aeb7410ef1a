"""Log output: JSON lines that parse (secrets blanked), APScheduler's job chatter at DEBUG, colour
only on a terminal without NO_COLOR, and a repeating failure logged once per change of state."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from bot.logs import JsonFormatter, Repeats, StderrHandler, TextFormatter, setup_logging, wants_colour
from bot.secrets import REDACTED, install_redaction


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Captured:
    """stderr as the test sees it (pytest's capsys), read as a whole."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.text = ""

    def getvalue(self) -> str:
        self.text += self.capsys.readouterr().err
        return self.text


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[Captured]:
    """What reaches sys.stderr; the root logger restored afterwards."""
    root = logging.getLogger()
    level = root.level
    yield Captured(capsys)
    for h in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(h)
    root.setLevel(level)


def test_json_lines_parse_with_time_level_logger_message_and_exception(stderr: Captured) -> None:
    setup_logging("json", "info", env={})
    log = logging.getLogger("deskwatch.test")
    log.info("polled %d feeds", 3)
    try:
        raise ValueError("bad \"row\"\nsecond line")
    except ValueError:
        log.exception("it failed")
    lines = [json.loads(line) for line in stderr.getvalue().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert set(first) == {"time", "level", "logger", "message"}
    assert (first["level"], first["logger"], first["message"]) == ("info", "deskwatch.test", "polled 3 feeds")
    assert first["time"].endswith("+00:00")
    assert second["level"] == "error" and "ValueError" in second["exception"] and "Traceback" in second["exception"]


def test_json_lines_never_carry_a_secret(stderr: Captured) -> None:
    token = "xoxb-1234-5678-secretsecret"
    setup_logging("json", "info", env={})
    install_redaction({"SLACK_BOT_TOKEN": token}, [])
    log = logging.getLogger("deskwatch.test")
    log.warning("posting with %s failed", token)
    try:
        raise RuntimeError(f"401 for {token}")
    except RuntimeError:
        log.exception("again")
    text = stderr.getvalue()
    assert token not in text and REDACTED in text
    assert all(json.loads(line) for line in text.splitlines())


@pytest.mark.parametrize("level", ["info", "debug"])
def test_apscheduler_job_chatter_is_debug(stderr: Captured, level: str) -> None:
    setup_logging("json", level, env={})
    logging.getLogger("apscheduler.executors.default").info('Running job "digest" (scheduled at x)')
    logging.getLogger("apscheduler.scheduler").info('Added job "digest" to job store "default"')
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed by 0:05:00")
    lines = [json.loads(line) for line in stderr.getvalue().splitlines()]
    if level == "info":
        assert [x["level"] for x in lines] == ["warning"]
    else:
        assert [x["level"] for x in lines] == ["debug", "debug", "warning"]


def test_level_filters_deskwatch_lines(stderr: Captured) -> None:
    setup_logging("text", "warning", env={})
    logging.getLogger("deskwatch").info("quiet")
    logging.getLogger("deskwatch").warning("loud")
    assert "quiet" not in stderr.getvalue() and "WARNING deskwatch: loud" in stderr.getvalue()


def test_a_second_setup_replaces_the_first_handler(stderr: Captured) -> None:
    setup_logging("text", "info", env={})
    setup_logging("json", "info", env={})
    logging.getLogger("deskwatch").info("once")
    [line] = stderr.getvalue().splitlines()
    assert json.loads(line)["message"] == "once"


@pytest.mark.parametrize(("stream", "env", "colour"), [
    (Tty(), {}, True),
    (Tty(), {"NO_COLOR": "1"}, False),
    (Tty(), {"NO_COLOR": ""}, True),  # no-color.org: set *and* not empty
    (io.StringIO(), {}, False),  # not a terminal
])
def test_colour_only_on_a_terminal_without_no_color(stream: io.StringIO, env: dict[str, str], colour: bool) -> None:
    assert wants_colour(stream, env) is colour


def test_text_formatter_colours_only_the_level() -> None:
    record = logging.LogRecord("deskwatch", logging.ERROR, __file__, 1, "ERROR in the message stays", None, None)
    plain = TextFormatter(colour=False).format(record)
    coloured = TextFormatter(colour=True).format(record)
    assert "\x1b" not in plain
    assert "\x1b[31mERROR\x1b[0m deskwatch: ERROR in the message stays" in coloured


def test_no_color_set_means_no_escape_codes_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    handler = setup_logging("text", "info", env={"NO_COLOR": "1"})
    try:
        logging.getLogger("deskwatch").error("boom")
        assert "ERROR deskwatch: boom" in tty.getvalue() and "\x1b" not in tty.getvalue()
    finally:
        logging.getLogger().removeHandler(handler)


def test_json_formatter_keeps_a_redacted_exc_text() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "m", None, None)
    record.exc_text = "Traceback: [redacted]"
    assert json.loads(JsonFormatter().format(record))["exception"] == "Traceback: [redacted]"


# --- one line per change of state ---------------------------------------------------------------


def test_repeats_logs_each_change_once_and_the_traceback_once_per_kind(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "deskwatch.t")
    r = Repeats(logging.getLogger("deskwatch.t"), "poll cycle")
    locked = RuntimeError("database is locked")
    for _ in range(5):
        r.failed(locked)
    r.failed(OSError("disk full"))
    r.failed(locked)  # back to the first kind: a line, but its traceback was shown already
    r.ok()
    r.ok()  # still fine: nothing more
    shown = [(rec.levelname, rec.getMessage(), rec.exc_info is not None) for rec in caplog.records
             if rec.levelno > logging.DEBUG]
    assert shown == [
        ("ERROR", "poll cycle failed: RuntimeError: database is locked", True),
        ("ERROR", "poll cycle failed: OSError: disk full", True),
        ("ERROR", "poll cycle failed: RuntimeError: database is locked", False),
        ("INFO", "poll cycle works again after 7 failure(s)", False),
    ]
    assert sum(rec.levelno == logging.DEBUG for rec in caplog.records) == 4
