"""cProfile for a bench step in both threads that do the bot's work: the event loop's and the
SQLite store's (its single executor thread), so a `--profile` run says where a cycle's CPU goes.

cProfile hooks only the thread that enables it, so the store's thread gets its own profiler,
enabled by a call run on that thread. The parse worker is another process; the benches report
its CPU time apart.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
from typing import Any


class Profiles:
    def __init__(self, store: Any) -> None:
        self.loop_prof = cProfile.Profile()
        self.store_prof = cProfile.Profile()
        # SqliteStore runs every query on one executor thread (a private attribute: this is a
        # measuring instrument, not an interface); other stores have none and are not profiled.
        self.executor = getattr(store, "_executor", None)

    async def start(self) -> None:
        if self.executor is not None:
            await asyncio.get_running_loop().run_in_executor(self.executor, self.store_prof.enable)
        self.loop_prof.enable()

    async def stop(self) -> None:
        self.loop_prof.disable()
        if self.executor is not None:
            await asyncio.get_running_loop().run_in_executor(self.executor, self.store_prof.disable)

    def report(self, top: int = 25) -> str:
        out = []
        for name, prof in (("event loop thread", self.loop_prof), ("SQLite store thread", self.store_prof)):
            buf = io.StringIO()
            stats = pstats.Stats(prof, stream=buf)
            if not stats.stats:  # type: ignore[attr-defined]
                continue
            stats.sort_stats("tottime").print_stats(top)
            lines = buf.getvalue().strip().splitlines()
            total = next((x.strip() for x in lines if "function calls" in x), "")
            body = [x for x in lines if x.strip() and not x.lstrip().startswith(("Ordered by", "List reduced"))]
            out.append(f"cProfile, {name} ({total}), by own time:")
            out += ["  " + x for x in body if "function calls" not in x]
        return "\n".join(out)
