"""Self-checks and hints for notebook 02 (streaming)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import openai

from utils.exercises import Check, guarded, hint_printer, not_yet, solved
from utils.loopback.flaky import FlakyStreamServer
from utils.streaming import chunk_text

hint = hint_printer(
    {
        1: [
            "Loop over the stream with `for chunk in stream:` and count every chunk, even the "
            "ones without text.",
            "A chunk's new text is `chunk.choices[0].delta.content`, which is None on the first "
            "(role) and last (finish_reason) chunks, and `choices` is empty on a usage chunk.",
            "Keep two things as you loop: a count that every chunk moves on, and the text, "
            "which grows only from chunks that have choices and content. Return both, count "
            "first.",
        ],
        2: [
            "Add each chunk's text to what you have, then look for the marker in the whole text "
            "so far (a marker can arrive inside a longer chunk).",
            "When `marker in text`, cut the text just after it: text[: text.index(marker) + "
            "len(marker)]. Then call `stream.close()` and return.",
            "If the stream ends without the marker, return all the text.",
        ],
        3: [
            "Put the `for` loop inside `try:` and catch `openai.APIConnectionError` (the SDK's "
            "error for a connection that drops mid-stream).",
            "Build the text in a variable defined before the `try`, so it survives the error.",
            "Your function has two ways out: the loop ends by itself (no error to report), or "
            "the except branch catches one (report that error object). Both return the text "
            "gathered so far.",
        ],
    }
)


class RecordingStream:
    """A real stream, wrapped to record the chunks it hands out and whether it was closed."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._chunks = iter(stream)
        self.handed_out: list = []
        self.closed = False

    def __iter__(self) -> Iterator:
        return self

    def __next__(self):
        chunk = next(self._chunks)
        self.handed_out.append(chunk)
        return chunk

    def close(self) -> None:
        self.closed = True
        self._stream.close()

    def drain(self) -> None:
        """Read what the learner left unread, to know the whole stream."""
        if not self.closed:
            for _ in self:
                pass

    def text(self) -> str:
        return "".join(chunk_text(c) for c in self.handed_out)


def _recorded_stream(client, model: str, content: str, max_tokens: int) -> RecordingStream:
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": content}],
        stream=True,
        stream_options={"include_usage": True},  # a last chunk with usage and no choices
        max_completion_tokens=max_tokens,
        temperature=0,
    )
    return RecordingStream(stream)


@guarded
def check_count_and_rebuild(count_and_rebuild: Callable, client, model: str) -> Check:
    """Exercise 1: ``count_and_rebuild(stream)`` returns (number of chunks, full text)."""
    stream = _recorded_stream(client, model, "Name three animals.", max_tokens=24)
    try:
        got = count_and_rebuild(stream)
        stream.drain()
    finally:
        stream.close()  # whatever the learner's code did, free the connection
    if not (isinstance(got, tuple) and len(got) == 2):
        return not_yet(f"return a pair (chunks, text); you returned {got!r}.")
    chunks, text = got
    expected_chunks, expected_text = len(stream.handed_out), stream.text()
    if chunks != expected_chunks:
        return not_yet(
            f"you counted {chunks} chunks; the stream had {expected_chunks} (count every chunk, "
            "including the first one that only carries the role, the one that carries "
            "finish_reason and a last one with usage, if the server sends it)."
        )
    if text != expected_text:
        return not_yet(f"your text {text!r} differs from the stream's {expected_text!r}.")
    return solved(f"{chunks} chunks, {len(text)} characters, rebuilt exactly.")


@guarded
def check_read_until(read_until: Callable, client, model: str) -> Check:
    """Exercise 2: ``read_until(stream, marker)`` stops at the first marker and closes the stream."""
    marker = "."
    stream = _recorded_stream(
        client, model, "Write three short sentences about the sea.", max_tokens=80
    )
    try:
        got = read_until(stream, marker)
    finally:
        closed_by_learner = stream.closed
        stream.close()
    read = stream.text()
    expected = read[: read.index(marker) + len(marker)] if marker in read else read
    if got != expected:
        return not_yet(
            f"you returned {got!r}; the text up to the first {marker!r} is {expected!r}."
        )
    if marker in read:
        if not closed_by_learner:
            return not_yet("the text is right; now call stream.close() once you have it.")
        last = chunk_text(stream.handed_out[-1]) if stream.handed_out else ""
        if marker in read[: len(read) - len(last)]:  # it had arrived before the last chunk
            return not_yet("you kept reading after the marker arrived: stop at once.")
    return solved(f"stopped after {len(stream.handed_out)} chunks with {got!r}.")


@guarded
def check_collect_partial(collect_partial: Callable) -> Check:
    """Exercise 3: ``collect_partial(stream)`` returns (text, error) and keeps the partial text."""
    pieces = ["The ", "sea ", "is ", "wide ", "and ", "deep."]
    messages = [{"role": "user", "content": "Describe the sea."}]
    for drop_after in (3, None):
        with FlakyStreamServer(pieces, drop_after=drop_after) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
            stream = client.chat.completions.create(
                model=server.model, messages=messages, stream=True
            )
            got = collect_partial(stream)
        if not (isinstance(got, tuple) and len(got) == 2):
            return not_yet(f"return a pair (text, error); you returned {got!r}.")
        text, error = got
        expected = "".join(pieces if drop_after is None else pieces[:drop_after])
        if text != expected:
            case = "the complete stream" if drop_after is None else "the broken stream"
            return not_yet(f"for {case} you returned {text!r}, expected {expected!r}.")
        if drop_after is None and error is not None:
            return not_yet(f"the complete stream returned an error: {error!r}; expected None.")
        if drop_after is not None and not isinstance(error, openai.APIConnectionError):
            return not_yet(
                f"for the broken stream return the error you caught; you returned {error!r}."
            )
    return solved("the partial text survives the dropped connection, and the error is reported.")
