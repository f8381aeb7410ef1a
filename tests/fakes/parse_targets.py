"""Parse functions for the parse worker in tests (run inside the worker process, by name).

The worker imports its target as "module:function", so a test can make a parse hang, run out of
memory or crash without touching the real parser: `ParseWorker(target="tests.fakes.parse_targets:…")`.
Kept free of test-only imports: the worker loads it under its memory cap.
"""

from __future__ import annotations

import os
import time

from bot.core.feed.parse import parse_feed
from bot.model import ParsedFeed

HANG = b"<!-- hang here -->"  # a body holding this never finishes parsing
ALLOCATE = 400_000_000  # bytes: more than the small cap the memory test gives its worker


def parse_or_hang(body: bytes, url: str) -> ParsedFeed:
    """parse_feed, except that a body marked HANG keeps the worker busy far past any budget."""
    if HANG in body:
        time.sleep(3_600)
    return parse_feed(body, url)


def allocate_too_much(body: bytes, url: str) -> ParsedFeed:
    """A parse that needs ALLOCATE bytes at once (a MemoryError under a smaller RLIMIT_AS)."""
    _block = bytearray(ALLOCATE)
    return parse_feed(body, url)


def die(body: bytes, url: str) -> ParsedFeed:
    """The worker process vanishes mid-parse, as if the kernel's OOM killer had taken it."""
    os._exit(3)


def chatty(body: bytes, url: str) -> ParsedFeed:
    """Writes to standard output, the way a library might, before answering."""
    print("a library saying hello")
    os.write(1, b"\x00\x00\x00\x00\x00\x00\x00\x05junk")  # would read as a message header on stdout
    return parse_feed(body, url)
