"""Parse (and normalise) feed bodies in a worker process with a time and memory budget, off the loop.

feedparser is pure Python and runs as long as a body makes it run. On the event loop, one hostile
feed would stop every fetch, every delivery and every chat command until it was done; in this
process, it could take the bot's memory with it. So the live poll hands each body to one worker
process (`python -m bot.parse_worker`) and waits for the answer without blocking the loop:

- time: a parse that takes longer than PARSE_TIMEOUT seconds gets the worker killed; the next
  body gets a fresh one. The feed is recorded as a parse problem ("the feed took too long to
  parse; skipped this time") and the cycle goes on with the other feeds.
- memory: the worker's address space is capped with RLIMIT_AS at PARSE_MEMORY bytes. A parse that
  needs more ends in MemoryError inside the worker, which answers so and exits; the feed is
  recorded as a parse problem and the next body gets a fresh worker.

One worker, one parse at a time: the bodies of one cycle queue for it in a single thread (no more
than the poll's hand-off lets through, bot/handoff.py), and the budget of each starts when its
own parse starts, so a slow feed does not eat the time of the feeds queued behind it. The worker
is a plain subprocess spoken to over its stdin and stdout (a length and a pickle per message, in
both directions, between this process and its own child) rather than a multiprocessing pool: it
is started fresh (nothing of this process's memory is inherited, so the cap measures the parse),
and killing it on a timeout needs no private pool API.

The worker also normalises (`read`: parse + normalise_entry of every entry, one round trip under
one budget), so the bot process's core is left to storing and matching; `keys` and `normalise` split
that in two for a feed whose entries the store mostly knows (bot/read_feed.py asks the store in
between). `parse_feed` in bot/core/feed/parse.py stays the synchronous, in-process path for tests,
the corpus checks and replays; `parse_budgeted` is the plain parse in the worker.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from bot.core.feed.read import KeyedFeed, ReadFeed, keyed, normalize_all, read_all
from bot.judging import Ahead, judge_and_read_all
from bot.model import Entry, Item, ParsedFeed
from bot.settings import FeedSettings

PARSE_TIMEOUT = 10.0  # seconds one feed's parse may take in the worker
# Bytes of address space for the worker: the interpreter with feedparser (~60 MB) plus one parse
# (a 3.4 MB feed of 12,000 items peaks near 75 MB in all); a DTD-free parse needs far less than this.
PARSE_MEMORY = 512 * 1024 * 1024
DEFAULT_TARGET = "bot.core.feed.parse:parse_feed"  # "module:function" run by the worker

# An awaitable body → ParsedFeed, as poll_feed calls it (tests inject their own).
AsyncParse = Callable[[bytes, str], Awaitable[ParsedFeed]]

Parse = Callable[[bytes, str], ParsedFeed]


# The worker's jobs, by name: each gets the target parse function and the request's arguments.
_JOBS: dict[str, Callable[..., Any]] = {
    "parse": lambda parse, body, url: parse(body, url),
    "read": lambda parse, body, feed, fetched, ahead=None: _judged(read_all(parse(body, feed.url), feed, fetched),
                                                                  ahead),
    "keys": lambda parse, body, feed: keyed(parse(body, feed.url), feed),
    "normalise": lambda _parse, entries, feed, fetched: normalize_all(entries, feed, fetched),
}



def _judged(read: ReadFeed, ahead: Ahead | None) -> ReadFeed:
    judged, readings = judge_and_read_all(read.items, ahead)
    return replace(read, judged=judged, readings=readings) if judged else read


_LENGTH = struct.Struct(">Q")
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)  # the directory that holds bot/


def too_slow(timeout: float) -> str:
    return f"the feed took too long to parse (over {timeout:g} s); skipped this time"


def too_big(memory: int) -> str:
    return f"the feed needed more than {memory // 2**20} MB to parse; skipped this time"


def _unreadable(why: str) -> ParsedFeed:
    return ParsedFeed(entries=(), is_feed=False, problem=why)


def _problem(value: object) -> str:
    """A failed round trip's words; any other answer than the job's is a failure too."""
    return value if isinstance(value, str) else "the feed parser gave an unexpected answer; skipped this time"


def _write_message(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _read_message(stream: IO[bytes]) -> Any:
    """The next message, or None when the other side has gone (EOF, or killed mid-message)."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    return pickle.loads(data) if len(data) == size else None


