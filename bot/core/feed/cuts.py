"""parse._entry's cuts and its longest-text choice, made sure to fall the same on feedparser's copies.

The fast path keeps a title's or summary's own HTML where feedparser keeps its sanitised copy;
both give the same plain text, but their lengths may differ, so each cut (MAX_TITLE,
MAX_SUMMARY) and the choice of the longest of summary and content must be shown to fall the same
whatever the sanitizer does (bot/core/feed/markup.py bounds it), or the feed is declined.
Pure: no I/O.
"""

from __future__ import annotations

from bot.core.feed.tree_values import Declined, Raw, Text


def fits(text: Text, limit: int) -> None:
    """Declines unless parse.py's cut falls the same on feedparser's copy: exact text is cut the
    same on both paths; a copy the sanitizer may re-spell must be shorter than the cut."""
    # length_bounds never adds more than five characters per character
    if not text.exact and len(text.value) * 6 > limit and text.bounds()[1] > limit:
        raise Declined


def cut_bounds(text: Text, limit: int) -> tuple[int, int]:
    """How long feedparser's copy can be after parse.py's cut (declined when that is unsure)."""
    if text.exact:
        return min(len(text.value), limit), min(len(text.value), limit)
    low, high = text.bounds()
    if high > limit:
        raise Declined
    return low, high


def finish_entry(entry: Raw, title_limit: int, summary_limit: int) -> Raw:
    """Titles and summaries as strings, once parse._entry's cuts and its longest-text choice are
    sure to fall the same on them as on feedparser's copies."""
    title = entry.get("title")
    if title is not None:
        fits(title, title_limit)
        entry["title"] = title.value
    summary: Text | None = entry.get("summary")
    parts: list[Text] = entry.get("content", [])
    if parts:
        chosen = summary if summary is not None else Text("", True)
        low, high = cut_bounds(chosen, summary_limit)
        for part in parts:
            p_low, p_high = cut_bounds(part, summary_limit)
            if part.value == chosen.value:  # either pick gives the same plain text
                low, high = min(low, p_low), max(high, p_high)
            elif p_low > high:
                chosen, low, high = part, p_low, p_high
            elif p_high > low:
                raise Declined
        entry["content"] = [{"value": part.value} for part in parts]
    elif summary is not None:
        fits(summary, summary_limit)
    if summary is not None:
        entry["summary"] = summary.value
    return entry

