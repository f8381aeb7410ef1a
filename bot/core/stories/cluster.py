"""Story merging: does a relevant report join a story already open, or start a new one?

The report is compared with each candidate story's core reports (its first few, see
fingerprint.py) by the signals of compare.py; a fitted logistic model (the watch's model file,
or a prior from the watch's [stories] weights) turns them into the probability that the two tell
one development. The report joins the most probable story at or above the join threshold
(stories whose bound says they cannot be the most probable are not scored: bound.py).
Candidates come from the store: stories in the time window sharing a lookup key, plus the most
recent ones (a report in another language may share no key but its meaning).
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from bot.core.headline import display_title
from bot.core.odds import versus
from bot.core.relevance.model import Logistic, sigmoid
from bot.core.stories import dots
from bot.core.stories.bound import MARGIN, Reach, signs_ok, upper_p
from bot.core.stories.compare import FEATURE_ORDER, EntityWeights, PairLogit, Side, pair_evidence, side_values
from bot.core.stories.facts import Facts, item_facts
from bot.core.stories.fingerprint import StoryFacts, core_json, read_back
from bot.core.watch import Watch
from bot.model import Item, Match, Story, StorySource

MAX_KEYS = 64
MAX_CANDIDATES = 12  # stories compared per item, by shared keys
RECENT_CANDIDATES = 12  # plus the most recently updated stories in the window (other languages)
UNKNOWN_TIME_CANDIDATES = 200  # replay of a report of unknown time: its story may be of any age
FACT_KINDS = {"person": "actor", "place": "place", "org": "actor", "weapon": "weapon"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T = TypeVar("T")
FINGERPRINT_CACHE = 256  # decoded fingerprints kept: the candidates of a burst's window (~50 KB each with vectors)


@dataclass(frozen=True)
class Assignment:
    story_id: str | None
    score: float  # probability that the report tells the chosen (or closest) story's development
    reasons: tuple[str, ...]
    new_facts: tuple[str, ...]


def prior_pair_model(watch: Watch) -> tuple[Logistic, float]:
    """Without a fitted model: the analyst's [stories] weights as a logistic model."""
    r = watch.stories
    return Logistic(-r.join_threshold + r.near_bonus, {
        "entities": r.entity_weight, "entity_mismatch": -r.mismatch_weight, "names": r.name_weight,
        "figures": r.number_weight, "figure_conflict": -r.number_conflict, "dates": r.date_weight,
        "words": r.term_weight, "headline": r.fuzz_weight, "days_apart": -r.gap_penalty,
        "cosine": 0.5, "cosine_cross": 0.5}), 0.5


def pair_model(watch: Watch, time_known: bool = True, embedded: bool = True) -> tuple[Logistic, float]:
    """The same-development model and the probability at which a report joins: the one fitted
    with embeddings when the report has one, else the one fitted without (never a model that
    expects a signal it will not get)."""
    m = watch.model
    sm = None
    if m is not None:
        sm = m.stories if embedded or m.stories_no_embedding is None else m.stories_no_embedding
    if sm is not None:
        return sm.pair, sm.join if time_known else sm.join_unknown_time
    return prior_pair_model(watch)


def facts_of(watch: Watch, item: Item, vector: Sequence[float] | None = None) -> Facts:
    return item_facts(watch, item, None, vector)


def story_keys(watch: Watch, item: Item, facts: Facts | None = None) -> tuple[str, ...]:
    return _keys(watch, facts or facts_of(watch, item))


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


def candidate_since(watch: Watch, item: Item, time_unknown_any_age: bool = False) -> datetime:
    """Stories updated since then are worth comparing: the story window before the report (an
    undated live report is placed at its first-seen time). Only a backtest of an archive may
    compare a report of unknown time with stories of any age, on content alone."""
    if not item.dated and time_unknown_any_age:
        return EPOCH
    return item.published - timedelta(hours=watch.story_window_hours)


def candidate_until(watch: Watch, item: Item, time_unknown_any_age: bool = False) -> datetime | None:
    """Stories that began after then are not worth comparing: the window's other side. Live, a
    report is rarely older than the stories it meets; an archive replayed out of date order, or
    a feed's late entry, must not join a development that began after its own window (None: a
    replayed report of unknown time, compared with stories of any age)."""
    if not item.dated and time_unknown_any_age:
        return None
    return item.published + timedelta(hours=watch.story_window_hours)


def story_probability(pair_ps: Sequence[float], time_known: bool) -> float:
    """One development with the story. A dated report: the mean over the story's core reports —
    a report that resembles one report of a story but not the others is not that story (the
    best alone lets stories chain within a news cycle: A~B, B~C, so C joins A's story). A report
    of unknown time: the best core report, since on content alone a report in another language
    or from another angle has to match one of them, not their average (see README: measured out
    of sample, each choice where it was better)."""
    if not pair_ps:
        return 0.0
    return sum(pair_ps) / len(pair_ps) if time_known else max(pair_ps)


