"""Self-checks and hints for notebook 01 (your first API call)."""

from __future__ import annotations

from collections.abc import Callable

from utils.exercises import (
    Check,
    check_cases,
    close_to,
    guarded,
    helpers_used,
    hint_printer,
    not_yet,
    solved,
)
from utils.pricing import cost_usd

# Realistic answers to "Which number is larger, 9.11 or 9.8?" and the number each one claims.
CLAIMS = [
    ("9.8 is larger than 9.11.", "9.8"),
    ("The larger number is 9.11.", "9.11"),
    ("**9.8** is the larger number, because 0.80 > 0.11.", "9.8"),
    ("9.11 is greater than 9.8 since 11 > 8.", "9.11"),
    ("Comparing 9.11 and 9.8 digit by digit: 9.11 is smaller than 9.8.", "9.8"),
    ("9.11 is less than 9.80, so 9.8 is bigger.", "9.8"),
    ("I cannot compare these numbers.", None),
    ("To find out which number is larger, we need to compare the numbers.", None),
]

hint = hint_printer(
    {
        1: [
            "Look for a sentence that pairs a number with a comparison word ('larger', 'greater', "
            "'smaller', 'less').",
            "'X is smaller/less than Y' claims Y is larger. Strip markdown like ** before matching.",
            "Find every place where one of the two numbers stands next to a comparison word, in "
            "either order ('X is larger', 'the larger number is X', 'X is less than Y'); work out "
            "which number each one says is larger, and keep the claim made last in the text. No "
            "such place: None.",
        ],
        2: [
            "Prices are per million tokens: divide by 1_000_000.",
            "Each kind of token at its own price: prompt tokens at the input price, completion "
            "tokens at the output price; add the two and scale from per million to per token.",
        ],
        3: [
            "Sampling (temperature > 0) picks tokens at random; the random generator has a seed.",
            "The check asks twice with your seed and once with the next seed: the first two must "
            "agree, the third must not. What makes the draw repeatable, and what keeps it a draw?",
            "Fix the generator's starting point and leave the sampling wide open: a seed of your "
            "own (not section 3's), a temperature of 0.7 or more, and no top_p, or a top_p "
            "large enough to leave many tokens in play.",
        ],
    }
)


@guarded
def check_claim_extractor(extract: Callable[[str], str | None]) -> Check:
    """Exercise 1: ``extract(answer)`` returns '9.8', '9.11' or None, as a careful reader would."""
    cases = [((answer,), expected) for answer, expected in CLAIMS]
    return check_cases(extract, cases, f"all {len(CLAIMS)} answers read correctly.")


@guarded
def check_cost(my_cost: Callable[[dict, dict], float]) -> Check:
    """Exercise 2: ``my_cost(usage, price)`` matches ``utils.pricing.cost_usd``, without it."""
    if used := helpers_used(my_cost, [cost_usd]):
        return not_yet(
            f"write the formula yourself, without {used}: the check compares with it, so "
            "calling it checks nothing."
        )
    price = {"input_usd_per_million_tokens": 1.6, "output_usd_per_million_tokens": 6.4}
    usages = [
        {"prompt_tokens": prompt, "completion_tokens": completion}
        for prompt, completion in [(36, 146), (0, 0), (1_000_000, 0), (12_345, 678)]
    ]
    return check_cases(
        my_cost,
        [((usage, price), cost_usd(usage, price)) for usage in usages],
        "your cost matches the reference on every case.",
        same=close_to(rel_tol=1e-9, abs_tol=1e-15),
        describe=lambda args: f"usage {args[0]}",
    )


LESSON_SEED = 7  # section 3's seed (cell "temperature=1.0, seed=7"): copying it checks nothing


@guarded
def check_repeatable(kwargs: dict, client, model: str) -> Check:
    """Exercise 3: a seed that repeats a sampled answer (temperature ≥ 0.7), while the next seed
    gives another: repeatable, and still sampled."""
    if not isinstance(kwargs, dict) or kwargs.get("temperature", 0) < 0.7:
        return not_yet("keep sampling on: set 'temperature' to 0.7 or more (greedy is too easy).")
    if set(kwargs) - {"temperature", "top_p", "seed"}:
        return not_yet("use only temperature, top_p and seed.")
    seed = kwargs.get("seed")
    if seed == LESSON_SEED:
        return not_yet(
            f"seed={LESSON_SEED} is section 3's: the point is to predict, so pick your own."
        )
    if not isinstance(seed, int) or isinstance(seed, bool):
        return not_yet(
            "without a seed nothing fixes the draw: two sampled calls may differ. Try hint(3)."
        )
    messages = [{"role": "user", "content": "Invent a name for a cat."}]

    def ask(**change) -> str:
        request = {**kwargs, **change}
        response = client.chat.completions.create(
            model=model, messages=messages, max_completion_tokens=12, **request
        )
        return response.choices[0].message.content

    # The first evaluation of a new prompt can round differently from later ones (see
    # "temperature" in the notebook), seed or no seed: it is asked once and not compared.
    ask()
    same, again, other = ask(), ask(), ask(seed=seed + 1)
    if same != again:
        return not_yet(f"two calls with seed={seed} differed: {same!r} vs {again!r}. Try hint(3).")
    if other == same:
        return not_yet(
            f"seed={seed + 1} gave the same text as seed={seed}: {same!r}. That is not sampling "
            "any more (a top_p that leaves one token?). Try hint(3, 3)."
        )
    return solved(f"seed={seed} said {same!r} twice; seed={seed + 1} said {other!r}.")
