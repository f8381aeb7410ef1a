"""When to poll a feed next, and how healthy it is, after each fetch.

Healthy feeds are polled at their interval (raised, never lowered, by Cache-Control max-age and
RSS <ttl>); a 429 waits at least Retry-After; failures back off exponentially with jitter so a
hundred feeds on one broken host do not retry in lock-step. Pure: `now` and `jitter` come in.

Which feeds are due is decided here too (`is_due`, `due_feeds`; the stores call them), because a
clock step must not blind polling: a feed polled while the clock was a day ahead would otherwise
wait a day once the clock is corrected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from bot.model import FeedState, FetchResult
from bot.settings import PollingSettings

JITTER = 0.2  # back-off delays vary by ±20 %
MAX_DOUBLINGS = 20  # 2**20 intervals is far past any max_interval; stops float overflow


def is_due(state: FeedState, now: datetime, max_interval: float) -> bool:
    """Whether a feed should be polled at `now`.

    Due when never polled or its next poll has come, and also when the stored times cannot be
    right for this clock: a last attempt or success in the future (the clock stepped back, or was
    ahead when they were written), or a next poll further ahead than `max_interval` seconds, the
    longest delay `after_fetch` ever chooses. Polling such a feed once rewrites its times under
    the current clock.
    """
    if state.next_poll is None or state.next_poll <= now:
        return True
    if any(t is not None and t > now for t in (state.last_attempt, state.last_success)):
        return True
    return (state.next_poll - now).total_seconds() > max_interval


def due_feeds(states: Iterable[FeedState], now: datetime, max_interval: float) -> list[FeedState]:
    """The due feeds, never-polled first (by name), then the longest waiting first."""
    due = [s for s in states if is_due(s, now, max_interval)]
    return sorted(due, key=lambda s: (s.next_poll is not None, s.next_poll or now, s.name))


def _clamp(seconds: float, polling: PollingSettings) -> float:
    return min(max(seconds, polling.min_interval), polling.max_interval)


def success_delay(result: FetchResult, ttl_minutes: int | None, interval: int, polling: PollingSettings) -> float:
    """Seconds until the next poll of a feed that answered: the server may only slow us down."""
    delay = float(interval)
    if result.max_age:
        delay = max(delay, result.max_age)
    if ttl_minutes:
        delay = max(delay, ttl_minutes * 60.0)
    return _clamp(delay, polling)


def backoff_delay(failures: int, interval: int, polling: PollingSettings, jitter: float) -> float:
    """interval·2^(n-1), ±20 % by `jitter` in [0, 1), within [min_interval, max_interval]."""
    doublings = min(max(failures - 1, 0), MAX_DOUBLINGS)
    factor = 1.0 - JITTER + 2 * JITTER * min(max(jitter, 0.0), 1.0)
    return _clamp(interval * 2.0**doublings * factor, polling)


def after_fetch(
    state: FeedState,
    result: FetchResult,
    *,
    entries_seen: int,
    ttl_minutes: int | None,
    interval: int,
    polling: PollingSettings,
    now: datetime,
    jitter: float,
    problem: str = "",
) -> FeedState:
    """The feed's state after one fetch (and, for "ok", its parse).

    `problem` is the parser's note on a feed that was read only in part: the poll still counts as
    a success, but the note is kept as last_error (kind "parse") for the operator.
    """
    base = replace(state, last_attempt=now, last_status=result.status)
    if result.outcome == "ok":
        return replace(
            base,
            etag=result.etag,
            last_modified=result.last_modified,
            body_hash=result.body_hash,
            last_success=now,
            last_error=problem,
            last_error_kind="parse" if problem else "",
            consecutive_failures=0,
            entries_seen=entries_seen,
            next_poll=now + timedelta(seconds=success_delay(result, ttl_minutes, interval, polling)),
        )
    if result.outcome == "not-modified":
        # the body we parsed last time still stands, and so does its parse note
        return replace(
            base,
            etag=result.etag or state.etag,
            last_modified=result.last_modified or state.last_modified,
            last_success=now,
            last_error=state.last_error if state.last_error_kind == "parse" else "",
            last_error_kind="parse" if state.last_error_kind == "parse" else "",
            consecutive_failures=0,
            next_poll=now + timedelta(seconds=success_delay(result, ttl_minutes, interval, polling)),
        )
    failures = state.consecutive_failures + 1
    if result.outcome == "rate-limited":
        delay = min(max(result.retry_after or 0.0, float(interval)), polling.max_interval)
        if failures > 1:  # still limited after waiting as asked: the server wants even less
            delay = max(delay, backoff_delay(failures, interval, polling, jitter))
    else:
        delay = backoff_delay(failures, interval, polling, jitter)
        if result.retry_after:  # a 503 may say when to come back; never sooner than that
            delay = max(delay, min(result.retry_after, polling.max_interval))
    return replace(
        base,
        last_error=result.error or result.outcome,
        last_error_kind=result.outcome,
        consecutive_failures=failures,
        next_poll=now + timedelta(seconds=delay),
    )


def parse_problem(
    state: FeedState,
    result: FetchResult,
    problem: str,
    *,
    interval: int,
    polling: PollingSettings,
    now: datetime,
    jitter: float,
) -> FeedState:
    """Use instead of after_fetch when the body fetched fine but is not a feed (HTML, garbage).

    Counts as a failure with back-off, and forgets validators and body hash so the next poll
    reads (and judges) the body again instead of calling it "not modified".
    """
    failed = replace(result, outcome="not-a-feed", error=problem, retry_after=None)
    after = after_fetch(
        state,
        failed,
        entries_seen=0,
        ttl_minutes=None,
        interval=interval,
        polling=polling,
        now=now,
        jitter=jitter,
    )
    return replace(after, etag=None, last_modified=None, body_hash=None, entries_seen=0)
