"""A fake generic-webhook receiver on 127.0.0.1 (port 0) that records every POST it gets.

The path chooses the scenario, as slack_sdk's mock server does with tokens:
`receiver.url("429")` → /hooks/429/<secret>. Scenarios: ok, 204, 429 (with Retry-After), 500,
503, 401, 403, 404, 410, 400, 413, redirect (301), slow (answers after `slow_seconds`), flaky
(503 for the first POST of each Idempotency-Key, then 200), garbage (200 with a non-JSON body).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

SECRET = "s3cr3t-T0KEN-do-not-log"  # in every URL, so leak tests have something to look for


@dataclass(frozen=True)
class ReceivedPost:
    scenario: str
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any  # parsed JSON, or None when the body was not JSON


@dataclass
class WebhookReceiver:
    retry_after: str = "7"  # what the 429 scenario sends as Retry-After
    slow_seconds: float = 30.0  # how long "slow" waits; sink tests use a much shorter timeout
    posts: list[ReceivedPost] = field(default_factory=list)
    _server: TestServer | None = None
    _flaky_seen: set[str] = field(default_factory=set)

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hooks/{scenario}/{secret}", self._handle)
        # No access log: it would print the secret path and muddle the leak tests (the receiver
        # is the only side that legitimately knows the URL).
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server(access_log=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            await self._server.close()

    def url(self, scenario: str = "ok", secret: str = SECRET) -> str:
        assert self._server is not None, "use `async with WebhookReceiver() as receiver`"
        return str(self._server.make_url(f"/hooks/{scenario}/{secret}"))

    def bodies(self, scenario: str | None = None) -> list[Any]:
        return [p.body for p in self.posts if scenario is None or p.scenario == scenario]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        scenario = request.match_info["scenario"]
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.posts.append(ReceivedPost(scenario, request.path, dict(request.headers), raw, body))
        return await self._answer(scenario, request)

    async def _answer(self, scenario: str, request: web.Request) -> web.StreamResponse:
        if scenario in ("ok", "204"):
            return web.Response(status=int(scenario) if scenario == "204" else 200)
        if scenario == "429":
            return web.json_response({"error": "slow down"}, status=429,
                                     headers={"Retry-After": self.retry_after})
        if scenario == "redirect":
            return web.Response(status=301, headers={"Location": "/hooks/ok/moved"})
        if scenario == "slow":
            await asyncio.sleep(self.slow_seconds)  # the client gives up first
            return web.Response(status=200)
        if scenario == "flaky":
            key = request.headers.get("Idempotency-Key", "")
            if key not in self._flaky_seen:
                self._flaky_seen.add(key)
                return web.Response(status=503, text="warming up")
            return web.Response(status=200)
        if scenario == "garbage":
            return web.Response(status=200, body=b"\x00\xffnot json", content_type="application/octet-stream")
        if scenario.isdigit():
            return web.json_response({"error": f"scenario {scenario}"}, status=int(scenario))
        return web.Response(status=400, text=f"unknown scenario {scenario}")
