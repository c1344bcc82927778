"""Preference pairs: a mild, hand-checked slice of Anthropic's HH-RLHF, and verifiable GSM8K pairs.

Content note: HH-RLHF's harmless-base split is red-team data; most conversations contain
offensive or harmful requests by design. ``MILD_HH_INDICES`` lists the rows of
``data/hh_rlhf/harmless-base_test.jsonl.gz`` (MIT licence, see ``data/README.md``) that we
read in full and kept: at most two user turns, and no violence, weapons, drugs, sexual
content, slurs or requests for someone's private data in any turn. They are everyday or
merely cheeky requests ("How can I get a Ferrari?", "Why do MAC computers suck?"). The
labels are the original crowdworkers' and are noisy: "chosen" often means "less harmful",
not "better".

``gsm8k_consistency_pairs`` makes pairs whose label needs no rater: a GSM8K reference solution
ending in the answer its working reaches (chosen), and the same solution whose stated answer
contradicts that working (rejected).
"""

from __future__ import annotations

import re

from utils.datasets import load_gsm8k, load_hh_rlhf, split_hh_transcript

# Selection rule, reproducible: rows whose chosen and rejected transcripts share every turn
# but the last assistant reply, with ≤ 2 user turns and ≤ 1,000 characters, not matching a
# keyword blocklist; then each remaining row was read in full and kept only if mild.
MILD_HH_INDICES = (
    4, 9, 35, 80, 91, 93, 131, 136, 193, 211, 261, 269, 284, 289, 293, 311, 322, 326, 333,
    402, 470, 494, 505, 509, 545, 548, 570, 574, 578, 593, 618, 641, 648, 716, 785, 791, 797,
    822, 830, 998, 1002, 1014, 1050, 1094, 1121, 1171, 1173, 1196, 1211, 1271, 1301, 1393,
    1457, 1497, 1535, 1541, 1559, 1568, 1663, 1680, 1695, 1714, 1767, 1785, 1852, 1866, 1879,
    1893, 1927, 1930, 1936, 1978, 1979, 2033, 2041, 2051, 2082, 2087, 2130, 2159, 2172, 2192,
    2197, 2200, 2214, 2222, 2228, 2294,
)  # fmt: skip


def preference_pair(row: dict) -> dict:
    """One HH-RLHF row → ``{"prompt": messages, "chosen": str, "rejected": str}``.

    ``prompt`` is the conversation up to the final assistant reply, where the two differ.
    """
    chosen, rejected = split_hh_transcript(row["chosen"]), split_hh_transcript(row["rejected"])
    if chosen[:-1] != rejected[:-1] or chosen[-1]["role"] != "assistant":
        raise ValueError("chosen and rejected must share every turn but the last assistant reply")
    return {
        "prompt": chosen[:-1],
        "chosen": chosen[-1]["content"],
        "rejected": rejected[-1]["content"],
    }


def load_mild_hh_pairs() -> list[dict]:
    """The hand-checked mild HH-RLHF pairs, each with its row ``index`` in the data file."""
    rows = load_hh_rlhf()
    return [{"index": i, **preference_pair(rows[i])} for i in MILD_HH_INDICES]


WRONG_BY = (-3, -2, -1, 1, 2, 3, 10)  # how far a rejected answer is from the right one


def solution_text(answer: str) -> str:
    """A GSM8K reference solution as a reply: calculator notes dropped, ending "Answer: n"."""
    working, final = answer.rsplit("####", 1)
    return re.sub(r"<<.*?>>", "", working).strip() + f"\nAnswer: {final.strip()}"


def gsm8k_consistency_pairs(n: int = 24) -> list[dict]:
    """GSM8K's ``n`` shortest problems as verifiable pairs: the same working, two stated answers.

    ``chosen`` is the reference solution, ending in the answer its working reaches; ``rejected``
    keeps every line of the working and states a different answer (off by one of ``WRONG_BY``,
    chosen by the problem's position, so the pairs repeat). Keys as in ``load_mild_hh_pairs``:
    ``index`` (GSM8K test row), ``prompt`` (one user message), ``chosen``, ``rejected``.
    """
    rows = load_gsm8k()
    shortest = sorted(
        range(len(rows)), key=lambda i: len(rows[i]["question"]) + len(rows[i]["answer"])
    )
    pairs = []
    for k, index in enumerate(shortest[:n]):
        row = rows[index]
        chosen = solution_text(row["answer"])
        right = row["final_answer"]
        wrong = right + WRONG_BY[k % len(WRONG_BY)]
        shown = str(int(wrong)) if wrong == int(wrong) else f"{wrong:g}"
        rejected = chosen.rsplit("Answer: ", 1)[0] + f"Answer: {shown}"
        pairs.append(
            {
                "index": index,
                "prompt": [{"role": "user", "content": row["question"]}],
                "chosen": chosen,
                "rejected": rejected,
            }
        )
    return pairs
