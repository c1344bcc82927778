"""The self-checks of notebooks 00 and 01 accept right answers and explain wrong ones."""

import ast
import re
import string

import openai
import pytest

from utils.exercises import nb00, nb01
from utils.loopback.scripted import completion


def test_backend_predictions():
    right = {"A": "dashscope", "B": "openai-compatible", "C": "local", "D": "local"}
    assert nb00.check_backends(right).solved
    assert nb00.check_backends(right, inputs=["from utils.exercises.nb00 import SCENARIOS"])
    one_wrong = nb00.check_backends({**right, "C": "openai-compatible"}).message
    assert one_wrong.startswith("1 of your 4 predictions") and "C" not in one_wrong
    assert "2 of your 4" in nb00.check_backends({**right, "A": "local", "D": "dashscope"}).message
    assert "missing" in nb00.check_backends({"A": "dashscope"}).message


@pytest.mark.parametrize(
    "cheat",
    [
        "my_predictions = {k: resolve_settings(v).provider for k, v in SCENARIOS.items()}",
        "import utils.settings as s\np = {k: s.resolve_settings(v).provider for k, v in SCENARIOS.items()}",
        "for letter, values in SCENARIOS.items():\n    print(letter, load_settings)",
    ],
)
def test_backend_predictions_made_by_the_course_resolver_are_refused(cheat):
    """Review (00 c21): resolve_settings, imported in the lesson, answered the exercise."""
    right = {"A": "dashscope", "B": "openai-compatible", "C": "local", "D": "local"}
    verdict = nb00.check_backends(right, inputs=["import pandas", cheat])
    assert not verdict.solved and "answer key" in verdict.message
    lesson_table = "from utils.settings import resolve_settings\nscenarios = {...}"  # 00 c14
    assert nb00.check_backends(right, inputs=[lesson_table]).solved


ONE_WORD = [
    {"role": "system", "content": "Answer in one word."},
    {"role": "user", "content": "What colour is grass?"},
    {"role": "assistant", "content": "Green."},  # an example: a small model copies its form
    {"role": "user", "content": "What colour is the sky on a clear day?"},
]


def test_messages_check_grades_the_models_real_reply(local_settings):
    """Whether the tiny model keeps "one word" is its business; the check must grade what it said."""
    from utils import get_client

    client = get_client(local_settings)
    verdict = nb00.check_messages(ONE_WORD, client, local_settings.model)
    quoted = re.search(  # the reply's repr, then the end or the advice that follows it
        r"(?s)answered (?:in one word|with \d+ words, not one): (.*?)(?:\. The request works|$)",
        verdict.message,
    )
    assert quoted, verdict.message
    words = [w for w in ast.literal_eval(quoted[1]).split() if w.strip(string.punctuation)]
    assert verdict.solved == (len(words) == 1), verdict.message
    assert not nb00.check_messages([], client, local_settings.model)
    assert "role" in nb00.check_messages([{"content": "x"}], client, local_settings.model).message
    assert (
        "start with a system"
        in nb00.check_messages(ONE_WORD[::-1], client, local_settings.model).message
    )


def test_messages_check_refuses_a_reply_that_ignores_the_rule(fake_api):
    """Issue 15: a 25-word reply to "Answer in one word" used to pass."""
    long_reply = " ".join(["word"] * 24) + " done."
    server = fake_api(200, completion(long_reply))
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    verdict = nb00.check_messages(ONE_WORD, client, "m")
    assert not verdict.solved and "25 words, not one" in verdict.message
    server_one = fake_api(200, completion("**Blue.**"))
    client_one = openai.OpenAI(base_url=server_one.base_url, api_key="unused", max_retries=0)
    assert nb00.check_messages(ONE_WORD, client_one, "m").solved


