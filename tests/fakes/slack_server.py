"""A fake Slack on 127.0.0.1 (port 0): Web API methods, incoming webhooks and response_urls.

Scenarios are chosen by token, channel or path, as slack_sdk's own mock server does:
  xoxb-ratelimited     -> 429 + Retry-After: 1 for the first `ratelimit_times` calls per method
  xoxb-ratelimited-long-> 429 + Retry-After: 120, always
  xoxb-invalid         -> invalid_auth          xoxb-5xx -> HTTP 500
  channel C404         -> channel_not_found     CNOTIN   -> not_in_channel   CARCHIVED -> is_archived
  channel CGARBLED     -> chat.postMessage posts, then answers 200 with an HTML page (answer lost)
  channel CPROXY       -> chat.postMessage answers 200 with an HTML page and posts nothing (a proxy)
  /hooks/ok            -> "ok"; /hooks/ratelimited, /hooks/gone (404 no_service), /hooks/5xx, /hooks/bad
  files_upload_v2      -> files.getUploadURLExternal gives an upload URL here (/upload/<file id>), the
                          bytes are POSTed there (kept in `uploads`), files.completeUploadExternal
                          shares the file in the channel (a message with `files`); xoxb-noscope
                          answers missing_scope to files.* methods
Every request is recorded; `wait_for` lets a test await one without sleeping.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

BOT_ID = "B0DESKW"
TEAM_ID = "T0DESK"


@dataclass
class Recorded:
    path: str
    method: str  # Slack method ("chat.postMessage"), or "webhook" / "respond"
    token: str
    body: dict[str, Any]


@dataclass
class FakeSlack:
    ratelimit_times: int = 1
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # user id -> users.info "user"
    requests: list[Recorded] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel -> oldest first
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file id -> (filename, bytes)
    _server: TestServer | None = None
    _seen: dict[str, int] = field(default_factory=dict)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/hooks/{name}", self._webhook)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()
        return self.url

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("/"))

    @property
    def api_url(self) -> str:
        return self.url + "api/"

    def calls(self, method: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method]

    async def wait_for(self, pred: Callable[[FakeSlack], bool], timeout: float = 5.0) -> None:
        """Until `pred(self)` holds (woken by each request; the timeout is only a safety net)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: pred(self)), timeout)

    # --- handlers ------------------------------------------------------------------------------

    async def _record(self, request: web.Request, method: str) -> Recorded:
        body: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body.update(await request.json())
        elif request.can_read_body:
            body.update(await request.post())
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        rec = Recorded(request.path, method, token, body)
        async with self._changed:
            self.requests.append(rec)
            self._changed.notify_all()
        return rec

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        rec = await self._record(request, method)
        token, channel = rec.token, str(rec.body.get("channel", ""))
        if token == "xoxb-5xx":
            return web.Response(status=500, text="<html>upstream broke</html>", content_type="text/html")
        if token.startswith("xoxb-ratelimited"):
            key = f"{token}:{method}"
            self._seen[key] = self._seen.get(key, 0) + 1
            if token == "xoxb-ratelimited-long" or self._seen[key] <= self.ratelimit_times:
                wait = "120" if token == "xoxb-ratelimited-long" else "1"
                return _json({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": wait})
        if token == "xoxb-invalid" or not token:
            return _error("invalid_auth" if token else "not_authed")
        if token == "xoxb-noscope" and method.startswith("files."):
            return _error("missing_scope")
        errors = {"C404": "channel_not_found", "CNOTIN": "not_in_channel", "CARCHIVED": "is_archived"}
        if channel in errors:
            return _error(errors[channel])
        if method == "chat.postMessage" and channel in ("CGARBLED", "CPROXY"):
            if channel == "CGARBLED":
                self._post_message(rec.body)
            return web.Response(status=200, text="<html><body>OK</body></html>", content_type="text/html")
        handler = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "users.info": self._users_info,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }.get(method)
        return handler(rec.body) if handler else _error("unknown_method")

    def _auth_test(self, body: dict[str, Any]) -> web.Response:
        return _json({"ok": True, "team_id": TEAM_ID, "user_id": "U0BOT", "bot_id": BOT_ID, "team": "Desk"})

    def _post_message(self, body: dict[str, Any]) -> web.Response:
        if not body.get("text") and not body.get("blocks"):
            return _error("no_text")
        channel = str(body["channel"])
        posted = self.messages.setdefault(channel, [])
        ts = f"{1_700_000_000 + len(self.requests)}.{len(posted):06d}"
        msg = {"type": "message", "ts": ts, "bot_id": BOT_ID, **_message_fields(body)}
        posted.append(msg)
        return _json({"ok": True, "channel": channel, "ts": ts, "message": msg})

    def _update(self, body: dict[str, Any]) -> web.Response:
        for msg in self.messages.get(str(body["channel"]), []):
            if msg["ts"] == body.get("ts"):
                msg.update(_message_fields(body))
                return _json({"ok": True, "channel": body["channel"], "ts": msg["ts"]})
        return _error("message_not_found")

    def _history(self, body: dict[str, Any]) -> web.Response:
        limit = int(body.get("limit", 100))
        with_meta = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        newest_first = list(reversed(self.messages.get(str(body["channel"]), [])))[:limit]
        out = [{k: v for k, v in m.items() if k != "metadata" or with_meta} for m in newest_first]
        return _json({"ok": True, "messages": out, "has_more": False})

    def _replies(self, body: dict[str, Any]) -> web.Response:
        """A thread: its parent, then the replies, oldest first (as Slack answers)."""
        limit = int(body.get("limit", 100))
        with_meta = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        ts = str(body.get("ts", ""))
        thread = [m for m in self.messages.get(str(body["channel"]), [])
                  if m["ts"] == ts or m.get("thread_ts") == ts]
        if not any(m["ts"] == ts for m in thread):
            return _error("thread_not_found")
        out = [{k: v for k, v in m.items() if k != "metadata" or with_meta} for m in thread[:limit]]
        return _json({"ok": True, "messages": out, "has_more": False})

    def _users_info(self, body: dict[str, Any]) -> web.Response:
        user = self.users.get(str(body.get("user", "")))
        if user is None:
            return _error("user_not_found")
        return _json({"ok": True, "user": {"id": body["user"], **user}})

    def _upload_url(self, body: dict[str, Any]) -> web.Response:
        if not body.get("filename") or not str(body.get("length", "")).isdigit():
            return _error("invalid_arguments")
        file_id = f"F{len(self.uploads) + 1:04d}"
        self.uploads[file_id] = (str(body["filename"]), b"")
        return _json({"ok": True, "upload_url": f"{self.url}upload/{file_id}", "file_id": file_id})

    async def _upload(self, request: web.Request) -> web.Response:
        """Step 2 of files_upload_v2: the bytes, to the URL step 1 gave (no Web API method)."""
        file_id, data = request.match_info["file_id"], await request.read()
        async with self._changed:
            self.requests.append(Recorded(request.path, "upload", "", {"file_id": file_id, "size": len(data)}))
            self._changed.notify_all()
        if file_id not in self.uploads:
            return web.Response(status=404, text="unknown upload")
        self.uploads[file_id] = (self.uploads[file_id][0], data)
        return web.Response(text=f"OK - {len(data)}")

    def _complete_upload(self, body: dict[str, Any]) -> web.Response:
        files = json.loads(str(body.get("files", "[]")))
        if not files or any(f.get("id") not in self.uploads or not self.uploads[f["id"]][1] for f in files):
            return _error("invalid_arguments")  # an id that was never issued, or never uploaded to
        shared = [{"id": f["id"], "name": self.uploads[f["id"]][0], "title": f.get("title", "")} for f in files]
        channel = str(body.get("channel_id", ""))
        if channel:
            posted = self.messages.setdefault(channel, [])
            ts = f"{1_700_000_000 + len(self.requests)}.{len(posted):06d}"
            posted.append({"type": "message", "ts": ts, "bot_id": BOT_ID, "files": shared,
                           **({"thread_ts": body["thread_ts"]} if body.get("thread_ts") else {})})
        return _json({"ok": True, "files": shared})

    async def _webhook(self, request: web.Request) -> web.Response:
        await self._record(request, "webhook")
        name = request.match_info["name"]
        if name == "ratelimited":
            return web.Response(status=429, text="rate_limited", headers={"Retry-After": "7"})
        status, text = {
            "gone": (404, "no_service"),
            "5xx": (500, "rollup_error"),
            "bad": (400, "invalid_blocks"),
        }.get(name, (200, "ok"))
        return web.Response(status=status, text=text)

    async def _respond(self, request: web.Request) -> web.Response:
        await self._record(request, "respond")
        return web.Response(text="ok")


def _message_fields(body: dict[str, Any]) -> dict[str, Any]:
    keep = ("text", "blocks", "metadata", "thread_ts", "unfurl_links", "unfurl_media")
    out = {k: body[k] for k in keep if k in body}
    for key in ("blocks", "metadata"):
        if isinstance(out.get(key), str):  # form-encoded callers send JSON strings
            out[key] = json.loads(out[key])
    return out


def _json(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


def _error(code: str) -> web.Response:
    return _json({"ok": False, "error": code})
