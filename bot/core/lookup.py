"""Slash-command logic that needs no I/O: argument checks and the wording of every answer.

Shared by Discord and Slack through bot/commands_impl.py. Validators raise BadArgument with one
plain sentence; the render functions turn store rows into a reply Message.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from bot.commands.catalogue import BY_NAME, BadArgument, help_lines
from bot.core.headline import display_title
from bot.core.render import short, story_card
from bot.model import Delivery, FeedState, Item, ItemEvent, Link, Match, Message, Story, StoryCard

# The bounds the commands check again (the adapters already did, from the catalogue; the terminal
# commands call the methods directly)
_LATEST, _SEARCH, _MUTE, _WHY = (BY_NAME[n] for n in ("latest", "search", "mute", "why"))
MAX_COUNT = int(_LATEST.arg("count").high)
MAX_QUERY = int(_SEARCH.arg("query").high)
MAX_TERM = int(_MUTE.arg("term").high)
MAX_DAYS = int(_SEARCH.arg("days").high)
MIN_HOURS, MAX_HOURS = _MUTE.arg("hours").low, _MUTE.arg("hours").high
MAX_URL = int(_WHY.arg("url").high)
STORY_ID = re.compile(r"^s-[0-9a-z]{4,32}$")


def split_command(text: str) -> tuple[str, list[str]]:
    """'search "kim jong un" 3' → ('search', ['kim jong un', '3']). Unbalanced quotes are tolerated."""
    text = text.strip()
    try:
        parts = shlex.split(text)
    except ValueError:  # unbalanced quotes: plain words, quote marks dropped
        parts = [w for p in text.split() if (w := p.strip("\"'"))]
    if not parts:
        return "help", []
    return parts[0].lower(), parts[1:]


def check_int(value: str | int | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise BadArgument(f"{name} must be a whole number from {low} to {high}.") from None
    if not low <= n <= high:
        raise BadArgument(f"{name} must be from {low} to {high}.")
    return n


def check_text(value: str | None, name: str, limit: int, minimum: int = 1) -> str:
    text = " ".join((value or "").split())
    if len(text) < minimum:
        raise BadArgument(f"Give a {name} of at least {minimum} characters.")
    if len(text) > limit:
        raise BadArgument(f"The {name} is too long ({len(text)} characters; at most {limit}).")
    return text


def check_hours(value: str | float | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise BadArgument(f"hours must be a number from {MIN_HOURS:g} to {MAX_HOURS:g}.") from None
    if not MIN_HOURS <= hours <= MAX_HOURS:
        raise BadArgument(f"hours must be from {MIN_HOURS:g} to {MAX_HOURS:g}.")
    return hours


def check_story_id(value: str | None) -> str:
    sid = (value or "").strip().lower()
    if not STORY_ID.match(sid):
        raise BadArgument("A story id looks like s-1a2b3c4d (it is in every alert's footer).")
    return sid


def check_url(value: str | None) -> str:
    url = (value or "").strip().strip("<>")
    if len(url) > MAX_URL or not re.match(r"^https?://[^\s/]+", url):
        raise BadArgument("Give the article's full http(s) link.")
    return url


def check_feed_name(value: str | None, url: str) -> str:
    """A short slug; derived from the URL's host when not given."""
    given = (value or "").strip().lower()
    raw = given or re.sub(r"^www\.", "", urlsplit(url).hostname or "")
    name = re.sub(r"[^a-z0-9-]+", "-", raw).strip("-")[:40]
    if not given and len(name) < 2:
        name = f"feed-{name}".strip("-")
    if len(name) < 2:
        raise BadArgument("Give the feed a name of letters, digits and dashes.")
    return name


def check_language(value: str | None) -> str:
    lang = (value or "en").strip().lower()
    if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", lang):
        raise BadArgument("language must be a code such as en, ko, ru or uk.")
    return lang


def reply(title: str, text: str = "", **kw: object) -> Message:
    return Message(kind="reply", title=title, text=text, **kw)  # type: ignore[arg-type]


def help_message(prefix: str = "/deskwatch") -> Message:
    lines = "\n".join(help_lines(prefix))
    return reply("deskwatch commands", "Ask the desk bot about stories, feeds and deliveries.", code=lines)


def stories_message(title: str, stories: Sequence[Story], empty: str) -> Message:
    if not stories:
        return reply(title, empty)
    return reply(title, f"{len(stories)} shown, newest first.", stories=tuple(story_card(s) for s in stories))


def item_card(item: Item, story: Story | None) -> StoryCard:
    """A search hit: the story it belongs to, or the lone item."""
    if story is not None:
        return story_card(story)
    title = display_title(item.title, item.summary)
    link = Link(url=item.url, outlet=item.source, lang=item.lang, published=item.published, title=title)
    return StoryCard(story_id="", title=title, summary=short(item.summary, 300),
                     watch="", first=link, links=(link,), languages=(item.lang,), severity="low")


