"""Keeps each chat client (Discord gateway, Slack Socket Mode or HTTP) running on its own.

Polling and posting need no chat connection, so a platform that is down, unreachable or rejects
its token must stop neither of them nor the other platform. `supervise` runs one client as its
own task: it connects, and when the connection fails or ends it retries with exponential back-off
(capped). It reports each change of state once — one log line, no traceback — and records the
state in `ClientHealth`: a plain dict for a future health endpoint, mirrored into the store's meta
(`chat_clients`) where `/deskwatch status` reads it.

A client's `connect` coroutine is handed an `up` callback to await once it is connected; it then
waits until the connection ends (return or raise). A connection that lasted a while and ended is
reopened at once without a report (Slack refreshes its sockets); one that could not stay up counts
as a failed attempt. `Rejected` means the platform refused the
credentials: the message names the variable to fix, and it is retried only rarely, since a token
read from the environment at start will not fix itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime

from bot.secrets import redact
from bot.store.base import Store

log = logging.getLogger("deskwatch.supervisor")

STATE_META = "chat_clients"  # store meta key: JSON {platform: {"state", "detail", "since"}}
FIRST_DELAY = 5.0  # seconds before the first retry; doubled per failed attempt …
MAX_DELAY = 300.0  # … up to this
REJECTED_DELAY = 3600.0  # a rejected token is tried again this rarely (it cannot fix itself)
RECONNECT_DELAY = 1.0  # a connection that was up and ended (a routine refresh) is reopened after this
STABLE = 60.0  # seconds a connection must have lasted for its end to count as a refresh, not a failure
CLOSE_TIMEOUT = 5.0  # closing a client must not hold up shutdown longer than this
MAX_DETAIL = 240

Up = Callable[[], Awaitable[None]]
Connect = Callable[[Up], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


class Rejected(Exception):
    """The platform refused the credentials. The message says what to fix, e.g.
    "fix DISCORD_TOKEN (Discord refused the bot token)"."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def backoff(failures: int, first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> float:
    """The wait after the `failures`-th failed attempt in a row: first, 2×first, 4×first … cap."""
    return min(first * 2 ** min(max(failures - 1, 0), 30), cap)


def describe(exc: BaseException) -> str:
    """One line for a log or the status answer: the exception's kind and its text, never a
    traceback (the client libraries' texts name hosts and error codes, not tokens)."""
    name = type(exc).__name__
    text = " ".join(str(exc).split())
    line = f"{name}: {text}" if text and text != name else name
    return line if len(line) <= MAX_DETAIL else line[: MAX_DETAIL - 1] + "…"


async def close_quietly(close: Callable[[], Awaitable[object]], what: str) -> None:
    """Close a client within CLOSE_TIMEOUT, whatever happens: shutdown and retries must go on."""
    try:
        await asyncio.wait_for(close(), CLOSE_TIMEOUT)
    except TimeoutError:
        log.warning("%s did not close within %.0f s; leaving it", what, CLOSE_TIMEOUT)
    except Exception as exc:  # a half-open client may fail to close; nothing more to do
        log.debug("closing %s failed: %s", what, describe(exc))


