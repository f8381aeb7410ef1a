"""Quality of the brain on a labelled corpus: relevance P/R/F1 and story clustering (pairwise and
B-cubed P/R/F1), next to two baselines run in the same process:
  keyword   — "North Korea"/DPRK/North Korean AND a Russia/war word (substring) marks an item relevant;
  fuzzy     — rapidfuzz token_sort_ratio of titles ≥ T joins an earlier item's story (newsdedup style).

Our system runs exactly as `deskwatch replay` does (bot.replay.replay_rows with the configured
settings); `--engine local` drives the pure functions with an in-memory candidate list instead.
Gold labels are read here only, never passed to the system.

    .venv/bin/python bench/quality.py [--corpus PATH] [--config PATH] [--engine replay|local] [-v]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.relevance.match import match_item  # noqa: E402
from bot.core.stories import cluster  # noqa: E402
from bot.core.watch import Watch  # noqa: E402
from bot.model import Item, Story  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "dev.jsonl"
DEFAULT_CONFIG = ROOT / "config" / "deskwatch.toml"
KW_ACTOR = ("north korea", "dprk", "north korean")
KW_WAR = ("russia", "moscow", "kremlin", "putin", "ukrain", "kursk", "war", "troops", "soldier", "military",
          "missile", "shell", "front")


# --- metrics -----------------------------------------------------------------------------------

def prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def relevance(gold: Sequence[bool], pred: Sequence[bool]) -> tuple[float, float, float]:
    tp = sum(g and p for g, p in zip(gold, pred, strict=True))
    fp = sum(p and not g for g, p in zip(gold, pred, strict=True))
    fn = sum(g and not p for g, p in zip(gold, pred, strict=True))
    return prf(tp, fp, fn)


def story_scores(gold: Mapping[str, str], pred: Mapping[str, str | None]) -> dict[str, tuple[float, float, float]]:
    """Over gold-relevant items; an item the system missed is a singleton (hurts recall)."""
    ids = sorted(gold)
    p_of = {i: (pred.get(i) or f"missed:{i}") for i in ids}
    tp = fp = fn = 0
    for a, b in combinations(ids, 2):
        same_g, same_p = gold[a] == gold[b], p_of[a] == p_of[b]
        tp += same_g and same_p
        fp += same_p and not same_g
        fn += same_g and not same_p
    g_members: dict[str, set[str]] = defaultdict(set)
    p_members: dict[str, set[str]] = defaultdict(set)
    for i in ids:
        g_members[gold[i]].add(i)
        p_members[p_of[i]].add(i)
    bp = sum(len(p_members[p_of[i]] & g_members[gold[i]]) / len(p_members[p_of[i]]) for i in ids) / len(ids)
    br = sum(len(p_members[p_of[i]] & g_members[gold[i]]) / len(g_members[gold[i]]) for i in ids) / len(ids)
    return {"pairwise": prf(tp, fp, fn), "bcubed": (bp, br, 2 * bp * br / (bp + br) if bp + br else 0.0)}


# --- systems -----------------------------------------------------------------------------------

def keyword_relevant(row: Mapping[str, Any]) -> bool:
    text = f"{row.get('title', '')} {row.get('summary', '')}".casefold()
    return any(k in text for k in KW_ACTOR) and any(k in text for k in KW_WAR)


def fuzzy_stories(rows: Sequence[Mapping[str, Any]], relevant: Sequence[bool], threshold: float
                  ) -> dict[str, str | None]:
    texts: list[tuple[str, str]] = []  # (story, text) of every earlier relevant item
    out: dict[str, str | None] = {}
    for row, rel in zip(rows, relevant, strict=True):
        if not rel:
            out[row["id"]] = None
            continue
        text = str(row.get("title") or row.get("summary") or "")
        best = max(((fuzz.token_sort_ratio(text, t), s) for s, t in texts), default=(0.0, ""))
        story = best[1] if best[0] >= threshold else f"f-{row['id']}"
        texts.append((story, text))
        out[row["id"]] = story
    return out


def _published(row: Mapping[str, Any], clock: datetime) -> tuple[datetime, bool]:
    raw = str(row.get("published") or "")
    if not raw:
        return clock, False
    dt = datetime.fromisoformat(raw)
    return (dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt), True


def local_run(watch: Watch, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The pipeline's match → candidates → assign → new/add loop, with a list as the store."""
    stories: dict[str, Story] = {}
    out: list[dict[str, Any]] = []
    clock = datetime(2000, 1, 1, tzinfo=UTC)
    for row in rows:
        published, dated = _published(row, clock)
        clock = max(clock, published)
        item = Item(key=str(row["id"]), feed="bench", source=str(row.get("source") or ""),
                    url=str(row.get("url") or ""), title=str(row.get("title") or ""),
                    summary=str(row.get("summary") or ""), published=published, fetched=clock,
                    lang=str(row.get("lang") or "en"), dated=dated)
        m = match_item(watch, item)
        story_id = None
        reasons = list(m.reasons)
        if m.relevant:
            keys = set(cluster.story_keys(watch, item))
            since = cluster.candidate_since(watch, item)
            cands = sorted((s for s in stories.values() if s.last_published >= since and keys & set(s.keys)),
                           key=lambda s: (-len(keys & set(s.keys)), s.id))[:50]
            a = cluster.assign(watch, item, m, cands, clock)
            base = stories.get(a.story_id) if a.story_id else None
            story = cluster.add_source(base, watch, item, m, a) if base else cluster.new_story(watch, item, m)
            stories[story.id] = story
            story_id = story.id
            reasons += a.reasons
        out.append({"id": row["id"], "relevant": m.relevant, "score": m.score, "story": story_id,
                    "reasons": reasons})
    return out


