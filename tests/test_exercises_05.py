"""Notebook 05's mini-project check: a batch read back by custom_id and scored honestly."""

import json
import random

import pandas as pd

from utils.datasets import load_mmlu_pro
from utils.evals import extract_choice, format_mcq, read_batch_output, write_batch_file
from utils.exercises import nb05
from utils.loopback.scripted import completion


def make_project(tmp_path, per_category=4, categories=5):
    """A batch of MMLU-Pro questions and an output file as a Batch API writes it: shuffled,
    one line failed. Answers alternate right and wrong, one is unreadable."""
    questions = pd.DataFrame(load_mmlu_pro())
    chosen = [c for c in sorted(questions["category"].unique())][:categories]
    sample = questions[questions["category"].isin(chosen)].groupby("category").head(per_category)
    sample = sample.reset_index(drop=True)
    requests = [{"model": "m", "messages": format_mcq(q.question, q.options, q.category),
                 "max_tokens": 16, "temperature": 0} for q in sample.itertuples()]  # fmt: skip
    input_path = write_batch_file(requests, tmp_path / "in.jsonl")
    rows = []
    for index, q in enumerate(sample.itertuples()):
        wrong = next(letter for letter in "ABCD" if letter != q.answer)
        text = "I cannot tell." if index == 3 else f"The answer is ({q.answer if index % 2 else wrong})."
        rows.append({"custom_id": f"request-{index}",
                     "response": {"status_code": 200, "body": completion(text)}, "error": None})  # fmt: skip
    rows[5] = {"custom_id": "request-5", "response": {"status_code": 500, "body": {}},
               "error": {"message": "upstream failed"}}  # fmt: skip
    random.Random(0).shuffle(rows)  # a real output file comes in the order requests finished
    output_path = tmp_path / "out.jsonl"
    output_path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return sample, input_path, output_path


def honest_results(sample, output_path):
    answers = read_batch_output(output_path)
    results = sample[["category", "answer"]].copy()
    results["custom_id"] = [f"request-{i}" for i in range(len(sample))]
    bodies = [answers.get(cid) for cid in results["custom_id"]]
    results["evaluated"] = [body is not None for body in bodies]
    results["choice"] = [extract_choice(b["choices"][0]["message"]["content"], len(o)) if b else None
                         for b, o in zip(bodies, sample["options"], strict=True)]  # fmt: skip
    results["correct"] = [(c == a) if e else None for c, a, e in
                          zip(results["choice"], results["answer"], results["evaluated"], strict=True)]  # fmt: skip
    accuracy = results.loc[results["evaluated"], "correct"].astype(bool).mean()
    return results, accuracy


def test_an_honest_project_is_solved(tmp_path):
    sample, input_path, output_path = make_project(tmp_path)
    results, accuracy = honest_results(sample, output_path)
    check = nb05.check_batch_project(input_path, output_path, results, accuracy)
    assert check.solved, check.message
    assert check.message.count("✔") == 6 and "20 from 5" in check.message


def test_matching_by_position_is_caught(tmp_path):
    sample, input_path, output_path = make_project(tmp_path)
    results, _ = honest_results(sample, output_path)
    lines = [json.loads(line) for line in output_path.read_text().splitlines()]
    by_position = [extract_choice(row["response"]["body"]["choices"][0]["message"]["content"])
                   if row["response"]["status_code"] == 200 else None for row in lines]  # fmt: skip
    results["choice"] = by_position + [None] * (len(results) - len(by_position))
    check = nb05.check_batch_project(input_path, output_path, results, 0.5)
    assert not check.solved and "✘ each choice is what extract_choice reads" in check.message


def test_a_failed_request_counted_as_wrong_is_caught(tmp_path):
    sample, input_path, output_path = make_project(tmp_path)
    results, _ = honest_results(sample, output_path)
    results["correct"] = results["correct"].fillna(False)  # the failed line becomes "wrong"
    accuracy = results["correct"].astype(bool).mean()  # over all 20, not the 19 answered
    check = nb05.check_batch_project(input_path, output_path, results, accuracy)
    assert not check.solved
    assert "✘ requests with no answer in the output are not evaluated" in check.message
    assert "✘ the accuracy you report" in check.message


def test_too_small_a_project_and_an_unstarted_one(tmp_path):
    sample, input_path, output_path = make_project(tmp_path, per_category=2, categories=3)
    results, accuracy = honest_results(sample, output_path)
    check = nb05.check_batch_project(input_path, output_path, results, accuracy)
    assert not check.solved and "✘ the batch file asks at least 20" in check.message
    assert "not started" in nb05.check_batch_project(None, None, None).message
    nb05.hint(4, 2)


def test_a_batch_the_endpoint_refused_gets_not_yet_with_the_reason(tmp_path):
    sample, input_path, output_path = make_project(tmp_path)
    results, accuracy = honest_results(sample, output_path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")  # what lesson 05 writes when the Batch API was refused
    for missing in (empty, tmp_path / "never-downloaded.jsonl"):
        check = nb05.check_batch_project(input_path, missing, results, accuracy)
        assert not check.solved and "endpoint without the Batch API" in check.message
