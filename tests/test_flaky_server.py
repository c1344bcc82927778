"""utils.loopback.flaky: whole answers without ``stream``, and its 429 mode with Retry-After."""

import openai
import pytest

from utils.loopback.flaky import FlakyStreamServer

MESSAGES = [{"role": "user", "content": "hi"}]


def client_for(server):
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)


def test_a_request_without_stream_gets_the_whole_answer():
    with FlakyStreamServer(["Hel", "lo"]) as server:
        response = client_for(server).chat.completions.create(model="m", messages=MESSAGES)
    assert response.choices[0].message.content == "Hello"
    assert response.choices[0].finish_reason == "stop" and response.usage.total_tokens > 0


def test_beyond_the_rate_limit_it_answers_429_with_retry_after():
    with FlakyStreamServer(["ok"], rate_limit=2, window=30) as server:
        client = client_for(server)
        for _ in range(2):
            client.chat.completions.create(model="m", messages=MESSAGES)
        with pytest.raises(openai.RateLimitError, match="Requests rate limit exceeded") as caught:
            client.chat.completions.create(model="m", messages=MESSAGES)
    retry_after = int(caught.value.response.headers["retry-after"])
    assert 29 <= retry_after <= 30  # whole seconds until the first request leaves the window
    assert server.refused == 1 and len(server.arrivals) == 3


def test_rate_limit_zero_refuses_everything():
    with (
        FlakyStreamServer(["ok"], rate_limit=0, window=2) as server,
        pytest.raises(openai.RateLimitError) as caught,
    ):
        client_for(server).chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.response.headers["retry-after"] == "2"
