"""What a report says, reduced to comparable facts: gazetteer entities, figures, dates, distinctive
word stems and its folded headline text. Story merging compares reports by these.

Entities come from the watch's gazetteer (one id for every spelling in every language), so they
compare across languages; stems and headline text compare only within a language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.relevance.placement import Reading, read_item
from bot.core.relevance.terms import fold, script, sentences
from bot.core.stories.figures import dates, figures, years
from bot.core.watch import Watch
from bot.model import Item

_CAPITALISED = re.compile(r"(?<![\w'’])[A-ZÀ-ÞА-ЯЁІЇЄҐ][\w'’-]*")
_KO_PARTICLES = ("에서", "으로", "에게", "은", "는", "이", "가", "을", "를", "의", "에", "로", "와", "과", "도", "만")
TAIL_SHARE = 0.5  # a stem or entity seen only in the tail is half as telling


@dataclass(frozen=True)
class Facts:
    entities: dict[str, float]  # entity id -> where seen (1.0 title/lead … tail weight)
    numbers: frozenset[int]
    dates: frozenset[str]  # "MM-DD" mentioned in the text
    years: frozenset[int]  # years mentioned in the text
    stems: dict[str, float]  # distinctive stem -> 1.0 in title/lead, TAIL_SHARE in the tail
    names: frozenset[str]  # capitalised words the gazetteer does not know (people, outlets, places)
    text: str  # folded title + lead, for near-duplicate comparison
    lang: str


def stem(token: str) -> str | None:
    """A crude, language-agnostic stem, or None for tokens that carry no distinctive meaning."""
    kind = script(token)
    if token.isdigit():
        return None
    if kind == "hangul":
        for p in _KO_PARTICLES:
            if token.endswith(p) and len(token) > len(p) + 1:
                token = token[: -len(p)]
                break
        return token[:4] if len(token) >= 2 else None
    if kind == "cjk":
        return None  # no word boundaries: compared via entities only
    if len(token) < 4:
        return None
    return token[:6]


def item_facts(watch: Watch, item: Item, reading: Reading | None = None) -> Facts:
    reading = reading or read_item(watch, item, fuzzy=False)  # exact spellings suffice to compare
    ents: dict[str, float] = {}
    for p in reading.tagged("ent:"):
        eid = p.hit.tag[4:]
        w = 1.0 if p.field != "tail" else TAIL_SHARE
        ents[eid] = max(ents.get(eid, 0.0), w)
    role_spans = {(p.sentence, i) for p in reading.tagged("role:")
                  for i in range(p.hit.start, p.hit.end)}
    stems: dict[str, float] = {}
    for n, (tokens, fld) in enumerate(zip(reading.tokens, reading.fields, strict=True)):
        w = 1.0 if fld != "tail" else TAIL_SHARE
        for i, tok in enumerate(tokens):
            if (n, i) in role_spans or tok in watch.stopwords:
                continue
            s = stem(tok)
            if s is not None:
                stems[s] = max(stems.get(s, 0.0), w)
    raw = f"{item.title}\n{item.summary}"
    found_dates, _ = dates(raw)
    return Facts(ents, frozenset(figures(raw)), frozenset(found_dates), frozenset(years(raw)), stems,
                 names(watch, item), reading.text_of("title", "lead"), item.lang)


def names(watch: Watch, item: Item) -> frozenset[str]:
    """Capitalised words inside sentences of the summary (titles are often Title Case) that are
    neither stop words nor terms the watch already knows: unlisted people, units, outlets."""
    lang = (item.lang or "any").split("-")[0].casefold()
    out: set[str] = set()
    for sentence in sentences(item.summary):
        caps = list(_CAPITALISED.finditer(sentence))
        for n, m in enumerate(caps):
            first = m.start() == 0 or sentence[: m.start()].strip() in ('"', "“", "«", "(", "‘")
            next_is_cap = n + 1 < len(caps) and sentence[m.end():caps[n + 1].start()].strip(" -") == ""
            if first and not next_is_cap:
                continue  # a sentence's first word is capitalised anyway, unless a name starts there
            for tok in _TOKENS.findall(fold(m.group())):
                if (len(tok) >= 4 and tok not in watch.stopwords and tok not in watch.lexicon.vocabulary
                        and not watch.lexicon.find([tok], lang, False)):
                    out.add(tok)
    return frozenset(out)


_TOKENS = re.compile(r"[^\W\d_]+")
