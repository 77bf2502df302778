"""The coded protocol from Python: typed objects, round trips, errors, extract, decode_many.

These need no store.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zerolag import protocol as p
from zerolag.exceptions import ProtocolError, ValidationError

# Text with the characters the grammar cares about mixed into arbitrary Unicode.
GRAMMAR_CHARS = "|\\[]{}'\":,.- \n\r\t\u2028\x00é😀"
text = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from(GRAMMAR_CHARS + "abc019"), max_size=24),
    st.sampled_from(["", "null", "true", "12", "-0.5e3", "low", " ", "auto"]),
)
required = text.filter(bool)
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=20,
)

messages = st.one_of(
    st.builds(
        p.TaskCreate,
        title=required,
        intent=required,
        complexity=st.sampled_from(["low", "medium", "high", "critical"]) | unit,
    ),
    st.builds(p.TaskSplit, task_id=required, confidence=unit, reason=text),
    st.builds(p.WorkflowStart, workflow_id=required, params=json_values),
    st.builds(
        p.ContextLoad,
        context_id=required,
        depth=required | st.integers(min_value=-(2**63), max_value=2**63 - 1),
    ),
    st.builds(p.MemoryStore, key=required, value=json_values, type=required),
    st.builds(p.TaskReady, task_id=required, confidence=unit, routing=required),
    st.builds(p.TaskComplete, task_id=required, result=json_values, next_steps=json_values),
    st.builds(p.StatusUpdate, entity_id=required, status=required, progress=unit),
    st.builds(p.ContextLoaded, context_id=required, summary=text),
    st.builds(p.ErrorEvent, code=required, message=text, recovery=text),
)


def same(a: Any, b: Any) -> bool:
    """Equality that treats -0.0 and 0.0 alike and compares dict/list structure."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(max_examples=400, deadline=None)
@given(messages)
def test_every_message_round_trips(m: p.Message) -> None:
    line = m.encode()
    assert "\n" not in line and "\r" not in line
    back = p.decode(line, m.direction)
    assert type(back) is type(m)
    assert back == m
    assert same(back.to_dict(), m.to_dict())
    assert back.encode() == line
    assert p.encode(back) == line


@settings(max_examples=200, deadline=None)
@given(title=required, before=text, after=text)
def test_titles_round_trip_and_extract(title: str, before: str, after: str) -> None:
    cmd = p.TaskCreate(title=title, intent="i", complexity="low")
    back = p.decode_command(cmd.encode())
    assert isinstance(back, p.TaskCreate) and back.title == title

    def prose(s: str) -> str:
        return "".join("_" if c in "[]\n\r`\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029" else c for c in s)

    x = p.extract(f"{prose(before)} [{cmd.encode()}] {prose(after)}")
    assert x.errors == []
    assert x.commands == [cmd]


def test_plain_fields_stay_readable() -> None:
    line = "tc:User Authentication System|business_growth|high"
    cmd = p.decode_command(line)
    assert isinstance(cmd, p.TaskCreate)
    assert (cmd.title, cmd.intent, cmd.complexity) == (
        "User Authentication System",
        "business_growth",
        "high",
    )
    assert cmd.encode() == line
    assert cmd.kind == "tc" and cmd.direction == "command"
    assert p.TaskCreate.kind == "tc"


def test_each_kind_decodes_typed() -> None:
    ts = p.decode_command("ts:auto|0.3|Complex multi-component system")
    assert isinstance(ts, p.TaskSplit) and ts.task_id == "auto" and ts.confidence == 0.3
    wf = p.decode_command("wf:project_planning|{name:'MyApp',scope:'web,mobile'}")
    assert isinstance(wf, p.WorkflowStart)
    assert wf.params == {"name": "MyApp", "scope": "web,mobile"}
    cl = p.decode_command("cl:conversation_1|full")
    assert isinstance(cl, p.ContextLoad) and cl.depth == "full"
    assert p.decode_command("cl:c|2") == p.ContextLoad(context_id="c", depth=2)
    ms = p.decode_command("ms:user_preference|{theme:'dark'}|semantic")
    assert isinstance(ms, p.MemoryStore) and ms.value == {"theme": "dark"} and ms.type == "semantic"
    tr = p.decode_event("tr:task_123|0.85|one_shot")
    assert tr == p.TaskReady(task_id="task_123", confidence=0.85, routing="one_shot")
    tc = p.decode_event("tc:task_123|success|{next:['task_124','task_125']}")
    assert isinstance(tc, p.TaskComplete)
    assert tc.result == "success" and tc.next_steps == {"next": ["task_124", "task_125"]}
    su = p.decode_event("su:task_123|in_progress|0.45")
    assert isinstance(su, p.StatusUpdate) and su.progress == 0.45
    cd = p.decode_event("cl:conversation_123|Summary: Discussed auth implementation...")
    assert isinstance(cd, p.ContextLoaded)
    assert cd.summary == "Summary: Discussed auth implementation..."
    er = p.decode_event("er:E_TIMEOUT|took too long|retry")
    assert isinstance(er, p.ErrorEvent) and er.code == "E_TIMEOUT"
    assert er.to_dict() == {
        "kind": "er",
        "code": "E_TIMEOUT",
        "message": "took too long",
        "recovery": "retry",
    }


