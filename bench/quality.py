"""Quality of the brain on the labelled dev corpora, OUT OF SAMPLE first.

The relevance and story models are refitted (exactly as `deskwatch train` does) without the
items they are scored on, then the corpus is run through `deskwatch replay`'s live steps:
  leave-one-story-out — over dev.jsonl + dev2.jsonl: each gold story is held out in turn (with a
                        share of the irrelevant items); relevance is scored on the held-out items,
                        stories by B-cubed over the held-out story's reports (a wrong merge with
                        any other report counts against it);
  cross-corpus        — fit on dev.jsonl, score dev2.jsonl (the honest direction: the watch's terms
                        were written with dev.jsonl in view), and the reverse;
  in-sample           — fitted on both corpora and scored on them (labelled as such).
Leave-one-story-out figures come with a 95% interval: the held-out stories resampled with
replacement (seeded bootstrap), i.e. how far the figure could move on other developments.
Baselines in the same run: a keyword filter ("North Korea" AND a Russia/war word) and rapidfuzz
headline similarity for stories. Labels are read here only, never passed to replay.
Embeddings are cached on disk by text (bench/.cache, not committed).

    .venv/bin/python bench/quality.py [--no-embedding] [--skip-loso] [-v]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_settings  # noqa: E402
from bot.core.relevance.fit import Example, fit_model  # noqa: E402
from bot.core.relevance.model import RelevanceModel, feature_names  # noqa: E402
from bot.core.watch import Watch  # noqa: E402
from bot.embedding import Embedder, load_embedder  # noqa: E402
from bot.replay import replay_rows  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.train import examples, fit_story_models, relevant_reports  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "dev.jsonl"
CORPORA = (DEFAULT_CORPUS, ROOT.parent / "shared" / "corpus" / "dev2.jsonl")
FIELDS = ("id", "title", "summary", "source", "url", "published", "lang")
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


# --- report ------------------------------------------------------------------------------------

def line(name: str, scores: tuple[float, float, float]) -> str:
    p, r, f = scores
    return f"  {name:<34} P {p:.3f}  R {r:.3f}  F1 {f:.3f}"


BOOTSTRAP = 2000  # resamples of the held-out stories (seeded: the same intervals every run)


def spread(folds: Sequence[Fold], stat: Callable[[Sequence[Fold]], tuple[float, float, float]]) -> str:
    """The 95% interval of P, R and F1 when the held-out stories are resampled with replacement
    (a story's reports hang together, so the story is the unit): how far these figures could
    move on as many other developments of the same kind."""
    rng = random.Random(0)
    draws = [stat([folds[rng.randrange(len(folds))] for _ in folds]) for _ in range(BOOTSTRAP)]
    parts = []
    for k, name in enumerate(("P", "R", "F1")):
        vals = sorted(d[k] for d in draws)
        parts.append(f"{name} {vals[int(0.025 * BOOTSTRAP)]:.2f}–{vals[int(0.975 * BOOTSTRAP) - 1]:.2f}")
    return f"    95% interval, {len(folds)} held-out stories resampled: " + "  ".join(parts)



# --- fitting on a subset -----------------------------------------------------------------------

class Labelled:
    """Both corpora with their features, embeddings and report pairs computed once."""

    def __init__(self, watch: Watch, corpora: Sequence[Path], embedder: Embedder | None) -> None:
        self.watch = watch
        self.embedder = embedder
        self.corpora = [[{**json.loads(x), "_corpus": str(p)} for x in p.read_text("utf-8").splitlines() if x.strip()]
                        for p in corpora]
        self.rows = [r for c in self.corpora for r in c]
        self.examples = examples(watch, self.rows, embedder)
        self.reports = relevant_reports(watch, self.rows, embedder)

    def fit(self, keep: set[str]) -> RelevanceModel:
        """Models fitted on the rows whose id is in `keep` (pairs: both reports kept)."""
        exs: list[Example] = [e for r, e in zip(self.rows, self.examples, strict=True) if r["id"] in keep]
        model = fit_model(exs, feature_names([r.name for r in self.watch.roles]), "cv",
                          self.embedder.name if self.embedder else "")
        kept = {str(r["story"]) for r in self.rows if r["id"] in keep and r.get("story")}
        stories, plain, notes = fit_story_models(self.watch, [r for r in self.reports if r.story in kept])
        return replace(model, stories=stories, stories_no_embedding=plain, notes=notes)


# The two ways round, as (name, corpus fitted on, corpus scored): indexes into Labelled.corpora
CROSS_CORPUS = (("fit on dev, score dev2", 0, 1), ("fit on dev2, score dev", 1, 0))


def load_labelled(config: Path, no_embedding: bool) -> tuple[Settings, Embedder | None, Labelled]:
    """The config's settings, the multilingual signal (its vectors cached on disk, or None for
    terms only) and both corpora read once, for the benches that fit on one and score the other."""
    from bench.crossval import DiskCache

    settings = load_settings(str(config))
    inner = None if no_embedding else load_embedder()
    emb = DiskCache(inner) if inner else None
    data = Labelled(settings.watches[0], CORPORA, emb)
    if emb:
        emb.save()
    return settings, emb, data


def cross_corpus(data: Labelled) -> Iterator[tuple[str, RelevanceModel, list[dict[str, Any]]]]:
    """Each way round: its name, the models fitted on one corpus, and the other corpus's rows."""
    ids = [{str(r["id"]) for r in c} for c in data.corpora]
    for name, fit_on, score in CROSS_CORPUS:
        yield name, data.fit(ids[fit_on]), data.corpora[score]


