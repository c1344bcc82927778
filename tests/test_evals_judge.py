"""utils.evals.judge: verdict parsing, the swap, combining both orders, judging real calls."""

import asyncio
import re

import openai
import pandas as pd
import pytest

from utils import get_async_client
from utils.evals import (
    ARENA_HARD_STYLE,
    VERDICTS,
    combine_verdicts,
    judge_messages,
    judge_pair,
    judge_pairs,
    parse_verdict,
    position_bias,
    swap_verdict,
)
from utils.evals.arena_hard import (
    battles_from_verdicts,
    load_arena_hard_battles,
    verdicts_from_battles,
)
from utils.loopback.scripted import completion, scripted_servers

REPLIES = [
    ("My final verdict is: [[A>B]]", "A>B"),
    ("Assistant B is far better. [[B>>A]]", "B>>A"),
    ("[[ B > A ]]", "B>A"),
    ("Both fine. Verdict: [[A=B]]. Again: [[A=B]]", "A=B"),
    ("[[A>>B]] but on reflection [[B>A]]", None),  # conflicting labels
    ("The answer is [A>>B]", None),  # single brackets: not the asked-for format
    ("[[A>>B]] much better\n[[A>B]] slightly\n[[A=B]] tie\n[[B>A]]\n[[B>>A]]", None),  # the list
    ("Assistant A is clearly better.", None),  # a view, but no label: not guessed
    ("[[A]]", None),  # not one of the five labels
    ("", None),
    (None, None),
]


@pytest.fixture
def scripted_api():
    """``scripted_api(reply=None, delay=0.0)`` → a ScriptedAPI on loopback that counts hits."""
    with scripted_servers() as make:
        yield make


@pytest.mark.parametrize("text, expected", REPLIES)
def test_parse_verdict(text, expected):
    assert parse_verdict(text) == expected


def test_swap_undoes_itself_and_rejects_non_verdicts():
    assert [swap_verdict(v) for v in VERDICTS] == list(reversed(VERDICTS))
    assert all(swap_verdict(swap_verdict(v)) == v for v in VERDICTS)
    with pytest.raises(ValueError):
        swap_verdict("A>>>B")


@pytest.mark.parametrize(
    "ab, ba, expected",
    [
        ("A>>B", "B>>A", "model_a"),  # consistent: a wins in both orders
        ("B>A", "A>B", "model_b"),  # consistent: b wins in both orders
        ("A>>B", "A>>B", "tie"),  # always the first shown: pure position bias cancels out
        ("A>B", "A=B", "model_a"),  # +1 and 0
        ("A>B", "A>>B", "model_b"),  # +1 and -2
        ("A=B", "A=B", "tie"),
        (None, "A>B", None),  # an unreadable verdict makes the pair unreadable
        ("A>B", None, None),
    ],
)
def test_combine_both_orders(ab, ba, expected):
    assert combine_verdicts(ab, ba) == expected


def test_judge_messages_show_answer_a_first():
    messages = judge_messages("Q?", "first answer", "second answer")
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert user.index("first answer") < user.index("second answer")
    assert user.rstrip().endswith("[[B>>A]] assistant B is much better")


def _judge_preferring(word: str):
    """A scripted judge that prefers the answer containing ``word``, wherever it is shown."""

    def reply(body):
        text = body["messages"][-1]["content"]
        a_part = re.search(r"Assistant A's Answer\|>\n(.*?)\n<\|The End", text, re.S).group(1)
        return 200, completion("[[A>>B]]" if word in a_part else "[[B>>A]]")

    return reply


def test_judge_pair_asks_twice_and_undoes_the_swap(scripted_api):
    api = scripted_api(_judge_preferring("GOOD"))
    client = openai.OpenAI(api_key="sk-" + "cd" * 10, base_url=api.base_url, max_retries=0)
    judged = judge_pair("Q?", "BAD answer", "GOOD answer", client=client, model="judge")
    assert api.hits == 2
    assert (judged.verdict_ab, judged.verdict_ba) == ("B>>A", "A>>B")
    assert judged.outcome == "model_b"


