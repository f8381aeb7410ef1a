"""The fast parse path against feedparser over feedparser's own ~1,770 test feeds, the feeds the
speed benches serve, realistic news feeds and the sample feeds of real outlets in config/samples:
for every body it declines, or gives the same normalised items (tests/parse_equivalence.py).
Also how many corpus files it reads.

The corpus lives outside the repo (/work/shared/fixtures); that test skips where it is absent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.newsgen import feed_xml, make_corpus
from bench.parse_speed import LANGUAGES, realistic_feed_xml
from tests.parse_equivalence import differences, takes_fast_path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "fixtures" / "feedparser-tests"
SAMPLES = sorted((ROOT / "config" / "samples").rglob("*.xml")) + sorted((ROOT / "config" / "samples").rglob("*.atom"))
NOW = datetime(2026, 6, 30, tzinfo=UTC)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"feedparser corpus not found at {CORPUS}")
def test_every_corpus_feed_is_declined_or_read_as_feedparser_reads_it() -> None:
    files = sorted((CORPUS / "tests").rglob("*.xml"))
    assert len(files) > 1_500  # the whole corpus, not an empty glob
    fast, differ = 0, []
    for path in files:  # one test, not 1,770: keeps the run short
        found = differences(path.read_bytes())
        if found is not None:
            fast += 1
            differ += [f"{path.relative_to(CORPUS)}: {line}" for line in found]
    assert differ == []
    print(f"\nfast parse path: {fast} of {len(files)} corpus files, {len(files) - fast} left to feedparser")
    assert fast >= 1_000  # 1,033 when written: far fewer means the fast path stopped reading feeds


@pytest.mark.parametrize("realistic", [False, True], ids=["bench items", "realistic bench items"])
def test_the_bench_feeds_take_the_fast_path_and_read_the_same(realistic: bool) -> None:
    corpus = make_corpus(6, 30, NOW, realistic=realistic)
    for n, articles in corpus.feeds.items():
        assert takes_fast_path(feed_xml(n, articles, corpus.langs[n], realistic))


def test_realistic_news_feeds_take_the_fast_path_and_read_the_same() -> None:
    for n in range(len(LANGUAGES)):  # one feed per language
        assert takes_fast_path(realistic_feed_xml(n, 20))


@pytest.mark.parametrize("path", SAMPLES, ids=[str(p.relative_to(ROOT)) for p in SAMPLES])
def test_the_sample_feeds_of_real_outlets_take_the_fast_path_and_read_the_same(path: Path) -> None:
    assert takes_fast_path(path.read_bytes())