def run_replay(settings: Settings, model: RelevanceModel | None, rows: Sequence[Mapping[str, Any]],
               embedder: Embedder | None) -> dict[str, dict[str, Any]]:
    w = replace(settings.watches[0], model=model)
    s = replace(settings, watches=(w,))
    out = asyncio.run(replay_rows(s, [{k: r.get(k) for k in FIELDS} for r in rows], embedder))
    return {str(o["id"]): o for o in out}


@dataclass
class Fold:
    """One held-out story (with its share of irrelevant items): what the bootstrap resamples."""

    gold: list[bool] = field(default_factory=list)
    pred: list[bool] = field(default_factory=list)
    b3: list[tuple[float, float]] = field(default_factory=list)


def loso(data: Labelled, settings: Settings, errors: list[str] | None = None, held_folds: list[Fold] | None = None
         ) -> tuple[list[bool], list[bool], list[tuple[float, float]], int]:
    """Held-out predictions: relevance (gold, predicted) and per-report B-cubed (P, R); each
    held-out relevance error is described in `errors`, and each fold kept in `held_folds`, when
    given."""
    gold_rel: list[bool] = []
    pred_rel: list[bool] = []
    b3: list[tuple[float, float]] = []
    folds = 0
    for corpus in data.corpora:
        stories = sorted({str(r["story"]) for r in corpus if r.get("story")})
        negatives = [r for r in corpus if not r.get("story")]
        for k, story in enumerate(stories):
            held = [r for r in corpus if r.get("story") == story]
            held += [r for i, r in enumerate(negatives) if i % len(stories) == k]
            held_ids = {str(r["id"]) for r in held}
            model = data.fit({str(r["id"]) for r in data.rows} - held_ids)
            ours = run_replay(settings, model, corpus, data.embedder)
            folds += 1
            fold = Fold()
            for r in held:
                fold.gold.append(bool(r["relevant"]))
                fold.pred.append(bool(ours[str(r["id"])]["relevant"]))
                if errors is not None and fold.pred[-1] != fold.gold[-1]:
                    errors.append(_error(r, ours[str(r["id"])]))
            fold.b3 = bcubed_items(corpus, ours, story)
            gold_rel += fold.gold
            pred_rel += fold.pred
            b3 += fold.b3
            if held_folds is not None:
                held_folds.append(fold)
    return gold_rel, pred_rel, b3, folds


def bcubed_items(corpus: Sequence[Mapping[str, Any]], ours: Mapping[str, Mapping[str, Any]], story: str
                 ) -> list[tuple[float, float]]:
    """B-cubed precision and recall of each report of one gold story, over gold-relevant reports."""
    rel = [r for r in corpus if r["relevant"]]
    cluster_of = {str(r["id"]): (ours[str(r["id"])]["story"] if ours[str(r["id"])]["relevant"] else None)
                  or f"missed:{r['id']}" for r in rel}
    gold_of = {str(r["id"]): str(r["story"]) for r in rel}
    out = []
    for i in (str(r["id"]) for r in rel if r["story"] == story):
        mine = {j for j in cluster_of if cluster_of[j] == cluster_of[i]}
        same = {j for j in gold_of if gold_of[j] == story}
        out.append((len(mine & same) / len(mine), len(mine & same) / len(same)))
    return out


