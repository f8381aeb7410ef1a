"""Every /deskwatch subcommand once: its name, arguments with types and bounds, help text, and
who may run it. The Discord command tree, the Slack text parser and `help` are built from this,
so a bound changed here changes on both platforms at once; `check` is the one bounds check.

Pure data and pure functions: no I/O, nothing platform-specific.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

ArgKind = Literal["int", "number", "text", "choice"]
Value = str | int | float | None


class BadArgument(ValueError):
    """An argument a user typed is not acceptable; str() is one sentence to show them."""


@dataclass(frozen=True)
class Arg:
    name: str  # the CommandsAPI parameter
    kind: ArgKind
    help: str  # shown by Discord beside the option (at most 100 characters)
    low: float = 1  # numbers: the smallest value; text: the fewest characters
    high: float = 100  # numbers: the largest value; text: the most characters
    required: bool = False
    default: Value = None  # what the method gets when the user gives nothing
    choices: tuple[str, ...] = ()
    rest: bool = False  # typed (Slack): takes every remaining word, bar trailing numbers that fit later args
    label: str = ""  # the option's name where it differs from `name` (Discord: `id` for story_id)

    @property
    def shown(self) -> str:
        return self.label or self.name

    def usage(self) -> str:
        body = "|".join(self.choices) if self.choices else self.shown
        return f"<{body}>" if self.required else f"[{body}]"


@dataclass(frozen=True)
class Command:
    name: str  # as typed after /deskwatch
    method: str  # the CommandsAPI method it calls
    help: str  # one line (Discord allows 100 characters)
    args: tuple[Arg, ...] = ()
    managers: bool = False  # Discord: Manage Channels; Slack: workspace admins/owners, access.slack_admins

    def usage(self) -> str:
        return " ".join([self.name, *(a.usage() for a in self.args)])

    def arg(self, name: str) -> Arg:
        return next(a for a in self.args if a.name == name)


WATCH = Arg("watch", "text", "Watch name", 1, 64, required=True)
URL = Arg("url", "text", "The article's full http(s) link", 8, 2048, required=True)
CATALOGUE: tuple[Command, ...] = (
    Command("latest", "latest", "The newest stories",
            (Arg("count", "int", "How many stories", 1, 20, default=5),)),
    Command("search", "search", "Search stored reports (typos tolerated)",
            (Arg("query", "text", "Words to look for", 2, 200, required=True, rest=True),
             Arg("days", "int", "How many days back", 1, 365, default=7))),
    Command("story", "story", "Every source of one story, with times",
            (Arg("story_id", "text", "The story id shown in an alert's footer", 1, 64, required=True, label="id"),)),
    Command("feeds", "feeds", "Feed health: last success, errors, next poll"),
    Command("status", "status", "Uptime, last cycle, pending deliveries, unhealthy destinations"),
    Command("subscribe", "subscribe", "Send a watch to this channel", (
        WATCH,
        Arg("mode", "choice", "Each story as it comes, or a digest", choices=("instant", "digest"),
            default="instant"),
        Arg("schedule", "text", "Digest time as cron, then a time zone: 0 8 * * * Asia/Seoul", 1, 100, rest=True),
    ), managers=True),
    Command("unsubscribe", "unsubscribe", "Stop sending a watch to this channel", (WATCH,), managers=True),
    Command("mute", "mute", "Hold alerts mentioning a term in this channel",
            (Arg("term", "text", "Word or phrase", 2, 100, required=True, rest=True),
             Arg("hours", "number", "For how long (empty: until unmuted)", 0.25, 24 * 30)), managers=True),
    Command("unmute", "unmute", "Lift a mute",
            (Arg("term", "text", "The muted word or phrase", 1, 100, required=True, rest=True),), managers=True),
    Command("digest", "digest", "Post this channel's digest now", managers=True),
    Command("addfeed", "add_feed", "Poll one more feed (public addresses only)", (
        Arg("url", "text", "The feed's http(s) link", 8, 2048, required=True),
        Arg("language", "text", "Language code, e.g. en, ko, ru, uk", 2, 12, default="en"),
        Arg("name", "text", "Short name (default: from the link)", 2, 40),
    ), managers=True),
    Command("removefeed", "remove_feed", "Stop polling a feed added by command",
            (Arg("name", "text", "The feed's name", 2, 40, required=True),), managers=True),
    Command("why", "why", "What happened to one article: fetched, matched, merged, delivered", (URL,)),
    Command("help", "help", "This list"),
)  # fmt: skip
BY_NAME = {c.name: c for c in CATALOGUE}


def _number(x: float) -> str:
    return f"{x:g}"


def check(arg: Arg, value: Value) -> str | None:
    """One sentence when `value` is outside the argument's bounds, else None. Text is measured
    with its runs of spaces as one (what the commands go on to use)."""
    if value is None:
        return None
    if arg.kind == "choice":
        return None if value in arg.choices else f"`{arg.shown}` must be {' or '.join(arg.choices)}."
    if arg.kind == "text":
        size = len(" ".join(str(value).split()))
        if arg.low <= size <= arg.high:
            return None
        return f"`{arg.shown}` must be {_number(arg.low)} to {_number(arg.high)} characters (it has {size})."
    whole = arg.kind == "int"
    if not isinstance(value, int | float) or isinstance(value, bool) or (whole and not isinstance(value, int)) \
            or not arg.low <= value <= arg.high:
        kind = "a whole number" if whole else "a number"
        return f"`{arg.shown}` must be {kind} from {_number(arg.low)} to {_number(arg.high)}."
    return None


def check_all(command: Command, values: Mapping[str, Value]) -> str | None:
    """The first argument problem of a call (missing or out of bounds), else None."""
    for arg in command.args:
        value = values.get(arg.name)
        if arg.required and (value is None or value == ""):
            return f"`{command.name}` needs {arg.usage()}: /deskwatch {command.usage()}"
        if problem := check(arg, value):
            return problem
    return None


def call_args(command: Command, values: Mapping[str, Value]) -> list[Value]:
    """The method's positional arguments after the caller: given values, else the defaults."""
    return [values[a.name] if values.get(a.name) is not None else a.default for a in command.args]


def manager_commands() -> frozenset[str]:
    return frozenset(c.name for c in CATALOGUE if c.managers)


def help_lines(prefix: str = "/deskwatch", width: int = 48) -> Sequence[str]:
    return [f"{prefix} {c.usage():<{width}} {c.help[0].lower()}{c.help[1:]}{' (managers)' if c.managers else ''}"
            for c in CATALOGUE]
