"""``ZerolagChatMessageHistory`` (LangChain's ``BaseChatMessageHistory`` on ``hub.chat``) on
every backend: LangChain messages come back as they were added (type, content including lists
of content blocks, additional_kwargs, tool calls, ids, names), through the sync and the async
methods; the stored messages are plain chat messages to other readers; free-text session ids
map to valid conversations; and ``RunnableWithMessageHistory`` keeps a conversation in it.

``langchain-tests`` has no standard suite for chat message histories (its integration suites
cover caches, stores, vector stores, retrievers, tools, models and embeddings), so these are
ours.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_to_dict,
)
from zerolag.integrations.langchain import ZerolagChatMessageHistory


def _conversation() -> list[BaseMessage]:
    return [
        SystemMessage(content="You are terse.", id="s1"),
        HumanMessage(content="What is 6 x 7?", name="ana", additional_kwargs={"lang": "en"}),
        AIMessage(
            content=[
                {"type": "text", "text": "Let me compute"},
                {"type": "text", "text": " that."},
            ],
            tool_calls=[{"name": "mul", "args": {"a": 6, "b": 7}, "id": "call-1"}],
            id="ai-1",
            response_metadata={"model": "fake"},
        ),
        ToolMessage(content="42", tool_call_id="call-1", name="mul", status="success"),
        AIMessage(content="42.", usage_metadata=None),
        ChatMessage(role="critic", content="Correct."),
    ]


def _dicts(ms: list[BaseMessage]) -> list[dict[str, Any]]:
    return [message_to_dict(m) for m in ms]


def test_messages_round_trip_faithfully(hub: Any) -> None:
    h = ZerolagChatMessageHistory(hub, "session-1")
    assert h.messages == []
    sent = _conversation()
    h.add_messages(sent[:3])
    h.add_message(sent[3])
    h.add_messages(sent[4:])
    got = h.messages
    assert _dicts(got) == _dicts(sent)
    assert [type(m) for m in got] == [type(m) for m in sent]
    ai = got[2]
    assert isinstance(ai, AIMessage) and ai.tool_calls[0]["args"] == {"a": 6, "b": 7}
    # Other readers of hub.chat see plain chat messages.
    stored = hub.chat.recent("session-1")
    assert [(m.role, m.content) for m in stored] == [
        ("system", "You are terse."),
        ("user", "What is 6 x 7?"),
        ("assistant", "Let me compute that."),
        ("tool", "42"),
        ("assistant", "42."),
        ("user", "Correct."),
    ]
    assert "lc_content" in stored[2].meta and stored[1].meta["lc_type"] == "human"
    assert str(h).startswith("System: You are terse.")
    h.clear()
    assert h.messages == [] and hub.chat.count("session-1") == 0


def test_async_methods(async_hub: Any, arun: Any) -> None:
    async def main() -> None:
        h = ZerolagChatMessageHistory(async_hub, "s-async")
        sent = _conversation()
        await h.aadd_messages(sent)
        assert _dicts(await h.aget_messages()) == _dicts(sent)
        with pytest.raises(TypeError):
            h.messages  # noqa: B018 - the sync API of an async hub refuses
        await h.aclear()
        assert await h.aget_messages() == []

    arun(main())


def test_async_methods_on_a_sync_hub(hub: Any, arun: Any) -> None:
    async def main() -> None:
        h = ZerolagChatMessageHistory(hub, "s")
        await h.aadd_messages([HumanMessage(content="hi")])
        assert [m.content for m in await h.aget_messages()] == ["hi"]
        await h.aclear()
        assert h.messages == []

    arun(main())


def test_sessions_messages_from_others_and_windows(hub: Any) -> None:
    odd = "user 42 / chat #7 ✓"
    h = ZerolagChatMessageHistory(hub, odd)
    assert h.conversation.startswith("sha256:") and len(h.conversation) == 71
    h.add_messages([HumanMessage(content="one"), AIMessage(content="two")])
    assert [m.content for m in ZerolagChatMessageHistory(hub, odd).messages] == ["one", "two"]
    assert ZerolagChatMessageHistory(hub, "sha256:" + "0" * 64).conversation != "sha256:" + (
        "0" * 64
    )
    # Messages another writer appended through hub.chat come back by their role.
    hub.chat.append("plain", "system", "s")
    hub.chat.append("plain", "user", "u")
    hub.chat.append("plain", "assistant", "a")
    hub.chat.append("plain", "tool", "t", {"tool_call_id": "c9"})
    got = ZerolagChatMessageHistory(hub, "plain").messages
    assert [type(m) for m in got] == [SystemMessage, HumanMessage, AIMessage, ToolMessage]
    assert isinstance(got[3], ToolMessage) and got[3].tool_call_id == "c9"
    last2 = ZerolagChatMessageHistory(hub, "plain", max_messages=2).messages
    assert [m.content for m in last2] == ["a", "t"]
    with pytest.raises(ValueError):
        ZerolagChatMessageHistory(hub, "plain", max_messages=0)
    many = ZerolagChatMessageHistory(hub, "long")
    many.add_messages([HumanMessage(content=str(i)) for i in range(1500)])
    assert [m.content for m in many.messages] == [str(i) for i in range(500, 1500)]


def test_runnable_with_message_history(hub: Any) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
    from langchain_core.runnables.history import RunnableWithMessageHistory

    prompt = ChatPromptTemplate.from_messages(
        [("system", "Be brief."), MessagesPlaceholder("history"), ("human", "{question}")]
    )
    seen: list[list[BaseMessage]] = []

    def record(x: Any) -> Any:
        seen.append(x.to_messages())
        return x

    model = FakeListChatModel(responses=["Hi Ana.", "Your name is Ana."])
    chain = prompt | record | model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with_history = RunnableWithMessageHistory(
            chain,
            lambda sid: ZerolagChatMessageHistory(hub, sid),
            input_messages_key="question",
            history_messages_key="history",
        )
    cfg = {"configurable": {"session_id": "ana-1"}}
    assert with_history.invoke({"question": "I am Ana."}, config=cfg).content == "Hi Ana."
    out = with_history.invoke({"question": "Who am I?"}, config=cfg)
    assert out.content == "Your name is Ana."
    # The second call's prompt carried the first exchange from the store.
    assert [m.content for m in seen[1]] == ["Be brief.", "I am Ana.", "Hi Ana.", "Who am I?"]
    stored = hub.chat.recent("ana-1")
    assert [(m.role, m.content) for m in stored] == [
        ("user", "I am Ana."),
        ("assistant", "Hi Ana."),
        ("user", "Who am I?"),
        ("assistant", "Your name is Ana."),
    ]
