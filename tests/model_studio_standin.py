"""A loopback stand-in for Alibaba Cloud Model Studio's OpenAI-compatible endpoint.

It keeps Model Studio's documented rules for ``qwen-max-2025-01-25`` (and the other rows of
``data/models.csv``), answers errors in Model Studio's shape, and forwards generation to a real
OpenAI-compatible server (the course's local llama.cpp server), so notebooks run against it
stay meaningful. It is a test double, not Model Studio: the answers come from the local model.

    with ModelStudioStandIn(backend_url, backend_model) as standin:
        client = openai.OpenAI(base_url=standin.base_url, api_key=standin.api_key)

Rules enforced, each re-checked on 2026-11-30 with the page's own "Last Updated" date:

* **Model ids** known: the Model Studio rows of ``data/models.csv`` (or ``models=``). Others get
  404 ``model_not_found``, "The model `X` does not exist or you do not have access to it." (the
  body Model Studio's compatible mode returns, as logged in public bug reports; the error-code
  page https://www.alibabacloud.com/help/en/model-studio/error-code, 2025-05-20, lists the codes).
* **Auth**: a wrong or missing key gets 401 ``invalid_api_key``, "Incorrect API key provided.
  For details, see: https://www.alibabacloud.com/help/en/model-studio/error-code#apikey-error".
  ``GET /models`` needs the key too.
* **The output cap is ``max_completion_tokens``**: Model Studio's notice "Changes to Certain
  Model Fields" (https://www.alibabacloud.com/en/notice/model_studio_notice_of_changes_to_certain_model_fields_724,
  dated 2026-04-12, effective 2026-04-20) renames ``max_tokens`` and keeps it only for a
  transition "deprecated before May 30, 2026". With ``strict`` (the default) the stand-in plays
  the end of that transition and refuses ``max_tokens`` with 400 ``InvalidParameter``: stricter
  than Model Studio, whose "API compatibility upgrades" page (Last Updated 2026-11-11) still
  describes ``max_tokens``, so that a test fails if any course path still sends the old name.
* **Context and output**: ``max_completion_tokens`` defaults to the model's maximum output (8,192); above
  it, and for prompts longer than the context window (32,768 tokens), 400 ``InvalidParameter``
  "Range of ... should be [1, N]". Limits from the table (issue 13's survey of the Models page). Prompt tokens are
  counted with the *local* model's tokenizer, so near the limit Qwen's count differs.
* **JSON mode**: ``response_format={"type": "json_object"}`` needs the word "json" (any case) in
  a system or user message, else 400 "'messages' must contain the word 'json' in some form, to
  use 'response_format' of type 'json_object'." Strict ``json_schema`` is offered "only for some
  qwen-plus models": 400 for the others. (https://www.alibabacloud.com/help/en/model-studio/qwen-structured-output,
  2025-12-15.)
* **Tools**: ``tool_choice`` takes "auto", "none" or ``{"type": "function", "function": {"name":
  ...}}``; "required" is not documented and gets 400. ``parallel_tool_calls`` defaults to false
  and is forwarded as false when absent. (OpenAI Chat API reference,
  https://help.aliyun.com/zh/model-studio/qwen-api-via-openai-chat-completions, read through a
  public copy of the 2026 page; English edition
  https://www.alibabacloud.com/help/en/model-studio/qwen-api-via-openai-chat-completions, 2026-03-18.)
* **Sampling** (same reference): ``logprobs`` only for qwen-plus/qwen-turbo snapshots, Qwen3-VL
  and open Qwen3 models, so 400 for qwen-max (``strict=False`` drops it instead, answering with
  ``logprobs: null``: the reference does not say which one Model Studio does); ``n`` from 1 to 4
  only for Qwen3 (non-thinking) and qwen-plus-character, so ``n != 1`` gets 400;
  ``temperature`` in [0, 2); ``top_p`` in (0, 1]; ``seed`` is "best effort" (forwarded).
* **Streaming**: with ``stream_options={"include_usage": true}`` the last chunk has an empty
  ``choices`` list and the usage; every other chunk has ``"usage": null``. Without it, no usage.
* **Cache**: ``usage.prompt_tokens_details.cached_tokens`` reports the prefix the local server
  really reused, counted only from 256 tokens up, the implicit cache's minimum
  (https://www.alibabacloud.com/help/en/model-studio/context-cache, 2026-06-24).
* **Partial mode**: a last assistant message with ``"partial": true`` is continued; the answer
  holds only the continuation (https://www.alibabacloud.com/help/en/model-studio/partial-mode,
  2026-03-15).
* **Rate limits** per model and minute (60 requests and 100,000 tokens for
  qwen-max-2025-01-25, https://www.alibabacloud.com/help/en/model-studio/rate-limit; the
  table read from a stored copy, the page's latest "Last Updated" seen 2026-06-25): 429 "Requests rate limit exceeded, please try again later." or "Allocated quota
  exceeded, please increase your quota limit."; with ``per_second=True`` also RPM/60 requests
  per second, "Request rate increased too quickly, ...". The page documents no ``Retry-After``
  header; ``retry_after=`` adds one for tests of clients that honour it. ``clock_speed=k`` (the
  test suite's fast clock, ``--standin-clock-speed``) keeps these windows on a clock k times
  faster than real time: a minute lasts 60/k s, as it does for the course's own pacing when
  ``COOKBOOK_TEST_CLOCK_SPEED=k`` (``utils.request_pacing``); the limits are the same numbers.
* **Batch API**: ``/files`` and ``/batches`` as OpenAI's (Model Studio's Batch API is
  OpenAI-compatible, https://www.alibabacloud.com/help/en/model-studio/batch-interfaces-compatible-with-openai),
  served by ``utils.loopback.batch.LocalBatchAPI``: every line runs on the backend, a few at
  a time. Batch lines are not counted against the real-time rate limits here (the stand-in's
  choice: the page was not checked on this point), and the line's model is not checked
  against the Batch page's list (``utils.evals.batch_model`` picks it).
  ``batch=False`` (``--standin-without-batch``) answers both routes 404, as an endpoint
  without the Batch API does.

* **Thinking** (lesson 12; the facts and their pages are in ``data/thinking_models.csv``, read
  2026-12-07): ``enable_thinking`` and ``thinking_budget`` (in the body, where the SDK's
  ``extra_body`` puts them). A hybrid model thinks by its table default unless told; an
  ``always`` model thinks whatever it is told. A thinking stream sends ``delta.reasoning_content``
  chunks first, then ``delta.content``, and its usage has
  ``completion_tokens_details.reasoning_tokens`` (part of ``completion_tokens``).
  ``thinking_budget`` caps the thoughts where the table says it is honoured (dropped where
  ignored); without one the stand-in thinks at most ``thinking_default`` tokens (256; its
  choice: the local model is slow; Model Studio's default is the model's maximum). 400
  ``invalid_parameter_error``: a thinking call that is not streamed, "parameter.enable_thinking
  must be set to false for non-streaming calls" (hybrid; the body public bug reports show) or
  "This model only support stream mode, please enable the stream parameter to access the
  model." (always; the error-code page); thinking with ``response_format``, "Json mode response
  is not supported when enable_thinking is true" (the body a public error report shows; the
  structured-output page lists thinking models for JSON in non-thinking mode only). The
  thoughts are played by the local model asked to reason first (``utils.think_aloud``), so
  they are a tiny model's chain of thought, not a trained thinker's. Thoughts sent back in the
  history (``reasoning_content`` on an assistant message) are dropped before the model.

Not from the documentation (the stand-in's own choices): ``enable_thinking=true`` on a model
that cannot think (qwen-max) gets 400 (the pages read do not say what Model Studio does: it may
ignore it), as do thinking with partial mode (documented as non-thinking only) and thinking
with tools (not played here); the wording of those refusals; error ``type``/``code`` strings where
no example was found, the wording of the ``n``/``logprobs``/``tool_choice`` refusals, and that
parameters Model Studio does not document (``min_p``, ``logit_bias``, ...) are dropped.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import secrets
import socket
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import openai

from utils.llama_api import LlamaAPI, LlamaAPIError
from utils.loopback import Exchange, JSONResponse, LoopbackAPI, Request, sse
from utils.loopback.batch import LocalBatchAPI
from utils.loopback.window import SlidingWindow
from utils.model_table import load_models
from utils.think_aloud import think_aloud_stream
from utils.thinking import thinking_facts

PREFIX = "/compatible-mode/v1"
ERROR_CODE_PAGE = "https://www.alibabacloud.com/help/en/model-studio/error-code"
IMPLICIT_CACHE_MINIMUM = 256
THINKING_DEFAULT = 256  # tokens of thoughts when no thinking_budget is sent (the stand-in's choice)
THINKING_ANSWER_DEFAULT = 512  # answer tokens of a thinking call without max_tokens (likewise)
FORWARDED = (  # parameters Model Studio documents for chat completions, passed to the backend
    "temperature", "top_p", "top_k", "presence_penalty", "frequency_penalty", "max_tokens",
    "stop", "seed", "stream", "tools", "response_format",
)  # fmt: skip
ACCEPTED = {  # every parameter it reads; the others are dropped (Model Studio documents none of them)
    *FORWARDED, "model", "messages", "stream_options", "tool_choice", "parallel_tool_calls", "n",
    "logprobs", "top_logprobs", "max_completion_tokens", "repetition_penalty",
    "enable_thinking", "thinking_budget",
}  # fmt: skip


class Refusal(Exception):
    """An error Model Studio would answer with: HTTP status, message, type and code."""

    def __init__(
        self, status: int, message: str, type_: str, code: str, headers: dict | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.type, self.code = status, message, type_, code
        self.headers = headers or {}

    def body(self) -> dict:
        error = {"message": self.message, "type": self.type, "param": None, "code": self.code}
        return {"error": error, "request_id": str(uuid.uuid4())}


class ClientGone(Exception):
    """The client closed its connection before the answer was ready."""


def _bad(message: str, code: str = "invalid_parameter_error") -> Refusal:
    return Refusal(400, message, "invalid_request_error", code)


def _text(content) -> str:
    """The text of a message's content, whether a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _limit(value) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


