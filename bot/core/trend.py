"""The weekly trend behind the digest chart, pure: which digests carry it, the days it covers
(the destination's local days, summer time included) and counting times into them.

A digest subscription whose schedule runs at most once a week is "the weekly digest": its first
page carries the chart of the last CHART_WEEKS weeks. Nothing here reads a clock: `now` comes in.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.core.render import zone

CHART_WEEKS = 8
# Runs at least this far apart make a weekly (or rarer) digest; a week's runs may be an hour
# nearer when summer time starts, and no twice-weekly schedule has two runs 6 days apart.
WEEKLY_GAP = timedelta(days=6)
_RUNS_CHECKED = 60  # over a year of weekly runs: both summer-time changes, every month length
_FROM = datetime(2024, 1, 1, tzinfo=UTC)  # any fixed start: a schedule's rhythm does not depend on it


@dataclass(frozen=True)
class Trend:
    """Per local day, oldest first: relevant reports and new stories of one watch."""

    title: str
    timezone: str
    days: tuple[date, ...]
    relevant: tuple[int, ...]
    stories: tuple[int, ...]


def fires_weekly(schedule: str, tz: str) -> bool:
    """Whether a cron schedule never runs twice within WEEKLY_GAP (False for one it cannot read)."""
    try:
        trigger = CronTrigger.from_crontab(schedule, timezone=zone(tz))
    except ValueError:
        return False
    previous: datetime | None = None
    t = _FROM
    for _ in range(_RUNS_CHECKED):
        run = trigger.get_next_fire_time(None, t)
        if run is None:
            break
        if previous is not None and run - previous < WEEKLY_GAP:
            return False
        previous, t = run, run + timedelta(seconds=1)
    return previous is not None


def day_bounds(now: datetime, tz: str, days: int) -> list[datetime]:
    """The local midnights opening each of the `days` whole days before today, and today's own
    midnight closing the last one (today is not over: its count would look like a drop)."""
    today = now.astimezone(zone(tz)).date()
    return [datetime.combine(today - timedelta(days=n), time(0), tzinfo=zone(tz)) for n in range(days, -1, -1)]


def count_between(times: Sequence[datetime], bounds: Sequence[datetime]) -> list[int]:
    """How many of `times` fall in each [bounds[i], bounds[i + 1]) (bounds ascending)."""
    counts = [0] * max(len(bounds) - 1, 0)
    for t in times:
        i = bisect_right(bounds, t) - 1
        if 0 <= i < len(counts):
            counts[i] += 1
    return counts


def trend_of(title: str, tz: str, bounds: Sequence[datetime], activity: Sequence[tuple[int, int]]) -> Trend:
    return Trend(title=title, timezone=tz, days=tuple(b.date() for b in bounds[:-1]),
                 relevant=tuple(a[0] for a in activity), stories=tuple(a[1] for a in activity))
