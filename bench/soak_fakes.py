"""The soak's servers: growing feeds, and slow Discord and Slack fakes that report what is in flight.

They reuse the test fakes (tests/fakes/) and live in the soak's own event loop, so what they
received survives every restart of the bot. Each request is delayed by a random latency split
around the moment it takes effect (a post is stored half-way), which widens the windows a kill
should hit: request sent but not applied, applied but not yet answered. A `Monitor` counts the
requests in flight by kind and wakes whoever waits for the next one.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from aiohttp import web

from bench.soak_content import FEEDS, Report, rss
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.feed_server import FeedServer, Handler
from tests.fakes.slack_server import FakeSlack

KINDS = ("fetch", "fetched", "post", "edit", "history")  # "fetched": a feed answer with a body went out


@dataclass
class Monitor:
    """What the fakes are doing right now; the killer waits on it."""

    latency: tuple[float, float] = (0.05, 0.3)
    rng: random.Random = field(default_factory=random.Random)
    in_flight: Counter[str] = field(default_factory=Counter)
    seen: Counter[str] = field(default_factory=Counter)
    last_request: float = field(default_factory=time.monotonic)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def delay(self) -> float:
        return self.rng.uniform(*self.latency)

    async def begin(self, kind: str) -> None:
        self.last_request = time.monotonic()
        async with self._changed:
            self.in_flight[kind] += 1
            self.seen[kind] += 1
            self._changed.notify_all()

    def end(self, kind: str) -> None:
        self.in_flight[kind] -= 1

    async def wait_for(self, kind: str, timeout: float, nth: int = 1) -> bool:
        """Until the `nth` next request of `kind` arrives (True), or `timeout` seconds pass (False)."""
        goal = self.seen[kind] + nth
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.seen[kind] >= goal), timeout)
        except TimeoutError:
            return False
        return True

    def busy(self) -> list[str]:
        return sorted(k for k, n in self.in_flight.items() if n > 0)


class Feeds:
    """One growing RSS feed per outlet in FEEDS on a FeedServer; `publish` adds an entry."""

    def __init__(self, monitor: Monitor, base_time: datetime) -> None:
        self.monitor = monitor
        self.base = base_time
        self.server = FeedServer()
        self.entries: dict[str, list[Report]] = {name: [] for name, _ in FEEDS}
        self.published: list[Report] = []

    async def start(self) -> dict[str, str]:
        await self.server.__aenter__()
        return {name: self.server.route(f"/{name}.xml", self._handler(name, outlet)) for name, outlet in FEEDS}

    async def close(self) -> None:
        await self.server.__aexit__(None, None, None)

    def publish(self, report: Report) -> None:
        self.entries[report.feed].append(report)
        self.published.append(report)

    def _handler(self, name: str, outlet: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            m = self.monitor
            await m.begin("fetch")
            try:
                await asyncio.sleep(m.delay())
                entries = list(self.entries[name])
                etag = f'"{name}-{len(entries)}"'
                if request.headers.get("If-None-Match") == etag:
                    return web.Response(status=304, headers={"ETag": etag})
                body = rss(name, outlet, entries, self.base)
                await m.begin("fetched")
                m.end("fetched")
                return web.Response(body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml"})
            finally:
                m.end("fetch")

        return handler


@dataclass
class SlowDiscord(FakeDiscord):
    """FakeDiscord with latency around each request, reporting posts, edits and history reads."""

    monitor: Monitor = field(default_factory=Monitor)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        kind = {"POST": "post", "PATCH": "edit", "GET": "history"}.get(request.method, "other")
        if not tail.endswith("messages") and kind != "edit":
            kind = "other"  # login, thread creation
        return await _timed(self.monitor, kind, partial(super()._dispatch, request))


@dataclass
class SlowSlack(FakeSlack):
    """FakeSlack with latency around each Web API call, reporting posts, updates and history reads."""

    monitor: Monitor = field(default_factory=Monitor)

    async def _api(self, request: web.Request) -> web.Response:
        kind = {"chat.postMessage": "post", "chat.update": "edit", "conversations.history": "history"}.get(
            request.match_info["method"], "other")
        response = await _timed(self.monitor, kind, partial(super()._api, request))
        assert isinstance(response, web.Response)
        return response


async def _timed(monitor: Monitor, kind: str, call: Callable[[], Awaitable[web.StreamResponse]]
                 ) -> web.StreamResponse:
    """Half the latency before the fake applies the request, half after (answer not yet sent)."""
    await monitor.begin(kind)
    try:
        await asyncio.sleep(monitor.delay() / 2)
        response = await call()
        await asyncio.sleep(monitor.delay() / 2)
        return response
    finally:
        monitor.end(kind)
