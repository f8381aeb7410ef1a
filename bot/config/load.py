"""deskwatch.toml in, `Settings` out: read the files, validate them all, report every problem.

One pass collects everything wrong (types and bounds from the models in schema.py and watch.py,
references between tables here) and raises one ConfigError, each line with its key path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config import schema
from bot.config.errors import ConfigError, plain_errors
from bot.config.files import merge, read_model_file, read_toml, read_watch_file, resolve
from bot.config.watch import load_watch
from bot.core.watch import Watch
from bot.model import Destination, Subscription
from bot.settings import (
    AccessSettings,
    FeedSettings,
    HttpSettings,
    PollingSettings,
    Settings,
    StorageSettings,
)

DEFAULT_PATH = "config/deskwatch.toml"
PORT_VARIABLE = "DESKWATCH_HTTP_PORT"
DATABASE_URL_VARIABLE = "DESKWATCH_DATABASE_URL"  # overrides storage.url (a secret: keep it out of files)


def config_path(explicit: str | None) -> str:
    return explicit or os.environ.get("DESKWATCH_CONFIG") or DEFAULT_PATH


def load_settings(path: str | None = None, models: bool = True) -> Settings:
    """Read and validate the config file; raise ConfigError listing every problem.
    `models=False` skips the watches' fitted model files (what `deskwatch train` rewrites)."""
    p = Path(config_path(path))
    doc, problem = read_toml(p)
    if problem:
        raise ConfigError([problem.replace(f"cannot read {p}", f"{p}: cannot read config file")
                           .replace(f"{p} is not valid TOML", f"{p}: not valid TOML")])
    # absolute(), not resolve(): a config reached through a symlink (a mounted secret or
    # ConfigMap) names its neighbours as the operator sees them
    return settings_from_dict(doc, base_dir=p.absolute().parent, source_path=str(p), models=models)


def settings_from_dict(doc: Mapping[str, Any], base_dir: Path, source_path: str = "", models: bool = True,
                       env: Mapping[str, str] | None = None) -> Settings:
    base_dir = base_dir.absolute()
    env = os.environ if env is None else env
    errors: list[str] = []
    try:
        config: schema.Config | None = schema.Config.model_validate(dict(doc))
    except ValidationError as exc:
        config, errors = None, plain_errors(exc, schema.Config)
    errors += _references(doc)
    watches = _watches(doc, base_dir, models, errors)
    port, port_problem = _port(env)
    if port_problem:
        errors.append(port_problem)
    url = env.get(DATABASE_URL_VARIABLE, "").strip()
    if url and not url.startswith(schema.DATABASE_URL_SCHEMES):  # the value is a secret: never shown
        errors.append(f"{DATABASE_URL_VARIABLE}: must be a PostgreSQL URL (postgresql://user@host/db)")
    if not watches and not errors:
        errors.append("watches: at least one watch is required")
    if errors or config is None:
        raise ConfigError(errors)
    return _settings(config, tuple(watches), base_dir, source_path, port, url)


def _tables(doc: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """The tables of an array of tables, read defensively: shape errors are the schema's."""
    value = doc.get(key)
    return [t if isinstance(t, Mapping) else {} for t in value] if isinstance(value, list) else []


def _references(doc: Mapping[str, Any]) -> list[str]:
    """Unique names, and subscriptions naming a watch and a destination that exist."""
    errors: list[str] = []
    seen: set[str] = set()
    for i, t in enumerate(_tables(doc, "feeds")):
        name = t.get("name")
        if isinstance(name, str) and name in seen:
            errors.append(f"feeds[{i}].name: duplicate feed name {name!r}")
        seen.add(str(name))
    dests = [t.get("name") for t in _tables(doc, "destinations")]
    for n in sorted({n for n in dests if isinstance(n, str) and dests.count(n) > 1}):
        errors.append(f"destinations: duplicate destination name {n!r}")
    watches = {t.get("name") for t in _tables(doc, "watches")}
    for i, t in enumerate(_tables(doc, "subscriptions")):
        watch, dest = t.get("watch"), t.get("destination")
        if isinstance(watch, str) and watch and watches and watch not in watches:
            errors.append(f"subscriptions[{i}].watch: no watch named {watch!r}")
        if isinstance(dest, str) and dest and dest not in dests:
            errors.append(f"subscriptions[{i}].destination: no destination named {dest!r}")
    return errors


def _watches(doc: Mapping[str, Any], base_dir: Path, models: bool, errors: list[str]) -> list[Watch]:
    out: list[Watch] = []
    for i, t in enumerate(_tables(doc, "watches")):
        where = f"watches[{i}]"
        name = t.get("name")
        if not isinstance(name, str) or not name.strip():
            continue  # the schema reports it
        data: dict[str, Any] = {k: v for k, v in t.items() if k not in ("name", "file")}
        file = t.get("file")
        if isinstance(file, str) and file.strip():
            loaded, problems = read_watch_file(Path(resolve(base_dir, file)), f"{where}.file")
            errors += problems
            data = merge(loaded, data)
        # The fitted model file sits next to the watch file (or where its `model` key says).
        watch_file = Path(resolve(base_dir, file if isinstance(file, str) and file.strip() else f"{name}.toml"))
        model_file = watch_file.with_suffix(".model.json")
        content = None
        if isinstance(data.get("model"), str):
            model_file = watch_file.parent / data["model"]
            if models:
                content, problem = read_model_file(model_file, f"{where}.model")
                errors += [problem] if problem else []
        watch, problems = load_watch(name, data, where, content)
        errors += problems
        if watch is not None:
            out.append(replace(watch, model_path=str(model_file)))
    return out


def _port(env: Mapping[str, str]) -> tuple[int | None, str | None]:
    raw = env.get(PORT_VARIABLE, "").strip()
    if not raw:
        return None, None
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= 65535:
        return int(raw), None
    return None, f"{PORT_VARIABLE}: must be a port number 1-65535, not {raw!r}"


def _settings(c: schema.Config, watches: tuple[Watch, ...], base_dir: Path, source: str, port: int | None,
              url: str = "") -> Settings:
    feeds = tuple(FeedSettings(name=f.name, url=f.url, language=f.language, tier=f.tier, interval=f.interval,
                               source=f.source) for f in c.feeds)
    dests = tuple(Destination(
        name=d.name, platform=d.platform, channel=d.channel or None, webhook_env=d.webhook_env or None,
        path=resolve(base_dir, d.path) if d.path else None, format=d.format, thread_replies=d.thread_replies,
        unfurl=d.unfurl, max_alerts_per_hour=d.max_alerts_per_hour, timezone=d.timezone,
        headline_language=d.headline_language) for d in c.destinations)
    subs = tuple(Subscription(watch=s.watch, destination=s.destination, mode=s.mode, schedule=s.schedule,
                              timezone=s.timezone) for s in c.subscriptions)
    return Settings(
        feeds=feeds, watches=watches, destinations=dests, subscriptions=subs,
        storage=StorageSettings(path=resolve(base_dir, c.storage.path), keep_days=c.storage.keep_days,
                                url=url or c.storage.url, pool_size=c.storage.pool_size),
        polling=PollingSettings(**c.polling.model_dump()),
        access=AccessSettings(slack_admins=tuple(c.access.slack_admins),
                              allow_private_hosts=tuple(c.access.allow_private_hosts)),
        http=HttpSettings(host=c.http.host, port=port or c.http.port),
        source_path=source,
    )
