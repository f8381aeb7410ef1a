"""The weekly trend, pure: which schedules are weekly, the local days a chart covers, counting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.trend import count_between, day_bounds, fires_weekly, trend_of


@pytest.mark.parametrize(
    ("schedule", "tz", "weekly"),
    [
        ("0 8 * * 1", "UTC", True),  # Mondays
        ("30 7 * * mon", "Europe/Berlin", True),  # across both summer-time changes
        ("0 2 * * 0", "America/New_York", True),
        ("0 8 1 * *", "UTC", True),  # monthly: rarer than weekly still gets the chart
        ("0 8 * * *", "Asia/Seoul", False),  # daily
        ("0 8 * * 1,4", "UTC", False),  # twice a week
        ("0 8,20 * * 1", "UTC", False),  # twice on Mondays
        ("0 8 */7 * *", "UTC", False),  # the 29th and then the 1st
        ("not a cron", "UTC", False),
    ],
)
def test_which_digests_are_weekly(schedule: str, tz: str, weekly: bool) -> None:
    assert fires_weekly(schedule, tz) is weekly


def test_days_are_the_destinations_local_days_and_today_is_left_out() -> None:
    now = datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # Monday 08:00 in Berlin, a day after summer time began
    bounds = day_bounds(now, "Europe/Berlin", 7)
    assert len(bounds) == 8 and bounds[-1] == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # Monday 00:00 CEST
    assert [b.date() for b in bounds[:-1]] == [date(2026, 3, 23) + timedelta(days=n) for n in range(7)]
    assert bounds[-1].astimezone(UTC) - bounds[-2].astimezone(UTC) == timedelta(hours=23)  # a short day, still one
    seoul = day_bounds(now, "Asia/Seoul", 1)  # already Monday 15:00 there
    assert seoul == [datetime(2026, 3, 28, 15, 0, tzinfo=UTC), datetime(2026, 3, 29, 15, 0, tzinfo=UTC)]


def test_count_between_puts_a_bound_in_the_interval_it_opens() -> None:
    b = [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2, 3)]
    times = [b[0] - timedelta(seconds=1), b[0], b[1] - timedelta(seconds=1), b[1], b[2]]
    assert count_between(times, b) == [2, 1]
    assert count_between(times, b[:1]) == []
    trend = trend_of("W", "UTC", b, [(2, 1), (1, 0)])
    assert trend.days == (date(2026, 1, 1), date(2026, 1, 2)) and trend.relevant == (2, 1) and trend.stories == (1, 0)
