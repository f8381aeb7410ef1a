"""schedule: next poll and feed health after each fetch outcome; `now` and `jitter` passed in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.schedule import after_fetch, backoff_delay, due_feeds, is_due, parse_problem
from bot.model import FeedState, FetchResult
from bot.settings import PollingSettings

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
POLLING = PollingSettings(interval=900, min_interval=60, max_interval=6 * 3600)
STATE = FeedState(name="f", url="https://x.org/f", etag='"old"', last_modified="Mon", body_hash="h0")
MID = 0.5  # jitter in the middle of [0, 1): no skew


def _after(
    result: FetchResult,
    state: FeedState = STATE,
    *,
    ttl: int | None = None,
    interval: int = 900,
    jitter: float = MID,
    problem: str = "",
) -> FeedState:
    return after_fetch(
        state,
        result,
        entries_seen=7,
        ttl_minutes=ttl,
        interval=interval,
        polling=POLLING,
        now=NOW,
        jitter=jitter,
        problem=problem,
    )


def _wait(state: FeedState) -> float:
    assert state.next_poll is not None
    return (state.next_poll - NOW).total_seconds()


@pytest.mark.parametrize(
    ("result", "ttl", "interval", "wait"),
    [
        (FetchResult("ok", status=200), None, 900, 900),
        (FetchResult("ok", status=200, max_age=3600), None, 900, 3600),  # server asks for less
        (FetchResult("ok", status=200, max_age=10), None, 900, 900),  # never more often
        (FetchResult("ok", status=200), 60, 900, 3600),  # <ttl> in minutes
        (FetchResult("ok", status=200), None, 5, 60),  # min_interval
        (FetchResult("ok", status=200, max_age=10**9), None, 900, 6 * 3600),  # max_interval
        (FetchResult("not-modified", status=304, max_age=1800), None, 900, 1800),
        (FetchResult("rate-limited", status=429, retry_after=3000), None, 900, 3000),
        (FetchResult("rate-limited", status=429, retry_after=5), None, 900, 900),
        (FetchResult("rate-limited", status=429), None, 900, 900),
        (FetchResult("rate-limited", status=429, retry_after=10**7), None, 900, 6 * 3600),  # capped
        (FetchResult("http-error", status=500), None, 900, 900),
        (FetchResult("http-error", status=503, retry_after=7200), None, 900, 7200),
        (FetchResult("network-error"), None, 900, 900),
    ],
)
def test_next_poll(result: FetchResult, ttl: int | None, interval: int, wait: float) -> None:
    assert _wait(_after(result, ttl=ttl, interval=interval)) == wait


@pytest.mark.parametrize(
    ("failures", "jitter", "wait"),
    [
        (1, MID, 900),
        (2, MID, 1800),
        (3, MID, 3600),
        (3, 0.0, pytest.approx(3600 * 0.8)),  # -20 %
        (3, 0.999999, pytest.approx(3600 * 1.2)),  # +20 %
        (6, MID, 6 * 3600),  # 900·32 is past max_interval
        (10_000, MID, 6 * 3600),  # no overflow
    ],
)
def test_backoff(failures: int, jitter: float, wait: float) -> None:
    assert backoff_delay(failures, 900, POLLING, jitter) == wait


def test_backoff_grows_with_each_failure() -> None:
    state = STATE
    waits = []
    for _ in range(6):
        state = _after(FetchResult("http-error", status=500, error="HTTP 500 from x.org/f"), state)
        waits.append(_wait(state))
    assert waits == [900, 1800, 3600, 7200, 14400, 21600]
    assert state.consecutive_failures == 6 and state.last_error_kind == "http-error"
    assert state.last_error == "HTTP 500 from x.org/f" and state.last_status == 500
    assert (state.etag, state.body_hash) == ('"old"', "h0")  # validators survive errors


def test_success_resets_health_and_stores_validators() -> None:
    failing = replace(STATE, consecutive_failures=4, last_error="boom", last_error_kind="network-error")
    ok = FetchResult("ok", status=200, etag='"new"', last_modified="Tue", body_hash="h1")
    state = _after(ok, failing)
    assert (state.consecutive_failures, state.last_error, state.last_error_kind) == (0, "", "")
    assert (state.etag, state.last_modified, state.body_hash) == ('"new"', "Tue", "h1")
    assert (state.last_success, state.last_attempt, state.entries_seen, state.last_status) == (NOW, NOW, 7, 200)


def test_ok_with_a_parse_problem_is_a_success_with_a_note() -> None:
    state = _after(FetchResult("ok", status=200), problem="malformed XML at line 9 (3 entries read)")
    assert state.consecutive_failures == 0 and state.last_success == NOW
    assert (state.last_error_kind, state.last_error) == ("parse", "malformed XML at line 9 (3 entries read)")
    # the same body, unchanged, keeps its note
    again = _after(FetchResult("not-modified", status=304), state)
    assert again.last_error_kind == "parse" and again.entries_seen == 7


def test_not_modified_keeps_validators_unless_the_server_sends_new_ones() -> None:
    assert _after(FetchResult("not-modified", status=304)).etag == '"old"'
    assert _after(FetchResult("not-modified", status=304, etag='"v9"')).etag == '"v9"'
    assert _after(FetchResult("not-modified", status=304)).body_hash == "h0"


def test_repeated_rate_limit_backs_off() -> None:
    first = _after(FetchResult("rate-limited", status=429, retry_after=60))
    second = _after(FetchResult("rate-limited", status=429, retry_after=60), first)
    assert (_wait(first), _wait(second), second.consecutive_failures) == (900, 1800, 2)


def test_parse_problem_counts_as_failure_and_forgets_validators() -> None:
    result = FetchResult("ok", status=200, etag='"e"', body_hash="h2")
    state = parse_problem(
        STATE, result, "the URL returned an HTML page, not a feed", interval=900, polling=POLLING, now=NOW, jitter=MID
    )
    assert (state.last_error_kind, state.consecutive_failures) == ("not-a-feed", 1)
    assert state.last_error == "the URL returned an HTML page, not a feed"
    assert (state.etag, state.last_modified, state.body_hash) == (None, None, None)
    assert _wait(state) == 900 and state.last_success is None


# --- due-ness, and clock steps ----------------------------------------------------------------
H = timedelta(hours=1)
MAX = float(POLLING.max_interval)  # 6 h


def _polled(at: datetime, wait: timedelta = timedelta(minutes=15)) -> FeedState:
    """A feed last polled at `at` (by the process clock of the time) and scheduled `wait` later."""
    return replace(STATE, last_attempt=at, last_success=at, next_poll=at + wait)


@pytest.mark.parametrize(
    ("case", "state", "due"),
    [
        ("never polled", STATE, True),
        ("next poll reached", _polled(NOW - H), True),
        ("next poll exactly now", _polled(NOW - timedelta(minutes=15)), True),
        ("next poll ahead, normal", _polled(NOW - timedelta(minutes=5)), False),
        ("backed off to max_interval", _polled(NOW - timedelta(seconds=1), timedelta(seconds=MAX)), False),
        # the clock was a day ahead while this feed was polled, then corrected: blind for a day
        ("polled while the clock was a day ahead", _polled(NOW + 24 * H), True),
        # the clock stepped back 10 minutes after this poll
        ("clock stepped back 10 min", _polled(NOW + timedelta(minutes=10)), True),
        ("last success in the future", replace(STATE, last_success=NOW + H, next_poll=NOW + H), True),
        # a next poll further ahead than any delay the scheduler chooses (nothing else says why)
        ("next poll past max_interval", replace(STATE, next_poll=NOW + timedelta(seconds=MAX + 60)), True),
        ("next poll at max_interval", replace(STATE, next_poll=NOW + timedelta(seconds=MAX)), False),
    ],
)
def test_is_due_and_clock_steps(case: str, state: FeedState, due: bool) -> None:
    assert is_due(state, NOW, MAX) is due, case


def test_due_feeds_orders_never_polled_first_then_oldest() -> None:
    states = [
        replace(STATE, name="d-never"),
        replace(STATE, name="a-never"),
        replace(_polled(NOW - H), name="b-late"),
        replace(_polled(NOW - 2 * H), name="c-later"),
        replace(_polled(NOW - timedelta(minutes=1)), name="e-waiting"),
        replace(_polled(NOW + 24 * H), name="f-stepped"),
    ]
    assert [s.name for s in due_feeds(states, NOW, MAX)] == ["a-never", "d-never", "c-later", "b-late", "f-stepped"]


@pytest.mark.parametrize(
    ("polled_at", "then"),
    [
        (NOW + timedelta(days=1), NOW + timedelta(seconds=25)),  # a day ahead for 25 s, then corrected
        (NOW, NOW - timedelta(minutes=10)),  # the clock stepped 10 minutes back
    ],
)
def test_a_clock_step_does_not_blind_polling(polled_at: datetime, then: datetime) -> None:
    """A feed polled under a stepped clock is due again as soon as the clock reads right."""
    state = after_fetch(STATE, FetchResult("ok", status=200), entries_seen=3, ttl_minutes=None, interval=900,
                        polling=POLLING, now=polled_at, jitter=MID)
    assert [s.name for s in due_feeds([state], then, MAX)] == ["f"]
