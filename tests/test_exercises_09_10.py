"""The self-checks of notebooks 09 and 10 accept right answers and explain wrong ones."""

from math import comb

import numpy as np

from utils.exercises import nb09, nb10


def test_label_check():
    assert nb09.check_labels(["A", "b", " B"], 3).solved
    assert "one label per pair" in nb09.check_labels(["A"], 3).message
    assert "[1]" in nb09.check_labels(["A", None, "B"], 3).message


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

    assert nb09.check_expected_best(right).solved
    assert "expected" in nb09.check_expected_best(lambda s, n: float(np.max(s))).message


def test_dpo_check():
    def right(pc, pr, rc, rr, beta):
        margin = beta * ((pc - rc) - (pr - rr))
        return float(np.mean(np.logaddexp(0, -margin)))

    assert nb10.check_dpo_loss(right).solved
    assert "log 2" in nb10.check_dpo_loss(lambda *a: 0.0).message
    no_beta = nb10.check_dpo_loss(lambda pc, pr, rc, rr, beta: right(pc, pr, rc, rr, 1.0))
    assert not no_beta.solved and "beta=0.1" in no_beta.message


def test_grpo_check():
    assert nb10.check_grpo_advantages(lambda r: (r - r.mean()) / (r.std(ddof=1) + 1e-4)).solved
    assert nb10.check_grpo_advantages(lambda r: (r - r.mean()) / (r.std() + 1e-4)).solved
    with np.errstate(invalid="ignore", divide="ignore"):
        assert "zeros" in nb10.check_grpo_advantages(lambda r: (r - r.mean()) / r.std()).message
    assert "expected" in nb10.check_grpo_advantages(lambda r: r - r.mean()).message


def test_ppo_check():
    def right(new, old, adv, clip):
        ratio = np.exp(new - old)
        return np.minimum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv)

    def always_clipped(new, old, adv, clip):
        return np.clip(np.exp(new - old), 1 - clip, 1 + clip) * adv

    assert nb10.check_ppo_term(right).solved
    message = nb10.check_ppo_term(always_clipped).message
    assert "ratio 1.50, advantage -1" in message


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
