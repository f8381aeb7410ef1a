"""Gather what render needs to show stories the way one destination wants them (`Display`).

Its time zone and headline language come from the destination; the summaries of the reports its
headlines are taken from come from the store, because a story keeps only its first report's
summary. A report gone from the store (pruned) leaves its headline without a summary.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.render import Display, headline_source
from bot.model import Destination, Story
from bot.store.base import Store


async def display_for(store: Store, dest: Destination, stories: Iterable[Story]) -> Display:
    summaries: dict[str, str] = {}
    for story in stories:
        lead = headline_source(story, dest.headline_language)
        if lead is not None and (found := await store.item(lead.item_key)) is not None:
            summaries[lead.item_key] = found.summary
    return Display(timezone=dest.timezone, headline_language=dest.headline_language, summaries=summaries)
