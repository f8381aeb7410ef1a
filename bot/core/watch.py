"""A watch: what a desk follows, loaded from analyst-editable TOML data into frozen values.

The file holds every rule (roles of terms per language with weights, where a hit counts, required
role combinations, background cues, exclusions, the entity gazetteer, story-merging weights); the
code only provides the mechanisms. bot/config/watch.py validates a file into these values.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

from bot.core.relevance.model import RelevanceModel
from bot.core.relevance.terms import Lexicon, Term, build_lexicon


@dataclass(frozen=True)
class Role:
    name: str
    weight: float
    terms: tuple[Term, ...]
    essential: bool = False  # absent in a language the watch reads: the terms decide, not the embedding


@dataclass(frozen=True)
class Exclusion:
    name: str
    penalty: float
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Proximity:
    roles: tuple[str, str]
    window: int  # tokens between the two hits, same sentence
    bonus: float


@dataclass(frozen=True)
class Entity:
    """One gazetteer entry: a person, place, organisation, weapon or concept, in every spelling."""

    id: str
    label: str
    kind: str
    weight: float  # how much sharing it says about two reports being one story (generic: low)
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class StoryRules:
    """Weights of the signals that decide whether a report joins a story (see core/stories/cluster.py)."""

    join_threshold: float = 2.0
    entity_weight: float = 1.0
    entity_cap: float = 3.0
    mismatch_weight: float = 0.3  # per specific entity of the report's headline/lead the story lacks
    mismatch_cap: float = 1.0
    name_weight: float = 0.6  # per shared capitalised name the gazetteer does not know
    number_weight: float = 1.2
    number_conflict: float = 0.6
    round_figure_share: float = 0.6  # a shared round figure (3,000) counts this share of a precise one
    date_weight: float = 0.8
    term_weight: float = 2.0
    fuzz_weight: float = 1.5
    fuzz_floor: float = 45.0  # token_sort_ratio below this says nothing
    same_days: float = 1.5  # reports this close (days) are the same news cycle
    near_bonus: float = 0.5
    gap_penalty: float = 1.5  # per day beyond same_days
    undated_lookback_days: float = 3650.0
    key_min_weight: float = 0.5  # entities below this weight are too common to index by
    max_term_keys: int = 8


@dataclass(frozen=True)
class Watch:
    name: str
    title: str
    threshold: float = 1.0
    story_window_hours: float = 72.0
    # An item the filter doubts (p at least this, below its threshold) is relevant when the story
    # model places it in a story of the watch's window: one more report of a development the
    # desk follows (pipeline.process_one). Above 1: never.
    rescue_from: float = 0.2
    # The day the watch's subject began: a report dated before it is history, not a development
    # (a 2016 defection across the DMZ is not news of troops in Russia's war). None: no start.
    since: date | None = None
    description: str = ""
    title_weight: float = 1.0
    lead_weight: float = 1.0
    tail_weight: float = 0.4
    lead_sentences: int = 1
    require_strength: float = 0.6
    fuzzy_ratio: float = 88.0
    roles: tuple[Role, ...] = ()
    require: tuple[tuple[str, ...], ...] = ()
    proximity: tuple[Proximity, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    background_after: tuple[Term, ...] = ()
    background_before: tuple[Term, ...] = ()
    entities: tuple[Entity, ...] = ()
    stopwords: frozenset[str] = frozenset()
    stories: StoryRules = field(default_factory=StoryRules)
    model: RelevanceModel | None = None  # fitted weights (the watch's .model.json); None: a prior
    languages: frozenset[str] = frozenset()  # languages the role terms are written for
    model_path: str = ""  # where `deskwatch train` writes the fitted model (set by config loading)
    lexicon: Lexicon = field(default_factory=Lexicon, compare=False, hash=False, repr=False)
    by_entity: dict[str, Entity] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def role(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)

    def entity(self, id_: str) -> Entity | None:
        # A dict, not a scan: story merging asks ~500 times per report (measured ~10% of its time).
        return self.by_entity.get(id_) if self.by_entity else next((e for e in self.entities if e.id == id_), None)


def with_lexicon(w: Watch) -> Watch:
    """The watch with its term index (and entity lookup) built: what matching and merging use."""
    entries: list[tuple[str, Term]] = []
    entries += [(f"role:{r.name}", t) for r in w.roles for t in r.terms]
    entries += [(f"excl:{x.name}", t) for x in w.exclusions for t in x.terms]
    entries += [("bg:after", t) for t in w.background_after]
    entries += [("bg:before", t) for t in w.background_before]
    entries += [(f"ent:{e.id}", t) for e in w.entities for t in e.terms]
    return Watch(**{f.name: getattr(w, f.name) for f in fields(w) if f.name not in ("lexicon", "by_entity")},
                 lexicon=build_lexicon(entries, w.fuzzy_ratio), by_entity={e.id: e for e in w.entities})
