"""Synthetic feeds for the speed benches: plain news and reports of the watch's kind, every headline
unique, dated relative to the run's clock, as small RSS items (~450 bytes) or realistic ones (~4.3 KB
with content:encoded HTML, in English, Russian and Korean).

A development (one event of the watch's kind) is told by 1–15 outlets in their own words, as
bench/volume.py sizes them; developments differ in kind, region, who says so, names and figure.
The text itself is in bench/newstext.py.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from bench.newstext import (
    CLAIMANTS,
    FIRM_END,
    FIRST,
    KINDS,
    LAST,
    MID,
    OP_END,
    PLAIN,
    PLAIN_BODY,
    REGIONS,
    REPORT_BODY,
    SYL,
    TITLE_FORMS,
    TOWN_END,
    UNIT_END,
    VILLAGE_END,
)
from bench.volume import SIZE_WEIGHTS, SIZES
from bot.core.identity import title_hash

SCRIPT = {"en": 0, "ru": 1, "ko": 2}  # column of the syllable tables
REALISTIC_LANGS = (("en", 0.6), ("ru", 0.25), ("ko", 0.15))  # share of feeds per language
REALISTIC_BYTES = 4300  # target size of a realistic item, markup included


@dataclass(frozen=True)
class Article:
    feed: int
    guid: str
    url: str
    title: str
    lead: str
    body: tuple[str, ...]  # paragraphs of content:encoded (empty for small items)
    published: datetime
    lang: str
    development: int | None = None  # the development it reports, if it is of the watch's kind


@dataclass(frozen=True)
class Development:
    number: int
    kind: int
    region: int
    claimant: int
    figure: int
    start: datetime
    size: int  # how many outlets report it


def name(i: int, ends: Sequence[tuple[str, str, str]], lang: str) -> str:
    """An invented name, distinct for each i below len(SYL) * len(MID) * len(ends), and the same
    name in each script (Latin, Cyrillic, Hangul) for one i."""
    col = SCRIPT[lang]
    a, rest = i % len(SYL), i // len(SYL)
    b, c = rest % len(MID), (rest // len(MID)) % len(ends)
    word = SYL[a][col] + MID[b][col] + ends[c][col]
    return word.capitalize() if lang != "ko" else word


def spread(i: int, ends: Sequence[tuple[str, str, str]], stride: int) -> int:
    """Development i's index into a name space: a stride coprime to its size (every table size is
    2^a * 3^b), so neighbours get unrelated names, and names repeat only after the whole space."""
    return (i * stride) % (len(SYL) * len(MID) * len(ends))


def figure(rng: random.Random, lo: int, hi: int) -> int:
    """A number the Russian templates can follow with a genitive plural ("25 домов", "12 солдат"):
    one ending in 0 or 5–9, or in 11–14."""
    while True:
        n = rng.randrange(lo, hi)
        if n % 10 in (0, 5, 6, 7, 8, 9) or 11 <= n % 100 <= 14:
            return n


def develop(rng: random.Random, number: int, start: datetime, size: int | None = None) -> Development:
    kind = rng.randrange(len(KINDS))
    return Development(number, kind, rng.randrange(len(REGIONS)), rng.choice(KINDS[kind].claimants),
                       figure(rng, 12, 990), start, size or rng.choices(SIZES, SIZE_WEIGHTS)[0])


def slots(dev: Development, lang: str) -> dict[str, str]:
    # Each kind of name has its own stride, so a village and its unit do not sound alike.
    return {"v": name(spread(dev.number, VILLAGE_END, 1013), VILLAGE_END, lang),
            "u": name(spread(dev.number, UNIT_END, 7), UNIT_END, lang),
            "o": name(spread(dev.number, OP_END, 13), OP_END, lang),
            "r": REGIONS[dev.region][lang], "c": CLAIMANTS[dev.claimant][lang], "n": str(dev.figure)}


def wording(dev: Development, w: int, lang: str) -> tuple[str, str]:
    """The development told in wording w of its kind: (headline, lead)."""
    words = KINDS[dev.kind].words[lang]
    fill = slots(dev, lang)
    title, lead = (x.format(**fill) for x in words[w % len(words)])
    return title, lead[0].upper() + lead[1:]


class Writer:
    """Writes articles; remembers every headline (as the duplicate rule normalises it) so none repeats."""

    def __init__(self, rng: random.Random, realistic: bool = False) -> None:
        self.rng, self.realistic = rng, realistic
        self.titles: set[str] = set()
        self.serial = 0

    def _claim(self, title: str) -> bool:
        """Whether the headline is unused (then it is taken)."""
        h = title_hash(title) or title
        if h in self.titles:
            return False
        self.titles.add(h)
        return True

    def _ids(self, feed: int, at: datetime) -> tuple[str, str]:
        self.serial += 1
        return (f"outlet{feed}-{self.serial}",
                f"https://outlet{feed}.example/{at:%Y/%m/%d}/{self.serial:07d}.html?utm_source=rss")

    def report(self, dev: Development, k: int, feed: int, lang: str, at: datetime) -> Article:
        """Outlet k's report of the development: a wording of its kind and a headline form of its own."""
        fill = slots(dev, lang)
        forms = TITLE_FORMS[lang]
        n_words = len(KINDS[dev.kind].words[lang])
        pairs = [(w, f) for f in range(len(forms)) for w in range(n_words)]
        start = (k + dev.number) % len(pairs)
        for w, f in pairs[start:] + pairs[:start]:
            plain, lead = wording(dev, w, lang)
            title = forms[f].format(t=plain)
            if self._claim(title):
                break
        else:
            raise ValueError(f"development {dev.number}: every headline form is taken")
        body = self._body(REPORT_BODY[lang], fill, lead) if self.realistic else ()
        guid, url = self._ids(feed, at)
        return Article(feed, guid, url, title, lead, body, at, lang, dev.number)

    def plain(self, feed: int, lang: str, at: datetime) -> Article:
        """A plain news article: a headline template with invented names and figures."""
        while True:
            fill = self._plain_slots(lang)
            w = self.rng.choice(PLAIN[lang])
            title = w.title.format(**fill)
            if self._claim(title):
                break
        lead = w.lead.format(**fill)
        body = self._body(PLAIN_BODY[lang], fill, lead) if self.realistic else ()
        guid, url = self._ids(feed, at)
        return Article(feed, guid, url, title, lead, body, at, lang)

    def _plain_slots(self, lang: str) -> dict[str, str]:
        rng = self.rng
        sep = "" if lang == "ko" else " "
        return {"town": name(rng.randrange(len(SYL) * len(MID) * len(TOWN_END)), TOWN_END, lang),
                "person": rng.choice(FIRST[lang]) + sep + rng.choice(LAST[lang]),
                "firm": name(rng.randrange(len(SYL) * len(MID)), ((("", "", ""),)), lang)
                + " " + rng.choice(FIRM_END[lang]),
                "n": str(figure(rng, 5, 990)), "m": str(figure(rng, 5, 40)), "k": str(rng.randrange(2, 9))}

    def _body(self, pool: Sequence[str], fill: dict[str, str], lead: str) -> tuple[str, ...]:
        """Paragraphs of two or three sentences from the pool until the item reaches its size."""
        rng = self.rng
        target = int(REALISTIC_BYTES * rng.uniform(0.8, 1.2)) - 1250  # markup, title, links, teaser
        out = [lead]
        size = len(lead.encode())
        while size < target:
            para = " ".join(rng.choice(pool) for _ in range(rng.choice((2, 3)))).format(**fill)
            out.append(para)
            size += len(para.encode())
        return tuple(out)


