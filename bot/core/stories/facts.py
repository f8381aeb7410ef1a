"""What a report says, reduced to comparable facts: gazetteer entities, figures, dates, distinctive
word stems and its folded headline text. Story merging compares reports by these.

Entities come from the watch's gazetteer (one id for every spelling in every language), so they
compare across languages; stems and headline text compare only within a language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.relevance.placement import Reading, read_item, read_window
from bot.core.relevance.terms import fold, script, sentences, tokenize
from bot.core.stories.figures import numbers
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
    published: datetime | None = None  # None: the report carried no date
    vector: tuple[float, ...] | None = None  # multilingual embedding, when computed


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


def item_facts(watch: Watch, item: Item, reading: Reading | None = None,
               vector: Sequence[float] | None = None, first_seen_is_time: bool = False) -> Facts:
    """The report's facts. Its time: the published date; for an undated report, the time it was
    first seen when `first_seen_is_time` (live polling: a fresh entry is news of that hour), else
    unknown (a replayed archive row without a date could be from any year)."""
    reading = reading or read_item(watch, item)
    # The dateline an agency opens its lead with ("SEOUL, Jan. 19 (Yonhap) --") names where the
    # desk sits, not what happened: every report of the outlet carries it (see `names`).
    dateline = _dateline_tokens(reading, item.summary)
    ents: dict[str, float] = {}
    for p in reading.tagged("ent:"):
        if (p.sentence, p.hit.start) in dateline:
            continue
        eid = p.hit.tag[4:]
        w = 1.0 if p.field != "tail" else TAIL_SHARE
        ents[eid] = max(ents.get(eid, 0.0), w)
    role_spans = {(p.sentence, i) for p in reading.tagged("role:")
                  for i in range(p.hit.start, p.hit.end)}
    stems: dict[str, float] = {}
    for n, (tokens, fld) in enumerate(zip(reading.tokens, reading.fields, strict=True)):
        w = 1.0 if fld != "tail" else TAIL_SHARE
        for i, tok in enumerate(tokens):
            if (n, i) in role_spans or (n, i) in dateline or tok in watch.stopwords:
                continue
            s = stem(tok)
            if s is not None:
                stems[s] = max(stems.get(s, 0.0), w)
    lead = read_window(item.summary)
    raw = f"{item.title}\n{lead}"
    found_dates, found_figures, found_years = numbers(raw)
    return Facts(ents, frozenset(found_figures), frozenset(found_dates), frozenset(found_years), stems,
                 names(watch, item, lead), reading.text_of("title", "lead"), item.lang,
                 item.published if item.dated or first_seen_is_time else None,
                 tuple(vector) if vector is not None else None)


def _dateline_tokens(reading: Reading, summary: str) -> frozenset[tuple[int, int]]:
    """(sentence, token) places of the dateline opening the summary's first sentence, if any."""
    m = _DATELINE.match(summary)
    if m is None or not m.group().strip(" -—–") or "lead" not in reading.fields:
        return frozenset()
    first = reading.fields.index("lead")
    words = tuple(tokenize(m.group()))
    if reading.tokens[first][:len(words)] != words:  # the lead was read otherwise: leave it whole
        return frozenset()
    return frozenset((first, i) for i in range(len(words)))


def names(watch: Watch, item: Item, window: str | None = None) -> frozenset[str]:
    """Capitalised words inside sentences of the summary (titles are often Title Case) that are
    neither stop words nor terms the watch already knows: unlisted people, units, places.

    Outlets are not names of a story: every report from one outlet carries its name ("Yonhap said",
    "(Reuters) —", "SEOUL, Nov. 4 (Yonhap) --"), so counting it would join unrelated reports from the
    same outlet. Dropped: the item's own outlet name words, a dateline, agency credits in parentheses,
    and outlet names in attributions ("KCNA reported", "according to NK News"). Only the part of the
    summary the brain reads counts (`window`, if the caller has it, else read_window's)."""
    lang = (item.lang or "any").split("-")[0].casefold()
    own_outlet = set(_TOKENS.findall(fold(item.source)))
    summary = _PAREN.sub(lambda p: " " * len(p.group()) if _is_credit(p.group(1)) else p.group(),
                         _DATELINE.sub("", read_window(item.summary) if window is None else window, count=1))
    out: set[str] = set()
    for sentence in sentences(summary):
        caps = list(_CAPITALISED.finditer(sentence))
        folded = [fold(m.group()) for m in caps]  # once: both the outlet check and the names read it
        outlets = _outlet_words(sentence, caps, folded)
        for n, m in enumerate(caps):
            first = m.start() == 0 or sentence[: m.start()].strip() in ('"', "“", "«", "(", "‘")
            next_is_cap = n + 1 < len(caps) and sentence[m.end():caps[n + 1].start()].strip(" -") == ""
            if n in outlets:
                continue
            if first and not next_is_cap:
                continue  # a sentence's first word is capitalised anyway, unless a name starts there
            for tok in _TOKENS.findall(folded[n]):
                if (len(tok) >= 4 and tok not in own_outlet and tok not in watch.stopwords
                        and tok not in watch.lexicon.vocabulary and not watch.lexicon.find([tok], lang, False)):
                    out.add(tok)
    return frozenset(out)


