"""Code extraction from chat answers, on the shapes real models produce, checked by running it."""

import pytest

from utils.datasets import load_humaneval
from utils.evals import check_solution, code_segments, extract_completion
from utils.evals.code_answers import definitions_only, function_body

FENCE = "`" * 3


@pytest.fixture(scope="module")
def add_problem():
    return next(p for p in load_humaneval() if p["task_id"] == "HumanEval/53")  # add(x, y)


# Answer shapes seen from SmolLM2-135M and typical of larger chat models.
RIGHT_ANSWERS = {
    "fenced": f"{FENCE}python\ndef add(x: int, y: int):\n    return x + y\n{FENCE}",
    "prose-around": f"Sure! Here it is:\n\n{FENCE}python\ndef add(x, y):\n    return x + y\n{FENCE}\n\nThis adds the numbers.",
    "opening-fence-missing": "def add(x: int, y: int):\n    return x + y\n" + FENCE,
    "stray-closing-fence-first": f"{FENCE}\n\nUse this:\n\n{FENCE}python\ndef add(x, y):\n    return x + y\n{FENCE}",
    "usage-after-def": f"{FENCE}python\ndef add(x, y):\n    return x + y\n\nadd(2, 3)\nprint(add(5, 7))  # 12\n{FENCE}",
    "imports-and-helper": f"{FENCE}python\nimport operator\n\n\ndef _plus(a, b):\n    return operator.add(a, b)\n\n\ndef add(x, y):\n    return _plus(x, y)\n{FENCE}",
    "body-only": "    return x + y\n",
    "body-then-chatter": "    return x + y\n\nThis returns the sum.",
    "fenced-body": f"{FENCE}python\n    return x + y\n{FENCE}",
    "flush-left-body": f"{FENCE}\nreturn x + y\n{FENCE}",
    "indented-def": f"{FENCE}python\n    def add(x, y):\n        return x + y\n{FENCE}",
    "truncated-by-max-tokens": f"{FENCE}python\ndef add(x, y):\n    return x + y\n\n\ndef extra(",
}


@pytest.mark.parametrize("shape", RIGHT_ANSWERS)
def test_right_answers_in_every_shape_pass(add_problem, shape):
    completion = extract_completion(RIGHT_ANSWERS[shape], "add")
    result = check_solution(add_problem, completion)
    assert result.passed, (shape, completion, result.reason)


WRONG_ANSWERS = {
    "empty": "",
    "prose-only": "I am sorry, I cannot help with that.",
    "wrong-code": f"{FENCE}python\ndef add(x, y):\n    return x - y\n{FENCE}",
    "stub-only": f'{FENCE}python\ndef add(x, y):\n    """Add."""\n{FENCE}',
    "broken-signature": "def add:\n    return x + y\n" + FENCE,
}


@pytest.mark.parametrize("shape", WRONG_ANSWERS)
def test_wrong_or_unusable_answers_are_counted_not_crashed(add_problem, shape):
    completion = extract_completion(WRONG_ANSWERS[shape], "add")
    assert isinstance(completion, str)
    assert check_solution(add_problem, completion).status in ("failed", "error")


def test_the_piece_defining_the_entry_point_wins():
    answer = f"{FENCE}python\nprint('demo')\n{FENCE}\nand\n{FENCE}python\ndef add(x, y):\n    return 1\n{FENCE}"
    assert extract_completion(answer, "add") == "\ndef add(x, y):\n    return 1\n"
    assert extract_completion(answer, "add_two") == "    print('demo')\n"  # no def: a body


def test_code_segments_split_on_fence_lines_only():
    answer = f"intro\n{FENCE}python\nx = '{FENCE}'\n{FENCE}\noutro"
    assert code_segments(answer) == ["intro", f"x = '{FENCE}'", "outro"]
    assert code_segments("") == [] and code_segments(None) == []


def test_definitions_only_drops_top_level_statements():
    code = "import math\nx = 1\ndef f():\n    return x\n\nprint(f())\n@dec\nclass C:\n    pass\n"
    kept = "import math\n\ndef f():\n    return x\n\n@dec\nclass C:\n    pass\n"
    assert definitions_only(code) == kept
    truncated = "def f():\n    return 1\n\ndef g("  # max_tokens cut the answer here
    assert definitions_only(truncated) == "def f():\n    return 1\n"


def test_function_body_stops_at_the_first_unindented_line():
    assert function_body("    a = 1\n\n    return a\nprint(a)\n") == "    a = 1\n\n    return a\n"
    assert function_body("return 2") == "    return 2\n"
