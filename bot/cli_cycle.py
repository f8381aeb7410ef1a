"""`deskwatch once` (and its dry run) and `deskwatch replay`: the commands that run the pipeline
from a terminal, with a progress line on stderr when it is a terminal.

`once` says what it did, why it polled nothing when nothing was due (and when the next feed is),
and exits 1 when every feed or every delivery it tried failed, so cron and CI can tell. `replay`
prints each result line as soon as its input line is done, in input order.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.logs import say
from bot.model import FeedState
from bot.settings import Settings
from bot.store.sqlite import DatabaseUnusable

if TYPE_CHECKING:  # importing them at run time here would load the pipeline for `deskwatch --help`
    from bot.outbox import DeliveryReport
    from bot.pipeline import CycleReport

MAX_REPORTED_ROWS = 20  # replay: bad lines named one by one; past this, only counted


def utcnow() -> datetime:
    return datetime.now(UTC)


@contextlib.contextmanager
def progress(total: int, what: str, unit: str, enabled: bool) -> Iterator[Any]:
    """A tqdm line on stderr, only when stderr is a terminal (a log file gets no bar debris)."""
    from tqdm import tqdm

    on = enabled and sys.stderr.isatty()
    with tqdm(total=total, desc=what, unit=unit, file=sys.stderr, leave=False, disable=not on,
              dynamic_ncols=True) as bar:
        yield bar


# --- once ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cycle:
    polled: CycleReport
    sent: DeliveryReport
    feeds: tuple[FeedState, ...]  # every feed's state after the cycle
    now: datetime


async def once(settings: Settings, dry_run: bool, progress_line: bool = True) -> int:
    if dry_run:
        return await _dry_run(settings, progress_line)
    return report(await _cycle(settings, dry_run=False, progress_line=progress_line))


async def _cycle(settings: Settings, *, dry_run: bool, progress_line: bool) -> Cycle:
    """One poll cycle and one delivery pass to every configured destination."""
    from bot.app import close_context, open_context
    from bot.embedding import load_embedder
    from bot.outbox import deliver_pending
    from bot.pipeline import poll_due_feeds

    ctx, factory = await open_context(settings, dry_run=dry_run, embedder=load_embedder())
    try:
        now = utcnow()
        due = [s for s in await ctx.store.due_feeds(now) if ctx.feed(s.name) is not None]
        with progress(len(due), "polling", "feed", progress_line) as bar:
            polled = await poll_due_feeds(ctx, now, on_polled=lambda _feed: bar.update())
        sent = await deliver_pending(ctx, utcnow())
        await ctx.store.index_for_search()  # a later `search` need not do it
        feeds = tuple(s for s in await ctx.store.feed_states() if ctx.feed(s.name) is not None)
    finally:
        await close_context(ctx, factory)
    return Cycle(polled, sent, feeds, now)


def report(c: Cycle) -> int:
    """The report lines; 1 when every feed or every attempted delivery failed."""
    polled, sent = c.polled, c.sent
    if sent.standby:
        say("deskwatch: another deskwatch process is delivering for this database; this run posted nothing",
            logging.WARNING)
    say(f"polled {polled.feeds} feeds ({polled.failed} failing): {polled.new_items} new items, "
        f"{polled.relevant} relevant ({polled.claimed} claimed by a story), {polled.new_stories} new stories, "
        f"{polled.merged} merged; "
        f"deliveries: {sent.sent} sent, {sent.edited} edited, {sent.retrying} retrying, {sent.held} held")
    if polled.feeds == 0:
        say(f"deskwatch: {nothing_due(c.feeds, c.now)}")
    problems = failures(polled, sent)
    for problem in problems:
        say(f"deskwatch once: {problem}", logging.ERROR)
    return 1 if problems else 0


def nothing_due(feeds: tuple[FeedState, ...], now: datetime) -> str:
    """Why a cycle polled no feed, and when the next one is due."""
    if not feeds:
        return "no feed to poll: the config lists none"
    waiting = sorted((s for s in feeds if s.next_poll is not None), key=lambda s: s.next_poll or now)
    if not waiting:
        return "no feed was due"
    first = waiting[0]
    assert first.next_poll is not None
    return (f"no feed was due: each waits for its next poll; the next, {first.name}, is due at "
            f"{first.next_poll.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({_span(first.next_poll, now)})")


def _span(then: datetime, now: datetime) -> str:
    secs = max(int((then - now).total_seconds()), 0)
    if secs < 60:
        return f"in {secs} s"
    if secs < 3600:
        return f"in {secs // 60} min"
    return f"in {secs // 3600} h {secs % 3600 // 60} min"


def failures(polled: CycleReport, sent: DeliveryReport) -> list[str]:
    problems = []
    if polled.feeds and polled.failed == polled.feeds:
        problems.append(f"every feed failed ({polled.failed} of {polled.feeds}); `deskwatch feeds` says why")
    delivered = sent.sent + sent.edited + sent.recovered
    tried = delivered + sent.retrying + sent.held + sent.failed
    if tried and not delivered:
        problems.append(f"every delivery failed ({sent.retrying} retrying, {sent.held} held, {sent.failed} given "
                        "up); `deskwatch feeds` shows each destination's last error")
    return problems


async def _dry_run(settings: Settings, progress_line: bool) -> int:
    """`once --dry-run`: the same cycle against a temporary copy of the database.

    A dry run prints instead of posting, but still records what it did (feeds polled, items
    stored, alerts "sent"), so a later real run would skip the alerts it only printed. On a copy,
    none of that reaches the real database; a missing database stays missing.
    """
    from bot.backup import copy_database

    real = settings.storage.path
    say(f"deskwatch: DRY RUN — alerts are printed, not posted; {real} is not changed "
        "(the cycle runs on a temporary copy)", logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="deskwatch-dry-run-") as tmp:
        copy = str(Path(tmp) / "dry-run.db")
        if real != ":memory:" and Path(real).exists():
            try:
                copy_database(real, copy)
                _drop_leases(copy)
            except sqlite3.Error as exc:
                raise DatabaseUnusable(f"cannot read the database {real} to copy it for the dry run ({exc}); "
                                       "check its permissions, and if the file is damaged, restore a backup"
                                       ) from exc
        try:
            # url="": never PostgreSQL, whose rows a dry run must not touch (it starts from empty there)
            cycle = await _cycle(replace(settings, storage=replace(settings.storage, path=copy, url="")), dry_run=True,
                                 progress_line=progress_line)
        except DatabaseUnusable as exc:  # e.g. newer than this code: name the real file, not the copy
            raise DatabaseUnusable(str(exc).replace(copy, real)) from exc
    code = report(cycle)
    say("deskwatch: DRY RUN — nothing was posted and the database is unchanged", logging.WARNING)
    return code


def _drop_leases(path: str) -> None:
    # The copy is this dry run's alone: a delivery lease held by a running bot must not make it
    # stand by (and print nothing).
    with contextlib.closing(sqlite3.connect(path)) as conn, contextlib.suppress(sqlite3.OperationalError):
        conn.execute("DELETE FROM leases")  # (a database older than leases has no such table)
        conn.commit()


# --- replay --------------------------------------------------------------------------------------


async def replay(settings: Settings, path: str, progress_line: bool = True) -> int:
    from bot.embedding import load_embedder
    from bot.replay import read_archive, replay_rows

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        say(f"deskwatch replay: cannot read {path}: {exc.strerror or exc}", logging.ERROR)
        return 2
    rows, errors = read_archive(data)  # a bad line is reported and skipped; the others still run
    for e in errors[:MAX_REPORTED_ROWS]:
        say(f"deskwatch replay: {path} {e}; skipped", logging.WARNING)
    if len(errors) > MAX_REPORTED_ROWS:
        say(f"deskwatch replay: {path}: {len(errors) - MAX_REPORTED_ROWS} more bad lines skipped", logging.WARNING)
    if not rows:  # an empty result must not look like a clean backtest
        say(f"deskwatch replay: no valid row in {path} ({len(errors)} bad lines); nothing replayed", logging.ERROR)
        return 2
    embedder = load_embedder()
    with progress(len(rows), "replaying", "row", progress_line) as bar:

        def emit(result: dict[str, Any]) -> None:
            # One line per row as soon as it is done (a reader sees results as they come).
            bar.clear()
            print(json.dumps(result, ensure_ascii=False), flush=True)
            bar.update()

        await replay_rows(settings, rows, embedder, on_result=emit)
    return 0
