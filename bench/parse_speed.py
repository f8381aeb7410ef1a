"""Parse speed: the fast lxml path against the feedparser path, on bench and realistic feeds, in one run.

Three sets of feeds: the ones `make bench` serves (bench/newsgen.py: ~450 B items, and its
--realistic ~4.3 KB content:encoded items in English, Russian and Korean), and samples made here
in the way other news sites write them (a teaser in <description>, the article in
<content:encoded> with a figure, links, a heading, a list, a quote, entities; categories, an
author, a thumbnail; English, Russian, Korean, French and Arabic). Each feed is read by
parse_with_feedparser (before) and by parse_feed (after: the fast path), and its entries
normalised by normalize_entry; both must give equal items. Figures are CPU time of this process,
median of the rounds, the two paths alternating; entries/s are on one core.

    .venv/bin/python bench/parse_speed.py [--feeds 40] [--items 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.newsgen import feed_xml, make_corpus
from bot.core.feed.fastparse import read_fast
from bot.core.feed.normalize import normalize_entry
from bot.core.feed.parse import parse_feed, parse_with_feedparser
from bot.model import Item, ParsedFeed
from bot.settings import FeedSettings

NOW = datetime(2026, 6, 30, tzinfo=UTC)
Parse = Callable[[bytes, str], ParsedFeed]

SENTENCES = {
    "en": ("Officials in the border region said on Tuesday that the convoy had crossed the river before dawn.",
           "The ministry's statement, issued after midnight, did not say how many soldiers were involved.",
           "Analysts cautioned that satellite images taken last week were still being reviewed.",
           "Residents described hearing trucks on the main road for several hours.",
           "A spokesperson declined to comment on what he called “speculation” about the deployment."),
    "ru": ("Представители приграничного региона заявили во вторник, что колонна пересекла реку до рассвета.",
           "В заявлении министерства, опубликованном после полуночи, не уточняется число военных.",
           "Аналитики предупредили, что спутниковые снимки прошлой недели ещё изучаются.",
           "Жители рассказали, что несколько часов слышали грузовики на главной дороге.",
           "Представитель ведомства отказался комментировать «домыслы» о переброске войск."),
    "ko": ("국경 지역 관계자들은 화요일 새벽 이전에 차량 행렬이 강을 건넜다고 밝혔다.",
           "자정 이후 발표된 국방부 성명은 병력 규모를 밝히지 않았다.",
           "분석가들은 지난주 촬영된 위성 사진을 아직 검토 중이라고 말했다.",
           "주민들은 몇 시간 동안 주요 도로에서 트럭 소리를 들었다고 전했다.",
           "대변인은 배치에 관한 “추측”에 대해 언급을 거부했다."),
    "fr": ("Les autorités de la région frontalière ont déclaré mardi que le convoi avait franchi la rivière à l'aube.",
           "Le communiqué du ministère, publié après minuit, ne précise pas le nombre de soldats.",
           "Les analystes ont averti que les images satellites de la semaine dernière étaient encore à l'étude.",
           "Des habitants ont entendu des camions sur la route principale pendant plusieurs heures.",
           "Un porte-parole a refusé de commenter ce qu'il a qualifié de « spéculations »."),
    "ar": ("قال مسؤولون في المنطقة الحدودية يوم الثلاثاء إن القافلة عبرت النهر قبل الفجر.",
           "ولم يحدد بيان الوزارة الصادر بعد منتصف الليل عدد الجنود المشاركين.",
           "وحذر محللون من أن صور الأقمار الصناعية الملتقطة الأسبوع الماضي لا تزال قيد المراجعة.",
           "وقال سكان إنهم سمعوا شاحنات على الطريق الرئيسي لعدة ساعات.",
           "ورفض متحدث التعليق على ما وصفه بـ«التكهنات» بشأن الانتشار."),
}
HEADLINES = {
    "en": "Convoy crosses river near border as ministry stays silent &amp; residents report trucks",
    "ru": "Колонна пересекла реку у границы: министерство молчит, жители слышат грузовики",
    "ko": "국경 인근 강 건넌 차량 행렬…국방부 침묵 속 주민들 “트럭 소리”",
    "fr": "Un convoi franchit la rivière près de la frontière, le ministère se tait",
    "ar": "قافلة تعبر النهر قرب الحدود والوزارة تلتزم الصمت",
}
LANGUAGES = tuple(SENTENCES)
ZONES = ("+0000", "+0300", "+0900", "-0500", "GMT")


def _paragraphs(lang: str, seed: int, count: int) -> list[str]:
    pool = SENTENCES[lang]
    return [" ".join(pool[(seed + p + k) % len(pool)] for k in range(3)) for p in range(count)]


def article_html(lang: str, n: int, i: int) -> str:
    """The article body: ~3.5 KB of the HTML news sites put in content:encoded."""
    paras = _paragraphs(lang, n + i, 6)
    return (f'<figure><img src="https://news{n}.example/img/{i}.jpg" alt="{HEADLINES[lang][:20]}" width="800" '
            f'height="450" /><figcaption>{paras[0][:60]}&nbsp;&mdash; Photo: Agency</figcaption></figure>'
            f"<p><strong>{paras[0]}</strong></p><p>{paras[1]} <a href=\"https://news{n}.example/related/{i}\" "
            f'rel="noopener">{paras[2][:40]}</a>.</p><h2>{paras[3][:50]}</h2><p>{paras[3]}</p>'
            f"<blockquote><p>&laquo;{paras[4][:120]}&raquo;</p></blockquote>"
            f"<ul><li>{paras[5][:80]}</li><li>{paras[1][:80]}</li><li>{paras[2][:80]}</li></ul>"
            f"<p>{paras[5]}<br />{paras[4]} <em>It&#8217;s</em> developing.</p><p>{paras[2]} {paras[0]}</p>")


def realistic_feed_xml(n: int, items: int) -> bytes:
    """An RSS 2.0 feed of `items` ~4.3 KB news items in one of five languages."""
    lang = LANGUAGES[n % len(LANGUAGES)]
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
           'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
           'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" '
           'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">\n<channel>\n'
           f"<title>News {n} &#8211; {lang.upper()}</title>\n<link>https://news{n}.example/</link>\n"
           f'<atom:link href="https://news{n}.example/feed/" rel="self" type="application/rss+xml" />\n'
           f"<description>Latest news</description>\n<language>{lang}</language>\n"
           "<lastBuildDate>Tue, 30 Jun 2026 09:00:00 +0000</lastBuildDate>\n<sy:updatePeriod>hourly</sy:updatePeriod>\n"
           f"<image><url>https://news{n}.example/logo.png</url><title>News {n}</title>"
           f"<link>https://news{n}.example/</link></image>\n"]
    for i in range(items):
        teaser = " ".join(_paragraphs(lang, n * 3 + i, 1))[:280]
        out.append(
            f"<item>\n<title>{HEADLINES[lang]} ({n}-{i})</title>\n"
            f"<link>https://news{n}.example/{lang}/2026/06/story-{i}/?utm_source=rss&amp;utm_medium=feed</link>\n"
            f"<comments>https://news{n}.example/{lang}/2026/06/story-{i}/#comments</comments>\n"
            f"<dc:creator><![CDATA[Desk {i % 7}]]></dc:creator>\n"
            f"<pubDate>Tue, {1 + i % 28:02d} Jun 2026 {i % 24:02d}:{i % 60:02d}:00 {ZONES[i % len(ZONES)]}</pubDate>\n"
            "<category><![CDATA[World]]></category><category><![CDATA[Security]]></category>"
            f"<category><![CDATA[Region {n % 9}]]></category>\n"
            f'<guid isPermaLink="false">https://news{n}.example/?p={1000 + i}</guid>\n'
            f"<description><![CDATA[<p>{teaser}&#8230;</p>]]></description>\n"
            f"<content:encoded><![CDATA[{article_html(lang, n, i)}]]></content:encoded>\n"
            f'<media:thumbnail url="https://news{n}.example/img/{i}-thumb.jpg" />\n'
            "</item>\n")
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode()


def run(feeds: list[bytes], parse: Parse) -> tuple[float, float, list[Item]]:
    """(CPU seconds parsing, CPU seconds normalising, the items)."""
    parse_s = norm_s = 0.0
    items: list[Item] = []
    for n, body in enumerate(feeds):
        feed = FeedSettings(name=f"feed{n}", url=f"https://news{n}.example/feed/", language="en")
        c0 = time.process_time()
        parsed = parse(body, feed.url)
        c1 = time.process_time()
        items.extend(normalize_entry(e, feed, NOW) for e in parsed.entries)
        parse_s, norm_s = parse_s + c1 - c0, norm_s + time.process_time() - c1
    return parse_s, norm_s, items


def measure(name: str, feeds: list[bytes], rounds: int) -> None:
    fast = sum(read_fast(body) is not None for body in feeds)
    paths: dict[str, Parse] = {"feedparser": parse_with_feedparser, "fast": parse_feed}
    figures: dict[str, list[tuple[float, float]]] = {path: [] for path in paths}
    items: dict[str, list[Item]] = {}
    for _ in range(rounds):
        for path, parse in paths.items():
            parse_s, norm_s, items[path] = run(feeds, parse)
            figures[path].append((parse_s, norm_s))
    if items["fast"] != items["feedparser"]:
        raise SystemExit(f"{name}: the fast path gave different items")
    entries = len(items["fast"])
    size = sum(map(len, feeds)) / max(entries, 1)
    print(f"{name}: {len(feeds)} feeds ({fast} on the fast path), {entries} entries, {size:,.0f} B per entry, "
          "items identical")
    print(f"{'':<12}{'parse s':>9}{'normalise s':>13}{'parse/s':>10}{'parse+normalise/s':>19}   parse/s, all rounds")
    rate: dict[str, tuple[float, float]] = {}
    for path, runs in figures.items():
        parse_s = statistics.median(p for p, _ in runs)
        norm_s = statistics.median(m for _, m in runs)
        both = statistics.median(p + m for p, m in runs)
        rate[path] = (entries / parse_s, entries / both)
        spread = f"{entries / max(p for p, _ in runs):,.0f}-{entries / min(p for p, _ in runs):,.0f}"
        print(f"{path:<12}{parse_s:>9.2f}{norm_s:>13.2f}{rate[path][0]:>10,.0f}{rate[path][1]:>19,.0f}   {spread}")
    print(f"ratio fast/feedparser: parse {rate['fast'][0] / rate['feedparser'][0]:.1f}x, "
          f"parse + normalise {rate['fast'][1] / rate['feedparser'][1]:.1f}x\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=40, help="feeds of each kind")
    ap.add_argument("--items", type=int, default=50, help="items per feed")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per path; the median is shown")
    args = ap.parse_args()
    for name, realistic in (("bench feeds (make bench)", False), ("realistic feeds (make bench --realistic)", True)):
        corpus = make_corpus(args.feeds, args.items, NOW, realistic=realistic)
        feeds = [feed_xml(n, arts, corpus.langs[n], realistic) for n, arts in corpus.feeds.items()]
        measure(name, feeds, args.rounds)
    measure("realistic samples (5 languages)", [realistic_feed_xml(n, args.items) for n in range(args.feeds)],
            args.rounds)


if __name__ == "__main__":
    main()
