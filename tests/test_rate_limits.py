"""utils.evals.rate_limits: pacing on a fake clock, Retry-After parsing, the published limits."""

import asyncio
import email.utils

import pytest

from utils.evals.rate_limits import (
    Pacer,
    RateLimits,
    estimate_tokens,
    published_limits,
    retry_after_seconds,
)


class FakeClock:
    """A clock that only moves when someone sleeps: pacing is tested exactly, in no time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)  # let every other task run up to its own wait first
        self.now += seconds


def start_times(limits: RateLimits, tokens: list[int], settle=None) -> list[float]:
    """When each request (of ``tokens`` tokens) may start, one after the other."""
    clock = FakeClock()
    pacer = Pacer(limits, clock=clock, sleep=clock.sleep)

    async def go():
        times = []
        for index, amount in enumerate(tokens):
            await pacer.wait(amount)
            times.append(round(clock.now, 6))
            if settle:
                pacer.settle(amount, settle[index])
        return times

    return asyncio.run(go())


def test_sixty_requests_a_minute_is_one_a_second():
    assert start_times(RateLimits(requests_per_minute=60), [0] * 5) == [0, 1, 2, 3, 4]


def test_one_seconds_worth_may_go_at_once_then_evenly_spaced():
    times = start_times(RateLimits(requests_per_minute=600), [0] * 13)
    assert times[:10] == [0] * 10  # 600 a minute = 10 a second: one second's worth at once
    assert times[10:] == pytest.approx([0.1, 0.2, 0.3])


def test_fewer_than_sixty_a_minute_waits_whole_intervals():
    assert start_times(RateLimits(requests_per_minute=30), [0] * 3) == [0, 2, 4]


def test_tokens_per_minute_spaces_requests_by_their_size():
    limits = RateLimits(tokens_per_minute=6000)  # 100 tokens a second
    assert start_times(limits, [50, 50, 50, 50]) == [0, 0, 0.5, 1.0]


def test_a_request_bigger_than_a_seconds_worth_goes_then_the_next_waits_longer():
    limits = RateLimits(tokens_per_minute=6000)  # bucket of 100 tokens
    assert start_times(limits, [250, 50]) == [0, 2.0]  # 150 in debt, then 50 more: 200 / 100


def test_the_binding_limit_wins():
    limits = RateLimits(requests_per_minute=6000, tokens_per_minute=6000)  # 100 req/s, 100 tok/s
    assert start_times(limits, [100, 100, 100]) == [0, 1.0, 2.0]


def test_settling_returns_tokens_the_call_did_not_use():
    limits = RateLimits(tokens_per_minute=6000)
    assert start_times(limits, [100, 100, 100]) == [0, 1.0, 2.0]
    assert start_times(limits, [100, 100, 100], settle=[10, 10, 10]) == [0, 0.1, 0.2]


def test_a_pause_holds_back_every_request():
    clock = FakeClock()
    pacer = Pacer(RateLimits(requests_per_minute=6000), clock=clock, sleep=clock.sleep)

    async def go():
        await pacer.wait()
        pacer.pause(5)  # the server said Retry-After: 5
        waited = await pacer.wait()
        return waited, clock.now

    assert asyncio.run(go()) == (5, 5)


def test_no_limits_never_wait():
    assert start_times(RateLimits(), [10**6] * 3) == [0, 0, 0]


def test_concurrent_waiters_go_in_arrival_order_and_keep_the_spacing():
    clock = FakeClock()
    pacer = Pacer(RateLimits(requests_per_minute=60), clock=clock, sleep=clock.sleep)
    order = []

    async def one(name):
        waited = await pacer.wait()
        order.append((name, clock.now, waited))

    async def go():
        await asyncio.gather(*(one(name) for name in "abcd"))

    asyncio.run(go())
    assert order == [("a", 0, 0), ("b", 1, 1), ("c", 2, 2), ("d", 3, 3)]  # waiting in line counts


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        Pacer(RateLimits(requests_per_minute=-1))


def test_retry_after_in_seconds_milliseconds_and_as_a_date():
    assert retry_after_seconds({"Retry-After": "7"}) == 7
    assert retry_after_seconds({"retry-after": "1.5"}) == 1.5
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert retry_after_seconds({"Retry-After": date}, now=1_000_000) == 30
    assert retry_after_seconds({"Retry-After": date}, now=2_000_000) == 0  # already past


@pytest.mark.parametrize("headers", [None, {}, {"Retry-After": ""}, {"Retry-After": "soon"},
                                     {"Retry-After": "-3"}, {"retry-after-ms": "x"}])  # fmt: skip
def test_missing_or_unreadable_retry_after_is_none(headers):
    assert retry_after_seconds(headers) is None


def test_published_limits_for_qwen2_5_max():
    assert published_limits("qwen-max-2025-01-25") == published_limits("qwen-max-latest")
    assert (published_limits("qwen-max-2025-01-25").requests_per_minute,
            published_limits("qwen-max-2025-01-25").tokens_per_minute) == (60, 100_000)  # fmt: skip
    assert published_limits("qwen-max").requests_per_minute == 600
    assert published_limits("qwen-max").tokens_per_minute == 1_000_000
    assert "alibabacloud.com" in published_limits("qwen-max").source
    assert published_limits("smollm2-135m-instruct") == RateLimits()  # not in the table: no limit
    assert str(published_limits("qwen-max")) == "600 requests and 1,000,000 tokens per minute"
    assert str(RateLimits()) == "no rate limit"


def test_token_estimate_is_prompt_characters_over_three_plus_max_tokens():
    request = {"model": "m", "messages": [{"role": "user", "content": "x" * 300}], "max_tokens": 16}
    assert estimate_tokens(request) > 100 + 16
    assert estimate_tokens({**request, "max_tokens": 0}) < estimate_tokens(request)
