"""The `zerolag` command (also `python -m zerolag`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__, cli_archive, cli_info, cli_jobs, cli_ops, demo
from . import open as open_hub
from .exceptions import ZerolagError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--url",
        default=None,
        help="store URL (default: $ZEROLAG_URL, else the embedded store under --root)",
    )
    p.add_argument("--root", default=".", help="root directory of the embedded store (default: .)")
    p.add_argument("--namespace", default=None, help="namespace to use")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _cmd_demo(a: argparse.Namespace) -> int:
    with open_hub(a.url, root=a.root, namespace=a.namespace or "demo") as hub:
        demo.run(hub, as_json=a.json, step=a.step, samples=a.samples)
    return 0


def _cmd_status(a: argparse.Namespace) -> int:
    with open_hub(a.url, root=a.root, namespace=a.namespace or "default") as hub:
        h = hub.health()
        info = {
            "backend": h.backend,
            "server_version": h.server_version,
            "rtt_ms": round(h.rtt_ms, 3),
            "keys": h.keys,
            "namespace": h.namespace,
            "tasks": hub.tasks.count(),
            "events": hub.events.count(),
        }
    if a.json:
        print(json.dumps(info))
    else:
        for k, v in info.items():
            print(f"{k:>15}: {v}")
    return 0


def _cmd_bench(a: argparse.Namespace) -> int:
    """A quick self-timing of the task index on the chosen store (the side-by-side
    comparisons against redis-py live in the repository's bench/ directory)."""
    n = a.n
    with open_hub(a.url, root=a.root, namespace=a.namespace or "bench") as hub:
        hub.clear()
        rows = [
            {
                "id": f"b{i}",
                "title": f"task {i}",
                "intent": f"i{i % 20}",
                "keywords": [f"k{i % 50}", f"k{i % 7}"],
            }
            for i in range(n)
        ]
        results = {}
        t0 = time.perf_counter()
        for i in range(0, n, 1000):
            hub.tasks.create_many(rows[i : i + 1000])
        results["create_many_per_s"] = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for i in range(min(n, 5000)):
            hub.tasks.get(f"b{i}")
        results["get_per_s"] = min(n, 5000) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for i in range(1000):
            hub.tasks.search(intent=f"i{i % 20}", keywords=[f"k{i % 50}"], limit=20)
        results["search_per_s"] = 1000 / (time.perf_counter() - t0)
        hub.clear()
    if a.json:
        print(json.dumps({k: round(v, 1) for k, v in results.items()}))
    else:
        for k, v in results.items():
            print(f"{k:>20}: {v:,.0f}")
    return 0


def _load_target(spec: str) -> object:
    import importlib
    import os

    mod, sep, attr = spec.partition(":")
    if not sep or not mod or not attr:
        raise SystemExit(f"zerolag worker: expected module:attribute, got {spec!r}")
    # Like `python -m`, let modules in the current directory be found.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    obj: object = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _cmd_worker(a: argparse.Namespace) -> int:
    from collections.abc import Mapping

    from .jobs import Worker
    from .loop import DualLoop

    target = _load_target(a.target)
    with open_hub(a.url, root=a.root, namespace=a.namespace or "default") as hub:
        loop_opts = {"concurrency": a.concurrency, "visibility": a.visibility, "name": a.name}
        if isinstance(target, Mapping):
            worker = hub.jobs.worker(
                target,
                concurrency=a.concurrency,
                visibility=a.visibility,
                name=a.name,
            )
        elif isinstance(target, DualLoop):
            # The loop's handlers, on the store and namespace given here.
            worker = target.bind(hub).worker(**loop_opts)
        elif callable(target):
            made = target(hub)
            if isinstance(made, DualLoop):
                worker = made.worker(**loop_opts)
            elif isinstance(made, Worker):
                worker = made
            else:
                raise SystemExit(
                    f"zerolag worker: {a.target}(hub) must return a Worker or a DualLoop"
                )
        else:
            raise SystemExit(
                f"zerolag worker: {a.target} must be a dict {{kind: handler}}, a DualLoop, or "
                "a callable taking the hub and returning a Worker or a DualLoop"
            )
        if not a.json:
            print(
                f"zerolag worker {worker.name}: kinds {', '.join(worker.kinds)}, "
                f"concurrency {worker.concurrency} on {hub.backend}",
                file=sys.stderr,
                flush=True,
            )
        try:
            stats = worker.run(burst=a.burst)
        except KeyboardInterrupt:
            # A cold stop (a second Ctrl-C or SIGTERM): handler threads cannot be stopped
            # and would hold the interpreter's exit; their claims go back to the queue once
            # their visibility timeout passes.
            print(f"zerolag worker {worker.name}: stopped at once", file=sys.stderr, flush=True)
            sys.stdout.flush()
            os._exit(130)
    info = {
        "worker": worker.name,
        "succeeded": stats.succeeded,
        "failed": stats.failed,
        "stale": stats.stale,
    }
    if a.json:
        print(json.dumps(info))
    else:
        print(" ".join(f"{k}={v}" for k, v in info.items()))
    return 0


def _cmd_sync(a: argparse.Namespace) -> int:
    with open_hub(a.url, root=a.root, namespace=a.namespace or "default") as hub:
        st = hub.sync.start(debounce=a.debounce, rescan=a.rescan, conflicts=a.conflicts)
        say = (lambda d: print(json.dumps(d), flush=True)) if a.json else None
        if say:
            say(st)
        else:
            print(
                f"zerolag sync: {st['root']} <-> {hub.backend} namespace {hub.namespace}: "
                f"{st['imported']} files read at start",
                flush=True,
            )
        try:
            while not a.once:
                time.sleep(1.0)
        finally:
            final = hub.sync.status()
            hub.sync.stop()
        if say:
            say({**final, "running": False})
    return 0


def _cmd_mcp(a: argparse.Namespace) -> int:
    # Imported here: `import zerolag` (and every other subcommand) does not need the mcp SDK.
    try:
        from .mcp_server import serve
    except ImportError as e:
        raise SystemExit(f"zerolag mcp: {e}") from e

    with open_hub(a.url, root=a.root, namespace=a.namespace or "default") as hub:
        token = a.token or os.environ.get("ZEROLAG_MCP_TOKEN") or None
        serve(hub, root=a.root, http=a.http, read_only=a.read_only, sync=a.sync, token=token)
    return 0


def _mcp_parser(sub: Any) -> None:
    p = sub.add_parser(
        "mcp",
        help="run an MCP server on the store (stdio, or streamable HTTP with --http)",
        description=(
            "Serves the store to MCP clients (needs the mcp extra: pip install 'zerolag[mcp]'): "
            "tools for tasks, documents, jobs, bus, events, patterns and memory, and the "
            "documents under contexts/ and workflows/ as resources (zerolag://docs/<path>) "
            "with update notifications. Over stdio by default (what MCP clients launch); "
            "--http HOST:PORT serves streamable HTTP at http://HOST:PORT/mcp. When --root has "
            "a contexts/ or workflows/ directory the file sync runs too, so files edited on "
            "disk reach the store and the subscribed clients (--no-sync: leave it to a "
            "`zerolag sync` of its own)."
        ),
    )
    p.add_argument(
        "--url", default=None, help="store URL (default: the embedded store under --root)"
    )
    p.add_argument("--root", default=".", help="root directory of the embedded store (default: .)")
    p.add_argument("--namespace", default=None, help="namespace to use (default: default)")
    p.add_argument("--http", metavar="HOST:PORT", default=None, help="serve streamable HTTP")
    p.add_argument(
        "--token",
        default=None,
        help="bearer token every HTTP request must carry (needed to serve beyond loopback; "
        "default: $ZEROLAG_MCP_TOKEN)",
    )
    p.add_argument("--read-only", action="store_true", help="expose only the reading tools")
    p.add_argument(
        "--no-sync",
        dest="sync",
        action="store_const",
        const=False,
        default=None,
        help="do not run the file sync of --root",
    )
    p.set_defaults(fn=_cmd_mcp)


def _cmd_serve(a: argparse.Namespace) -> int:
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    token = a.token or os.environ.get("ZEROLAG_HTTP_TOKEN") or None
    cors = [o.strip() for o in a.cors.split(",") if o.strip()] if a.cors else None
    with open_hub(a.url, root=a.root, namespace=a.namespace or "default") as hub:
        with hub.serve(a.host, a.port, token=token, cors=cors) as server:
            print(f"zerolag serve: {server.url} (namespace {hub.namespace!r})", flush=True)
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
    return 0


def _serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the store over HTTP: status, events, SSE, the dashboard (until Ctrl-C)",
        description=(
            "Serves GET /status, /events, /stream, /analytics, /realtime (server-sent events) "
            "and the dashboard at / on HOST:PORT until Ctrl-C or SIGTERM. Binds to loopback by "
            "default; any other address needs --token (or $ZEROLAG_HTTP_TOKEN), which every "
            "request must then carry as 'Authorization: Bearer <token>'."
        ),
    )
    p.add_argument(
        "--url", default=None, help="store URL (default: the embedded store under --root)"
    )
    p.add_argument("--root", default=".", help="root directory of the embedded store (default: .)")
    p.add_argument("--namespace", default=None, help="namespace to use (default: default)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free one)")
    p.add_argument(
        "--token",
        default=None,
        help="bearer token every request must carry, 16+ characters (needed beyond loopback; "
        "default: $ZEROLAG_HTTP_TOKEN)",
    )
    p.add_argument(
        "--cors", default=None, help="origins allowed by CORS, comma-separated (default: none)"
    )
    p.set_defaults(fn=_cmd_serve)