def search_message(query: str, hits: Sequence[tuple[Item, Story | None]], fuzzy: bool) -> Message:
    if not hits:
        return reply(f"Search: {query}", "No stored item matches. Try fewer or other words, or more days.")
    seen: set[str] = set()
    cards = []
    for item, story in hits:
        card = item_card(item, story)
        key = card.story_id or item.key
        if key not in seen:
            seen.add(key)
            cards.append(card)
    how = " (no exact match; closest spellings shown)" if fuzzy else ""
    return reply(f"Search: {query}", f"{len(cards)} result(s){how}.", stories=tuple(cards))


def story_message(story: Story) -> Message:
    card = story_card(story)
    rows = "\n".join(f"{s.published:%Y-%m-%d %H:%M}  {s.lang:<3} {short(s.outlet, 24):<24} {s.url}"
                     for s in story.sources)
    fields = (("First reported", f"{story.first_source.outlet}, {story.first_published:%Y-%m-%d %H:%M} UTC"),
              ("Sources", str(len(story.sources))), ("Languages", ", ".join(story.languages)))
    return reply(f"Story {story.id}: {story.title}", card.summary, stories=(card,), fields=fields, code=rows)


def _ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "never"
    secs = int((now - then).total_seconds())
    if secs < 0:
        return f"in {_span(-secs)}"
    return f"{_span(secs)} ago"


def _span(secs: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def feeds_message(states: Sequence[FeedState], now: datetime) -> Message:
    if not states:
        return reply("Feeds", "No feeds configured.")
    head = f"{'feed':<22} {'state':<6} {'last ok':<10} {'fails':>5} {'next poll':<10} problem"
    rows = [head]
    for s in sorted(states, key=lambda s: (-s.consecutive_failures, s.name)):
        state = "ok" if s.consecutive_failures == 0 and s.last_success else ("new" if not s.last_attempt else "FAIL")
        rows.append(f"{short(s.name, 22):<22} {state:<6} {_ago(s.last_success, now):<10} "
                    f"{s.consecutive_failures:>5} {_ago(s.next_poll, now) if s.next_poll else 'now':<10} "
                    f"{short(s.last_error, 60) if s.consecutive_failures else ''}")
    failing = sum(1 for s in states if s.consecutive_failures)
    return reply("Feeds", f"{len(states)} feeds, {failing} failing.", code="\n".join(rows))


def status_message(*, started: datetime, now: datetime, last_cycle: datetime | None, pending: int,
                   health: dict[str, tuple[bool, str, datetime]], stopped: dict[str, str],
                   feeds_failing: int, feeds_total: int) -> Message:
    bad = [f"{name}: {msg}" for name, (ok, msg, _at) in sorted(health.items()) if not ok]
    bad += [f"{platform}: {why}" for platform, why in sorted(stopped.items())]
    fields = (("Up for", _span(int((now - started).total_seconds()))),
              ("Last poll cycle", _ago(last_cycle, now)),
              ("Pending deliveries", str(pending)),
              ("Feeds failing", f"{feeds_failing} of {feeds_total}"),
              ("Unhealthy destinations", str(len(bad)) if bad else "none"))
    return reply("deskwatch status", "All destinations healthy." if not bad else "Some destinations need attention.",
                 fields=fields, code="\n".join(bad))


def why_message(url: str, item: Item | None, events: Sequence[ItemEvent], matches: Sequence[Match],
                stories: Sequence[Story], deliveries: Sequence[Delivery], duplicate: bool = False) -> Message:
    """The recorded path of an item; `stories`: those holding it (one per watch that found it
    relevant); `duplicate`: the link was a repeat of `item`, not stored."""
    if item is None:
        return reply("Why: not seen", f"No polled feed has carried this link: {url}. Check `feeds` for the "
                     "outlet's feed health, or whether the outlet is in the feed list at all.")
    timeline = [f"{e.at:%Y-%m-%d %H:%M}  {e.event:<10} {e.detail}" for e in events]
    for m in matches:
        verdict = "relevant" if m.relevant else "not relevant"
        timeline.append(f"watch {m.watch}: {verdict}, score {m.score:.2f}")
        timeline.extend(f"  - {r}" for r in m.reasons)
    for d in deliveries:
        timeline.append(f"delivery {d.kind} to {d.destination}: {d.status}"
                        + (f" ({d.last_error})" if d.last_error else ""))
    fields = [("Item", short(item.title or item.summary, 200)), ("Outlet", item.source),
              ("Published", f"{item.published:%Y-%m-%d %H:%M} UTC")]
    if len(stories) == 1:
        fields.append(("Story", f"{stories[0].id} ({len(stories[0].sources)} sources)"))
    elif stories:  # several watches found it relevant: each keeps a story of its own
        fields.append(("Stories", "; ".join(f"{s.id} (watch {s.watch}, {len(s.sources)} sources)" for s in stories)))
    if duplicate:
        return reply("Why: a duplicate of an item already seen",
                     f"{url} was not stored: it repeats {item.url or item.key}, whose recorded path follows.",
                     fields=tuple(fields), code="\n".join(timeline))
    return reply("Why: the recorded path of this item", item.url, fields=tuple(fields), code="\n".join(timeline))
