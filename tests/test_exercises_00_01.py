"""The self-checks of notebooks 00 and 01 accept right answers and explain wrong ones."""

from utils.exercises import nb00, nb01


def test_backend_predictions():
    right = {"A": "dashscope", "B": "openai-compatible", "C": "local", "D": "local"}
    assert nb00.check_backends(right).solved
    assert "['C']" in nb00.check_backends({**right, "C": "openai-compatible"}).message
    assert "missing" in nb00.check_backends({"A": "dashscope"}).message


def test_messages_check_calls_the_model(local_settings):
    from utils import get_client

    client = get_client(local_settings)
    good = [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Hi?"},
    ]
    assert nb00.check_messages(good, client, local_settings.model).solved
    assert not nb00.check_messages([], client, local_settings.model)
    assert "role" in nb00.check_messages([{"content": "x"}], client, local_settings.model).message
    assert (
        "start with a system"
        in nb00.check_messages(good[::-1], client, local_settings.model).message
    )


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


def test_repeatable_check(local_settings):
    from utils import get_client

    client = get_client(local_settings)
    assert nb01.check_repeatable(
        {"temperature": 1.0, "seed": 3}, client, local_settings.model
    ).solved
    assert "keep sampling on" in nb01.check_repeatable({"temperature": 0}, client, "m").message
    assert (
        "only temperature" in nb01.check_repeatable({"temperature": 1, "n": 2}, client, "m").message
    )