def run_system(engine: str, config: Path, rows: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    from bot.settings import load_settings

    settings = load_settings(str(config))
    if engine in ("auto", "replay"):
        try:
            from bot.replay import replay_rows

            return asyncio.run(replay_rows(settings, rows)), "replay (bot.replay.replay_rows)"
        except ImportError as exc:
            if engine == "replay":
                raise
            print(f"# replay unavailable ({exc}); using the local loop", file=sys.stderr)
    return local_run(settings.watches[0], rows), "local loop (pure functions, list store)"


# --- report ------------------------------------------------------------------------------------

def line(name: str, scores: tuple[float, float, float]) -> str:
    p, r, f = scores
    return f"  {name:<34} P {p:.3f}  R {r:.3f}  F1 {f:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    ap.add_argument("--engine", choices=("auto", "replay", "local"), default="auto")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every error with its reasons")
    args = ap.parse_args(argv)
    rows = [json.loads(x) for x in args.corpus.read_text("utf-8").splitlines() if x.strip()]
    inputs = [{k: r.get(k) for k in ("id", "title", "summary", "source", "url", "published", "lang")}
              for r in rows]
    started = datetime.now(UTC)
    results, engine = run_system(args.engine, args.config, inputs)
    elapsed = (datetime.now(UTC) - started) / timedelta(milliseconds=1)
    gold_rel = [bool(r["relevant"]) for r in rows]
    gold_story = {r["id"]: r["story"] for r in rows if r["relevant"]}
    ours = {r["id"]: r for r in results}
    kw = [keyword_relevant(r) for r in rows]
    print(f"corpus {args.corpus} ({len(rows)} items, {sum(gold_rel)} relevant, "
          f"{len(set(gold_story.values()))} stories); system: {engine}, {elapsed:.0f} ms")
    print("relevance")
    print(line("deskwatch", relevance(gold_rel, [bool(ours[r["id"]]["relevant"]) for r in rows])))
    print(line("baseline keyword filter", relevance(gold_rel, kw)))
    systems: list[tuple[str, Mapping[str, str | None]]] = [
        ("deskwatch", {i: ours[i]["story"] for i in ours}),
        *((f"baseline keyword + fuzzy ≥ {t}", fuzzy_stories(rows, kw, t)) for t in (60, 80)),
        *((f"baseline gold-rel + fuzzy ≥ {t}", fuzzy_stories(rows, gold_rel, t)) for t in (60, 80)),
    ]
    for metric in ("pairwise", "bcubed"):
        print(f"stories ({metric}, over gold-relevant items)")
        for name, pred in systems:
            print(line(name, story_scores(gold_story, pred)[metric]))
    if args.verbose:
        _details(rows, ours)
    return 0


def _details(rows: Sequence[Mapping[str, Any]], ours: Mapping[str, Mapping[str, Any]]) -> None:
    print("\nrelevance errors")
    for r in rows:
        o = ours[r["id"]]
        if bool(o["relevant"]) != bool(r["relevant"]):
            kind = "FP" if o["relevant"] else "FN"
            print(f"  {kind} {r['id']} [{r['lang']}] {o['score']}: {' | '.join(o['reasons'])}")
    print("\nstories (gold -> predicted)")
    by_gold: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["relevant"]:
            by_gold[r["story"]].append(f"{r['id']}->{ours[r['id']]['story']}")
    for g, members in sorted(by_gold.items()):
        print(f"  {g}: {' '.join(members)}")
    for r in rows:
        o = ours[r["id"]]
        why = [x for x in o["reasons"] if x.startswith(("joins", "new story", "adds", "repeats"))]
        if o["story"]:
            print(f"  {r['id']} {r['story'] or '-'}: {' | '.join(why)}")


if __name__ == "__main__":
    raise SystemExit(main())
