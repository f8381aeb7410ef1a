"""The file sink: appends each message to a Markdown briefing or a JSONL log.

Every post carries its marker in the file (an HTML comment in Markdown, a field in JSONL), so
`find_sent` can read the file back after a crash instead of posting twice. Writes are flushed and
fsync'd, and all file I/O runs in a worker thread so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import quote

from bot.model import Attachment, Link, Message, StoryCard
from bot.platforms.base import PermanentDeliveryError
from bot.platforms.plain import Op, message_document, one_line, strip_controls

FileFormat = Literal["markdown", "jsonl"]
FORMATS: tuple[FileFormat, ...] = ("markdown", "jsonl")

# Characters that mean something inline in CommonMark; a backslash makes each one literal, so a
# feed title cannot open a link, an image, emphasis, raw HTML or an entity in the briefing.
_A = TypeVar("_A")
_R = TypeVar("_R")
_MD_INLINE = re.compile(r"([\\`*_{}\[\]<>#|~!&])")
# Line starts that would open a list, a heading underline or a quote.
_MD_BLOCK_START = re.compile(r"^(\s*\d*)([-+=.)])(?=\s|$)")


def md_escape(text: str) -> str:
    """Plain feed text as literal Markdown on one line."""
    return _MD_BLOCK_START.sub(r"\1\\\2", _MD_INLINE.sub(r"\\\1", one_line(text)))


def md_paragraphs(text: str) -> str:
    """Plain multi-paragraph text as escaped Markdown paragraphs (blank lines kept)."""
    paras = re.split(r"\n\s*\n", strip_controls(text))
    return "\n\n".join(md_escape(p) for p in paras if p.strip())


def md_link(label: str, url: str) -> str:
    """A Markdown link to an http(s) URL; anything else is shown as text, not linked."""
    url = one_line(url)
    if not url.lower().startswith(("http://", "https://")):
        return md_escape(label) + (f" ({md_escape(url)})" if url else "")
    # Inside <…> a destination may hold ")" safely; only space, < and > need encoding.
    return f"[{md_escape(label)}](<{quote(url, safe=':/?#[]@!$&()*+,;=%~.-_')}>)"


def _when(link: Link) -> str:
    return _clock(link.published)


def _clock(when: datetime) -> str:
    # render gave every time in the destination's zone: show it as given, named
    return f"{when:%Y-%m-%d %H:%M} {when.tzname() or 'UTC'}"


def _fence(code: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    return "`" * max(3, longest + 1)


def _card_md(card: StoryCard, *, heading: bool) -> list[str]:
    out = [f"### {md_escape(card.title)}", ""] if heading else []
    update = " · update" if card.is_update else ""
    out += [f"*{card.severity}{update} · {len(card.links)} source(s) · "
            f"{md_escape(', '.join(card.languages))}*", ""]
    if card.summary.strip():
        out += [md_paragraphs(card.summary), ""]
    if card.new_facts:
        out += ["New: " + "; ".join(md_escape(f) for f in card.new_facts), ""]
    for n, link in enumerate(card.links, start=1):
        title = f" — {md_escape(link.title)}" if link.title else ""
        out.append(f"{n}. {md_link(link.outlet, link.url)} · {md_escape(link.lang)} · {_when(link)}{title}")
    first = card.first
    out += ["", f"First reported by **{md_escape(first.outlet)}** ({md_escape(first.lang)}, {_when(first)})"
                f" · story {md_escape(card.story_id)} · watch {md_escape(card.watch)}", ""]
    return out


def _digest_md(cards: tuple[StoryCard, ...]) -> list[str]:
    """One compact entry per story, with every source link (first one first)."""
    out = []
    for n, card in enumerate(cards, start=1):
        out.append(f"{n}. **{md_escape(card.title)}** ({card.severity}) · "
                   f"{md_escape(', '.join(card.languages))} · story {md_escape(card.story_id)}")
        out += [f"   - {md_link(link.outlet, link.url)} · {md_escape(link.lang)} · {_when(link)}"
                + (" (first)" if i == 0 else "") for i, link in enumerate(card.links)]
    return [*out, ""] if out else []


def render_markdown(message: Message, *, heading: str, tag: str) -> str:
    """One message as a Markdown section ending in an HTML comment that carries `tag`."""
    out = [f"## {heading}: {md_escape(message.title)}", ""]
    if message.created is not None:
        out += [f"*{_clock(message.created)}*", ""]
    # The sink writes each attachment beside the briefing, so a relative link shows the image.
    out += [f"![{md_escape(a.description or a.filename)}](<{quote(a.filename)}>)" for a in message.attachments
            if a.content_type.startswith("image/")]
    out += [""] if message.attachments else []
    cards = message.stories
    if message.text.strip() and not (len(cards) == 1 and message.text == cards[0].summary):
        out += [md_paragraphs(message.text), ""]
    if message.kind == "digest":
        out += _digest_md(cards)
    else:
        for card in cards:
            out += _card_md(card, heading=len(cards) > 1)
    out += [f"- **{md_escape(k)}:** {md_escape(v)}" for k, v in message.fields]
    out += [""] if message.fields else []
    if message.code:
        fence = _fence(message.code)
        out += [fence, strip_controls(message.code).rstrip("\n"), fence, ""]
    if message.footer.strip():
        out += [f"*{md_escape(message.footer)}*", ""]
    out += [tag, "", "---", "", ""]
    return "\n".join(out)


def _comment(kind: str, value: str) -> str:
    # "--" would end the comment early; markers are ours, but the file must stay well-formed.
    return f"<!-- deskwatch-{kind}: {one_line(value).replace('--', '- -')} -->"


class FileSink:
    """Appends to `path`; the ref of a post is "file:<marker>" (stable across restarts)."""

    def __init__(self, name: str, path: str | os.PathLike[str], format: FileFormat = "markdown") -> None:
        if format not in FORMATS:
            raise ValueError(f"file sink {name!r}: format must be one of {', '.join(FORMATS)}")
        self.name = name
        self.path = Path(path)
        self.format = format
        self._lock = asyncio.Lock()  # one append at a time, so entries never interleave
        self._unmarked = 0

    async def send(self, message: Message) -> str:
        ref = self._ref(message.marker)
        for attachment in message.attachments:  # first, so the briefing never links a missing file
            await self._io(self._write_beside, attachment)
        await self._append(self._render(message, op="send", ref=ref))
        return ref

    async def edit(self, ref: str, message: Message) -> None:
        await self._append(self._render(message, op="edit", ref=ref))

    async def reply(self, ref: str, message: Message) -> None:
        await self._append(self._render(message, op="reply", ref=ref))

    def parts(self, message: Message) -> int:
        return 1

    async def find_sent(self, marker: str) -> str | None:
        if not marker:
            return None
        async with self._lock:
            found = await self._io(self._scan, marker)
        return self._ref(marker) if found else None

    async def close(self) -> None:
        return None  # every write opened, fsync'd and closed its own handle

    # --- internals ------------------------------------------------------------------------

    def _ref(self, marker: str) -> str:
        if marker:
            return f"file:{marker}"
        self._unmarked += 1
        return f"file:unmarked-{self._unmarked}"

    def _render(self, message: Message, *, op: Op, ref: str) -> str:
        if self.format == "jsonl":
            return json.dumps(message_document(message, op=op, ref=ref), ensure_ascii=False) + "\n"
        if op == "edit":
            return render_markdown(message, heading=f"Update ({md_escape(ref)})",
                                   tag=_comment("edit", f"{ref} {message.marker}"))
        heading = "Follow-up" if op == "reply" else message.kind.capitalize()
        return render_markdown(message, heading=heading, tag=_comment("marker", message.marker))

    async def _append(self, text: str) -> None:
        async with self._lock:
            await self._io(self._append_sync, text)

    async def _io(self, fn: Callable[[_A], _R], arg: _A) -> _R:
        """Run a file operation off the loop. A path that cannot be written (a directory, no
        permission, a full disk) holds this destination, in plain words, instead of a traceback:
        its rows stay pending and are tried again once the destination's hold is over."""
        try:
            return await asyncio.to_thread(fn, arg)
        except OSError as exc:
            what = exc.strerror or type(exc).__name__
            where = exc.filename if exc.filename is not None else self.path
            raise PermanentDeliveryError(f"file destination {self.name!r}: cannot write {where}: {what}",
                                         kind="forbidden") from exc

    def _append_sync(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        with open(self.path, "a+b") as f:
            # A crash mid-write can leave a torn last line; start on a fresh one so the next
            # record stays readable (find_sent skips the torn one).
            if f.seek(0, os.SEEK_END) > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    data = b"\n" + data
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    def _write_beside(self, attachment: Attachment) -> None:
        """The file next to the briefing, under its own name (written whole, then renamed: a
        crash leaves the old file or the new one, never half of one)."""
        target = self.path.parent / Path(attachment.filename).name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(attachment.data)
        os.replace(partial, target)

    def _scan(self, marker: str) -> bool:
        if not self.path.exists():
            return False
        with open(self.path, encoding="utf-8", errors="replace") as f:
            if self.format == "markdown":
                tag = _comment("marker", marker)
                return any(line.rstrip("\n") == tag for line in f)
            needle = json.dumps(marker, ensure_ascii=False)
            for line in f:
                if needle not in line:  # cheap filter before parsing
                    continue
                try:
                    doc = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(doc, dict) and doc.get("marker") == marker and doc.get("op") != "edit":
                    return True
            return False
