"""Stream helpers against the real local server, a killed server and a loopback server that
drops the connection mid-answer."""

import asyncio

import openai
import pytest

from utils import get_async_client, get_client, local_server
from utils.loopback.flaky import FlakyStreamServer
from utils.streaming import (
    RESUME_PROMPT,
    LiveText,
    StreamInterrupted,
    StreamResult,
    collect_stream,
    collect_stream_async,
    partial_mode_messages,
    resume_messages,
    show_stream,
    stream_chat,
    stream_chat_async,
)

PIECES = ["The ", "sea ", "is ", "wide ", "and ", "deep."]
MESSAGES = [{"role": "user", "content": "Name two colours."}]


def flaky_client(server: FlakyStreamServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)


def test_stream_chat_collects_text_finish_reason_and_timing(local_settings):
    client = get_client(local_settings)
    request = {"model": local_settings.model, "messages": MESSAGES, "max_tokens": 12}
    chunks = list(
        client.chat.completions.create(
            **request, temperature=0, stream=True, stream_options={"include_usage": True}
        )
    )
    # llama.cpp's sequence: a role chunk, one chunk per token, a finish_reason chunk, and
    # (asked for with include_usage) a last chunk with usage and no choices at all.
    assert chunks[0].choices[0].delta.role == "assistant" and not chunks[0].choices[0].delta.content
    assert chunks[-2].choices[0].finish_reason in ("stop", "length")
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(c.choices[0].delta.content for c in chunks[1:-2])

    result = stream_chat(client, **request, temperature=0)
    assert result.complete and result.error is None and result.advice is None
    assert result.finish_reason == chunks[-2].choices[0].finish_reason and result.text.strip()
    assert 0 < result.first_token_seconds <= result.total_seconds
    assert result.chunks == result.content_chunks + 3 == len(chunks)
    # The usage chunk is used: the server's count, not the chunks counted.
    assert result.tokens_source == "usage"
    assert result.usage.prompt_tokens == chunks[-1].usage.prompt_tokens
    assert result.completion_tokens == result.usage.completion_tokens <= 12
    # A stop token is generated but sends no text: usage counts it, the chunks do not.
    extra = 1 if result.finish_reason == "stop" else 0
    assert result.completion_tokens == result.content_chunks + extra
    assert result.cached_tokens is not None  # llama.cpp reports prompt_tokens_details too
    assert "finish_reason=" in result.summary() and "tokens/s" in result.summary()


def test_a_repeated_prompt_is_served_from_the_servers_cache(local_settings):
    client = get_client(local_settings)
    messages = [{"role": "user", "content": "Describe the sea in one long sentence, please."}]
    first, second = (
        stream_chat(client, model=local_settings.model, messages=messages, max_tokens=2)
        for _ in range(2)
    )
    assert second.usage.prompt_tokens == first.usage.prompt_tokens
    assert 0 < second.cached_tokens < second.usage.prompt_tokens


def test_usage_chunk_is_used_when_the_server_sends_one():
    usage = {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}
    with FlakyStreamServer(PIECES, usage=usage) as server:
        result = stream_chat(flaky_client(server), model=server.model, messages=MESSAGES)
        sent = server.requests[0]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert result.complete and result.text == "".join(PIECES)
    assert result.usage.prompt_tokens == 9 and result.tokens_source == "usage"
    assert result.chunks == len(PIECES) + 3  # role, pieces, finish_reason, usage


def test_a_dropped_connection_keeps_the_partial_text_and_says_what_to_do():
    with FlakyStreamServer(PIECES, drop_after=3) as server:
        result = stream_chat(flaky_client(server), model=server.model, messages=MESSAGES)
    assert not result.complete and result.finish_reason is None
    assert result.text == "The sea is " and result.content_chunks == 3
    assert isinstance(result.error, openai.APIConnectionError)
    assert "incomplete chunked read" in result.advice  # the real cause, from httpx2
    assert "kept in result.text" in result.advice and "resume_messages" in result.advice
    assert "cut short" in result.summary()


def test_a_drop_before_any_text_says_so():
    with FlakyStreamServer(PIECES, drop_after=0) as server:
        result = stream_chat(flaky_client(server), model=server.model, messages=MESSAGES)
    assert result.text == "" and result.first_token_seconds is None
    assert "before any text arrived" in result.advice and "no text" in result.summary()


