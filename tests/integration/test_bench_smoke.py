"""Small runs of `make bench` and `make bench-scale`, and the claims their synthetic news rests on.

No timings are checked: that each bench runs at a tiny size and prints its figures, its ratio to
the baseline and its README rows; and that bench/newsgen.py's feeds are what the benches say they
are (unique headlines, exactly the planted reports relevant, dated before the clock, item sizes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bench.cluster_scale as cluster_scale
import bench.fingerprint as fingerprint
import bench.pipeline as pipeline
from bench.newsgen import feed_xml, make_corpus
from bot.config import load_settings
from bot.core.identity import title_hash
from bot.core.relevance.match import match_item
from bot.model import Item

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CONFIG = str(Path(__file__).resolve().parents[2] / "config" / "deskwatch.toml")


@pytest.mark.parametrize("realistic", [False, True], ids=["bench feeds", "realistic feeds"])
def test_generated_feeds_are_unique_fresh_and_relevant_only_where_planted(realistic: bool) -> None:
    # Small: matching a realistic English item costs tens of ms (fuzzy near-miss search on long text).
    corpus = make_corpus(12, 15, NOW, relevant_share=0.15, realistic=realistic)
    articles = corpus.articles()
    assert all(len(items) == 15 for items in corpus.feeds.values())
    assert len({title_hash(a.title) for a in articles}) == len(articles) == 180
    assert all(NOW - timedelta(days=2) < a.published < NOW for a in articles)
    assert corpus.relevant == 27 and len(corpus.developments) < 27  # several outlets per development
    watch = load_settings(CONFIG).watches[0]
    wrong = [(a.lang, a.title) for a in articles if match_item(watch, Item(
        key=a.guid, feed=f"feed{a.feed}", source="Outlet", url=a.url, title=a.title, summary=" ".join(a.body) or a.lead,
        published=a.published, fetched=NOW, lang=a.lang)).relevant != (a.development is not None)]
    assert wrong == []
    sizes = [len(feed_xml(n, items, corpus.langs[n], realistic)) / len(items) for n, items in corpus.feeds.items()]
    mean = sum(sizes) / len(sizes)
    assert (3500 < mean < 5200) if realistic else (300 < mean < 600)
    if realistic:
        assert set(corpus.langs.values()) == {"en", "ru", "ko"}
        assert {a.lang for a in articles if a.development is not None} == {"en", "ru", "ko"}


def test_pipeline_bench_prints_counts_ratio_and_readme_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert pipeline.main(["--feeds", "10", "--items", "20", "--latency-ms", "0", "--hosts", "1", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "WARNING" not in out and "speed-up vs the sequential loop (same round): cold cycle" in out
    rows = [r for r in out.splitlines() if r.startswith("| ")]
    assert [r.split(" | ")[1] for r in rows] == ["cold cycle", "steady cycle (304)",
                                                 "changed cycle (+2 items a feed)", "`feedparser.parse` loop"]
    new, relevant, stories, merged = (int(x.replace(",", "")) for x in rows[0].split(" | ")[4].split(" / "))
    assert new == 200 and relevant == 4 and stories + merged == relevant  # every planted report, clustered
    assert rows[1].split(" | ")[4] == "0 / 0 / 0 / 0"  # steady: every feed answered 304
    assert rows[2].split(" | ")[4].startswith("20 / ")  # changed: the 2 new items of each of the 10 feeds


def test_scale_bench_prints_whole_path_and_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    assert cluster_scale.main(["--sizes", "120,240", "--probes", "4", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.count("whole path (process_items, one item)") == 2
    assert "ratio to the whole path's CPU at 120 stories (same run): 1.00x" in out and "ratio scan/index" in out
    rows = [r for r in out.splitlines() if r.startswith("| ")]
    assert len(rows) == 2 and rows[0].startswith("| 120 (") and rows[1].startswith("| 240 (")


def test_fingerprint_bench_prints_both_formats_and_their_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    assert fingerprint.main(["--dims", "16", "--rounds", "2"]) == 0  # it also checks both formats read back
    out = capsys.readouterr().out
    assert "format 2 (decimals)" in out and "format 3 (packed doubles)" in out
    assert "ratio format 2 / format 3: write " in out
