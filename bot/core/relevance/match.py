"""Relevance: score an item against a watch and say why, in words an analyst can check.

score = Σ role weight × role strength (best hit's place weight + a quarter of the second best)
      + proximity bonuses − exclusion penalties (scaled by where the exclusion term sits).
Relevant when the score reaches the threshold AND one required role combination is present
with at least `require_strength` each (i.e. in the title or lead, not only in the background).
"""

from __future__ import annotations

from collections import defaultdict

from bot.core.relevance.placement import Placed, Reading, read_item
from bot.core.watch import Watch
from bot.model import Item, Match

SECOND_HIT_SHARE = 0.25  # a second mention adds a little: repetition is weak evidence


def _where(p: Placed) -> str:
    place = f"{p.field}, background" if p.background else p.field
    near = f" ~{p.hit.score:.2f}" if p.hit.fuzzy else ""
    return f"'{p.hit.term}'{near} in {place}"


def role_strengths(watch: Watch, reading: Reading) -> dict[str, tuple[float, float, list[Placed]]]:
    """role -> (strength, best single hit weight, hits best first)."""
    by_role: dict[str, list[Placed]] = defaultdict(list)
    for p in reading.tagged("role:"):
        by_role[p.hit.tag[5:]].append(p)
    out: dict[str, tuple[float, float, list[Placed]]] = {}
    for r in watch.roles:
        hits = sorted(by_role.get(r.name, []), key=lambda p: -p.weight)
        best = hits[0].weight if hits else 0.0
        second = hits[1].weight if len(hits) > 1 else 0.0
        out[r.name] = (best + SECOND_HIT_SHARE * second, best, hits)
    return out


def _proximity_bonus(watch: Watch, reading: Reading) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    roles = reading.tagged("role:")
    for prox in watch.proximity:
        a, b = (f"role:{r}" for r in prox.roles)
        pairs = [(x, y) for x in roles if x.hit.tag == a and not x.background
                 for y in roles if y.hit.tag == b and not y.background and y.sentence == x.sentence
                 and abs(x.hit.start - y.hit.start) <= prox.window]
        if pairs:
            x, y = pairs[0]
            out.append((prox.bonus, f"+{prox.bonus:g} {prox.roles[0]} near {prox.roles[1]} "
                                    f"('{x.hit.term}' … '{y.hit.term}')"))
    return out


def _penalties(watch: Watch, reading: Reading) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    hits = reading.tagged("excl:")
    for ex in watch.exclusions:
        mine = sorted((p for p in hits if p.hit.tag == f"excl:{ex.name}"), key=lambda p: -p.weight)
        if mine:
            pen = round(ex.penalty * mine[0].weight, 2)
            out.append((pen, f"-{pen:g} exclusion '{ex.name}': {_where(mine[0])}"))
    return out


def match_item(watch: Watch, item: Item) -> Match:
    reading = read_item(watch, item)
    strengths = role_strengths(watch, reading)
    score = 0.0
    reasons: list[str] = []
    for r in watch.roles:
        strength, _, hits = strengths[r.name]
        if hits:
            score += r.weight * strength
            reasons.append(f"{r.name} {r.weight * strength:.2f}: {_where(hits[0])}"
                           + (f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""))
    for bonus, why in _proximity_bonus(watch, reading):
        score += bonus
        reasons.append(why)
    for pen, why in _penalties(watch, reading):
        score -= pen
        reasons.append(why)
    combo_ok, combo_why = _required(watch, strengths)
    relevant = combo_ok and score >= watch.threshold
    verdict = "≥" if score >= watch.threshold else "<"
    reasons.append(f"score {score:.2f} {verdict} threshold {watch.threshold:g}")
    if combo_why:
        reasons.append(combo_why)
    return Match(watch=watch.name, relevant=relevant, score=round(score, 3), reasons=tuple(reasons))


def _required(watch: Watch, strengths: dict[str, tuple[float, float, list[Placed]]]) -> tuple[bool, str]:
    if not watch.require:
        return True, ""
    missing_best: list[str] = []
    for combo in watch.require:
        weak = [r for r in combo if strengths.get(r, (0.0, 0.0, []))[1] < watch.require_strength]
        if not weak:
            return True, ""
        if not missing_best or len(weak) < len(missing_best):
            missing_best = weak
    parts = []
    for r in missing_best:
        hits = strengths.get(r, (0.0, 0.0, []))[2]
        parts.append(f"{r} only as background ({_where(hits[0])})" if hits else f"no {r} term")
    return False, "missing required role: " + ", ".join(parts)
