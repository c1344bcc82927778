"""Streamed chat answers: collect a stream into text, usage and timing; show it live; keep the
partial text when a stream breaks.

    result = stream_chat(client, model=settings.model, messages=messages)
    print(result.text)
    print(result.summary())   # finish_reason, tokens, time to first token, tokens/s

A stream that breaks while it is read (the server dies, the connection drops) does not raise
here: ``result.error`` says what happened, ``result.text`` keeps what arrived before it and
``result.advice`` says what to do (retry, or continue with ``resume_messages`` or Qwen's
partial mode, ``partial_mode_messages``). A stream the server ends early without a
``finish_reason`` is flagged the same way (``result.complete`` is False). Errors before the
stream starts (a wrong key, an unknown model, nothing listening) raise as usual. Ctrl-C (the
notebook's Stop button) still stops you, as ``StreamInterrupted``, which keeps the partial
result in its ``.result``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass

import httpx2
import openai
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletionChunk

from utils.errors import explain

# What reading a stream can raise. The SDK wraps network failures mid-stream (httpx2's
# RemoteProtocolError "incomplete chunked read", ReadError, ReadTimeout) as APIConnectionError
# or APITimeoutError, and an error event sent by the server as APIError; httpx2.HTTPError
# catches anything a future SDK might leave unwrapped.
STREAM_ERRORS = (openai.APIError, httpx2.HTTPError)

RESUME_PROMPT = "Continue exactly where you stopped. Do not repeat what you already wrote."


@dataclass
class StreamResult:
    """Everything one streamed answer produced, and how far it got if it broke."""

    text: str = ""
    finish_reason: str | None = None  # "stop", "length", ...; None if the stream broke
    usage: CompletionUsage | None = None  # the last chunk's, if asked for (include_usage)
    chunks: int = 0  # every chunk received, including role-only and usage-only ones
    content_chunks: int = 0  # chunks that carried text
    started: float = 0.0  # time.perf_counter() when the request was sent
    first_token_seconds: float | None = None  # request sent → first text arrived
    total_seconds: float = 0.0  # request sent → stream ended (or broke)
    error: BaseException | None = None  # what broke (or interrupted) the stream, if anything
    advice: str | None = None  # what happened and what to do, if it did not complete
    reasoning: str = ""  # a thinking model's thoughts (delta.reasoning_content), apart from text
    reasoning_chunks: int = 0  # chunks that carried thoughts
    first_thought_seconds: float | None = None  # request sent → first thought arrived

    @property
    def complete(self) -> bool:
        """True if the stream ended normally with a ``finish_reason``."""
        return self.error is None and self.finish_reason is not None

    @property
    def cached_tokens(self) -> int | None:
        """Prompt tokens the server reused from its cache (``usage.prompt_tokens_details``)."""
        details = self.usage.prompt_tokens_details if self.usage else None
        return details.cached_tokens if details else None

    @property
    def completion_tokens(self) -> int:
        """Tokens generated: the server's ``usage`` if it sent one, else the chunks counted."""
        return (
            self.usage.completion_tokens
            if self.usage
            else self.content_chunks + self.reasoning_chunks
        )

    @property
    def reasoning_tokens(self) -> int | None:
        """Thinking tokens (``usage.completion_tokens_details.reasoning_tokens``): part of
        ``completion_tokens`` and billed as output; None if the server sent no such count."""
        details = self.usage.completion_tokens_details if self.usage else None
        return details.reasoning_tokens if details else None

    @property
    def tokens_source(self) -> str:
        """Where ``completion_tokens`` comes from: "usage" or "counted chunks"."""
        return "usage" if self.usage else "counted chunks"

    @property
    def tokens_per_second(self) -> float | None:
        """Generated tokens per second of the whole request (comparable with non-streamed calls)."""
        return self.completion_tokens / self.total_seconds if self.total_seconds > 0 else None

    def summary(self) -> str:
        """One line: how the stream ended, its tokens and its timing."""
        ended = f"finish_reason={self.finish_reason}" if self.complete else "⚠ cut short"
        first = (
            f"first token {self.first_token_seconds:.2f} s"
            if self.first_token_seconds is not None
            else "no text"
        )
        speed = f", {self.tokens_per_second:.0f} tokens/s" if self.tokens_per_second else ""
        if self.reasoning or self.reasoning_tokens:
            thought = (
                f"first thought {self.first_thought_seconds:.2f} s"
                if self.first_thought_seconds is not None
                else "no thoughts"
            )
            thinking = (
                f"{self.reasoning_tokens} thinking" if self.reasoning_tokens is not None else ""
            )
            first = f"{thought} · {first.replace('first token', 'first answer token')}"
            tokens = f"{self.completion_tokens} tokens ({thinking + ', ' if thinking else ''}{self.tokens_source})"
            return f"{ended} · {tokens} · {first} · total {self.total_seconds:.2f} s{speed}"
        return (
            f"{ended} · {self.completion_tokens} tokens ({self.tokens_source}) · {first} · "
            f"total {self.total_seconds:.2f} s{speed}"
        )