class ParseWorker:
    """One worker process, started on first use and replaced after a timeout or a MemoryError.

    Not tied to an event loop: the round trip runs in a one-thread executor, and `parse` only
    awaits its future, so one worker serves every loop of the process (tests start many).
    """

    def __init__(self, *, timeout: float = PARSE_TIMEOUT, memory: int = PARSE_MEMORY,
                 target: str = DEFAULT_TARGET) -> None:
        self.timeout = timeout
        self.memory = memory
        self.target = target  # "module:function" taking (body, url) and returning a ParsedFeed
        self.started = 0  # worker processes started so far (a replaced worker counts again)
        self.queued = 0  # requests sent or waiting to be, not answered yet
        self._proc: subprocess.Popen[bytes] | None = None
        self._holds: str | None = None  # the digest of the watches the running worker holds
        # One thread: requests queue here, and the worker sees one body at a time.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskwatch-parse")

    async def parse(self, body: bytes, url: str) -> ParsedFeed:
        """Parse in the worker within the budget. Never raises: an overrun is a problem in words."""
        value = await self._run("parse", body, url)
        return value if isinstance(value, ParsedFeed) else _unreadable(_problem(value))

    async def read(self, body: bytes, feed: FeedSettings, fetched: datetime, ahead: Ahead | None = None) -> ReadFeed:
        """Parse and normalise every entry in the worker, both within one budget; with `ahead`,
        judge the items too (bot/judging.py). Never raises."""
        value = await self._run("read", body, feed, fetched, *(() if ahead is None else (ahead,)))
        return value if isinstance(value, ReadFeed) else ReadFeed(_unreadable(_problem(value)), (), 0)

    async def keys(self, body: bytes, feed: FeedSettings) -> KeyedFeed:
        """Parse in the worker and key the entries that have a GUID or a link. Never raises."""
        value = await self._run("keys", body, feed)
        return value if isinstance(value, KeyedFeed) else KeyedFeed(_unreadable(_problem(value)), ())

    async def normalise(self, entries: Sequence[Entry], feed: FeedSettings,
                        fetched: datetime) -> tuple[Item, ...] | str:
        """The entries' Items, normalised in the worker within the budget; a problem in words if not."""
        value = await self._run("normalise", tuple(entries), feed, fetched)
        return value if isinstance(value, tuple) else _problem(value)

    async def _run(self, job: str, *args: Any) -> Any:
        """The job's value, or the problem in words (a str) when it ran over budget or failed."""
        self.queued += 1
        try:
            return await asyncio.wrap_future(self._thread.submit(self._round_trip, job, args))
        finally:
            self.queued -= 1

    def close(self) -> None:
        """Stop the worker (it would also exit on its own once our end of its stdin closes)."""
        self._thread.shutdown(wait=True, cancel_futures=True)
        self._stop()

    # --- in the executor's thread ----------------------------------------------------------------

    def _round_trip(self, job: str, args: tuple[Any, ...]) -> Any:
        try:
            proc = self._running()
        except OSError as exc:  # out of processes or file descriptors: skip, try again next time
            return f"the feed parser could not be started ({exc.strerror or exc}); skipped this time"
        assert proc.stdin is not None and proc.stdout is not None
        expired = threading.Event()

        def expire() -> None:  # kill unblocks our write or read below with EPIPE / EOF
            expired.set()
            proc.kill()

        # The watches cross once per worker process; after that their digest names them.
        ahead = next((a for a in args if isinstance(a, Ahead)), None)
        if ahead is not None and self._holds == ahead.digest:
            args = tuple(a.without_watches() if a is ahead else a for a in args)
        timer = threading.Timer(self.timeout, expire)
        timer.start()  # the budget starts now, when this body's turn has come
        garbled = False
        try:
            _write_message(proc.stdin, (job, self.target, args))
            reply = _read_message(proc.stdout)
        except OSError:  # EPIPE: the worker was killed, or died, before it read the whole body
            reply = None
        except Exception:  # an answer that does not unpickle: the channel is no longer to be trusted
            reply, garbled = None, True
        finally:
            timer.cancel()
        if reply is None:  # killed for time, died on its own (e.g. the kernel's OOM killer), garbled
            self._stop()
            if expired.is_set():
                return too_slow(self.timeout)
            if garbled:
                return "the feed parser's answer could not be read; skipped this time"
            return f"the feed parser stopped unexpectedly (exit code {proc.returncode}); skipped this time"
        kind, value = reply
        if kind == "ok" and not isinstance(value, str):
            if ahead is not None and ahead.watches is not None:
                self._holds = ahead.digest
            return value
        self._stop()  # after a MemoryError or a crash in the parse, a fresh worker serves the next
        if kind == "memory":
            return too_big(self.memory)
        return f"the feed could not be read ({value}); skipped this time"

    def _running(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._stop()
            env = dict(os.environ)
            # bot/ must be importable in the worker whether deskwatch is installed or run from a
            # checkout (and so must a test's own target module, found from the working directory).
            env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "bot.parse_worker", str(self.memory)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
            self.started += 1
        return self._proc

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        self._holds = None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # a pipe the killed worker left half-written
                    stream.close()


_shared: ParseWorker | None = None
_shared_lock = threading.Lock()


def shared() -> ParseWorker:
    """The process's worker, started on first use and stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ParseWorker()
            atexit.register(_shared.close)
        return _shared


async def parse_budgeted(body: bytes, url: str) -> ParsedFeed:
    """The live poll's parse: in the shared worker, within PARSE_TIMEOUT and PARSE_MEMORY."""
    return await shared().parse(body, url)


# --- the worker process ----------------------------------------------------------------------------


def _cap_memory(limit: int) -> None:
    try:
        import resource
    except ImportError:  # not on this platform: the time budget still holds
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _load(target: str, cache: dict[str, Parse]) -> Parse:
    if target not in cache:
        module, _, name = target.partition(":")
        cache[target] = getattr(importlib.import_module(module), name)
    return cache[target]


def main(argv: list[str]) -> int:
    """Answer (job, target, args) requests on stdin until it closes: ("ok", the job's value), or
    ("memory", None) and exit, or ("error", words) when the job raised."""
    # The protocol gets a private copy of stdout; file descriptor 1 itself (where a print or a C
    # library would write) now goes to stderr and cannot garble an answer.
    # Ctrl-C in a terminal reaches the whole process group: the bot decides when its worker
    # stops (it closes our stdin), so the worker ignores it instead of printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, replies = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    cache: dict[str, Parse] = {}
    _load(DEFAULT_TARGET, cache)  # import feedparser before the cap: the cap is for parsing
    _cap_memory(int(argv[0]) if argv else PARSE_MEMORY)
    while True:
        try:  # reading the request counts against the cap as much as parsing it
            request = _read_message(requests)
            if request is None:
                return 0  # the bot closed our stdin: it is stopping, or replacing us
            job, target, args = request
            del request  # the body is held once, by the parse
            reply: tuple[str, Any] = ("ok", _JOBS[job](_load(target, cache), *args))
            del args
        except MemoryError:
            reply = ("memory", None)
        except Exception as exc:  # parse_feed never raises; a test's target may
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            _write_message(replies, reply)
        except MemoryError:  # a result too big to pickle under the cap
            reply = ("memory", None)
            _write_message(replies, reply)
        if reply[0] == "memory":
            return 0  # the heap may be in pieces: let the parent start a fresh worker


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
