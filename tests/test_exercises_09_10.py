"""The self-checks of notebooks 09 and 10 accept right answers and explain wrong ones."""

import re
from itertools import combinations
from math import comb

import numpy as np

from utils.exercises import nb07, nb08, nb09, nb10, nb11
from utils.rlhf import bradley_terry_loss, dpo_loss, expected_best_of_n, grpo_advantages
from utils.rlhf.losses import ppo_clip_objective


def test_label_check_grades_the_gold_pairs():
    assert nb09.check_labels(["A", "b", " B", "A", "B"], 3).solved
    assert "one label per pair" in nb09.check_labels(["A"], 3).message
    assert "[1]" in nb09.check_labels(["A", None, "B", "A", "B"], 3).message
    # the obvious cheats: a constant labeller, and the gold labels swapped
    for cheat in (["A"] * 5, ["B"] * 5, ["A", "A", "A", "B", "A"]):
        verdict = nb09.check_labels(cheat, 3)
        assert not verdict.solved and "gold" in verdict.message


def test_gold_pairs_differ_only_in_the_stated_answer_and_A_B_are_known():
    for (prompt, a, b), right in zip(nb09.gold_pairs(), nb09.GOLD_ANSWERS, strict=True):
        assert prompt[0]["role"] == "user" and a != b
        assert a.rsplit("Answer: ", 1)[0] == b.rsplit("Answer: ", 1)[0]  # same working
        working, stated = (a if right == "A" else b).rsplit("Answer: ", 1)
        assert stated in working  # the right one repeats what the working reached


def test_bt_loss_check():
    def right(weights, chosen, rejected):
        margin = chosen @ weights - rejected @ weights
        return float(np.mean(np.logaddexp(0, -margin)))

    def overflowing(weights, chosen, rejected):
        margin = chosen @ weights - rejected @ weights
        return float(np.mean(np.log(1 + np.exp(-margin))))

    def summed(weights, chosen, rejected):
        return right(weights, chosen, rejected) * len(chosen)

    assert nb09.check_bt_loss(right).solved
    assert not nb09.check_bt_loss(summed).solved
    assert not nb09.check_bt_loss(lambda w, c, r: 0.6931471805599453).solved  # a printed value
    calls_helper = nb09.check_bt_loss(lambda w, c, r: bradley_terry_loss(w, c, r))
    assert not calls_helper.solved and "bradley_terry_loss" in calls_helper.message
    assert not nb09.check_bt_loss(bradley_terry_loss).solved
    with np.errstate(over="ignore"):
        assert "overflow" in nb09.check_bt_loss(overflowing).message
    assert (
        "not started"
        in nb09.check_bt_loss(lambda *a: (_ for _ in ()).throw(NotImplementedError)).message
    )


def test_expected_best_check():
    def right(scores, n):
        s = np.sort(scores)
        return sum(comb(k - 1, n - 1) * s[k - 1] for k in range(1, len(s) + 1)) / comb(len(s), n)

    def enumerated(scores, n):
        return float(np.mean([max(c) for c in combinations(scores, n)]))

    assert nb09.check_expected_best(right).solved
    assert "expected" in nb09.check_expected_best(lambda s, n: float(np.max(s))).message
    assert not nb09.check_expected_best(lambda s, n: 0.0).solved  # a constant
    assert not nb09.check_expected_best(enumerated).solved  # lists the subsets
    assert not nb09.check_expected_best(lambda s, n: expected_best_of_n(s, n)).solved


def test_dpo_check():
    def right(pc, pr, rc, rr, beta, smoothing=0.0):
        margin = beta * ((pc - rc) - (pr - rr))
        loss = (1 - smoothing) * np.logaddexp(0, -margin) + smoothing * np.logaddexp(0, margin)
        return float(np.mean(loss))

    def plain(pc, pr, rc, rr, beta, smoothing=0.0):  # ignores the smoothing
        return right(pc, pr, rc, rr, beta)

    assert nb10.check_dpo_loss(right).solved
    assert "log 2" in nb10.check_dpo_loss(lambda *a: 0.0).message  # a constant
    assert not nb10.check_dpo_loss(lambda *a: 0.6931471805599453).solved  # a printed value
    no_beta = nb10.check_dpo_loss(lambda pc, pr, rc, rr, beta, s: right(pc, pr, rc, rr, 1.0))
    assert not no_beta.solved and "beta=0.1" in no_beta.message
    no_smoothing = nb10.check_dpo_loss(plain)
    assert not no_smoothing.solved and "smoothing=0.1" in no_smoothing.message
    for cheat in (
        lambda pc, pr, rc, rr, beta, s: dpo_loss(pc, pr, rc, rr, beta, label_smoothing=s),
        dpo_loss,
    ):
        assert "dpo_loss" in nb10.check_dpo_loss(cheat).message


