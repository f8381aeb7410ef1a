"""How much of a feed deskwatch reads: the cuts both parse paths apply to what a feed gives."""

from __future__ import annotations

MAX_TITLE = 1_000
MAX_SUMMARY = 20_000  # before HTML stripping
MAX_LINK = 2_048
MAX_GUID = 2_048
MAX_AUTHOR = 200
MAX_ENTRIES = 1_000  # a feed listing more is a dump, not a feed; the newest come first anyway
