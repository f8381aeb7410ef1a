"""`deskwatch check-config`: what a valid config can still get wrong, found before it runs.

Validation (load.py) refuses what cannot work at all; these are warnings about what will quietly
do nothing: a destination no subscription sends to, a subscription whose destination has no token
or webhook URL in this environment. `--strict` makes every warning an error, for a deploy script.
Only variable NAMES are reported, never their values.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from bot.model import Destination
from bot.settings import Settings

# The environment variable a chat platform's sink posts with; webhook platforms name their own.
TOKENS = {"discord": "DISCORD_TOKEN", "slack": "SLACK_BOT_TOKEN"}


@dataclass(frozen=True)
class Finding:
    where: str  # key path, as in validation errors
    text: str


def secret_variable(dest: Destination) -> str | None:
    """The environment variable this destination cannot post without (None: it needs none)."""
    return TOKENS.get(dest.platform) or (dest.webhook_env if dest.platform.endswith("webhook") else None)


def findings(settings: Settings, env: Mapping[str, str]) -> list[Finding]:
    out: list[Finding] = []
    used = {s.destination for s in settings.subscriptions}
    for i, d in enumerate(settings.destinations):
        if d.name not in used:
            by_command = " (or a manager runs /deskwatch subscribe in that channel)" if d.platform in TOKENS else ""
            out.append(Finding(f"destinations[{i}]", f"no subscription sends anything to {d.name!r}: add a "
                               f'[[subscriptions]] with destination = "{d.name}"{by_command}'))
    by_name = {d.name: d for d in settings.destinations}
    for i, s in enumerate(settings.subscriptions):
        dest = by_name.get(s.destination)
        variable = secret_variable(dest) if dest else None
        if variable and not env.get(variable, "").strip():
            out.append(Finding(f"subscriptions[{i}]", f"{s.watch!r} goes to {s.destination!r}, which posts with "
                               f"{variable}, and {variable} is not set here: nothing will be posted there"))
    return out


def report(settings: Settings, path: str, env: Mapping[str, str], *, strict: bool = False,
           out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the summary and each finding; the exit code: 0, or 2 with `strict` and findings."""
    out, err = out or sys.stdout, err or sys.stderr  # looked up now: tests and pipes replace them
    found = findings(settings, env)
    counts = (f"{len(settings.feeds)} feeds, {len(settings.watches)} watches, {len(settings.destinations)} "
              f"destinations, {len(settings.subscriptions)} subscriptions")
    kind = "error" if strict else "warning"
    for f in found:
        print(f"  - {kind}: {f.where}: {f.text}", file=err)
    if found and strict:
        print(f"deskwatch: {path} has {len(found)} problem(s) (--strict: warnings are errors)", file=err)
        return 2
    warned = f" with {len(found)} warning(s)" if found else ""
    print(f"{path}: OK{warned} — {counts}", file=out)
    return 0
