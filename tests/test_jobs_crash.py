"""Jobs under crashes, with real processes: workers SIGKILLed mid-job at random, and
redis-server killed and restarted in the middle of traffic. Nothing acknowledged is lost;
duplicate executions stay within what the kills explain."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import jobs_backends
import pytest
import zerolag
from conftest import unique_namespace

# Every test here also runs with partitions=4, on the cluster and on the embedded store.
backend = jobs_backends.backend
partitions = jobs_backends.partitions
store_url = jobs_backends.store_url
store_servers = jobs_backends.store_servers

HERE = Path(__file__).resolve().parent
CONCURRENCY = 4


def start_worker(url: str | None, root: Path, ns: str, log: Path, visibility: float) -> Any:
    cmd = [
        sys.executable,
        "-m",
        "zerolag",
        "worker",
        "jobs_handlers:HANDLERS",
        "--json",
        "--concurrency",
        str(CONCURRENCY),
        "--visibility",
        str(visibility),
        "--root",
        str(root),
        "--namespace",
        ns,
    ]
    if url:
        cmd += ["--url", url]
    env = {**os.environ, "ZL_JOBS_LOG": str(log), "PYTHONPATH": str(HERE)}
    return subprocess.Popen(
        cmd, cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def executions(log: Path) -> Counter[str]:
    seen: Counter[str] = Counter()
    for f in log.parent.glob(log.name + ".*"):
        seen.update(line for line in f.read_text().splitlines() if line)
    return seen


def statuses(hub: zerolag.Hub, ids: list[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for i in range(0, len(ids), 5000):
        out.update(j.status if j else "missing" for j in hub.jobs.get_many(ids[i : i + 5000]))
    return out


def stop_all(procs: list[Any]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.mark.timeout(300)
def test_workers_killed_mid_job(
    hub: zerolag.Hub, store_url: str | None, backend: str, tmp_path: Path, namespace: str
) -> None:
    n = 10_000
    ids: list[str] = []
    for i in range(0, n, 2000):
        batch = [
            {"kind": "noop", "payload": k, "max_attempts": 50, "backoff": 0}
            for k in range(i, i + 2000)
        ]
        ids += [j.id for j in hub.jobs.enqueue_many(batch)]
    log = tmp_path / "runs"
    visibility = 1.5
    procs = [start_worker(store_url, tmp_path, namespace, log, visibility) for _ in range(3)]
    kills = 0
    rng = random.Random(3)
    try:
        deadline = time.monotonic() + 240
        while True:
            counts = statuses(hub, ids)
            if counts["succeeded"] == n:
                break
            assert time.monotonic() < deadline, f"stuck at {counts}"
            if kills < 8 and executions(log):
                time.sleep(rng.uniform(0.05, 0.2))
                victim = rng.randrange(len(procs))
                procs[victim].kill()  # SIGKILL, mid-job: its claims stay running
                procs[victim].wait()
                kills += 1
                procs[victim] = start_worker(store_url, tmp_path, namespace, log, visibility)
            else:
                time.sleep(0.3)
    finally:
        stop_all(procs)
    runs = executions(log)
    assert set(runs) == set(ids), "a job was never executed"
    duplicates = sum(runs.values()) - n
    # A killed worker holds at most CONCURRENCY claims: only those can run twice.
    assert kills >= 3, "the jobs finished before the workers could be killed"
    assert duplicates <= kills * CONCURRENCY, (duplicates, kills)
    print(f"\n{backend}: {n} jobs, {kills} kills, {duplicates} duplicate executions")
    jobs = hub.jobs.get_many(ids)
    assert all(j is not None and j.status == "succeeded" for j in jobs)
    assert max(j.attempts for j in jobs if j) <= 1 + kills


@pytest.mark.timeout(300)
def test_redis_restart_during_traffic(make_redis_server: Any, tmp_path: Path) -> None:
    server = make_redis_server(appendonly=True, appendfsync="always")
    ns = unique_namespace("jr")
    log = tmp_path / "runs"
    hub = zerolag.open(server.url, namespace=ns)
    procs = [start_worker(server.url, tmp_path, ns, log, 3.0) for _ in range(2)]
    acknowledged: list[str] = []
    producer_errors: list[BaseException] = []
    restarted = threading.Event()

    def produce() -> None:
        try:
            for b in range(150):
                items = [
                    {
                        "kind": "noop",
                        "payload": b * 20 + k,
                        "max_attempts": 50,
                        "backoff": 0,
                        "idempotency_key": f"p{b}-{k}",
                    }
                    for k in range(20)
                ]
                while True:  # a producer retries what was not acknowledged
                    try:
                        jobs = hub.jobs.enqueue_many(items)
                        break
                    except (zerolag.ConnectionError, zerolag.TimeoutError, zerolag.BackendError):
                        time.sleep(0.05)
                acknowledged.extend(j.id for j in jobs)
                time.sleep(0.01 if restarted.is_set() else 0.02)
        except BaseException as e:  # surfaced by the test
            producer_errors.append(e)

    t = threading.Thread(target=produce)
    t.start()
    try:
        while len(acknowledged) < 1000:
            time.sleep(0.01)
        done_before = [
            j.id for j in hub.jobs.get_many(list(acknowledged)) if j and j.status == "succeeded"
        ]
        server.restart(kill=True, down_for=0.5)
        restarted.set()
        t.join(120)
        assert not t.is_alive() and not producer_errors, producer_errors
        assert len(acknowledged) == 3000
        deadline = time.monotonic() + 120
        while True:
            try:
                counts = statuses(hub, acknowledged)
            except (zerolag.ConnectionError, zerolag.TimeoutError):
                counts = Counter()
            if counts["succeeded"] == len(acknowledged):
                break
            assert time.monotonic() < deadline, f"not recovered: {counts}"
            assert all(p.poll() is None for p in procs), "a worker died instead of recovering"
            time.sleep(0.2)
        assert done_before, "nothing had completed before the restart"
        final = hub.jobs.get_many(done_before)
        assert all(j is not None and j.status == "succeeded" for j in final)
        runs = executions(log)
        assert set(runs) == set(acknowledged)
    finally:
        stop_all(procs)
        hub.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_job_is_a_warm_stop(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str, sig: int
) -> None:
    """SIGTERM (a process manager) or Ctrl-C while handlers run: the worker stops claiming,
    lets them finish, records their results and exits 0; nothing is left running. A second
    signal is a cold stop: the worker exits at once and the job goes back to the queue."""
    log = tmp_path / "runs"
    jobs = [hub.jobs.enqueue("slow", {"sleep": 1.0, "n": i}).id for i in range(2)]
    proc = start_worker(store_url, tmp_path, namespace, log, visibility=30)
    try:
        deadline = time.monotonic() + 30
        while statuses(hub, jobs)["running"] < 2:
            assert time.monotonic() < deadline, statuses(hub, jobs)
            time.sleep(0.02)
        proc.send_signal(sig)
        later = hub.jobs.enqueue("slow", {"sleep": 0.0, "n": 9}).id  # while they still run
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert statuses(hub, jobs) == Counter({"succeeded": 2})
    # A claim already waiting when the signal came may still have taken it: then it ran.
    assert hub.jobs.get(later).status in ("pending", "succeeded"), "nothing is left running"

    # Cold stop: a second signal while a handler still runs.
    cold = hub.jobs.enqueue("slow", {"sleep": 30.0, "n": 1}).id
    proc = start_worker(store_url, tmp_path, namespace, log, visibility=30)
    try:
        deadline = time.monotonic() + 30
        while hub.jobs.get(cold).status != "running":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(sig)
        time.sleep(0.3)
        proc.send_signal(sig)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert hub.jobs.get(cold).status == "running", "its claim stays until visibility passes"
