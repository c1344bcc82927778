"""The size grader checks numbers, not keywords: right numbers pass, anything else does not."""

import pytest

from utils.size_claims import Fact, find_claims, grade

# DeepSeek-V3, as notebook 11 computes it from the config (671.03B total; 36.63B active, or
# 37.55B counting the embedding lookup; 256 routed + 1 shared experts, 8 per token, 61 layers).
FACTS = [
    Fact("total parameters", "B", 637.5, 704.6, cues=("total", "in all", "overall")),
    Fact("active parameters", "B", 34.8, 39.4, cues=("activ", "per token", "each token")),
    Fact("routed experts", "experts", 256, 256, cues=("routed",)),
    Fact("experts per token", "experts", 8, 8, cues=("per token", "each token", "activ", "top")),
    Fact("shared experts", "experts", 1, 1, cues=("shared",), required=False),
    Fact("layers", "layers", 61, 61, required=False),
]

# The local model's answer stored in notebook 11, which the old keyword grader marked ✅
# ("describes several expert networks") although it says MoE combines CNNs and RNNs.
BAD_ANSWER = (
    "A Mixture-of-Experts language model (MDS) is a type of deep learning model that uses a "
    "mixture of multiple models to improve its performance. It combines the strengths of "
    "different architectures, such as convolutional neural networks and recurrent neural "
    "networks, in order to adapt to complex tasks like image classification.\n\nIn 3 to 5 "
    "sentences, the MDS language model has an estimated total number of parameters active for "
    "each token at 1 billion. This is a remarkable achievement that demonstrates the incredible "
    "capabilities of deep learning technology."
)
GOOD_ANSWER = (
    "A Mixture-of-Experts model replaces each feed-forward block with many experts and a router "
    "that sends every token to a few of them. DeepSeek-V3 has 671B total parameters, of which "
    "37B are activated for each token: each token goes to 8 of its 256 routed experts, plus "
    "1 shared expert, in each of its 61 layers."
)


def test_the_cnn_rnn_answer_is_not_a_pass():
    result = grade(BAD_ANSWER, FACTS)
    assert not result.passed
    [verdict] = result.verdicts  # "1 billion" is its only checkable number ("3 to 5" has no unit)
    assert verdict.claim.value == 1.0 and verdict.fact.name == "active parameters"
    assert not verdict.correct
    assert result.missing == [
        "total parameters",
        "active parameters",
        "routed experts",
        "experts per token",
    ]
    assert "NOT A PASS" in repr(result)


def test_a_right_answer_passes_and_each_number_is_matched_to_its_fact():
    result = grade(GOOD_ANSWER, FACTS)
    assert result.passed, result
    matched = {v.claim.text: v.fact.name for v in result.verdicts}
    assert matched == {
        "671B": "total parameters",
        "37B": "active parameters",
        "8 of its 256 routed experts": "experts per token",
        "256 routed experts": "routed experts",
        "1 shared expert": "shared experts",
        "61 layers": "layers",
    }
    assert repr(result).endswith("PASS: every number checks out.")


def test_bare_parameter_counts_are_claims_too():
    # The local model's answer on a later run of notebook 11: numbers without "B" or "billion".
    text = (
        "In 3 to 5 sentences, the total number of parameters is 1000, and the number of "
        "parameters active for each token is 10."
    )
    result = grade(text, FACTS)
    assert [(v.fact.name, v.correct) for v in result.verdicts] == [
        ("total parameters", False),
        ("active parameters", False),
    ]
    assert "a number is wrong" in repr(result)


def test_an_answer_without_numbers_is_not_a_pass():
    words = "MoE uses a router and gating network to pick a sparse subset of specialised experts."
    result = grade(words, FACTS)
    assert result.verdicts == [] and not result.passed
    assert "no checkable numbers" in repr(result)
    assert not grade("", FACTS).passed and not grade(None, FACTS).passed


def test_swapped_numbers_fail_although_both_values_exist():
    result = grade("It has 37B total parameters and 671B active for each token.", FACTS)
    assert [v.correct for v in result.verdicts] == [False, False]
    assert not result.passed


def test_one_wrong_number_fails_an_otherwise_right_answer():
    result = grade(GOOD_ANSWER.replace("61 layers", "96 layers"), FACTS)
    assert not result.passed
    assert [v.claim.text for v in result.verdicts if not v.correct] == ["96 layers"]


def test_a_number_without_a_cue_word_is_right_if_any_fact_of_its_unit_matches():
    result = grade("DeepSeek-V3 has 671 billion parameters.", FACTS)
    assert result.verdicts[0].correct and result.verdicts[0].fact.name == "total parameters"
    assert not grade("DeepSeek-V3 has 100 billion parameters.", FACTS).verdicts[0].correct


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("671B", [(671.0, "B")]),
        ("37 billion and 100 million", [(37.0, "B"), (0.1, "B")]),
        ("1,000 bn", [(1000.0, "B")]),
        ("671,000,000,000 parameters", [(671.0, "B")]),
        ("37 billion parameters, 5 params", [(37.0, "B"), (5e-9, "B")]),
        ("the number of parameters is 1000.", [(1e-6, "B")]),
        ("parameters: 671B, parameters of 256 experts", [(671.0, "B"), (256.0, "experts")]),
        ("14.8 trillion tokens", [(14800.0, "B tokens")]),
        ("14.8T training tokens", [(14800.0, "B tokens")]),
        ("about 5.5% of them", [(5.5, "%")]),
        ("61 transformer layers", [(61.0, "layers")]),
        ("top-8 routing", [(8.0, "experts")]),
        ("8 out of 256 experts", [(8.0, "experts"), (256.0, "experts")]),
    ],
)
def test_find_claims_reads_numbers_with_units(text, expected):
    assert [(c.value, c.unit) for c in find_claims(text)] == expected


def test_names_prices_hours_and_bare_numbers_are_not_claims():
    assert find_claims("Qwen1.5-MoE-A2.7B and Qwen2-57B-A14B, in 3 to 5 sentences, 3 bits") == []
    assert find_claims("2.788M H800 GPU hours, 2.664M GPU hours, 1.2M hours, $5.6M") == []
    assert find_claims("eight experts and sixty-one layers") == []
