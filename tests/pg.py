"""Real PostgreSQL servers for the archive tests and the archive bench suite.

``PgServer()`` runs ``initdb`` into a temp folder and starts ``postgres`` on a free port of
127.0.0.1 (trust authentication, superuser ``postgres``, fsync off: test data only). The
server refuses to run as root and the tests run as root in CI, so as root every server
command runs as Debian's unprivileged ``postgres`` user (created when missing); otherwise as
the current user. ``postgres`` is started in the foreground as a child of this process (what
``pg_ctl start`` would daemonize), with a parent-death signal on Linux, so a killed pytest
leaves no server behind; ``stop()``/``start()`` take it down and bring it back on the same
port and data (the outage tests), ``destroy()`` removes it. Binaries come from
``/usr/lib/postgresql/<newest>/bin`` (Debian) or PATH; ``scripts/ensure-postgres.sh``
installs them.

No pytest at import time: bench/bench_archive.py uses this module too.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
START_TIMEOUT = 60.0  # seconds initdb + first connection may take on a busy 2-core box
MISSING = (
    "PostgreSQL's initdb/pg_ctl not found; run `make test` (scripts/ensure-postgres.sh "
    "installs them) or apt-get install postgresql"
)
SERVER_USER = "postgres"  # the unprivileged account the server runs as when we are root


class PgMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def bin_dir() -> Path:
    """The folder holding initdb and postgres: Debian's newest version, else PATH's."""

    def version(d: str) -> tuple[int, ...]:
        name = Path(d).parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(
            os.path.join(d, "postgres"), os.X_OK
        ):
            return Path(d)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres"):
        return Path(initdb).parent
    raise PgMissing(MISSING)


def _free_port() -> int:
    try:  # the test session's port book-keeping, so no two servers race for one port
        from servers import free_port

        return int(free_port())
    except ImportError:  # the bench suite
        with socket.socket() as s:
            s.bind((HOST, 0))
            return int(s.getsockname()[1])


def _server_account() -> pwd.struct_passwd | None:
    """Who runs the server: None (ourselves) unless we are root; as root the ``postgres``
    account, created (a system user without a login shell) when missing."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             SERVER_USER],
            check=True, capture_output=True,
        )  # fmt: skip
        return pwd.getpwnam(SERVER_USER)


try:  # loaded here: after the switch to the server's account the child may not read our Python
    import ctypes

    _prctl: Any = ctypes.CDLL("libc.so.6", use_errno=True).prctl
