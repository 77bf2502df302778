"""Baseline for the `sync` suite: a Redis file-system adapter (watchdog + PyYAML) and its background
file sync worker, in Python the way a competent developer would write them: watchdog for the
file events, PyYAML with the C loader and dumper, redis-py (hiredis) with pipelines, atomic
writes (temp file, fsync, rename) like ours.

* initial scan: os.walk, read, hash, parse (CSafeLoader), one pipelined HSET per file
  (batches of 500);
* file to store: a watchdog handler reads, parses, HSETs and PUBLISHes ``file:changed`` (no
  debounce, as such adapters are usually written);
* store to file: ``update`` HSETs and LPUSHes the sync queue; a worker thread BRPOPs, merges
  the updates into the file's YAML, writes it and PUBLISHes ``file:synced``.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import redis
import yaml
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def merge(base: Any, updates: Any) -> Any:
    if isinstance(base, dict) and isinstance(updates, dict):
        out = dict(base)
        for k, v in updates.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = merge(out.get(k), v)
        return out
    return updates


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Adapter(FileSystemEventHandler):
    """Files under ``root``'s roots mirrored in Redis hashes ``<prefix>:file:<path>``."""

    def __init__(
        self, url: str, root: Path, prefix: str, roots: tuple[str, ...] = ("contexts", "workflows")
    ) -> None:
        self.r = redis.Redis.from_url(url)
        self.root = root
        self.prefix = prefix
        self.roots = roots
        self.observer: Any = None
        self.worker: threading.Thread | None = None
        self.stop_flag = threading.Event()
        self.url_for_worker = url

    def key(self, rel: str) -> str:
        return f"{self.prefix}:file:{rel}"

    def _record(self, rel: str, text: str) -> dict[str, Any]:
        value = yaml.load(text, Loader=Loader)
        return {
            "content": text,
            "value": json.dumps(value, default=str),
            "hash": hashlib.sha256(text.encode()).hexdigest(),
            "modified": time.time(),
        }

    def initial_scan(self) -> int:
        n = 0
        pipe = self.r.pipeline(transaction=False)
        for r in self.roots:
            for dirpath, _dirs, files in os.walk(self.root / r):
                for name in files:
                    if not name.endswith((".yaml", ".yml")):
                        continue
                    p = Path(dirpath) / name
                    rel = p.relative_to(self.root).as_posix()
                    pipe.hset(self.key(rel), mapping=self._record(rel, p.read_text()))
                    n += 1
                    if n % 500 == 0:
                        pipe.execute()
        pipe.execute()
        return n

    # file -> store
    def on_modified(self, event: FileSystemEvent) -> None:
        self._changed(event)

    def on_created(self, event: FileSystemEvent) -> None:
        self._changed(event)

    def _changed(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        p = Path(str(event.src_path))
        if not p.name.endswith((".yaml", ".yml")) or p.name.startswith("."):
            return
        rel = p.relative_to(self.root).as_posix()
        try:
            text = p.read_text()
            rec = self._record(rel, text)
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            return
        if self.r.hget(self.key(rel), "hash") == rec["hash"].encode():
            return  # our own write coming back
        pipe = self.r.pipeline(transaction=False)
        pipe.hset(self.key(rel), mapping=rec)
        pipe.publish(f"{self.prefix}:file:changed", json.dumps({"path": rel, "t": time.time()}))
        pipe.execute()

    # store -> file
    def update(self, rel: str, updates: dict[str, Any]) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.hset(self.key(rel), "modified", time.time())
        pipe.lpush(f"{self.prefix}:file_sync_queue", json.dumps({"path": rel, "updates": updates}))
        pipe.execute()

    def _work(self) -> None:
        r = redis.Redis.from_url(self.url_for_worker)  # BRPOP holds its own connection
        while not self.stop_flag.is_set():
            item = r.brpop([f"{self.prefix}:file_sync_queue"], timeout=1)
            if not item:
                continue
            job = json.loads(item[1])
            p = self.root / job["path"]
            current = yaml.load(p.read_text(), Loader=Loader) if p.exists() else {}
            new = merge(current, job["updates"])
            text = yaml.dump(new, Dumper=Dumper, sort_keys=False)
            write_atomic(p, text)
            self.r.hset(self.key(job["path"]), mapping=self._record(job["path"], text))
            self.r.publish(f"{self.prefix}:file:synced", json.dumps({"path": job["path"]}))

    def start(self, url: str) -> None:
        self.url_for_worker = url
        self.observer = Observer()
        for r in self.roots:
            (self.root / r).mkdir(parents=True, exist_ok=True)
            self.observer.schedule(self, str(self.root / r), recursive=True)
        self.observer.start()
        self.worker = threading.Thread(target=self._work, daemon=True)
        self.worker.start()

    def stop(self) -> None:
        self.stop_flag.set()
        if self.observer:
            self.observer.stop()
            self.observer.join()
        if self.worker:
            self.worker.join(5)
