"""A multi-turn conversation that keeps its history, shows the messages actually sent, and
keeps every request within a token budget.

    chat = Conversation(client, settings.model, counter=token_counter_for(settings), budget=400)
    chat.ask("My name is Ada.")
    chat.ask("What is my name?")
    chat.sent_table()        # the messages the last request really sent, with token counts

The model remembers nothing between requests: every request resends the system prompt and the
history. When that would exceed ``budget`` tokens (prompt + the reply's ``reply_tokens``), the
oldest turns are left out (``strategy="truncate"``) or folded into a summary written by the
model (``strategy="summarise"``). The system prompt is always sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import openai
import pandas as pd

from utils.llama_api import LlamaAPI
from utils.local_model import MAX_CONTEXT
from utils.qwen_tokenizer import qwen_available, qwen_encode
from utils.settings import Settings
from utils.streaming import StreamResult, stream_chat

DEFAULT_SYSTEM = "You are a helpful assistant."
STRATEGIES = ("truncate", "summarise")
SUMMARY_PROMPT = (
    "Summarise the conversation below in at most two sentences. Keep names, numbers and "
    "decisions; leave out greetings."
)
GENERATION_PROMPT = "<|im_start|>assistant\n"  # what the server appends before the reply


def chatml(message: dict) -> str:
    """One message as ChatML text, the chat format SmolLM2 and Qwen2.5 both use."""
    return f"<|im_start|>{message['role']}\n{message['content']}<|im_end|>\n"


class ServerTokenCounter:
    """Exact counts from the local llama.cpp server: its chat template and its tokenizer.

    ``count(messages)`` renders the prompt the server would build (``POST /apply-template``,
    default system prompt and all) and tokenizes it (``POST /tokenize``).
    """

    source = "the server's tokenizer"

    def __init__(self, base_url: str, timeout: float = 120.0) -> None:
        self.server = LlamaAPI(base_url, timeout=timeout)
        self._texts: dict[str, int] = {}  # text → tokens
        self._requests: dict[str, int] = {}  # a request's messages, as JSON → tokens

    def count_text(self, text: str) -> int:
        """Tokens in ``text`` (special tokens such as <|im_start|> count as one)."""
        if text not in self._texts:
            self._texts[text] = len(self.server.tokenize(text, special=True))
        return self._texts[text]

    def count_message(self, message: dict) -> int:
        """Tokens one message takes in the prompt, its ChatML markers included."""
        return self.count_text(chatml(message))

    def count(self, messages: list[dict]) -> int:
        """Prompt tokens a request with ``messages`` uses, exactly as the server builds it."""
        key = json.dumps(messages, sort_keys=True)  # the same messages are counted once
        if key not in self._requests:
            self._requests[key] = self.count_text(self.server.apply_template(messages))
        return self._requests[key]

    def observe(self, messages: list[dict], prompt_tokens: int) -> None:
        """Nothing to learn: the count is exact (``usage`` is there to check it)."""


class QwenTokenCounter:
    """Counts with Qwen's own tokenizer, offline (``utils.qwen_tokenizer``), in ChatML.

    For Qwen on Model Studio, whose server tokenizes the same way; ``usage`` checks it.
    """

    source = "Qwen's tokenizer (offline)"

    def count_text(self, text: str) -> int:
        """Qwen tokens in ``text``."""
        return len(qwen_encode(text))

    def count_message(self, message: dict) -> int:
        """Tokens one message takes in the prompt, its ChatML markers included."""
        return self.count_text(chatml(message))

    def count(self, messages: list[dict]) -> int:
        """Prompt tokens a request with ``messages`` uses (ChatML plus the reply's header)."""
        return sum(map(self.count_message, messages)) + self.count_text(GENERATION_PROMPT)

    def observe(self, messages: list[dict], prompt_tokens: int) -> None:
        """Nothing to learn: compare ``count`` with ``usage.prompt_tokens`` to check it."""


class UsageTokenCounter:
    """An estimate from characters, recalibrated from the ``usage`` every response reports.

    For endpoints whose tokenizer the course does not have (most hosted APIs). It starts at
    ``chars_per_token`` (4 is typical for English) and, after each response, sets it so that
    the last request would have been counted exactly.
    """

    source = "an estimate calibrated by usage"
    PER_MESSAGE = 5  # role and start/end markers around each message
    PER_REQUEST = 3  # the "assistant" header the server adds before the reply

    def __init__(self, chars_per_token: float = 4.0) -> None:
        self.chars_per_token = chars_per_token

    def _overhead(self, messages: list[dict]) -> int:
        return self.PER_MESSAGE * len(messages) + self.PER_REQUEST

    def count_message(self, message: dict) -> int:
        """Estimated tokens one message takes in the prompt."""
        return math.ceil(len(message["content"]) / self.chars_per_token) + self.PER_MESSAGE

    def count(self, messages: list[dict]) -> int:
        """Estimated prompt tokens a request with ``messages`` uses."""
        return sum(map(self.count_message, messages)) + self.PER_REQUEST

    def observe(self, messages: list[dict], prompt_tokens: int) -> None:
        """Recalibrate from a response's ``usage.prompt_tokens`` for ``messages``."""
        chars = sum(len(m["content"]) for m in messages)
        content_tokens = prompt_tokens - self._overhead(messages)
        if chars > 0 and content_tokens > 0:
            self.chars_per_token = chars / content_tokens


TokenCounter = ServerTokenCounter | QwenTokenCounter | UsageTokenCounter


def token_counter_for(settings: Settings) -> TokenCounter:
    """The local server's tokenizer; Qwen's for Model Studio; else the usage-calibrated estimate."""
    if settings.is_local and settings.base_url:
        return ServerTokenCounter(settings.base_url)
    if settings.provider == "dashscope" and qwen_available():
        return QwenTokenCounter()
    return UsageTokenCounter()


class Conversation:
    """A chat history that is resent with every request and kept within a token budget.

    ``turns`` holds answered exchanges only. While a request is in flight its question is
    ``pending``; it joins ``turns`` with its reply, so an error or Ctrl-C leaves the history
    exactly as it was.
    """

    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        system: str = DEFAULT_SYSTEM,
        budget: int = MAX_CONTEXT,
        reply_tokens: int = 256,
        counter: TokenCounter | None = None,
        strategy: str = "truncate",
        **request,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy={strategy!r}: use one of {STRATEGIES}.")
        if reply_tokens >= budget:
            raise ValueError(
                f"reply_tokens={reply_tokens} leaves no room for the prompt in budget={budget}."
            )
        self.client, self.model, self.system = client, model, system
        self.budget, self.reply_tokens, self.strategy = budget, reply_tokens, strategy
        self.counter = counter or UsageTokenCounter()
        self.request = request  # extra arguments for every call, e.g. temperature=0
        self.turns: list[dict] = []  # answered user and assistant messages, oldest first
        self.pending: dict | None = None  # the user message being answered right now
        self.summary = ""  # what the summarised turns said (strategy="summarise")
        self.summarised = 0  # how many of the oldest turns the summary replaces
        self.last_sent: list[dict] = []  # the messages of the last answered request, exactly
        self.last_prompt_tokens: int | None = None  # the server's usage.prompt_tokens for it
        self._left_out = 0  # turns the last answered request did not send
        self._sending: tuple[list[dict], int] | None = None  # the request in flight, left out

    @property
    def messages(self) -> list[dict]:
        """The whole history, system prompt first (more than a request may send)."""
        return [{"role": "system", "content": self.system}, *self.turns]

    def _head(self) -> list[dict]:
        head = [{"role": "system", "content": self.system}]
        if self.summary:
            head.append(
                {
                    "role": "system",
                    "content": f"Summary of the earlier conversation: {self.summary}",
                }
            )
        return head

    def _fits(self, messages: list[dict]) -> bool:
        return self.counter.count(messages) + self.reply_tokens <= self.budget

    def _history(self) -> list[dict]:
        """The turns a request may send: the answered ones, then the pending question."""
        return self.turns + ([self.pending] if self.pending else [])

    def messages_to_send(self) -> list[dict]:
        """System prompt (and summary) plus the newest turns that fit in the budget."""
        head, kept = self._head(), self._history()[self.summarised :]
        while kept and not self._fits(head + kept):
            kept = kept[1:]
            while kept and kept[0]["role"] == "assistant":  # start at a user turn
                kept = kept[1:]
        if not kept:
            needed = self.counter.count(head + self._history()[-1:]) + self.reply_tokens
            raise ValueError(
                f"The system prompt and your last message need {needed} tokens with the reply, "
                f"over the budget of {self.budget}. Shorten them, lower reply_tokens or raise "
                "budget."
            )
        return head + kept

    @property
    def left_out(self) -> int:
        """Turns the request in flight (else the last answered one) did not send or summarise."""
        return self._sending[1] if self._sending else self._left_out

    def _summarise(self, turns: list[dict]) -> str:
        transcript = "\n".join(f"{m['role']}: {m['content']}" for m in turns)
        if self.summary:
            transcript = f"Earlier summary: {self.summary}\n{transcript}"
        response = self.client.chat.completions.create(
            model=self.model,
            messages=[
                {"role": "system", "content": SUMMARY_PROMPT},
                {"role": "user", "content": transcript},
            ],
            max_tokens=80,
            temperature=0,
        )
        return (response.choices[0].message.content or "").strip()

    def _first_sent(self) -> int:
        return len(self._history()) - (len(self.messages_to_send()) - len(self._head()))

    def _fold_old_turns(self) -> None:
        """strategy="summarise": replace the turns that no longer fit by a summary."""
        first_sent = self._first_sent()
        while first_sent > self.summarised:  # a longer summary may push out one more turn
            self.summary = self._summarise(self.turns[self.summarised : first_sent])
            self.summarised = first_sent
            first_sent = self._first_sent()

    def _prepare(self, text: str) -> list[dict]:
        """Make ``text`` the pending question and build the request that carries it."""
        if not text.strip():
            raise ValueError("The message is empty: type something to send.")
        if self.pending is not None:
            raise RuntimeError("A reply is still arriving: wait for it before sending again.")
        self.pending = {"role": "user", "content": text}
        try:
            if self.strategy == "summarise":
                self._fold_old_turns()
            sent = self.messages_to_send()
        except BaseException:
            self.pending = None  # not sent: leave the history as it was
            raise
        self._sending = (sent, self._first_sent() - self.summarised)
        return sent

    def _finish(self, reply: str | None = None, prompt_tokens: int | None = None) -> None:
        """End the request in flight; with a ``reply``, add the exchange to the history."""
        if reply is not None and self.pending is not None and self._sending is not None:
            self.turns += [self.pending, {"role": "assistant", "content": reply}]
            self.last_sent, self._left_out = self._sending
            self.last_prompt_tokens = prompt_tokens
            if prompt_tokens:
                self.counter.observe(self.last_sent, prompt_tokens)
        self.pending, self._sending = None, None

    def _call_options(self, overrides: dict) -> dict:
        return {"model": self.model, "max_tokens": self.reply_tokens, **self.request, **overrides}

    def ask(self, text: str, **overrides) -> str:
        """Send ``text`` with the history that fits; record and return the reply."""
        sent = self._prepare(text)
        try:
            response = self.client.chat.completions.create(
                messages=sent, **self._call_options(overrides)
            )
            reply = response.choices[0].message.content or ""
            self._finish(reply, response.usage.prompt_tokens if response.usage else None)
        finally:
            self._finish()  # an error or Ctrl-C: the question is forgotten, history unchanged
        return reply

    def stream(
        self, text: str, on_text: Callable[[str], None] | None = None, **overrides
    ) -> StreamResult:
        """``ask`` with a streamed reply; a broken stream keeps its partial text as the reply.

        ``on_text("")`` is called once the request is built (the question is ``pending``),
        then ``on_text(text_so_far)`` after each piece. If nothing arrives the question is
        forgotten, so it can be sent again; Ctrl-C forgets it too (``StreamInterrupted``).
        """
        sent = self._prepare(text)
        try:
            if on_text is not None:
                on_text("")
            result = stream_chat(
                self.client, on_text=on_text, messages=sent, **self._call_options(overrides)
            )
            if result.text:
                self._finish(result.text, result.usage.prompt_tokens if result.usage else None)
        finally:
            self._finish()
        return result

    def sent_table(self) -> pd.DataFrame:
        """The last request's messages with their token counts (what the model really saw)."""
        rows = [
            {
                "role": m["role"],
                "tokens": self.counter.count_message(m),
                "content": m["content"] if len(m["content"]) <= 70 else m["content"][:69] + "…",
            }
            for m in self.last_sent
        ]
        return pd.DataFrame(rows, columns=["role", "tokens", "content"])

    def report(self) -> str:
        """One line: tokens sent vs budget, how they were counted, and what was left out."""
        counted = self.counter.count(self.last_sent) if self.last_sent else 0
        usage = (
            f"; the server's usage said {self.last_prompt_tokens}"
            if self.last_prompt_tokens
            else ""
        )
        folded = f", {self.summarised} summarised" if self.summarised else ""
        return (
            f"sent {len(self.last_sent)} messages = {counted} prompt tokens (counted with "
            f"{self.counter.source}{usage}) + up to {self.reply_tokens} reply tokens, budget "
            f"{self.budget}; {len(self.turns)} turns in history, {self.left_out} left out{folded}."
        )

    def clear(self) -> None:
        """Forget the history and summary (the system prompt stays)."""
        self.turns, self.summary, self.summarised = [], "", 0
        self.last_sent, self.last_prompt_tokens, self._left_out = [], None, 0
