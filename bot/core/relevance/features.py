"""What a watch sees in one item, as named numbers a fitted model can weigh and `why` can show.

Each role contributes how strongly it is present in the headline and lead (outside background
clauses), anywhere at all, and how often; then whether a required role combination is all in
the lead (the old hard gate, now one signal among others), proximity, exclusions, and whether
the watch has any terms in the item's language (when it has none, term features say nothing and
the multilingual signal has to carry the decision).
"""

from __future__ import annotations

from collections import defaultdict

from bot.core.relevance.model import EMBED_FEATURE, LANGUAGE_FEATURE, feature_names
from bot.core.relevance.placement import Placed, Reading
from bot.core.watch import Watch

MAX_COUNT = 4  # more mentions than this add nothing: repetition is weak evidence
__all__ = ["EMBED_FEATURE", "LANGUAGE_FEATURE", "feature_names", "term_features"]


def best_by_role(watch: Watch, reading: Reading) -> dict[str, list[Placed]]:
    """role -> its hits, strongest first."""
    by_role: dict[str, list[Placed]] = defaultdict(list)
    for p in reading.tagged("role:"):
        by_role[p.hit.tag[5:]].append(p)
    return {r.name: sorted(by_role.get(r.name, []), key=lambda p: -p.weight) for r in watch.roles}


def _lead_strength(hits: list[Placed]) -> float:
    return max((p.weight for p in hits if p.field != "tail" and not p.background), default=0.0)


def term_features(watch: Watch, reading: Reading, lang: str) -> dict[str, float]:
    roles = best_by_role(watch, reading)
    covered = covers(watch, lang)
    out: dict[str, float] = {}
    for role in watch.roles:
        hits = roles[role.name]
        out[f"{role.name}.lead"] = _lead_strength(hits)
        out[f"{role.name}.any"] = hits[0].weight if hits else 0.0
        out[f"{role.name}.count"] = min(len(hits), MAX_COUNT) / MAX_COUNT
        # An essential role absent although the watch reads this language: its own weight, so the
        # model can make "no North Korea at all" count for more than a weak mention would (not a
        # veto). Only for essential roles: for the others it would just restate `any` == 0.
        out[f"{role.name}.missing"] = float(role.essential and covered and not hits)
    out["roles.all_lead"] = float(any(
        all(_lead_strength(roles.get(r, [])) >= watch.require_strength for r in combo) for combo in watch.require))
    out["proximity"] = sum(bonus for bonus, _ in proximity_hits(watch, reading))
    out["exclusion"] = sum(pen for pen, _ in exclusion_hits(watch, reading))
    out[LANGUAGE_FEATURE] = 0.0 if covered else 1.0
    return out


def covers(watch: Watch, lang: str) -> bool:
    """Whether the watch has role terms written for this language (not only universal names)."""
    return lang in watch.languages


def proximity_hits(watch: Watch, reading: Reading) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    roles = reading.tagged("role:")
    for prox in watch.proximity:
        a, b = (f"role:{r}" for r in prox.roles)
        pairs = [(x, y) for x in roles if x.hit.tag == a and not x.background
                 for y in roles if y.hit.tag == b and not y.background and y.sentence == x.sentence
                 and abs(x.hit.start - y.hit.start) <= prox.window]
        if pairs:
            x, y = pairs[0]
            out.append((prox.bonus, f"{prox.roles[0]} near {prox.roles[1]} ('{x.hit.term}' … '{y.hit.term}')"))
    return out


def exclusion_hits(watch: Watch, reading: Reading) -> list[tuple[float, str]]:
    """(penalty scaled by where the term sits, description) per exclusion that fired."""
    out: list[tuple[float, str]] = []
    hits = reading.tagged("excl:")
    for ex in watch.exclusions:
        mine = sorted((p for p in hits if p.hit.tag == f"excl:{ex.name}"), key=lambda p: -p.weight)
        if mine:
            out.append((round(ex.penalty * mine[0].weight, 2), f"'{ex.name}': {where(mine[0])}"))
    return out


def where(p: Placed) -> str:
    place = f"{p.field}, background" if p.background else p.field
    near = f" ~{p.hit.score:.2f}" if p.hit.fuzzy else ""
    return f"'{p.hit.term}'{near} in {place}"