def test_a_killed_model_server_mid_answer(local_settings):
    shared = local_server.status()
    with local_server.temporary_server() as spare:
        assert spare.port != shared.port and local_server.status() == shared
        client = get_client(local_settings, base_url=spare.base_url, max_retries=0)

        def pull_the_plug(text):
            if len(text) > 20 and local_server.is_alive(spare):
                local_server.kill(spare)

        result = stream_chat(
            client,
            on_text=pull_the_plug,
            model=local_settings.model,
            messages=[{"role": "user", "content": "Write a long story about a lighthouse."}],
            max_tokens=200,
            temperature=0,
            extra_body={"ignore_eos": True},  # llama.cpp: no end of turn, so 200 tokens come
        )
        assert not local_server.is_alive(spare)
    assert len(result.text) > 20 and not result.complete
    assert isinstance(result.error, openai.APIConnectionError)
    assert local_server.status() == shared  # the shared server never noticed


def test_errors_before_the_stream_starts_raise(fake_api):
    server = fake_api(401, {"error": {"message": "Incorrect API key provided"}})
    client = openai.OpenAI(base_url=server.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        stream_chat(client, model="m", messages=MESSAGES)


def test_collect_stream_closes_the_stream_when_the_callback_fails():
    with FlakyStreamServer(PIECES) as server:
        stream = flaky_client(server).chat.completions.create(
            model=server.model, messages=MESSAGES, stream=True
        )

        def fail(text):
            raise RuntimeError("display broke")

        with pytest.raises(RuntimeError, match="display broke"):
            collect_stream(stream, on_text=fail)
        assert stream.response.is_closed


def test_a_stream_ended_early_without_finish_reason_is_flagged():
    with FlakyStreamServer(PIECES, done_after=2) as server:
        result = stream_chat(flaky_client(server), model=server.model, messages=MESSAGES)
    assert result.text == "The sea " and result.error is None
    assert not result.complete and "without a finish_reason" in result.advice


def test_async_streams_run_together(local_settings):
    async def together(limit: int):
        client = get_async_client(local_settings)  # created inside the loop that uses it
        gate = asyncio.Semaphore(limit)

        async def ask(question):
            async with gate:
                return await stream_chat_async(
                    client,
                    model=local_settings.model,
                    messages=[{"role": "user", "content": question}],
                    max_tokens=8,
                    temperature=0,
                )

        return await asyncio.gather(*(ask(q) for q in ["Name a fruit.", "Name a city."]))

    results = asyncio.run(together(limit=2))
    first, second = sorted(results, key=lambda r: r.started)
    assert second.started - first.started < first.total_seconds  # sent together, not in turn
    for result in results:  # the local server may cut the earlier one short: it must say so
        assert result.complete or "without a finish_reason" in result.advice
    assert any(r.complete for r in results)
    one_at_a_time = asyncio.run(together(limit=1))
    assert all(r.complete and r.text for r in one_at_a_time)


def test_async_broken_stream_keeps_partial_text():
    async def read(server):
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        stream = await client.chat.completions.create(
            model=server.model, messages=MESSAGES, stream=True
        )
        seen = []
        return await collect_stream_async(stream, on_text=seen.append), seen

    with FlakyStreamServer(PIECES, drop_after=4) as server:
        result, seen = asyncio.run(read(server))
    assert result.text == "The sea is wide " and seen[-1] == result.text and len(seen) == 4
    assert isinstance(result.error, openai.APIConnectionError)


def test_resume_messages_append_the_partial_answer_and_a_request_to_continue():
    resumed = resume_messages(MESSAGES, "Red and")
    assert resumed[: len(MESSAGES)] == MESSAGES and len(MESSAGES) == 1  # original untouched
    assert resumed[-2] == {"role": "assistant", "content": "Red and"}
    assert resumed[-1] == {"role": "user", "content": RESUME_PROMPT}
    for build in (resume_messages, partial_mode_messages):
        with pytest.raises(ValueError, match=r"before any text arrived\): send the same request"):
            build(MESSAGES, "")


def test_partial_mode_continues_the_answer_itself(local_settings):
    story = [{"role": "user", "content": "Tell a short story about a lighthouse keeper."}]
    messages = partial_mode_messages(story, "Once upon a time, on a rocky island,")
    assert messages[:-1] == story
    assert messages[-1] == {
        "role": "assistant",
        "content": "Once upon a time, on a rocky island,",
        "partial": True,
    }
    client = get_client(local_settings)
    continued = stream_chat(
        client, model=local_settings.model, messages=messages, max_tokens=8, temperature=0
    )
    resumed = stream_chat(
        client, model=local_settings.model, messages=resume_messages(story, "Once upon a time, on a rocky island,"),
        max_tokens=8, temperature=0,
    )  # fmt: skip
    # Partial mode: the server renders no end of turn after the prefix, so the prompt is
    # the prefix itself and the answer goes on from it; a resume request adds a new turn.
    assert continued.complete and continued.text.strip()
    assert continued.usage.prompt_tokens < resumed.usage.prompt_tokens


def test_ctrl_c_keeps_the_partial_text_and_still_stops():
    """A KeyboardInterrupt while a stream is read: it still interrupts, and nothing is lost."""
    with FlakyStreamServer(PIECES, delay=0.01) as server:
        stream = flaky_client(server).chat.completions.create(
            model=server.model, messages=MESSAGES, stream=True
        )

        def press_stop(text):
            if text == "The sea is ":
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt) as stopped:
            collect_stream(stream, on_text=press_stop)
        assert stream.response.is_closed
    assert isinstance(stopped.value, StreamInterrupted)
    result = stopped.value.result
    assert result.text == "The sea is " and not result.complete
    assert "You stopped the stream" in result.advice and "kept in result.text" in result.advice