def _store_url(url: str | None) -> str | None:
    """A URL as given on the command line: ``-``, empty or omitted mean the embedded store
    (``embedded`` and ``sqlite://...`` are read by the core itself)."""
    return None if url in (None, "", "-") else url


def _say_transfer(verb: str, t: Any, as_json: bool, **extra: Any) -> None:
    if as_json:
        print(json.dumps({"command": verb, **t.to_dict(), **extra}))
        return
    arrow = "->" if verb == "export" else "<-"
    print(f"zerolag {verb}: namespace {t.namespace!r} ({t.backend}) {arrow} {t.path}")
    if verb != "export":
        print(f"  from namespace {t.source_namespace!r} ({t.source_backend})")
    width = max([len(k) for k in t.records] + [5])
    for cap, n in t.records.items():
        print(f"  {cap:<{width}} {n:>9,}")
    done = {"export": "exported", "import": "imported", "copy": "copied"}[verb]
    print(
        f"  {'total':<{width}} {t.total:>9,} records {done}, {t.bytes:,} bytes, {t.seconds:.3f} s"
    )


def _cmd_export(a: argparse.Namespace) -> int:
    with open_hub(_store_url(a.url), root=a.root, namespace=a.namespace) as hub:
        out = hub.export(a.path)
    _say_transfer("export", out, a.json)
    return 0


