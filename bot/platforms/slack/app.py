"""The Slack side of `/deskwatch`: a bolt AsyncApp that acks, routes the text, and responds.

Subcommand parsing is `CommandsAPI.run_text`'s job (by the command catalogue, bot/commands/);
here we only decide who may change settings (a configured admin id, or a workspace admin/owner
per users.info), refuse the catalogue's manager commands to everyone else, as Discord refuses
them without Manage Channels, and map the Reply to blocks.
Two ways in: Socket Mode (no public URL) or HTTP with bolt's signature verification; an HTTP
request whose timestamp header is not a number gets 400 before bolt (which would answer 500).
`SocketModeRunner` is what the supervisor (bot/supervisor.py) runs: one attempt per call, so
Slack being unreachable or a refused token is reported once and retried with back-off, apart from
polling and from Discord. HTTP mode is `http_routes` on the process's one server (bot/http_server.py).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import Caller, CommandsAPI, Reply
from bot.commands.catalogue import manager_commands
from bot.core.lookup import split_command
from bot.model import Message
from bot.platforms.slack.format import to_payloads
from bot.platforms.slack.sink import make_web_client
from bot.supervisor import Rejected, close_quietly

log = logging.getLogger(__name__)

COMMAND = "/deskwatch"
HTTP_PATH = "/slack/events"
ADMIN_CACHE_SECONDS = 300.0  # a demoted admin keeps rights this long at most
MAX_RESPONSES = 5  # Slack accepts up to five posts to one response_url
MANAGER_ONLY = manager_commands()  # refused here, before the command runs (as on Discord)
TIMESTAMP_HEADER = "x-slack-request-timestamp"
MAX_TIMESTAMP_DIGITS = 15  # Unix seconds have 10; int() of thousands of digits is itself an error
PING_INTERVAL = 10.0  # seconds between Socket Mode pings (the SDK's default)
# Slack API errors that mean the token itself is wrong, revoked or lacks the scope it needs
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
                         "not_allowed_token_type", "missing_scope", "no_permission"})
DENIED = ("Only workspace admins and owners (or users listed in the bot's access.slack_admins) "
          "can do that in this channel.")


class AdminCheck:
    """Whether a Slack user may change settings. Cached per user; any failure means "no"."""

    def __init__(
        self,
        client: AsyncWebClient,
        admins: Sequence[str],
        *,
        ttl: float = ADMIN_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.admins = frozenset(admins)
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[float, bool]] = {}  # user -> (expires, verdict)

    async def __call__(self, user: str) -> bool:
        if user in self.admins:
            return True
        now = self.clock()
        hit = self._cache.get(user)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            resp = await self.client.users_info(user=user)
            info: dict[str, Any] = resp.get("user") or {}
        except Exception:  # network, rate limit, missing scope: fail closed, do not cache
            log.warning("Slack users.info failed for %s; treating as not an admin", user, exc_info=True)
            return False
        verdict = bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))
        verdict = verdict and not info.get("deleted") and not info.get("is_restricted")
        self._cache[user] = (now + self.ttl, verdict)
        return verdict


def _refusal() -> Reply:
    return Reply(Message(kind="reply", title="Not allowed", text=DENIED))


class _App(AsyncApp):
    """AsyncApp that answers 400 to an HTTP request whose timestamp header is not a number.

    Bolt's signature check calls int() on that header, and a ValueError there becomes a 500 and
    a logged traceback for anyone who sends a bad header. A missing header is left to bolt (it
    reads it as 0: too old, 401); Socket Mode requests have no headers and are not checked.
    """

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        if req.mode != "socket_mode" and TIMESTAMP_HEADER in req.headers:
            stamp = (req.headers[TIMESTAMP_HEADER] or [""])[0]
            if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= MAX_TIMESTAMP_DIGITS):
                log.warning("refused a Slack request: X-Slack-Request-Timestamp %.40r is not a number", stamp)
                return BoltResponse(status=400, body="bad X-Slack-Request-Timestamp")
        return await super().async_dispatch(req)


def _failure() -> Reply:
    text = "The command failed on our side. The operator can find the details in the bot's log."
    return Reply(Message(kind="reply", title="Something went wrong", text=text))


def build_app(
    commands: CommandsAPI,
    *,
    signing_secret: str | None,
    bot_token: str | None,
    admins: Sequence[str],
    client: AsyncWebClient | None = None,
    api_url: str | None = None,
) -> AsyncApp:
    """A bolt app answering /deskwatch. Without a signing secret, HTTP requests are all refused
    (a random secret nobody knows); Socket Mode does not use it. `api_url`: SLACK_API_URL."""
    if client is None:
        if not bot_token:
            raise ValueError("Slack commands need SLACK_BOT_TOKEN (or a client)")
        client = make_web_client(bot_token, api_url)
    if not signing_secret:
        signing_secret = secrets.token_hex(32)  # never "": an empty HMAC key would be forgeable
    app = _App(
        # Not "deskwatch": bolt names its loggers after the app and resets that logger's level to
        # the root's on every request, which would reset the whole deskwatch.* logger tree.
        name="deskwatch-slack",
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=True,
        ssl_check_enabled=True,
    )
    is_admin = AdminCheck(client, admins)

    @app.command(COMMAND)
    async def deskwatch(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()  # Slack wants this within 3 s; the work happens after
        user = str(command.get("user_id", ""))
        caller = Caller(
            platform="slack",
            channel=str(command.get("channel_id", "")),
            user=user,
            can_manage=await is_admin(user),
        )
        text = str(command.get("text", "")).strip()
        try:
            if split_command(text)[0] in MANAGER_ONLY and not caller.can_manage:
                reply = _refusal()
            else:
                reply = await commands.run_text(caller, text)
        except Exception:
            log.exception("/deskwatch %r failed", command.get("text", ""))
            reply = _failure()
        response_type = "ephemeral" if reply.ephemeral else "in_channel"
        for payload in to_payloads(reply.message)[:MAX_RESPONSES]:
            try:
                await respond(text=payload.text, blocks=list(payload.blocks), response_type=response_type)
            except Exception:
                log.warning("could not answer /deskwatch through response_url", exc_info=True)
                return

    return app


Up = Callable[[], Awaitable[None]]


class _SocketClient(SocketModeClient):
    """slack_sdk's Socket Mode client, made to try once.

    Its own connect() retries for ever, logging a traceback every ping interval, and it reconnects
    by itself; nothing outside can tell that Slack is unreachable, and a shutdown waits on it. Here
    a failed connect raises, and a connection Slack ends (a routine refresh) or that goes dead sets
    `lost`: retries, back-off and the one log line per change are the supervisor's.
    """

    def __init__(self, app_token: str, web_client: AsyncWebClient, logger: logging.Logger) -> None:
        super().__init__(app_token=app_token, logger=logger, web_client=web_client, ping_interval=PING_INTERVAL)
        self.lost = asyncio.Event()

    async def connect(self) -> None:
        # apps.connections.open is asked directly: the SDK's issue_new_wss_url logs a multi-line
        # error of its own before raising.
        try:
            resp = await self.web_client.apps_connections_open(app_token=self.app_token)
        except SlackApiError as exc:
            raise _explain(exc, "SLACK_APP_TOKEN") from exc
        self.wss_uri = str(resp["url"])
        self.current_session = await self.aiohttp_client_session.ws_connect(
            self.wss_uri, autoping=False, heartbeat=self.ping_interval, proxy=self.proxy,
            ssl=self.web_client.ssl if self.web_client.ssl is not None else True)
        self.stale = False
        self.last_ping_pong_time = None
        # the SDK's own tasks: one pings and watches the session, one reads envelopes into the queue
        self.current_session_monitor = asyncio.ensure_future(self.monitor_current_session())
        self.message_receiver = asyncio.ensure_future(self.receive_messages())

    async def disconnect(self) -> None:
        # The SDK logs "session abandoned" even when there never was one: once per failed attempt.
        if self.current_session is not None:
            await super().disconnect()

    async def connect_to_new_endpoint(self, force: bool = False) -> None:
        """Called by the SDK when Slack asks for a new connection or this one went dead: hand the
        reconnect to the supervisor instead of looping here."""
        self.lost.set()


class _SocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler (it turns envelopes into bolt requests) on a `_SocketClient`."""

    client: _SocketClient

    def __init__(self, app: AsyncApp, app_token: str) -> None:
        # The parent's __init__ only builds its own client (with an aiohttp session and a task),
        # which would be thrown away; this sets the same attributes with ours.
        self.app = app
        self.app_token = app_token
        self.client = _SocketClient(app_token, app.client, app.logger)
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]  # as bolt does


