"""Which models an OpenAI-compatible endpoint serves, asked through the SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import openai


def available_models(base_url: str, api_key: str = "", timeout: float = 5.0) -> list[str]:
    """Model ids the endpoint lists at ``GET {base_url}/models``.

    When it cannot say, the SDK's error is raised as it came (``openai.AuthenticationError``
    for a rejected key, ``openai.APIConnectionError`` when nothing answers, ...), so the caller
    can tell the learner why: ``utils.errors.explain(error)``.
    """
    import openai  # here, not at the top: the server process imports this module's package

    client = openai.OpenAI(
        base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0
    )
    try:
        return listed_models(client)
    finally:
        client.close()


def listed_models(client: openai.OpenAI) -> list[str]:
    """Model ids ``client.models.list()`` returns, sorted (errors are raised as they came)."""
    return sorted(model.id for model in client.models.list() if model.id)
