"""Self-checks and hints for notebook 00 (set-up)."""

from __future__ import annotations

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
            "A DashScope key beats OPENAI_BASE_URL; COOKBOOK_PROVIDER beats everything; an "
            "OPENAI_API_KEY alone names no server.",
        ],
        2: [
            "A message is a dict with a 'role' ('system', 'user' or 'assistant') and a 'content' string.",
            "Two messages: a system one that sets the rule ('Answer in one word.') and a user one "
            "that asks the question.",
        ],
    }
)


@guarded
def check_backends(predictions: dict[str, str]) -> Check:
    """Exercise 1: ``predictions`` maps each scenario letter to the provider you expect."""
    missing = sorted(set(SCENARIOS) - set(predictions or {}))
    if missing:
        return not_yet(f"predict every scenario; missing {missing}. Choices: {PROVIDERS}.")
    wrong = [
        letter
        for letter, values in SCENARIOS.items()
        if predictions[letter] != resolve_settings(values).provider
    ]
    if wrong:
        return not_yet(f"scenario(s) {wrong} would resolve differently. Try hint(1).")
    return solved("you can predict the backend from the settings alone.")


@guarded
def check_messages(messages: list[dict], client, model: str) -> Check:
    """Exercise 2: a system + user conversation the endpoint accepts and answers."""
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
        model=model, messages=messages, temperature=0, max_tokens=30
    )
    reply = (response.choices[0].message.content or "").strip()
    if not reply:
        return not_yet("the model returned nothing; try a clearer question.")
    return solved(f"the model answered: {reply!r}")
