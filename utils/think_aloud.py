"""Think aloud: a model without a thinking mode, prompted to reason first, streamed like a thinking model.

SmolLM2 was never trained to think. To show the two phases of a thinking model's stream on any
backend, ``think_aloud_stream`` makes two ordinary calls: the first asks the model to reason
about the question (its text comes out as ``delta.reasoning_content``, at most
``thinking_budget`` tokens), the second asks for the answer with that reasoning in the
conversation (its text comes out as ``delta.content``). The last chunk carries ``usage`` with
``completion_tokens_details.reasoning_tokens``, as Model Studio's does.

This is chain-of-thought prompting, not a model trained to think: read its thoughts for the
shape of the protocol, not for their sense. The Model Studio stand-in of the tests plays a
thinking model the same way (``tests/model_studio_standin.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import openai
from openai.types.chat import ChatCompletionChunk

THINK_INSTRUCTION = (
    "Think about the question step by step. Write only your reasoning, not the final answer."
)
ANSWER_INSTRUCTION = "Now give your final answer, briefly."


def think_messages(messages: list[dict]) -> list[dict]:
    """The conversation, asked to reason first (a system instruction, added to any system prompt)."""
    if messages and messages[0].get("role") == "system":
        system = {**messages[0], "content": f"{messages[0]['content']}\n\n{THINK_INSTRUCTION}"}
        return [system, *messages[1:]]
    return [{"role": "system", "content": THINK_INSTRUCTION}, *messages]


def answer_messages(messages: list[dict], thoughts: str) -> list[dict]:
    """The conversation, its reasoning so far as the assistant's turn, then the call to answer."""
    return [
        *messages,
        {"role": "assistant", "content": thoughts},
        {"role": "user", "content": ANSWER_INSTRUCTION},
    ]


def _chunk(
    model: str, delta: dict | None, finish_reason: str | None = None, usage: dict | None = None
) -> ChatCompletionChunk:
    choices = (
        [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    )
    return ChatCompletionChunk.model_validate(
        {
            "id": "think-aloud",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": choices,
            "usage": usage,
        }
    )


def _phase(
    client: openai.OpenAI, request: dict, into: str, seen: dict
) -> Iterator[ChatCompletionChunk]:
    """One streamed call, its text re-labelled as ``into``; ``seen`` gets its usage and finish."""
    other = "content" if into == "reasoning_content" else "reasoning_content"
    for chunk in client.chat.completions.create(**request):
        if chunk.usage is not None:
            seen["usage"] = chunk.usage
        for choice in chunk.choices:
            seen["finish_reason"] = choice.finish_reason or seen.get("finish_reason")
            if choice.delta.content:
                seen["text"] = seen.get("text", "") + choice.delta.content
                yield _chunk(request["model"], {into: choice.delta.content, other: None})


def think_aloud_stream(
    client: openai.OpenAI,
    model: str,
    messages: list[dict],
    thinking_budget: int = 64,
    max_tokens: int = 64,
    **options,
) -> Iterator[ChatCompletionChunk]:
    """Stream ``model``'s reasoning (``reasoning_content``), then its answer (``content``), then usage."""
    if thinking_budget < 1 or max_tokens < 1:
        raise ValueError("thinking_budget and max_tokens must both be at least 1 token")
    base = {"model": model, "stream": True, "stream_options": {"include_usage": True}, **options}
    thinking, answer = {}, {}
    think = {**base, "messages": think_messages(messages), "max_tokens": thinking_budget}
    yield from _phase(client, think, "reasoning_content", thinking)
    reply = {
        **base,
        "messages": answer_messages(messages, thinking.get("text", "")),
        "max_tokens": max_tokens,
    }
    yield from _phase(client, reply, "content", answer)
    yield _chunk(model, {"content": ""}, finish_reason=answer.get("finish_reason"))
    if "usage" in thinking and "usage" in answer:
        spent, said = thinking["usage"].completion_tokens, answer["usage"].completion_tokens
        prompt = thinking["usage"].prompt_tokens
        yield _chunk(
            model,
            None,
            usage={
                "prompt_tokens": prompt,
                "completion_tokens": spent + said,
                "total_tokens": prompt + spent + said,
                "completion_tokens_details": {"reasoning_tokens": spent},
            },
        )
