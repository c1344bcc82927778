"""A thinking model's stream: thoughts apart from the answer, each phase timed, shown folded.

Chunks are built by hand where the point is the bookkeeping; ``think_aloud_stream`` runs on
the real local model.
"""

import time

import pytest
from openai.types.chat import ChatCompletionChunk

from utils import get_client
from utils.streaming import LiveThinking, chunk_thought, collect_stream, show_thinking
from utils.think_aloud import (
    ANSWER_INSTRUCTION,
    THINK_INSTRUCTION,
    answer_messages,
    think_aloud_stream,
    think_messages,
)


def chunk(content=None, reasoning=None, finish=None, usage=None, choices=True):
    delta = {"content": content, "reasoning_content": reasoning}
    return ChatCompletionChunk.model_validate(
        {
            "id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else [],
            "usage": usage,
        }
    )  # fmt: skip


def slow(chunks, pause=0.01):
    for item in chunks:
        time.sleep(pause)
        yield item


USAGE = {
    "prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14,
    "completion_tokens_details": {"reasoning_tokens": 6},
}  # fmt: skip
STREAM = [
    chunk(reasoning="9.11 vs 9.8: "),
    chunk(reasoning="compare tenths."),
    chunk(content="9.8 "),
    chunk(content="is larger."),
    chunk(content="", finish="stop"),
    chunk(usage=USAGE, choices=False),
]


def test_thoughts_and_answer_are_collected_apart_and_timed_in_order():
    thoughts, texts = [], []
    result = collect_stream(
        slow(STREAM), started=time.perf_counter(), on_text=texts.append, on_thought=thoughts.append
    )
    assert result.reasoning == "9.11 vs 9.8: compare tenths." and result.text == "9.8 is larger."
    assert thoughts == ["9.11 vs 9.8: ", "9.11 vs 9.8: compare tenths."]
    assert texts == ["9.8 ", "9.8 is larger."]
    assert 0 < result.first_thought_seconds < result.first_token_seconds <= result.total_seconds
    assert (result.reasoning_chunks, result.content_chunks) == (2, 2)
    assert (result.reasoning_tokens, result.completion_tokens) == (6, 9)
    summary = result.summary()
    assert (
        "6 thinking" in summary and "first thought" in summary and "first answer token" in summary
    )


def test_a_plain_stream_has_no_thoughts_and_the_same_summary_as_before():
    result = collect_stream([chunk(content="hi"), chunk(content="", finish="stop")])
    assert result.reasoning == "" and result.first_thought_seconds is None
    assert result.reasoning_tokens is None and "thought" not in result.summary()
    assert chunk_thought(chunk(content="hi")) == ""


def test_without_usage_the_tokens_are_the_chunks_of_both_phases():
    result = collect_stream(STREAM[:-1])
    assert result.completion_tokens == 4 and result.reasoning_tokens is None


def test_the_view_folds_the_thoughts_and_escapes_them():
    view = LiveThinking(title="Thoughts")
    view.on_thought("<b>a < b</b>")
    view.on_text("answer")
    bundle = view.bundle(streaming=False)
    html = bundle["text/html"]
    assert "<details" in html and "<details open" not in html  # folded until clicked
    assert "&lt;b&gt;a &lt; b&lt;/b&gt;" in html and "<b>a" not in html
    assert "folded" in bundle["text/plain"] and "answer" in bundle["text/plain"]


def test_show_thinking_outside_a_notebook_prints_the_final_view(capsys):
    result = show_thinking(iter(STREAM), started=time.perf_counter())
    printed = capsys.readouterr().out
    assert result.text == "9.8 is larger." and "Thoughts: 28 characters" in printed
    assert "9.8 is larger." in printed and "first answer token" in printed


def test_think_aloud_messages_ask_for_reasoning_then_for_the_answer():
    asked = [{"role": "user", "content": "2 + 2?"}]
    assert think_messages(asked) == [{"role": "system", "content": THINK_INSTRUCTION}, *asked]
    with_system = [{"role": "system", "content": "Be brief."}, *asked]
    assert think_messages(with_system)[0]["content"] == f"Be brief.\n\n{THINK_INSTRUCTION}"
    assert answer_messages(asked, "two and two")[-2:] == [
        {"role": "assistant", "content": "two and two"},
        {"role": "user", "content": ANSWER_INSTRUCTION},
    ]
    with pytest.raises(ValueError, match="at least 1"):
        next(think_aloud_stream(None, "m", asked, thinking_budget=0))


def test_think_aloud_streams_both_phases_from_the_local_model(local_settings):
    client = get_client(local_settings)
    asked = [{"role": "user", "content": "What is 2 + 2?"}]
    chunks = list(
        think_aloud_stream(client, local_settings.model, asked, thinking_budget=6, max_tokens=4,
                           temperature=0)
    )  # fmt: skip
    result = collect_stream(chunks)
    assert result.reasoning and result.text and result.complete
    usage = chunks[-1].usage
    thought = usage.completion_tokens_details.reasoning_tokens
    assert 1 <= thought <= 6  # the budget caps the thoughts
    assert 1 <= usage.completion_tokens - thought <= 4  # max_tokens caps the answer


def test_the_widget_keeps_the_thoughts_folded_and_times_both_phases():
    from utils.widgets import ThinkingView

    view = ThinkingView()
    assert "run this cell" in repr(view)
    result = view.stream(slow(STREAM), started=time.perf_counter())
    assert view.fold.selected_index is None  # folded until the learner opens it
    assert "28 characters" in view.fold.get_title(0) and "compare tenths." in view.thoughts.value
    assert "9.8 is larger." in view.answer.value and "▌" not in view.answer.value
    assert "first thought" in view.status.value and "first answer token" in view.status.value
    assert result.reasoning_tokens == 6 and "Thoughts folded" in repr(view)
