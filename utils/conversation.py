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
import urllib.request
from collections.abc import Callable

import openai
import pandas as pd

from utils.local_model import MAX_CONTEXT
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
    """Exact counts from the local llama.cpp server's own tokenizer (``POST /tokenize``)."""

    source = "the server's tokenizer"

    def __init__(self, base_url: str, timeout: float = 120.0) -> None:
        self.root = base_url.rstrip("/").removesuffix("/v1")  # /tokenize lives beside /v1
        self.timeout = timeout
        self._cache: dict[str, int] = {}

    def count_text(self, text: str) -> int:
        """Tokens in ``text`` (special tokens such as <|im_start|> count as one)."""
        if text not in self._cache:
            request = urllib.request.Request(
                f"{self.root}/tokenize",
                # special tokens (<|im_start|>) count as one token, as in a real prompt
                data=json.dumps({"content": text, "parse_special": True}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                self._cache[text] = len(json.load(response)["tokens"])
        return self._cache[text]

    def count_message(self, message: dict) -> int:
        """Tokens one message takes in the prompt, its ChatML markers included."""
        return self.count_text(chatml(message))

    def count(self, messages: list[dict]) -> int:
        """Prompt tokens a request with ``messages`` uses."""
        return sum(map(self.count_message, messages)) + self.count_text(GENERATION_PROMPT)

    def observe(self, messages: list[dict], prompt_tokens: int) -> None:
        """Nothing to learn: the count is exact (``usage`` is there to check it)."""


class UsageTokenCounter:
    """An estimate from characters, recalibrated from the ``usage`` every response reports.

    For endpoints that expose no tokenizer (DashScope, most hosted APIs). It starts at
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


TokenCounter = ServerTokenCounter | UsageTokenCounter


def token_counter_for(settings: Settings) -> TokenCounter:
    """The local server's tokenizer for the local backend, else the usage-calibrated estimate."""
    if settings.is_local and settings.base_url:
        return ServerTokenCounter(settings.base_url)
    return UsageTokenCounter()


class Conversation:
    """A chat history that is resent with every request and kept within a token budget."""

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
        self.turns: list[dict] = []  # user and assistant messages, oldest first
        self.summary = ""  # what the summarised turns said (strategy="summarise")
        self.summarised = 0  # how many of the oldest turns the summary replaces
        self.last_sent: list[dict] = []  # the messages of the last request, exactly
        self.last_prompt_tokens: int | None = None  # the server's usage.prompt_tokens for it

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

    def messages_to_send(self) -> list[dict]:
        """System prompt (and summary) plus the newest turns that fit in the budget."""
        head, kept = self._head(), self.turns[self.summarised :]
        while kept and not self._fits(head + kept):
            kept = kept[1:]
            while kept and kept[0]["role"] == "assistant":  # start at a user turn
                kept = kept[1:]
        if not kept:
            needed = self.counter.count(head + self.turns[-1:]) + self.reply_tokens
            raise ValueError(
                f"The system prompt and your last message need {needed} tokens with the reply, "
                f"over the budget of {self.budget}. Shorten them, lower reply_tokens or raise "
                "budget."
            )
        return head + kept

    @property
    def left_out(self) -> int:
        """Turns the last request did not send (neither as messages nor in the summary)."""
        sent_turns = len(self.last_sent) - len(self._head())
        return max(0, len(self.turns) - self.summarised - sent_turns - 1)

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
        return len(self.turns) - (len(self.messages_to_send()) - len(self._head()))

    def _fold_old_turns(self) -> None:
        """strategy="summarise": replace the turns that no longer fit by a summary."""
        first_sent = self._first_sent()
        while first_sent > self.summarised:  # a longer summary may push out one more turn
            self.summary = self._summarise(self.turns[self.summarised : first_sent])
            self.summarised = first_sent
            first_sent = self._first_sent()

    def _prepare(self, text: str) -> list[dict]:
        if not text.strip():
            raise ValueError("The message is empty: type something to send.")
        self.turns.append({"role": "user", "content": text})
        try:
            if self.strategy == "summarise":
                self._fold_old_turns()
            return self.messages_to_send()
        except Exception:
            self.turns.pop()  # not sent: leave the history as it was
            raise

    def _call_options(self, overrides: dict) -> dict:
        return {"model": self.model, "max_tokens": self.reply_tokens, **self.request, **overrides}

    def _record(self, sent: list[dict], reply: str, prompt_tokens: int | None) -> None:
        self.turns.append({"role": "assistant", "content": reply})
        self.last_sent, self.last_prompt_tokens = sent, prompt_tokens
        if prompt_tokens:
            self.counter.observe(sent, prompt_tokens)

    def ask(self, text: str, **overrides) -> str:
        """Send ``text`` with the history that fits; record and return the reply."""
        sent = self._prepare(text)
        try:
            response = self.client.chat.completions.create(
                messages=sent, **self._call_options(overrides)
            )
        except openai.APIError:
            self.turns.pop()
            raise
        reply = response.choices[0].message.content or ""
        self._record(sent, reply, response.usage.prompt_tokens if response.usage else None)
        return reply

    def stream(
        self, text: str, on_text: Callable[[str], None] | None = None, **overrides
    ) -> StreamResult:
        """``ask`` with a streamed reply; a broken stream keeps its partial text as the reply."""
        sent = self._prepare(text)
        try:
            result = stream_chat(
                self.client, on_text=on_text, messages=sent, **self._call_options(overrides)
            )
        except openai.APIError:
            self.turns.pop()
            raise
        if result.text:
            prompt_tokens = result.usage.prompt_tokens if result.usage else None
            self._record(sent, result.text, prompt_tokens)
        else:  # nothing arrived: forget the question, so it can be sent again
            self.turns.pop()
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
        self.last_sent, self.last_prompt_tokens = [], None