# --- a whole set of feeds --------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    feeds: dict[int, list[Article]]  # newest first, as a feed lists them
    langs: dict[int, str]
    developments: list[Development]

    @property
    def relevant(self) -> int:
        return sum(a.development is not None for items in self.feeds.values() for a in items)

    def articles(self) -> list[Article]:
        return [a for items in self.feeds.values() for a in items]


def feed_langs(feeds: int, realistic: bool) -> dict[int, str]:
    if not realistic:
        return dict.fromkeys(range(feeds), "en")
    out, edge = {}, 0.0
    bounds = []
    for lang, share in REALISTIC_LANGS:
        edge += share
        bounds.append((edge, lang))
    for n in range(feeds):
        x = (n + 0.5) / feeds
        out[n] = next(lang for b, lang in bounds if x <= b + 1e-9)
    return out


def plan_developments(rng: random.Random, reports: int, now: datetime, span: timedelta,
                      first: int = 0) -> list[Development]:
    """Developments totalling `reports` reports, starting evenly over `span` before `now` (the last
    one a few hours before it, so every report is out by then)."""
    sizes: list[int] = []
    while sum(sizes) < reports:
        sizes.append(min(rng.choices(SIZES, SIZE_WEIGHTS)[0], reports - sum(sizes)))
    step = (span - timedelta(hours=6)) / max(len(sizes), 1)
    begin = now - span
    devs = []
    for i, size in enumerate(sizes):
        at = begin + step * i + timedelta(minutes=rng.uniform(0, step.total_seconds() / 60))
        devs.append(develop(rng, first + i, at, size))
    return devs


def report_times(rng: random.Random, dev: Development, now: datetime) -> list[datetime]:
    """When each outlet publishes: the first at the start, the others within six hours."""
    out = [dev.start] + [dev.start + timedelta(minutes=rng.uniform(4, 360)) for _ in range(dev.size - 1)]
    return sorted(min(t, now - timedelta(minutes=1)) for t in out)


