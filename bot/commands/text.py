"""A typed command line (Slack's `/deskwatch search "kim jong un" 3`) parsed by the catalogue.

Words fill the command's arguments in order; an argument marked `rest` takes the remaining
words, except trailing numbers that fit the arguments after it (`search troops Kursk 3`: the
query is "troops Kursk", days 3). Values are checked by the same `catalogue.check_all` the
Discord adapter uses, so both platforms refuse the same input with the same sentence.
"""

from __future__ import annotations

from bot.commands.api import Caller, CommandsAPI, Reply
from bot.commands.catalogue import BY_NAME, Arg, BadArgument, Command, Value, call_args, check, check_all
from bot.core.lookup import help_message, split_command
from bot.model import Message


def _number(arg: Arg, word: str) -> Value:
    """The word as the argument's number; a word that is none is refused in the catalogue's words."""
    try:
        return int(word) if arg.kind == "int" else float(word)
    except ValueError:
        raise BadArgument(check(arg, word) or "") from None


def _fits(arg: Arg, word: str) -> bool:
    """Whether a trailing word can be this (numeric) argument rather than part of the text before."""
    if arg.kind == "int":
        return word.isascii() and word.isdigit()
    if arg.kind == "number":
        try:
            float(word)
        except ValueError:
            return False
        return True
    return False


def parse(text: str) -> tuple[Command, dict[str, Value]]:
    """The command and its checked values; BadArgument (one sentence) when they do not fit."""
    name, words = split_command(text)
    command = BY_NAME.get(name)
    if command is None:
        raise UnknownCommand(f"Unknown command `{name[:30]}`.")
    raw: dict[str, str] = {}
    i = 0
    for n, arg in enumerate(command.args):
        if i >= len(words):
            break
        if not arg.rest:
            raw[arg.name], i = words[i], i + 1
            continue
        end = len(words)
        for later in reversed(command.args[n + 1:]):
            if end - 1 > i and _fits(later, words[end - 1]):
                raw[later.name], end = words[end - 1], end - 1
        raw[arg.name] = " ".join(words[i:end])
        break  # words beyond the last argument are ignored, as before
    values = {k: _number(command.arg(k), v) if command.arg(k).kind in ("int", "number") else v
              for k, v in raw.items()}
    if problem := check_all(command, values):
        raise BadArgument(problem)
    return command, values


class UnknownCommand(BadArgument):
    """The first word names no command: the answer carries the list."""


async def run_text(api: CommandsAPI, caller: Caller, text: str) -> Reply:
    """Parse `text` and call the command's method; a problem is answered in one sentence (with the
    list of commands when the command itself is unknown)."""
    try:
        command, values = parse(text)
    except BadArgument as exc:
        code = help_message().code if isinstance(exc, UnknownCommand) else ""
        return Reply(Message(kind="reply", title="Could not do that", text=str(exc), code=code))
    return await getattr(api, command.method)(caller, *call_args(command, values))
