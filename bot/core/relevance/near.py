"""Which fuzzy terms a sentence could hold a near miss of, without comparing every term with
every window of its words.

A near miss (rapidfuzz ratio at or above the cut-off) starts with the term's first letter and
spans one word fewer to one more than the term: Lexicon._near_misses accepts nothing else. So a
window of words is compared only with the terms of its first letter and a fitting word count,
only when its length could reach the cut-off with one of them (a ratio is at most
1 − |la − lb| / (la + lb)), and each distinct window once (windows repeat: "of the",
boilerplate, wire copy), with the terms of every language (the caller drops those that do not
apply: few terms come near at all). The answer is conservative: a term left out has no near miss
in the sentence; the terms kept are searched exactly as before, so the hits are the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

MEMO_LIMIT = 50_000  # windows (or tokens) remembered, then forgotten at once: a few MB at most
MARGIN = 1.0  # compare at a slightly lower cut-off, so no rounding can leave out a term that reaches it


@dataclass
class Memos:
    """Each index's windows already compared (window -> term ids), bounded together: a lexicon's
    per-language indexes share one, so MEMO_LIMIT bounds them all. A window's text names its
    size (tokens hold no spaces), so the text alone is the key."""

    tables: dict[str, dict[str, tuple[int, ...]]] = field(default_factory=dict)
    size: int = 0

    def table(self, tag: str) -> dict[str, tuple[int, ...]]:
        return self.tables.setdefault(tag, {})

    def count(self) -> None:
        """One window more; past the limit every table is forgotten at once."""
        self.size += 1
        if self.size >= MEMO_LIMIT:
            for t in self.tables.values():
                t.clear()
            self.size = 0


@dataclass
class NearIndex:
    """The fuzzy terms by the (first letter, window size) of the windows they could be near."""

    by_start: dict[tuple[str, int], tuple[tuple[int, ...], tuple[str, ...]]]  # -> term ids, texts
    # first letter -> (window size, shortest and longest window text that could reach the
    # cut-off with a term of the group), sizes ascending
    plan: dict[str, tuple[tuple[int, int, int], ...]]
    cutoff: float
    memos: Memos = field(default_factory=Memos)
    tag: str = ""

    @property
    def memo(self) -> dict[str, tuple[int, ...]]:
        return self.memos.table(self.tag)

    @staticmethod
    def build(terms: Iterable[tuple[int, str, int]], cutoff: float, memos: Memos | None = None,
              tag: str = "") -> NearIndex:
        """`terms`: (id, fuzzy text, word count) of every fuzzy term; `memos` (this index's table
        under `tag`) may be shared with other indexes."""
        groups: dict[tuple[str, int], list[tuple[int, str]]] = {}
        for tid, text, words in terms:
            for size in (words - 1, words, words + 1):
                if size >= 1 and text:
                    groups.setdefault((text[:1], size), []).append((tid, text))
        by_start = {k: (tuple(t for t, _ in v), tuple(x for _, x in v)) for k, v in groups.items()}
        low = max(0.0, cutoff - MARGIN)
        plan: dict[str, list[tuple[int, int, int]]] = {}
        for (first, size), (_, texts) in by_start.items():
            plan.setdefault(first, []).append((size, *lengths(texts, low)))
        return NearIndex(by_start, {k: tuple(sorted(v)) for k, v in plan.items()}, low,
                         Memos() if memos is None else memos, tag)

    def candidates(self, tokens: Sequence[str]) -> set[int]:
        """Ids of the terms some window of these tokens comes near."""
        out: set[int] = set()
        count = len(tokens)
        memo, plan = self.memo, self.plan
        ends = [0]  # ends[k]: length of the first k tokens joined, plus one space
        for tok in tokens:
            ends.append(ends[-1] + len(tok) + 1)
        for i, tok in enumerate(tokens):
            first = tok[:1]
            sizes = plan.get(first)
            if sizes is None:
                continue
            start = ends[i]
            for size, shortest, longest in sizes:
                end = i + size
                if end > count:
                    break
                if not shortest <= ends[end] - start - 1 <= longest:  # no term of the group within reach
                    continue
                gram = tok if size == 1 else " ".join(tokens[i:end])
                near = memo.get(gram)
                if near is None:
                    near = self._compare(memo, gram, first, size)
                if near:
                    out.update(near)
        return out

    def _compare(self, memo: dict[str, tuple[int, ...]], gram: str, first: str, size: int) -> tuple[int, ...]:
        ids, texts = self.by_start[(first, size)]
        found = process.extract(gram, texts, scorer=fuzz.ratio, score_cutoff=self.cutoff, limit=None)
        near = tuple(ids[k] for _, _, k in found)
        self.memos.count()
        memo[gram] = near
        return near


def lengths(texts: Sequence[str], cutoff: float) -> tuple[int, int]:
    """The shortest and longest window that could come within `cutoff` (0–100) of one of `texts`,
    widened by a character each way against rounding. fuzz.ratio is 100 · (1 − d / (la + lb))
    with d, the insertions and deletions between the two, at least |la − lb|; so a window of
    length la reaches the cut-off with a text of length lb only if |la − lb| ≤ f · (la + lb),
    f = 1 − cutoff / 100: la between lb · (1 − f) / (1 + f) and lb · (1 + f) / (1 − f)."""
    f = 1.0 - cutoff / 100.0
    if f >= 1.0:
        return 0, 10**9
    short, long = min(len(t) for t in texts), max(len(t) for t in texts)
    return max(0, math.floor(short * (1 - f) / (1 + f)) - 1), math.ceil(long * (1 + f) / (1 - f)) + 1
