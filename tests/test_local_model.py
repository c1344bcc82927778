"""Which local model is served, and the download path, run for real against a loopback hub."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hub_standin import HubStandIn
from utils import local_model
from utils.local_model import BUNDLED, DOWNLOADABLE, LocalModelError

SMALL = DOWNLOADABLE["qwen2.5-0.5b-instruct"]
SPLIT = DOWNLOADABLE["qwen2.5-7b-instruct"]


def test_unset_means_the_bundled_model():
    assert local_model.selected({}) is BUNDLED
    assert local_model.selected({"COOKBOOK_LOCAL_MODEL": "  "}) is BUNDLED
    assert local_model.selected({"COOKBOOK_LOCAL_MODEL": BUNDLED.alias}) is BUNDLED


def test_a_known_name_and_a_file_path(tmp_path):
    assert local_model.selected({"COOKBOOK_LOCAL_MODEL": "Qwen2.5-0.5B-Instruct"}) is SMALL
    mine = local_model.selected({"COOKBOOK_LOCAL_MODEL": str(tmp_path / "Qwen2.5-3B.Q8_0.gguf")})
    assert mine.alias == "qwen2.5-3b.q8_0" and mine.path == str(tmp_path / "Qwen2.5-3B.Q8_0.gguf")
    assert local_model.display_name(mine.alias) == mine.alias
    assert local_model.display_name(BUNDLED.alias) == "SmolLM2-135M-Instruct"
    assert local_model.display_name(SMALL.alias) == "Qwen2.5-0.5B-Instruct"


def test_an_unknown_name_says_what_is_allowed():
    with pytest.raises(LocalModelError, match="qwen2.5-0.5b-instruct.*unset it"):
        local_model.selected({"COOKBOOK_LOCAL_MODEL": "llama-70b"})


def test_a_missing_file_says_what_to_do(tmp_path):
    model = local_model.selected({"COOKBOOK_LOCAL_MODEL": str(tmp_path / "gone.gguf")})
    with pytest.raises(LocalModelError, match="not a file.*unset COOKBOOK_LOCAL_MODEL"):
        local_model.gguf_path(model)


def _download(model_alias: str, hub_url: str, hf_home: Path) -> subprocess.CompletedProcess:
    """``local_model.download`` in a fresh interpreter (huggingface_hub reads HF_* at import)."""
    code = (
        "import json, sys\n"
        "from utils.local_model import DOWNLOADABLE, download, LocalModelError\n"
        f"try:\n    print(json.dumps({{'path': str(download(DOWNLOADABLE[{model_alias!r}]))}}))\n"
        "except LocalModelError as error:\n    print(json.dumps({'error': str(error)}))\n"
    )
    env = {
        **os.environ,
        "HF_ENDPOINT": hub_url,
        "HF_HOME": str(hf_home),
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    env.pop("HF_HUB_OFFLINE", None)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


def _result(run: subprocess.CompletedProcess) -> dict:
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture
def hub():
    """The hub stand-in serving the bundled GGUF under each downloadable model's file names."""
    gguf = local_model.bundled_path()
    files = {f"{m.repo}/{name}": gguf for m in DOWNLOADABLE.values() for name in m.files}
    with HubStandIn(files) as server:
        yield server


def test_download_once_then_from_the_cache_with_no_network(hub, tmp_path):
    first = _result(_download(SMALL.alias, hub.url, tmp_path))
    path = Path(first["path"])
    assert path.name == SMALL.files[0] and path.stat().st_size == local_model.bundled_path().stat().st_size
    assert hub.downloads == [f"{SMALL.repo}/{SMALL.files[0]}"]
    hub.close()  # the network is gone
    again = _result(_download(SMALL.alias, hub.url, tmp_path))
    assert again["path"] == first["path"]  # served from huggingface_hub's cache


@pytest.mark.slow  # 18-52 s in `make check` (issue 22): `make test` runs it
def test_no_network_and_no_cache_says_what_to_do(hub, tmp_path):
    hub.close()
    outcome = _result(_download(SMALL.alias, hub.url, tmp_path))
    assert "cannot be reached" in outcome["error"] and "unset" in outcome["error"]


def test_a_split_model_downloads_every_part(hub, tmp_path):
    outcome = _result(_download(SPLIT.alias, hub.url, tmp_path))
    assert Path(outcome["path"]).name == SPLIT.files[0]
    assert hub.downloads == [f"{SPLIT.repo}/{name}" for name in SPLIT.files]


def test_a_file_missing_on_the_hub_names_it(tmp_path):
    with HubStandIn({}) as empty:
        outcome = _result(_download(SMALL.alias, empty.url, tmp_path))
    assert SMALL.files[0] in outcome["error"] and SMALL.repo in outcome["error"]


def test_a_downloaded_model_is_served_and_answers(hub, tmp_path):
    """End to end: COOKBOOK_LOCAL_MODEL names a model, the server downloads it and serves it."""
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_HOME": str(tmp_path / "hf"),
        "COOKBOOK_STATE_DIR": str(tmp_path / "state"),
        "COOKBOOK_LOCAL_MODEL": SMALL.alias,
    }
    # The stand-in serves SmolLM2's weights under the Qwen file name: the path is what is tested.
    code = (
        "from utils import get_client, load_settings, local_server\n"
        "settings = load_settings()\n"
        "try:\n"
        "    reply = get_client(settings).chat.completions.create(model=settings.model,\n"
        "        messages=[{'role': 'user', 'content': 'Hi'}], max_tokens=5)\n"
        "    print(settings.model, reply.model, bool(reply.choices[0].message.content))\n"
        "finally:\n"
        "    local_server.stop()\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == [SMALL.alias, SMALL.alias, "True"]
    assert hub.downloads == [f"{SMALL.repo}/{SMALL.files[0]}"]

