"""ChatWidget and CompareWidget, driven through their handlers as a browser click would."""

import html
import re

import openai
import pytest

from utils.loopback.flaky import FlakyStreamServer
from utils.widgets import REDRAW_EVERY, ChatWidget, CompareWidget, compare


def flaky_client(server: FlakyStreamServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)


def drawn_turns(transcript_html: str) -> list[tuple[str, str]]:
    """(role, text) of every message a transcript snapshot draws, in order."""
    found = re.findall(
        r'class="cookbook-chat-turn cookbook-chat-(user|assistant)[^"]*"[^>]*><b>[^<]*</b> (.*?)</div>',
        transcript_html,
        re.DOTALL,
    )
    return [(role, text.removesuffix("▌")) for role, text in found]


def record_snapshots(chat: ChatWidget) -> list[str]:
    snapshots = []
    chat.transcript.observe(lambda change: snapshots.append(change["new"]), "value")
    return snapshots


def assert_each_message_drawn_once(snapshots: list[str], questions: list[str]) -> None:
    for snapshot in snapshots:
        turns = drawn_turns(snapshot)
        users = [text for role, text in turns if role == "user"]
        assert len(users) == len(set(users)), f"a message is drawn twice: {turns}"
        assert set(users) <= set(questions)
        assert [role for role, _ in turns] == ["user", "assistant"] * (len(turns) // 2)
        assert "no longer fit" not in snapshot, snapshot


def test_chat_widget_streams_a_real_reply_into_the_transcript(local_settings):
    chat = ChatWidget(local_settings, reply_tokens=16)
    drawn = record_snapshots(chat)
    chat.message_box.value = "Hello! Name a fruit."
    chat.send_button.click()  # what the browser's click does: runs the handler in the kernel
    assert [m["role"] for m in chat.conversation.turns] == ["user", "assistant"]
    reply = chat.conversation.turns[-1]["content"]
    assert reply.strip() and chat.message_box.value == ""
    assert chat.status.value.startswith("Done: finish_reason=")
    # Drawn as it streams: the question at once with an empty reply, then the reply so far
    # (each draw a prefix of the final reply), then the final one.
    assert "cookbook-chat-streaming" in drawn[0]
    assert drawn_turns(drawn[0]) == [("user", "Hello! Name a fruit."), ("assistant", "")]
    streamed = [drawn_turns(s)[-1][1] for s in drawn if "cookbook-chat-streaming" in s]
    assert all(html.escape(reply).startswith(text) for text in streamed), streamed
    # The reply's length is the model's business, but one of several tokens whose first came
    # after a redraw interval must have been drawn part-way (the widget redraws every 50 ms).
    timing = re.search(r"· (\d+) tokens .*first token ([\d.]+) s", chat.status.value)
    assert timing, chat.status.value
    if int(timing[1]) >= 3 and float(timing[2]) >= REDRAW_EVERY:  # 2 text chunks + stop
        assert any(0 < len(text) < len(html.escape(reply)) for text in streamed), drawn
    assert "cookbook-chat-streaming" not in chat.transcript.value
    assert "Hello! Name a fruit." in chat.transcript.value
    assert not chat.busy and not chat.send_button.disabled
    assert "cookbook-chat-busy" not in chat._dom_classes
    assert_each_message_drawn_once(drawn, ["Hello! Name a fruit."])


def test_every_snapshot_draws_each_message_once_and_no_false_note(local_settings):
    """Issue 14: while a reply streamed, the question was drawn twice and a note said
    "(1 earlier messages no longer fit...)" although everything fit."""
    questions = ["Hello", "Tell me more", "And then?"]
    with FlakyStreamServer(["Once", " upon", " a", " time."], delay=0.06) as server:
        chat = ChatWidget(local_settings, client=flaky_client(server))
        snapshots = record_snapshots(chat)
        for question in questions:
            chat.send(question)
    streaming = [s for s in snapshots if "cookbook-chat-streaming" in s]
    assert len(streaming) >= 2 * len(questions)  # drawn while each reply arrived
    assert drawn_turns(streaming[0]) == [("user", "Hello"), ("assistant", "")]
    assert_each_message_drawn_once(snapshots, questions)
    assert drawn_turns(snapshots[-1]) == [
        turn for q in questions for turn in (("user", q), ("assistant", "Once upon a time."))
    ]


def test_the_note_counts_what_really_no_longer_fits(local_settings):
    with FlakyStreamServer(["A long reply that fills the budget quickly."]) as server:
        chat = ChatWidget(local_settings, client=flaky_client(server), budget=100, reply_tokens=40)
        snapshots = record_snapshots(chat)
        for question in ["First question, fairly long.", "Second one.", "Third one."]:
            chat.send(question)
    left_out = chat.conversation.left_out
    assert left_out > 0  # this budget cannot hold the whole chat
    assert f"({left_out} earlier messages no longer fit" in snapshots[-1]
    notes = [re.search(r"\((\d+) earlier messages no longer fit", s) for s in snapshots]
    counts = [int(n.group(1)) for n in notes if n]
    assert counts == sorted(counts)  # never a note that a later snapshot takes back


def test_chat_widget_has_stable_css_hooks(local_settings):
    chat = ChatWidget(local_settings)
    assert "cookbook-chat" in chat._dom_classes
    for part, name in [
        (chat.system_box, "system"),
        (chat.temperature_slider, "temperature"),
        (chat.transcript, "transcript"),
        (chat.message_box, "message"),
        (chat.send_button, "send"),
        (chat.clear_button, "clear"),
        (chat.status, "status"),
    ]:
        assert f"cookbook-chat-{name}" in part._dom_classes
    assert local_settings.model in chat.status.value
    assert repr(chat) == (
        f"[Chat box for {local_settings.model} (local): run this cell to open it; its buttons "
        "need a running kernel.]"
    )
    # Text boxes fill their row without "100%" + margin pushing the right border out.
    for part in (chat.system_box, chat.message_box, chat.transcript):
        assert part.layout.width == "auto" and part.layout.flex == "1 1 auto"


def test_chat_widget_sends_its_system_prompt_and_temperature(local_settings):
    with FlakyStreamServer(["Bonjour", " !"]) as server:
        chat = ChatWidget(local_settings, client=flaky_client(server))
        chat.system_box.value = "Answer in French."
        chat.temperature_slider.value = 1.2
        chat.send("Hello")
        chat.send("Again")
        first, second = server.requests
    assert first["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert first["temperature"] == 1.2 and first["stream"] is True
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert second["messages"][2]["content"] == "Bonjour !"


def test_chat_widget_ignores_empty_messages_and_clears(local_settings):
    with FlakyStreamServer(["Hi"]) as server:
        chat = ChatWidget(local_settings, client=flaky_client(server))
        assert chat.send("   ") is None and server.requests == []
        assert chat.status.value == "Type a message first."
        chat.send("Hello")
        chat.clear_button.click()
    assert chat.conversation.turns == [] and "No messages yet" in chat.transcript.value
    assert chat.status.value == "Cleared."
    assert chat.system_box.value  # the system prompt stays


def test_chat_widget_keeps_a_broken_reply_and_says_what_to_do(local_settings):
    with FlakyStreamServer(["Once", " upon", " a", " time"], drop_after=2) as server:
        chat = ChatWidget(local_settings, client=flaky_client(server))
        result = chat.send("Tell me a story.")
    assert not result.complete and chat.status.value.startswith("⚠ The stream broke")
    assert "Once upon" in chat.transcript.value
    assert chat.conversation.turns[-1]["content"] == "Once upon"


def test_chat_widget_gives_the_message_back_when_nothing_answers(local_settings, fake_api):
    server = fake_api(503, {"error": {"message": "overloaded"}})
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    chat = ChatWidget(local_settings, client=client)
    chat.message_box.value = "Are you there?"
    assert chat.send() is None
    assert chat.message_box.value == "Are you there?"  # ready to send again
    assert "What to do" in chat.status.value and chat.conversation.turns == []
    assert not chat.busy


def test_compare_streams_both_settings_side_by_side(local_settings):
    with FlakyStreamServer(["Blue", "."]) as server:
        widget = CompareWidget(
            "Name a colour.",
            {"temperature": 0},
            {"temperature": 1.2, "system": "Answer in French."},
            settings=local_settings,
            client=flaky_client(server),
            max_tokens=9,
        )
        results = widget.run()
        left, right = server.requests
    assert set(results) == {"left", "right"} and all(r.complete for r in results.values())
    assert left["temperature"] == 0 and left["max_tokens"] == 9
    assert left["messages"] == [{"role": "user", "content": "Name a colour."}]
    assert right["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert all("Blue." in pane.value for pane in widget.panes.values())
    assert widget.status.value == "Done." and widget.results == results
    assert "cookbook-compare-left" in widget.panes["left"]._dom_classes
    assert repr(widget).startswith("[Side-by-side comparison of 'Name a colour.'")


@pytest.mark.parametrize(
    ("left", "message"),
    [("{not json", "not valid JSON"), ("[1, 2]", "must be a JSON object")],
)
def test_compare_explains_unusable_settings(local_settings, left, message):
    widget = CompareWidget("Hi", {}, {}, settings=local_settings)
    widget.settings_boxes["left"].value = left
    assert widget.run() is None and message in widget.status.value


def test_compare_reports_an_unknown_option(local_settings):
    widget = CompareWidget("Hi", {"temprature": 1}, {}, settings=local_settings)
    assert widget.run() is None and "temprature" in widget.status.value


def test_compare_function_runs_against_the_real_model(local_settings):
    widget = compare(
        "Name a colour.", {"temperature": 0}, {"temperature": 1.0, "seed": 3}, local_settings,
        max_tokens=8,
    )  # fmt: skip
    assert widget.status.value == "Done."
    assert all("finish_reason=" in pane.value for pane in widget.panes.values())
