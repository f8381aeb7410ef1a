"""The one aiohttp server of `deskwatch run`: /healthz and /metrics, and Slack's HTTP mode.

`HttpServer` is called like a chat client's connect (bot/supervisor.py): it listens, says it is
up, and holds until cancelled. With Slack in HTTP mode, the Slack supervisor runs it (a port in
use is Slack being down, retried with back-off); otherwise `serve` does, retrying on its own.
No access log: a health check every few seconds would drown the bot's own lines.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from bot.metrics import CONTENT_TYPE
from bot.monitor import Monitor
from bot.supervisor import Up, backoff, close_quietly, describe

log = logging.getLogger("deskwatch.http")
RETRY_FIRST, RETRY_CAP = 5.0, 60.0  # seconds between tries to listen when the port is taken
Sleep = Callable[[float], Awaitable[None]]


class HttpServer:
    """Routes are added before the first call; each call builds a fresh aiohttp app from them."""

    def __init__(self, host: str, port: int | None) -> None:
        self.host = host
        self.port = port  # None: nothing asked for a server (yet)
        self.routes: list[web.RouteDef] = []
        self.addresses: list[tuple[str, int]] = []  # where it listens now (port 0 → the port chosen)
        self.listening = asyncio.Event()

    def add_routes(self, routes: Iterable[web.RouteDef]) -> None:
        self.routes.extend(routes)

    @property
    def url(self) -> str:
        host, port = self.addresses[0][:2]
        return f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"

    async def __call__(self, up: Up) -> None:
        """Listen until cancelled; a port that cannot be bound raises OSError, leaving nothing open."""
        assert self.port is not None, "no port to listen on"
        app = web.Application()
        app.add_routes(self.routes)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
            self.addresses = [a[:2] for a in runner.addresses]
            log.info("listening on %s (%s)", self.url, ", ".join(sorted({r.path for r in self.routes})))
            self.listening.set()
            await up()
            await asyncio.Event().wait()  # aiohttp serves in its own tasks; this holds the slot
        finally:
            self.listening.clear()
            self.addresses = []
            await close_quietly(runner.cleanup, "the HTTP server")


async def serve(server: HttpServer, *, sleep: Sleep = asyncio.sleep) -> None:
    """Run `server` until cancelled. A port that cannot be bound is logged once, then tried again
    with back-off: polling goes on meanwhile, and /healthz not answering says why to Docker."""
    failures = 0

    async def up() -> None:
        nonlocal failures
        if failures:
            log.info("listening on %s after all", server.url)
        failures = 0

    while True:
        try:
            await server(up)
        except OSError as exc:
            failures += 1
            if failures == 1:
                log.error("cannot listen on %s:%s for /healthz and /metrics: %s; trying again with back-off "
                          "(change [http] port or DESKWATCH_HTTP_PORT)", server.host, server.port, describe(exc))
        await sleep(backoff(failures, RETRY_FIRST, RETRY_CAP))


def monitor_routes(monitor: Monitor) -> list[web.RouteDef]:
    """GET /healthz (200 or 503, a JSON body with the reason and the facts) and GET /metrics."""

    async def healthz(request: web.Request) -> web.Response:
        ok, body = monitor.health()
        return web.json_response(body, status=200 if ok else 503, headers={"Cache-Control": "no-store"})

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=await monitor.scrape(), headers={"Content-Type": CONTENT_TYPE})

    return [web.get("/healthz", healthz), web.get("/metrics", metrics)]
