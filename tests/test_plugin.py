"""The pytest plugin shipped with the package (zerolag.testing), run from a separate sample
project with pytester, as a user's own suite would load it (through the entry point)."""

from __future__ import annotations

import shutil

import pytest

pytest_plugins = ["pytester"]

SAMPLE = """
import pytest
import zerolag
from zerolag.testing import drain_jobs, run_backend, wait_for_event


def test_hub(zerolag_hub):
    zerolag_hub.kv.set("k", 1)
    assert zerolag_hub.kv.get("k") == 1


def test_each_test_gets_a_fresh_store(zerolag_hub):
    assert zerolag_hub.kv.get("k") is None


def test_jobs_and_events(zerolag_hub):
    zerolag_hub.jobs.enqueue("add", {"a": 2, "b": 3})

    def add(ctx):
        zerolag_hub.events.publish("sum", ctx.payload["a"] + ctx.payload["b"])

    stats = drain_jobs(zerolag_hub, {"add": add})
    assert wait_for_event(zerolag_hub, "sum").data == 5
    with pytest.raises(AssertionError, match="no event"):
        wait_for_event(zerolag_hub, "sum", where=lambda ev: ev.data == 6, timeout=0.2)


def test_loop(zerolag_loop):
    done = []
    zerolag_loop.register("tc", lambda cmd, ctx: done.append(cmd.title) or "ok")
    zerolag_loop.send("s1", "Create an invoice exporter")
    run_backend(zerolag_loop)
    assert done == ["Invoice exporter"]
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_sample=SAMPLE)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


@pytest.mark.parametrize("store", ["memory", "embedded"])
def test_the_plugin_runs_a_users_suite(pytester: pytest.Pytester, store: str) -> None:
    result = _run(pytester, f"--zerolag-store={store}")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([f"zerolag: {store} store*"])


def test_the_plugin_on_a_throwaway_redis(pytester: pytest.Pytester) -> None:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server not found; run `make test`, which installs it")
    result = _run(pytester, "--zerolag-store=redis")
    result.assert_outcomes(passed=4)


def test_a_failing_user_test_fails(pytester: pytest.Pytester) -> None:
    """The fixtures do not swallow failures: the plugin's tests above can fail."""
    pytester.makepyfile(
        test_bad="def test_bad(zerolag_hub):\n    assert zerolag_hub.kv.get('nope') == 1\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
