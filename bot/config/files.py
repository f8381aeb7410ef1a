"""Reading the files a config is made of: the TOML itself, watch files with their includes, and
fitted model files. Every problem is returned as a plain line; nothing here raises.

Relative paths are resolved against the directory of the file that names them (the config file
for watch files, storage and file sinks; a watch file for its includes and model), never against
the working directory: run from cron or systemd elsewhere, the bot must find the same database.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MEMORY = ":memory:"


def resolve(base_dir: Path, path: str) -> str:
    """`path` against `base_dir` unless it is absolute (or `~/…`, or SQLite's :memory: / file: URI)."""
    if path == MEMORY or path.startswith("file:"):
        return path
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else base_dir / p)


def read_toml(path: Path) -> tuple[dict[str, Any], str | None]:
    """The file's tables, or a problem in plain words (what to fix, not a traceback)."""
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8")), None
    except OSError as exc:
        return {}, f"cannot read {path} ({exc.strerror or exc})"
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, f"{path} is not valid TOML ({exc})"
    except RecursionError:  # tomllib recurses once per nesting level: ~500 deep exhausts the stack
        return {}, f"{path} is not valid TOML (arrays or tables nested too deeply)"


def read_watch_file(path: Path, where: str) -> tuple[dict[str, Any], list[str]]:
    """A watch file with its `include`s merged in (each relative to the file naming it)."""
    data, problem = read_toml(path)
    if problem:
        return {}, [f"{where}: {problem}"]
    errors: list[str] = []
    includes = data.pop("include", [])
    if not isinstance(includes, list):
        return data, [f"{where} include: must be an array of file names"]
    for inc in includes:
        more, errs = read_watch_file(path.parent / str(inc), f"{where} include {inc}")
        data, errors = merge(data, more), errors + errs
    return data, errors


def read_model_file(path: Path, where: str) -> tuple[dict[str, Any] | None, str | None]:
    """A fitted model file's JSON object, or a problem saying how to get one."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        return None, f"{where}: cannot read {path} ({exc.strerror or exc}); fit one with `deskwatch train`"
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{where}: {path} is not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"{where}: {path} must hold a JSON object"
    return data, None


def merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Shallow merge; arrays are concatenated, tables merged one level down."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, list) and isinstance(out.get(k), list):
            out[k] = [*out[k], *v]
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out
