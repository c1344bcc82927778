"""The self-checks of notebook 04 accept right answers and explain wrong ones."""

from pydantic import BaseModel, Field

from utils import get_client
from utils.exercises import nb04
from utils.tools import ToolBox


class Reference(BaseModel):
    model: str = Field(min_length=1)
    benchmark: str = Field(min_length=1)
    score: float | None = Field(ge=0, le=100)


class Empty(BaseModel):
    pass


class ScoreOptional(BaseModel):  # a missing score slips through
    model: str = Field(min_length=1)
    benchmark: str = Field(min_length=1)
    score: float | None = Field(default=None, ge=0, le=100)


class NoNull(BaseModel):  # a blank is rejected
    model: str = Field(min_length=1)
    benchmark: str = Field(min_length=1)
    score: float = Field(ge=0, le=100)


def test_schema_check():
    assert nb04.check_schema(Reference).solved
    assert "176.1 is above 100" in nb04.check_schema(Empty).message
    assert "score is missing" in nb04.check_schema(ScoreOptional).message
    assert "you rejected" in nb04.check_schema(NoNull).message
    assert "pydantic model" in nb04.check_schema(dict).message


def percent_change(old: float, new: float) -> float:
    """The change from old to new, in percent."""
    return (new - old) / old * 100


def test_tool_check():
    assert nb04.check_tool(percent_change).solved

    def untyped(old, new):
        """Doc."""

    def integers(old: int, new: int) -> float:
        """Doc."""
        return (new - old) / old * 100

    def infinite(old: float, new: float) -> float:
        """Doc."""
        return float("inf") if old == 0 else (new - old) / old * 100

    def wrong(old: float, new: float) -> float:
        """Doc."""
        return (old - new) / new * 100

    assert "no type hint" in nb04.check_tool(untyped).message
    assert "hint it as float" in nb04.check_tool(integers).message
    assert "should fail with an error" in nb04.check_tool(infinite).message
    assert "expected" in nb04.check_tool(wrong).message


def test_loop_check_against_the_local_server(local_settings):
    client = get_client(local_settings)
    model = local_settings.model
    choose = ToolBox([nb04.calculator]).choose("calculator")
    right = {"tool_choice": choose, "then_tool_choice": "auto", "max_steps": 3}
    assert nb04.check_loop_settings(right, client, model).solved
    runaway = {"tool_choice": choose, "then_tool_choice": choose, "max_steps": 2}
    assert "step limit" in nb04.check_loop_settings(runaway, client, model).message
    assert "between 1 and 3" in nb04.check_loop_settings({"max_steps": 9}, client, model).message
    assert "use only the keys" in nb04.check_loop_settings({"seed": 1}, client, model).message
    # on the local server 'auto' never calls a tool, so the model answers without one
    assert "without calling" in nb04.check_loop_settings({"max_steps": 2}, client, model).message
