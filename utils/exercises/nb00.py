"""Self-checks and hints for notebook 00 (set-up)."""

from __future__ import annotations

import string

from utils.exercises import Check, guarded, hint_printer, not_yet, solved
from utils.settings import PROVIDERS, resolve_settings

# Made-up settings; "sk-example" is not a real key.
SCENARIOS = {
    "A": {"DASHSCOPE_API_KEY": "sk-example", "OPENAI_BASE_URL": "http://localhost:11434/v1"},
    "B": {
        "OPENAI_BASE_URL": "http://localhost:8000/v1",
        "OPENAI_MODEL": "Qwen/Qwen2.5-7B-Instruct",
    },
    "C": {"OPENAI_API_KEY": "sk-example"},
    "D": {"DASHSCOPE_API_KEY": "sk-example", "COOKBOOK_PROVIDER": "local"},
}

hint = hint_printer(
    {
        1: [
            "Read the resolution order at the top of this notebook: which setting is checked first?",
            "Go down the table in section 2 for each scenario and stop at the first row that "
            "applies, but first ask whether COOKBOOK_PROVIDER forces a backend, and whether a "
            "key without a server address names a server at all.",
        ],
        2: [
            "A message is a dict with a 'role' ('system', 'user' or 'assistant') and a 'content' string.",
            "Start with a system message that sets the rule ('Answer in one word.') and end with a "
            "user message that asks the question.",
            "A small model often ignores a rule it is only told. Messages can also show it what "
            "you want: earlier turns that already follow the rule (few-shot prompting, "
            "notebook 03, section 3).",
        ],
    }
)


ANSWER_KEYS = ("resolve_settings", "load_settings", "describe_backend")  # they decide for you


def _notebook_inputs() -> list[str]:
    """The cells this IPython session has run so far (none outside a notebook)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    return list(shell.user_ns.get("In", [])) if shell is not None else []


def _asked_the_course(inputs: list[str]) -> str | None:
    """The answer key a cell ran on the exercise's scenarios, if one did."""
    for source in inputs:
        if "SCENARIOS" in source:
            for name in ANSWER_KEYS:
                if name in source:
                    return name
    return None


@guarded
def check_backends(predictions: dict[str, str], inputs: list[str] | None = None) -> Check:
    """Exercise 1: ``predictions`` maps each scenario letter to the provider you expect.

    ``inputs``: the cells run so far (default: this notebook's); one that hands ``SCENARIOS``
    to the course's own resolver is refused, since then the course answered, not you.
    """
    used = _asked_the_course(_notebook_inputs() if inputs is None else inputs)
    if used:
        return not_yet(
            f"a cell ran {used}() on SCENARIOS: that is the answer key, so the check cannot "
            "tell what you predicted. Restart the kernel, run the cells above this one, and "
            "write your predictions from the resolution order in section 2."
        )
    missing = sorted(set(SCENARIOS) - set(predictions or {}))
    if missing:
        return not_yet(f"predict every scenario; missing {missing}. Choices: {PROVIDERS}.")
    wrong = sum(
        predictions[letter] != resolve_settings(values).provider
        for letter, values in SCENARIOS.items()
    )  # how many, not which: naming them would let trial and error solve it
    if wrong:
        return not_yet(
            f"{wrong} of your {len(SCENARIOS)} predictions would resolve differently. Try hint(1)."
        )
    return solved("you can predict the backend from the settings alone.")


def _words(text: str) -> list[str]:
    return [w for w in (part.strip(string.punctuation) for part in text.split()) if w]


@guarded
def check_messages(messages: list[dict], client, model: str) -> Check:
    """Exercise 2: messages that get a one-word answer (system first, question last)."""
    if not isinstance(messages, list) or not messages:
        return not_yet("`my_messages` should be a non-empty list of dicts.")
    for message in messages:
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            return not_yet(f"each message needs exactly 'role' and 'content': {message!r}")
        if message["role"] not in ("system", "user", "assistant"):
            return not_yet(f"unknown role {message['role']!r}")
        if not str(message["content"]).strip():
            return not_yet("a message has empty content.")
    roles = [m["role"] for m in messages]
    if roles[0] != "system" or roles[-1] != "user":
        return not_yet(f"start with a system message and end with a user message (got {roles}).")
    response = client.chat.completions.create(
        model=model, messages=messages, temperature=0, max_completion_tokens=30
    )
    reply = (response.choices[0].message.content or "").strip()
    words = _words(reply)
    if len(words) != 1:
        return not_yet(
            f"the model answered with {len(words)} words, not one: {reply!r}. The request "
            "works; now get the rule followed. Try hint(2, 3)."
        )
    return solved(f"the model answered in one word: {reply!r}")
