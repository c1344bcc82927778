"""Thinking models: which ids think, how to ask one, and what a thinking call may not combine.

The facts per model id live in ``data/thinking_models.csv``, each with its source page:

* ``thinking``: ``never`` (qwen-max), ``hybrid`` (``enable_thinking`` switches it per
  request; ``default`` says what happens when you send nothing) or ``always`` (QwQ);
* ``budget``: ``honoured`` if ``thinking_budget`` caps the thoughts, ``ignored`` if not;
* ``non_streaming``: ``refused`` if a thinking call must be streamed.

``thinking_request`` builds the request and refuses, before anything is sent, the
combinations Model Studio answers with a 400 (thinking on a model that cannot think, a
``response_format`` or partial mode with thinking, a non-streamed thinking call), with a
message that says what to do::

    request = thinking_request(settings.thinking_model, messages, budget=200)
    stream = client.chat.completions.create(**request)   # thoughts first, then the answer

Thoughts are not sent back: ``assistant_turn`` keeps only the answer (and any tool calls)
for the next request.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from typing import Any

from utils.paths import data_dir

TABLE = "thinking_models.csv"
MODES = ("never", "hybrid", "always")


class ThinkingError(ValueError):
    """A thinking request Model Studio would refuse (or silently not honour); says what to do."""


class ThinkingUnavailable(RuntimeError):
    """No thinking model can be reached with these settings; says how to get one."""


@dataclass(frozen=True)
class ThinkingFacts:
    """One row of ``data/thinking_models.csv``: how a model id thinks, and where that is written."""

    model: str
    thinking: str  # never | hybrid | always
    default: str  # on | off ("" where it cannot think)
    budget: str  # honoured | ignored ("" where it cannot think)
    non_streaming: str  # refused | allowed ("" where not checked or it cannot think)
    course_default: bool
    source: str
    source_date: str
    read: str
    note: str

    @property
    def can_think(self) -> bool:
        return self.thinking != "never"

    @property
    def thinks_by_default(self) -> bool:
        """True if the model thinks when a request does not mention ``enable_thinking``."""
        return self.thinking == "always" or (self.thinking == "hybrid" and self.default == "on")


@functools.cache
def _rows() -> tuple[ThinkingFacts, ...]:
    with open(data_dir() / TABLE, newline="", encoding="utf-8") as handle:
        rows = [
            ThinkingFacts(**{**row, "course_default": row["course_default"] == "yes"})
            for row in csv.DictReader(handle)
        ]
    for row in rows:
        if row.thinking not in MODES:
            raise ValueError(
                f"{TABLE}: {row.model} has thinking={row.thinking!r}, not one of {MODES}"
            )
    return tuple(rows)


def thinking_facts(model: str | None) -> ThinkingFacts | None:
    """``model``'s row of the thinking table, or None if the table does not know it."""
    return next((row for row in _rows() if row.model == model), None)


def known_models() -> list[str]:
    """Every model id the thinking table has facts for."""
    return [row.model for row in _rows()]


def default_thinking_model() -> str:
    """The thinking model the course uses unless ``QWEN_THINKING_MODEL`` says otherwise."""
    defaults = [row.model for row in _rows() if row.course_default]
    if len(defaults) != 1:
        raise ValueError(f"{TABLE} must mark exactly one course_default row, not {defaults}")
    return defaults[0]


def thinking_table():
    """The thinking table as a pandas DataFrame, indexed by model id (for reading, not rules)."""
    import pandas as pd

    return pd.read_csv(data_dir() / TABLE, dtype=str, keep_default_na=False).set_index("model")


def _facts_or_error(model: str) -> ThinkingFacts:
    facts = thinking_facts(model)
    if facts is None:
        raise ThinkingError(
            f"The course has no thinking facts for {model!r} (it knows {', '.join(known_models())}). "
            "What to do: use settings.thinking_model, or add the model to data/thinking_models.csv "
            "with its source page."
        )
    return facts


def _is_partial(messages: list[dict]) -> bool:
    return (
        bool(messages)
        and messages[-1].get("role") == "assistant"
        and bool(messages[-1].get("partial"))
    )


