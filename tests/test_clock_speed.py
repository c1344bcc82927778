"""The test clock: the course's pacing and the stand-in keep one minute, k times shorter.

The key-path run (``--standin-clock-speed K``) sets ``COOKBOOK_TEST_CLOCK_SPEED``. The published
limits stay the same numbers; only the minute they count over lasts 60/K seconds, on both
sides. So pacing still holds, and a client that sends faster than its limit is still refused.
"""

import asyncio
import time

import numpy as np
import openai
import pytest

from tests.model_studio_standin import ModelStudioStandIn
from tests.test_rate_limits import FakeClock
from utils.clients import describe_backend, get_async_client, get_client
from utils.evals import run
from utils.evals.rate_limits import Pacer, RateLimits
from utils.loopback.scripted import completion, scripted_servers
from utils.request_pacing import CLOCK_SPEED, RequestSpacing, clock_speed
from utils.settings import Secret, Settings

SNAPSHOT = "qwen-max-2025-01-25"  # 60 requests and 100,000 tokens a minute
HI = [{"role": "user", "content": "Say hi."}]


@pytest.fixture
def backend():
    with scripted_servers() as make:
        yield make(lambda body: (200, completion("scripted answer")))


def dashscope(standin) -> Settings:
    return Settings("dashscope", standin.base_url, SNAPSHOT, Secret(standin.api_key), "test")


def test_the_speed_is_1_unless_set_and_never_below_1(monkeypatch):
    monkeypatch.delenv(CLOCK_SPEED, raising=False)
    assert clock_speed() == 1
    monkeypatch.setenv(CLOCK_SPEED, "4")
    assert clock_speed() == 4
    for wrong in ("0.5", "nan", "fast"):
        monkeypatch.setenv(CLOCK_SPEED, wrong)
        with pytest.raises(ValueError):
            clock_speed()


def test_pacing_keeps_the_same_limit_on_a_shorter_minute(monkeypatch):
    monkeypatch.setenv(CLOCK_SPEED, "10")
    assert RequestSpacing(60).interval == pytest.approx(0.1)  # 60 a (6-second) minute
    clock = FakeClock()
    pacer = Pacer(RateLimits(requests_per_minute=600), clock=clock, sleep=clock.sleep)

    async def starts(n):
        times = []
        for _ in range(n):
            await pacer.wait()
            times.append(round(clock.now, 6))
        return times

    times = asyncio.run(starts(13))
    assert times[:10] == [0] * 10  # a (test) second's worth at once, as at real speed
    assert times[10:] == pytest.approx([0.01, 0.02, 0.03])  # then 600 a 6-second minute


def test_the_standins_minute_lasts_60_over_k_seconds(backend):
    clock = FakeClock()
    with ModelStudioStandIn(backend.base_url, "scripted", clock=clock, clock_speed=10) as standin:
        standin.limits[SNAPSHOT].rpm = 2
        unpaced = get_client(dashscope(standin), max_retries=0, http_client=None)

        def ask():
            return unpaced.chat.completions.create(model=SNAPSHOT, messages=HI)

        ask(), ask()
        for later in (0.0, 5.9):  # still inside the 6-second minute: refused
            clock.now = later
            with pytest.raises(Exception, match="Requests rate limit exceeded"):
                ask()
        clock.now = 6.1
        ask()
        assert standin.refusals == {(429, "limit_requests"): 2}


JITTER = 0.05  # seconds a request's trip to the backend may vary by on a loaded machine


def _twelve_requests(backend, monkeypatch, client_speed: str):
    """12 requests from a course client paced to 60 a minute on ``client_speed``'s clock, to a
    stand-in that allows 2 a (test) second on its ×10 clock; the stand-in, and what refused."""
    monkeypatch.setenv(CLOCK_SPEED, client_speed)
    monkeypatch.setattr("utils.clients.rate_limits", lambda model: (60, None))
    with ModelStudioStandIn(
        backend.base_url, "scripted", per_second=True, clock_speed=10
    ) as standin:
        standin.limits[SNAPSHOT].rpm = 120  # 2 a second: 2 in any 0.1 s on this clock
        settings = dashscope(standin)
        client = get_client(settings, max_retries=0)
        refused = []
        for _ in range(12):
            try:
                client.chat.completions.create(model=SNAPSHOT, messages=HI)
            except openai.RateLimitError as error:
                refused.append(error.body["message"])
        return describe_backend(settings), standin.refusals, refused


def test_pacing_holds_against_the_standin_on_the_same_clock(backend, monkeypatch):
    started = time.monotonic()
    said, refusals, refused = _twelve_requests(backend, monkeypatch, "10")
    elapsed = time.monotonic() - started
    assert "spaced to its published 60 a minute (test clock ×10: a minute is 6 s)" in said
    assert refusals == {} and refused == [] and backend.hits == 12
    arrivals = np.array(backend.arrivals)
    assert arrivals[-1] - arrivals[0] > 11 * 0.1 - JITTER  # 60 a 6-second minute: 0.1 s apart
    assert (arrivals[2:] - arrivals[:-2]).min() > 0.1  # never 3 in the stand-in's 0.1 s second
    assert elapsed < 11 * 0.1 + 3  # 11 s at real speed


def test_a_client_faster_than_the_standins_clock_is_refused(backend, monkeypatch):
    """The control: the stand-in's fast second still counts, so a mismatch fails."""
    _, refusals, refused = _twelve_requests(backend, monkeypatch, "100")  # 0.01 s apart
    assert refused and set(refused) == {
        "Request rate increased too quickly, please try again later."
    }
    assert refusals == {(429, "limit_burst_rate"): len(refused)}


def test_the_runner_keeps_the_limit_on_the_fast_clock(backend, monkeypatch):
    monkeypatch.setenv(CLOCK_SPEED, "10")
    with ModelStudioStandIn(backend.base_url, "scripted", clock_speed=10) as standin:
        client = get_async_client(dashscope(standin))
        requests = [
            {"model": SNAPSHOT, "messages": [{"role": "user", "content": f"q{i}"}]}
            for i in range(15)
        ]
        started = time.monotonic()
        outcomes = asyncio.run(run(requests, client, concurrency=4, progress=False))
        elapsed = time.monotonic() - started
    assert all(o.error is None and o.attempts == 1 for o in outcomes)
    assert standin.refusals == {}
    assert backend.arrivals[-1] - backend.arrivals[0] > 14 * 0.1 - JITTER  # 60 a 6-second minute
    assert elapsed < 14 * 0.1 + 2  # 14 s at real speed
