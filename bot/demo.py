"""`deskwatch demo`: the whole pipeline on bundled sample feeds, offline, no tokens.

A local HTTP server on 127.0.0.1 serves config/samples/ (with ETag/304 like a real feed host).
The demo polls it through the real fetch path into a temporary database, prints the alerts and a
digest, serves the round2/ versions (a further source for a known story and one new development),
polls again, then polls a third time to show that nothing is posted twice.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from bot.app import close_context, open_context
from bot.config import ConfigError, load_settings
from bot.embedding import load_embedder
from bot.outbox import deliver_pending, queue_digest
from bot.platforms.console import ConsoleSink
from bot.settings import Settings, StorageSettings
from bot.store.sqlite import SqliteStore

DEMO_CONFIG = "config/demo.toml"
START = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)  # just after the sample feeds' newest entries


class SampleServer:
    """Serves sample feed files; `round` picks config/samples/ or its round2/ overrides."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.round = 1
        self.hits: Counter[str] = Counter()
        self.runner: web.AppRunner | None = None
        self.base = ""

    def body(self, name: str) -> bytes | None:
        for folder in ([self.folder / "round2"] if self.round >= 2 else []) + [self.folder]:
            path = folder / name
            if path.is_file() and path.resolve().parent in (self.folder.resolve(), (self.folder / "round2").resolve()):
                return path.read_bytes()
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        body = self.body(name)
        if body is None:
            return web.Response(status=404, text="no such sample feed")
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        self.hits[f"{name} {'304' if request.headers.get('If-None-Match') == etag else '200'}"] += 1
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        ctype = "application/atom+xml" if b"<feed" in body[:500] else "application/rss+xml"
        return web.Response(body=body, headers={"ETag": etag, "Content-Type": f"{ctype}; charset=utf-8"})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/{name}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def demo_settings(base: str, tmp: Path) -> Settings:
    settings = load_settings(DEMO_CONFIG)
    feeds = tuple(replace(f, url=f"{base}/{f.url.rsplit('/', 1)[-1]}") for f in settings.feeds)
    dests = tuple(replace(d, path=str(tmp / Path(d.path).name)) if d.path else d for d in settings.destinations)
    return replace(settings, feeds=feeds, destinations=dests,
                   storage=StorageSettings(path=str(tmp / "demo.db")))


def banner(text: str) -> None:
    print(f"\n{'=' * 100}\n{text}\n{'=' * 100}", flush=True)


async def run_demo() -> int:
    samples = Path("config/samples")
    if not samples.is_dir():
        print("deskwatch demo: run it from the repository folder (config/samples/ not found)", file=sys.stderr)
        return 2
    server = SampleServer(samples)
    base = await server.start()
    with tempfile.TemporaryDirectory(prefix="deskwatch-demo-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            settings = demo_settings(base, tmp)
        except ConfigError as exc:
            print("deskwatch demo: config/demo.toml is invalid:\n  " + "\n  ".join(exc.errors), file=sys.stderr)
            await server.stop()
            return 2
        ctx, factory = await open_context(settings, store=SqliteStore(settings.storage.path),
                                          embedder=load_embedder())
        console = next(s for s in ctx.sinks.values() if isinstance(s, ConsoleSink))
        try:
            banner(f"Round 1 — polling {len(settings.feeds)} sample feeds from {base} (real fetch path)")
            now = START
            await _cycle(ctx, now)
            banner("Digest — what the briefing channel gets")
            for sub in settings.subscriptions:
                if sub.mode == "digest":  # the briefing covers the sample week, not just one day
                    await ctx.store.set_meta(f"digest:{sub.watch}:{sub.destination}",
                                             (START - timedelta(days=7)).isoformat())
                    await queue_digest(ctx, sub, now + timedelta(minutes=5), force=True)
            await deliver_pending(ctx, now + timedelta(minutes=5))
            digest_file = next((d.path for d in settings.destinations if d.path), None)
            if digest_file and Path(digest_file).exists():
                print(f"(the file sink wrote it to {Path(digest_file).name}:)\n")
                print(Path(digest_file).read_text("utf-8"))
            banner("Round 2 — the outlets publish more: a further source (edit, not a new post) and news")
            server.round = 2
            now += timedelta(hours=1)
            await _cycle(ctx, now)
            banner("Round 3 — nothing changed upstream: every feed answers 304, nothing is posted")
            now += timedelta(hours=1)
            report = await _cycle(ctx, now)
            banner("Summary")
            sends = Counter(console.sent_markers) if hasattr(console, "sent_markers") else Counter()
            dupes = sum(n - 1 for n in sends.values() if n > 1)
            states = await ctx.store.feed_states()
            print(f"feeds: {len(states)}; requests served: {sum(server.hits.values())} "
                  f"({sum(n for k, n in server.hits.items() if k.endswith('304'))} answered 304)")
            print(f"stories: {len(await ctx.store.latest_stories(1000))}; new items in round 3: {report}")
            print(f"posts per alert marker: max {max(sends.values(), default=0)}; duplicates: {dupes}")
        finally:
            await close_context(ctx, factory)
            await server.stop()
    return 0


async def _cycle(ctx: object, now: datetime) -> int:
    from bot.pipeline import Context, poll_due_feeds

    assert isinstance(ctx, Context)
    for state in await ctx.store.feed_states():  # the demo's clock jumps: make every feed due
        await ctx.store.save_feed_state(replace(state, next_poll=None))
    report = await poll_due_feeds(ctx, now)
    sent = await deliver_pending(ctx, now)
    print(f"\n-- {report.feeds} feeds polled, {report.new_items} new items, {report.relevant} relevant, "
          f"{report.new_stories} new stories, {report.merged} merged into known stories; "
          f"{sent.sent} posted, {sent.edited} edited", flush=True)
    return report.new_items
