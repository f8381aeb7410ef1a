"""A local stand-in for Discord's REST API v10, enough for discord.py's bot and webhook paths.

It records every request, keeps messages per channel (newest-first history), honours
`nonce` + `enforce_nonce`, takes file attachments (multipart: `payload_json` and `files[n]`,
kept in `files` by message id), creates threads, answers webhooks (`wait` 0/1) and interaction
callbacks, and plays scripted failures (429 with retry_after and a `Via` header, 5xx, 401, 403,
404, 400) per channel id, webhook id, "login" or "interaction". JSON answers carry the exact
Content-Type `application/json`: discord.py treats anything else as text. `garble` makes message
posts answer 200 with an HTML page instead of the message (kept: posted all the same; not kept:
a proxy answered and nothing was posted).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.test_utils import TestServer
from discord.http import Route

BOT_ID = "900000000000000001"
APP_ID = "900000000000000002"
WEBHOOK_CHANNEL = "900000000000000003"
GOOD_TOKEN = "fake-bot-token.for-tests"
BODIES = {
    400: {"message": "Invalid Form Body", "code": 50035},
    401: {"message": "401: Unauthorized", "code": 0},
    403: {"message": "Missing Access", "code": 50001},
    404: {"message": "Unknown Channel", "code": 10003},
    500: {"message": "Internal Server Error", "code": 0},
    503: {"message": "Service Unavailable", "code": 0},
}
BOT_USER = {"id": BOT_ID, "username": "deskwatch", "discriminator": "0", "avatar": None, "bot": True}


def limit_problems(body: Any) -> list[str]:
    """What Discord would refuse in a message body (it answers 400 / 50035): one line per breach."""
    if not isinstance(body, dict):
        return []
    problems, total = [], 0
    embeds = body.get("embeds") or []
    if len(body.get("content") or "") > 2000:
        problems.append("content over 2000")
    if len(embeds) > 10:
        problems.append(f"{len(embeds)} embeds")
    for i, e in enumerate(embeds):
        sizes = {
            "title": (len(e.get("title", "")), 256),
            "description": (len(e.get("description", "")), 4096),
            "footer": (len((e.get("footer") or {}).get("text", "")), 2048),
            "fields": (len(e.get("fields", [])), 25),
        }
        problems += [f"embed {i} {k} {n} > {cap}" for k, (n, cap) in sizes.items() if n > cap]
        for f in e.get("fields", []):
            if not f["name"] or not f["value"] or len(f["name"]) > 256 or len(f["value"]) > 1024:
                problems.append(f"embed {i} field {f['name'][:20]!r} empty or too long")
        total += sizes["title"][0] + sizes["description"][0] + sizes["footer"][0]
        total += sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", []))
    if total > 6000:
        problems.append(f"embeds total {total} > 6000")
    return problems


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    files: list[tuple[str, bytes]] = field(default_factory=list)  # (filename, bytes) of a multipart post


@dataclass
class Failure:
    status: int
    times: int | None  # None: every time
    retry_after: float = 0.0
    via: bool = True


@dataclass
class Garble:
    times: int | None  # None: every time
    keep: bool  # the message is posted and only the answer is unreadable


GARBAGE = "<html><body>502 Bad Gateway? No: 200 OK from a proxy that ate the answer</body></html>"


@dataclass
class FakeDiscord:
    requests: list[Recorded] = field(default_factory=list)
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # oldest first
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=lambda: {GOOD_TOKEN})
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    garbled: dict[str, list[Garble]] = field(default_factory=dict)
    files: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)  # message id -> its attachments
    _nonces: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _next_id: int = 1_100_000_000_000_000_000
    _server: TestServer | None = None

    # --- control ------------------------------------------------------------------------------
    def fail(self, key: str, status: int, *, times: int | None = 1, retry_after: float = 0.0, via: bool = True) -> None:
        """Answer the next `times` requests for `key` with `status` (None: until cleared)."""
        self.failures.setdefault(key, []).append(Failure(status, times, retry_after, via))

    def garble(self, key: str, *, times: int | None = None, keep: bool = True) -> None:
        """Answer the next `times` message posts for `key` (channel or webhook id) with HTTP 200
        and an HTML body; `keep`: the message is posted all the same (only the answer is lost)."""
        self.garbled.setdefault(key, []).append(Garble(times, keep))

    def sent(self, method: str = "POST", suffix: str = "/messages") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    @property
    def api(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("/api/v10"))

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._dispatch)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()
        return self.api

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @contextmanager
    def routed(self) -> Iterator[None]:
        """Point discord.py's every REST and webhook URL here, restoring it afterwards."""
        old = Route.BASE
        Route.BASE = self.api
        try:
            yield
        finally:
            Route.BASE = old

    # --- plumbing -----------------------------------------------------------------------------
    def _snowflake(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(
            status=status,
            body=json.dumps(data).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    def _scripted(self, key: str) -> web.Response | None:
        queue = self.failures.get(key) or []
        if not queue:
            return None
        f = queue[0]
        if f.times is not None:
            f.times -= 1
            if f.times <= 0:
                queue.pop(0)
        if f.status == 429:
            headers = {"Retry-After": str(f.retry_after), "X-RateLimit-Scope": "user"}
            if f.via:
                headers["Via"] = "1.1 google"
            body = {"message": "You are being rate limited.", "retry_after": f.retry_after, "global": False}
            return self._json(body, 429, headers)
        return self._json(BODIES.get(f.status, {"message": "error", "code": 0}), f.status)

    def _message(self, channel: str, body: dict[str, Any], author: dict[str, Any],
                 files: list[tuple[str, bytes]] | None = None) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "id": self._snowflake(), "channel_id": channel, "author": author, "type": 0,
            "content": body.get("content") or "", "embeds": body.get("embeds") or [],
            "timestamp": "2024-05-03T12:00:00+00:00", "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
            "pinned": False, "flags": body.get("flags", 0), "components": [],
        }  # fmt: skip
        if body.get("message_reference"):
            msg["type"], msg["message_reference"] = 19, body["message_reference"]
        if body.get("nonce"):
            msg["nonce"] = body["nonce"]
        if files:
            self.files[msg["id"]] = files
            msg["attachments"] = [
                {"id": self._snowflake(), "filename": name, "size": len(data), "content_type": "image/png",
                 "url": f"https://cdn.example/{name}", "proxy_url": f"https://media.example/{name}"}
                for name, data in files
            ]
        self.channels.setdefault(channel, []).append(msg)
        return msg

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        files: list[tuple[str, bytes]] = []
        if request.content_type == "multipart/form-data":  # a message with files: JSON in payload_json
            body = None
            async for part in await request.multipart():
                if isinstance(part, BodyPartReader) and part.name == "payload_json":
                    body = json.loads(await part.read())
                elif isinstance(part, BodyPartReader):
                    files.append((part.filename or "", bytes(await part.read())))
        else:
            raw = await request.read()
            body = json.loads(raw) if raw and request.content_type == "application/json" else None
        path = "/" + request.match_info["tail"]
        self.requests.append(Recorded(request.method, path, dict(request.query), body, dict(request.headers), files))
        parts = path.strip("/").split("/")
        auth = request.headers.get("Authorization", "")
        if auth and auth.removeprefix("Bot ") not in self.tokens:
            return self._json(BODIES[401], 401)
        if parts[0] in ("webhooks", "interactions"):
            key = "interaction" if parts[0] == "interactions" else parts[1]
        elif parts[0] == "channels":
            key = parts[1]
        else:
            key = "login"
        if (scripted := self._scripted(key)) is not None:
            return scripted
        if request.method in ("POST", "PATCH") and (problems := limit_problems(body)):
            return self._json({"message": "Invalid Form Body", "code": 50035, "errors": problems}, 400)
        posts = request.method == "POST" and (parts[-1] == "messages" or (parts[0] == "webhooks" and len(parts) == 3))
        if posts and (garble := self._garbled(key)) is not None:
            if garble.keep:
                self._route(request.method, parts, body, dict(request.query), files)
            return web.Response(status=200, text=GARBAGE, content_type="text/html")
        return self._route(request.method, parts, body, dict(request.query), files)

    def _garbled(self, key: str) -> Garble | None:
        queue = self.garbled.get(key) or []
        if not queue:
            return None
        g = queue[0]
        if g.times is not None:
            g.times -= 1
            if g.times <= 0:
                queue.pop(0)
        return g

    def _route(self, method: str, parts: list[str], body: Any, query: dict[str, str],
               files: list[tuple[str, bytes]] | None = None) -> web.Response:
        body = body if body is not None else {}
        match method, parts:
            case "GET", ["users", "@me"]:
                return self._json(BOT_USER)
            case "GET", ["oauth2", "applications", "@me"]:
                return self._json({
                    "id": APP_ID, "name": "deskwatch", "description": "", "icon": None, "bot_public": False,
                    "bot_require_code_grant": False, "owner": BOT_USER, "verify_key": "0" * 64, "flags": 0,
                })  # fmt: skip
            case "PUT", ["applications", _, *_rest]:
                commands = body if isinstance(body, list) else []
                return self._json([{**c, "id": self._snowflake(), "application_id": APP_ID, "version": "1"}
                                   for c in commands])  # fmt: skip
            case "POST", ["channels", cid, "messages"]:
                key = (cid, str(body.get("nonce", "")))
                if body.get("enforce_nonce") and key in self._nonces:
                    return self._json(self._nonces[key])
                msg = self._message(cid, body, BOT_USER, files)
                if body.get("enforce_nonce") and body.get("nonce"):
                    self._nonces[key] = msg
                return self._json(msg)
            case "GET", ["channels", cid, "messages"]:
                limit = int(query.get("limit", "50"))
                return self._json(list(reversed(self.channels.get(cid, [])))[:limit])
            case "PATCH", ["channels", cid, "messages", mid]:
                return self._edit(cid, mid, body)
            case "PATCH", ["webhooks", _, _, "messages", mid]:
                return self._edit(WEBHOOK_CHANNEL, mid, body)
            case "POST", ["channels", cid, "messages", mid, "threads"]:
                if mid in self.threads:
                    return self._json({"message": "A thread has already been created", "code": 160004}, 400)
                self.threads[mid] = {"id": mid, "type": 11, "parent_id": cid, "name": body.get("name", ""),
                                     "guild_id": "1", "owner_id": BOT_ID}  # fmt: skip
                return self._json(self.threads[mid], 201)
            case "POST", ["webhooks", wid, _token]:
                hook = {
                    "id": wid,
                    "username": "deskwatch",
                    "discriminator": "0000",
                    "avatar": None,
                    "bot": True,
                }
                msg = self._message(WEBHOOK_CHANNEL, body, hook, files)
                msg["webhook_id"] = wid
                return self._json(msg) if query.get("wait") == "1" else web.Response(status=204)
            case "POST", ["interactions", iid, _token, "callback"]:
                flags = (body.get("data") or {}).get("flags", 0)
                return self._json({"interaction": {
                    "id": iid, "type": 2, "response_message_loading": body.get("type") == 5,
                    "response_message_ephemeral": bool(flags & 64),
                }})  # fmt: skip
        return self._json({"message": "404: Not Found", "code": 0}, 404)

    def _edit(self, channel: str, mid: str, body: dict[str, Any]) -> web.Response:
        for msg in self.channels.get(channel, []):
            if msg["id"] == mid:
                msg.update({k: body[k] for k in ("content", "embeds") if k in body})
                msg["edited_timestamp"] = "2024-05-03T12:05:00+00:00"
                return self._json(msg)
        return self._json({"message": "Unknown Message", "code": 10008}, 404)


@asynccontextmanager
async def running_fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started fake with discord.py pointed at it; shared by the Discord test modules."""
    server = FakeDiscord()
    await server.start()
    with server.routed():
        yield server
    await server.close()
