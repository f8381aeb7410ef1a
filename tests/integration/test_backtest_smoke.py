"""A small `make bench-backtest`: five invented items, two developments and one look-alike, run
through the live path (local feeds → fetch → store → match → story → outbox → recording desk).

Checks what the desk received and that the summary counts are those alerts, that an undated item
is served without pubDate and stored as undated, and that labels reach neither the feeds nor the
bot (they are read only after the run). No timings. The scoring is also checked on its own, on
hand-made alerts, so it can fail independently of the brain.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import bench.backtest as bt
from bot.config import load_settings
from bot.model import Link

SLUGS = ("zz-kursk-deployment", "zz-kursk-prisoners")
ROWS: list[dict[str, Any]] = [
    {"id": "t-a1", "title": "North Korean troops deployed to Kursk, Seoul says",
     "summary": "South Korea's spy agency said about 10,000 North Korean soldiers have been sent to Russia's Kursk "
                "region to fight against Ukraine.",
     "source": "Alpha Wire", "url": "https://alpha.example/2025/01/nk-troops-kursk", "published": "2025-01-10",
     "lang": "en", "relevant": True, "story": SLUGS[0], "note": "zz-note-first-report"},
    {"id": "t-a2", "title": "Seoul: 10,000 North Korean soldiers now in Russia's Kursk region",
     "summary": "Around 10,000 troops from North Korea are deployed in the Kursk region alongside Russian forces, "
                "South Korea's intelligence service said.",
     "source": "Beta Daily", "url": "https://beta.example/news/seoul-10000-nk-soldiers-kursk",
     "published": "2025-01-11", "lang": "en", "relevant": True, "story": SLUGS[0], "note": "zz-note-rewrite"},
    {"id": "t-c1", "title": "Korean barbecue restaurant opens downtown",
     "summary": "A new Korean BBQ restaurant offers table grills and a lunch menu seven days a week.",
     "source": "Alpha Wire", "url": "https://alpha.example/2025/01/korean-bbq", "published": "2025-01-15",
     "lang": "en", "relevant": False, "story": "", "note": "zz-note-look-alike"},
    {"id": "t-b1", "title": "Ukraine captures two North Korean soldiers in Kursk",
     "summary": "Ukrainian special forces captured two wounded North Korean soldiers in Russia's Kursk region, "
                "President Zelensky said.",
     "source": "Gamma News", "url": "https://gamma.example/ukraine-captures-two-nk-soldiers",
     "published": "2025-01-20", "lang": "en", "relevant": True, "story": SLUGS[1], "note": "zz-note-capture"},
    {"id": "t-b2", "title": "Zelensky shows video of captured North Korean soldiers",
     "summary": "Two North Korean soldiers taken prisoner in the Kursk region are being questioned by Ukraine's SBU, "
                "Zelensky said.",
     "source": "Delta Times", "url": "https://delta.example/zelensky-video-nk-prisoners", "published": "",
     "lang": "en", "relevant": True, "story": SLUGS[1], "note": "zz-note-undated"},
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def settings() -> bt.Settings:
    return load_settings(str(bt.DEFAULT_CONFIG))


def test_the_desk_gets_one_alert_per_development_and_the_summary_counts_it(
        corpus: Path, settings: bt.Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    simulate, read_labels = bt.simulate, bt.read_labels

    async def spy_simulate(items: list[bt.FeedItem], s: bt.Settings, release: dict[str, date]) -> bt.LiveRun:
        calls.append("simulate")
        assert all(type(i) is bt.FeedItem for i in items)
        assert not {"relevant", "story", "note"} & set(bt.FeedItem.__dataclass_fields__)
        return await simulate(items, s, release)

    def spy_labels(path: Path) -> dict[str, bt.Label]:
        calls.append("labels")
        return read_labels(path)

    monkeypatch.setattr(bt, "simulate", spy_simulate)
    monkeypatch.setattr(bt, "read_labels", spy_labels)
    run, _, sc = bt.run_corpus(corpus, settings)
    # Labels: once to schedule undated reports with their development (the world's clock, not
    # the bot's input: the bot only sees the feeds), and once, after the run, to score.
    assert calls == ["labels", "simulate", "labels"]

    # What the bot produced: the rewrite a day later edits the first alert, the undated report
    # joins the capture story, the restaurant is filtered.
    assert not run.problems
    by_story = {s.slug: s for s in sc.stories}
    deployment = by_story[SLUGS[0]]
    assert len(deployment.alerts) == 1 and deployment.shown == 1.0 and deployment.own
    alert = run.alerts[deployment.alerts[0]]
    assert alert.urls == [ROWS[0]["url"], ROWS[1]["url"]]
    assert [[lk.url for lk in e.added] for e in alert.edits] == [[ROWS[1]["url"]]]
    assert "filtered" in run.fates["t-c1"].events and not run.fates["t-c1"].story_id

    # The summary is exactly those alerts.
    assert sc.alerts == len(run.alerts) == len({a.story_id for a in run.alerts.values()})
    assert sc.edits == sum(len(a.edits) for a in run.alerts.values())
    assert sc.false_alerts == [] and sc.impure_alerts == [] and sc.unknown_links == 0
    shown = {i for ids in sc.composition.values() for i in ids}
    assert shown == {i for s in sc.stories for i in s.items if i not in s.lost}
    assert all(s.alerts and s.shown == 1.0 for s in sc.stories)  # nothing missed, every link shown


def test_undated_items_are_served_without_pubdate_and_labels_never_reach_the_feeds(
        corpus: Path, settings: bt.Settings) -> None:
    run, items, _ = bt.run_corpus(corpus, settings)
    bodies = b"".join(run.served.values()).decode()
    for word in (*SLUGS, "zz-note", "relevant", '"story"'):
        assert word not in bodies
    delta = next(b for b in run.served.values() if b"Delta Times" in b)
    entries = ET.fromstring(delta).findall("./channel/item")
    assert len(entries) == 1 and entries[0].find("pubDate") is None
    alpha = next(b for b in run.served.values() if b"Alpha Wire" in b)
    assert all(e.find("pubDate") is not None for e in ET.fromstring(alpha).findall("./channel/item"))
    assert run.fates["t-b2"].dated is False and run.fates["t-a1"].dated is True
    last = date(2025, 1, 20)
    assert run.release["t-b2"] == date(2025, 1, 20)  # undated: released with its development's first report
    assert run.release == bt.release_days(items, bt.read_labels(corpus))  # deterministic
    bt.UNDATED[0] = "end"
    try:
        assert bt.release_days(items)["t-b2"] == last + timedelta(days=1)
    finally:
        bt.UNDATED[0] = "story"
    assert all("too-old" not in f.events for f in run.fates.values())


def test_main_prints_the_summary(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bt.main(["--corpus", str(corpus), "-v"]) == 0
    out = capsys.readouterr().out
    assert "SUMMARY tiny.jsonl: developments posted as exactly one alert of their own" in out
    assert "zz-kursk-deployment" in out and "wall time" in out


def test_without_the_dev_corpora_the_shipped_model_is_used_and_said(
        corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bt, "DEFAULT_CORPORA", (tmp_path / "absent" / "dev.jsonl", tmp_path / "absent" / "dev2.jsonl"))
    assert bt.main(["--corpus", str(corpus), "--no-embedding"]) == 0
    out = capsys.readouterr().out
    assert "the watch's shipped model is used" in out and "refitted" not in out
    assert "SUMMARY tiny.jsonl" in out


def test_a_missing_corpus_is_a_plain_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bt.main(["--corpus", str(tmp_path / "nope.jsonl"), "--no-embedding"]) == 2
    err = capsys.readouterr().err
    assert "no such corpus" in err and "nope.jsonl" in err


# --- the scoring on its own, on hand-made alerts ------------------------------------------------

T0 = datetime(2025, 1, 10, 12, tzinfo=UTC)


def _link(url: str, days: float) -> Link:
    return Link(url=url, outlet="o", lang="en", published=T0 + timedelta(days=days))


def test_scoring_counts_missed_split_impure_false_and_old_edits(settings: bt.Settings) -> None:
    items = [bt.FeedItem(i, "", "", "o", f"https://x.example/{i}", date(2025, 1, 10), "en")
             for i in ("a1", "a2", "b1", "b2", "c1", "n1", "n2")]
    labels = {"a1": bt.Label(True, "a"), "a2": bt.Label(True, "a"), "b1": bt.Label(True, "b"),
              "b2": bt.Label(True, "b"), "c1": bt.Label(True, "c"), "n1": bt.Label(False, ""),
              "n2": bt.Label(False, "")}
    url = {i.id: i.url for i in items}
    late = bt.EditRecord(T0 + timedelta(days=5), (_link(url["b1"], 5),), T0)  # 5 days > 72 h window
    soon = bt.EditRecord(T0 + timedelta(days=1), (_link(url["a2"], 1),), T0)
    alerts = {
        "r1": bt.AlertRecord("r1", "s1", "dprk-russia", T0, [url["a1"], url["a2"]], [soon]),  # own alert of a
        "r2": bt.AlertRecord("r2", "s2", "dprk-russia", T0, [url["b2"]]),  # b, part 1
        "r3": bt.AlertRecord("r3", "s3", "dprk-russia", T0, [url["n2"], url["b1"]], [late]),  # b, part 2 + noise
        "r4": bt.AlertRecord("r4", "s4", "dprk-russia", T0, [url["n1"]]),  # false alert
    }
    run = bt.LiveRun(alerts, [], {i.id: bt.Fate(True, True, ("new", "filtered")) for i in items}, {}, feeds=1)
    sc = bt.score(run, items, labels, settings)
    by = {s.slug: s for s in sc.stories}
    assert by["a"].own and by["a"].shown == 1.0
    assert by["b"].alerts == ["r2", "r3"] and not by["b"].own and by["b"].impure == 1 and by["b"].old_edits == 1
    assert by["c"].alerts == [] and by["c"].shown == 0.0 and by["c"].lost == {"c1": "filtered"}
    assert sc.false_alerts == ["r4"] and sc.impure_alerts == ["r3"]
    assert (sc.edits, sc.old_edits, sc.old_edits_undated) == (2, 1, 0)


def test_developments_with_no_dated_report_each_get_a_day_of_their_own() -> None:
    def fi(id_: str, day: date | None) -> bt.FeedItem:
        return bt.FeedItem(id_, "t", "s", "Outlet", f"https://x.example/{id_}", day, "en")

    items = [fi("a", date(2025, 1, 1)), fi("a2", None), fi("b1", None), fi("c1", None), fi("b2", None), fi("z", None)]
    labels = {"a": bt.Label(True, "dev-a"), "a2": bt.Label(True, "dev-a"), "b1": bt.Label(True, "dev-b"),
              "c1": bt.Label(True, "dev-c"), "b2": bt.Label(True, "dev-b"), "z": bt.Label(False, "")}
    got = bt.release_days(items, labels)
    last = date(2025, 1, 1)
    assert got["a2"] == last  # with its development's dated report
    assert got["b1"] == got["b2"] == last + timedelta(days=1)  # one development, one day
    # the next development: its own news cycle, beyond the story window of the one before
    assert got["c1"] == last + timedelta(days=1 + bt.UNDATED_GAP_DAYS)
    assert got["z"] == last + timedelta(days=1)  # no development: after the dated ones