# Words outlets are named with: the big wire agencies and broadcasters, and the generic words in
# outlet names (Yonhap News Agency, Korea Herald, Kyiv Independent). Outlets credit themselves and
# each other in every report, so their names say nothing about which development a report is on.
# Deliberately generic and short (well-known wires, not the outlets of any feed list or corpus): a
# word here only drops a capitalised run in a credit or attribution, or when the run is nothing but
# such words ("Reuters could not verify…").
_OUTLET_WORDS = frozenset(fold(w) for w in (
    "Reuters", "AP", "AFP", "Yonhap", "KCNA", "KNS", "TASS", "ТАСС", "RIA", "РИА", "Interfax", "Интерфакс",
    "Інтерфакс", "Ukrinform", "Укрінформ", "UNIAN", "УНІАН", "Xinhua", "Kyodo", "EFE", "ANSA", "DPA",
    "Bloomberg", "BBC", "CNN", "NHK", "Sputnik",  # wire agencies and broadcasters
    "News", "Novosti", "Новости", "Agency", "Agence", "Agenzia", "Agencia", "Times", "Post", "Daily",
    "Herald", "Independent", "Press", "Presse", "Radio", "TV", "Television", "Journal", "Gazette",  # generic
))
_CAP = "A-ZÀ-ÞА-ЯЁІЇЄҐ"
# A dateline opening the summary: ALL-CAPS place, optional date, optional (Agency), then a dash:
# "SEOUL, Nov. 4 (Yonhap) --", "KYIV —", "(Reuters) -".
_DATELINE = re.compile(rf"^\s*(?:[{_CAP}][{_CAP} .'/-]*[{_CAP}](?:,\s*[\w.]+(?:\s+\d{{1,2}})?(?:,\s*\d{{4}})?)?\s*)?"
                       r"(?:\([^()]{1,40}\)\s*)?(?:—|–|--|-)\s*")
_PAREN = re.compile(r"\(([^()]{1,60})\)")
_CREDIT_FILLERS = frozenset({"via", "photo", "foto", "фото", "and", "by", "file"})
# Attribution around a capitalised run: "<X> said/reported…", "according to/told/citing <X>", in the
# main feed languages.
_SAID_AFTER = re.compile(
    r"\s*,?\s*(?:said|says|reported|reports|reporting|report|told|wrote|writes|cited|quoted|claimed|stated|"
    r"added|announced|published|interview|сообщ\w*|переда\w*|повідом\w*|berichte\w*|meldet\w*|"
    r"rapporte\w*|riporta\w*|scrive|inform(?:ó|a|s|ed))\b", re.IGNORECASE)
_SAID_BEFORE = re.compile(
    r"(?<!\w)(?:according to|told|tells|citing|cited by|reported by|quoted by|interview with|via|per|"
    r"selon|laut|secondo|según|segundo|по данным|по словам|сообщает|сообщил\w*|передает|передаёт|"
    r"повідомляє|за даними)\s+(?:the\s+|der\s+|die\s+|le\s+|la\s+|il\s+|el\s+)?$", re.IGNORECASE)


def _is_credit(inside: str) -> bool:
    """A parenthesis holding only a credit: "(Yonhap)", "(AP Photo)", "(KCNA via KNS)"."""
    words = _TOKENS.findall(inside)
    return (0 < len(words) <= 6 and any(fold(w) in _OUTLET_WORDS for w in words)
            and all(w[0].isupper() or fold(w) in _CREDIT_FILLERS for w in words))


def _outlet_words(sentence: str, caps: list[re.Match[str]], folded: list[str]) -> set[int]:
    """Indexes into caps of capitalised runs that name an outlet: runs made only of outlet words, and
    runs holding one in an attribution ("the Kyiv Independent reported", "told NK News").
    `folded`: each cap's text through fold()."""
    runs: list[list[int]] = []
    for n, m in enumerate(caps):
        if runs and sentence[caps[n - 1].end():m.start()].strip(" -") == "":
            runs[-1].append(n)
        else:
            runs.append([n])
    out: set[int] = set()
    for run in runs:
        words = [folded[n] for n in run]
        tokens = [t for w in words for t in _TOKENS.findall(w)]
        outlet = [t in _OUTLET_WORDS for t in tokens]
        if not any(outlet):
            continue
        a, b = caps[run[0]].start(), caps[run[-1]].end()
        if all(outlet) or _SAID_BEFORE.search(sentence[:a]) or _SAID_AFTER.match(sentence, b):
            out.update(run)
    return out


_TOKENS = re.compile(r"[^\W\d_]+")