def test_a_judge_that_always_picks_the_first_answer_is_caught(scripted_api):
    api = scripted_api(lambda body: (200, completion("[[A>>B]]")))
    pairs = pd.DataFrame(
        {"question": ["q1", "q2", "q3"], "answer_a": ["x", "y", "z"], "answer_b": ["u", "v", "w"]}
    )
    judged = asyncio.run(judge_pairs(pairs, client=api.client(), model="judge"))
    assert api.hits == 6
    assert list(judged["outcome"]) == ["tie"] * 3
    assert list(judged["text_ab"]) == ["[[A>>B]]"] * 3
    bias = position_bias(judged["verdict_ab"], judged["verdict_ba"])
    assert bias["first_shown_wins"] == 1.0 and bias["orders_agree"] == 0.0
    assert bias["readable"] == 6 and bias["unreadable"] == 0


def test_unreadable_and_failed_judgements_are_counted(scripted_api):
    def reply(body):
        text = body["messages"][-1]["content"]
        if "FAIL" in text:
            return 400, {"error": {"message": "too long", "type": "invalid_request_error"}}
        return 200, completion("[[A>B]]" if "good" in text else "I think A.")

    api = scripted_api(reply)
    pairs = pd.DataFrame(
        {
            "question": ["good", "vague", "FAIL"],
            "answer_a": ["1", "2", "3"],
            "answer_b": ["4", "5", "6"],
        }
    )
    judged = asyncio.run(judge_pairs(pairs, client=api.client(), model="judge"))
    assert list(judged["outcome"]) == ["tie", None, None]
    assert judged["error"].notna().tolist() == [False, False, True]
    bias = position_bias(judged["verdict_ab"], judged["verdict_ba"])
    assert bias["readable"] == 2 and bias["unreadable"] == 4


def test_judge_pairs_can_hide_its_progress_bar(scripted_api, capsys):
    bodies = []
    api = scripted_api(lambda body: (bodies.append(body), (200, completion("[[A>B]]")))[1])
    pairs = pd.DataFrame({"question": ["q"], "answer_a": ["x"], "answer_b": ["y"]})
    asyncio.run(judge_pairs(pairs, client=api.client(), model="judge"))
    assert "requests" in capsys.readouterr().err
    judged = asyncio.run(judge_pairs(pairs, client=api.client(), model="judge", progress=False))
    assert "requests" not in capsys.readouterr().err
    assert list(judged["outcome"]) == ["tie"] and all("progress" not in b for b in bodies)


def test_judge_pairs_needs_the_columns():
    with pytest.raises(ValueError, match="answer_b"):
        asyncio.run(
            judge_pairs(
                pd.DataFrame({"question": ["q"], "answer_a": ["a"]}), client=None, model="m"
            )
        )


def test_the_local_model_can_be_asked_to_judge(local_settings):
    pairs = pd.DataFrame({"question": ["What is 2 + 2?"], "answer_a": ["4"], "answer_b": ["5"]})
    client = get_async_client(local_settings)
    judged = asyncio.run(
        judge_pairs(pairs, client=client, model=local_settings.model, max_tokens=24)
    )
    assert judged["error"].isna().all()  # the requests are valid for a real server
    row = judged.iloc[0]
    assert row["text_ab"] and row["text_ba"]  # the model replied in both orders
    # whatever the tiny judge wrote, the verdicts are what the parser reads in its replies
    assert row["verdict_ab"] == parse_verdict(row["text_ab"])
    assert row["verdict_ba"] == parse_verdict(row["text_ba"])
    assert row["outcome"] == combine_verdicts(row["verdict_ab"], row["verdict_ba"])


def test_the_course_prompt_uses_the_arena_hard_labels():
    assert all(f"[[{v}]]" in ARENA_HARD_STYLE.template for v in VERDICTS)


def _judged(*rows):
    columns = ["question_id", "model_a", "model_b", "verdict_ab", "verdict_ba"]
    return pd.DataFrame(rows, columns=columns)


