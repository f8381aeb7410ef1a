"""The shape of a watch file, and `load_watch`: validated TOML in, a compiled `Watch` out.

Tables of terms (roles, exclusions, entities, background cues) take one key per language
(`en = [...]`, `ko = [...]`, `any = [...]`); those keys are gathered under a hidden field before
validation so every other key is still checked against the declared ones. References inside the
watch (a `require` naming a role, duplicate entity ids) are checked on the raw data, so they are
reported together with type errors. The fitted model file's content is checked by its own format
(`bot.core.relevance.model.from_json`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from bot.config.errors import HIDDEN, LANG_HINT, key_path, plain_errors, problem
from bot.config.fields import LANG_KEY, Day, Flag, Kind, NonEmpty, Number, Text, array_of
from bot.core.relevance.model import RelevanceModel, feature_names, from_json
from bot.core.relevance.terms import Term, fold, parse_term
from bot.core.watch import Entity, Exclusion, Proximity, Role, StoryRules, Watch, with_lexicon

ISO_639_2 = {"ind": "id"}  # `id` is taken by gazetteer entries' own key, so Indonesian is `ind`
# A term is parsed once, when it is checked; building the watch reuses its words (~0.1 s a start).
_parsed = functools.lru_cache(maxsize=1 << 15)(parse_term)
_S = StoryRules()


def _term(value: object) -> str:
    if not isinstance(value, str) or _parsed(value) is None:
        raise problem("must be a non-empty term (words, * for a stem)")
    return value


def _lang_key(value: str) -> str:
    if not LANG_KEY.match(value):
        raise problem(f"unknown key (allowed: none{LANG_HINT})")
    return value


def _model_file(value: object) -> object:
    if not isinstance(value, str):
        raise problem("must name a model file written by `deskwatch train`")
    return value


def _pair(value: object) -> object:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(r, str) for r in value)):
        raise problem("must name two known roles")
    return value


def _require(value: object) -> object:
    if not isinstance(value, list) or not all(isinstance(s, list) for s in value):
        raise problem('must be an array of role-name arrays, e.g. [["actor", "theatre"]]')
    return value


TermList = Annotated[list[Annotated[str, BeforeValidator(_term)]], array_of("an array of terms"),
                     Kind("array of terms")]
LangKey = Annotated[str, BeforeValidator(_lang_key)]
Words = Annotated[list[str], array_of("an array of strings"), Kind("array of strings")]
ByLanguage = Annotated[dict[LangKey, TermList], Kind("table: language → array of terms")]
PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class Table(BaseModel):
    # The string under each field is its meaning in the README's reference (reference.py reads it).
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Termed(Table):
    """A table that also takes language keys (en, ko, any …), each an array of terms."""

    LANGUAGE_KEYS: ClassVar[bool] = True
    terms: dict[str, TermList] = Field(default_factory=dict, alias="<terms>")  # errors.HIDDEN

    @model_validator(mode="before")
    @classmethod
    def _gather(cls, data: object) -> object:
        if not isinstance(data, Mapping):
            return data
        declared = set(cls.model_fields) - {"terms"}
        langs = {k: v for k, v in data.items() if k not in declared and isinstance(k, str) and LANG_KEY.match(k)}
        return {**{k: v for k, v in data.items() if k not in langs}, HIDDEN: langs}


class RoleTable(Termed):
    """A role of terms (`[roles.NAME]`): a mention of any of them counts for the role."""

    weight: Number = 1.0
    """How much a hit counts"""
    description: Text = ""
    """For people reading the file"""
    essential: Flag = False
    """Absent in a language the watch reads: the terms decide, not the embedding"""

    @model_validator(mode="after")
    def _some(self) -> RoleTable:
        if not self.terms:
            raise problem('needs at least one term (e.g. en = ["..."])')
        return self


class ExclusionTable(Termed):
    """Terms that count against an item (`[[exclusions]]`)."""

    name: NonEmpty
    """Shown by `why` when it applies"""
    penalty: Number = 2.0
    """Subtracted from the score"""
    description: Text = ""
    """For people reading the file"""


class EntityTable(Termed):
    """A gazetteer entry (`[[entities]]`): one person, place, organisation … in every spelling."""

    id: NonEmpty
    """Unique id"""
    label: Text | None = None
    """Display name (default: id)"""
    kind: Text = "concept"
    """person, place, organisation, weapon, concept …"""
    weight: Number = 1.0
    """How much sharing it says about two reports being one story"""


class ProximityTable(Table):
    """A bonus when two roles are hit close together (`[[proximity]]`)."""

    roles: Annotated[list[str], BeforeValidator(_pair), Kind("two role names")]
    """The two roles"""
    window: Annotated[int, Field(gt=0)] = 6
    """At most this many words apart, in one sentence"""
    bonus: Number = 0.5
    """Added to the score"""


class FieldsTable(Table):
    """Weights of where a hit is (`[fields]`)."""

    title: Number = 1.0
    """A hit in the headline"""
    lead: Number = 1.0
    """A hit in the lead sentences"""
    tail: Number = 0.4
    """A hit further down"""


class MatchingTable(Table):
    """How terms are matched (`[matching]`)."""

    lead_sentences: Annotated[int, Field(gt=0)] = 1
    """Sentences that count as the lead"""
    require_strength: Number = 0.6
    """Weakest hit that satisfies `require`"""
    fuzzy_ratio: PositiveNumber = 88.0
    """Similarity (0-100) at which a misspelling still matches"""


class BackgroundTable(Table):
    """Cues that a mention is background, not news (`[background]`), per language."""

    after: ByLanguage = {}
    """Terms after which a hit is background"""
    before: ByLanguage = {}
    """Terms before which a hit is background"""


class StoriesTable(Table):
    """Weights of the signals that decide whether a report joins a story (`[stories]`)."""

    join_threshold: Number = _S.join_threshold
    """Score at which a report joins a story"""
    entity_weight: Number = _S.entity_weight
    """× the weights of the entities both name"""
    entity_cap: Number = _S.entity_cap
    """At most this from shared entities"""
    mismatch_weight: Number = _S.mismatch_weight
    """− per entity of the report's headline or lead that the story lacks"""
    mismatch_cap: Number = _S.mismatch_cap
    """At most this from mismatches"""
    name_weight: Number = _S.name_weight
    """+ per shared capitalised name the gazetteer does not know"""
    number_weight: Number = _S.number_weight
    """+ per shared figure"""
    number_conflict: Number = _S.number_conflict
    """− per conflicting figure"""
    round_figure_share: Number = _S.round_figure_share
    """Share of a precise figure's weight that a shared round figure (3,000) counts"""
    date_weight: Number = _S.date_weight
    """+ per shared date"""
    term_weight: Number = _S.term_weight
    """× the share of distinctive terms in common"""
    fuzz_weight: Number = _S.fuzz_weight
    """× headline similarity above `fuzz_floor`"""
    fuzz_floor: Number = _S.fuzz_floor
    """Headline similarity (0-100) below which it says nothing"""
    same_days: Number = _S.same_days
    """Reports this many days apart are one news cycle"""
    near_bonus: Number = _S.near_bonus
    """+ within one news cycle"""
    gap_penalty: Number = _S.gap_penalty
    """− per day beyond `same_days`"""
    undated_lookback_days: Number = _S.undated_lookback_days
    """How far back an undated report looks for its story"""
    key_min_weight: Number = _S.key_min_weight
    """Entities lighter than this are too common to look stories up by"""
    max_term_keys: Annotated[int, Field(gt=0)] = _S.max_term_keys
    """Distinctive terms a story is indexed by"""


