"""`deskwatch check-config` catches the traps of setting up a real channel (issue 11 point 1):
a destination nothing is sent to, a token or webhook variable missing from the environment
(an error with --strict), a Discord channel that is not an id, a subscription's bad time zone
AND bad cron reported together."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot import cli
from bot.config import ConfigError, settings_from_dict
from bot.config.check import findings, report
from tests.factories import REPO

WATCH = {"name": "w", "file": str(REPO / "config" / "watches" / "dprk-russia.toml")}
DESTS = {
    "console": {"name": "console", "platform": "console"},
    "discord": {"name": "duty-discord", "platform": "discord", "channel": "123456789012345678"},
    "slack": {"name": "duty-slack", "platform": "slack", "channel": "C0123456789"},
    "hook": {"name": "hook", "platform": "slack-webhook", "webhook_env": "DESK_HOOK"},
}


def settings(dests: list[str], subs: list[str]) -> object:
    doc = {"watches": [WATCH], "destinations": [DESTS[d] for d in dests],
           "subscriptions": [{"watch": "w", "destination": DESTS[s]["name"]} for s in subs]}
    return settings_from_dict(doc, base_dir=REPO / "config")


@pytest.mark.parametrize(("dests", "subs", "env", "expected"), [
    (["console"], ["console"], {}, []),
    (["console", "discord"], ["console"], {"DISCORD_TOKEN": "t"},
     ["destinations[1]: no subscription sends anything to 'duty-discord'"]),
    (["discord"], ["discord"], {}, ["subscriptions[0]: 'w' goes to 'duty-discord', which posts with DISCORD_TOKEN"]),
    (["discord"], ["discord"], {"DISCORD_TOKEN": "  "}, ["subscriptions[0]: 'w' goes to 'duty-discord'"]),
    (["discord"], ["discord"], {"DISCORD_TOKEN": "t"}, []),
    (["slack"], ["slack"], {"DISCORD_TOKEN": "t"}, ["subscriptions[0]: 'w' goes to 'duty-slack', which posts with "
                                                   "SLACK_BOT_TOKEN"]),
    (["slack"], ["slack"], {"SLACK_BOT_TOKEN": "xoxb"}, []),
    (["hook"], ["hook"], {}, ["subscriptions[0]: 'w' goes to 'hook', which posts with DESK_HOOK"]),
    (["hook"], ["hook"], {"DESK_HOOK": "https://hooks.example/T/SECRET"}, []),
    (["console", "hook"], ["console"], {}, ["destinations[1]: no subscription sends anything to 'hook'"]),
])  # fmt: skip
def test_findings(dests: list[str], subs: list[str], env: dict[str, str], expected: list[str]) -> None:
    found = [f"{f.where}: {f.text}" for f in findings(settings(dests, subs), env)]  # type: ignore[arg-type]
    assert len(found) == len(expected), found
    assert all(f.startswith(e) for f, e in zip(found, expected, strict=True)), found


@pytest.mark.parametrize(("strict", "code", "kind"), [(False, 0, "warning"), (True, 2, "error")])
def test_strict_makes_warnings_errors(strict: bool, code: int, kind: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    s = settings(["console", "discord"], ["console", "discord"])
    assert report(s, "desk.toml", {}, strict=strict, out=out, err=err) == code  # type: ignore[arg-type]
    assert f"  - {kind}: subscriptions[1]: " in err.getvalue()
    assert ("OK with 1 warning(s)" in out.getvalue()) is not strict


def test_secret_values_are_never_printed() -> None:
    out, err = io.StringIO(), io.StringIO()
    env = {"DESK_HOOK": "https://hooks.example/T/SECRET", "DISCORD_TOKEN": "SECRET-TOKEN"}
    report(settings(["hook", "discord"], ["hook"]), "desk.toml", env, strict=True, out=out, err=err)  # type: ignore[arg-type]
    assert "SECRET" not in out.getvalue() + err.getvalue()


@pytest.mark.parametrize("channel", ["#alerts", "alerts", "<#123456789012345678>", "１２３"])
def test_a_discord_channel_must_be_a_numeric_id(channel: str) -> None:
    doc = {"watches": [WATCH], "destinations": [{"name": "d", "platform": "discord", "channel": channel}]}
    with pytest.raises(ConfigError) as info:
        settings_from_dict(doc, base_dir=REPO / "config")
    assert [e.split(":")[0] for e in info.value.errors] == ["destinations[0].channel"]
    assert "numeric id" in info.value.errors[0]


def test_a_bad_time_zone_and_a_bad_cron_are_reported_together() -> None:
    doc = {"watches": [WATCH], "destinations": [DESTS["console"]],
           "subscriptions": [{"watch": "w", "destination": "console", "mode": "digest", "schedule": "0 25 * * *",
                              "timezone": "Asia/Seul"}]}
    with pytest.raises(ConfigError) as info:
        settings_from_dict(doc, base_dir=REPO / "config")
    assert sorted(e.split(":")[0] for e in info.value.errors) == ["subscriptions[0].schedule",
                                                                  "subscriptions[0].timezone"]


def write(tmp_path: Path, dests: list[str], subs: list[str]) -> str:
    lines = [f'[[watches]]\nname = "w"\nfile = "{WATCH["file"]}"\n']
    lines += ["[[destinations]]\n" + "".join(f'{k} = "{v}"\n' for k, v in DESTS[d].items()) for d in dests]
    lines += [f'[[subscriptions]]\nwatch = "w"\ndestination = "{DESTS[s]["name"]}"\n' for s in subs]
    path = tmp_path / "desk.toml"
    path.write_text("\n".join(lines), "utf-8")
    return str(path)


@pytest.mark.parametrize(("argv", "code"), [([], 0), (["--strict"], 2)])
def test_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                     argv: list[str], code: int) -> None:
    """The example Discord destination uncommented, no subscription, no token: no longer a bare OK."""
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    path = write(tmp_path, ["console", "discord"], ["console"])
    assert cli.main(["check-config", path, *argv]) == code
    captured = capsys.readouterr()
    assert "destinations[1]: no subscription sends anything to 'duty-discord'" in captured.err
    assert ("OK with 1 warning(s)" in captured.out) == (code == 0)