def test_battles_count_each_order_and_repeat_strong_verdicts():
    judged = _judged(
        (1, "base", "x", "B>>A", "A>B"),  # game 1: x much better; game 2 (x shown first): x better
        (2, "base", "x", "A=B", "B>A"),  # a tie, then base better (shown second)
        (3, "base", "x", None, "A>>B"),  # game 1 unreadable: dropped, not guessed
    )
    battles = battles_from_verdicts(judged)
    assert list(battles.columns) == ["question_id", "model_a", "model_b", "winner"]
    assert battles["winner"].tolist() == ["model_b"] * 4 + ["tie", "model_a"] + ["model_b"] * 3
    assert battles["question_id"].tolist() == [1, 1, 1, 1, 2, 2, 3, 3, 3]
    assert battles_from_verdicts(judged, multiplier=1)["winner"].tolist() == [
        "model_b", "model_b", "tie", "model_a", "model_b",
    ]  # fmt: skip


def test_battles_from_unreadable_pairs_are_empty_but_well_formed():
    battles = battles_from_verdicts(_judged((1, "base", "x", None, float("nan"))))
    assert battles.empty and list(battles.columns) == [
        "question_id",
        "model_a",
        "model_b",
        "winner",
    ]
    with pytest.raises(ValueError, match="verdict_ba"):
        battles_from_verdicts(
            pd.DataFrame({"model_a": ["a"], "model_b": ["b"], "verdict_ab": ["A>B"]})
        )
    with pytest.raises(ValueError, match="multiplier"):
        battles_from_verdicts(_judged((1, "a", "b", "A>B", "A>B")), multiplier=0)


def test_verdicts_are_read_back_from_battles():
    judged = _judged(
        (1, "base", "x", "B>>A", "B>A"),  # x much better, then worse when shown first
        (2, "base", "x", "A=B", "B>>A"),
        (3, "base", "y", "B>A", "A>B"),
        (4, "base", "y", "A>>B", "B>>A"),  # six rows for one question
    )
    back = verdicts_from_battles(battles_from_verdicts(judged))
    assert back[judged.columns].equals(judged)
    assert not back["ambiguous"].any()


def test_four_equal_rows_are_flagged_ambiguous():
    # a strong game 1 and a plain game 2 for x give the same rows as the other way round
    rows = battles_from_verdicts(_judged((1, "base", "x", "B>>A", "A>B")))
    back = verdicts_from_battles(rows)
    assert bool(back["ambiguous"].iloc[0])
    assert (back["verdict_ab"].iloc[0], back["verdict_ba"].iloc[0]) == ("B>>A", "A>B")
    one_game = verdicts_from_battles(battles_from_verdicts(_judged((1, "base", "x", None, "A>B"))))
    assert bool(one_game["ambiguous"].iloc[0])  # one row: game 1 or game 2, nobody can tell


def test_rows_that_are_not_two_games_are_refused():
    rows = pd.DataFrame(
        {"question_id": [1] * 2, "model_a": ["b"] * 2, "model_b": ["x"] * 2, "winner": ["tie"] * 2}
    )
    assert verdicts_from_battles(rows)["verdict_ab"].tolist() == ["A=B"]  # two single ties: fine
    rows["winner"] = ["tie", "tie"]
    rows = pd.concat([rows, rows.iloc[:1]])  # three ties: a tie is never repeated
    with pytest.raises(ValueError, match="two games"):
        verdicts_from_battles(rows)


def test_the_stored_battles_are_300_pairs_of_two_readable_games():
    battles = load_arena_hard_battles()
    games = verdicts_from_battles(battles)
    assert len(games) == 300 and games[["verdict_ab", "verdict_ba"]].notna().all().all()
    assert games.groupby("model_b")["question_id"].nunique().eq(100).all()
    assert battles_from_verdicts(games).equals(battles)  # the reading is exact
    bias = position_bias(games["verdict_ab"], games["verdict_ba"])
    assert bias["readable"] == 600 and round(bias["orders_agree"], 4) == 0.8233