def test_show_stream_shows_what_arrived_when_stopped(ipython_shell, monkeypatch):
    monkeypatch.setattr(LiveText, "EVERY", 0.0)

    def press_stop(self, text):
        if text == "The sea ":
            raise KeyboardInterrupt

    monkeypatch.setattr(LiveText, "update", press_stop)
    with FlakyStreamServer(PIECES) as server, pytest.raises(StreamInterrupted):
        show_stream(flaky_client(server), model=server.model, messages=MESSAGES)
    final = ipython_shell.display_pub.outputs[-1]["data"]["text/plain"]
    assert final.startswith("The sea \n") and LiveText.CURSOR not in final
    assert "You stopped the stream" in final


def test_async_ctrl_c_keeps_the_partial_text():
    async def read(server):
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        stream = await client.chat.completions.create(
            model=server.model, messages=MESSAGES, stream=True
        )

        def press_stop(text):
            if text == "The ":
                raise KeyboardInterrupt

        return await collect_stream_async(stream, on_text=press_stop)

    with FlakyStreamServer(PIECES) as server, pytest.raises(StreamInterrupted) as stopped:
        asyncio.run(read(server))
    assert stopped.value.result.text == "The "


def test_tokens_per_second_and_completeness():
    assert StreamResult(content_chunks=10, total_seconds=2.0).tokens_per_second == 5.0
    assert StreamResult().tokens_per_second is None
    assert not StreamResult(text="x").complete  # no finish_reason: not known to be complete


@pytest.fixture
def ipython_shell():
    """A real IPython shell whose display outputs are captured, as a notebook would get them."""
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.display_pub = CapturingDisplayPublisher()
    yield shell
    InteractiveShell.clear_instance()


def test_show_stream_updates_one_output_in_place(ipython_shell, monkeypatch):
    monkeypatch.setattr(LiveText, "EVERY", 0.0)  # update on every piece
    with FlakyStreamServer(PIECES, delay=0.01) as server:
        result = show_stream(flaky_client(server), model=server.model, messages=MESSAGES)
    outputs = ipython_shell.display_pub.outputs
    ids = {o["transient"]["display_id"] for o in outputs}
    assert len(ids) == 1  # one output, updated
    assert [o["update"] for o in outputs] == [False] + [True] * (len(outputs) - 1)
    texts = [o["data"]["text/plain"] for o in outputs]
    assert texts[1] == "The " + LiveText.CURSOR and len(texts) == len(PIECES) + 2
    assert texts[-1].startswith(result.text) and "finish_reason=stop" in texts[-1]


def test_live_text_outside_a_notebook_prints_once(capsys):
    live = LiveText()
    live.update("partial")
    live.finish(StreamResult(text="Hello", finish_reason="stop", content_chunks=1))
    printed = capsys.readouterr().out
    assert printed.startswith("Hello") and "finish_reason=stop" in printed
    assert "partial" not in printed


def test_a_stream_ended_before_any_text_says_to_send_again():
    with FlakyStreamServer(PIECES, done_after=0) as server:
        result = stream_chat(flaky_client(server), model=server.model, messages=MESSAGES)
    assert not result.complete and "No text arrived" in result.advice
    assert "resume_messages" not in result.advice
