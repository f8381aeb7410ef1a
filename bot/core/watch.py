"""A watch: what a desk follows, loaded from analyst-editable TOML data into frozen values.

The file holds every rule (roles of terms per language with weights, where a hit counts, required
role combinations, background cues, exclusions, the entity gazetteer, story-merging weights); the
code only provides the mechanisms. `load_watch` validates it all and reports every error by path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from bot.core.relevance.model import RelevanceModel, feature_names, from_json
from bot.core.relevance.terms import Lexicon, Term, build_lexicon, fold
from bot.core.watch_check import Checker


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
    """Weights of the signals that decide whether a report joins a story (see core/cluster.py)."""

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


TOP_KEYS = {"title", "description", "threshold", "story_window_hours", "fields", "matching",
            "background", "roles", "require", "proximity", "exclusions", "entities", "stopwords",
            "stories", "include", "model"}


def load_watch(name: str, data: Mapping[str, Any], where: str) -> tuple[Watch | None, list[str]]:
    """Validate one watch table (includes already merged) into a Watch, or every error found."""
    c = Checker()
    c.keys(data, TOP_KEYS, where)
    title = c.get(data, "title", str, where, name)
    threshold = c.number(data, "threshold", where, 1.0)
    window = c.number(data, "story_window_hours", where, 72.0, positive=True)
    flds = c.table(data, "fields", where)
    c.keys(flds, {"title", "lead", "tail"}, f"{where}.fields")
    matching = c.table(data, "matching", where)
    c.keys(matching, {"lead_sentences", "require_strength", "fuzzy_ratio"}, f"{where}.matching")
    roles = _roles(c, data, where)
    role_names = {r.name for r in roles}
    require = _require(c, data, where, role_names)
    bg = c.table(data, "background", where)
    c.keys(bg, {"after", "before"}, f"{where}.background")
    watch = Watch(
        name=name, title=title, threshold=threshold, story_window_hours=window,
        description=c.get(data, "description", str, where, ""),
        title_weight=c.number(flds, "title", f"{where}.fields", 1.0),
        lead_weight=c.number(flds, "lead", f"{where}.fields", 1.0),
        tail_weight=c.number(flds, "tail", f"{where}.fields", 0.4),
        lead_sentences=int(c.number(matching, "lead_sentences", f"{where}.matching", 1, positive=True)),
        require_strength=c.number(matching, "require_strength", f"{where}.matching", 0.6),
        fuzzy_ratio=c.number(matching, "fuzzy_ratio", f"{where}.matching", 88.0, positive=True),
        roles=roles, require=require,
        proximity=_proximity(c, data, where, role_names),
        exclusions=_exclusions(c, data, where),
        background_after=c.lang_terms(c.table(bg, "after", f"{where}.background"), f"{where}.background.after"),
        background_before=c.lang_terms(c.table(bg, "before", f"{where}.background"),
                                       f"{where}.background.before"),
        entities=_entities(c, data, where),
        stopwords=_stopwords(c, data, where),
        stories=_stories(c, data, where),
        model=_model(c, data, where, [r.name for r in roles]),
        languages=frozenset(t.lang for r in roles for t in r.terms if t.lang != "any"),
    )
    if c.errors:
        return None, c.errors
    return _with_lexicon(watch), []


def _with_lexicon(w: Watch) -> Watch:
    entries: list[tuple[str, Term]] = []
    entries += [(f"role:{r.name}", t) for r in w.roles for t in r.terms]
    entries += [(f"excl:{x.name}", t) for x in w.exclusions for t in x.terms]
    entries += [("bg:after", t) for t in w.background_after]
    entries += [("bg:before", t) for t in w.background_before]
    entries += [(f"ent:{e.id}", t) for e in w.entities for t in e.terms]
    return Watch(**{f.name: getattr(w, f.name) for f in fields(w) if f.name not in ("lexicon", "by_entity")},
                 lexicon=build_lexicon(entries, w.fuzzy_ratio), by_entity={e.id: e for e in w.entities})


def _roles(c: Checker, data: Mapping[str, Any], where: str) -> tuple[Role, ...]:
    out: list[Role] = []
    for rname, t in c.table(data, "roles", where).items():
        w = f"{where}.roles.{rname}"
        if not isinstance(t, Mapping):
            c.err(w, "must be a table of weight and terms per language")
            continue
        c.keys(t, {"weight", "description", "essential"}, w, langs=True)
        terms = c.lang_terms(t, w)
        if not terms:
            c.err(w, "needs at least one term (e.g. en = [\"...\"])")
        out.append(Role(rname, c.number(t, "weight", w, 1.0), terms, c.get(t, "essential", bool, w, False)))
    if not out:
        c.err(f"{where}.roles", "at least one role of terms is required")
    return tuple(out)


def _require(c: Checker, data: Mapping[str, Any], where: str, roles: set[str]) -> tuple[tuple[str, ...], ...]:
    raw = data.get("require", [])
    if not isinstance(raw, list) or not all(isinstance(s, list) for s in raw):
        c.err(f"{where}.require", "must be an array of role-name arrays, e.g. [[\"actor\", \"theatre\"]]")
        return ()
    for i, combo in enumerate(raw):
        for r in combo:
            if r not in roles:
                c.err(f"{where}.require[{i}]", f"unknown role {r!r} (roles: {', '.join(sorted(roles))})")
    return tuple(tuple(str(r) for r in combo) for combo in raw)


def _proximity(c: Checker, data: Mapping[str, Any], where: str, roles: set[str]) -> tuple[Proximity, ...]:
    out: list[Proximity] = []
    for i, t in enumerate(c.tables(data, "proximity", where)):
        w = f"{where}.proximity[{i}]"
        c.keys(t, {"roles", "window", "bonus"}, w)
        pair = t.get("roles")
        if not (isinstance(pair, list) and len(pair) == 2 and all(r in roles for r in pair)):
            c.err(f"{w}.roles", "must name two known roles")
            continue
        out.append(Proximity((str(pair[0]), str(pair[1])), int(c.number(t, "window", w, 6, positive=True)),
                             c.number(t, "bonus", w, 0.5)))
    return tuple(out)


def _exclusions(c: Checker, data: Mapping[str, Any], where: str) -> tuple[Exclusion, ...]:
    out: list[Exclusion] = []
    for i, t in enumerate(c.tables(data, "exclusions", where)):
        w = f"{where}.exclusions[{i}]"
        c.keys(t, {"name", "penalty", "description"}, w, langs=True)
        xname = c.get(t, "name", str, w, "")
        if not xname:
            c.err(f"{w}.name", "is required")
        out.append(Exclusion(xname, c.number(t, "penalty", w, 2.0), c.lang_terms(t, w)))
    return tuple(out)


def _entities(c: Checker, data: Mapping[str, Any], where: str) -> tuple[Entity, ...]:
    out: list[Entity] = []
    seen: set[str] = set()
    for i, t in enumerate(c.tables(data, "entities", where)):
        w = f"{where}.entities[{i}]"
        c.keys(t, {"id", "label", "kind", "weight"}, w, langs=True)
        eid = c.get(t, "id", str, w, "")
        if not eid:
            c.err(f"{w}.id", "is required")
        elif eid in seen:
            c.err(f"{w}.id", f"duplicate entity id {eid!r}")
        seen.add(eid)
        out.append(Entity(eid, c.get(t, "label", str, w, eid), c.get(t, "kind", str, w, "concept"),
                          c.number(t, "weight", w, 1.0), c.lang_terms(t, w, frozenset({"id"}))))
    return tuple(out)


def _model(c: Checker, data: Mapping[str, Any], where: str, roles: list[str]) -> RelevanceModel | None:
    """The fitted model's content (config loading reads the file the watch's `model` names)."""
    raw = data.get("model")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        c.err(f"{where}.model", "must name a model file written by `deskwatch train`")
        return None
    from bot.core.stories.compare import PAIR_FEATURES  # late: compare.py imports this module

    model, errors = from_json(raw, feature_names(roles), f"{where}.model", PAIR_FEATURES)
    c.errors.extend(errors)
    return model


def _stopwords(c: Checker, data: Mapping[str, Any], where: str) -> frozenset[str]:
    t = c.table(data, "stopwords", where)
    c.keys(t, set(), f"{where}.stopwords", langs=True)
    words: set[str] = set()
    for lang, lst in t.items():
        if not isinstance(lst, list) or not all(isinstance(x, str) for x in lst):
            c.err(f"{where}.stopwords.{lang}", "must be an array of strings")
            continue
        words.update(fold(x).strip() for x in lst)
    return frozenset(words)


def _stories(c: Checker, data: Mapping[str, Any], where: str) -> StoryRules:
    t = c.table(data, "stories", where)
    w = f"{where}.stories"
    defaults = StoryRules()
    names = {f.name for f in fields(StoryRules)}
    c.keys(t, names, w)
    values: dict[str, Any] = {}
    for n in names:
        default = getattr(defaults, n)
        v = c.number(t, n, w, default)
        values[n] = int(v) if isinstance(default, int) else v
    return StoryRules(**values)