def test_direction_decides_tc_and_cl() -> None:
    assert isinstance(p.decode("tc:a|b|high", "command"), p.TaskCreate)
    assert isinstance(p.decode("tc:a|b|high", "event"), p.TaskComplete)
    assert isinstance(p.decode("cl:a|b", "command"), p.ContextLoad)
    assert isinstance(p.decode("cl:a|b", "event"), p.ContextLoaded)
    with pytest.raises(ValidationError):
        p.decode("tc:a|b|c", "sideways")  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("line", "position", "expected_part"),
    [
        ("zz:a|b", 0, "tc, ts, wf, cl, ms"),
        ("tc:title|intent", 15, "complexity"),
        ("cl:a|full|extra", 9, "end of the command"),
        ("ts:a|1.5|r", 5, "from 0 to 1"),
        ("ts:a|-0.1|r", 5, "from 0 to 1"),
        ("tc:a|b|extreme", 7, "low, medium"),
        ("tc:|b|low", 3, "non-empty"),
        ("wf:w|{a:1", 9, "`,` or `}`"),
        ("wf:w|" + "[" * 40 + "]" * 40, 37, "nesting"),
        ("tc:é|b|huge", 7, "low, medium"),  # characters, not bytes
    ],
)
def test_errors_name_position_and_expectation(line: str, position: int, expected_part: str) -> None:
    with pytest.raises(ProtocolError) as info:
        p.decode_command(line)
    assert info.value.position == position
    assert expected_part in info.value.expected


def test_event_errors() -> None:
    with pytest.raises(ProtocolError, match="outside"):
        p.decode_event("su:t|running|1.01")
    with pytest.raises(ProtocolError, match="command prefix"):
        p.decode_event("ts:a|0.5|r")
    with pytest.raises(ProtocolError):
        p.decode_event("x" * (p.MAX_LINE_BYTES + 1))


