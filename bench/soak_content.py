"""What the soak's feeds publish: a seeded plan of reports and noise, and the RSS that serves it.

Relevance is unambiguous by construction, so the soak needs no gold labels: a "development"
(North Korean troops in a named place of Russia's war, with one distinctive figure) is reported
by two to four outlets in different wordings, so stories grow and alerts get edited; noise is
plainly about something else (ferries, harvests, concerts). All text is invented for this bench.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from bot.core.feed.normalize import canonical_url, item_key

# (feed name, outlet shown to readers). The first three carry the watch, the last two mix in noise.
FEEDS: tuple[tuple[str, str], ...] = (
    ("seoul-wire", "Seoul Wire"),
    ("kyiv-desk", "Kyiv Desk"),
    ("border-post", "Border Post"),
    ("world-brief", "World Brief"),
    ("harbour-news", "Harbour News"),
)
# Developments are dated this far apart: deskwatch treats reports days apart as different steps,
# so each development becomes its own story however alike the wordings of two of them are.
SPACING = timedelta(days=4)
PLACES = ("Kursk", "Belgorod", "Bryansk", "Sudzha", "Pokrovsk", "Donetsk", "Zaporizhzhia", "Kharkiv")

# One set of wordings per kind of development; {n} is its figure, {p} its place.
WORDINGS: dict[str, tuple[tuple[str, str], ...]] = {
    "casualties": (
        ("{n} North Korean soldiers killed or wounded near {p}, Ukraine's army says",
         "Ukraine's general staff said {n} North Korean troops fighting for Russia were killed or wounded near {p}."),
        ("Kyiv puts North Korean losses near {p} at {n} troops",
         "North Korean soldiers deployed by Russia lost {n} men near {p}, Ukrainian commanders told reporters."),
        ("North Korean casualties around {p} reach {n}, Ukrainian officers report",
         "Ukrainian officers said {n} North Korean troops were killed or wounded in fighting for Russia around {p}."),
    ),
    "deployment": (
        ("North Korea sends {n} more troops to Russia's {p} front",
         "Pyongyang has deployed {n} additional soldiers to fight for Russia near {p}, Ukrainian intelligence said."),
        ("Fresh North Korean contingent of {n} soldiers arrives near {p}",
         "A new rotation of {n} North Korean troops reached the front near {p} to fight alongside Russian forces."),
        ("Ukraine says {n} North Korean troops deployed to {p} sector",
         "Ukrainian military intelligence said {n} North Korean soldiers were deployed to Russia's {p} sector."),
    ),
    "prisoners": (
        ("Ukraine captures {n} North Korean soldiers in {p} fighting",
         "Ukrainian forces captured {n} North Korean troops who were fighting for Russia near {p}."),
        ("{n} North Korean prisoners of war taken near {p}, Kyiv says",
         "Kyiv said its troops took {n} North Korean soldiers prisoner during battles with Russian units at {p}."),
        ("North Korean troops surrender near {p}: {n} held by Ukraine",
         "Ukraine's army said {n} North Korean soldiers serving with Russian forces were captured near {p}."),
    ),
    "shells": (
        ("North Korean artillery shells: {n} wagons reach Russian guns near {p}",
         "Ukrainian military intelligence said {n} wagons of North Korean shells reached Russian artillery near {p}."),
        ("Russia fires North Korean ammunition near {p} after {n}-wagon delivery",
         "Russian troops near {p} are firing North Korean munitions from a delivery of {n} wagons, Ukraine said."),
        ("Kyiv tracks {n} wagons of North Korean munitions to {p} front",
         "Ukraine's army said {n} wagons of North Korean artillery ammunition were sent to Russian forces at {p}."),
    ),
}
NOISE = (
    ("Harbour ferry timetable changes for the {n} summer sailings",
     "The harbour authority published new departure times for {n} ferry sailings between the islands."),
    ("Orchard growers expect {n} tonnes of apples after a mild spring",
     "Fruit farmers in the valley said the harvest could reach {n} tonnes if the weather holds."),
    ("City orchestra adds {n} seats for its open-air concert",
     "Organisers of the riverside concert said {n} extra seats will go on sale next week."),
    ("Library marks {n} years with a festival of local writers",
     "The public library will celebrate {n} years since it opened with readings and workshops."),
    ("Regional marathon draws {n} runners despite the rain",
     "Race officials counted {n} finishers in the coastal marathon held on Sunday morning."),
)


@dataclass(frozen=True)
class Report:
    """One feed entry the soak publishes. `development` is None for noise; `age` is how long
    before the soak's base time its pubDate lies."""

    seq: int
    feed: str
    guid: str
    url: str
    title: str
    summary: str
    development: int | None
    age: timedelta = timedelta(0)

    @property
    def relevant(self) -> bool:
        return self.development is not None

    @property
    def key(self) -> str:
        """The item key deskwatch will give this entry (the GUID scoped to its feed)."""
        return item_key(self.feed, self.guid, canonical_url(self.url), self.title, self.summary)


