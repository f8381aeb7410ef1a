"""Crash-safety soak: run the real `deskwatch run`, SIGKILL it at chosen moments, restart, repeat.

Feeds keep publishing (several outlets per development, so stories grow and alerts are edited,
plus noise); fake Discord and Slack servers live in this process, so they keep every post across
restarts. Each kill is aimed at one window — a feed fetch in flight, the database writes after a
fetch, a post or an edit in flight, the post-crash history read — or at a random moment. After
the last restart the bot runs until nothing is pending; then every published item must be in the
database, every relevant story posted exactly once per destination, its post showing every
source (each development's last report is held back until then, so it must arrive as an edit),
and `PRAGMA integrity_check` ok (after every kill, too). Exit 1 otherwise.

With `--postgres` the workers share a throwaway PostgreSQL database (started like the tests'
server, tests/postgres_server.py) instead of an SQLite file, and `--processes` defaults to 3: each
worker polls, merges and delivers its share (bot/cluster.py), any of them may be the one killed,
and a killed worker's leases wait to expire (60 s), so the settling waits are longer.

With `--digest` a third destination takes the watch as a digest every minute (cron `* * * * *`),
so digest jobs fire while the poll tick's delivery pass is posting; the soak then also checks
that no digest page was posted twice and that every story is in at least one digest (it waits
for one more digest after the last change).

    .venv/bin/python -m bench.soak [--kills 30] [--seed 1] [--developments 24] [--noise 30] [--keep DIR]
        [--processes N] [--slow] [--digest] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/soak.py` as well as `python -m bench.soak`
    sys.path.insert(0, str(ROOT))

from bench.soak_check import (  # noqa: E402
    DbSnapshot,
    DigestFigures,
    Figures,
    digest_verdict,
    discord_notes,
    discord_posts,
    integrity,
    read_db,
    read_pg,
    slack_notes,
    slack_posts,
    verdict,
)
from bench.soak_content import FEEDS, Report, max_age_days, plan  # noqa: E402
from bench.soak_fakes import Feeds, Monitor, SlowDiscord, SlowSlack  # noqa: E402
from tests.fakes.discord_server import GOOD_TOKEN  # noqa: E402

WATCH = "dprk-russia"
DISCORD_CHANNEL = "1200000000000000001"
SLACK_CHANNEL = "C0SOAKDESK"
DESTINATIONS = ("duty-discord", "duty-slack")
DIGEST_DESTINATION, DIGEST_CHANNEL = "digest-slack", "C0SOAKDIGEST"
DIGEST_LINE = "digest for "  # what the bot logs when a digest job fires
# What a kill waits for: the Monitor kind, the n-th such request of the life (1..max), and how far
# into that window to strike (seconds; the fakes' windows last at least the minimum latency).
AIMS: dict[str, tuple[str, int, float]] = {
    "fetch": ("fetch", 8, 0.05),  # a feed request in flight
    "store": ("fetched", 3, 0.25),  # a feed answer went out: the bot parses, stores, matches, routes
    "post": ("post", 2, 0.05),  # a post in flight: before or after the fake has stored it
    "edit": ("edit", 3, 0.05),  # an edit in flight
    "recovery": ("history", 1, 0.05),  # find_sent reading the channel after a crash
    "random": ("", 0, 0.0),
}


@dataclass(frozen=True)
class SoakOptions:
    kills: int = 30
    seed: int = 1
    developments: int = 24
    noise: int = 30
    latency: tuple[float, float] = (0.05, 0.3)
    random_kill: tuple[float, float] = (0.3, 4.0)  # life of a randomly timed kill (import + first tick ≈ 1.7 s)
    aim_timeout: float = 4.0  # an aimed window that does not come in this time: kill anyway
    publish_every: float | None = None  # seconds between publications; None: spread over the kills
    quiesce_timeout: float = 60.0
    max_seconds: float = 300.0  # the kill phase stops early past this (the run is reported as short)
    workdir: Path | None = None  # keep files here (else a temp dir, removed afterwards)
    processes: int = 1  # `deskwatch run` processes on the one database (the others stand by)
    digest: bool = False  # also a digest subscription, fired every minute
    postgres: bool = False  # a throwaway PostgreSQL database shared by the workers, not an SQLite file


@dataclass(frozen=True)
class Kill:
    aim: str
    hit: bool  # the aimed window came (else the kill fell at the timeout)
    busy: tuple[str, ...]  # what the fakes had in flight at the kill
    alive: float
    integrity: str


@dataclass
class SoakResult:
    figures: Figures
    kills: list[Kill] = field(default_factory=list)
    seconds: float = 0.0
    quiesced: bool = True
    recovered: int = 0  # posts the bot found already made after a crash (log lines)
    log_path: str = ""
    digest: DigestFigures | None = None
    digest_fires: list[tuple[str, ...]] = field(default_factory=list)  # in flight when each digest job fired

    @property
    def failed(self) -> bool:
        return (self.figures.failed or not self.quiesced or any(k.integrity != "ok" for k in self.kills)
                or (self.digest is not None and self.digest.failed))


def write_config(path: Path, db: Path, urls: dict[str, str], developments: int, digest: bool = False,
                 database_url: str = "") -> None:
    feeds = "".join(f'\n[[feeds]]\nname = "{n}"\nsource = "{o}"\nurl = "{urls[n]}"\nlanguage = "en"\n'
                    for n, o in FEEDS)
    subs = "".join(f'\n[[subscriptions]]\nwatch = "{WATCH}"\ndestination = "{d}"\nmode = "instant"\n'
                   for d in DESTINATIONS)
    if digest:
        subs += (f'\n[[destinations]]\nname = "{DIGEST_DESTINATION}"\nplatform = "slack"\n'
                 f'channel = "{DIGEST_CHANNEL}"\n\n[[subscriptions]]\nwatch = "{WATCH}"\n'
                 f'destination = "{DIGEST_DESTINATION}"\nmode = "digest"\nschedule = "* * * * *"\ntimezone = "UTC"\n')
    path.write_text(f"""# Written by bench/soak.py for one soak run.
