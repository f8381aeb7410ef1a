"""The deployment files, read as data: Dockerfile, docker-compose.yml, .dockerignore and the
systemd unit keep the properties an operator relies on (no Docker daemon is needed: the parts
that can run — the dependency list, the config rewrite — are run here on the real files)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (REPO / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def index_of(pred: Callable[[str, str], bool]) -> int:
    return next(i for i, step in enumerate(dockerfile()) if pred(*step))


def env() -> dict[str, str]:
    values: dict[str, str] = {}
    for word, rest in dockerfile():
        if word == "ENV":
            values.update(dict(pair.split("=", 1) for pair in shlex.split(rest)))
    return values


def test_dependencies_are_installed_from_pyproject_alone_before_the_code_is_copied() -> None:
    steps = dockerfile()
    copies = [(i, rest) for i, (w, rest) in enumerate(steps) if w == "COPY"]
    assert copies[0][1] == "pyproject.toml ./"  # nothing else yet: a code change keeps the next layer
    deps = index_of(lambda w, r: w == "RUN" and "pip install" in r and "-r " in r)
    code = index_of(lambda w, r: w == "COPY" and r.startswith("bot "))
    assert copies[0][0] < deps < code
    assert index_of(lambda w, r: w == "RUN" and "--no-deps ." in r) > code  # the package alone, later


def test_the_dependency_step_lists_exactly_the_project_dependencies() -> None:
    run = next(r for w, r in dockerfile() if w == "RUN" and "tomllib" in r)
    words = shlex.split(run.split(">", 1)[0])
    assert words[:2] == ["python", "-c"]
    printed = subprocess.run([sys.executable, "-c", words[2]], cwd=REPO, capture_output=True, text=True, check=True)
    with (REPO / "pyproject.toml").open("rb") as f:
        assert printed.stdout.split("\n")[:-1] == tomllib.load(f)["project"]["dependencies"]


def test_runs_as_a_non_root_user_that_owns_data_and_works_there() -> None:
    steps = dockerfile()
    users = [r for w, r in steps if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    created = next(r for w, r in steps if w == "RUN" and "useradd" in r)
    uid = re.search(r"--uid (\d+)", created)
    assert uid and users[-1].split(":")[0] in (uid.group(1), "deskwatch")
    assert re.search(r"chown deskwatch(:deskwatch)? /data", created)
    assert ("VOLUME", '["/data"]') in steps
    workdirs = [r for w, r in steps if w == "WORKDIR"]
    assert workdirs[-1] == "/data"
    assert steps[-1] == ("CMD", '["deskwatch", "run"]')


def test_the_built_in_config_is_found_and_writes_into_data() -> None:
    conf = env()["DESKWATCH_CONFIG"]
    assert conf == "/app/config/deskwatch.toml" and ("COPY", "config ./config") in dockerfile()
    sed = next(r for w, r in dockerfile() if w == "RUN" and "sed -i" in r)
    script = shlex.split(sed[sed.index("sed -i"):])[2]
    text = (REPO / "config" / "deskwatch.toml").read_text()
    for expr in script.split(";"):
        _s, old, new, _flags = expr.strip().split("#")
        assert re.search(old, text, re.M), f"the Dockerfile's sed no longer matches config/deskwatch.toml: {old}"
        text = re.sub(old, new, text, flags=re.M)
    paths = re.findall(r'^path = "([^"]*)"', text, re.M)
    assert paths and all(p.startswith("/data/") for p in paths), paths


def test_exposes_the_http_port_and_checks_health_with_python_not_curl() -> None:
    port = env()["DESKWATCH_HTTP_PORT"]
    assert ("EXPOSE", port) in dockerfile()
    check = next(r for w, r in dockerfile() if w == "HEALTHCHECK")
    options, _, command = check.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options and "--start-period=" in options
    argv = json.loads(command)  # exec form: no shell needed
    assert argv[:2] == ["python", "-c"] and "urllib.request" in argv[2] and "/healthz" in argv[2]
    assert "DESKWATCH_HTTP_PORT" in argv[2] and not {"curl", "wget"} & set(re.findall(r"\w+", check))


def test_dockerignore_keeps_secrets_and_clutter_out_but_not_what_the_image_copies() -> None:
    lines = {x.strip() for x in (REPO / ".dockerignore").read_text().splitlines() if x.strip()
             and not x.startswith("#")}
    assert {".git", ".venv", "**/*.env", "**/.env", "**/*.db", "local"} <= lines
    copied = {r.split()[0] for w, r in dockerfile() if w == "COPY"} | {"README.md"}
    assert not copied & lines


COMPOSE = (REPO / "docker-compose.yml").read_text()


def test_compose_mounts_the_config_read_only_a_volume_for_data_and_an_env_file() -> None:
    assert re.search(r"^  deskwatch:\n    build: \.$", COMPOSE, re.M)
    assert re.search(r"^    env_file: deskwatch\.env\b", COMPOSE, re.M)
    assert re.search(r"^      - deskwatch-data:/data\b", COMPOSE, re.M)
    assert re.search(r"^volumes:\n  deskwatch-data:", COMPOSE, re.M)  # a named volume, declared
    mount = re.search(r"^      - (\S+):/config:ro\b", COMPOSE, re.M)
    assert mount and mount.group(1) == "./local"
    assert re.search(r"^      DESKWATCH_CONFIG: /config/deskwatch\.toml$", COMPOSE, re.M)
    port = re.search(r'^      DESKWATCH_HTTP_PORT: "(\d+)"', COMPOSE, re.M)
    assert port and port.group(1) == env()["DESKWATCH_HTTP_PORT"]
    published = re.search(r'^      - "([\d.]+):(\d+):(\d+)"', COMPOSE, re.M)
    assert published and published.group(1) == "127.0.0.1" and published.group(3) == port.group(1)
    assert re.search(r"^    restart: unless-stopped$", COMPOSE, re.M)
    assert "local/" in (REPO / ".gitignore").read_text() and "*.env" in (REPO / ".gitignore").read_text()


def unit() -> dict[str, dict[str, list[str]]]:
    """The systemd unit as section → key → values (a key may repeat, as systemd allows)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (REPO / "deploy" / "deskwatch.service").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {raw!r}"
        assert " #" not in value, f"systemd has no end-of-line comments: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_systemd_unit_runs_unprivileged_restarts_on_failure_and_is_hardened() -> None:
    s = unit()
    svc = s["Service"]
    assert svc["User"][0] not in ("root", "0") and svc["Group"][0] not in ("root", "0")
    assert svc["Restart"] == ["on-failure"]
    assert svc["EnvironmentFile"][0].startswith("/etc/deskwatch/")
    assert svc["WorkingDirectory"] == [f"/var/lib/{svc['StateDirectory'][0]}"]
    assert re.fullmatch(r"\d+s?", svc["TimeoutStopSec"][0])
    assert svc["ExecStart"][0].endswith("deskwatch run") and svc["ExecStart"][0].startswith("/")
    assert "DESKWATCH_CONFIG=/etc/deskwatch/deskwatch.toml" in svc["Environment"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "CapabilityBoundingSet": ""}.items():
        assert svc[key] == [value], key
    assert "network-online.target" in s["Unit"]["After"][0]
    assert s["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_example_env_file_names_only_variables_the_bot_or_the_shipped_config_reads() -> None:
    names = re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (REPO / "deploy" / "deskwatch.env.example").read_text(), re.M)
    known = "\n".join(p.read_text() for p in (*(REPO / "bot").rglob("*.py"), REPO / "config" / "deskwatch.toml"))
    assert {"DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"} <= set(names)
    assert all(n in known for n in names), names


