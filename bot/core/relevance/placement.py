"""What a watch reads in an item: every term hit, where it sits, and how much that place counts.

An item is read as title, lead (its first sentences) and tail (the rest). A hit inside a
background clause ("… amid its troops in Russia") counts no more than a tail hit, so a passing
mention cannot make an item about something else look like news on the watch.

Only the opening of a long summary is read (`read_window`): the models were fitted on leads of one
to four sentences, and a feed's full article adds background paragraphs they never saw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice

from bot.core.relevance.terms import Hit, iter_sentences, sentences, tokenize
from bot.core.watch import Watch
from bot.model import Item


@dataclass(frozen=True)
class Placed:
    hit: Hit
    field: str  # title | lead | tail
    sentence: int  # index over all sentences of the item (title first)
    background: bool
    weight: float  # what the place is worth: field weight, lowered for background, × fuzzy score


@dataclass(frozen=True)
class Reading:
    placed: tuple[Placed, ...]
    tokens: tuple[tuple[str, ...], ...]  # per sentence
    fields: tuple[str, ...]  # per sentence

    def tagged(self, prefix: str) -> list[Placed]:
        return [p for p in self.placed if p.hit.tag.startswith(prefix)]

    def text_of(self, *wanted: str) -> str:
        return " ".join(" ".join(t) for t, f in zip(self.tokens, self.fields, strict=True) if f in wanted)


# The labelled corpora the models are fitted on hold headlines with leads of one to four
# sentences (at most ~600 characters). A feed that carries the whole article (content:encoded)
# would otherwise put every background paragraph (the treaty, the 2024 deployment, casualty
# estimates) into relevance counts and story entities: in the realistic bench, long articles of
# 116 developments all shared enough background to merge into one story.
READ_SENTENCES = 4
READ_CHARS = 1000


def read_window(summary: str) -> str:
    """The part of a summary the brain reads: its first READ_SENTENCES sentences, cut to whole
    sentences within READ_CHARS (at least the first sentence, itself cut at READ_CHARS).
    A summary that already fits is returned unchanged."""
    # Only the first READ_SENTENCES + 1 sentences matter (the one past them says there are more),
    # so a long article is not split to its end.
    parts = list(islice(iter_sentences(summary), READ_SENTENCES + 1))
    if len(summary) <= READ_CHARS and len(parts) <= READ_SENTENCES:
        return summary
    end = pos = 0
    for n, s in enumerate(parts):
        at = summary.find(s, pos)
        stop = at + len(s)
        if n >= READ_SENTENCES or (stop > READ_CHARS and n > 0):
            break
        end = pos = stop
    if end > READ_CHARS:  # one unbroken run of text: cut at a word boundary
        end = summary.rfind(" ", 0, READ_CHARS + 1)
        end = end if end > 0 else READ_CHARS
    return summary[:end]


def segments(watch: Watch, item: Item) -> list[tuple[str, str]]:
    """(field, sentence) pairs. A lead that opens with a quotation extends to the first sentence
    that says who said it and what happened: quoted sentences do not use up the lead."""
    out = [("title", s) for s in sentences(item.title)] if item.title.strip() else []
    told = 0
    in_quote = False
    for s in sentences(read_window(item.summary)):
        quoted = in_quote or s.startswith(_OPENING)
        in_quote = _still_open(s, in_quote)
        out.append(("lead" if told < watch.lead_sentences else "tail", s))
        told += not quoted
    return out


_OPENING = ('"', "“", "«", "„", "‘")


_QUOTES = re.compile('[“«„”»"]')


def _still_open(sentence: str, open_before: bool) -> bool:
    """Whether a quotation is still open after this sentence (straight quotes toggle). Only the
    quote marks are visited: a loop over every character cost ~40 µs per realistic item."""
    state = open_before
    for ch in _QUOTES.findall(sentence):
        if ch in "“«„":
            state = True
        elif ch in "”»":
            state = False
        elif ch == '"':
            state = not state
    return state


def read_item(watch: Watch, item: Item, fuzzy: bool = True) -> Reading:
    """Every hit in the item; `fuzzy=False` skips near-miss spellings (cheaper, for clustering)."""
    weights = {"title": watch.title_weight, "lead": watch.lead_weight, "tail": watch.tail_weight}
    lang = (item.lang or "any").split("-")[0].split("_")[0].casefold()
    placed: list[Placed] = []
    all_tokens: list[tuple[str, ...]] = []
    all_fields: list[str] = []
    for n, (fld, text) in enumerate(segments(watch, item)):
        tokens = tokenize(text)
        all_tokens.append(tuple(tokens))
        all_fields.append(fld)
        hits = watch.lexicon.find(tokens, lang, fuzzy)
        after = min((h.end for h in hits if h.tag == "bg:after"), default=None)
        before = max((h.start for h in hits if h.tag == "bg:before"), default=None)
        for h in hits:
            if h.tag.startswith("bg:"):
                continue
            bg = (after is not None and h.start >= after) or (before is not None and h.end <= before)
            w = weights[fld]
            if bg:
                w = min(w, watch.tail_weight)
            placed.append(Placed(h, fld, n, bg, round(w * h.score, 3)))
    return Reading(tuple(placed), tuple(all_tokens), tuple(all_fields))