def plan(seed: int, developments: int, noise: int) -> list[Report]:
    """The publication order: developments start all through the run, and each one's further
    reports (other outlets, other wordings) follow its first, so that they arrive after the first
    has been alerted and must become edits."""
    rng = random.Random(seed)
    slots: list[tuple[float, int | None, int]] = []  # (when, in [0, 1]; development or None; report number)
    for d in range(developments):
        start = rng.uniform(0.0, 0.75)  # developments begin all through the run, each then grows
        slots += [(start + k * rng.uniform(0.04, 0.12), d, k) for k in range(rng.randint(2, 4))]
    slots += [(rng.random(), None, k) for k in range(noise)]
    slots.sort(key=lambda s: s[0])
    kinds = sorted(WORDINGS)
    reports = []
    for seq, (_, dev, k) in enumerate(slots):
        if dev is None:
            title, summary = NOISE[seq % len(NOISE)]
            n = 100 + seq * 7
            feed = FEEDS[3 + seq % 2][0]
            age = timedelta(minutes=rng.randint(0, 600))
        else:
            kind = kinds[dev % len(kinds)]
            title, summary = WORDINGS[kind][k % len(WORDINGS[kind])]
            n = 1000 + dev * 37 + 3  # distinctive, not round: one figure per development
            title = title.replace("{p}", PLACES[dev % len(PLACES)])
            summary = summary.replace("{p}", PLACES[dev % len(PLACES)])
            feed = FEEDS[(dev + k) % 4][0]
            age = SPACING * (developments - dev) - timedelta(hours=2 * k)
        text_n = f"{n:,}"
        reports.append(Report(seq=seq, feed=feed, guid=f"soak-{seed}-{seq}", url=f"https://{feed}.example/a/{seq}",
                              title=title.replace("{n}", text_n),
                              summary=summary.replace("{n}", text_n), development=dev, age=age))
    return _unique_titles(reports)


def _unique_titles(reports: list[Report]) -> list[Report]:
    """Two outlets never share a headline here: deskwatch treats an identical title as the same article."""
    seen: dict[str, int] = {}
    out = []
    for r in reports:
        n = seen.get(r.title, 0)
        seen[r.title] = n + 1
        out.append(r if n == 0 else replace(r, title=f"{r.title}, update {n}"))
    return out


def max_age_days(developments: int) -> int:
    """A polling.max_age_days under which no planned report counts as too old to alert."""
    return (SPACING * (developments + 2)).days + 1


def rss(feed: str, outlet: str, entries: list[Report], base: datetime) -> bytes:
    """An RSS 2.0 document of the entries published so far (in publication order), newest first."""
    rows = [
        f"<item><title>{escape(r.title)}</title><link>{escape(r.url)}</link><guid>{escape(r.guid)}</guid>"
        f"<pubDate>{format_datetime(base - r.age)}</pubDate><description>{escape(r.summary)}</description></item>"
        for r in reversed(entries)
    ]
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{escape(outlet)}</title>'
            f"<link>https://{feed}.example/</link><language>en</language>{''.join(rows)}</channel></rss>").encode()