def service(name: str) -> str:
    """One service's block of docker-compose.yml (its indented lines)."""
    found = re.search(rf"^  {re.escape(name)}:\n((?:    .*\n|\n)*)", COMPOSE, re.M)
    assert found, f"no service {name} in docker-compose.yml"
    return found.group(1)


def test_the_postgres_profile_adds_a_database_and_a_second_worker_and_leaves_sqlite_the_default() -> None:
    default, second, db = service("deskwatch"), service("deskwatch-2"), service("postgres")
    # the default service has no profile and needs no database: `docker compose up` is SQLite
    assert not re.search(r"^    (profiles|depends_on):", default, re.M) and "DATABASE_URL:" not in default
    for block in (second, db):
        assert re.search(r'^    profiles: \["postgres"\]$', block, re.M)
    # the second worker is the first one's twin, waiting for a healthy database, on its own port
    for line in ("    build: .", "    env_file: deskwatch.env", "      - ./local:/config:ro",
                 "    restart: unless-stopped", "      DESKWATCH_CONFIG: /config/deskwatch.toml"):
        assert line in default and line in second, line
    assert re.search(r"^    depends_on:\n      postgres:\n        condition: service_healthy$", second, re.M)
    ports = re.findall(r'^      - "([\d.]+):(\d+):\d+"', COMPOSE, re.M)
    assert all(host == "127.0.0.1" for host, _ in ports) and len({p for _, p in ports}) == len(ports) == 2
    # the database: a named volume, a health check, its own env file (not the bot's tokens), not published
    assert re.search(r"^    image: postgres:\d+", db, re.M) and "ports:" not in db
    assert re.search(r"^      - postgres-data:/var/lib/postgresql/data\b", db, re.M)
    assert re.search(r"^volumes:\n  deskwatch-data:\n  postgres-data:", COMPOSE, re.M)
    assert "pg_isready" in db and re.search(r"^    healthcheck:\n      test:", db, re.M)
    assert re.search(r"^    env_file: postgres\.env\b", db, re.M) and "deskwatch.env" not in db
    user = re.search(r"^      POSTGRES_USER: (\w+)$", db, re.M)
    name = re.search(r"^      POSTGRES_DB: (\w+)$", db, re.M)
    assert user and name
    # the URL the workers read from deskwatch.env names that service, user and database
    example = (REPO / "deploy" / "deskwatch.env.example").read_text()
    url = re.search(r"^# DESKWATCH_DATABASE_URL=postgresql://(\w+):<password>@postgres:5432/(\w+)$", example, re.M)
    assert url and url.groups() == (user.group(1), name.group(1))
    assert re.search(r"^POSTGRES_PASSWORD=$", (REPO / "deploy" / "postgres.env.example").read_text(), re.M)
