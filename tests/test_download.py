"""A model downloaded as a person's first run downloads it: from a server in the hub's layout
reached through HF_ENDPOINT, into Snapseek's cache folder, resumed after a cut, recorded and
checked at every later open, said in one line when it cannot be had; then built and used
without torch."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from core.types import ModelUnavailable, State

WEIGHTS = "open_clip_model.safetensors"


@pytest.fixture
def hub(tmp_path, vit_model_spec, monkeypatch):
    """(server, spec): the trained ViT model published as hf-hub:test/vit on a local hub."""
    from localhub import Server, hub_model

    hub_model(tmp_path / "hub", "test/vit", Path(vit_model_spec[len("local-dir:"):]))
    server = Server(tmp_path / "hub")
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setattr("core.model.download.RETRY_S", 0.01)
    yield server, "hf-hub:test/vit"
    server.close()


def fetch(spec: str, events=None) -> Path:
    from core.model.light import model_folder
    from core.model.offered import ModelSpec

    return model_folder(ModelSpec.parse(spec), True, events.append if events is not None
                        else None)


def test_a_hub_model_is_downloaded_built_and_searched_without_torch(hub, tmp_path):
    from helpers import draw_photo

    from core.library import Library
    from core.model.download import models_folder
    from core.types import Query

    for i, (c, s) in enumerate([("red", "circle"), ("blue", "square"), ("green", "triangle")]):
        (tmp_path / "Pictures").mkdir(exist_ok=True)
        draw_photo(c, s, (200, 150), seed=i).save(tmp_path / "Pictures" / f"{c}_{s}.jpg")
    seen = []
    with Library(tmp_path / "home", model=hub[1]) as lib:
        lib.subscribe(seen.append)
        lib.add_folder(tmp_path / "Pictures")
        lib.update()
        top = lib.search(Query.text("a blue square", k=3))
        assert top[0].path.endswith("blue_square.jpg")
        assert not lib.embedder.full_loaded  # built from the weights, no torch model
    downloading = [e for e in seen if getattr(e, "state", None) == State.DOWNLOADING]
    assert downloading and downloading[-1].done == downloading[-1].total > 0
    assert any(getattr(e, "text", "").startswith("Downloading model") for e in seen)
    folder = models_folder() / "test--vit"
    assert (folder / WEIGHTS).is_file() and not list(folder.glob("*.part"))
    assert folder.is_relative_to(tmp_path / "cache" / "snapseek")
    assert not (tmp_path / "user" / ".cache" / "huggingface").exists()
    # only what the builder needs was asked for
    assert {name for name, _ in hub[0].requests} == {"open_clip_config.json", WEIGHTS}


def test_the_first_download_records_each_file_with_the_commit(hub):
    import json

    from core.model.download import RECORD, sha256_of
    from localhub import COMMIT

    folder = fetch(hub[1])
    record = json.loads((folder / RECORD).read_text())
    assert record["repo"] == "test/vit" and record["commit"] == COMMIT
    for name in ("open_clip_config.json", WEIGHTS):
        entry = record["files"][name]
        assert entry["size"] == (folder / name).stat().st_size
        assert entry["sha256"] == sha256_of(folder / name)


def test_a_file_changed_after_its_download_is_said_and_never_used(hub):
    folder = fetch(hub[1])
    data = bytearray((folder / WEIGHTS).read_bytes())
    data[-1] ^= 0xFF  # the same size, another byte: only its sha256 tells
    (folder / WEIGHTS).write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable) as said:
        fetch(hub[1])
    line = str(said.value)
    assert "changed since it was downloaded" in line and "sha256" in line and "\n" not in line


def test_a_cut_connection_resumes_where_it_stopped(hub):
    server, spec = hub
    size = (server.folder / "test/vit" / WEIGHTS).stat().st_size
    server.cut[WEIGHTS] = size // 2
    events = []
    folder = fetch(spec, events)
    assert (folder / WEIGHTS).stat().st_size == size
    assert [r for _, r in server.requests if _ == WEIGHTS] == [None, f"bytes={size // 2}-"]
    assert [e.done for e in events] == sorted(e.done for e in events)
    config = (server.folder / "test/vit" / "open_clip_config.json").stat().st_size
    assert events[-1].done == events[-1].total == size + config  # the resumed file counted once


def test_a_part_left_by_an_earlier_run_is_resumed_and_never_used_as_the_file(hub):
    from core.model.download import repo_folder

    server, spec = hub
    source = server.folder / "test/vit" / WEIGHTS
    folder = repo_folder("test/vit")
    folder.mkdir(parents=True)
    (folder / f"{WEIGHTS}.part").write_bytes(source.read_bytes()[:1000])
    from core.model.light import open_or_build

    assert not (folder / WEIGHTS).exists()
    fetch(spec)
    assert [r for n, r in server.requests if n == WEIGHTS] == ["bytes=1000-"]
    assert (folder / WEIGHTS).read_bytes() == source.read_bytes()
    assert open_or_build  # the builder reads only the whole file


def test_a_server_error_while_reconnecting_is_tried_again(hub):
    server, spec = hub
    size = (server.folder / "test/vit" / WEIGHTS).stat().st_size
    server.cut[WEIGHTS] = size // 3
    server.down = 1  # the reconnection after the cut meets a 503 first
    folder = fetch(spec)
    assert (folder / WEIGHTS).stat().st_size == size


def test_two_downloads_at_once_fetch_each_file_once(hub):
    server, spec = hub
    errors = []

    def one():
        try:
            fetch(spec)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert [n for n, _ in server.requests].count(WEIGHTS) == 1


def test_offline_says_so_in_one_line(hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as said:
        fetch(hub[1])
    assert "HF_HUB_OFFLINE" in str(said.value) and "\n" not in str(said.value)
    assert not hub[0].requests

    monkeypatch.delenv("HF_HUB_OFFLINE")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(ModelUnavailable) as said:
        fetch(hub[1])
    line = str(said.value)
    assert line.startswith("Could not download model hf-hub:test/vit from 127.0.0.1")
    assert "Connect to the internet" in line and "\n" not in line


def test_downloads_off_and_not_here_says_so(hub):
    from core.model.light import model_folder
    from core.model.offered import ModelSpec

    with pytest.raises(ModelUnavailable, match="downloads are off"):
        model_folder(ModelSpec.parse(hub[1]), False)
    assert not hub[0].requests