def reference_extractor(answer):
    import re

    text = answer.replace("*", "")
    claims = []
    for m in re.finditer(
        r"(9\.11|9\.80?)\s+is\s+(?:the\s+)?(larger|greater|bigger|smaller|less)", text
    ):
        number = "9.8" if m.group(1).startswith("9.8") else "9.11"
        if m.group(2) in ("smaller", "less"):
            number = "9.11" if number == "9.8" else "9.8"
        claims.append((m.start(), number))
    for m in re.finditer(r"(larger|greater|bigger) (?:number )?is\s+(9\.11|9\.80?)", text):
        claims.append((m.start(), "9.8" if m.group(2).startswith("9.8") else "9.11"))
    return max(claims)[1] if claims else None


def test_claim_extractor_check():
    assert nb01.check_claim_extractor(reference_extractor).solved
    naive = nb01.check_claim_extractor(lambda a: "9.8" if "9.8" in a else None)
    assert not naive.solved and "expected" in naive.message


def test_cost_check():
    def right(usage, price):
        return (
            usage["prompt_tokens"] * price["input_usd_per_million_tokens"]
            + usage["completion_tokens"] * price["output_usd_per_million_tokens"]
        ) / 1e6

    assert nb01.check_cost(right).solved
    assert not nb01.check_cost(lambda u, p: right(u, p) * 1000).solved  # per-thousand mistake


def test_cost_check_refuses_the_helper_the_lesson_imported():
    """Review (01 c41): "don't call cost_usd" was unenforced; a call to it got Solved."""
    import utils.pricing
    from utils.pricing import cost_usd
    from utils.pricing import cost_usd as price_of

    def by_name(usage, price):
        return cost_usd(usage, price)

    def by_module(usage, price):
        return utils.pricing.cost_usd(usage, price)

    for cheat in (cost_usd, by_name, by_module, lambda u, p: price_of(u, p)):
        verdict = nb01.check_cost(cheat)
        assert not verdict.solved and "without" in verdict.message, cheat


def test_repeatable_check(local_settings):
    from utils import get_client

    client = get_client(local_settings)
    verdict = nb01.check_repeatable({"temperature": 1.0, "seed": 3}, client, local_settings.model)
    assert verdict.solved and "seed=4 said" in verdict.message
    copied = nb01.check_repeatable({"temperature": 1.0, "seed": 7}, client, "m")  # 01 c15's
    assert not copied.solved and "section 3's" in copied.message
    assert "without a seed" in nb01.check_repeatable({"temperature": 1.0}, client, "m").message


def test_repeatable_check_refuses_sampling_that_no_longer_samples(fake_api):
    """Review (01 c43): the exercise repeated c15. Now a narrow top_p that makes every seed
    say the same thing (what a server that always answers alike does) is not "still sampled"."""
    server = fake_api(200, completion("Whiskers"))
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    verdict = nb01.check_repeatable({"temperature": 1.0, "top_p": 0.01, "seed": 5}, client, "m")
    assert not verdict.solved and "not sampling" in verdict.message
    assert [body["seed"] for body in server.requests] == [5, 5, 5, 6]
    assert "keep sampling on" in nb01.check_repeatable({"temperature": 0}, client, "m").message
    assert (
        "only temperature" in nb01.check_repeatable({"temperature": 1, "n": 2}, client, "m").message
    )


# Code in a hint: a call, an assignment or increment, a regex literal, a returned tuple.
HINT_CODE = re.compile(r"\w\s*\+?=\s*[\w(]|\br'|\breturn\s+[\w.]+\(|\(\w+, \w+\)")


@pytest.mark.parametrize("module", ["nb00", "nb01", "nb02"])
def test_no_last_hint_is_the_code(module):
    """Review: the last hint level gave the code (01 1.3's two regexes, 02 1.3 and 3.3), and
    00 2.3 the answer's very messages. The last level now gives the method in words."""
    import importlib

    hints = importlib.import_module(f"utils.exercises.{module}").hint.__closure__[0].cell_contents
    old_ones = ["count += 1 for every chunk", "r'(9\\.11|9\\.80?)\\s+is", "Return (text, None)"]
    assert all(HINT_CODE.search(text) for text in old_ones)  # the pattern finds what it should
    for levels in hints.values():
        assert not HINT_CODE.search(levels[-1]), levels[-1]