def _story_p(watch: Watch, me: Side, cores: Sequence[Side], core_dots: Sequence[float | None], logit: PairLogit,
             weight: EntityWeights, time_known: bool, seen: Container[str]
             ) -> tuple[float, tuple[Facts, tuple[float, ...]] | None]:
    """The story's probability and its closest core report with the signals (for `why`); `seen`:
    the entities the core reports name together (compare.core_entities)."""
    ps: list[float] = []
    best_p, best = -1.0, None
    for core, dot in zip(cores, core_dots, strict=True):
        x = side_values(watch, me, core, weight, dot, seen)
        p = sigmoid(logit(x))
        ps.append(p)
        if p > best_p:
            best_p, best = p, (core.facts, x)
    return story_probability(ps, time_known), best


def _why(facts: Facts, closest: tuple[Facts, tuple[float, ...]] | None, model: Logistic) -> str:
    """The signals shared with the closest core report in words: only for the story reported."""
    if closest is None:
        return "nothing shared"
    core, values = closest
    x = dict(zip(FEATURE_ORDER, values, strict=True))
    return pair_evidence(facts, core, {f: model.weights.get(f, 0.0) * v for f, v in x.items()})


# A fingerprint decoded and made ready: its facts, core sides, core embeddings and reach, and its
# core reports' JSON as written (None until this process writes the story: only a merge needs it).
Prepared = tuple[StoryFacts, tuple[Side, ...], dots.Columns, Reach, tuple[str, ...] | None]


class _Fingerprints:
    """Stories' fingerprints read once per version (the same candidates come up for item after
    item of a burst), with their core reports prepared for comparison; the least recently used
    are forgotten past FINGERPRINT_CACHE. A version this process has just written is remembered
    as written (`write`), so the next report to meet the story does not decode it again: at
    each merge the story changes, and decoding it was most of what reading a candidate cost.
    Entries are shared: never mutated."""

    def __init__(self, size: int) -> None:
        self.size, self.hits, self.misses = size, 0, 0
        self._kept: OrderedDict[str, Prepared] = OrderedDict()

    def __call__(self, features: str) -> Prepared:
        got = self._kept.get(features)
        if got is not None:
            self.hits += 1
            self._kept.move_to_end(features)
            return got
        self.misses += 1
        sf = StoryFacts.from_json(features)
        sides = tuple(Side.of(f) for f in sf.core)
        return self._keep(features, (sf, sides, dots.Columns([f.vector for f in sf.core]), Reach.of(sides), None))

    def write(self, sf: StoryFacts, before: Prepared | None) -> str:
        """sf as JSON (the story's new features), remembered as it reads back. `before`: the
        prepared fingerprint sf was absorbed from (None for a new story). The core reports' JSON
        from the last write is reused (a story's core changes only in its first few merges, and
        encoding it again was most of what a merge cost); only a report that joined it is encoded."""
        old = before[0].core if before is not None else ()
        kept = () if before is None else before[4] if before[4] is not None else tuple(core_json(f) for f in old)
        if before is not None and sf.core is old:  # the core did not change: nor did its sides
            features = sf.to_json(kept)
            self._keep(features, (sf, *before[1:4], kept))
            return features
        added = [core_json(f) for f in sf.core[len(old):]]
        parts = (*kept, *added)
        features = sf.to_json(parts)
        kept_sides = before[1] if before is not None else ()
        core = (*old, *(read_back(f, part) for f, part in zip(sf.core[len(old):], added, strict=True)))
        sides = (*kept_sides, *(Side.of(f) for f in core[len(old):]))
        self._keep(features, (replace(sf, core=core), sides, dots.Columns([f.vector for f in core]), Reach.of(sides),
                              parts))
        return features

    def _keep(self, features: str, entry: Prepared) -> Prepared:
        self._kept[features] = entry
        self._kept.move_to_end(features)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
        return entry


_fingerprint = _Fingerprints(FINGERPRINT_CACHE)


_per_model: dict[int, tuple[object, PairLogit]] = {}
_per_watch: dict[int, tuple[object, EntityWeights]] = {}


def _kept(cache: dict[int, tuple[object, T]], owner: object, make: Callable[[], T]) -> T:
    """What `make` builds for `owner`, built once per owner object: a watch and its fitted model
    live as long as their settings, and rebuilding a PairLogit and the entity weights (with what
    they remember) took every relevant item ~20 µs. The owner is kept with it, so its id cannot be
    another object's while the entry lasts."""
    got = cache.get(id(owner))
    if got is None or got[0] is not owner:
        if len(cache) >= 16:  # settings reloaded many times over: start afresh
            cache.clear()
        got = cache[id(owner)] = (owner, make())
    return got[1]