def test_grpo_check():
    assert nb10.check_grpo_advantages(lambda r: (r - r.mean()) / (r.std(ddof=1) + 1e-4)).solved
    assert nb10.check_grpo_advantages(lambda r: (r - r.mean()) / (r.std() + 1e-4)).solved
    with np.errstate(invalid="ignore", divide="ignore"):
        assert "zeros" in nb10.check_grpo_advantages(lambda r: (r - r.mean()) / r.std()).message
    assert "expected" in nb10.check_grpo_advantages(lambda r: r - r.mean()).message
    assert not nb10.check_grpo_advantages(lambda r: np.zeros_like(r)).solved  # a constant
    helper = nb10.check_grpo_advantages(lambda r: grpo_advantages(r))
    assert not helper.solved and "grpo_advantages" in helper.message


def test_ppo_check():
    def right(new, old, adv, clip):
        ratio = np.exp(new - old)
        return np.minimum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv)

    def always_clipped(new, old, adv, clip):
        return np.clip(np.exp(new - old), 1 - clip, 1 + clip) * adv

    assert nb10.check_ppo_term(right).solved
    message = nb10.check_ppo_term(always_clipped).message
    assert "ratio 1.50, advantage -1" in message
    assert not nb10.check_ppo_term(lambda n, o, a, c: a).solved  # the advantage alone
    helper = nb10.check_ppo_term(
        lambda n, o, a, c: ppo_clip_objective(n, o, a, clip=c, reduction="none")
    )
    assert not helper.solved and "ppo_clip_objective" in helper.message
    # the six values the messages print, copied into a constant: the unseen batch refuses them
    shown = right(
        np.log(np.array([0.5, 0.75, 0.25, 0.75, 0.25, 0.55])),
        np.log(np.full(6, 0.5)),
        np.array([1.0, 1.0, -1.0, -1.0, 1.0, -2.0]),
        0.2,
    )
    copied = nb10.check_ppo_term(lambda n, o, a, c: shown)
    assert not copied.solved and "second batch" in copied.message


def test_generate_check():
    def right(model, prompt_ids, n):
        ids = list(prompt_ids)
        for _ in range(n):
            ids.append(int(np.argmax(model(ids)[-1])))
        return ids[len(prompt_ids) :]

    def first_row(model, prompt_ids, n):
        ids = list(prompt_ids)
        for _ in range(n):
            ids.append(int(np.argmax(model(ids)[0])))
        return ids[len(prompt_ids) :]

    def with_prompt(model, prompt_ids, n):
        return list(prompt_ids) + right(model, prompt_ids, n)

    assert nb10.check_generate(right).solved
    assert "LAST row" in nb10.check_generate(first_row).message
    assert "only the n new" in nb10.check_generate(with_prompt).message
    assert "list of 5" in nb10.check_generate(lambda m, p, n: right(m, p, n)[:2]).message
    assert not nb10.check_generate(lambda m, p, n: [0] * n).solved  # a constant
    # the ids for the one prompt the check names, copied: the prompts it does not name refuse it
    shown = right(nb10._toy_model, [4, 1, 7], 5)
    assert str(shown) not in nb10.check_generate(lambda m, p, n: [0] * n).message
    copied = nb10.check_generate(lambda m, p, n: shown[:n] + [0] * (n - len(shown)))
    assert not copied.solved and "another prompt" in copied.message


CODE = re.compile(r"\bnp\.\w+\(|\w\s*=\s*[\w(]|\breturn\s+[\w.]+\(|\bfor \w+ in range\(")


def last_hints(module):
    return [levels[-1] for levels in module.hint.__closure__[0].cell_contents.values()]


def test_no_last_hint_is_the_code():
    """The last hint gives the method in words: no call, no assignment, no loop header."""
    assert CODE.search("ids = list(prompt_ids); return ids[len(prompt_ids):]")  # the old 4.3
    for module in (nb07, nb08, nb09, nb10, nb11):
        for text in last_hints(module):
            assert not CODE.search(text), text
