"""Slack Socket Mode under the supervisor: the one-attempt client against a local Socket Mode
server (apps.connections.open hands out a ws:// URL on 127.0.0.1). A /deskwatch envelope is acked
over the socket and answered through its response_url; when Slack closes the socket the attempt
ends, so the supervisor reconnects; a refused app token is `Rejected`, naming SLACK_APP_TOKEN.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from bot.commands import Caller, CommandsAPI, Reply
from bot.http_server import HttpServer
from bot.model import Message
from bot.platforms.slack.app import SocketModeRunner, build_app, http_routes
from bot.platforms.slack.sink import make_web_client
from bot.supervisor import Rejected

GUARD = 30.0  # a hang guard only


class Echo(CommandsAPI):
    def __init__(self) -> None:
        self.calls: list[tuple[Caller, str]] = []

    async def run_text(self, caller: Caller, text: str) -> Reply:
        self.calls.append((caller, text))
        return Reply(Message(kind="reply", title="Done", text=f"You asked: {text}"))


@dataclass
class SocketSlack:
    """apps.connections.open, auth.test, a websocket per connection, and a response_url."""

    app_token_ok: bool = True
    opened: int = 0
    acks: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    server: TestServer | None = None

    async def wait_for(self, pred: Any) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(pred), GUARD)

    async def _bump(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    async def api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "auth.test":
            return web.json_response({"ok": True, "team_id": "T0DESK", "user_id": "U0BOT", "bot_id": "B0"})
        if method == "apps.connections.open":
            if not self.app_token_ok:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True, "url": self.url("/link").replace("http", "ws", 1)})
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.opened += 1
        self.sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        await self._bump()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.acks.append(json.loads(msg.data))
                await self._bump()
        return ws

    async def respond(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        await self._bump()
        return web.Response(text="ok")


@pytest.fixture
async def slack() -> AsyncIterator[SocketSlack]:
    fake = SocketSlack()
    app = web.Application()
    app.router.add_route("*", "/api/{method}", fake.api)
    app.router.add_get("/link", fake.link)
    app.router.add_post("/respond", fake.respond)
    fake.server = TestServer(app, host="127.0.0.1", port=0)
    await fake.server.start_server()
    yield fake
    for ws in fake.sockets:
        await ws.close()
    await fake.server.close()


def envelope(slack: SocketSlack, text: str) -> str:
    payload = {"token": "legacy", "team_id": "T0DESK", "channel_id": "C1", "user_id": "UCONF",
               "command": "/deskwatch", "text": text, "response_url": slack.url("/respond"), "trigger_id": "1.2"}
    return json.dumps({"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
                       "payload": payload})


async def test_a_command_over_the_socket_is_acked_and_answered_and_a_closed_socket_ends_the_attempt(
        slack: SocketSlack) -> None:
    echo = Echo()
    app = build_app(echo, signing_secret=None, bot_token=None, admins=["UCONF"],
                    client=make_web_client("xoxb-test", slack.url("/api/")))
    connected = asyncio.Event()

    async def up() -> None:
        connected.set()

    attempt = asyncio.create_task(SocketModeRunner(app, "xapp-test")(up))
    try:
        await asyncio.wait_for(connected.wait(), GUARD)
        await slack.wait_for(lambda: slack.opened == 1)
        await slack.sockets[0].send_str(envelope(slack, "latest 3"))
        await slack.wait_for(lambda: slack.acks and slack.responses)
        assert slack.acks[0]["envelope_id"] == "env-1"
        assert echo.calls == [(Caller(platform="slack", channel="C1", user="UCONF", can_manage=True), "latest 3")]
        assert "You asked: latest 3" in slack.responses[0]["text"]
        await slack.sockets[0].close()  # Slack ends the connection: the attempt is over
        await asyncio.wait_for(attempt, GUARD)
    finally:
        attempt.cancel()


async def test_a_refused_app_token_is_rejected_naming_the_variable(slack: SocketSlack) -> None:
    slack.app_token_ok = False
    app = build_app(Echo(), signing_secret=None, bot_token=None, admins=[],
                    client=make_web_client("xoxb-test", slack.url("/api/")))

    async def up() -> None:
        raise AssertionError("must not connect")

    with pytest.raises(Rejected, match=r"^fix SLACK_APP_TOKEN \(Slack answered invalid_auth\)$"):
        await asyncio.wait_for(SocketModeRunner(app, "xapp-bad")(up), GUARD)


async def test_http_mode_on_a_port_in_use_fails_the_attempt_and_leaves_nothing_open() -> None:
    app = build_app(Echo(), signing_secret="s", bot_token="xoxb-test", admins=[])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()

        async def up() -> None:
            raise AssertionError("must not serve")

        server = HttpServer("127.0.0.1", taken.getsockname()[1])  # Slack's HTTP mode is this server's route
        server.add_routes(http_routes(app))
        with pytest.raises(OSError):
            await asyncio.wait_for(server(up), GUARD)
        assert not server.listening.is_set() and server.addresses == []