def _file_namespace(path: str) -> str:
    """The namespace an export file says it came from (its header line)."""
    try:
        with open(path, "rb") as f:
            header = json.loads(f.readline(1 << 20))
        return str(header["namespace"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SystemExit(
            f"zerolag import: {path}: cannot read the namespace from its header ({e}); "
            "give --namespace"
        ) from e


def _cmd_import(a: argparse.Namespace) -> int:
    ns = a.namespace or _file_namespace(a.path)
    with open_hub(_store_url(a.url), root=a.root, namespace=ns) as hub:
        out = hub.import_(a.path)
    _say_transfer("import", out, a.json)
    return 0


def _cmd_copy(a: argparse.Namespace) -> int:
    ns = a.namespace or "default"
    to_ns = a.to_namespace or ns
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="zerolag-copy-", dir=a.tmp) as d:
        path = Path(d) / f"{ns}.zl"
        with open_hub(_store_url(a.from_url), root=a.root, namespace=ns) as src:
            exported = src.export(path)
        with open_hub(_store_url(a.to_url), root=a.to_root or a.root, namespace=to_ns) as dst:
            imported = dst.import_(path)
    seconds = time.perf_counter() - started
    if a.json:
        print(
            json.dumps(
                {
                    "command": "copy",
                    "from": {"namespace": ns, "backend": exported.backend},
                    "to": {"namespace": to_ns, "backend": imported.backend},
                    "records": imported.records,
                    "total": imported.total,
                    "bytes": imported.bytes,
                    "seconds": seconds,
                }
            )
        )
    else:
        print(
            f"zerolag copy: namespace {ns!r} ({exported.backend}) -> {to_ns!r} ({imported.backend})"
        )
        width = max([len(k) for k in imported.records] + [5])
        for cap, n in imported.records.items():
            print(f"  {cap:<{width}} {n:>9,}")
        print(f"  {'total':<{width}} {imported.total:>9,} records copied in {seconds:.3f} s")
    return 0


def _transfer_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="write a namespace to one file",
        description=(
            "Writes everything NAMESPACE holds (tasks, documents, bus, events, jobs, pattern "
            "memory, key-value store) to PATH as one versioned JSON Lines file "
            "(docs/export.md). The file appears only once it is complete."
        ),
    )
    p.add_argument("--url", default=None, help="store URL (default or -: the embedded store)")
    p.add_argument("--root", default=".", help="root of the embedded store (default: .)")
    p.add_argument("--namespace", required=True, help="namespace to export")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("path", help="file to write")
    p.set_defaults(fn=_cmd_export)
    p = sub.add_parser(
        "import",
        help="write an export file into an empty namespace",
        description=(
            "Writes the export at PATH into NAMESPACE (default: the namespace it was exported "
            "from), which must be empty. A failed import leaves the namespace empty again."
        ),
    )
    p.add_argument("--url", default=None, help="store URL (default or -: the embedded store)")
    p.add_argument("--root", default=".", help="root of the embedded store (default: .)")
    p.add_argument("--namespace", default=None, help="namespace to import into")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("path", help="export file to read")
    p.set_defaults(fn=_cmd_import)
    p = sub.add_parser(
        "copy",
        help="copy a namespace to another store or namespace",
        description=(
            "Exports NAMESPACE from --from and imports it into --to-namespace (default: the "
            "same name) on --to, through a temporary file. A URL of - (or none) is the "
            "embedded store under --root (--to-root for the target)."
        ),
    )
    p.add_argument("--from", dest="from_url", default=None, help="source store URL")
    p.add_argument("--to", dest="to_url", default=None, help="target store URL")
    p.add_argument("--root", default=".", help="root of the embedded store (default: .)")
    p.add_argument("--to-root", default=None, help="root of an embedded target (default: --root)")
    p.add_argument("--namespace", default=None, help="namespace to copy (default: default)")
    p.add_argument("--to-namespace", default=None, help="target namespace (default: the same)")
    p.add_argument("--tmp", default=None, help="directory for the temporary file")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(fn=_cmd_copy)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="zerolag", description="zerolag: coordination and memory for LLM agents"
    )
    parser.add_argument("--version", action="version", version=f"zerolag {__version__}")
    cli_ops.verbosity(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "demo", help="run the scripted dual-loop conversation (embedded store unless --url)"
    )
    _common(p)
    p.add_argument(
        "--step",
        type=float,
        default=0.4,
        help="seconds one simulated backend model step sleeps (default 0.4)",
    )
    p.add_argument(
        "--samples",
        type=int,
        default=2000,
        help="sends timed for the latency summary (default 2000)",
    )
    p.set_defaults(fn=_cmd_demo)
    p = sub.add_parser("status", help="health of a store and namespace")
    _common(p)
    p.set_defaults(fn=_cmd_status)
    p = sub.add_parser("bench", help="time the task index on a store")
    _common(p)
    p.add_argument("-n", type=int, default=20000, help="tasks to create (default 20000)")
    p.set_defaults(fn=_cmd_bench)
    p = sub.add_parser(
        "sync",
        help="mirror contexts/ and workflows/ with the store until Ctrl-C",
        description=(
            "Runs the two-way file sync of --root: file edits reach the store, API writes "
            "reach the files. One sync per root at a time; a second one says so and exits."
        ),
    )
    _common(p)
    p.add_argument("--debounce", type=float, default=0.05, help="seconds (default 0.05)")
    p.add_argument("--rescan", type=float, default=30.0, help="full rescan interval (default 30)")
    p.add_argument(
        "--conflicts",
        choices=["keep-both", "store", "file"],
        default="keep-both",
        help="a field changed differently on both sides: keep both (default), or that side's",
    )
    p.add_argument("--once", action="store_true", help="reconcile once and exit")
    p.set_defaults(fn=_cmd_sync)
    p = sub.add_parser(
        "worker",
        help="run job handlers as a worker process",
        description=(
            "Runs a job worker until Ctrl-C (or, with --burst, until no job is ready). TARGET "
            "is module:attribute (the module is imported with the current directory on the "
            "path). The attribute is either a dict {kind: handler} (handler(ctx) -> result, "
            "sync or async def), run with --concurrency/--visibility/--name, or a callable "
            "taking the hub and returning a zerolag.Worker (hub.jobs.worker(...)), which "
            "then sets its own options. It may also be a zerolag.DualLoop (its command "
            "handlers run on the store given here) or a callable taking the hub and "
            "returning one."
        ),
    )
    p.add_argument(
        "target", help="module:attribute (dict of handlers, DualLoop, or a factory of either)"
    )
    _common(p)
    p.add_argument("--concurrency", type=int, default=4, help="jobs at once (default 4)")
    p.add_argument(
        "--visibility",
        type=float,
        default=30.0,
        help="seconds a claim lasts without a heartbeat (default 30)",
    )
    p.add_argument("--name", default=None, help="worker name (default host-pid-random)")
    p.add_argument("--burst", action="store_true", help="stop once no job is ready or running")
    p.set_defaults(fn=_cmd_worker)
    _transfer_parsers(sub)
    _mcp_parser(sub)
    _serve_parser(sub)
    cli_info.add_parsers(sub)  # info
    cli_jobs.add_parsers(sub)  # jobs, bus, events
    cli_archive.add_parser(sub)  # archive
    a = parser.parse_args(argv)
    cli_ops.setup(a)
    try:
        return int(a.fn(a))
    except ZerolagError as e:
        print(f"zerolag: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if a.fn not in (_cmd_export, _cmd_import, _cmd_copy):
            raise
        print(f"zerolag: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
