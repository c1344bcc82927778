"""utils.loopback.scripted: a real loopback server that replies with what was written for it."""

import asyncio

import openai
import pytest

from utils.loopback.scripted import ScriptedAPI, completion, in_order, scripted_servers, tool_call


def test_in_order_answers_each_request_in_turn_then_repeats_the_last():
    turns = [completion("one"), completion("two")]
    with ScriptedAPI(in_order(turns)) as server:
        client = server.sync_client()
        replies = [
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": str(n)}]
            )
            .choices[0]
            .message.content
            for n in range(3)
        ]
    assert replies == ["one", "two", "two"]
    assert server.hits == 3
    assert [body["messages"][0]["content"] for body in server.requests] == ["0", "1", "2"]


def test_a_scripted_tool_call_reaches_the_sdk_as_a_tool_call():
    call = tool_call("c1", "calculator", '{"expression": "2+2"}')
    with ScriptedAPI(in_order([completion(None, "tool_calls", [call])])) as server:
        response = server.sync_client().chat.completions.create(model="m", messages=[])
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [made] = choice.message.tool_calls
    assert (made.id, made.function.name, made.function.arguments) == (
        "c1",
        "calculator",
        '{"expression": "2+2"}',
    )


def test_an_empty_script_is_refused():
    with pytest.raises(ValueError, match="at least one reply"):
        in_order([])


def test_closing_frees_the_port():
    server = ScriptedAPI(in_order([completion("hi")]))
    client = server.sync_client(timeout=2)
    server.close()
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=[])


def test_the_default_reply_echoes_and_fails_on_request():
    async def ask(client, text):
        try:
            response = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": text}]
            )
        except openai.APIStatusError as error:
            return error.status_code
        return response.choices[0].message.content

    with scripted_servers() as make:
        client = make().client()
        answers = asyncio.run(
            _gather(ask(client, "hello"), ask(client, "FAIL"), ask(client, "CRASH"))
        )
    assert answers == ["echo: hello", 400, 500]


async def _gather(*coroutines):
    return await asyncio.gather(*coroutines)
