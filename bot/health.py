"""Is the bot alive? The /healthz verdict, a pure function of the facts and `now`.

Healthy means polling works: the poll loop and the digest scheduler run, and a poll tick finished
without error less than MAX_TICKS ticks ago (or the bot started less than that long ago). A chat
platform being down is reported, not judged: restarting the bot would not bring Discord back, and
polling and posting carry on without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_TICKS = 3  # a poll cycle older than this many ticks means polling is stuck


@dataclass
class Heartbeat:
    """When the poll loop last finished a tick, on the monotonic clock (seconds)."""

    started: float
    last_ok: float | None = None  # the last tick that finished without error
    last_ok_at: datetime | None = None  # the same, on the wall clock (for people)
    failed_in_a_row: int = 0

    def beat(self, ok: bool, at: float, wall: datetime) -> None:
        if ok:
            self.last_ok, self.last_ok_at, self.failed_in_a_row = at, wall, 0
        else:
            self.failed_in_a_row += 1


def verdict(beat: Heartbeat, now: float, *, tick: float, scheduler: str,
            platforms: dict[str, dict[str, str]]) -> tuple[bool, dict[str, Any]]:
    """(healthy, the JSON body: the reason in words and the facts it rests on). `scheduler` is
    "running", or what is not running (e.g. "the poll loop stopped")."""
    limit = MAX_TICKS * tick
    age = None if beat.last_ok is None else now - beat.last_ok
    uptime = now - beat.started
    failing = (f"; the last {beat.failed_in_a_row} ticks failed (see the log)" if beat.failed_in_a_row > 1
               else "; the last tick failed (see the log)" if beat.failed_in_a_row else "")
    if scheduler != "running":
        ok, reason = False, f"{scheduler}: nothing is polled"
    elif age is None and uptime >= limit:
        ok, reason = False, f"no poll cycle finished in the {uptime:.0f} s since start (limit {limit:.0f} s){failing}"
    elif age is None:
        ok, reason = True, f"starting: the first poll cycle is running ({uptime:.0f} s since start)"
    elif age >= limit:
        ok, reason = False, f"the last poll cycle finished {age:.0f} s ago (limit {limit:.0f} s){failing}"
    else:
        ok, reason = True, f"polling: the last cycle finished {age:.0f} s ago{failing}"
    return ok, {
        "status": "ok" if ok else "unhealthy",
        "reason": reason,
        "scheduler": scheduler,
        "last_cycle_age_seconds": None if age is None else round(age, 3),
        "last_cycle_at": beat.last_ok_at.isoformat() if beat.last_ok_at else None,
        "max_cycle_age_seconds": limit,
        "tick_seconds": tick,
        "failed_ticks_in_a_row": beat.failed_in_a_row,
        "uptime_seconds": round(uptime, 3),
        "platforms": platforms,
    }
