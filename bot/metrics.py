"""The Prometheus metrics of one running bot, every one named `deskwatch_…`.

Each `Metrics` has its own registry (not prometheus-client's global one), so two apps in one
process — tests — count apart. Counters move from the poll cycle's report and the outbox's
per-row outcomes; gauges are set from the current state just before each scrape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.model import FeedState
from bot.pipeline import CycleReport

# The classic text format, which every Prometheus reads; our names need nothing newer (the
# client's default type says version=1.0.0 since 0.22, for UTF-8 names).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# First seen → posted, in seconds: a tick (30 s) is the usual floor; hours mean a destination was held.
LATENCY_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 12 * 3600)
CYCLE_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.feeds_polled = Counter("deskwatch_feeds_polled", "Feed polls attempted", registry=r)
        self.feeds_failed = Counter("deskwatch_feeds_failed", "Feed polls that failed, by kind "
                                    "(http-error, network-error, rate-limited, too-large, not-a-feed ...)",
                                    ["kind"], registry=r)
        self.entries = Counter("deskwatch_entries_seen", "Feed entries read (new or not)", registry=r)
        self.new_items = Counter("deskwatch_items_new", "Items stored for the first time", registry=r)
        self.relevant = Counter("deskwatch_items_relevant", "Item x watch verdicts that were relevant", registry=r)
        self.claimed = Counter("deskwatch_items_claimed", "Of those, items the filter doubted that a story of the "
                               "watch claimed (a sudden rise: look-alikes joining a story)", registry=r)
        self.stories = Counter("deskwatch_stories", "Relevant items that started a story (new) or joined "
                               "one (merged)", ["kind"], registry=r)
        self.deliveries = Counter("deskwatch_deliveries", "Outbox rows worked, by outcome (sent, edited, "
                                  "retrying, held, failed) and destination", ["destination", "status"], registry=r)
        self.latency = Histogram("deskwatch_delivery_latency_seconds", "Alerts: the story's first item first "
                                 "seen to the alert posted", ["destination"], buckets=LATENCY_BUCKETS, registry=r)
        self.cycles = Counter("deskwatch_poll_cycles", "Poll ticks, by outcome (ok, failed)", ["outcome"],
                              registry=r)
        self.cycle_seconds = Histogram("deskwatch_poll_cycle_duration_seconds", "One poll tick: due feeds "
                                       "polled and the outbox worked through", buckets=CYCLE_BUCKETS, registry=r)
        self.last_cycle = Gauge("deskwatch_last_poll_cycle_timestamp_seconds", "Unix time the last poll tick "
                                "finished without error", registry=r)
        self.scheduler_up = Gauge("deskwatch_scheduler_up", "1 while the poll loop and the digest scheduler "
                                  "run", registry=r)
        self.platform_up = Gauge("deskwatch_platform_up", "Chat client connection (slash commands): 1 up, "
                                 "0 starting, down, rejected or stopped", ["platform"], registry=r)
        self.destination_up = Gauge("deskwatch_destination_up", "1 when the destination's last delivery worked, "
                                    "0 while it is held (bad token, missing channel ...)", ["destination"], registry=r)
        self.feeds = Gauge("deskwatch_feeds", "Feeds known to the store", registry=r)
        self.feeds_failing = Gauge("deskwatch_feeds_failing", "Feeds whose last poll failed", registry=r)
        self.outbox_pending = Gauge("deskwatch_outbox_pending", "Outbox rows waiting to be delivered", registry=r)
        for kind in ("new", "merged"):  # labelled series exist from the start, at 0
            self.stories.labels(kind=kind)
        for outcome in ("ok", "failed"):
            self.cycles.labels(outcome=outcome)

    def cycle(self, report: CycleReport | None, seconds: float, finished_at: float) -> None:
        """After one poll tick: its report (None when the tick failed), duration, Unix end time."""
        self.cycle_seconds.observe(seconds)
        if report is None:
            self.cycles.labels(outcome="failed").inc()
            return
        self.cycles.labels(outcome="ok").inc()
        self.last_cycle.set(finished_at)
        self.feeds_polled.inc(report.feeds)
        for kind, n in report.failures.items():
            self.feeds_failed.labels(kind=kind).inc(n)
        self.entries.inc(report.entries)
        self.new_items.inc(report.new_items)
        self.relevant.inc(report.relevant)
        self.claimed.inc(report.claimed)
        self.stories.labels(kind="new").inc(report.new_stories)
        self.stories.labels(kind="merged").inc(report.merged)

    def delivery(self, destination: str, status: str, latency: float | None = None) -> None:
        self.deliveries.labels(destination=destination, status=status).inc()
        if latency is not None:
            self.latency.labels(destination=destination).observe(max(latency, 0.0))

    def live(self, *, scheduler_up: bool, platforms: Mapping[str, Mapping[str, str]]) -> None:
        """Gauges of this process, set just before a scrape."""
        self.scheduler_up.set(1 if scheduler_up else 0)
        for platform, s in platforms.items():
            self.platform_up.labels(platform=platform).set(1 if s.get("state") == "up" else 0)

    def stored(self, *, destinations: Mapping[str, bool], feeds: Iterable[FeedState], pending: int) -> None:
        """Gauges read from the store just before a scrape."""
        for name, ok in destinations.items():
            self.destination_up.labels(destination=name).set(1 if ok else 0)
        states = list(feeds)
        self.feeds.set(len(states))
        self.feeds_failing.set(sum(1 for f in states if f.consecutive_failures > 0))
        self.outbox_pending.set(pending)

    def exposition(self) -> bytes:
        """The Prometheus text format of everything above."""
        return generate_latest(self.registry)
