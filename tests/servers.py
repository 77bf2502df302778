"""Real redis-server processes for the tests: standalone servers and a 3-master cluster on
free ports, a tiny RESP client, TLS certificates and helpers. Used by conftest.py."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HOST = "127.0.0.1"
START_TIMEOUT = 20.0  # seconds a server may take to answer PING (generous: 2-core CI boxes)
CLUSTER_TIMEOUT = 60.0  # seconds the cluster may take to reach cluster_state:ok
MISSING_REDIS = (
    "redis-server not found; run `make test`, which installs it, or apt-get install redis-server"
)


# --------------------------------------------------------------------------------------------
# Tools on PATH
# --------------------------------------------------------------------------------------------


def _which(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if name == "redis-server":
            msg = MISSING_REDIS
        elif name == "redis-cli":
            msg = (
                "redis-cli not found; run `make test`, which installs it, "
                "or apt-get install redis-tools"
            )
        else:
            msg = f"{name} not found; run scripts/ensure-redis.sh or apt-get install {name}"
        pytest.fail(msg, pytrace=False)
    return path


def redis_server_bin() -> str:
    return _which("redis-server")


def redis_cli_bin() -> str:
    return _which("redis-cli")


# --------------------------------------------------------------------------------------------
# Free ports
# --------------------------------------------------------------------------------------------

_handed_out: set[int] = set()


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(*, cluster_bus: bool = False) -> int:
    """A TCP port nothing listens on (bound to port 0 to pick it).

    With ``cluster_bus`` the port + 10000 (Redis Cluster's bus port) is free as well. Ports
    handed out earlier in this session are never handed out again, so two servers started
    back to back cannot race for the same one.
    """
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
        if port in _handed_out:
            continue
        if cluster_bus and (port + 10000 > 65535 or not _port_is_free(port + 10000)):
            continue
        _handed_out.add(port)
        if cluster_bus:
            _handed_out.add(port + 10000)
        return port
    raise RuntimeError("could not find a free port")


# --------------------------------------------------------------------------------------------
# A tiny RESP client, enough to wait for servers (works before redis-py is installed)
# --------------------------------------------------------------------------------------------


def _encode(*args: str | bytes | int) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def _read_reply(f: Any) -> Any:
    line = f.readline()
    if not line:
        raise ConnectionResetError("server closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2].decode(errors="replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise ValueError(f"unexpected RESP reply {line!r}")


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------

_live: dict[int, RedisServer] = {}  # pid -> server, so a crashed session still cleans up


def _tmpdir(prefix: str) -> Path:
    # Under /tmp with a short name: unix socket paths are limited to ~107 bytes.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp" if os.path.isdir("/tmp") else None))


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: SIGKILL the server if pytest dies without running teardown (os._exit from a
    pytest-timeout thread, SIGKILL of the runner)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class RedisServer:
    """One ``redis-server`` process in its own temp dir and process group.

    ``port`` is the TCP (or, with TLS, the TLS) port; ``url`` a URL zerolag accepts for it;
    ``unixsocket`` the socket path when started with one; ``password`` the ``requirepass``.
    """

    def __init__(
        self,
        *,
        pick_port: Callable[[], int] = free_port,
        config: dict[str, Any] | None = None,
        tls: bool = False,
        unixsocket: bool = False,
        prefix: str = "zl-redis-",
    ) -> None:
        self.dir = _tmpdir(prefix)
        self.port = 0
        self.tls = tls
        self.config = dict(config or {})
        self.password: str | None = None
        if "requirepass" in self.config:
            self.password = str(self.config["requirepass"])
        self.unixsocket = str(self.dir / "redis.sock") if unixsocket else None
        self.certs: dict[str, Path] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.dir / "redis.log"
        self.args: list[str] = []
        try:
            if tls:
                self.certs = make_tls_certs(self.dir / "tls")
            for _attempt in range(5):  # a picked port can be taken before the server binds it
                self.port = pick_port()
                self.args = self._args()
                if self._start():
                    return
                self._reap()
            raise RuntimeError(f"redis-server found no free port:\n{self.logs()}")
        except BaseException:
            self.stop()
            raise

    def _args(self) -> list[str]:
        args = [redis_server_bin(), "--save", ""]
        args += f"--bind {HOST} --appendonly no --daemonize no --protected-mode no".split()
        args += ["--dir", str(self.dir), "--logfile", str(self.log)]
        if self.tls:
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
            for opt, name in (("cert-file", "cert"), ("key-file", "key"), ("ca-cert-file", "ca")):
                args += [f"--tls-{opt}", str(self.certs[name])]
        else:
            args += ["--port", str(self.port)]
        if self.unixsocket:
            args += ["--unixsocket", self.unixsocket, "--unixsocketperm", "700"]
        for key, value in self.config.items():
            if isinstance(value, bool):
                value = "yes" if value else "no"
            args += [f"--{key.replace('_', '-')}", str(value)]
        return args

    # -- lifecycle ---------------------------------------------------------------------------

    def _start(self) -> bool:
        """Starts the process and waits for PING; False if the port was taken meanwhile."""
        self.log.unlink(missing_ok=True)
        with open(self.dir / "stderr.log", "wb") as err:
            self.proc = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,  # own process group: SIGSTOP hits only the server
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        _live[self.proc.pid] = self
        try:
            self.wait_ready()
        except RuntimeError:
            if self.proc.poll() is not None and "Address already in use" in self.logs():
                return False
            raise
        return True

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def url(self) -> str:
        if self.tls:
            return f"rediss://{HOST}:{self.port}/#insecure"
        return f"redis://{HOST}:{self.port}/0"

    def logs(self) -> str:
        parts = []
        for name in ("redis.log", "stderr.log"):
            p = self.dir / name
            if p.exists():
                parts.append(p.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def _connect(self, timeout: float = 2.0) -> socket.socket:
        if self.unixsocket and not self.tls:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(self.unixsocket)
            return s
        s = socket.create_connection((HOST, self.port), timeout=timeout)
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s, server_hostname=HOST)
        return s

    def command(self, *args: str | int, db: int | None = None, timeout: float = 5.0) -> Any:
        """Sends one command on a fresh connection (AUTH first if the server has a password,
        SELECT first if ``db`` is given) and returns the decoded reply."""
        with self._connect(timeout) as s, s.makefile("rb") as f:
            prelude: list[tuple[str | int, ...]] = []
            if self.password is not None:
                prelude.append(("AUTH", self.password))
            if db is not None:
                prelude.append(("SELECT", db))
            for cmd in prelude:
                s.sendall(_encode(*cmd))
                reply = _read_reply(f)
                if isinstance(reply, Exception):
                    raise reply
            s.sendall(_encode(*args))
            reply = _read_reply(f)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def keys(self, pattern: str = "*", db: int | None = None) -> set[str]:
        """Every key of ``db`` matching ``pattern`` (by SCAN, as the server stores them)."""
        out: set[str] = set()
        cursor = "0"
        while True:
            cursor, batch = self.command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000, db=db)
            out.update(batch)
            if cursor == "0":
                return out

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self.proc.returncode} "
                    f"(args: {' '.join(self.args)}):\n{self.logs()}"
                )
            try:
                if self.command("PING", timeout=1.0) == "PONG":
                    return
            except (OSError, RuntimeError, ValueError) as e:
                last = e
            time.sleep(0.02)
        raise RuntimeError(
            f"redis-server on port {self.port} did not answer PING within {timeout}s "
            f"(last error: {last!r}):\n{self.logs()}"
        )

    def pause(self) -> None:
        """SIGSTOP: the server keeps its sockets but answers nothing."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def restart(self, *, kill: bool = True, down_for: float = 0.0) -> None:
        """Stops the server (SIGKILL by default: a crash; SIGTERM with ``kill=False``), waits
        ``down_for`` seconds, and starts it again on the same port and directory, so its data
        comes back from the AOF/RDB files when persistence is configured (e.g.
        ``make_redis_server(appendonly=True, appendfsync="always")``)."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)
                os.kill(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
            proc.wait(timeout=10)
            _live.pop(proc.pid, None)
        if down_for:
            time.sleep(down_for)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._start():  # the port can linger for a moment after a kill
            self._reap()
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server could not rebind port {self.port}")
            time.sleep(0.1)

    def _reap(self) -> None:
        """Stops the process (SIGCONT first in case it is paused; SIGTERM, then SIGKILL)."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)
                proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(timeout=5)
        _live.pop(proc.pid, None)

    def stop(self) -> None:
        """Stops the server and removes its directory. Safe to call twice."""
        self._reap()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"RedisServer(port={self.port}, pid={self.proc.pid if self.proc else None})"


class RedisCluster:
    """A Redis Cluster on free ports: 3 masters, and ``replicas`` replicas per master (the
    first ``masters`` nodes are the masters when it starts; a failover can change that)."""

    def __init__(self, masters: int = 3, replicas: int = 0, node_timeout_ms: int = 2000) -> None:
        self.nodes: list[RedisServer] = []
        self.replicas = replicas
        try:
            for _ in range(masters * (1 + replicas)):
                self.nodes.append(
                    RedisServer(
                        pick_port=lambda: free_port(cluster_bus=True),
                        prefix="zl-cluster-",
                        config={
                            "cluster_enabled": True,
                            "cluster_config_file": "nodes.conf",
                            "cluster_node_timeout": node_timeout_ms,
                        },
                    )
                )
            addrs = [f"{HOST}:{n.port}" for n in self.nodes]
            cmd = [redis_cli_bin(), "--cluster", "create", *addrs]
            cmd += ["--cluster-replicas", str(replicas), "--cluster-yes"]
            out = subprocess.run(
                cmd, capture_output=True, text=True, timeout=CLUSTER_TIMEOUT, check=False
            )
            if out.returncode != 0:
                raise RuntimeError(
                    f"redis-cli --cluster create failed ({out.returncode}):\n"
                    f"{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
                )
            self.wait_ok()
        except BaseException:
            self.stop()
            raise

    def wait_ok(self, timeout: float = CLUSTER_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        info = ""
        while time.monotonic() < deadline:
            states = []
            for n in self.nodes:
                try:
                    info = n.command("CLUSTER", "INFO")
                    slots = n.command("CLUSTER", "SLOTS")
                except (OSError, RuntimeError, ValueError) as e:
                    info = repr(e)
                    states.append(False)
                    continue
                # ok on every node, and every node knows every master's slots (and replicas)
                masters = len(self.nodes) // (1 + self.replicas)
                replicas_known = all(len(r) >= 3 + self.replicas for r in slots)
                states.append(
                    "cluster_state:ok" in info and len(slots) >= masters and replicas_known
                )
            if all(states):
                return
            time.sleep(0.1)
        raise RuntimeError(f"cluster did not reach cluster_state:ok in {timeout}s: {info}")

    @property
    def ports(self) -> list[int]:
        return [n.port for n in self.nodes]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"{HOST}:{p}" for p in self.ports)

    def _nodes_table(self) -> list[list[str]]:
        for n in self.nodes:
            if n.proc is not None and n.proc.poll() is None:
                try:
                    return [ln.split() for ln in n.command("CLUSTER", "NODES").splitlines()]
                except (OSError, RuntimeError, ValueError):
                    continue
        raise RuntimeError("no live cluster node answers")

    def masters(self) -> list[RedisServer]:
        """The nodes that serve slots now (healthy masters), as seen by a live node."""
        ports = {
            int(row[1].split("@")[0].rsplit(":", 1)[1])
            for row in self._nodes_table()
            if "master" in row[2] and "fail" not in row[2] and len(row) > 8
        }
        return [n for n in self.nodes if n.port in ports]

    def kill(self, node: RedisServer) -> None:
        """SIGKILLs one node (its process group): a crash, not a shutdown."""
        assert node.proc is not None
        os.killpg(node.proc.pid, signal.SIGKILL)
        node.proc.wait(timeout=10)

    def wait_failover(self, dead: RedisServer, timeout: float = CLUSTER_TIMEOUT) -> float:
        """Waits until the live nodes agree the cluster is ok without ``dead`` (its replica
        promoted); returns the seconds it took."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            live = [n for n in self.nodes if n is not dead and n.proc and n.proc.poll() is None]
            try:
                ok = all("cluster_state:ok" in n.command("CLUSTER", "INFO") for n in live)
                if ok and dead not in self.masters():
                    return time.monotonic() - t0
            except (OSError, RuntimeError, ValueError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"no failover within {timeout}s")

    def owner(self, slot: int) -> RedisServer:
        """The master serving ``slot`` now, as seen by a live node."""
        for row in self._nodes_table():
            if "master" not in row[2] or "fail" in row[2]:
                continue
            for part in row[8:]:
                if part.startswith("["):
                    continue  # a slot being imported or migrated, listed apart
                lo, _, hi = part.partition("-")
                if int(lo) <= slot <= int(hi or lo):
                    port = int(row[1].split("@")[0].rsplit(":", 1)[1])
                    return next(n for n in self.nodes if n.port == port)
        raise RuntimeError(f"no master serves slot {slot}")

    def move_slot(
        self,
        slot: int,
        to: RedisServer,
        *,
        batch: int = 1,
        pause: float = 0.0,
        half_moved: Callable[[], None] | None = None,
    ) -> int:
        """Moves ``slot`` to the master ``to`` the way ``redis-cli --cluster reshard`` does
        (``CLUSTER SETSLOT … IMPORTING`` on the target, ``MIGRATING`` on the source, ``MIGRATE``
        of ``batch`` keys at a time, then ``SETSLOT … NODE`` everywhere), sleeping ``pause``
        seconds between batches so the slot stays half moved for a while; ``half_moved`` is
        called once after the first batch. Returns how many keys moved. A ``MIGRATE`` that
        fails (``BUSYKEY``: the target holds a key of that name already) raises, leaving the
        slot half moved, as redis-cli leaves it."""
        source = self.owner(slot)
        if source is to:
            return 0
        src_id = source.command("CLUSTER", "MYID")
        dst_id = to.command("CLUSTER", "MYID")
        to.command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
        source.command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
        moved = 0
        while True:
            keys = source.command("CLUSTER", "GETKEYSINSLOT", slot, batch)
            if not keys:
                break
            source.command("MIGRATE", HOST, to.port, "", 0, 5000, "KEYS", *keys)
            moved += len(keys)
            if moved == len(keys) and half_moved is not None:
                half_moved()
            if pause:
                time.sleep(pause)
        to.command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
        source.command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
        for n in self.masters():
            if n is not to and n is not source:
                n.command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
        return moved

    def reshard(self, slots: int, source: RedisServer, to: RedisServer, pipeline: int = 1) -> str:
        """``redis-cli --cluster reshard``: moves ``slots`` slots (the lowest ones ``source``
        serves) to ``to``, ``pipeline`` keys per ``MIGRATE``; returns its output, raises if it
        failed."""
        cmd = [redis_cli_bin(), "--cluster", "reshard", f"{HOST}:{source.port}"]
        cmd += ["--cluster-from", source.command("CLUSTER", "MYID")]
        cmd += ["--cluster-to", to.command("CLUSTER", "MYID")]
        cmd += ["--cluster-slots", str(slots), "--cluster-pipeline", str(pipeline)]
        cmd += ["--cluster-yes"]
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=CLUSTER_TIMEOUT * 5, check=False
        )
        if out.returncode != 0 or "ERR" in out.stdout:
            raise RuntimeError(f"reshard failed ({out.returncode}):\n{out.stdout[-3000:]}")
        return out.stdout

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()


def _kill_leftovers() -> None:
    for server in list(_live.values()):
        server.stop()


atexit.register(_kill_leftovers)


def pytest_unconfigure(config: pytest.Config) -> None:
    _kill_leftovers()


# --------------------------------------------------------------------------------------------
# TLS material
# --------------------------------------------------------------------------------------------


def make_tls_certs(directory: Path) -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost, made with openssl."""
    openssl = _which("openssl")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt, key, csr, crt, ext = (
        directory / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt", "x")
    )
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    new_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes".split()

    def run(*args: Any) -> None:
        cmd = [openssl, *map(str, args)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr}")

    run("req", "-x509", *new_key, "-keyout", ca_key, "-out", ca_crt, "-days", "2",
        "-subj", "/CN=zerolag test CA")  # fmt: skip
    run("req", *new_key, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-out", crt, "-days", "2", "-extfile", ext)  # fmt: skip
    return {"ca": ca_crt, "cert": crt, "key": key}


# --------------------------------------------------------------------------------------------
# redis-cli helper
# --------------------------------------------------------------------------------------------


def run_redis_cli(
    port: int,
    *args: str | int,
    password: str | None = None,
    user: str | None = None,
    tls: bool = False,
    check: bool = True,
) -> str:
    """Runs ``redis-cli -h 127.0.0.1 -p PORT ARGS`` and returns its stdout (stripped)."""
    cmd = [redis_cli_bin(), "-h", HOST, "-p", str(port)]
    if tls:
        cmd += ["--tls", "--insecure"]
    if user is not None:
        cmd += ["--user", user]
    if password is not None:
        cmd += ["--pass", password, "--no-auth-warning"]
    cmd += [str(a) for a in args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    if check and (
        out.returncode != 0 or out.stdout.startswith("ERR") or out.stdout.startswith("(error)")
    ):
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stdout}{out.stderr}")
    return out.stdout.strip()
