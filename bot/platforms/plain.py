"""A Message as a plain JSON document, and feed text made safe for a terminal or a text file.

Shared by the JSONL file sink and the webhook sink so both write the same document; the console
and Markdown sinks use `strip_controls` so text from a feed can never drive the reader's terminal.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from bot.model import Link, Message, StoryCard

SCHEMA = 1  # bump when a field changes meaning; receivers can branch on it

Op = Literal["send", "edit", "reply"]

# ANSI/VT escape sequences: CSI (ESC [ … final byte, or the 8-bit CSI 0x9b), OSC (ESC ] … BEL or
# ESC \, which can set window titles or hyperlinks), other string commands (DCS/SOS/PM/APC) and
# the two-byte ESC forms. Whole sequences go, not just the ESC, so no "[31m" debris is left.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b\]|\x9d).*?(?:\x07|\x1b\\|\x9c|$)"
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f]).*?(?:\x1b\\|\x9c|$)"
    r"|\x1b[ -/]*[0-~]?",
    re.DOTALL,
)
# Remaining C0/C1 controls (except newline and tab) and the bidi embedding/override/isolate
# characters that can make a line display differently from what it says.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """Feed text without terminal escape sequences or control characters; tabs become spaces."""
    text = _ESCAPES.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROLS.sub("", text)


def one_line(text: str) -> str:
    """`strip_controls`, with every run of whitespace (newlines too) folded into one space."""
    return " ".join(strip_controls(text).split())


def _iso(when: datetime | None) -> str | None:
    # Machines get UTC whatever zone the destination shows people (render localises times).
    return when.astimezone(UTC).isoformat() if when is not None else None


def link_document(link: Link) -> dict[str, Any]:
    return {
        "url": link.url,
        "outlet": link.outlet,
        "lang": link.lang,
        "published": _iso(link.published),
        "title": link.title,
    }


def card_document(card: StoryCard) -> dict[str, Any]:
    return {
        "story_id": card.story_id,
        "title": card.title,
        "summary": card.summary,
        "watch": card.watch,
        "severity": card.severity,
        "is_update": card.is_update,
        "languages": list(card.languages),
        "new_facts": list(card.new_facts),
        "first": link_document(card.first),
        "links": [link_document(link) for link in card.links],
    }


def message_document(message: Message, *, op: Op = "send", ref: str | None = None) -> dict[str, Any]:
    """The message as JSON-ready data: strings, numbers, lists and dicts only.

    `op` says what the receiver should do with it: "send" a new post, "edit" the post `ref`, or
    "reply" under `ref`. Text is left as the feed gave it (json.dumps escapes controls).
    """
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "op": op,
        "kind": message.kind,
        "marker": message.marker,
        "title": message.title,
        "text": message.text,
        "stories": [card_document(card) for card in message.stories],
        "fields": [{"name": name, "value": value} for name, value in message.fields],
        "code": message.code,
        "footer": message.footer,
        "created": _iso(message.created),
        # Files are listed, not embedded: the file sink writes each beside its output under this name.
        "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": len(a.data),
                         "description": a.description} for a in message.attachments],
    }
    if ref is not None:
        doc["ref"] = ref
    return doc
