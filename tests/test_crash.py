"""Crash safety: `snapseek index` and `snapseek watch` are killed with SIGKILL at random moments;
after each kill the reopened library must be whole: catalog and index agree, nothing lost,
nothing twice, no vector of another model, and indexing finishes on restart."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from core.library import Library
from helpers import ROOT, make_photo

KILLS = int(os.environ.get("SNAPSEEK_KILLS", "30"))
COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]


def start(command: str, home, model, folder) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "--home", str(home), "--model", model, command,
         str(folder)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def check_whole(home, model, folder, previously_indexed: set[str]) -> set[str]:
    with Library(home, model=model) as lib:
        model_id = lib.embedder.model_id
        vector_ids = set(lib.catalog.vector_ids(model_id).tolist())
        assert lib.index.ids == vector_ids, "index and catalog disagree"
        assert len(lib.index) == len(vector_ids)
        models = {r[0] for r in lib.catalog.db.execute("SELECT DISTINCT model_id FROM embeddings")}
        assert models <= {model_id}, f"vectors of another model: {models}"
        rows = lib.catalog.db.execute(
            "SELECT m.path FROM media m JOIN embeddings e ON e.media_id=m.id").fetchall()
        paths = [r[0] for r in rows]
        assert len(paths) == len(set(paths)), "a photo indexed twice"
        on_disk = {str(p) for p in folder.rglob("*.jpg")}
        lost = {p for p in previously_indexed if p in on_disk} - set(paths)
        assert not lost, f"indexed photos lost: {sorted(lost)[:3]}"
        return set(paths)


def change_some_photos(folder, rnd: random.Random, step: int) -> None:
    existing = sorted(folder.rglob("*.jpg"))
    for p in rnd.sample(existing, min(8, len(existing))):
        p.unlink()
    for p in rnd.sample(sorted(folder.rglob("*.jpg")), 4):
        p.rename(p.with_name(f"renamed-{step}-{p.name}"))
    for i in range(40):
        make_photo(folder / f"s{step % 4}" / f"new-{step}-{i}.jpg", rnd.choice(COLOURS),
                   size=(480, 360), seed=step * 1000 + i)


@pytest.mark.parametrize("kills", [
    pytest.param(KILLS, id=f"{KILLS}-kills", marks=pytest.mark.timeout(1200)),
    pytest.param(100, id="100-kills", marks=[pytest.mark.slow, pytest.mark.timeout(3600)]),
])
def test_random_kills_never_lose_or_duplicate(tmp_path, random_model, kills):
    rnd = random.Random(20261124 + kills)
    folder = tmp_path / "Pictures"
    for i in range(300):
        make_photo(folder / f"s{i % 4}" / f"p{i:03d}.jpg", COLOURS[i % 6], size=(480, 360),
                   seed=i)
    home = tmp_path / "home"
    indexed: set[str] = set()
    for step in range(kills):
        command = "watch" if step % 3 == 2 else "index"
        proc = start(command, home, random_model, folder)
        # the interpreter and torch start in ~3-5 s; the work follows: kill anywhere in both
        time.sleep(rnd.uniform(2.5, 8.0))
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        assert b"Traceback" not in err, err.decode(errors="replace")
        indexed = check_whole(home, random_model, folder, indexed)
        if step % 4 == 3:
            change_some_photos(folder, rnd, step)
    # restarting finishes the work
    proc = start("index", home, random_model, folder)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode(errors="replace")
    indexed = check_whole(home, random_model, folder, indexed)
    assert indexed == {str(p) for p in folder.rglob("*.jpg")}


def test_disk_full_fails_the_batch_cleanly_and_pauses(tmp_path, random_model, monkeypatch):
    import errno

    from core import pipeline
    from core.types import Notice, Progress

    folder = tmp_path / "Pictures"
    for i in range(40):
        make_photo(folder / f"p{i:02d}.jpg", COLOURS[i % 6], seed=i)
    lib = Library(tmp_path / "home", model=random_model)
    lib.add_folder(folder)
    lib.update()
    before = set(lib.catalog.vector_ids(lib.embedder.model_id).tolist())
    for i in range(40, 80):
        make_photo(folder / f"p{i:02d}.jpg", COLOURS[i % 6], seed=i)
    real_save = pipeline.save_thumbnail
    calls = []

    def full_disk(image, dest, *a, **k):
        calls.append(dest)
        if len(calls) > 20:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(image, dest, *a, **k)

    monkeypatch.setattr(pipeline, "save_thumbnail", full_disk)
    notices, states = [], []
    lib.subscribe(lambda e: isinstance(e, Notice) and notices.append(e))
    lib.subscribe(lambda e: isinstance(e, Progress) and states.append(e.state))
    lib.start_watching(settle=0.2)
    deadline = time.monotonic() + 30
    while not any("No space left" in n.text for n in notices) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(n.level == "error" and "No space left" in n.text for n in notices)
    assert lib.paused
    # the app's Pause button learns it from this event (it then reads "Resume")
    deadline = time.monotonic() + 5
    while "paused" not in states and time.monotonic() < deadline:
        time.sleep(0.05)
    assert states[-1] == "paused"
    after = set(lib.catalog.vector_ids(lib.embedder.model_id).tolist())
    assert before <= after  # nothing already indexed was lost
    lib.close()
    with Library(tmp_path / "home", model=random_model) as again:
        assert again.index.ids == set(again.catalog.vector_ids(again.embedder.model_id).tolist())


def test_index_and_search_make_no_network_connection(tmp_path, photo_dir, random_model):
    """The autouse guard in conftest fails any outbound connection; run the whole flow under it."""
    from core.types import Query

    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(photo_dir)
        lib.update()
        assert lib.search(Query.text("red", k=3))