def chunk_text(chunk: ChatCompletionChunk) -> str:
    """The text a chunk adds to the first choice's answer ("" for role, usage or final chunks)."""
    for choice in chunk.choices:
        if choice.index == 0:
            return choice.delta.content or ""
    return ""


def chunk_thought(chunk: ChatCompletionChunk) -> str:
    """The thoughts a chunk adds (``delta.reasoning_content``, not an OpenAI field; "" if none)."""
    for choice in chunk.choices:
        if choice.index == 0:
            return getattr(choice.delta, "reasoning_content", None) or ""
    return ""


class StreamInterrupted(KeyboardInterrupt):
    """Ctrl-C (or a notebook's Stop button) while a stream was read; ``.result`` keeps what arrived.

    It is a KeyboardInterrupt, so it still stops a loop or a cell, as you asked.
    """

    def __init__(self, result: StreamResult) -> None:
        super().__init__(
            f"you stopped the stream after {result.content_chunks} text chunks; the "
            f"{len(result.text)} characters that arrived are in this exception's .result.text"
        )
        self.result = result


def _absorb(result: StreamResult, chunk: ChatCompletionChunk) -> str:
    """Add one chunk to ``result``; return the text it carried (thoughts go to ``reasoning``)."""
    result.chunks += 1
    thought = chunk_thought(chunk)
    if thought:
        result.reasoning_chunks += 1
        result.reasoning += thought
        if result.first_thought_seconds is None:
            result.first_thought_seconds = time.perf_counter() - result.started
    if chunk.usage is not None:  # the extra last chunk, with empty choices
        result.usage = chunk.usage
    for choice in chunk.choices:
        if choice.index == 0 and choice.finish_reason:
            result.finish_reason = choice.finish_reason
    text = chunk_text(chunk)
    if text:
        result.content_chunks += 1
        result.text += text
        if result.first_token_seconds is None:
            result.first_token_seconds = time.perf_counter() - result.started
    return text


def interruption_advice(result: StreamResult) -> str:
    """What cut ``result``'s stream short, what was kept, and what to do next."""
    kept = f"The {len(result.text)} characters that arrived are kept in result.text."
    retry = (
        "What to do: retry the same request (at temperature=0 or with a fixed seed it starts "
        "the same way), or continue from the partial text by sending "
        "resume_messages(messages, result.text)."
    )
    error = result.error
    if isinstance(error, KeyboardInterrupt):
        return (
            f"You stopped the stream (KeyboardInterrupt) after {result.content_chunks} text "
            f"chunks. {kept if result.text else 'No text had arrived.'}"
        )
    if error is None:  # the server ended the stream itself, without saying why
        why = (
            f"The stream ended after {result.content_chunks} text chunks without a "
            "finish_reason: the server (or a proxy between you and it) closed it early, so "
            "the answer may be cut short."
        )
        if not result.text:
            return f"{why} No text arrived. What to do: send the request again."
        return f"{why} {kept} {retry}"
    cause = error.__cause__ or error.__context__
    detail = f"{type(error).__name__}: {error}" + (
        f" (caused by {type(cause).__name__}: {cause})" if cause else ""
    )
    if result.text:
        happened = f"The stream broke after {result.content_chunks} text chunks: {detail}. {kept}"
        todo = retry
    else:
        happened = f"The stream broke before any text arrived: {detail}."
        todo = "What to do: retry the request once the endpoint answers again."
    endpoint = explain(error)  # the course's advice for this endpoint and error type
    checks = f" If it keeps failing: {endpoint.removeprefix('What to do: ')}" if endpoint else ""
    return f"{happened} {todo}{checks}"


def collect_stream(
    stream: Iterable[ChatCompletionChunk],
    started: float | None = None,
    on_text: Callable[[str], None] | None = None,
    on_thought: Callable[[str], None] | None = None,
) -> StreamResult:
    """Read ``stream`` to the end (or until it breaks); ``on_text(text_so_far)`` after each piece
    of answer, ``on_thought(thoughts_so_far)`` after each piece of a thinking model's thoughts."""
    result = StreamResult(started=time.perf_counter() if started is None else started)
    try:
        for chunk in stream:
            _take(result, chunk, on_text, on_thought)
    except STREAM_ERRORS as error:
        result.error = error
    except KeyboardInterrupt as interrupt:  # you pressed Stop: keep the text, then stop
        raise _interrupted(result, interrupt) from interrupt
    finally:
        result.total_seconds = time.perf_counter() - result.started
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # release the connection, whatever happened
    return _advised(result)


