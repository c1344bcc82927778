"""Model Studio's current names: the output cap (max_completion_tokens) and its domains."""

import pytest

from utils.clients import OUTPUT_CAP, get_client, with_output_cap
from utils.loopback.scripted import completion
from utils.recordings import region_of, request_key
from utils.settings import ConfigError, endpoint_kind, endpoint_region, resolve_settings

WORKSPACE = "https://ws-1a2b3c.ap-southeast-1.maas.aliyuncs.com/compatible-mode/v1"


def test_the_old_cap_name_becomes_the_new_one():
    body = {"model": "m", "max_tokens": 20, "temperature": 0}
    assert with_output_cap(body) == {"model": "m", OUTPUT_CAP: 20, "temperature": 0}
    assert body["max_tokens"] == 20  # the caller's dict is not changed
    assert with_output_cap({OUTPUT_CAP: 7}) == {OUTPUT_CAP: 7}
    assert with_output_cap({"max_tokens": 7, OUTPUT_CAP: 7}) == {OUTPUT_CAP: 7}
    with pytest.raises(ValueError, match="disagree"):
        with_output_cap({"max_tokens": 7, OUTPUT_CAP: 9})


def dashscope_at(url: str):
    return resolve_settings({"DASHSCOPE_API_KEY": "sk-test", "DASHSCOPE_BASE_URL": url})


def test_a_dashscope_client_sends_the_new_name_and_others_the_old(fake_api):
    server = fake_api(200, completion("hi"))
    dash = get_client(dashscope_at(server.base_url), max_retries=0)
    dash.chat.completions.create(model="qwen-max", messages=[], max_tokens=5)
    other = resolve_settings({"OPENAI_BASE_URL": server.base_url, "OPENAI_MODEL": "m"})
    get_client(other, max_retries=0).chat.completions.create(model="m", messages=[], max_tokens=5)
    sent = server.requests
    assert sent[0][OUTPUT_CAP] == 5 and "max_tokens" not in sent[0]
    assert sent[1]["max_tokens"] == 5 and OUTPUT_CAP not in sent[1]


def test_domains_are_told_apart():
    assert (
        endpoint_kind("https://dashscope-intl.aliyuncs.com/compatible-mode/v1") == "legacy shared"
    )
    assert endpoint_kind("https://dashscope.aliyuncs.com/compatible-mode/v1") == "legacy shared"
    assert endpoint_kind(WORKSPACE) == "workspace"
    assert (
        endpoint_kind("https://trial.ap-southeast-1.maas.aliyuncs.com/compatible-mode/v1")
        == "trial"
    )
    for other in ("http://127.0.0.1:8000/v1", "https://maas.aliyuncs.com.example.org/v1",
                  "https://a.b.c.maas.aliyuncs.com/v1"):  # fmt: skip
        assert endpoint_kind(other) is None, other
    assert endpoint_region(WORKSPACE) == region_of(WORKSPACE) == "intl"
    assert endpoint_region("https://ws-1.cn-somewhere.maas.aliyuncs.com/v1") is None


def test_settings_accept_a_workspace_url_and_say_so():
    settings = dashscope_at(WORKSPACE + "/")
    assert settings.provider == "dashscope" and settings.base_url == WORKSPACE
    assert "a workspace domain" in settings.reason


@pytest.mark.parametrize(
    "url",
    [
        "ws-1.ap-southeast-1.maas.aliyuncs.com",
        "https://{WorkspaceId}.ap-southeast-1.maas.aliyuncs.com/v1",
    ],
)
def test_a_base_url_that_is_not_one_says_what_to_paste(url):
    with pytest.raises(ConfigError, match="workspace shows"):
        dashscope_at(url)


def test_recordings_key_both_cap_names_alike():
    asked = {"model": "m", "messages": [], "max_tokens": 8}
    assert request_key(asked) == request_key({"model": "m", "messages": [], OUTPUT_CAP: 8})
    assert request_key(asked) != request_key({**asked, "max_tokens": 9})
