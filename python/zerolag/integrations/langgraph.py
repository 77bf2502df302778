"""LangGraph on zerolag (``pip install zerolag[langgraph]``): a checkpointer and a long-term
store (:class:`ZerolagGraphStore`, in :mod:`.langgraph_store`) on every backend
(embedded, Redis, Redis Cluster, no Redis modules), passing LangGraph's conformance suite
(``langgraph-checkpoint-conformance``) with every extended capability::

    from zerolag.integrations.langgraph import ZerolagSaver
    graph = builder.compile(checkpointer=ZerolagSaver(zerolag.open("redis://localhost:6379")))

:class:`ZerolagSaver` (``langgraph.checkpoint.base.BaseCheckpointSaver``) keeps checkpoints,
channel values (blobs) and pending writes in ``hub.kv`` under a prefix (default
``langgraph``), as the bytes LangGraph's serializer made (never re-encoded as JSON). One
``put`` is one atomic ``set_many``: the checkpoint with its small channel values (up to
``inline_max`` bytes each: one row for a small state), the blobs of the large channels it
changed, and its run index entry appear together or not at all. The key layout is in docs/keys.md
("LangGraph checkpoints"). Deleting a thread, a run or pruning is page by page, not one atomic
step (a crash midway leaves the rest for the next call, never a half-readable checkpoint).

The async methods call the blocking ones directly (each call releases the GIL and is one store
round trip), as :mod:`zerolag.integrations.langchain` does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any
from urllib.parse import unquote

try:
    import ormsgpack
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.base import (
        WRITES_IDX_MAP,
        BaseCheckpointSaver,
        ChannelVersions,
        Checkpoint,
        CheckpointMetadata,
        CheckpointTuple,
        get_checkpoint_id,
        get_checkpoint_metadata,
    )
    from langgraph.checkpoint.serde.base import SerializerProtocol
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "zerolag.integrations.langgraph needs langgraph: pip install 'zerolag[langgraph]'"
    ) from e

from .._core import Hub
from ..exceptions import ValidationError
from .langgraph_store import ZerolagGraphStore

__all__ = ["ZerolagGraphStore", "ZerolagSaver"]

#: A checkpoint record's own channel values: channel -> [version] or [version, type, bytes].
_Inline = dict[str, list[Any]]

_PAGE = 500


def _enc(part: str) -> str:
    """One key component: ``%`` and ``/`` escaped, so no component can reach into another."""
    if "%" in part or "/" in part:
        return part.replace("%", "%25").replace("/", "%2F")
    return part


def _writes_sort_key(task_path: str, task_id: str, idx: int) -> tuple[Any, ...]:
    # LangGraph orders pending writes by task path, then task id, then index.
    return (task_path, task_id, idx)


class ZerolagSaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer on ``hub.kv`` (module docs). ``prefix``: the kv key prefix
    (several savers can share a namespace under different prefixes); ``serde``: LangGraph's
    serializer (default: its JSON-plus serializer); ``inline_max``: channel values up to this
    many serialized bytes live in the checkpoint's own record (one kv row per put), larger
    ones in blobs written once per version."""

    def __init__(
        self,
        hub: Hub,
        *,
        prefix: str = "langgraph",
        serde: SerializerProtocol | None = None,
        inline_max: int = 4096,
    ) -> None:
        if not isinstance(hub, Hub):
            raise ValidationError("ZerolagSaver needs a zerolag.Hub (zerolag.open(...))")
        if not prefix or "/" in prefix:
            raise ValidationError("prefix must be non-empty text without '/'")
        super().__init__(serde=serde)
        self.hub = hub
        self.kv = hub.kv
        self.prefix = prefix
        self.inline_max = inline_max
        self._recent: dict[tuple[str, str, str], _Inline] = {}

    def __repr__(self) -> str:
        return f"ZerolagSaver(prefix={self.prefix!r}, hub={self.hub!r})"

    # ------------------------------------------------------------------ keys

    def _k(self, kind: str, *parts: str) -> str:
        return "/".join([self.prefix, kind, *(_enc(p) for p in parts)])

    def _prefix(self, kind: str, *parts: str) -> str:
        return self._k(kind, *parts) + "/"

    def _keys(self, prefix: str) -> list[str]:
        return list(self.kv.keys(prefix))

    def _parts(self, key: str) -> list[str]:
        return [unquote(p) if "%" in p else p for p in key.split("/")[2:]]

    # ------------------------------------------------------------------ records

    def _record(self, key: str, raw: bytes) -> tuple[str, str, str, Any, Any, str | None]:
        tid, ns, cid = self._parts(key)
        ctype, cbytes, mtype, mbytes, parent = ormsgpack.unpackb(raw)[:5]
        return tid, ns, cid, (ctype, cbytes), (mtype, mbytes), parent

    @staticmethod
    def _inline(raw: bytes) -> _Inline:
        """The channel values a checkpoint record carries itself: channel -> ``[version]``
        (no value) or ``[version, type, bytes]`` (records written before there were none)."""
        rec = ormsgpack.unpackb(raw)
        return rec[5] if len(rec) > 5 else {}

    def _tuple(
        self,
        tid: str,
        ns: str,
        cid: str,
        cp: Any,
        md: Any,
        parent: str | None,
        inline: _Inline | None = None,
    ) -> CheckpointTuple:
        checkpoint: Checkpoint = self.serde.loads_typed(cp)
        versions = checkpoint["channel_versions"]
        values: dict[str, Any] = {}
        names = []
        for name, version in versions.items():
            here = (inline or {}).get(name)
            if here is not None and here[0] == str(version):
                if len(here) == 3:
                    values[name] = self.serde.loads_typed((here[1], here[2]))
            else:
                names.append(name)  # a large value: its blob
        blobs = (
            self.kv.get_many([self._k("b", tid, ns, c, str(versions[c])) for c in names])
            if names
            else []
        )
        for name, raw in zip(names, blobs, strict=True):
            if raw is None:
                continue
            btype, bbytes = ormsgpack.unpackb(raw)
            if btype != "empty":
                values[name] = self.serde.loads_typed((btype, bbytes))
        return CheckpointTuple(
            config={"configurable": {"thread_id": tid, "checkpoint_ns": ns, "checkpoint_id": cid}},
            checkpoint={**checkpoint, "channel_values": values},
            metadata=self.serde.loads_typed(md),
            parent_config=(
                {"configurable": {"thread_id": tid, "checkpoint_ns": ns, "checkpoint_id": parent}}
                if parent
                else None
            ),
            pending_writes=self._writes(tid, ns, cid),
        )

    def _writes(self, tid: str, ns: str, cid: str) -> list[tuple[str, str, Any]]:
        keys = self._keys(self._prefix("w", tid, ns, cid))
        if not keys:
            return []
        rows = []
        for key, raw in zip(keys, self.kv.get_many(keys), strict=True):
            if raw is None:
                continue
            task_id, idx = self._parts(key)[3:5]
            channel, wtype, wbytes, task_path = ormsgpack.unpackb(raw)
            rows.append(
                (_writes_sort_key(task_path, task_id, int(idx)), task_id, channel, wtype, wbytes)
            )
        rows.sort(key=lambda r: r[0])
        return [(t, c, self.serde.loads_typed((wt, wb))) for _, t, c, wt, wb in rows]

    # ------------------------------------------------------------------ reads

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint of ``config`` (its ``checkpoint_id``, else the thread's latest in its
        ``checkpoint_ns``), with its channel values and pending writes; None if none."""
        conf = config["configurable"]
        tid, ns = str(conf["thread_id"]), conf.get("checkpoint_ns", "")
        cid = get_checkpoint_id(config)
        if cid is None:
            # The latest: the greatest key of the thread's namespace (checkpoint ids order by
            # time), read backwards in one step however long the thread is.
            keys = self.kv.keys_page(self._prefix("c", tid, ns), limit=1, reverse=True).keys
            if not keys:
                return None
            key = keys[0]
        else:
            key = self._k("c", tid, ns, cid)
        raw = self.kv.get(key)
        if raw is None:
            return None
        return self._tuple(*self._record(key, raw), self._inline(raw))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first: of ``config``'s thread (and ``checkpoint_ns``, and
        ``checkpoint_id`` if given) or of every thread, whose metadata has every
        ``filter`` item, older than ``before``'s checkpoint, at most ``limit``."""
        if config is not None:
            conf = config["configurable"]
            tid = str(conf["thread_id"])
            ns = conf.get("checkpoint_ns")
            prefix = self._prefix("c", tid) if ns is None else self._prefix("c", tid, ns)
            only = get_checkpoint_id(config)
        else:
            prefix, only = self._prefix("c"), None
        until = get_checkpoint_id(before) if before else None
        keys = []
        for key in self._keys(prefix):
            cid = unquote(key.rsplit("/", 1)[1])
            if (only and cid != only) or (until and cid >= until):
                continue
            keys.append((cid, key))
        # Newest first across namespaces and threads, as checkpoint ids order by time.
        keys.sort(key=lambda x: (x[0], x[1]), reverse=True)
        left = limit
        for i in range(0, len(keys), _PAGE):
            chunk = [k for _, k in keys[i : i + _PAGE]]
            for key, raw in zip(chunk, self.kv.get_many(chunk), strict=True):
                if raw is None:
                    continue
                tid_, ns_, cid_, cp, md, parent = self._record(key, raw)
                if filter:
                    meta = self.serde.loads_typed(md)
                    if not all(meta.get(k) == v for k, v in filter.items()):
                        continue
                if left is not None:
                    if left <= 0:
                        return
                    left -= 1
                yield self._tuple(tid_, ns_, cid_, cp, md, parent, self._inline(raw))

    # ------------------------------------------------------------------ writes

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Stores ``checkpoint`` (child of ``config``'s checkpoint) with the blobs of the
        channels in ``new_versions``, in one atomic step; returns its config."""
        conf = config["configurable"]
        tid, ns = str(conf["thread_id"]), conf.get("checkpoint_ns", "")
        c = checkpoint.copy()
        values: dict[str, Any] = c.pop("channel_values")  # type: ignore[misc]
        parent = conf.get("checkpoint_id")
        before = self._parent_inline(tid, ns, parent)
        items: dict[str, bytes] = {}
        inline: _Inline = {}
        for name, version in checkpoint["channel_versions"].items():
            v = str(version)
            if name not in new_versions:
                # Unchanged: carried over from the parent record if it held it there, else
                # in the blob its version was stored as.
                prev = before.get(name)
                if prev is not None and prev[0] == v:
                    inline[name] = prev
                continue
            if name not in values:
                # A channel without a value (a trigger, a cleared channel) has no blob: a
                # read leaves the channel out, as it does for an "empty" one.
                inline[name] = [v]
                continue
            btype, bbytes = self.serde.dumps_typed(values[name])
            if len(bbytes) <= self.inline_max:
                inline[name] = [v, btype, bbytes]
            else:
                items[self._k("b", tid, ns, name, v)] = ormsgpack.packb([btype, bbytes])
        meta = get_checkpoint_metadata(config, metadata)
        ctype, cbytes = self.serde.dumps_typed(c)
        mtype, mbytes = self.serde.dumps_typed(meta)
        cid = checkpoint["id"]
        items[self._k("c", tid, ns, cid)] = ormsgpack.packb(
            [ctype, cbytes, mtype, mbytes, parent, inline]
        )
        run_id = meta.get("run_id") if isinstance(meta, dict) else None
        if run_id:
            items[self._k("r", str(run_id), tid, ns, cid)] = b""
        self.kv.set_many(items)
        self._remember(tid, ns, cid, inline)
        return {"configurable": {"thread_id": tid, "checkpoint_ns": ns, "checkpoint_id": cid}}

    def _remember(self, tid: str, ns: str, cid: str, inline: _Inline) -> None:
        recent = self._recent
        recent[(tid, ns, cid)] = inline
        if len(recent) > 1024:
            recent.pop(next(iter(recent)))

    def _parent_inline(self, tid: str, ns: str, parent: str | None) -> _Inline:
        """The inline channel values of the parent checkpoint: from this saver's memory of its
        recent puts (checkpoint records never change once written), else read."""
        if not parent:
            return {}
        known = self._recent.get((tid, ns, parent))
        if known is not None:
            return known
        raw = self.kv.get(self._k("c", tid, ns, parent))
        return self._inline(raw) if raw is not None else {}

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Stores a task's pending writes for ``config``'s checkpoint. A regular write
        already stored for the same (task, index) is kept; the special ones (errors,
        interrupts, ...) are replaced."""
        conf = config["configurable"]
        tid, ns, cid = str(conf["thread_id"]), conf.get("checkpoint_ns", ""), conf["checkpoint_id"]
        planned = []
        for idx, (channel, value) in enumerate(writes):
            i = WRITES_IDX_MAP.get(channel, idx)
            wtype, wbytes = self.serde.dumps_typed(value)
            key = self._k("w", tid, ns, cid, task_id, str(i))
            planned.append((i, key, ormsgpack.packb([channel, wtype, wbytes, task_path])))
        regular = [key for i, key, _ in planned if i >= 0]
        existing = {
            k for k, v in zip(regular, self.kv.get_many(regular), strict=True) if v is not None
        }
        items = {key: raw for i, key, raw in planned if not (i >= 0 and key in existing)}
        if items:
            self.kv.set_many(items)

    def _run_id(self, key: str, raw: bytes) -> str | None:
        """The run that wrote the checkpoint record ``raw`` (its metadata's ``run_id``)."""
        meta = self.serde.loads_typed(self._record(key, raw)[4])
        run_id = meta.get("run_id") if isinstance(meta, dict) else None
        return str(run_id) if run_id else None

    def _delete_checkpoints(self, keys: Sequence[str]) -> None:
        """Deletes checkpoints by key with their pending writes and run index entries."""
        doomed: list[str] = []
        for i in range(0, len(keys), _PAGE):
            chunk = list(keys[i : i + _PAGE])
            for key, raw in zip(chunk, self.kv.get_many(chunk), strict=True):
                tid, ns, cid = self._parts(key)
                doomed += self._keys(self._prefix("w", tid, ns, cid))
                run_id = self._run_id(key, raw) if raw is not None else None
                if run_id:
                    doomed.append(self._k("r", run_id, tid, ns, cid))
                doomed.append(key)
        for i in range(0, len(doomed), _PAGE):
            self.kv.delete_many(doomed[i : i + _PAGE])

    def delete_thread(self, thread_id: str) -> None:
        """Deletes every checkpoint, blob and pending write of ``thread_id``."""
        tid = str(thread_id)
        self._delete_checkpoints(self._keys(self._prefix("c", tid)))
        self.kv.delete_prefix(self._prefix("w", tid))
        self.kv.delete_prefix(self._prefix("b", tid))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Deletes the checkpoints (and their pending writes) written by the runs
        ``run_ids``; blobs that other checkpoints use stay."""
        keys: list[str] = []
        for run in run_ids:
            for entry in self._keys(self._prefix("r", str(run))):
                tid, ns, cid = self._parts(entry)[1:4]
                keys.append(self._k("c", tid, ns, cid))
        self._delete_checkpoints(keys)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copies every checkpoint, blob and pending write of one thread to another (the
        copies keep their checkpoint ids, namespaces and order)."""
        src, dst = str(source_thread_id), str(target_thread_id)
        for kind in ("b", "w", "c"):  # checkpoints last: readers never see one without blobs
            keys = self._keys(self._prefix(kind, src))
            for i in range(0, len(keys), _PAGE):
                chunk = keys[i : i + _PAGE]
                items: dict[str, bytes] = {}
                for key, raw in zip(chunk, self.kv.get_many(chunk), strict=True):
                    if raw is None:
                        continue
                    parts = self._parts(key)
                    items[self._k(kind, dst, *parts[1:])] = raw
                    run_id = self._run_id(key, raw) if kind == "c" else None
                    if run_id:
                        items[self._k("r", run_id, dst, *parts[1:])] = b""
                if items:
                    self.kv.set_many(items)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest``: keeps each namespace's newest checkpoint of each thread (with its
        pending writes and the blobs it uses) and deletes the rest; ``delete``: deletes the
        threads."""
        if strategy not in ("keep_latest", "delete"):
            raise ValidationError(f"strategy must be 'keep_latest' or 'delete', not {strategy!r}")
        for thread_id in thread_ids:
            tid = str(thread_id)
            if strategy == "delete":
                self.delete_thread(tid)
                continue
            newest: dict[str, str] = {}
            keys = self._keys(self._prefix("c", tid))
            for key in keys:
                ns = self._parts(key)[1]
                if key > newest.get(ns, ""):
                    newest[ns] = key
            keep = set(newest.values())
            self._delete_checkpoints([k for k in keys if k not in keep])
            used: set[str] = set()
            for key, raw in zip(list(keep), self.kv.get_many(list(keep)), strict=True):
                if raw is None:
                    continue
                tid_, ns, _, cp, _, _ = self._record(key, raw)
                for name, version in self.serde.loads_typed(cp)["channel_versions"].items():
                    used.add(self._k("b", tid_, ns, name, str(version)))
            stale = [k for k in self._keys(self._prefix("b", tid)) if k not in used]
            for i in range(0, len(stale), _PAGE):
                self.kv.delete_many(stale[i : i + _PAGE])

    # ------------------------------------------------------------------ async

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """:meth:`get_tuple`."""
        return self.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """:meth:`list`."""
        for t in self.list(config, filter=filter, before=before, limit=limit):
            yield t

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """:meth:`put`."""
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """:meth:`put_writes`."""
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """:meth:`delete_thread`."""
        self.delete_thread(thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """:meth:`delete_for_runs`."""
        self.delete_for_runs(run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """:meth:`copy_thread`."""
        self.copy_thread(source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """:meth:`prune`."""
        self.prune(thread_ids, strategy=strategy)

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Versions that order as text: a zero-padded counter and a random tail."""
        import random

        if current is None:
            n = 0
        elif isinstance(current, int):
            n = current
        else:
            n = int(str(current).split(".")[0])
        return f"{n + 1:032}.{random.random():016}"