def _take(
    result: StreamResult,
    chunk: ChatCompletionChunk,
    on_text: Callable[[str], None] | None,
    on_thought: Callable[[str], None] | None,
) -> None:
    """Add one chunk to ``result`` and call back with the answer or the thoughts so far."""
    thoughts = len(result.reasoning)
    if _absorb(result, chunk) and on_text is not None:
        on_text(result.text)
    if on_thought is not None and len(result.reasoning) > thoughts:
        on_thought(result.reasoning)


def _advised(result: StreamResult) -> StreamResult:
    """``result``, with advice if the stream did not finish."""
    if not result.complete:
        result.advice = interruption_advice(result)
    return result


def _interrupted(result: StreamResult, interrupt: KeyboardInterrupt) -> StreamInterrupted:
    result.error = interrupt
    result.total_seconds = time.perf_counter() - result.started
    result.advice = interruption_advice(result)
    return StreamInterrupted(result)


async def collect_stream_async(
    stream: AsyncIterable[ChatCompletionChunk],
    started: float | None = None,
    on_text: Callable[[str], None] | None = None,
    on_thought: Callable[[str], None] | None = None,
) -> StreamResult:
    """``collect_stream`` for an ``AsyncOpenAI`` stream (``await`` it)."""
    result = StreamResult(started=time.perf_counter() if started is None else started)
    try:
        async for chunk in stream:
            _take(result, chunk, on_text, on_thought)
    except STREAM_ERRORS as error:
        result.error = error
    except KeyboardInterrupt as interrupt:
        raise _interrupted(result, interrupt) from interrupt
    finally:
        result.total_seconds = time.perf_counter() - result.started
        close = getattr(stream, "close", None)
        if close is not None:
            await close()
    return _advised(result)


def _streamed(request: dict) -> dict:
    # include_usage asks for a last chunk with usage; servers that ignore it send none.
    return {"stream_options": {"include_usage": True}, **request, "stream": True}


def stream_chat(
    client: openai.OpenAI, on_text: Callable[[str], None] | None = None, **request
) -> StreamResult:
    """Send a chat request with ``stream=True`` and collect it, timed from the moment it is sent."""
    started = time.perf_counter()
    stream = client.chat.completions.create(**_streamed(request))
    return collect_stream(stream, started=started, on_text=on_text)


async def stream_chat_async(
    client: openai.AsyncOpenAI, on_text: Callable[[str], None] | None = None, **request
) -> StreamResult:
    """``stream_chat`` with an ``AsyncOpenAI`` client; run several with ``asyncio.gather``."""
    started = time.perf_counter()
    stream = await client.chat.completions.create(**_streamed(request))
    return await collect_stream_async(stream, started=started, on_text=on_text)


def _check_partial(partial_text: str) -> None:
    if not partial_text:
        raise ValueError(
            "There is no partial text to resume from (the stream broke before any text "
            "arrived): send the same request again instead."
        )


def resume_messages(messages: list[dict], partial_text: str) -> list[dict]:
    """Messages that ask the model, in a new user turn, to continue ``partial_text``."""
    _check_partial(partial_text)
    return [
        *messages,
        {"role": "assistant", "content": partial_text},
        {"role": "user", "content": RESUME_PROMPT},
    ]


def partial_mode_messages(messages: list[dict], partial_text: str) -> list[dict]:
    """Messages for Qwen's partial mode: the answer goes on from ``partial_text`` itself.

    The last message is the assistant's unfinished answer with ``"partial": True`` (Model
    Studio's flag); llama.cpp's server continues a final assistant message the same way.
    """
    _check_partial(partial_text)
    return [*messages, {"role": "assistant", "content": partial_text, "partial": True}]


