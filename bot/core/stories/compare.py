"""Two reports side by side: the named signals that say whether they tell one development.

Every signal is a number a fitted model weighs (`pair_features`) and a phrase `why` shows
(`pair_evidence`). Entities, figures and dates compare across languages; words and headline
similarity only within one; the embedding compares any two languages, with its own scale
across languages (cosines between languages run lower for the same meaning).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from rapidfuzz import fuzz

from bot.core.relevance.model import Logistic
from bot.core.relevance.terms import script
from bot.core.stories import dots
from bot.core.stories.facts import Facts
from bot.core.watch import Entity, Watch

ENTITY_CAP = 3.0
MAX_DAYS = 10.0  # beyond this, further days say nothing more
SAME_LANG_COS = 0.87  # typical cosine of two reports of one topic, different developments (same language)
CROSS_LANG_COS = 0.81  # the same across languages
CONTENT = ("entities", "figures", "words", "headline", "cosine", "cosine_cross")
# A date a report names (its event's day) against the other report's publication day, when one of
# the two has no date of its own: reported on that day or up to 3 days later fits (−1: the event's
# local day may be the publication's UTC day before); named dates all further than MAX_DAYS off
# say "another step".
NAMED_DATE_FITS = (-1, 3)
PAIR_FEATURES = ("entities", "entity_mismatch", "names", "figures", "figure_conflict", "dates", "words",
                 "headline", "days_apart", "time_unknown", "year_conflict", "cosine", "cosine_cross",
                 "no_vector", *(f"unknown_time×{f}" for f in CONTENT), "named_date_fits", "named_date_far")


def _weight(watch: Watch, entity_id: str) -> float:
    ent = watch.entity(entity_id)
    return ent.weight if ent is not None else 0.0


def _figures(watch: Watch, shared: frozenset[int]) -> float:
    """Round figures (3,000; 100) are said of many things; 13,000 or 101 point at one report."""
    share = watch.stories.round_figure_share
    each = sorted((1.0 if len(str(n).rstrip("0")) > 1 else share for n in shared), reverse=True)
    return sum(each[:2])


def cosine(a: tuple[float, ...] | None, b: tuple[float, ...] | None) -> float | None:
    if a is None or b is None or len(a) != len(b):
        return None
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else None


@dataclass(frozen=True)
class Side:
    """One report made ready to be compared with many others: what pair_features derives from it
    alone, computed once (a report is compared with every core report of ~24 candidate stories)."""

    facts: Facts
    entity_ids: set[str]
    strong: tuple[str, ...]  # entities seen in the title or lead, in the report's order
    stem_ids: set[str]
    stem_total: float
    years: set[int]
    norm: float | None  # of the embedding
    sorted_text: str | None  # text with its words sorted (token_sort_ratio's form), when plainly spaced
    named: tuple[tuple[int, int], ...] = ()  # the dates the text names, as (month, day)
    micros: int | None = None  # its time in whole microseconds since 1970 (None: no time, or no zone)

    @staticmethod
    def of(f: Facts) -> Side:
        # Built as pair_features always built them, so sums over shared keys add in the same order.
        norm = math.sqrt(dots.dot(f.vector, f.vector)) if f.vector is not None else None
        words = f.text.split()
        plain = " ".join(words) == f.text  # single spaces only: splitting it is unambiguous
        return Side(f, set(f.entities), tuple(e for e, w in f.entities.items() if w >= 1.0), set(f.stems),
                    sum(f.stems.values()), _years(f), norm, " ".join(sorted(words)) if plain else None,
                    tuple(sorted(_month_day(d) for d in f.dates)), micros(f.published))

    @cached_property
    def script(self) -> str:
        """The script most of its words are written in (terms.script's classes). Read only when
        an entity's absence is weighed (`readable`), so most comparisons never pay for it."""
        text = self.facts.text
        return "latin" if text.isascii() else _main_script(text.split())


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def micros(t: datetime | None) -> int | None:
    """The time as whole microseconds since 1970 (exact: what a difference of two datetimes
    counts), or None for no time or a time without a zone."""
    return (t - _EPOCH) // _US if t is not None and t.utcoffset() is not None else None


def _main_script(words: Sequence[str], sample: int = 30) -> str:
    """The script most of the first words are written in ("latin" for a text without letters)."""
    counts: dict[str, int] = {}
    for w in words[:sample]:
        if not w.isdigit():
            k = script(w)
            counts[k] = counts.get(k, 0) + 1
    return max(counts, key=lambda k: (counts[k], k == "latin")) if counts else "latin"


def readable(entity: Entity | None, lang: str, text_script: str) -> bool:
    """Could a report in `lang`, written in `text_script`, have named the entity at all: the
    gazetteer has a spelling that applies to it (its language's own, a Latin `any` one in a
    Latin-script text, or one in the text's own script). Without one, the entity's absence from
    the report is the gazetteer's gap, not a sign of another development."""
    if entity is None or lang in ("", "any"):
        return True
    for t in entity.terms:
        kind = script(t.words[0].text)
        if t.lang == lang or (kind == text_script and (kind != "latin" or t.lang == "any")):
            return True
    return False


class EntityWeights(dict[str, float]):
    """The watch's weight of an entity id (0 when unknown), looked up once per round of comparisons
    (a dict: a remembered weight costs an index, not a call); and whether a language and script
    can show the entity (`seen_in`), remembered alike."""

    def __init__(self, watch: Watch) -> None:
        super().__init__()
        self.watch = watch
        self._readable: dict[tuple[str, str, str], bool] = {}

    def __missing__(self, entity_id: str) -> float:
        w = self[entity_id] = _weight(self.watch, entity_id)
        return w

    def seen_in(self, entity_id: str, side: Side) -> bool:
        key = (entity_id, side.facts.lang, side.script)
        ok = self._readable.get(key)
        if ok is None:
            ok = self._readable[key] = readable(self.watch.entity(entity_id), side.facts.lang, side.script)
        return ok


def core_entities(cores: Iterable[Facts]) -> set[str]:
    """What a story's core reports name together. Reports of one development each name some of
    its specifics (the source in one, the weapon in another), so a new report's specific counts
    as "different" only where none of the core names it. Measured out of sample (README: bench-
    quality); only the core, so that a story with many sources does not come to match everything."""
    out: set[str] = set()
    for f in cores:
        out.update(f.entities)
    return out


def pair_features(watch: Watch, a: Facts, b: Facts, seen: Container[str] | None = None) -> dict[str, float]:
    return side_features(watch, Side.of(a), Side.of(b), EntityWeights(watch), seen=seen)


def side_features(watch: Watch, sa: Side, sb: Side, weight: EntityWeights,
                  dot: float | None = None, seen: Container[str] | None = None) -> dict[str, float]:
    """pair_features of two prepared reports, by name."""
    return dict(zip(FEATURE_ORDER, side_values(watch, sa, sb, weight, dot, seen), strict=True))


def side_values(watch: Watch, sa: Side, sb: Side, weight: EntityWeights,
                dot: float | None = None, seen: Container[str] | None = None) -> tuple[float, ...]:
    """The signals of two prepared reports in FEATURE_ORDER (scoring reads them by position; a
    dict is built only for the pair `why` explains). `dot`: of their embeddings, when computed
    already (dots.Columns does all of a story's core reports at once). `seen`, when `sb` is a core
    report of a story `sa` is compared with: the entities its core reports name together (see
    `core_entities`)."""
    # Sums over lists, not generators, and set tests that build no set: the same numbers added
    # in the same order (sets iterate alike), a few microseconds less per pair.
    a, b = sa.facts, sb.facts
    ea, eb = a.entities, b.entities
    key_min = watch.stories.key_min_weight
    shared = sa.entity_ids & sb.entity_ids
    ent = min(ENTITY_CAP, sum([min(ea[e], eb[e]) * weight[e] for e in shared])) if shared else 0
    # A specific entity of one report's headline or lead that the other lacks, where the other's
    # language could have named it (see `readable`). Against a story, a specific of the new report
    # that another of its core reports names is no sign of another development (`seen`).
    has = eb if seen is None else seen
    mismatch = min(2.0, sum([weight[e] for e in sa.strong
                             if e not in has and weight[e] >= key_min and weight.seen_in(e, sb)])
                   + sum([weight[e] for e in sb.strong
                          if e not in ea and weight[e] >= key_min and weight.seen_in(e, sa)]))
    nums = a.numbers & b.numbers
    same_lang = a.lang == b.lang
    words = 0.0
    if a.stems and b.stems:
        sta, stb = a.stems, b.stems
        common = sum([min(sta[s], stb[s]) for s in sa.stem_ids & sb.stem_ids])
        words = common / math.sqrt(sa.stem_total * sb.stem_total)
    headline = 0.0
    if same_lang and a.text and b.text:
        headline = max(0.0, _sorted_ratio(sa, sb) - 40.0) / 60.0
    if a.published is not None and b.published is not None:
        days, unknown = min(MAX_DAYS, abs((a.published - b.published).total_seconds()) / 86400), 0.0
    else:
        days, unknown = 0.0, 1.0
    cos = _cosine(sa, sb, dot) if a.vector is not None else None  # a report without one: no signal
    figures = _figures(watch, nums) if nums else 0  # what _figures says of none, at no cost
    same_cos = (cos - SAME_LANG_COS) * 10 if cos is not None and same_lang else 0.0
    cross_cos = (cos - CROSS_LANG_COS) * 10 if cos is not None and not same_lang else 0.0
    # When either report's time is unknown, content has to carry the decision alone: the same
    # signals (CONTENT) get their own weights there (a separate slope, not only a lower intercept).
    return (ent, mismatch, float(min(2, len(a.names & b.names))), figures,
            1.0 if a.numbers and b.numbers and not nums else 0.0, 0.0 if a.dates.isdisjoint(b.dates) else 1.0,
            words, headline, days, unknown, same_cos, cross_cos, 1.0 if cos is None else 0.0,
            # Both place themselves in time (a date, or years named) and no year agrees: different steps.
            1.0 if sa.years and sb.years and sa.years.isdisjoint(sb.years) else 0.0,
            ent * unknown, figures * unknown, words * unknown, headline * unknown, same_cos * unknown,
            cross_cos * unknown, *(named_dates(sa, sb) if unknown else _NO_NAMED_DATES))


# side_values' order (the order pair_features always listed them in: evidence ties keep it).
FEATURE_ORDER = ("entities", "entity_mismatch", "names", "figures", "figure_conflict", "dates", "words", "headline",
                 "days_apart", "time_unknown", "cosine", "cosine_cross", "no_vector", "year_conflict",
                 *(f"unknown_time×{f}" for f in CONTENT), "named_date_fits", "named_date_far")
_NO_NAMED_DATES = (0.0, 0.0)


def _month_day(mm_dd: str) -> tuple[int, int]:
    month, day = mm_dd.split("-")
    return int(month), int(day)


def _days_after(named: tuple[int, int], published: datetime) -> int | None:
    """Days from a named (month, day) to the publication day, in whichever year puts them closest
    (a report of 2 January may name 30 December); None for a day no year has (30 February)."""
    best: int | None = None
    for year in (published.year - 1, published.year, published.year + 1):
        try:
            days = (published.date() - date(year, *named)).days
        except ValueError:
            continue
        if best is None or abs(days) < abs(best):
            best = days
    return best


def named_dates(sa: Side, sb: Side) -> tuple[float, float]:
    """(named_date_fits, named_date_far) of a pair in which one report's time is unknown: a date
    either names fits the other's publication day, or every date it names lies far from it."""
    fits = far = 0.0
    for named, other in ((sa.named, sb.facts.published), (sb.named, sa.facts.published)):
        if not named or other is None:
            continue
        days = [d for md in named if (d := _days_after(md, other)) is not None]
        if any(NAMED_DATE_FITS[0] <= d <= NAMED_DATE_FITS[1] for d in days):
            fits = 1.0
        elif days and all(abs(d) > MAX_DAYS for d in days):
            far = 1.0
    return fits, far


class PairLogit:
    """model.logit of side_values, with the same products added in the same order (the model's),
    without building a dict per pair: weights of signals it lacks multiply 0.0, as x.get does."""

    def __init__(self, model: Logistic) -> None:
        self.bias = model.bias
        self.weights = tuple(model.weights.values())
        at = {f: i for i, f in enumerate(FEATURE_ORDER)}
        self.index = tuple(at.get(f, len(FEATURE_ORDER)) for f in model.weights)
        known = [(w, i) for w, i in zip(self.weights, self.index, strict=True) if i < len(FEATURE_ORDER)]
        self._up = tuple((w, i) for w, i in known if w >= 0)  # for upper(): where the highest value helps
        self._down = tuple((w, i) for w, i in known if w < 0)

    def __call__(self, values: tuple[float, ...]) -> float:
        padded = (*values, 0.0)
        return self.bias + sum(map(operator.mul, self.weights, [padded[i] for i in self.index]))

    def upper(self, lo: Sequence[float], hi: Sequence[float]) -> float:
        """The highest logit of any signals within [lo, hi] (each in FEATURE_ORDER)."""
        return self.bias + sum([w * hi[i] for w, i in self._up]) + sum([w * lo[i] for w, i in self._down])


def _sorted_ratio(sa: Side, sb: Side) -> float:
    """fuzz.token_sort_ratio of the two texts, from the words sorted once per report (it is the
    ratio of the sorted forms; texts with other spacing go through token_sort_ratio itself)."""
    if sa.sorted_text is not None and sb.sorted_text is not None:
        return fuzz.ratio(sa.sorted_text, sb.sorted_text)
    return fuzz.token_sort_ratio(sa.facts.text, sb.facts.text)


def _cosine(sa: Side, sb: Side, dot: float | None = None) -> float | None:
    """cosine() of the two embeddings, with each one's norm computed once."""
    a, b = sa.facts.vector, sb.facts.vector
    if a is None or b is None or len(a) != len(b):
        return None
    if dot is None:
        dot = dots.dot(a, b)
    na, nb = sa.norm, sb.norm
    return dot / (na * nb) if na and nb else None


def _years(f: Facts) -> set[int]:
    return set(f.years) | ({f.published.year} if f.published is not None else set())


def pair_evidence(a: Facts, b: Facts, contributions: Mapping[str, float]) -> str:
    """The signals that moved the decision, in words (largest first)."""
    parts = sorted(((f, c) for f, c in contributions.items() if abs(c) >= 0.05), key=lambda p: -abs(p[1]))
    return "; ".join(f"{_phrase(f, a, b)} {c:+.2f}" for f, c in parts) or "nothing shared"


_PLAIN = {"entity_mismatch": "different specifics", "figure_conflict": "different figures", "words": "shared words",
          "headline": "similar headline", "days_apart": "days apart",
          "time_unknown": "time unknown",
          "year_conflict": "different years", "cosine": "similar meaning",
          "cosine_cross": "similar meaning across languages", "no_vector": "no embedding",
          "named_date_far": "dates named far from the other's publication"}


def _phrase(feature: str, a: Facts, b: Facts) -> str:
    if feature.startswith("unknown_time×"):
        return _phrase(feature.split("×", 1)[1], a, b) + " (time unknown)"
    if feature == "entities":
        return "entities " + ", ".join(sorted(set(a.entities) & set(b.entities)))
    if feature == "names":
        return "names " + ", ".join(sorted(a.names & b.names))
    if feature == "figures":
        return "figures " + ", ".join(f"{n:,}" for n in sorted(a.numbers & b.numbers))
    if feature == "dates":
        return "date " + ", ".join(sorted(a.dates & b.dates))
    if feature == "named_date_fits":  # the days the undated one names (the other's are not compared)
        return "date " + ", ".join(sorted(a.dates if a.published is None else b.dates)) + " named, published then"
    return _PLAIN.get(feature, feature)