except (ImportError, OSError, AttributeError):  # pragma: no cover - not glibc Linux
    _prctl = None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: SIGKILL the server if this process dies without stopping it."""
    if _prctl is not None:
        _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


_live: dict[int, PgServer] = {}  # id -> server, so a crashed session still cleans up
_template: Path | None = None  # this process's pristine initdb output, copied per server


class PgServer:
    """One PostgreSQL server in its own temp folder, on a free port.

    ``dsn(db)`` is a libpq URL for database ``db`` (default ``postgres``); ``create_db()``
    makes a fresh database and returns its name; ``stop(fast=True)`` shuts it down (``fast``:
    the smart-less fast shutdown; else an immediate one, a crash), ``start()`` brings it back
    on the same port and data; ``running``; ``destroy()`` stops it and removes its folder.
    """

    def __init__(self, *, config: dict[str, Any] | None = None, prefix: str = "zl-pg-") -> None:
        self.bin = bin_dir()
        self.account = _server_account()
        tmp = "/tmp" if os.path.isdir("/tmp") else None  # short: unix socket paths are limited
        self.dir = Path(tempfile.mkdtemp(prefix=prefix, dir=tmp))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        # fsync off: written data survives a crash of the server's processes (the kernel has
        # it), which is the outage the tests make; only a machine crash could lose it. Never
        # synchronous_commit off: an immediate stop would lose transactions the server had
        # reported committed (the archive's exactly-once rests on that report).
        self.config = {
            "fsync": "off",
            "full_page_writes": "off",
            "max_connections": "60",
            "shared_buffers": "64MB",
            "listen_addresses": HOST,
            "unix_socket_directories": str(self.dir),
            **{k: str(v) for k, v in (config or {}).items()},
        }
        _live[id(self)] = self
        try:
            if self.account is not None:
                os.chown(self.dir, self.account.pw_uid, self.account.pw_gid)
            self._init_data()
            for _attempt in range(5):  # a picked port can be taken before the server binds
                self.port = _free_port()
                if self._start():
                    return
            raise RuntimeError(f"postgres found no free port:\n{self.logs()}")
        except BaseException:
            self.destroy()
            raise

    # -- processes ---------------------------------------------------------------------------

    def _init_data(self) -> None:
        """The data folder: a copy (``cp -a``, owner kept) of a pristine one this process
        made with ``initdb`` once, which takes seconds where the copy takes a fraction."""
        global _template
        if _template is None or not (_template / "PG_VERSION").exists():
            tdir = Path(tempfile.mkdtemp(prefix="zl-pg-template-", dir=self.dir.parent))
            if self.account is not None:
                os.chown(tdir, self.account.pw_uid, self.account.pw_gid)
            self._run(
                [str(self.bin / "initdb"), "-D", str(tdir / "data"), "-U", "postgres",
                 "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
            )  # fmt: skip
            _template = tdir / "data"
            atexit.register(shutil.rmtree, tdir, True)
        out = subprocess.run(
            ["cp", "-a", str(_template), str(self.data)], capture_output=True, text=True
        )
        if out.returncode != 0:
            raise RuntimeError(f"copying the initdb template failed: {out.stderr}")

    def _popen_kw(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"stdin": subprocess.DEVNULL, "cwd": str(self.dir)}
        if self.account is not None:
            kw.update(user=self.account.pw_uid, group=self.account.pw_gid, extra_groups=[])
            kw["env"] = {**os.environ, "HOME": str(self.dir), "USER": SERVER_USER}
        return kw

    def _run(self, args: list[str]) -> None:
        out = subprocess.run(args, capture_output=True, text=True, check=False, **self._popen_kw())
        if out.returncode != 0:
            cmd = " ".join(args)
            raise RuntimeError(f"{cmd} failed ({out.returncode}):\n{out.stdout}{out.stderr}")

    def _start(self) -> bool:
        """Starts postgres and waits until it takes connections; False if the port was taken."""
        args = [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        for key, value in self.config.items():
            args += ["-c", f"{key}={value}"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                **self._popen_kw(),
            )
        try:
            self.wait_ready()
        except RuntimeError:
            if self.proc.poll() is not None and "already in use" in self.logs():
                self.proc = None
                return False
            self._signal(signal.SIGQUIT)
            raise
        return True

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Waits until the server answers a query (``SELECT 1``)."""
        import psycopg

        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                with psycopg.connect(self.dsn(), connect_timeout=2, autocommit=True) as c:
                    c.execute("SELECT 1")
                return
            except psycopg.Error as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError(
            f"postgres on port {self.port} not ready within {timeout}s ({last!r}):\n{self.logs()}"
        )

    def _signal(self, sig: int, timeout: float = 30.0) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.proc = None

    # -- the outage helpers ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, *, fast: bool = True) -> None:
        """Shuts the server down: SIGINT (fast shutdown: clients are disconnected, the data is
        checkpointed) or, with ``fast=False``, SIGQUIT (immediate: a crash, recovery on the
        next start). Connections are refused until ``start()``."""
        self._signal(signal.SIGINT if fast else signal.SIGQUIT)

    def start(self) -> None:
        """Starts the stopped server again on the same port and data."""
        if self.running:
            return
        deadline = time.monotonic() + START_TIMEOUT
        while not self._start():  # the port can linger for a moment after a stop
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres could not rebind port {self.port}")
            time.sleep(0.1)

    def destroy(self) -> None:
        """Stops the server and removes its folder. Safe to call twice."""
        self._signal(signal.SIGINT, timeout=15)
        _live.pop(id(self), None)
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- databases ---------------------------------------------------------------------------

    def dsn(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{db}"

    def create_db(self, prefix: str = "t") -> str:
        """A fresh, empty database; returns its name."""
        import psycopg

        name = prefix + uuid.uuid4().hex[:12]
        with psycopg.connect(self.dsn(), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def drop_db(self, name: str) -> None:
        """Drops a database, disconnecting whoever is still connected to it."""
        import psycopg

        if not self.running:
            return
        with psycopg.connect(self.dsn(), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def logs(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def __repr__(self) -> str:
        return f"PgServer(port={self.port}, running={self.running})"


def _kill_leftovers() -> None:
    for server in list(_live.values()):
        server.destroy()


atexit.register(_kill_leftovers)