class LiveText:
    """Text that updates in place in a notebook output while a stream arrives.

    Outside a notebook it prints the final text once, at ``finish()``.
    """

    CURSOR = "▌"
    EVERY = 0.1  # seconds between updates: smooth to the eye, light on the browser

    def __init__(self, every: float | None = None) -> None:
        from IPython.core.interactiveshell import InteractiveShell
        from IPython.display import display

        self.every = self.EVERY if every is None else every
        self._last = 0.0
        self._handle = None  # a DisplayHandle inside a notebook (or IPython)
        if InteractiveShell.initialized():
            self._handle = display(self._bundle(self.CURSOR), raw=True, display_id=True)

    @staticmethod
    def _bundle(text: str) -> dict:
        return {"text/plain": text}

    def update(self, text: str) -> None:
        """Show ``text`` (with a cursor), at most once every ``every`` seconds."""
        now = time.perf_counter()
        if self._handle is not None and now - self._last >= self.every:
            self._handle.update(self._bundle(text + self.CURSOR), raw=True)
            self._last = now

    def finish(self, result: StreamResult) -> None:
        """Show the final text and a status line (or what broke and what to do)."""
        status = result.summary() if result.complete else f"⚠ {result.advice}"
        final = f"{result.text}\n\n— {status}"
        if self._handle is None:
            print(final)
        else:
            self._handle.update(self._bundle(final), raw=True)


def show_stream(client: openai.OpenAI, **request) -> StreamResult:
    """``stream_chat`` with the answer shown live in the notebook as it arrives."""
    live = LiveText()
    try:
        result = stream_chat(client, on_text=live.update, **request)
    except StreamInterrupted as stop:
        live.finish(stop.result)  # show what arrived, not a frozen cursor
        raise
    live.finish(result)
    return result


class LiveThinking:
    """A thinking model's stream shown in place: the thoughts collapsed (click to open), the
    answer below them, and how long each phase took to start.

    Outside a notebook it prints the final view once, at ``finish()``.
    """

    EVERY = LiveText.EVERY
    PREVIEW = 200  # characters of the thoughts the plain-text view shows (it cannot fold)

    def __init__(self, title: str = "Thoughts", every: float | None = None) -> None:
        from IPython.core.interactiveshell import InteractiveShell
        from IPython.display import display

        self.title = title
        self.every = self.EVERY if every is None else every
        self._last = 0.0
        self.thoughts, self.text, self.status = "", "", "waiting for the first thought…"
        self._handle = None
        if InteractiveShell.initialized():
            self._handle = display(self.bundle(), raw=True, display_id=True)

    def bundle(self, streaming: bool = True) -> dict:
        """The view as a display bundle: HTML (thoughts in a closed <details>) and plain text."""
        import html

        cursor = LiveText.CURSOR if streaming else ""
        summary = f"{self.title}: {len(self.thoughts):,} characters (click to open)"
        markup = (
            '<div class="cookbook-thinking">'
            f'<details class="cookbook-thoughts"><summary>{html.escape(summary)}</summary>'
            f'<pre style="white-space: pre-wrap; opacity: 0.75">{html.escape(self.thoughts)}</pre>'
            "</details>"
            f'<div class="cookbook-answer" style="white-space: pre-wrap">'
            f"{html.escape(self.text)}{cursor}</div>"
            f"<small>— {html.escape(self.status)}</small></div>"
        )
        preview = self.thoughts[: self.PREVIEW] + ("…" if len(self.thoughts) > self.PREVIEW else "")
        plain = (
            f"▸ {summary.removesuffix(' (click to open)')}, folded; they begin: {preview!r}\n"
            f"{self.text}{cursor}\n\n— {self.status}"
        )
        return {"text/plain": plain, "text/html": markup}

    def _redraw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self._handle is not None and (force or now - self._last >= self.every):
            self._handle.update(self.bundle(), raw=True)
            self._last = now

    def on_thought(self, thoughts: str) -> None:
        """The thoughts so far (``collect_stream``'s ``on_thought``)."""
        self.thoughts, self.status = thoughts, "thinking…"
        self._redraw()

    def on_text(self, text: str) -> None:
        """The answer so far (``collect_stream``'s ``on_text``)."""
        self.text, self.status = text, "answering…"
        self._redraw()

    def finish(self, result: StreamResult) -> None:
        """Show the final thoughts, answer and a status line (or what broke and what to do)."""
        self.thoughts, self.text = result.reasoning, result.text
        self.status = result.summary() if result.complete else f"⚠ {result.advice}"
        if self._handle is None:
            print(self.bundle(streaming=False)["text/plain"])
        else:
            self._handle.update(self.bundle(streaming=False), raw=True)


def show_thinking(
    stream: Iterable[ChatCompletionChunk], started: float | None = None, title: str = "Thoughts"
) -> StreamResult:
    """Collect a (thinking) stream and show it live: thoughts folded, the answer below.

    Pass ``started=time.perf_counter()`` taken before the request was sent, so the times to
    the first thought and the first answer token count from the request.
    """
    live = LiveThinking(title)
    try:
        result = collect_stream(
            stream, started=started, on_text=live.on_text, on_thought=live.on_thought
        )
    except StreamInterrupted as stop:
        live.finish(stop.result)
        raise
    live.finish(result)
    return result
