"""A throwaway PostgreSQL server for tests: initdb into a temporary folder, listen on 127.0.0.1.

Binaries come from the pgserver wheel (PostgreSQL 16, a dev extra), else from the system's
installation. PostgreSQL refuses to run as root, so as root the server runs as an unprivileged
user (created if missing). Durability is off (fsync, full-page writes): the data is thrown away.
The server is a child of the test process and dies with it, however that dies.
DESKWATCH_TEST_DATABASE_URL points the tests at a server of your own instead (it must be a
throwaway one too: each test makes a schema in it).
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

URL_VARIABLE = "DESKWATCH_TEST_DATABASE_URL"
USER = "deskwatch-pg"  # the system user the server runs as when the tests run as root
PREFIX = "deskwatch-pg-"  # its temporary folder


@dataclass
class PgServer:
    url: str
    data: Path | None = None  # None: a server we did not start (URL_VARIABLE)
    proc: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGQUIT)  # immediate shutdown: the data is thrown away
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.data is not None:
            shutil.rmtree(self.data, ignore_errors=True)


def binaries() -> Path | None:
    """The folder holding initdb and postgres: pgserver's, else the system's."""
    # Located, not imported: importing pgserver starts its own machinery (runtime folders, locks).
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin is not None:
        found = Path(spec.origin).parent / "pginstall" / "bin"
        if (found / "initdb").exists():
            return found
    for candidate in [*sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True), "/usr/local/bin", "/usr/bin"]:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "postgres").exists():
            return Path(candidate)
    return None


def start() -> PgServer:
    """Start a server (or use URL_VARIABLE's); raise RuntimeError saying why it cannot."""
    if url := os.environ.get(URL_VARIABLE, "").strip():
        return PgServer(url)
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL binaries: pip install -e '.[dev]' (pgserver), or set " + URL_VARIABLE)
    _remove_stale()
    user = _unprivileged_user(bin_dir) if os.geteuid() == 0 else None
    data = Path(tempfile.mkdtemp(prefix=PREFIX))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(data, entry.pw_uid, entry.pw_gid)
    _run([str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "postgres", "-A", "trust", "-E", "UTF8",
          "--locale=C", "--no-sync"], user)
    port = _free_port()
    # The postmaster is our child, not a daemon: it gets SIGKILL when the test process dies, however
    # it dies (a timeout's kill included), so no server outlives its session.
    with (data / "log").open("ab") as log:
        proc = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(data / "db"), "-h", "127.0.0.1", "-p", str(port), "-k", "",
             "-F", "-c", "full_page_writes=off", "-c", "synchronous_commit=off", "-c", "max_connections=200"],
            user=user, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/", preexec_fn=_die_with_parent)
    server = PgServer(f"postgresql://postgres@127.0.0.1:{port}/postgres", data, proc)
    try:
        _wait_ready(data / "db" / "postmaster.pid", proc, data / "log")
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(pid_file: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"postgres exited ({proc.returncode}): {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError):
            if pid_file.read_text().rstrip().endswith("ready"):  # the postmaster's status line
                return
        time.sleep(0.05)
    raise RuntimeError("postgres did not become ready within 60 s")


def _die_with_parent() -> None:
    # Runs in the child after it became the server's user: prctl(PR_SET_PDEATHSIG, SIGKILL).
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


def _remove_stale() -> None:
    """Folders of servers whose session was killed before it could clean up (their postmaster,
    killed with the session, is gone); a live server, or one another session is starting, stays."""
    for folder in glob.glob(os.path.join(tempfile.gettempdir(), PREFIX + "*")):
        try:
            if time.time() - os.path.getmtime(folder) < 600:
                continue
            pid = int((Path(folder) / "db" / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            shutil.rmtree(folder, ignore_errors=True)


def _run(cmd: list[str], user: str | None) -> None:
    done = subprocess.run(cmd, user=user, capture_output=True, text=True, timeout=120, cwd="/")
    if done.returncode:
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