def assign(watch: Watch, item: Item, match: Match, candidates: Sequence[Story], now: datetime,
           facts: Facts | None = None, lenient: bool = True) -> Assignment:
    """Pick the story this report belongs to, or none (then the caller starts a new one).
    A report of unknown time joins at the threshold fitted for that case when `lenient`, else
    at the strict one of dated reports."""
    facts = facts or facts_of(watch, item)
    model, join = pair_model(watch, facts.published is not None or not lenient, facts.vector is not None)
    me, weight = Side.of(facts), _kept(_per_watch, watch, lambda: EntityWeights(watch))
    arr, logit = dots.as_array(facts.vector), _kept(_per_model, model, lambda: PairLogit(model))
    mine_ok = signs_ok(me)
    ready = []
    for c in candidates:
        if c.watch != watch.name:
            continue
        sf, cores, columns, reach, _ = _fingerprint(c.features)
        core_dots = columns.dots(facts.vector, arr)
        top = upper_p(watch, me, cores, reach, core_dots, logit, weight) if mine_ok else math.inf
        ready.append((top, c, sf, cores, core_dots, reach))
    ready.sort(key=lambda r: -r[0])  # the likeliest first: a high score found early skips the rest
    scored, found = [], -1.0
    for top, c, sf, cores, core_dots, reach in ready:
        if top < found - MARGIN:
            break  # this story and every one after it score below the best found: never chosen
        # reach.entities: what the core reports name together (the same set core_entities gives)
        p, closest = _story_p(watch, me, cores, core_dots, logit, weight, facts.published is not None, reach.entities)
        scored.append((p, c.last_published, c.id, c, sf, closest))
        found = max(found, p)
    if not scored:
        return Assignment(None, 0.0, ("new story: no open story to compare with",), ())
    p, _, _, best, sf, closest = max(scored, key=lambda s: (s[0], s[1], s[2]))
    why = _why(facts, closest, model)
    if p < join:
        why_new = f"new story: closest is {best.id} at p {versus(p, join)} ({why})"
        return Assignment(None, round(p, 3), (why_new,), ())
    fresh = _new_facts(watch, facts, sf)
    adds = "adds " + "; ".join(fresh) if fresh else "repeats what the story already has"
    return Assignment(best.id, round(p, 3), (f"joins {best.id}: p {versus(p, join)} ({why})", adds), fresh)


def _new_facts(watch: Watch, facts: Facts, sf: StoryFacts) -> tuple[str, ...]:
    out = [f"new figure: {n:,}" for n in sorted(facts.numbers - sf.seen_numbers)]
    for e in sorted(set(facts.entities) - sf.seen_entities):
        ent = watch.entity(e)
        if ent is not None and ent.kind in FACT_KINDS and ent.weight >= watch.stories.key_min_weight:
            out.append(f"new {FACT_KINDS[ent.kind]}: {ent.label}")
    return tuple(out)


def _source(item: Item, new_facts: tuple[str, ...] = ()) -> StorySource:
    return StorySource(item_key=item.key, outlet=item.source, url=item.url, lang=item.lang,
                       published=item.published, title=_headline(item), tier=item.tier, new_facts=new_facts)


def _headline(item: Item) -> str:
    return display_title(item.title, item.summary)


def new_story(watch: Watch, item: Item, match: Match, facts: Facts | None = None) -> Story:
    facts = facts or facts_of(watch, item)
    digest = hashlib.sha1(f"{watch.name}\n{item.key}".encode()).hexdigest()[:8]
    sf = StoryFacts.empty().absorb(facts)
    features = _fingerprint.write(sf, None)
    return Story(id=f"s-{digest}", watch=watch.name, title=_headline(item), summary=item.summary,
                 first_published=item.published, last_published=item.published, sources=(_source(item),),
                 score=match.score, features=features, keys=_keys(watch, facts)[:MAX_KEYS])


def may_claim(story: Story) -> bool:
    """Can the story claim one more doubted report: only while it holds fewer claimed reports
    than reports the filter found relevant. A claim rides on the story's own evidence; without
    this bound one false alert would gather every look-alike of its kind (see README)."""
    claimed = _fingerprint(story.features)[0].claimed  # cached: assign has just read it
    return claimed < len(story.sources) - claimed


def add_source(story: Story, watch: Watch, item: Item, match: Match, a: Assignment,
               facts: Facts | None = None, claimed: bool = False) -> Story:
    """The story with this report added (idempotent: a report already in it changes nothing).
    Only core reports add lookup keys, so a story's reach stays bounded too. A report the story
    claimed (the filter alone doubted it) is listed but never matched against: claims are
    judged against reports the filter found relevant, so look-alikes cannot chain into a story."""
    if any(s.item_key == item.key for s in story.sources):
        return story
    facts = facts or facts_of(watch, item)
    prepared = _fingerprint(story.features)
    before = prepared[0]
    sf = before.absorb(facts, core_ok=not claimed)
    features = _fingerprint.write(sf, prepared)
    sources = tuple(sorted((*story.sources, _source(item, a.new_facts)),
                           key=lambda s: s.published.astimezone(UTC)))
    grew = len(sf.core) > len(before.core)
    keys = tuple(dict.fromkeys((*story.keys, *_keys(watch, facts))))[:MAX_KEYS] if grew else story.keys
    return replace(story, sources=sources, first_published=min(story.first_published, item.published),
                   last_published=max(story.last_published, item.published), score=max(story.score, match.score),
                   features=features, keys=keys, summary=story.summary or item.summary)