class WatchFile(Table):
    """A watch file: what one desk follows, and how reports are grouped into stories."""

    title: Text | None = None
    """Shown in alerts and digests (default: the watch's name)"""
    description: Text = ""
    """For people reading the file"""
    threshold: Number = 1.0
    """Score at which an item is relevant (when no fitted model decides)"""
    story_window_hours: PositiveNumber = 72.0
    """How long a story takes new reports"""
    rescue_from: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.2
    """Filter probability from which an item a story of the window claims is relevant with it (above 1: never)"""
    since: Day | None = None
    """The day the watch's subject began: an item dated before it is not relevant (unset: no start)"""
    include: Annotated[list[str], Kind("array of paths")] = []
    """Further TOML files merged in (e.g. the gazetteer), relative to this file"""
    model: Annotated[str | None, BeforeValidator(_model_file), Kind("path")] = None
    """Fitted model file written by `deskwatch train`, relative to this file"""
    fields: FieldsTable = FieldsTable()
    """Weights of where a hit is"""
    matching: MatchingTable = MatchingTable()
    """How terms are matched"""
    background: BackgroundTable = BackgroundTable()
    """Background cues, per language"""
    roles: dict[str, RoleTable] = {}
    """Roles of terms, `[roles.NAME]` (at least one)"""
    require: Annotated[list[list[str]], BeforeValidator(_require), Kind("array of role-name arrays")] = []
    """Role combinations an item must hit (any one of them)"""
    proximity: list[ProximityTable] = []
    """Bonuses for roles hit close together"""
    exclusions: list[ExclusionTable] = []
    """Terms that count against an item"""
    entities: list[EntityTable] = []
    """The gazetteer"""
    stopwords: Annotated[dict[LangKey, Words], Kind("table: language → array of strings")] = {}
    """Words ignored when comparing reports, per language"""
    stories: StoriesTable = StoriesTable()
    """Story-merging weights"""


