"""Request pacing: the course's DashScope clients keep to the model's requests per minute."""

import asyncio
import threading

import numpy as np
import pytest

from utils import clients
from utils.clients import describe_backend, get_async_client, get_client
from utils.loopback.scripted import ScriptedAPI, completion
from utils.request_pacing import RequestSpacing, spacing_for
from utils.settings import Secret, Settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_send_times_are_an_interval_apart_and_a_pause_resets_them():
    clock = FakeClock()
    spacing = RequestSpacing(60, clock=clock)  # one a second
    assert [spacing.reserve() for _ in range(3)] == [0.0, 1.0, 2.0]
    clock.now += 10  # a quiet spell: the next request goes at once
    assert spacing.reserve() == 0.0
    clock.now += 0.25
    assert spacing.reserve() == pytest.approx(0.75)


def test_threads_get_distinct_send_times():
    spacing = RequestSpacing(600, clock=FakeClock())  # 0.1 s apart
    waits, lock = [], threading.Lock()

    def claim():
        wait = spacing.reserve()
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=claim) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == pytest.approx([0.1 * i for i in range(20)])


def test_a_limit_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        RequestSpacing(0)


def settings_for(provider, url, model="qwen-max-2025-01-25"):
    return Settings(provider, url, model, Secret("sk-" + "cd" * 10), "test")


@pytest.fixture
def server():
    with ScriptedAPI(lambda body: (200, completion("ok"))) as api:
        yield api


def ask(client):
    return client.chat.completions.create(
        model="qwen-max-2025-01-25", messages=[{"role": "user", "content": "hi"}]
    )


def test_dashscope_clients_share_one_spacing_at_the_published_limit(server, monkeypatch):
    monkeypatch.setattr(clients, "rate_limits", lambda model: (240, None))  # 0.25 s apart
    settings = settings_for("dashscope", server.base_url)
    sync_client, async_client = get_client(settings), get_async_client(settings)

    async def three_at_once():
        await asyncio.gather(*(async_client.chat.completions.create(
            model=settings.model, messages=[{"role": "user", "content": "hi"}]) for _ in range(3)))  # fmt: skip

    ask(sync_client)
    asyncio.run(three_at_once())
    ask(sync_client)
    gaps = np.diff(server.arrivals)
    assert server.hits == 5 and (gaps > 0.24).all(), gaps
    assert spacing_for(server.base_url, settings.model, 240).interval == 0.25
    assert "spaced to its published 240 a minute" in describe_backend(settings)


def test_other_backends_and_unlisted_models_are_not_paced(server):
    for settings in (
        settings_for("openai-compatible", server.base_url),
        settings_for("dashscope", server.base_url, model="my-own-fine-tune"),
    ):
        assert clients.paced_requests_per_minute(settings) is None
        client = get_client(settings)
        before = len(server.arrivals)
        for _ in range(4):
            ask(client)
        assert np.diff(server.arrivals[before:]).max() < 0.2


def test_the_snapshot_is_paced_at_60_a_minute_unless_the_caller_brings_a_client(server):
    settings = settings_for("dashscope", server.base_url + "/")  # its own spacing
    assert clients.paced_requests_per_minute(settings) == 60
    unpaced = get_client(settings, http_client=server.sync_client()._client)
    for _ in range(3):
        ask(unpaced)
    assert np.diff(server.arrivals).max() < 0.5


def test_pacing_follows_the_url_the_client_really_talks_to(server, monkeypatch):
    """05's Batch client talks to a loopback Batch API: it neither waits for nor uses up
    DashScope's slots (issue 23: the URL was taken from the settings, not the client)."""
    monkeypatch.setattr(clients, "rate_limits", lambda model: (60, None))  # 1 s apart
    settings = settings_for("dashscope", "https://dashscope.invalid/pacing-test/v1")
    loopback = get_client(settings, base_url=server.base_url)
    assert clients.paced_requests_per_minute(settings, server.base_url) is None
    for _ in range(4):
        ask(loopback)
    assert server.hits == 4 and np.diff(server.arrivals).max() < 0.5
    assert spacing_for(settings.base_url, settings.model, 60).reserve() == 0.0  # slots untouched
    assert clients.paced_requests_per_minute(settings) == 60  # its own endpoint still is


def test_the_clients_spacing_and_the_runners_pacer_are_one_bucket_with_another_burst():
    """Up to 60 a minute a second's worth is at most one request: the two pace alike."""
    from tests.test_rate_limits import start_times
    from utils.evals.rate_limits import RateLimits

    for rpm in (20, 30, 60):
        spacing = RequestSpacing(rpm, clock=FakeClock())
        waits = [round(spacing.reserve(), 6) for _ in range(4)]
        assert waits == start_times(RateLimits(requests_per_minute=rpm), [0] * 4)
    spacing = RequestSpacing(600, clock=FakeClock())  # 10 a second, yet one at a time
    assert [round(spacing.reserve(), 6) for _ in range(3)] == [0, 0.1, 0.2]
    assert start_times(RateLimits(requests_per_minute=600), [0] * 3) == [0, 0, 0]  # the burst
