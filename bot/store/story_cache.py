"""A bounded cache of stories by id and change number, shared by the SQLite and PostgreSQL stores.

Every save of a story takes a new change number (`stories.changed`), so (id, change number) names
one content: a store reads the ids and change numbers of the stories it needs, and rebuilds from
their rows only those not cached at that number. Another worker's save moves the number on, so
its story is read again. Loads and saves made inside a write transaction are staged and only
enter the cache when it commits: a rolled-back save gives its change number back to the counter,
and the next save may take it for another content.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC

from bot.model import Story

SIZE = 4096  # stories; candidates are the recent ones, so a few thousand keep nearly every hit


def exact(story: Story) -> bool:
    """Whether reading the saved rows back gives this very story, equal in value and type: times
    in UTC (the rows keep the instant, not the offset), tuples, a float score. A story that
    would come back different is not cached from a save, so a hit never differs from a read."""
    return (type(story.score) is float and type(story.keys) is tuple and type(story.sources) is tuple
            and story.first_published.tzinfo is UTC and story.last_published.tzinfo is UTC
            and all(x.published.tzinfo is UTC and type(x.new_facts) is tuple for x in story.sources))


def shared_sources(old: Story | None, new: Story) -> int:
    """How many leading sources `new` shares with `old` (the rows of the story as stored): a
    save rewrites only the rows after them. Sources are kept in time order, so a merge mostly
    appends one; a late report of earlier news moves the ones after it."""
    if old is None:
        return 0
    n = 0
    for a, b in zip(old.sources, new.sources, strict=False):
        if a != b:
            break
        n += 1
    return n


def same_keys(old: Story | None, new: Story) -> bool:
    """Whether the lookup rows of `old` (keys, watch, last published) serve `new` unchanged."""
    return (old is not None and old.keys == new.keys and old.watch == new.watch
            and old.last_published == new.last_published)


class StoryCache:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._stories: OrderedDict[str, tuple[int, Story]] = OrderedDict()
        self._staged: dict[str, tuple[int, Story]] = {}
        self.writing = False  # inside a write transaction: stage, do not cache yet

    def get(self, story_id: str, changed: int) -> Story | None:
        """The story saved or loaded at change number `changed`, or None."""
        hit = self._staged.get(story_id) or self._stories.get(story_id)
        if hit is None or hit[0] != changed:
            return None
        if story_id in self._stories:
            self._stories.move_to_end(story_id)
        return hit[1]

    def put(self, changed: int, story: Story) -> None:
        if self.writing:
            self._staged[story.id] = (changed, story)
            return
        self._stories[story.id] = (changed, story)
        self._stories.move_to_end(story.id)
        while len(self._stories) > self.size:
            self._stories.popitem(last=False)

    def begin(self) -> None:
        self._staged.clear()
        self.writing = True

    def commit(self) -> None:
        staged, self._staged = self._staged, {}
        self.writing = False
        for changed, story in staged.values():
            self.put(changed, story)

    def rollback(self) -> None:
        self._staged.clear()
        self.writing = False

    def clear(self) -> None:
        self._stories.clear()
        self._staged.clear()

    def __len__(self) -> int:
        return len(self._stories)


class Staging:
    """One transaction's view of a shared cache (PostgreSQL, where several batches may be open at
    once): its own loads and saves first, kept apart until it commits."""

    def __init__(self, cache: StoryCache) -> None:
        self.cache = cache
        self._staged: dict[str, tuple[int, Story]] = {}

    def get(self, story_id: str, changed: int) -> Story | None:
        hit = self._staged.get(story_id)
        if hit is not None and hit[0] == changed:
            return hit[1]
        return self.cache.get(story_id, changed)

    def put(self, changed: int, story: Story) -> None:
        self._staged[story.id] = (changed, story)

    def commit(self) -> None:
        for changed, story in self._staged.values():
            self.cache.put(changed, story)
        self._staged.clear()