def mean_b3(items: Sequence[tuple[float, float]]) -> tuple[float, float, float]:
    p = sum(x[0] for x in items) / len(items)
    r = sum(x[1] for x in items) / len(items)
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def scored(rows: Sequence[Mapping[str, Any]], ours: Mapping[str, Mapping[str, Any]]
           ) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    gold = [bool(r["relevant"]) for r in rows]
    rel = relevance(gold, [bool(ours[str(r["id"])]["relevant"]) for r in rows])
    stories = sorted({str(r["story"]) for r in rows if r.get("story")})
    return rel, mean_b3([x for s in stories for x in bcubed_items(rows, ours, s)])


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    ap.add_argument("--no-embedding", action="store_true", help="terms only (no multilingual signal)")
    ap.add_argument("--skip-loso", action="store_true", help="cross-corpus and in-sample only (quicker)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="list the relevance errors (held-out and cross-corpus) with reasons, and each gold "
                    "story's clusters")
    args = ap.parse_args(argv)
    import time

    t0 = time.perf_counter()
    settings, emb, data = load_labelled(args.config, args.no_embedding)
    dev, dev2 = data.corpora
    print(f"corpora: dev.jsonl {len(dev)} items, dev2.jsonl {len(dev2)} items; signal: "
          f"{'terms + ' + emb.name if emb else 'terms only'}")
    print("OUT OF SAMPLE")
    if not args.skip_loso:
        errors: list[str] = []
        held: list[Fold] = []
        g, p, b3, folds = loso(data, settings, errors, held)
        print(f"leave-one-story-out over both corpora ({folds} folds)")
        print(line("relevance", relevance(g, p)))
        print(spread(held, lambda fs: relevance([x for f in fs for x in f.gold], [x for f in fs for x in f.pred])))
        print(line("stories B-cubed (held-out reports)", mean_b3(b3)))
        print(spread(held, lambda fs: mean_b3([x for f in fs for x in f.b3])))
        if args.verbose:
            print("\n".join(errors))
    for name, fitted, rows in cross_corpus(data):
        ours = run_replay(settings, fitted, rows, emb)
        rel, b3s = scored(rows, ours)
        dated = [r for r in rows if r.get("published")]
        _, b3_dated = scored(dated, run_replay(settings, fitted, dated, emb))
        print(name)
        print(line("relevance", rel))
        print(line("stories B-cubed", b3s))
        print(line("stories B-cubed, dated reports only", b3_dated))
        if args.verbose:
            _details(rows, ours)
    print("BASELINES (no fitting)")
    for c, name in zip(data.corpora, ("dev", "dev2"), strict=True):
        kw = [keyword_relevant(r) for r in c]
        print(line(f"keyword filter, {name}", relevance([bool(r["relevant"]) for r in c], kw)))
        gold_story = {str(r["id"]): str(r["story"]) for r in c if r["relevant"]}
        fz = story_scores(gold_story, fuzzy_stories(c, kw, 60))["bcubed"]
        print(line(f"keyword + fuzzy ≥ 60 stories, {name}", fz))
    print("IN SAMPLE (fitted on both corpora, scored on them: not a measure of new news)")
    model = data.fit({str(r["id"]) for r in data.rows})
    for c, name in zip(data.corpora, ("dev", "dev2"), strict=True):
        rel, b3s = scored(c, run_replay(settings, model, c, emb))
        print(line(f"relevance, {name}", rel))
        print(line(f"stories B-cubed, {name}", b3s))
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


def _error(r: Mapping[str, Any], o: Mapping[str, Any]) -> str:
    return f"    {'FP' if o['relevant'] else 'FN'} {r['id']} [{r['lang']}] {o['score']}: {o['reasons'][0]}"


def _details(rows: Sequence[Mapping[str, Any]], ours: Mapping[str, Mapping[str, Any]]) -> None:
    for r in rows:
        o = ours[str(r["id"])]
        if bool(o["relevant"]) != bool(r["relevant"]):
            print(_error(r, o))
    by_gold: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["relevant"]:
            by_gold[str(r["story"])].append(f"{r['id']}->{ours[str(r['id'])]['story']}")
    for g, members in sorted(by_gold.items()):
        print(f"    {g}: {' '.join(members)}")


if __name__ == "__main__":
    raise SystemExit(main())
