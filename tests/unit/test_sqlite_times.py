"""SQLite's time text (`sqlite_rows.ts`): fixed-width UTC, so comparing strings compares instants.
It is written with isoformat and remembered; the reference is the strftime form it replaced, which
every stored row was written in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.store.sqlite_rows import ts

ZONES = st.one_of(st.none(), st.just(UTC),
                  st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))))


def reference(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@settings(max_examples=500)
@given(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)), ZONES)
@example(datetime(2024, 11, 4, 6, 0), None)
@example(datetime(2024, 11, 4, 6, 0, 0, 1), timezone(timedelta(hours=9)))
def test_the_text_is_the_strftime_form_rows_were_written_in(naive: datetime, zone: timezone | None) -> None:
    value = naive.replace(tzinfo=zone)
    assert ts(value) == reference(value)
    assert ts(value) == reference(value)  # remembered: the same answer again


def test_equal_instants_in_other_zones_give_one_text_and_order_follows_time() -> None:
    utc = datetime(2024, 11, 4, 6, 0, tzinfo=UTC)
    seoul = utc.astimezone(timezone(timedelta(hours=9)))
    assert ts(utc) == ts(seoul) == "2024-11-04T06:00:00.000000Z"
    assert ts(datetime(2024, 11, 4, 6, 0)) == ts(utc)  # a naive time is taken as UTC, never shifted
    later = seoul + timedelta(microseconds=1)
    assert ts(utc) < ts(later) == "2024-11-04T06:00:00.000001Z"
    assert ts(None) is None
    assert ts(datetime(999, 12, 31, 23, 0, tzinfo=UTC)) == "0999-12-31T23:00:00.000000Z"  # four digits