def _explain(exc: SlackApiError, variable: str) -> Exception:
    """A Slack API refusal as one line; a refused token is `Rejected`, naming what to fix."""
    error = str(exc.response.get("error", "") if exc.response is not None else "") or "no error code"
    if error in AUTH_ERRORS:
        return Rejected(f"fix {variable} (Slack answered {error})")
    return RuntimeError(f"Slack answered {error}")


class SocketModeRunner:
    """One supervised Socket Mode connection per call: check the bot token (auth.test), open the
    socket with the app token, and wait until the connection is lost. Closed on every way out."""

    def __init__(self, app: AsyncApp, app_token: str) -> None:
        self.app = app
        self.app_token = app_token

    async def __call__(self, up: Up) -> None:
        handler = _SocketModeHandler(self.app, self.app_token)
        try:
            try:
                await self.app.client.auth_test()
            except SlackApiError as exc:
                raise _explain(exc, "SLACK_BOT_TOKEN") from exc
            await handler.connect_async()
            await up()
            await handler.client.lost.wait()
        finally:
            await close_quietly(handler.close_async, "the Slack Socket Mode client")


def http_handler(app: AsyncApp) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler for Slack's HTTP mode; bolt checks the signature before any listener."""

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    return handle


def http_routes(app: AsyncApp, path: str = HTTP_PATH) -> list[web.RouteDef]:
    """Routes for an aiohttp web app: Slack posts slash commands to `path` (the manifest's URL)."""
    return [web.post(path, http_handler(app))]
