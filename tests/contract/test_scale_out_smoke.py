"""A small `bench/scale_out.py` on the test session's PostgreSQL: one and two worker processes
split a cycle of a dozen feeds, every feed polled by exactly one of them, and the bench prints its
figures. No timings are checked."""

from __future__ import annotations

import re

import pytest

import bench.scale_out as scale_out
from tests.postgres_server import PgServer


def test_scale_out_bench_splits_the_feeds_and_prints_its_figures(
        postgres_server: PgServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert scale_out.main(["--feeds", "12", "--items", "3", "--latency-ms", "0", "--hosts", "1",
                           "--workers", "1,2", "--server-url", postgres_server.url]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if re.match(r"\s+[12] (cold|steady) ", line)]
    assert [(r[0], r[1]) for r in rows] == [("1", "cold"), ("1", "steady"), ("2", "cold"), ("2", "steady")]
    assert all(r[-1] == "yes" for r in rows), out  # every feed polled once, by one worker
    assert [int(r[3].replace(",", "")) for r in rows] == [36, 0, 36, 0]  # every item new once; then 304s
    assert all(int(r[5].replace(",", "")) > 0 for r in rows)  # round trips were counted
    assert "feeds per worker 12;" in out and re.search(r"feeds per worker \d+/\d+", out)
    assert re.search(r"bytes per row with indexes \(rows\): items [\d,]+ \(36\)", out)
