"""Logging for every deskwatch command: one stderr handler, text for people or JSON lines for a
log shipper, at the level asked for.

Text lines colour their level on a terminal unless NO_COLOR is set; JSON lines carry time, level,
logger, message and, when there is one, the exception. APScheduler's per-job chatter ("Added
job", "Running job", "executed successfully") is demoted to DEBUG. Secrets are blanked by the
filter bot/secrets.py puts on this handler. `Repeats` makes a failure that comes back every tick
one line per change of state instead of a traceback each time.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TextIO

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_COLOURS = {"DEBUG": "\x1b[2m", "WARNING": "\x1b[33m", "ERROR": "\x1b[31m", "CRITICAL": "\x1b[1;31m"}
_RESET = "\x1b[0m"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
               "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        # exc_text may already be set (and redacted) by the secrets filter: use it as it is.
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exception"] = record.exc_text
        return json.dumps(doc, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The classic line; with `colour`, the level name is coloured (errors red, warnings yellow)."""

    def __init__(self, colour: bool) -> None:
        super().__init__(TEXT_FORMAT)
        self.colour = colour

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        code = _COLOURS.get(record.levelname) if self.colour else None
        return line.replace(record.levelname, f"{code}{record.levelname}{_RESET}", 1) if code else line


class QuietScheduler(logging.Filter):
    """APScheduler logs each job added, run and finished at INFO: DEBUG is where that belongs.
    The handler's own level check comes before filters, so this filter applies the level too."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("apscheduler") and record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= self.level


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of each record (a test's capture, or a
    stream replaced after setup), never to a stale one."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass

    def emit(self, record: logging.LogRecord) -> None:
        # While a progress line is drawn (tqdm), write through tqdm so the line is redrawn below
        # the log line instead of being torn in two.
        bars = sys.modules.get("tqdm.std")
        if bars is not None and getattr(bars.tqdm, "_instances", None):
            try:
                bars.tqdm.write(self.format(record), file=sys.stderr)
            except Exception:
                self.handleError(record)
            return
        super().emit(record)


def wants_colour(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set to anything (no-color.org)."""
    if env.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def setup_logging(fmt: str = "text", level: str = "info", env: Mapping[str, str] | None = None) -> logging.Handler:
    """Make the root logger write `fmt` lines at `level` and above to stderr; replaces the
    handler an earlier call made (main() may run more than once in a process, as in tests)."""
    env = os.environ if env is None else env
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(old)
    threshold = logging.getLevelName(level.upper())
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(wants_colour(sys.stderr, env)))
    handler.addFilter(QuietScheduler(threshold))
    root.addHandler(handler)
    root.setLevel(threshold)
    return handler


def say(text: str, level: int = logging.INFO) -> None:
    """A line from the command line itself ("deskwatch: …", a report): printed as it is in text
    mode, so people and scripts read it plainly; a log record in json mode, so every stderr line
    stays one JSON object."""
    handler = next((h for h in logging.getLogger().handlers if isinstance(h, StderrHandler)), None)
    if handler is None or not isinstance(handler.formatter, JsonFormatter):
        print(text, file=sys.stderr, flush=True)
        return
    record = logging.LogRecord("deskwatch.cli", level, __file__, 0, text, None, None)
    if handler.filter(record):  # the secrets filter and the level, as for any record
        handler.emit(record)


class Repeats:
    """Logs a step that runs again and again (the poll tick, a destination's posts) once per
    change of state: the first failure of each kind with its traceback, a different failure as a
    new line, the same failure again only at DEBUG, and the recovery once at INFO."""

    def __init__(self, logger: logging.Logger, what: str, level: int = logging.ERROR) -> None:
        self.log = logger
        self.what = what
        self.level = level
        self.failures = 0  # in a row
        self._last: str | None = None
        self._traced: set[str] = set()  # kinds whose traceback was logged once already

    def failed(self, exc: BaseException, advice: str = "", traceback: bool = True) -> None:
        self.failures += 1
        kind = f"{type(exc).__name__}: {exc}"
        if kind == self._last:
            self.log.debug("%s failed again (%d in a row): %s", self.what, self.failures, kind)
            return
        self._last = kind
        trace = traceback and kind not in self._traced
        self._traced.add(kind)
        self.log.log(self.level, "%s failed: %s%s", self.what, kind, f"; {advice}" if advice else "",
                     exc_info=exc if trace else None)

    def ok(self) -> None:
        if self._last is not None:
            self.log.info("%s works again after %d failure(s)", self.what, self.failures)
        self.failures, self._last = 0, None
