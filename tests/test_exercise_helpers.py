"""``helpers_used``: a check sees a call to the course's own helper, however it was imported."""

from utils import moe
from utils.exercises import helpers_used
from utils.moe import top_k_gates as renamed


def by_attribute(probs, k):
    return moe.top_k_gates(probs, k)


def by_alias(probs, k):
    return renamed(probs, k)


def nested(probs, k):
    def inner():
        return renamed(probs, k)

    return inner()


def own_code(probs, k):
    return sorted(probs)[:k]


def test_finds_the_helper_by_name_alias_nesting_and_identity():
    helpers = [moe.top_k_gates]
    assert helpers_used(by_attribute, helpers) == ["top_k_gates"]
    assert helpers_used(by_alias, helpers) == ["renamed"]
    assert helpers_used(nested, helpers) == ["renamed"]
    assert helpers_used(lambda p, k: renamed(p, k), helpers) == ["renamed"]
    assert helpers_used(moe.top_k_gates, helpers) == ["top_k_gates"]  # passed in as the answer


def test_leaves_the_learners_own_code_alone():
    assert helpers_used(own_code, [moe.top_k_gates]) == []
    assert helpers_used(len, [moe.top_k_gates]) == []  # a builtin without Python code
