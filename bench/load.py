"""Load benchmark: a burst of relevant reports from 2,000 feeds, delivered to rate-limited chats.

One poll cycle fetches N feeds (a server in a separate process, on many 127.0.1.x addresses)
holding M new reports, all relevant to the shipped watch and about many different developments.
They are matched and merged into stories, routed to one Discord and one Slack channel (real
sinks against local fakes that answer 429 when posted to faster than a token bucket allows, and
now and then with a long Retry-After that sends the row back to the outbox). The outbox is then
drained, hour boundary included, so the flood digest goes out too; every story must reach each
channel exactly once (an alert or a digest entry), and no channel may get more alerts than its
max_alerts_per_hour. Baseline in the same run: the same stories posted as one alert each.

    .venv/bin/python bench/load.py [--feeds 2000] [--items 5000] [--rate 40]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from bot.model import Delivery, Destination, Item, Subscription  # noqa: E402
from tests.fakes.discord_server import GOOD_TOKEN, FakeDiscord  # noqa: E402
from tests.fakes.slack_server import FakeSlack  # noqa: E402

NOW = datetime(2026, 6, 30, 10, 20, tzinfo=UTC)  # the cycle's clock; reports are from the hours before
HOSTS = 50
DISCORD_CHANNEL, NAIVE_DISCORD_CHANNEL = "700000000000000001", "700000000000000002"
SLACK_CHANNEL, NAIVE_SLACK_CHANNEL = "CLOADMAIN", "CLOADNAIVE"
SPREAD = 69 * 60  # minutes: the burst holds the last ~3 days of reports (max_age_days is 3)
REAL_RATE = 1.0  # messages/s one channel takes in production (Slack ~1/s; Discord 5 per 5 s)

# --- content: many developments, each reported by one to three outlets in different words ------

REGIONS = ("Russia's Kursk region", "Russia's Belgorod region", "Russia's Bryansk region", "Ukraine's Kharkiv region",
           "Ukraine's Donetsk region", "Ukraine's Zaporizhzhia region", "Ukraine's Kherson region",
           "Ukraine's Luhansk region", "the Sudzha district", "the Pokrovsk sector")
SYLL = ("ver", "niz", "mal", "bol", "star", "nov", "kras", "bel", "cher", "zel", "pes", "lug", "dub", "ber",
        "sos", "kam", "oz", "rech", "gor", "pol", "lip", "vod")
MID = ("ob", "an", "ets", "ov", "ish", "el", "ud", "ar", "ok", "in", "ast", "yr")
END = ("ovka", "ino", "evo", "yanka", "oye", "ichi", "ivka", "any", "ets", "uha", "ki", "ovo")
UNIT_END = ("gol", "san", "ri", "dong", "bong", "gang", "chon", "ryong", "pho", "won", "sil", "dam")
OP_END = ("ite", "ara", "ion", "elle", "orum", "anth", "ixa", "undra", "ello", "ossa", "yth", "arel")
WORDS = len(SYLL) * len(MID) * len(END)  # invented names: one of each kind per development
# (title, lead) per phrasing; {v} village, {r} region, {n} figure, {u} unit nickname, {o} operation.
EVENTS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("North Korean troops hold {v} in {r} against Ukrainian assault",
      "About {n} North Korean soldiers of the {u} battalion defended {v} during operation {o}, Russian officers said."),
     ("Ukrainian push on {v} stalls as North Korean soldiers dig in, {r}",
      "The {u} battalion led roughly {n} troops from Pyongyang at {v}; the defence was code-named {o}."),
     ("North Korean {u} battalion keeps {v} for Russia",
      "In operation {o} some {n} North Korean servicemen repelled attacks near {v} in {r}.")),
    (("{n} North Korean soldiers killed near {v} in {r}",
      "Ukraine's army says drone strikes on {v} hit the North Korean {u} battalion in raid {o}."),
     ("Heavy North Korean losses at {v} where Ukraine counts {n} dead",
      "A Ukrainian drone group reported {n} North Korean troops killed around {v}, {r}, in strikes dubbed {o}."),
     ("Drone footage shows North Korean casualties at {v}",
      "Ukraine says {n} soldiers of the North Korean {u} battalion died at {v} in {r}; the raid was called {o}.")),
    (("Ukraine captures {n} North Korean soldiers at {v}",
      "Special forces took North Korean prisoners near {v} in {r} during raid {o}, a spokesman said."),
     ("North Korean prisoners of war taken at {v} in {r}",
      "Kyiv says its troops captured {n} North Korean fighters from the {u} company near {v} in raid {o}."),
     ("{n} North Korean POWs held after {v} raid",
      "The soldiers of the {u} company surrendered at {v} in {r} to a Ukrainian unit running operation {o}.")),
    (("North Korean artillery shells {v} as Russian offensive in {r} resumes",
      "Crews from Pyongyang fired {n} rounds at {v} with Koksan guns, Ukrainian observers said of barrage {o}."),
     ("Koksan guns manned by North Koreans pound {v}",
      "Ukraine's army says North Korean gunners of the {u} battery fired about {n} shells at {v} in {r}."),
     ("Russia uses North Korean gun crews against {v}",
      "About {n} artillery rounds hit {v} in {r}; the North Korean {u} battery ran barrage {o}.")),
    (("North Korean engineers clear mines around {v} for Russian army",
      "Roughly {n} North Korean sappers of the {u} company work near {v} in {r}, in a task named {o}."),
     ("Pyongyang's military engineers demine {v}",
      "Russian officers say {n} North Korean deminers from the {u} company cleared fields near {v} in task {o}."),
     ("North Korean sapper teams sent to {v} in {r}",
      "The demining job {o} at {v} involves some {n} North Korean troops of the {u} company, Ukraine said.")),
    (("Kim Jong Un decorates {n} soldiers who fought at {v} for Russia",
      "North Korean state media said the {u} battalion won medals for the battle of {v} in {r}."),
     ("Medals for North Korean fighters of the {v} battle",
      "KCNA said {n} soldiers who fought at {v} in {r} for Russia were honoured, the {u} battalion among them."),
     ("Pyongyang honours the {u} battalion for {v}",
      "{n} North Korean soldiers received awards for combat at {v}, in {r}, in an operation named {o}.")),
    (("Russia moves {n} North Korean troops toward {v} in {r}",
      "Ukraine's intelligence says the North Korean {u} brigade was redeployed to {v} for offensive {o}."),
     ("North Korean {u} brigade redeployed to {v} front",
      "Some {n} soldiers from Pyongyang arrived near {v} in {r}, Kyiv said of the offensive {o}."),
     ("Fresh North Korean soldiers reach {v}, Ukraine says",
      "About {n} troops of the North Korean {u} brigade moved to {v} in {r} ahead of Russian assault {o}.")),
    (("North Korean missiles strike {v} in {r}",
      "Ukraine's air force says {n} KN-23 missiles from North Korea hit {v}; the attack was logged as {o}."),
     ("KN-23 barrage on {v}: Ukraine blames North Korean weapons",
      "Russia fired {n} North Korean KN-23 missiles at {v} in {r}, Kyiv said, naming the strike {o}."),
     ("Debris at {v} traced to North Korean ballistic missiles",
      "Ukrainian investigators found parts of {n} KN-23 missiles at {v}, {r}, after strike {o}.")),
    (("North Korean supply column ambushed outside {v}",
      "Ukraine's army says {n} trucks carrying North Korean troops were hit near {v} in raid {o}."),
     ("Ambush near {v} destroys trucks of North Korean troops",
      "The {u} battalion lost {n} vehicles on the road to {v}, Ukrainian officers said of raid {o}."),
     ("Ukrainian raid {o} catches North Korean convoy by {v}",
      "Around {n} North Korean soldiers of the {u} battalion were moving to {v} in {r}.")),
    (("Wounded North Korean soldiers flown from {v} to Moscow hospitals",
      "About {n} North Korean troops injured near {v} were evacuated under plan {o}, Russian media said."),
     ("Moscow hospital treats North Koreans wounded at {v}",
      "Doctors care for {n} soldiers of the North Korean {u} battalion hurt near {v} in {r}."),
     ("Russia evacuates {n} injured North Korean troops from {v}",
      "The soldiers of the {u} battalion were flown out in evacuation {o}, a Russian official said.")),
    (("North Korean gunners train on Russian howitzers at {v} range",
      "Some {n} artillery troops of the North Korean {u} battery drilled at {v} before deployment {o}."),
     ("Russian instructors drill North Korean howitzer crews at {v}",
      "The {u} battery, about {n} North Korean soldiers, trained at {v} under programme {o}."),
     ("Training ground {v} hosts {n} North Korean artillery troops",
      "Russia prepares the North Korean {u} battery for the front in exercise {o}, officials said.")),
    (("North Korean troops rotate home from {v} after months at the front",
      "Roughly {n} soldiers of the {u} brigade left {v} for Pyongyang under rotation {o}, Russian sources said."),
     ("Rotation {o} brings North Korean brigade back from {v}",
      "About {n} troops of the North Korean {u} brigade handed their positions at {v} to Russian units."),
     ("{n} North Korean soldiers leave {v} front in troop rotation",
      "The {u} brigade was replaced at {v} in {r} by fresh North Korean troops, Kyiv said of rotation {o}.")),
)


@dataclass(frozen=True)
class Report:
    feed: int
    development: int
    guid: str
    url: str
    title: str
    summary: str
    published: datetime


def _name(d: int, kind: int) -> str:
    """An invented capitalised word, one per d < WORDS and kind (village, unit, operation): the
    multipliers are coprime to WORDS and each kind has its own endings, so no two coincide."""
    i = (d * (1013, 7, 13)[kind]) % WORDS
    ends = (END, UNIT_END, OP_END)[kind]
    return (SYLL[i % len(SYLL)] + MID[(i // len(SYLL)) % len(MID)] + ends[i // (len(SYLL) * len(MID))]).capitalize()


def burst(items: int, feeds: int) -> list[Report]:
    """`items` reports of about items/2 developments (1, 2 or 3 reports each), spread over feeds."""
    out: list[Report] = []
    dev = 0
    while len(out) < items:
        ev = EVENTS[dev % len(EVENTS)]
        slots = {"v": _name(dev, 0), "u": _name(dev, 1), "o": _name(dev, 2),
                 "r": REGIONS[(dev // len(EVENTS)) % len(REGIONS)], "n": f"{113 + dev * 7:,}"}
        for k in range(min(1 + dev % 3, items - len(out))):
            n = len(out)
            title, lead = (s.format(**slots) for s in ev[(dev + k) % len(ev)])
            out.append(Report(feed=n % feeds, development=dev, guid=f"load-{n}", url=f"https://news{n % feeds}"
                              f".example/{dev}/{k}", title=title, summary=lead,
                              published=NOW - timedelta(minutes=5 + (dev * 997) % SPREAD + k * 17)))
        dev += 1
    return out


def as_item(r: Report) -> Item:
    return Item(key=r.guid, feed=f"feed{r.feed}", source=f"Outlet {r.feed}", url=r.url, title=r.title,
                summary=r.summary, published=r.published, fetched=NOW, lang="en")