def make_corpus(feeds: int, items: int, now: datetime, *, relevant_share: float = 0.02, realistic: bool = False,
                span: timedelta = timedelta(hours=46), seed: int = 12) -> Corpus:
    """`feeds` feeds of exactly `items` unique articles published within `span` before `now`;
    about `relevant_share` of them are reports of developments (each outlet at most once per one)."""
    rng = random.Random(seed)
    writer = Writer(rng, realistic)
    langs = feed_langs(feeds, realistic)
    out: dict[int, list[Article]] = {n: [] for n in range(feeds)}
    devs = plan_developments(rng, round(feeds * items * relevant_share), now, span)
    for dev in devs:
        room = [n for n in range(feeds) if len(out[n]) < items]
        outlets = rng.sample(room, min(dev.size, len(room)))
        for k, (n, at) in enumerate(zip(outlets, report_times(rng, dev, now), strict=False)):
            out[n].append(writer.report(dev, k, n, langs[n], at))
    seconds = span.total_seconds()
    for n in range(feeds):
        while len(out[n]) < items:
            out[n].append(writer.plain(n, langs[n], now - timedelta(seconds=rng.uniform(60, seconds))))
        out[n].sort(key=lambda a: a.published, reverse=True)
    return Corpus(out, langs, devs)


def make_burst(reports: int, feeds: int, now: datetime, span: timedelta, *, realistic: bool = False,
               seed: int = 5) -> Corpus:
    """Only reports of the watch's kind: `reports` of them, of developments starting evenly over
    `span` before `now`. Outlets are ordered by time: the i-th of D developments is reported by
    outlets near feed i * feeds / D (each at most once), so a poll that takes the feeds in order
    meets the reports roughly in the order a running bot would have met them."""
    rng = random.Random(seed)
    writer = Writer(rng, realistic)
    langs = feed_langs(feeds, realistic)
    out: dict[int, list[Article]] = {n: [] for n in range(feeds)}
    devs = plan_developments(rng, reports, now, span)
    width = min(feeds, 2 * max(SIZES) + 2)
    for i, dev in enumerate(devs):
        first = min(max(0, i * feeds // len(devs) - width // 2), feeds - width)
        outlets = rng.sample(range(first, first + width), min(dev.size, width))
        for k, (n, at) in enumerate(zip(outlets, report_times(rng, dev, now), strict=False)):
            out[n].append(writer.report(dev, k, n, langs[n], at))
    for items in out.values():
        items.sort(key=lambda a: a.published, reverse=True)
    return Corpus(out, langs, devs)


# --- RSS -------------------------------------------------------------------------------------

RSS_HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            "<channel><title>{title}</title><link>https://outlet{n}.example/</link>"
            "<description>{title}: latest news</description><language>{lang}</language>")
SECTIONS = {"en": ("World", "Europe", "Business", "Local", "Sport", "Culture"),
            "ru": ("Мир", "Россия", "Экономика", "Общество", "Спорт", "Культура"),
            "ko": ("국제", "정치", "경제", "사회", "스포츠", "문화")}


def item_xml(a: Article, realistic: bool) -> str:
    head = (f"<item><title>{escape(a.title)}</title><link>{escape(a.url)}</link>"
            f'<guid isPermaLink="false">{a.guid}</guid><pubDate>{format_datetime(a.published)}</pubDate>')
    if not realistic:
        return head + f"<description>{escape(f'<p>{a.lead}</p>')}</description></item>"
    sections = SECTIONS[a.lang]
    cats = "".join(f"<category>{sections[(a.feed + j) % len(sections)]}</category>" for j in range(2))
    teaser = f"<p>{escape(a.lead)}</p>"
    html = [f'<figure><img src="https://cdn.outlet{a.feed}.example/img/{a.guid}.jpg" width="1200" height="675" '
            f'alt="{escape(a.title, {chr(34): "&quot;"})}" loading="lazy"/><figcaption>{escape(a.title)}'
            "</figcaption></figure>", f"<p><strong>{escape(a.lead)}</strong></p>"]
    for j, para in enumerate(a.body[1:]):
        if j == 2:
            html.append(f"<blockquote><p>{escape(para)}</p></blockquote>")
        else:
            html.append(f"<p>{escape(para)}</p>")
    html.append(f'<p><em>Related:</em> <a href="https://outlet{a.feed}.example/live">Live coverage</a> · '
                f'<a href="https://outlet{a.feed}.example/newsletter?utm_source=rss">Newsletter</a></p>')
    return (head + f"<dc:creator>Desk {a.feed % 17}</dc:creator>{cats}"
            f"<description><![CDATA[{teaser}]]></description>"
            f"<content:encoded><![CDATA[{''.join(html)}]]></content:encoded></item>")


def feed_xml(n: int, articles: Sequence[Article], lang: str, realistic: bool) -> bytes:
    head = RSS_HEAD.format(title=f"Outlet {n}", n=n, lang=lang)
    return (head + "".join(item_xml(a, realistic) for a in articles) + "</channel></rss>").encode()