class ModelLimits:
    """The rules of one model id, read from a row of ``data/models.csv``."""

    def __init__(self, model: str, row: dict):
        self.model = model
        self.context = _limit(row.get("context_window"))
        self.max_output = _limit(row.get("max_output"))
        self.rpm, self.tpm = _limit(row.get("rpm")), _limit(row.get("tpm"))
        self.logprobs = row.get("logprobs") == "yes"
        self.max_n = _limit(row.get("max_n"))
        self.json_schema = row.get("json_schema") == "yes"
        self.thinking = thinking_facts(model)  # None: the thinking table does not know it


def model_studio_limits() -> dict[str, ModelLimits]:
    """Every Model Studio id in the model table, with its rules."""
    table = load_models()
    rows = table[table.provider.str.startswith("Alibaba Cloud Model Studio")]
    return {model: ModelLimits(model, row.to_dict()) for model, row in rows.iterrows()}


class RateLimiter:
    """Sliding one-minute (and optionally one-second) windows of requests and tokens per model."""

    def __init__(self, clock: Callable[[], float], per_second: bool):
        self.clock, self.per_second = clock, per_second
        self.requests: dict[str, SlidingWindow] = defaultdict(lambda: SlidingWindow(60))
        self.tokens: dict[str, SlidingWindow] = defaultdict(lambda: SlidingWindow(60))
        self.lock = threading.Lock()

    def admit(self, limits: ModelLimits) -> None:
        """Count a request, or raise the 429 Model Studio sends when a limit is reached."""
        now = self.clock()
        with self.lock:
            times, spent = self.requests[limits.model], self.tokens[limits.model]
            if limits.rpm is not None and times.total(now) >= limits.rpm:
                raise Refusal(
                    429, "Requests rate limit exceeded, please try again later.",
                    "limit_requests", "limit_requests",
                )  # fmt: skip
            if limits.tpm is not None and spent.total(now) >= limits.tpm:
                raise Refusal(
                    429, "Allocated quota exceeded, please increase your quota limit.",
                    "limit_requests", "insufficient_quota",
                )  # fmt: skip
            per_second = None if limits.rpm is None else max(1, limits.rpm // 60)
            if self.per_second and per_second and times.total(now, within=1) >= per_second:
                raise Refusal(
                    429, "Request rate increased too quickly, please try again later.",
                    "limit_burst_rate", "limit_burst_rate",
                )  # fmt: skip
            times.add(now)

    def spend(self, model: str, tokens: int) -> None:
        """Add the tokens a finished request used (prompt + completion) to its model's minute."""
        with self.lock:
            self.tokens[model].add(self.clock(), tokens)


def _faster(clock: Callable[[], float], speed: float) -> Callable[[], float]:
    """``clock`` running ``speed`` times faster (the clients' side: utils.request_pacing)."""
    if not speed >= 1:
        raise ValueError(f"clock_speed must be a number from 1 up, got {speed!r}")
    return lambda: clock() * speed


class ModelStudioStandIn(LoopbackAPI):
    """The loopback server. ``base_url`` and ``api_key`` are what a client needs."""

    prefix = PREFIX
    methods = ("GET", "POST")

    def __init__(
        self,
        backend_url: str,
        backend_model: str,
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        per_second: bool = False,
        retry_after: float | None = None,
        strict: bool = True,
        thinking_default: int = THINKING_DEFAULT,
        batch: bool = True,
        clock_speed: float = 1.0,
    ) -> None:
        self.clock_speed = clock_speed
        if clock_speed != 1:  # the test clock: a rate-limit minute lasts 60/clock_speed s
            clock = _faster(clock, clock_speed)
        known = model_studio_limits()
        self.limits = {m: known.get(m) or ModelLimits(m, {}) for m in (models or known)}
        split = urlsplit(backend_url)
        self.backend = (split.hostname, split.port, split.path.rstrip("/"))
        self.backend_model = backend_model
        self.api_key = api_key or "sk-" + secrets.token_hex(16)
        self.limiter = RateLimiter(clock, per_second)
        self.retry_after, self.strict = retry_after, strict
        self.thinking_default = thinking_default  # tokens of thoughts when no budget is sent
        self.refusals: Counter = Counter()  # (status, code) of every request refused
        # files and batches, lines going to the backend; batch=False: an endpoint without them
        self.batch = LocalBatchAPI(backend_url) if batch else None
        super().__init__()
        self.requests: list[dict] = []  # every chat request answered: body and what was dropped

    def close(self) -> None:
        """Stop serving and free the port."""
        super().close()
        if self.batch is not None:
            self.batch.close()

    # --- HTTP plumbing -------------------------------------------------------------------

    def handle(self, exchange: Exchange) -> None:
        """Answer one request by hand: a chat answer watches its client hanging up."""
        method, raw = exchange.request.method, exchange.request.raw
        try:
            self._authorise(exchange.request.headers.get("authorization", ""))
            path = exchange.request.path.split("?")[0]
            if method == "GET" and path == f"{PREFIX}/models":
                return self._send_json(exchange, 200, self._model_list())
            if method == "GET" and path.startswith(f"{PREFIX}/models/"):
                return self._send_json(exchange, 200, self._model(path.rsplit("/", 1)[1]))
            if method == "POST" and path == f"{PREFIX}/chat/completions":
                return self._chat(exchange, raw)
            batch_route = path.startswith((f"{PREFIX}/files", f"{PREFIX}/batches"))
            if batch_route and self.batch is not None:
                return self._batch_api(exchange, method, path, raw)
            raise Refusal(404, f"Not found: {method} {path}", "invalid_request_error", "InvalidURL")
        except ClientGone:  # nobody is waiting for an answer
            exchange.hang_up()
        except Refusal as refusal:
            self.refusals[(refusal.status, refusal.code)] += 1
            headers = dict(refusal.headers)
            if refusal.status == 429 and self.retry_after is not None:
                headers["retry-after"] = f"{self.retry_after:g}"
            self._send_json(exchange, refusal.status, refusal.body(), headers)

    def _batch_api(self, exchange: Exchange, method: str, path: str, raw: bytes) -> None:
        headers = exchange.request.headers
        answer = self.batch.respond(Request(method, "/v1" + path[len(PREFIX) :], headers, raw))
        self._send_json(exchange, answer.status, answer.body)  # bytes: a file's content

    @staticmethod
    def _send_json(
        exchange: Exchange, status: int, body: dict | bytes, headers: dict | None = None
    ) -> None:
        with contextlib.suppress(OSError):  # the client went away
            exchange.send(JSONResponse(status, body, headers or {}))

    def _authorise(self, header: str) -> None:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(key.strip(), self.api_key):
            raise Refusal(
                401, f"Incorrect API key provided. For details, see: {ERROR_CODE_PAGE}#apikey-error",
                "invalid_request_error", "invalid_api_key",
            )  # fmt: skip

    def _model(self, model: str) -> dict:
        if model not in self.limits:
            raise Refusal(
                404, f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error", "model_not_found",
            )  # fmt: skip
        return {"id": model, "object": "model", "created": 0, "owned_by": "system"}

    def _model_list(self) -> dict:
        return {"object": "list", "data": [self._model(m) for m in self.limits]}

    # --- the rules ------------------------------------------------------------------------

    def _check(self, body: dict, limits: ModelLimits) -> list[str]:
        """Raise a Refusal for a request Model Studio refuses; return the parameters dropped."""
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _bad(
                "Required parameter(s) missing or invalid: 'messages' must be a non-empty list."
            )
        dropped = sorted(k for k in body if k not in ACCEPTED)
        n = body.get("n", 1)
        if n != 1 and (limits.max_n is None or limits.max_n <= 1 or body.get("tools")):
            raise _bad(f"The parameter n={n} is not supported by {limits.model}: it must be 1.")
        if body.get("logprobs") and not limits.logprobs:
            if self.strict:
                raise _bad(f"The parameter logprobs is not supported by {limits.model}.")
            dropped += ["logprobs", "top_logprobs"]
        temperature, top_p = body.get("temperature"), body.get("top_p")
        if temperature is not None and not 0 <= temperature < 2:
            raise _bad(f"Range of temperature should be [0.0, 2.0), got {temperature}.")
        if top_p is not None and not 0 < top_p <= 1:
            raise _bad(f"Range of top_p should be (0.0, 1.0], got {top_p}.")
        if "max_tokens" in body and self.strict:
            raise _bad(
                "max_tokens is deprecated: send max_completion_tokens (Model Studio's notice "
                "of 2026-04-12, effective 2026-04-20).",
                "InvalidParameter",
            )
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        if (
            max_tokens is not None
            and limits.max_output
            and not 1 <= max_tokens <= limits.max_output
        ):
            raise _bad(
                f"Range of max_completion_tokens should be [1, {limits.max_output}]",
                "InvalidParameter",
            )
        self._check_format(body, messages, limits)
        self._check_tools(body)
        dropped += self._check_thinking(body, limits)
        return dropped

    def _check_format(self, body: dict, messages: list, limits: ModelLimits) -> None:
        kind = (body.get("response_format") or {}).get("type", "text")
        if kind == "json_schema" and not limits.json_schema:
            raise _bad(f"response_format of type 'json_schema' is not supported by {limits.model}.")
        if kind == "json_object":
            said = " ".join(
                _text(m.get("content")) for m in messages if m.get("role") in ("system", "user")
            )
            if "json" not in said.lower():
                raise _bad(
                    "'messages' must contain the word 'json' in some form, to use "
                    "'response_format' of type 'json_object'."
                )

    @staticmethod
    def thinks(body: dict, limits: ModelLimits) -> bool:
        """Whether this request makes the model think (its switch, else the model's default)."""
        facts = limits.thinking
        if facts is None or not facts.can_think:
            return False
        if facts.thinking == "always" or body.get("enable_thinking") is None:
            return facts.thinks_by_default
        return bool(body["enable_thinking"])

    def _check_thinking(self, body: dict, limits: ModelLimits) -> list[str]:
        """Refuse what a thinking call may not combine; return the thinking parameters dropped."""
        enable, budget = body.get("enable_thinking"), body.get("thinking_budget")
        if enable is not None and not isinstance(enable, bool):
            raise _bad(f"enable_thinking must be true or false, got {json.dumps(enable)}.")
        facts = limits.thinking
        if enable and (facts is None or not facts.can_think):
            raise _bad(
                f"The model {limits.model} does not support thinking: remove enable_thinking "
                "or set it to false."
            )
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, int) or budget < 1
        ):
            raise _bad(f"thinking_budget must be a positive integer, got {json.dumps(budget)}.")
        if not self.thinks(body, limits):
            return ["thinking_budget"] if budget is not None else []
        if (body.get("response_format") or {}).get("type", "text") != "text":
            raise _bad("Json mode response is not supported when enable_thinking is true")
        messages = body["messages"]
        if messages[-1].get("role") == "assistant" and messages[-1].get("partial"):
            raise _bad(
                "stand-in: partial mode works in non-thinking mode only; set enable_thinking to false."
            )
        if body.get("tools"):
            raise _bad(
                "stand-in: thinking with tools is not played here; set enable_thinking to false."
            )
        if not body.get("stream"):
            raise _bad(
                "This model only support stream mode, please enable the stream parameter to "
                "access the model."
                if facts.thinking == "always"
                else "parameter.enable_thinking must be set to false for non-streaming calls"
            )
        return ["thinking_budget"] if budget is not None and facts.budget == "ignored" else []

    def _check_tools(self, body: dict) -> None:
        choice = body.get("tool_choice")
        if choice is None or choice in ("auto", "none"):
            return
        name = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
        tools = [t.get("function", {}).get("name") for t in body.get("tools") or []]
        if name is None or name not in tools:
            raise _bad(
                f"tool_choice must be 'auto', 'none' or a function from tools, got {json.dumps(choice)}."
            )

    def _prompt_tokens(self, body: dict) -> int | None:
        """The prompt's length in the local model's tokens; None when it is surely short."""
        characters = sum(len(_text(m.get("content"))) for m in body["messages"])
        if characters < 16_000:  # a token covers at least one character: far below 32,768
            return None
        host, port, base = self.backend
        backend = LlamaAPI(f"http://{host}:{port}{base}", timeout=900)
        try:
            return len(backend.tokenize(backend.apply_template(body["messages"]), special=True))
        except (OSError, ValueError, LlamaAPIError):
            return None

    # --- chat completions -----------------------------------------------------------------

    def _chat(self, exchange: Exchange, raw: bytes) -> None:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise _bad("The request body is not valid JSON.") from None
        model = body.get("model")
        if not model:
            raise _bad('Required parameter "model" missing from request.', "BadRequest.EmptyModel")
        self._model(model)
        limits = self.limits[model]
        dropped = self._check(body, limits)
        prompt_tokens = self._prompt_tokens(body)
        if limits.context and prompt_tokens and prompt_tokens > limits.context:
            raise _bad(f"Range of input length should be [1, {limits.context}]", "InvalidParameter")
        self.limiter.admit(limits)
        self.requests.append({"body": body, "dropped": dropped})
        forward, prefix = self._backend_request(body, dropped, limits)
        if self.thinks(body, limits):
            budget = body.get("thinking_budget") if "thinking_budget" not in dropped else None
            self._relay_thinking(exchange, forward, model, budget or self.thinking_default, body)
        elif body.get("stream"):
            self._relay_stream(
                exchange,
                forward,
                model,
                prefix,
                bool((body.get("stream_options") or {}).get("include_usage")),
            )
        else:
            self._relay(exchange, forward, model, prefix)

    def _backend_request(
        self, body: dict, dropped: list[str], limits: ModelLimits
    ) -> tuple[dict, str]:
        """The body for the local server, and the partial-mode prefix ('' if none)."""
        forward = {k: body[k] for k in FORWARDED if k in body and k not in dropped}
        forward["model"] = self.backend_model
        if "max_completion_tokens" in body:  # llama.cpp knows both names; send the old one
            forward["max_tokens"] = body["max_completion_tokens"]
        if limits.max_output and "max_tokens" not in forward:  # the default is the maximum
            forward["max_tokens"] = limits.max_output
        if "repetition_penalty" in body:
            forward["repeat_penalty"] = body["repetition_penalty"]
        if body.get("logprobs") and "logprobs" not in dropped:
            forward["logprobs"] = True
            forward["top_logprobs"] = body.get("top_logprobs", 0)
        messages = [
            {k: v for k, v in m.items() if k != "reasoning_content"} for m in body["messages"]
        ]  # thoughts sent back are not read
        prefix = ""
        if messages[-1].get("role") == "assistant" and messages[-1].pop("partial", False):
            prefix = _text(messages[-1].get("content"))
        forward["messages"] = messages
        choice = body.get("tool_choice")
        if isinstance(choice, dict):  # a named function: offer only it, and require a call
            name = choice["function"]["name"]
            forward["tools"] = [
                t for t in body["tools"] if t.get("function", {}).get("name") == name
            ]
            forward["tool_choice"] = "required"
        elif choice is not None:
            forward["tool_choice"] = choice
        if body.get("tools"):
            forward["parallel_tool_calls"] = bool(body.get("parallel_tool_calls", False))
        if body.get("stream"):
            forward["stream_options"] = {"include_usage": True}  # for the token count
        return forward, prefix

    def _connection(self) -> http.client.HTTPConnection:
        host, port, _ = self.backend
        return http.client.HTTPConnection(host, port, timeout=900)

    def _open(
        self, forward: dict, connection=None
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        connection = connection or self._connection()
        try:
            connection.request(
                "POST", f"{self.backend[2]}/chat/completions", json.dumps(forward),
                {"content-type": "application/json"},
            )  # fmt: skip
            response = connection.getresponse()
        except OSError as error:
            connection.close()
            raise Refusal(
                500, f"stand-in: the local model behind it is unreachable ({error}).",
                "internal_error", "InternalError",
            ) from None  # fmt: skip
        if response.status != 200:
            detail = response.read().decode(errors="replace")[:300]
            connection.close()
            status = 400 if response.status == 400 else 500
            raise Refusal(
                status, f"stand-in: the local model behind it refused the request: {detail}",
                "invalid_request_error" if status == 400 else "internal_error",
                "invalid_parameter_error" if status == 400 else "InternalError",
            )  # fmt: skip
        return connection, response

    def _usage(self, usage: dict | None) -> dict | None:
        if not usage:
            return usage
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        return {
            "prompt_tokens": usage.get("prompt_tokens", 0),
            "completion_tokens": usage.get("completion_tokens", 0),
            "total_tokens": usage.get("total_tokens", 0),
            "prompt_tokens_details": {
                "cached_tokens": cached if cached >= IMPLICIT_CACHE_MINIMUM else 0
            },
        }

    def _answer(self, exchange: Exchange, forward: dict) -> dict:
        """The backend's JSON answer; abandoned (the model stops) if the client hangs up first.

        A client that times out retries: without this, every retry would queue another
        generation behind the abandoned ones and slow the local model down further.
        """
        connection, outcome = self._connection(), {}

        def work():
            try:
                _, response = self._open(forward, connection)
                outcome["data"] = json.loads(response.read())
            except BaseException as error:  # handed to the request's thread below
                outcome["error"] = error
            finally:
                connection.close()

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.5)
            if worker.is_alive() and exchange.client_gone():
                with contextlib.suppress(OSError, AttributeError):
                    connection.sock.shutdown(socket.SHUT_RDWR)
                raise ClientGone
        if "error" in outcome:
            raise outcome["error"]
        return outcome["data"]

    def _relay(self, exchange: Exchange, forward: dict, model: str, prefix: str) -> None:
        data = self._answer(exchange, forward)
        usage = self._usage(data.get("usage"))
        if usage:
            self.limiter.spend(model, usage["total_tokens"])
        choices = []
        for choice in data.get("choices", []):
            message = dict(choice.get("message") or {})
            content = message.get("content")
            if prefix and isinstance(content, str) and content.startswith(prefix):
                message["content"] = content[len(prefix) :]
            choices.append({
                "index": choice.get("index", 0), "message": message,
                "finish_reason": choice.get("finish_reason"),
                "logprobs": choice.get("logprobs") if forward.get("logprobs") else None,
            })  # fmt: skip
        answer = {
            "id": f"chatcmpl-{uuid.uuid4()}", "object": "chat.completion",
            "created": int(time.time()), "model": model, "choices": choices,
            "usage": usage, "system_fingerprint": None,
        }  # fmt: skip
        self._send_json(exchange, 200, answer)

    def _relay_stream(
        self, exchange: Exchange, forward: dict, model: str, prefix: str, include_usage: bool
    ) -> None:
        connection, response = self._open(forward)
        stream_id, created = f"chatcmpl-{uuid.uuid4()}", int(time.time())
        try:
            exchange.start_chunks()
            to_strip, done = prefix, False
            for line in response:
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    done = True
                    break
                chunk = json.loads(payload)
                usage = self._usage(chunk.get("usage"))
                if usage:
                    self.limiter.spend(model, usage["total_tokens"])
                choices = []
                for choice in chunk.get("choices", []):
                    delta = dict(choice.get("delta") or {})
                    if to_strip and isinstance(delta.get("content"), str):  # partial mode's echo
                        cut = min(len(to_strip), len(delta["content"]))
                        if delta["content"][:cut] == to_strip[:cut]:
                            delta["content"], to_strip = delta["content"][cut:], to_strip[cut:]
                        else:
                            to_strip = ""
                    choices.append({
                        "index": choice.get("index", 0), "delta": delta,
                        "finish_reason": choice.get("finish_reason"), "logprobs": choice.get("logprobs"),
                    })  # fmt: skip
                if not choices and not (usage and include_usage):
                    continue
                out = {
                    "id": stream_id, "object": "chat.completion.chunk", "created": created,
                    "model": model, "choices": choices, "system_fingerprint": None,
                    "usage": usage if include_usage and not choices else None,
                }  # fmt: skip
                exchange.chunk(sse(out))
            if not done:  # the model's stream was cut: cut ours too, no [DONE]
                exchange.hang_up()
                return
            exchange.chunk(sse("[DONE]"))
            exchange.end_chunks()
        except http.client.HTTPException:  # the model's stream broke off: cut ours too
            exchange.hang_up()
        except OSError:  # the client stopped reading (an early stop): drop the backend too
            pass
        finally:
            connection.close()

    def _relay_thinking(
        self, exchange: Exchange, forward: dict, model: str, budget: int, body: dict
    ) -> None:
        """Stream thoughts, then the answer, from the local model asked to reason first."""
        host, port, base = self.backend
        backend = openai.OpenAI(
            base_url=f"http://{host}:{port}{base}", api_key="local", max_retries=0
        )
        unused = {"model", "messages", "max_tokens", "stream", "stream_options", "tools",
                  "tool_choice", "parallel_tool_calls"}  # fmt: skip
        options = {k: v for k, v in forward.items() if k not in unused}
        chunks = think_aloud_stream(
            backend, self.backend_model, forward["messages"], thinking_budget=budget,
            max_tokens=forward.get("max_tokens") or THINKING_ANSWER_DEFAULT, **options,
        )  # fmt: skip
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        stream_id, created = f"chatcmpl-{uuid.uuid4()}", int(time.time())
        try:
            exchange.start_chunks()
            for chunk in chunks:
                usage = chunk.usage.model_dump() if chunk.usage else None
                if usage:
                    self.limiter.spend(model, usage["total_tokens"])
                    usage["prompt_tokens_details"] = {"cached_tokens": 0}
                    if not include_usage:
                        continue
                out = {
                    "id": stream_id, "object": "chat.completion.chunk", "created": created,
                    "model": model, "system_fingerprint": None, "usage": usage,
                    "choices": [{
                        "index": 0, "finish_reason": c.finish_reason, "logprobs": None,
                        "delta": {"content": c.delta.content,
                                  "reasoning_content": getattr(c.delta, "reasoning_content", None)},
                    } for c in chunk.choices],
                }  # fmt: skip
                exchange.chunk(sse(out))
            exchange.chunk(sse("[DONE]"))
            exchange.end_chunks()
        except (openai.APIError, http.client.HTTPException):  # the model broke off: cut ours too
            exchange.hang_up()
        except OSError:  # the client stopped reading: stop the model too
            pass
        finally:
            chunks.close()
            backend.close()
