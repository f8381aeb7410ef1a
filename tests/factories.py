"""Small builders for test values: items, settings with a console/recording destination."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.config import load_settings
from bot.model import Destination, Item, Subscription
from bot.settings import Settings

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def item(title: str, summary: str = "", *, source: str = "Example Wire", url: str | None = None,
         lang: str = "en", published: datetime = T0, feed: str | None = None) -> Item:
    digest = hashlib.sha256(f"{source}|{title}|{summary}".encode()).hexdigest()[:12]
    url = url if url is not None else f"https://{source.lower().replace(' ', '')}.example/{digest}"
    return Item(key=f"k-{digest}", feed=feed or source, source=source, url=url, title=title, summary=summary,
                published=published, fetched=published, lang=lang, guid=None,
                title_hash=hashlib.sha256(title.casefold().encode()).hexdigest()[:16] if title else "")


def settings(*dest_names: str, mode: str = "instant") -> Settings:
    """The shipped watch, no feeds, and one destination (recording sinks are attached by tests)."""
    base = load_settings(str(REPO / "config" / "deskwatch.toml"))
    dests = tuple(Destination(name=n, platform="webhook", webhook_env="UNUSED") for n in dest_names)
    subs = tuple(Subscription(watch=base.watches[0].name, destination=n, mode=mode) for n in dest_names)  # type: ignore[arg-type]
    return replace(base, feeds=(), destinations=dests, subscriptions=subs)
