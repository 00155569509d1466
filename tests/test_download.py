"""Exported towers downloaded from their pinned URLs: verified, resumed after a cut, retried
once after a checksum mismatch, and never used half-written; offline, one clear line."""

from __future__ import annotations

import socket

import pytest

from core.types import ModelUnavailable, State


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from exported import publish_tiny

    return publish_tiny(tmp_path_factory.mktemp("published"))


@pytest.fixture
def server(published):
    from exported import Server

    s = Server(published[1])
    yield s
    s.close()


@pytest.fixture
def pinned(published, server, monkeypatch):
    from exported import pinned_at

    from core.model import offered as models

    entry = pinned_at(published[0], published[1], server.url)
    monkeypatch.setitem(models.EXPORTS, published[0], entry)
    return entry


def test_the_export_downloads_verified_and_answers_without_its_weights(pinned, tmp_path):
    from core.model.download import fetch, installed, sha256_of
    from core.model.embedder import Embedder
    from core.model.exported import LightEmbedder

    events = []
    cache = tmp_path / "runtime"
    fetch(pinned, cache, events.append)
    assert installed(pinned, cache)
    assert all(sha256_of(cache / f.name) == f.sha256 for f in pinned.files)
    assert not list(cache.glob("*.part"))
    assert all(e.state == State.DOWNLOADING and e.total == pinned.total_bytes for e in events)
    assert [e.done for e in events] == sorted(e.done for e in events)
    assert events[-1].done == pinned.total_bytes and events[-1].rate > 0
    assert events[-1].eta_s == 0 and events[-1].model == pinned.spec
    # the model's own folder is gone: only the export can answer
    emb = Embedder.load(pinned.spec, device="cpu", runtime_cache=cache)
    assert isinstance(emb, LightEmbedder)
    assert emb.encode_text(["a photo of a dog"]).shape == (1, emb.dim)
    assert not emb.full_loaded


def test_a_library_downloads_its_models_export_at_first_use(pinned, tmp_path):
    from helpers import make_photo

    from core.library import Library
    from core.types import Query

    make_photo(tmp_path / "Pictures" / "a.jpg")
    seen = []
    with Library(tmp_path / "home", model=pinned.spec) as lib:
        lib.subscribe(seen.append)
        lib.add_folder(tmp_path / "Pictures")
        lib.update()
        assert [r.path for r in lib.search(Query.text("red", k=3))][0].endswith("a.jpg")
        assert not lib.embedder.full_loaded
    assert any(getattr(e, "state", None) == State.DOWNLOADING for e in seen)
    assert any(getattr(e, "text", "").startswith("Downloading model") for e in seen)


def test_a_file_that_fails_its_checksum_is_removed_and_fetched_once_more(pinned, server,
                                                                          tmp_path):
    from core.model.download import fetch, installed

    big = max(pinned.files, key=lambda f: f.size)
    server.corrupt[big.name] = 1
    said = []
    fetch(pinned, tmp_path, on_notice=said.append)
    assert installed(pinned, tmp_path)
    assert [r for r in server.requests if r[0] == big.name] == [(big.name, None)] * 2
    assert len(said) == 1 and "does not match its checksum" in said[0]

    server.corrupt[big.name] = 2  # twice: the download fails, nothing half-made is left
    fresh = tmp_path / "again"
    with pytest.raises(ModelUnavailable) as failed:
        fetch(pinned, fresh)
    assert "does not match its checksum" in str(failed.value)
    assert "\n" not in str(failed.value)
    assert not (fresh / big.name).exists() and not list(fresh.glob("*.part"))
    assert not (fresh / pinned.manifest.name).exists()
    assert not installed(pinned, fresh)


def test_a_cut_connection_resumes_where_it_stopped(pinned, server, tmp_path):
    from core.model.download import fetch, installed

    big = max(pinned.files, key=lambda f: f.size)
    server.cut[big.name] = big.size // 2
    fetch(pinned, tmp_path)
    assert installed(pinned, tmp_path)
    asked = [r[1] for r in server.requests if r[0] == big.name]
    assert asked == [None, f"bytes={big.size // 2}-"]

    # a later run resumes what an earlier one left (its process ended mid-file)
    later = tmp_path / "later"
    later.mkdir()
    (later / f"{big.name}.part").write_bytes((tmp_path / big.name).read_bytes()[:1000])
    server.requests.clear()
    fetch(pinned, later)
    assert installed(pinned, later)
    assert [r[1] for r in server.requests if r[0] == big.name] == ["bytes=1000-"]


def test_offline_says_so_in_one_line(published, tmp_path, monkeypatch):
    from exported import pinned_at

    from core.model import offered as models
    from core.model.download import fetch, fetch_pinned

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    entry = pinned_at(published[0], published[1], f"http://127.0.0.1:{port}/exports")
    with pytest.raises(ModelUnavailable) as failed:
        fetch(entry, tmp_path)
    line = str(failed.value)
    assert "\n" not in line and line.startswith(f"Could not download model {entry.spec}")
    assert "Connect to the internet" in line
    assert not (tmp_path / entry.manifest.name).exists()
    monkeypatch.setitem(models.EXPORTS, entry.spec, entry)
    assert fetch_pinned(entry.spec, tmp_path) is False  # the caller loads the model itself


def test_a_connection_reset_mid_file_resumes_and_a_failed_download_leaves_the_model_to_load(
        pinned, server, tmp_path, monkeypatch):
    """A TLS error or reset while the body arrives (an OSError, not an HTTP one) resumes from
    what arrived; a download that cannot write its files says so in the log and returns False,
    so the caller loads the model itself instead of failing."""
    import ssl

    from core.model import download

    big = max(pinned.files, key=lambda f: f.size)
    real_get, calls = download._get, []

    def flaky(spec, f, part, have, meter, timeout):
        calls.append((f.name, have))
        if f.name == big.name and len([c for c in calls if c[0] == big.name]) == 1:
            with open(part, "wb") as out:  # half the file arrived, then the session broke
                out.write((server.folder / f.name).read_bytes()[: f.size // 2])
            raise ssl.SSLError("decryption failed or bad record mac")
        return real_get(spec, f, part, have, meter, timeout)

    monkeypatch.setattr(download, "_get", flaky)
    download.fetch(pinned, tmp_path / "a")
    assert download.installed(pinned, tmp_path / "a")
    assert [c for c in calls if c[0] == big.name] == [(big.name, 0), (big.name, big.size // 2)]

    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")  # mkdir fails: an OSError
    assert download.fetch_pinned(pinned.spec, blocked) is False