[storage]
path = "{db}"{f'{chr(10)}url = "{database_url}"' if database_url else ""}

[polling]
interval = 1
min_interval = 1
max_interval = 4
tick = 1
per_host = 5
total_timeout = 10.0
max_age_days = {max_age_days(developments)}

[[watches]]
name = "{WATCH}"
file = "{ROOT / 'config' / 'watches' / 'dprk-russia.toml'}"
{feeds}
[[destinations]]
name = "{DESTINATIONS[0]}"
platform = "discord"
channel = "{DISCORD_CHANNEL}"
max_alerts_per_hour = 100000
thread_replies = true

[[destinations]]
name = "{DESTINATIONS[1]}"
platform = "slack"
channel = "{SLACK_CHANNEL}"
max_alerts_per_hour = 100000
thread_replies = true
{subs}""", "utf-8")


class Bot:
    """`deskwatch run` as a child process in its own process group (so a kill takes it whole)."""

    def __init__(self, config: Path, env: dict[str, str], log: Path) -> None:
        self.config, self.env, self.log = config, env, log
        self.proc: asyncio.subprocess.Process | None = None
        self.started = 0.0

    async def start(self, life: int) -> None:
        with self.log.open("a", encoding="utf-8") as out:
            out.write(f"\n===== life {life} =====\n")
            out.flush()
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(self.config), cwd=ROOT, env=self.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
                start_new_session=True)
        self.started = time.monotonic()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def stop(self, sig: signal.Signals = signal.SIGKILL, grace: float = 10.0) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            await asyncio.wait_for(self.proc.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        self.proc = None


def bot_env(discord_api: str, slack_api: str) -> dict[str, str]:
    drop = ("SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DESKWATCH_CONFIG", "DISCORD_GUILD_ID")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.lower().endswith("_proxy")}
    return {**env, "DISCORD_TOKEN": GOOD_TOKEN, "DISCORD_API_BASE_URL": discord_api,
            "SLACK_BOT_TOKEN": "xoxb-soak", "SLACK_API_URL": slack_api, "DESKWATCH_CHAT_COMMANDS": "off",
            "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}


def _choose(rng: random.Random, last: Kill | None) -> str:
    # A kill during a post leaves a "sending" row: often aim the next one at its recovery.
    if last is not None and "post" in last.busy and rng.random() < 0.5:
        return "recovery"
    return rng.choice(sorted(AIMS))


async def _aim(monitor: Monitor, rng: random.Random, aim: str, opts: SoakOptions) -> bool:
    kind, most, depth = AIMS[aim]
    if not kind:
        await asyncio.sleep(rng.uniform(*opts.random_kill))
        return True
    hit = await monitor.wait_for(kind, opts.aim_timeout, rng.randint(1, most))
    if hit:
        await asyncio.sleep(rng.uniform(0.0, depth))
    return hit


async def _publisher(feeds: Feeds, reports: list[Report], every: float) -> None:
    for r in reports:
        feeds.publish(r)
        await asyncio.sleep(every)


Reader = Callable[[], Awaitable[DbSnapshot]]


async def _quiesce(read: Reader, feeds: Feeds, timeout: float) -> bool:
    """Until every published item is stored and processed and no delivery is pending, three
    checks in a row (half a second apart)."""
    calm, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        try:
            db = await read()
        except (sqlite3.Error, asyncpg.PostgresError, OSError):  # not created yet, or busy: look again
            calm = 0
            continue
        done = all(db.items.get(r.key) for r in feeds.published) and not db.active
        calm = calm + 1 if done else 0
        if calm >= 3:
            return True
    return False


async def _watch_digests(logs: list[Path], monitor: Monitor, fires: list[tuple[str, ...]]) -> None:
    """Each time a bot logs that a digest job fired, note what the fakes had in flight then."""
    seen = 0
    while True:
        await asyncio.sleep(0.1)
        count = sum(p.read_text("utf-8", "replace").count(DIGEST_LINE) for p in logs if p.exists())
        fires.extend(tuple(monitor.busy()) for _ in range(count - seen))
        seen = max(seen, count)


async def _next_digest(fires: list[tuple[str, ...]], timeout: float) -> bool:
    before, deadline = len(fires), time.monotonic() + timeout
    while len(fires) == before and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    return len(fires) > before


async def run_soak(opts: SoakOptions) -> SoakResult:
    rng = random.Random(opts.seed)
    monitor = Monitor(latency=opts.latency, rng=random.Random(opts.seed + 1))
    work = opts.workdir or Path(tempfile.mkdtemp(prefix="deskwatch-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    db, config, log = work / "soak.db", work / "soak.toml", work / "bot.log"
    feeds = Feeds(monitor, datetime.now(UTC))
    discord, slack = SlowDiscord(monitor=monitor), SlowSlack(monitor=monitor)
    reports = plan(opts.seed, opts.developments, opts.noise)
    # Each development's last report waits until the settled end, so every story is certainly
    # alerted before it grows once more (that update must arrive as an edit).
    last = {r.development: r for r in reports if r.development is not None}
    tail = [r for r in last.values() if r.seq != min(x.seq for x in reports if x.development == r.development)]
    reports = [r for r in reports if r not in tail]
    kills: list[Kill] = []
    bots: list[Bot] = []
    publisher: asyncio.Task[None] | None = None
    watcher: asyncio.Task[None] | None = None
    start = time.monotonic()
    pg = None
    try:
        if opts.postgres:
            from tests.postgres_server import start as start_postgres

            pg = await asyncio.to_thread(start_postgres)
        database_url = pg.url if pg is not None else ""

        async def read() -> DbSnapshot:
            return await read_pg(database_url, WATCH) if database_url else read_db(str(db), WATCH)

        def checked() -> str:  # after a kill: the SQLite file's integrity (the server is never killed)
            return integrity(str(db)) if not database_url and db.exists() else "ok"

        urls = await feeds.start()
        await discord.start()
        await slack.start()
        write_config(config, db, urls, opts.developments, opts.digest, database_url)
        env = bot_env(discord.api, slack.api_url)
        bots = [Bot(config, env, log)] + [Bot(config, env, work / f"bot{i}.log") for i in range(1, opts.processes)]
        every = opts.publish_every or max(0.05, opts.kills * 2.5 / max(len(reports), 1))
        publisher = asyncio.create_task(_publisher(feeds, reports, every))
        fires: list[tuple[str, ...]] = []
        watcher = asyncio.create_task(_watch_digests([b.log for b in bots], monitor, fires))
        for n in range(opts.kills):
            if time.monotonic() - start > opts.max_seconds:
                break
            aim = _choose(rng, kills[-1] if kills else None)
            for b in bots:  # every process runs; with several, any of them may be the one killed
                if not b.alive():
                    await b.start(n)
            hit = await _aim(monitor, rng, aim, opts)
            victim = rng.choice(bots)
            busy, alive = tuple(monitor.busy()), time.monotonic() - victim.started
            await victim.stop(signal.SIGKILL)
            # Killed before it created the database (a slow start on a loaded machine): nothing to damage.
            kills.append(Kill(aim, hit, busy, alive, checked()))
        publisher.cancel()
        for r in reports[len(feeds.published):]:
            feeds.publish(r)
        for b in bots:
            if not b.alive():
                await b.start(len(kills))
        quiesced = await _quiesce(read, feeds, opts.quiesce_timeout)
        for r in tail:
            feeds.publish(r)
        quiesced = await _quiesce(read, feeds, opts.quiesce_timeout) and quiesced
        if opts.digest:  # one more digest after the last change, so every story is due in one
            quiesced = (await _next_digest(fires, 90.0) and await _quiesce(read, feeds, opts.quiesce_timeout)
                        and quiesced)
        watcher.cancel()
        for b in bots:
            await b.stop(signal.SIGTERM)
        snapshot = await read()
        posts = [*discord_posts(discord.channels, DISCORD_CHANNEL, DESTINATIONS[0]),
                 *slack_posts(slack.messages, SLACK_CHANNEL, DESTINATIONS[1])]
        edits = {DESTINATIONS[0]: len(discord.sent("PATCH", "")), DESTINATIONS[1]: len(slack.calls("chat.update"))}
        notes = [*discord_notes(discord.channels, discord.threads, DESTINATIONS[0]),
                 *slack_notes(slack.messages, SLACK_CHANNEL, DESTINATIONS[1])]
        figures = verdict(feeds.published, snapshot, posts, DESTINATIONS, edits, notes)
        recovered = sum(b.log.read_text("utf-8", "replace").count("was already posted (before a restart")
                        for b in bots if b.log.exists())
        digest = (digest_verdict(snapshot, slack_posts(slack.messages, DIGEST_CHANNEL, DIGEST_DESTINATION))
                  if opts.digest else None)
        return SoakResult(figures, kills, time.monotonic() - start, quiesced, recovered,
                          str(log) if opts.workdir else "", digest, fires)
    finally:
        for task in (publisher, watcher):
            if task is not None:
                task.cancel()
        for b in bots:
            await b.stop(signal.SIGKILL)
        await discord.close()
        await slack.close()
        await feeds.close()
        if pg is not None:
            await asyncio.to_thread(pg.stop)
        if opts.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def report(result: SoakResult, opts: SoakOptions) -> str:
    f, kills = result.figures, result.kills
    aims = {a: [k for k in kills if k.aim == a] for a in sorted(AIMS)}
    busy: dict[str, int] = {}
    for k in kills:
        for b in k.busy or ("nothing",):
            busy[b] = busy.get(b, 0) + 1
    bad_checks = sum(k.integrity != "ok" for k in kills)
    lines = [
        f"deskwatch soak — seed {opts.seed}: {len(kills)} kills (SIGKILL) in {result.seconds:.1f} s, "
        f"{opts.processes} worker{'s' if opts.processes > 1 else ''} on "
        + ("one PostgreSQL database" if opts.postgres else "one SQLite file"),
        "  aimed at:   " + ", ".join(f"{a} {len(ks)} (window came {sum(k.hit for k in ks)})"
                                     for a, ks in aims.items() if ks),
        "  in flight:  " + ", ".join(f"{b} {n}" for b, n in sorted(busy.items())),
        f"  items:      published {f.published} (relevant by design {f.expected_relevant}), stored {f.stored}, "
        f"relevant by the bot {f.relevant}, misjudged {f.misjudged}",
        f"  stories:    {f.stories}; posts " + ", ".join(f"{d} {n}" for d, n in f.posts.items())
        + "; edits " + ", ".join(f"{d} {n}" for d, n in f.edits.items())
        + "; thread notes " + ", ".join(f"{d} {n}" for d, n in f.notes.items())
        + f"; found already posted after a crash {result.recovered}",
        f"  lost {len(f.lost)}, duplicates {len(f.duplicates)}, stale posts {len(f.stale)}, "
        f"unexpected posts {len(f.unexpected)}, still pending {len(f.active)}",
        f"  integrity:  {f.integrity} at the end; {len(kills) - bad_checks}/{len(kills)} ok after a kill",
    ]
    if result.digest is not None:
        d, fires = result.digest, result.digest_fires
        during = sum(1 for busy in fires if {"post", "edit"} & set(busy))
        lines += [f"  digests:    job fired {len(fires)} times ({during} while an alert post or edit was in flight); "
                  f"{d.pages} pages posted, stories in a digest {d.covered}/{d.stories}",
                  f"              lost {len(d.lost)}, duplicate pages {len(d.duplicates)}"]
        lines += [f"  DIGEST: {r}" for r in (*d.lost, *d.duplicates)[:20]]
    if len(kills) < opts.kills:
        lines.append(f"  NOTE: stopped after {len(kills)} of {opts.kills} kills (--max-seconds {opts.max_seconds:g})")
    if not result.quiesced:
        lines.append("  NOTE: the bot did not settle (items unprocessed or deliveries pending) in time")
    for title, rows in (("LOST", f.lost), ("DUPLICATE", f.duplicates), ("STALE", f.stale),
                        ("UNEXPECTED", f.unexpected), ("PENDING", f.active)):
        lines += [f"  {title}: {r}" for r in rows[:20]]
    if result.log_path:
        lines.append(f"  bot log: {result.log_path}")
    lines.append("RESULT: " + ("FAIL" if result.failed else "PASS"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--kills", type=int, default=30)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--developments", type=int, default=24)
    p.add_argument("--noise", type=int, default=30)
    p.add_argument("--max-seconds", type=float, default=300.0)
    p.add_argument("--keep", metavar="DIR", type=Path, default=None, help="keep the database, config and bot log here")
    p.add_argument("--processes", type=int, default=None,
                   help="`deskwatch run` processes sharing the database, each may be the one killed "
                        "(default 1; 3 with --postgres)")
    p.add_argument("--postgres", action="store_true",
                   help="the workers share a throwaway PostgreSQL database instead of an SQLite file")
    p.add_argument("--slow", action="store_true", help="platforms answer in 1.5-3 s instead of 0.05-0.3 s")
    p.add_argument("--digest", action="store_true", help="also a digest subscription whose job fires every minute")
    args = p.parse_args(argv)
    opts = SoakOptions(kills=args.kills, seed=args.seed, developments=args.developments, noise=args.noise,
                       max_seconds=args.max_seconds, workdir=args.keep,
                       processes=max(1, args.processes or (3 if args.postgres else 1)),
                       latency=(1.5, 3.0) if args.slow else (0.05, 0.3), digest=args.digest,
                       postgres=args.postgres,
                       # a killed worker's leases and claims expire after 60 s before others take them
                       quiesce_timeout=180.0 if args.postgres else 60.0)
    result = asyncio.run(run_soak(opts))
    print(report(result, opts))
    return 1 if result.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
