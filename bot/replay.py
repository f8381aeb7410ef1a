"""`deskwatch replay`: run an archive of items through the live steps, as a backtest.

Each JSON line (id, title, summary, source, url, published, lang; other fields ignored — gold
labels are never read) becomes an Entry, goes through normalise → store → match → story exactly
as a polled entry does, in file order, with the clock set to the item's own date. The store is a
fresh temporary SQLite file. One JSON line out per line in, same order.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.core.feed.normalize import normalize_entry
from bot.core.identity import IdentityVerdict
from bot.embedding import Embedder
from bot.model import Entry, Item
from bot.pipeline import Context, process_items, record_duplicates
from bot.settings import FeedSettings, Settings
from bot.store.sqlite import SqliteStore

FIELDS = ("id", "title", "summary", "source", "url", "published", "lang")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Dates an archive item can have. Beyond them the live steps overflow (year 1 minus max_age_days,
# year 9999 plus a story window); news archives are well inside.
MIN_YEAR, MAX_YEAR = 1900, 2200


def parse_published(value: object, *, strict: bool = False) -> datetime | None:
    """ISO date or datetime → aware UTC datetime; empty or unreadable → None.

    A date outside MIN_YEAR..MAX_YEAR is None too (a replay clock there overflows), or, with
    `strict`, a ValueError saying so; an unreadable date stays None (time unknown) either way.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    try:
        dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-05:00 is past the end of the calendar in UTC
        dt = datetime.max.replace(tzinfo=UTC)
    if MIN_YEAR <= dt.year <= MAX_YEAR:
        return dt
    if strict:
        raise ValueError(f"year {dt.year} is out of range")
    return None


def row_to_item(row: Mapping[str, Any], clock: datetime) -> tuple[Item, datetime]:
    """Build the item for one row, and the replay clock to process it at."""
    published = parse_published(row.get("published"))
    source = str(row.get("source") or "unknown")
    lang = str(row.get("lang") or "en")
    feed = FeedSettings(name=source, url="https://replay.invalid/", language=lang, source=source)
    url = str(row.get("url") or "")
    entry = Entry(guid=f"replay:{row.get('id', '')}", link=url or None, title=str(row.get("title") or ""),
                  summary=str(row.get("summary") or ""), published=published, lang=lang)
    now = published or clock
    return normalize_entry(entry, feed, now), now


async def replay_rows(settings: Settings, rows: Sequence[Mapping[str, Any]], embedder: Embedder | None = None,
                      on_result: Callable[[dict[str, Any]], object] | None = None) -> list[dict[str, Any]]:
    """Run rows through the live steps in a fresh temporary store; one result dict per row.
    A row without a date is "time unknown": it may join a story of any age on content alone.
    `on_result` is handed each result as soon as its row is done, in row order (streaming)."""
    with tempfile.TemporaryDirectory(prefix="deskwatch-replay-") as tmp:
        store = SqliteStore(str(Path(tmp) / "replay.db"))
        await store.open()
        try:
            ctx = Context(settings=settings, store=store, check_age=False, time_unknown_any_age=True,
                          embedder=embedder)
            return await _replay(ctx, rows, on_result or (lambda _result: None))
        finally:
            await store.close()


async def _replay(ctx: Context, rows: Sequence[Mapping[str, Any]],
                  on_result: Callable[[dict[str, Any]], object]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    clock = EPOCH
    for row in rows:
        item, now = row_to_item(row, clock)
        clock = max(clock, now)
        out.append(await _one_row(ctx, row, item, now))
        on_result(out[-1])
    return out


async def _one_row(ctx: Context, row: Mapping[str, Any], item: Item, now: datetime) -> dict[str, Any]:
    added = await ctx.store.add_items([item])
    if added.new:
        outcomes = await process_items(ctx, added.new, now)
        best = max(outcomes, key=lambda o: (o.relevant, o.score))
        return {"id": row.get("id"), "relevant": best.relevant, "score": round(best.score, 4),
                "story": best.story_id, "reasons": list(best.reasons)}
    # A duplicate or a syndicated copy of an earlier row: it shares that row's fate (a copy
    # joins its story as a source, exactly as when polled).
    await record_duplicates(ctx, added.duplicates, now)
    [(_, verdict)] = added.duplicates
    return await _duplicate_result(ctx, row, verdict)


async def _duplicate_result(ctx: Context, row: Mapping[str, Any], verdict: IdentityVerdict) -> dict[str, Any]:
    twin = verdict.twin
    story = await ctx.store.story_of_item(twin.key) if twin else None
    matches = await ctx.store.matches(twin.key) if twin else []
    score = max((m.score for m in matches), default=0.0)
    return {"id": row.get("id"), "relevant": story is not None or any(m.relevant for m in matches),
            "score": round(score, 4), "story": story.id if story else None,
            "reasons": [verdict.detail or "duplicate of an earlier item"]}


def read_jsonl(lines: Iterable[str | bytes]) -> tuple[list[dict[str, Any]], list[str]]:
    """Parse JSON lines, keeping only the contract's fields; errors name the line number.

    Every JSON object is a row (`train` relies on one row per object); `read_archive` also checks
    each row's text and date, for a file given to `deskwatch replay`."""
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for n, line in enumerate(lines, 1):
        row, problem = _parse_line(line, n)
        if problem:
            errors.append(f"line {n}: {problem}")
        elif row is not None:
            rows.append(row)
    return rows, errors


def read_archive(data: bytes) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of a replay file, and one "line N: problem" per line that cannot be replayed.

    Lines end at \n only (JSON strings may hold U+2028 and friends raw), a leading UTF-8 BOM is
    ignored, and each line is decoded on its own, so one bad line costs that row, not the run.
    """
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for n, line in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1):
        row, problem = _parse_line(line, n)
        problem = problem or (row_problem(row) if row is not None else None)
        if problem:
            errors.append(f"line {n}: {problem}")
        elif row is not None:
            rows.append(row)
    return rows, errors


def row_problem(row: Mapping[str, Any]) -> str | None:
    """Why a parsed row cannot go through the live steps, or None. Such a row used to stop the
    whole replay with a traceback: a lone surrogate cannot be stored or printed as UTF-8, and a
    date at the ends of the calendar overflows the first time arithmetic is done on it."""
    for key in FIELDS:
        try:
            json.dumps(row.get(key), ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"a lone surrogate ({exc.object[exc.start]!r}) in {key} is not text"
    value = row.get("published")
    if isinstance(value, str) and value.strip():
        try:
            parse_published(value, strict=True)
        except (ValueError, OverflowError):
            return f"published {value.strip()[:40]} is out of range (years {MIN_YEAR} to {MAX_YEAR})"
    return None


def _parse_line(line: str | bytes, n: int) -> tuple[dict[str, Any] | None, str | None]:
    """(row, None), (None, problem), or (None, None) for a blank line."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"not UTF-8 text (byte 0x{line[exc.start]:02x} at column {exc.start + 1})"
    if not line.strip():
        return None, None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg})"
    except ValueError as exc:  # e.g. an integer of more digits than Python will convert
        return None, f"not usable JSON ({exc})"
    except RecursionError:
        return None, "not usable JSON (nested too deeply)"
    if not isinstance(obj, dict):
        return None, "expected a JSON object"
    return {k: obj.get(k) for k in FIELDS}, None