def test_constructors_validate_like_decoding() -> None:
    with pytest.raises(ProtocolError, match="outside"):
        p.TaskSplit(task_id="a", confidence=1.5, reason="")
    with pytest.raises(ProtocolError, match="outside"):
        p.StatusUpdate(entity_id="a", status="s", progress=-1)
    with pytest.raises(ProtocolError, match="empty"):
        p.TaskCreate(title="", intent="i", complexity="low")
    with pytest.raises(ProtocolError, match="complexity"):
        p.TaskCreate(title="t", intent="i", complexity="enormous")
    with pytest.raises(TypeError):
        p.TaskReady(task_id="t", confidence=True, routing="r")
    with pytest.raises(TypeError):
        p.ContextLoad(context_id="c", depth=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        p.WorkflowStart(workflow_id="w", params={1, 2})  # not JSON (docs/errors.md)
    with pytest.raises(TypeError):
        p.encode("tc:a|b|c")  # type: ignore[arg-type]
    obj = p.TaskCreate(title="t", intent="i", complexity=0.5)
    with pytest.raises(AttributeError):
        obj.title = "other"  # type: ignore[misc]


def test_text_that_looks_like_values_stays_text() -> None:
    for value in ["123", "", "null", "true", "{a:1}", "[1]", "'q'", " padded ", "a|b", "x\\"]:
        m = p.MemoryStore(key="k", value=value, type="t")
        back = p.decode_command(m.encode())
        assert isinstance(back, p.MemoryStore)
        assert back.value == value
    assert p.decode_command("ms:k|42|t") == p.MemoryStore(key="k", value=42, type="t")
    assert p.decode_command("ms:k|v1.2|t") == p.MemoryStore(key="k", value="v1.2", type="t")


def test_escaping_examples() -> None:
    m = p.TaskCreate(title="Fix [urgent] a|b\nc", intent="bug", complexity="high")
    assert m.encode() == "tc:Fix \\[urgent\\] a\\|b\\nc|bug|high"
    assert p.decode_command("tc:C:\\Users\\me|x|low") == p.TaskCreate(
        title="C:\\Users\\me", intent="x", complexity="low"
    )


def test_extract_forms_and_tidy_text() -> None:
    reply = (
        "I'll create that task for you right away!\n"
        "[Generating: tc:User Authentication System|business_growth|high]\n"
        "You'll see the progress shortly."
    )
    x = p.extract(reply)
    title = "User Authentication System"
    assert x.commands == [p.TaskCreate(title=title, intent="business_growth", complexity="high")]
    assert x.text == "I'll create that task for you right away!\nYou'll see the progress shortly."
    assert x.errors == []

    x = p.extract("Sure! [tc:a|b|low] Done.\n\n```\nms:k|v|t\ncl:c|full\n```\n\nBye")
    assert [c.kind for c in x.commands] == ["tc", "ms", "cl"]
    assert x.text == "Sure! Done.\n\nBye"

    prose = "The tc: prefix means task create; tc:a is not a command."
    x = p.extract(prose)
    assert x.commands == [] and x.text == prose


def test_extract_reports_bad_candidates() -> None:
    x = p.extract("Okay.\nts:auto|1.7|too sure\nthanks")
    assert x.commands == []
    (err,) = x.errors
    assert (err.line, err.position, err.source) == (2, 8, "ts:auto|1.7|too sure")
    assert "0 to 1" in err.expected
    assert err.offset == 6
    assert x.text == "Okay.\nthanks"
    ev = err.to_event()
    assert isinstance(ev, p.ErrorEvent) and ev.code == "E_PARSE"
    assert p.decode_event(ev.encode()) == ev


def test_extract_error_offsets_count_characters_across_many_errors() -> None:
    # Offsets are characters (not bytes) and stay right when many errors follow multi-byte
    # prose; they are counted in one pass, so a long reply with many errors stays linear.
    lines = [f"é {i} 🙂 naïve" if i % 2 else f"ts:auto|2.{i}|bad {i}" for i in range(2_000)]
    text = "\n".join(lines)
    x = p.extract(text)
    assert len(x.errors) == 1_000
    for i, err in enumerate(x.errors):
        assert text[err.offset :].startswith(f"ts:auto|2.{2 * i}|")
        assert err.line == 2 * i + 1


def test_extract_events() -> None:
    x = p.extract("status:\ntr:t1|0.9|one_shot\nsu:t1|running|0.5", direction="event")
    assert [type(e) for e in x.commands] == [p.TaskReady, p.StatusUpdate]
    assert p.extract("tr:t1|0.9|one_shot").commands == []


def test_decode_many() -> None:
    lines = ["tc:a|b|low", "ts:auto|0.3|r", "wf:w|{x:[1,2]}"] * 10
    out = p.decode_many(lines)
    assert len(out) == 30 and out[2] == p.WorkflowStart(workflow_id="w", params={"x": [1, 2]})
    events = p.decode_many(["tc:t|ok|null"], direction="event")
    assert events == [p.TaskComplete(task_id="t", result="ok", next_steps=None)]
    with pytest.raises(ProtocolError, match="line 1") as info:
        p.decode_many(["tc:a|b|low", "tc:a|b|nope"])
    assert info.value.position == 7
    with pytest.raises(TypeError):
        p.decode_many("tc:a|b|low")


def test_error_codes_table() -> None:
    for code in [
        "E_TIMEOUT",
        "E_NOT_FOUND",
        "E_INVALID",
        "E_UNAUTHORIZED",
        "E_RATE_LIMIT",
        "E_BACKEND_DOWN",
        "E_HANDLER",
        "E_UNKNOWN_COMMAND",
        "E_INTERNAL",
        "E_PARSE",
    ]:
        assert p.ERROR_CODES[code]
    assert all(isinstance(v, str) and v for v in p.ERROR_CODES.values())


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(GRAMMAR_CHARS + "tcslmwfrue:|01ab"), max_size=40))
def test_garbage_never_crashes(s: str) -> None:
    directions: tuple[p.Direction, ...] = ("command", "event")
    for direction in directions:
        try:
            m = p.decode(s, direction)
        except ProtocolError:
            continue
        assert p.decode(m.encode(), direction) == m
    p.extract(s)
