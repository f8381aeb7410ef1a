"""A throwaway PostgreSQL server for tests: initdb into a temporary folder, listen on 127.0.0.1.

Binaries come from the pgserver wheel (PostgreSQL 16, a dev extra), else from the system's
installation. PostgreSQL refuses to run as root, so as root the server runs as an unprivileged
user (created if missing). Durability is off (fsync, full-page writes): the data is thrown away.
DESKWATCH_TEST_DATABASE_URL points the tests at a server of your own instead (it must be a
throwaway one too: each test makes a schema in it).
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

URL_VARIABLE = "DESKWATCH_TEST_DATABASE_URL"
USER = "deskwatch-pg"  # the system user the server runs as when the tests run as root


@dataclass
class PgServer:
    url: str
    data: Path | None = None  # None: a server we did not start (URL_VARIABLE)
    pg_ctl: Path | None = None
    user: str | None = None

    def stop(self) -> None:
        if self.data is None or self.pg_ctl is None:
            return
        _run([str(self.pg_ctl), "-D", str(self.data / "db"), "-m", "immediate", "-w", "stop"], self.user,
             check=False)
        shutil.rmtree(self.data, ignore_errors=True)


def binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: pgserver's, else the system's."""
    # Located, not imported: importing pgserver starts its own machinery (runtime folders, locks).
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin is not None:
        found = Path(spec.origin).parent / "pginstall" / "bin"
        if (found / "initdb").exists():
            return found
    for candidate in [*sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True), "/usr/local/bin", "/usr/bin"]:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def start() -> PgServer:
    """Start a server (or use URL_VARIABLE's); raise RuntimeError saying why it cannot."""
    if url := os.environ.get(URL_VARIABLE, "").strip():
        return PgServer(url)
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL binaries: pip install -e '.[dev]' (pgserver), or set " + URL_VARIABLE)
    user = _unprivileged_user(bin_dir) if os.geteuid() == 0 else None
    data = Path(tempfile.mkdtemp(prefix="deskwatch-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(data, entry.pw_uid, entry.pw_gid)
    _run([str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "postgres", "-A", "trust", "-E", "UTF8",
          "--locale=C", "--no-sync"], user)
    port = _free_port()
    options = (f"-h 127.0.0.1 -p {port} -k '' -F -c full_page_writes=off -c synchronous_commit=off "
               "-c max_connections=200")
    pg_ctl = bin_dir / "pg_ctl"
    _run([str(pg_ctl), "-D", str(data / "db"), "-l", str(data / "log"), "-w", "-t", "60", "-o", options, "start"],
         user)
    return PgServer(f"postgresql://postgres@127.0.0.1:{port}/postgres", data, pg_ctl, user)


def _run(cmd: list[str], user: str | None, check: bool = True) -> None:
    done = subprocess.run(cmd, user=user, capture_output=True, text=True, timeout=120, cwd="/")
    if check and done.returncode:
        raise RuntimeError(f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _unprivileged_user(bin_dir: Path) -> str:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
                       check=True, capture_output=True)
    # The server must reach its binaries, libraries and share files: let others traverse every
    # folder above them (a checkout under /root is 0700). Traverse only, never read.
    for folder in [bin_dir.parent, *bin_dir.parent.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)
    return USER


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
