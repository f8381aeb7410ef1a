"""Story merging: does a relevant report join a story already open, or start a new one?

No single signal separates "same development, other outlet" from "other development, same
topic", so several are added up (weights in the watch's [stories] table):
  entities shared (gazetteer ids, so across languages; specific ones count more than "Russia"),
  figures shared (troop counts, casualty numbers) or contradicting, dates mentioned,
  distinctive stems shared (weighted by rarity among the candidates), headline similarity
  (rapidfuzz, same language only), and time: reports days apart are different steps.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from rapidfuzz import fuzz

from bot.core.stories.facts import Facts, item_facts
from bot.core.stories.fingerprint import StoryFacts
from bot.core.watch import Watch
from bot.model import Item, Match, Story, StorySource

MAX_KEYS = 64
MAX_CANDIDATES = 12  # stories compared per item; more did not change the dev figures, and cost time
PRIOR_STORIES = 20
FACT_KINDS = {"person": "actor", "place": "place", "org": "actor", "weapon": "weapon"}


@dataclass(frozen=True)
class Assignment:
    story_id: str | None
    score: float
    reasons: tuple[str, ...]
    new_facts: tuple[str, ...]


def story_keys(watch: Watch, item: Item) -> tuple[str, ...]:
    return _keys(watch, item_facts(watch, item))


def _keys(watch: Watch, facts: Facts) -> tuple[str, ...]:
    """Index keys: specific entities, figures, dates and unknown names; headline stems only when
    those are few (common words would make every story a candidate)."""
    rules = watch.stories
    keys = [f"e:{e}" for e in sorted(facts.entities)
            if (ent := watch.entity(e)) is not None and ent.weight >= rules.key_min_weight]
    keys += [f"n:{n}" for n in sorted(facts.numbers)]
    keys += [f"d:{d}" for d in sorted(facts.dates)]
    keys += [f"p:{n}" for n in sorted(facts.names, key=lambda n: (-len(n), n))[:4]]
    if len(keys) < 3:
        lead = sorted((s for s, w in facts.stems.items() if w >= 1.0), key=lambda s: (-len(s), s))
        keys += [f"t:{s}" for s in lead[: rules.max_term_keys]]
    return tuple(keys)


def candidate_since(watch: Watch, item: Item) -> datetime:
    """Stories updated since then are worth comparing. An undated item may be old news: look far."""
    if not item.dated:
        return item.published - timedelta(days=watch.stories.undated_lookback_days)
    return item.published - timedelta(hours=watch.story_window_hours)


def _idf(facts: Facts, stories: Sequence[StoryFacts]) -> dict[str, float]:
    """Rarity of each stem among the candidates, smoothed as if PRIOR_STORIES more stories lacked
    it: with two candidates, one sharing a word says little about how rare the word is."""
    n = len(stories) + PRIOR_STORIES
    return {s: math.log(1 + n / (1 + sum(1 for f in stories if s in f.stems))) for s in facts.stems}


def _weight(watch: Watch, entity_id: str) -> float:
    ent = watch.entity(entity_id)
    return ent.weight if ent is not None else 0.0


def _score(watch: Watch, item: Item, facts: Facts, sf: StoryFacts, idf: dict[str, float]
           ) -> tuple[float, list[str]]:
    r = watch.stories
    parts: list[str] = []
    shared = sorted(set(facts.entities) & set(sf.entities))
    ent = 0.0
    for e in shared:
        ent += min(facts.entities[e], sf.entities[e]) * _weight(watch, e)
    ent = min(ent, r.entity_cap) * r.entity_weight
    total = ent
    if shared:
        parts.append(f"entities {', '.join(shared)} +{ent:.2f}")
    own = [e for e, w in facts.entities.items()
           if w >= 1.0 and e not in sf.entities and _weight(watch, e) >= r.key_min_weight]
    if own:
        v = min(r.mismatch_cap, r.mismatch_weight * sum(_weight(watch, e) for e in own))
        total -= v
        parts.append(f"story lacks {', '.join(sorted(own))} -{v:.2f}")
    names = sorted(facts.names & sf.names)
    if names:
        v = r.name_weight * min(2, len(names))
        total += v
        parts.append(f"names {', '.join(names)} +{v:.2f}")
    nums = facts.numbers & sf.numbers
    if nums:
        v = _figure_weight(watch, nums)
        total += v
        parts.append(f"figures {', '.join(f'{n:,}' for n in sorted(nums))} +{v:.2f}")
    elif facts.numbers and sf.numbers:
        total -= r.number_conflict
        parts.append(f"different figures -{r.number_conflict:.2f}")
    if facts.dates & sf.dates:
        total += r.date_weight
        parts.append(f"date {', '.join(sorted(facts.dates & sf.dates))} +{r.date_weight:.2f}")
    mine = sum(idf[s] * w for s, w in facts.stems.items())
    common = sum(idf[s] * w for s, w in facts.stems.items() if s in sf.stems)
    if mine and common:
        v = r.term_weight * common / mine
        total += v
        parts.append(f"distinctive words +{v:.2f}")
    same_lang = [t for lang, t in sf.texts if lang == facts.lang]
    if facts.text and same_lang:
        ratio = max(fuzz.token_sort_ratio(facts.text, t) for t in same_lang)
        if ratio > r.fuzz_floor:
            v = r.fuzz_weight * (ratio - r.fuzz_floor) / (100 - r.fuzz_floor)
            total += v
            parts.append(f"headline similarity {ratio:.0f} +{v:.2f}")
    total += _time(watch, item, facts, sf, parts)
    return total, parts


def _time(watch: Watch, item: Item, facts: Facts, sf: StoryFacts, parts: list[str]) -> float:
    """Dated: reports days apart are different steps. Undated: the dates and years the text
    names still place it (a report is not older than the latest year it names, and an event day
    it names is usually 0-3 days before the reports of it)."""
    if not sf.times:
        return 0.0
    r = watch.stories
    lo, hi = sf.times[0], sf.times[-1]
    if not item.dated:
        total = 0.0
        if facts.years and hi.year < max(facts.years):
            total -= r.gap_penalty
            parts.append(f"names {max(facts.years)}, story is from {hi.year} -{r.gap_penalty:.2f}")
        if any(_fits(d, t) for d in facts.dates for t in sf.times):
            total += r.near_bonus
            parts.append(f"named date fits the story's days +{r.near_bonus:.2f}")
        return total
    gap = max((lo - item.published).total_seconds(), (item.published - hi).total_seconds(), 0.0) / 86400
    if gap <= r.same_days:
        parts.append(f"same news cycle +{r.near_bonus:.2f}")
        return r.near_bonus
    pen = r.gap_penalty * (gap - r.same_days)
    parts.append(f"{gap:.1f} days apart -{pen:.2f}")
    return -pen


def _fits(mm_dd: str, t: datetime) -> bool:
    month, day = (int(x) for x in mm_dd.split("-"))
    for year in (t.year, t.year - 1):
        try:
            lag = (t.date() - date(year, month, day)).days
        except ValueError:
            continue
        if 0 <= lag <= 3:
            return True
    return False


def _figure_weight(watch: Watch, shared: AbstractSet[int]) -> float:
    """Round figures (3,000; 100) are said of many things; 13,000 or 101 point at one report."""
    r = watch.stories
    each = sorted((1.0 if len(str(n).rstrip("0")) > 1 else r.round_figure_share for n in shared), reverse=True)
    return r.number_weight * sum(each[:2])


def assign(watch: Watch, item: Item, match: Match, candidates: Sequence[Story], now: datetime) -> Assignment:
    """Pick the story this report belongs to, or none (then the caller starts a new one)."""
    facts = item_facts(watch, item)
    cands = [c for c in candidates if c.watch == watch.name]
    sfs = [StoryFacts.from_json(c.features) for c in cands]
    idf = _idf(facts, sfs)
    scored = [(*_score(watch, item, facts, sf, idf), c, sf) for c, sf in zip(cands, sfs, strict=True)]
    if not scored:
        return Assignment(None, 0.0, ("new story: no open story shares an entity, figure or word",), ())
    total, parts, best, sf = max(scored, key=lambda x: (x[0], x[2].last_published, x[2].id))
    why = "; ".join(parts) or "nothing shared"
    if total < watch.stories.join_threshold:
        return Assignment(None, round(total, 3), (
            f"new story: closest is {best.id} at {total:.2f} < {watch.stories.join_threshold:g} ({why})",), ())
    fresh = _new_facts(watch, facts, sf)
    adds = "adds " + "; ".join(fresh) if fresh else "repeats what the story already has"
    return Assignment(best.id, round(total, 3), (
        f"joins {best.id}: {total:.2f} ≥ {watch.stories.join_threshold:g} ({why})", adds), fresh)


def _new_facts(watch: Watch, facts: Facts, sf: StoryFacts) -> tuple[str, ...]:
    out = [f"new figure: {n:,}" for n in sorted(facts.numbers - sf.numbers)]
    for e in sorted(set(facts.entities) - set(sf.entities)):
        ent = watch.entity(e)
        if ent is not None and ent.kind in FACT_KINDS and ent.weight >= watch.stories.key_min_weight:
            out.append(f"new {FACT_KINDS[ent.kind]}: {ent.label}")
    return tuple(out)


def _source(item: Item, new_facts: tuple[str, ...] = ()) -> StorySource:
    return StorySource(item_key=item.key, outlet=item.source, url=item.url, lang=item.lang,
                       published=item.published, title=_headline(item), tier=item.tier, new_facts=new_facts)


def _headline(item: Item) -> str:
    if item.title.strip():
        return item.title.strip()
    text = " ".join(item.summary.split())
    return text if len(text) <= 120 else text[:117].rsplit(" ", 1)[0] + "…"


def new_story(watch: Watch, item: Item, match: Match) -> Story:
    facts = item_facts(watch, item)
    digest = hashlib.sha1(f"{watch.name}\n{item.key}".encode()).hexdigest()[:8]
    sf = StoryFacts.empty().absorb(facts, item.published if item.dated else None)
    return Story(id=f"s-{digest}", watch=watch.name, title=_headline(item), summary=item.summary,
                 first_published=item.published, last_published=item.published, sources=(_source(item),),
                 score=match.score, features=sf.to_json(), keys=_keys(watch, facts)[:MAX_KEYS])


def add_source(story: Story, watch: Watch, item: Item, match: Match, a: Assignment) -> Story:
    """The story with this report added (idempotent: a report already in it changes nothing)."""
    if any(s.item_key == item.key for s in story.sources):
        return story
    facts = item_facts(watch, item)
    sf = StoryFacts.from_json(story.features).absorb(facts, item.published if item.dated else None)
    sources = tuple(sorted((*story.sources, _source(item, a.new_facts)),
                           key=lambda s: s.published.astimezone(UTC)))
    keys = tuple(dict.fromkeys((*story.keys, *_keys(watch, facts))))[:MAX_KEYS]
    return replace(story, sources=sources, first_published=min(story.first_published, item.published),
                   last_published=max(story.last_published, item.published), score=max(story.score, match.score),
                   features=sf.to_json(), keys=keys, summary=story.summary or item.summary)