def thinking_request(
    model: str,
    messages: list[dict],
    *,
    enable: bool = True,
    budget: int | None = None,
    stream: bool = True,
    **options: Any,
) -> dict:
    """A chat request for ``model`` with thinking on (or off), ready for ``chat.completions.create``.

    ``enable_thinking`` and ``thinking_budget`` are not OpenAI parameters, so they go in
    ``extra_body``. Raises ``ThinkingError`` for what Model Studio refuses or ignores.
    """
    facts = _facts_or_error(model)
    if enable and not facts.can_think:
        raise ThinkingError(
            f"{model} cannot think: it has no thinking mode (source: {facts.source}). What to do: "
            "send the request without enable_thinking, or ask settings.thinking_model."
        )
    if not enable and facts.thinking == "always":
        raise ThinkingError(
            f"{model} always thinks: enable_thinking=False does not switch it off. What to do: "
            "use a hybrid model (such as the course's thinking model) to answer without thinking."
        )
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise ThinkingError(
                f"thinking_budget must be a whole number of tokens >= 1, not {budget!r}. What "
                "to do: pass an int such as 200, or None for the model's default."
            )
        if not enable:
            raise ThinkingError(
                "A thinking_budget with enable=False means nothing. What to do: drop one of them."
            )
        if facts.budget == "ignored":
            raise ThinkingError(
                f"{model} ignores thinking_budget (documented for Qwen3 and later models): it "
                "would think as long as it likes and bill every token. What to do: drop the "
                "budget and cap the answer with max_tokens, or use a model that honours it."
            )
    if enable and options.get("response_format"):
        raise ThinkingError(
            "Thinking rules out response_format (JSON mode): Model Studio answers 400. What to "
            "do: ask for JSON in the prompt and validate it yourself, or set enable=False."
        )
    if enable and _is_partial(messages):
        raise ThinkingError(
            "Thinking rules out partial mode (an assistant message with partial=True): it works "
            "in non-thinking mode only. What to do: set enable=False to continue a prefix."
        )
    if enable and not stream and facts.non_streaming == "refused":
        raise ThinkingError(
            f"{model} answers thinking calls only as a stream: a non-streaming call gets 400. "
            "What to do: pass stream=True (and read it with utils.streaming.collect_stream), or "
            "set enable=False."
        )
    extra = dict(options.pop("extra_body", None) or {})
    if facts.thinking == "hybrid":  # always send the switch: the default differs between models
        extra["enable_thinking"] = enable
    if budget is not None:
        extra["thinking_budget"] = budget
    request = {"model": model, "messages": messages, "stream": stream, **options}
    if stream:
        request.setdefault("stream_options", {"include_usage": True})
    if extra:
        request["extra_body"] = extra
    return request


def assistant_turn(
    content: str | None,
    tool_calls: list[dict] | None = None,
    reasoning: str | None = None,
    keep_reasoning: bool = False,
) -> dict:
    """The assistant message to append to the history: the answer, never the thoughts.

    Model Studio's Qwen models need only ``content`` (and ``tool_calls``) back. Some APIs want
    the thoughts of a tool-call turn returned within that turn (DeepSeek's thinking mode):
    ``keep_reasoning=True`` keeps them, and only on a turn with tool calls.
    """
    message: dict = {"role": "assistant", "content": content or ""}
    if tool_calls:
        message["tool_calls"] = tool_calls
        if keep_reasoning and reasoning:
            message["reasoning_content"] = reasoning
    return message


def thinking_model_for(settings: Any) -> str:
    """The thinking model ``settings`` (a ``utils.settings.Settings``; not imported here, as
    settings imports this module) reach, or ``ThinkingUnavailable`` saying how to get one."""
    model = getattr(settings, "thinking_model", None)
    if model:
        return model
    if settings.provider == "local":
        raise ThinkingUnavailable(
            f"No thinking model here: the local {settings.model} cannot think, and the course's "
            f"thinking model ({default_thinking_model()}) is on Model Studio. What to do: set "
            "DASHSCOPE_API_KEY (see notebook 00); QWEN_THINKING_MODEL picks another thinking model."
        )
    raise ThinkingUnavailable(
        f"No thinking model is configured for {settings.base_url}. What to do: set "
        "QWEN_THINKING_MODEL to a thinking model that server serves."
    )