class ClientHealth:
    """The state of every supervised chat client.

    `states` is a plain, JSON-ready dict (platform → {"state", "detail", "since"}) for a health
    endpoint; each change is also written to the store's meta so `/deskwatch status` (and any
    other process reading the database) sees it. States: starting, up, down, rejected, stopped.
    """

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = utcnow,
                 secrets: Iterable[str] = ()) -> None:
        self.store = store
        self.clock = clock
        self.secrets = list(secrets)  # blanked from details: a library may put one in a message
        self.states: dict[str, dict[str, str]] = {}

    async def reset(self, platforms: Iterable[str]) -> None:
        """At start: forget the previous run's states; each platform about to run is 'starting'."""
        now = self.clock().isoformat()
        self.states = {p: {"state": "starting", "detail": "connecting", "since": now} for p in platforms}
        await self._save()

    async def set(self, platform: str, state: str, detail: str) -> bool:
        """Record a state; True when the state itself changed (the caller logs only then)."""
        detail = redact(detail, self.secrets)
        old = self.states.get(platform)
        if old is not None and old["state"] == state and old["detail"] == detail:
            return False
        changed = old is None or old["state"] != state
        since = self.clock().isoformat() if changed or old is None else old["since"]
        self.states[platform] = {"state": state, "detail": detail, "since": since}
        await self._save()
        return changed

    async def stopped(self) -> None:
        """At shutdown: every client is stopped; the last state is kept in the detail."""
        now = self.clock().isoformat()
        for platform, old in list(self.states.items()):
            self.states[platform] = {"state": "stopped", "detail": f"bot stopped; was {old['state']}: "
                                     f"{old['detail']}", "since": now}
        await self._save()

    async def _save(self) -> None:
        try:
            await self.store.set_meta(STATE_META, json.dumps(self.states, sort_keys=True))
        except Exception as exc:  # the bot runs on without the record; the log says why once per change
            log.warning("could not record chat client state: %s", describe(exc))


async def load_states(store: Store) -> dict[str, dict[str, str]]:
    """The recorded chat client states (empty when none were recorded or the record is unreadable)."""
    raw = await store.get_meta(STATE_META)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(p): {k: str(v) for k, v in s.items()} for p, s in data.items() if isinstance(s, dict)}


def state_lines(states: Mapping[str, Mapping[str, str]]) -> list[str]:
    """One line per client that is not up, e.g.
    'discord commands: rejected — fix DISCORD_TOKEN (…) (since 2026-01-15 09:00 UTC)'."""
    lines = []
    for platform, s in sorted(states.items()):
        if s.get("state") == "up":
            continue
        since = s.get("since", "")[:16].replace("T", " ")
        lines.append(f"{platform} commands: {s.get('state', '?')} — {s.get('detail', '')} (since {since} UTC)")
    return lines


async def supervise(platform: str, connect: Connect, health: ClientHealth, *, sleep: Sleep = asyncio.sleep,
                    monotonic: Callable[[], float] = time.monotonic, first: float = FIRST_DELAY,
                    cap: float = MAX_DELAY, rejected_delay: float = REJECTED_DELAY) -> None:
    """Run `connect` for ever: retry with back-off, report each change of state once. Returns only
    by cancellation (shutdown), which `connect` must answer by closing its client."""
    failures = 0
    while True:
        up_since: float | None = None

        async def up() -> None:
            nonlocal up_since
            up_since = monotonic()
            if await health.set(platform, "up", "connected"):
                log.info("%s: connected; slash commands work", platform)

        state = "down"
        try:
            await connect(up)
            detail = "the connection ended"
        except Rejected as exc:
            state, detail = "rejected", str(exc)
        except Exception as exc:  # any failure of a chat client is this client's problem only
            detail = describe(exc)
        if state == "down" and up_since is not None and monotonic() - up_since >= STABLE:
            # It worked for a while and then ended (a routine refresh, a dropped connection):
            # reconnect soon, and report only if that fails.
            failures = 0
            log.info("%s: connection closed (%s); reconnecting", platform, detail)
            await sleep(RECONNECT_DELAY)
            continue
        # Never connected, or could not stay connected: a failed attempt, with back-off.
        failures += 1
        delay = rejected_delay if state == "rejected" else backoff(failures, first, cap)
        if await health.set(platform, state, detail):
            # One line per change of state; the detail says what to fix ("rejected: fix …").
            if state == "rejected":
                log.error("%s: rejected: %s; slash commands are off, polling and posting carry on; "
                          "trying again every %s", platform, detail, _span(rejected_delay))
            else:
                log.error("%s: down — %s; slash commands are off, polling and posting carry on; "
                          "retrying with back-off up to %s", platform, detail, _span(cap))
        await sleep(delay)


def _span(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"