def load_watch(name: str, data: Mapping[str, Any], where: str, model: Mapping[str, Any] | None = None,
               ) -> tuple[Watch | None, list[str]]:
    """Validate one watch table (includes already merged) into a Watch, or every error found.
    `model` is the content of the fitted model file the table names, if it was read."""
    errors = _references(data, where)
    try:
        w = WatchFile.model_validate(dict(data))
    except ValidationError as exc:
        return None, plain_errors(exc, WatchFile, where) + errors
    if not w.roles:
        errors.append(f"{where}.roles: at least one role of terms is required")
    fitted = None
    if model is not None:
        from bot.core.stories.compare import PAIR_FEATURES  # late: compare.py imports core.watch

        fitted, problems = from_json(model, feature_names(list(w.roles)), f"{where}.model", PAIR_FEATURES)
        errors += problems
    if errors:
        return None, errors
    return with_lexicon(_watch(name, w, fitted)), []


def _references(data: Mapping[str, Any], where: str) -> list[str]:
    """Names that must refer to something in the same watch; read defensively (the data may be
    malformed: the type errors are pydantic's to report)."""
    errors: list[str] = []
    roles = set(data["roles"]) if isinstance(data.get("roles"), Mapping) else set()
    known = ", ".join(sorted(roles))
    require = data.get("require")
    for i, combo in enumerate(require if isinstance(require, list) else []):
        for r in combo if isinstance(combo, list) else []:
            if r not in roles:
                errors.append(f"{where}.require[{i}]: unknown role {r!r} (roles: {known})")
    prox = data.get("proximity")
    for i, t in enumerate(prox if isinstance(prox, list) else []):
        pair = t.get("roles") if isinstance(t, Mapping) else None
        if isinstance(pair, list) and len(pair) == 2 and any(r not in roles for r in pair):
            errors.append(f"{where}.proximity[{i}].roles: must name two known roles (roles: {known})")
    seen: set[str] = set()
    ents = data.get("entities")
    for i, t in enumerate(ents if isinstance(ents, list) else []):
        eid = t.get("id") if isinstance(t, Mapping) else None
        if isinstance(eid, str) and eid:
            if eid in seen:
                errors.append(f"{key_path(where, ('entities', i, 'id'))}: duplicate entity id {eid!r}")
            seen.add(eid)
    return errors


def _terms(by_lang: Mapping[str, list[str]]) -> tuple[Term, ...]:
    out: list[Term] = []
    for lang, raws in by_lang.items():
        code = ISO_639_2.get(lang, lang)
        out += [Term(raw, t.words, code) for raw in raws if (t := _parsed(raw)) is not None]
    return tuple(out)


def _watch(name: str, w: WatchFile, model: RelevanceModel | None) -> Watch:
    roles = tuple(Role(n, r.weight, _terms(r.terms), r.essential) for n, r in w.roles.items())
    return Watch(
        name=name, title=w.title if w.title is not None else name, threshold=w.threshold,
        story_window_hours=w.story_window_hours, rescue_from=w.rescue_from, since=w.since,
        description=w.description,
        title_weight=w.fields.title, lead_weight=w.fields.lead, tail_weight=w.fields.tail,
        lead_sentences=w.matching.lead_sentences, require_strength=w.matching.require_strength,
        fuzzy_ratio=w.matching.fuzzy_ratio, roles=roles, require=tuple(tuple(c) for c in w.require),
        proximity=tuple(Proximity((p.roles[0], p.roles[1]), p.window, p.bonus) for p in w.proximity),
        exclusions=tuple(Exclusion(x.name, x.penalty, _terms(x.terms)) for x in w.exclusions),
        background_after=_terms(w.background.after), background_before=_terms(w.background.before),
        entities=tuple(Entity(e.id, e.label if e.label is not None else e.id, e.kind, e.weight, _terms(e.terms))
                       for e in w.entities),
        stopwords=frozenset(fold(x).strip() for words in w.stopwords.values() for x in words),
        stories=StoryRules(**w.stories.model_dump()),
        model=model,
        languages=frozenset(t.lang for r in roles for t in r.terms if t.lang != "any"),
    )
